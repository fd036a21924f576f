#!/usr/bin/env python3
"""A site on loopback that answers every request 502 as nginx does, for training and benches.

    scripts/site-502.py PORT_FILE     # listens on 127.0.0.1, a free port written to PORT_FILE
"""
import http.server
import os
import socketserver
import sys

BODY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "nginx/1.22.1"
    sys_version = ""

    def do_GET(self):
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(BODY)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
# Renamed whole, so a reader never sees half a port.
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
