#!/usr/bin/env python3
"""Writes a realistic nginx error.log for the log-scan benchmarks (scripts/bench/logs).

    scripts/bench/gen-error-log.py OUT [--size 1.9G] [--days 30] [--end UNIX] [--seed 13]

A busy server with several sites at `error_log ... warn`: mostly missing files, forbidden
paths, buffered responses, client-side TLS failures, rate limiting and PHP warnings relayed by
PHP-FPM; upstream errors now and then (deploys, slow checkouts); and in the last 30 minutes an
incident: PHP-FPM's listen queue fills, then its socket disappears, so every PHP request of
shop.example.com fails. Timestamps are local time (as nginx writes them), one line every ~0.3 s
over `--days` days ending at `--end` (default: now). The same arguments write the same file
(byte for byte, for a given time zone). Prints the end time, so the benchmark can ask for
exactly the last 30 minutes however long ago the file was written.
"""

import argparse
import bisect
import os
import random
import sys
import time

SITES = [
    ("shop.example.com", "unix:/run/php/php8.2-fpm-shop.sock", "fastcgi"),
    ("blog.example.com", "unix:/run/php/php8.2-fpm.sock", "fastcgi"),
    ("api.example.com", "127.0.0.1:8000", "http"),
    ("www.example.org", "10.0.0.12:8080", "http"),
    ("static.example.com", None, None),
]
PATHS = [
    "/", "/index.php", "/cart", "/checkout", "/product/4711", "/wp-login.php", "/wp-admin/",
    "/xmlrpc.php", "/api/v2/orders?page=3", "/feed/", "/search?q=blue+shoes",
    "/account/reset?token=7f9c2ba4e88f827d616045507605853e", "/.env", "/static/app.3f2a.js",
    "/images/hero@2x.png", "/sitemap.xml", "/api/v2/cart/items", "/robots.txt",
]
MISSING = [
    "/favicon.ico", "/apple-touch-icon.png", "/apple-touch-icon-precomposed.png", "/.env",
    "/wp-content/plugins/revslider/readme.txt", "/images/old-banner.jpg", "/ads.txt",
    "/.git/config", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/robots.txt",
]
METHODS = ["GET"] * 8 + ["POST", "HEAD"]
PHP_WARNINGS = [
    'PHP Warning:  Undefined array key \\"id\\" in /var/www/shop/product.php on line 42',
    "PHP Deprecated:  Creation of dynamic property Cart::$items is deprecated in "
    "/var/www/shop/lib/Cart.php on line 17",
    "PHP Notice:  Trying to access array offset on value of type null in "
    "/var/www/blog/wp-content/themes/twenty/functions.php on line 233",
    "PHP Warning:  file_get_contents(https://api.rates.example/v1): Failed to open stream: "
    "HTTP request failed! in /var/www/shop/lib/Rates.php on line 88",
]
SSL_ERRORS = [
    "SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL "
    "handshaking",
    "SSL_do_handshake() failed (SSL: error:0A000102:SSL routines::unsupported protocol) while "
    "SSL handshaking",
    "SSL_read() failed (SSL: error:0A000126:SSL routines::unexpected eof while reading) while "
    "waiting for request",
]


class Writer:
    """Composes lines from a seeded generator; all randomness goes through `self.r`."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.conn = 100000
        self.pids = [4711 + i for i in range(4)]

    def client(self):
        r = self.r
        if r.random() < 0.3:
            return "2001:db8:%x::%x" % (r.randrange(65536), r.randrange(65536))
        return "%d.%d.%d.%d" % (r.choice((203, 198, 192, 100)), r.randrange(256),
                                r.randrange(256), r.randrange(1, 255))

    def head(self, stamp, level):
        self.conn += self.r.randrange(1, 40)
        pid = self.r.choice(self.pids)
        return "%s [%s] %d#%d: *%d " % (stamp, level, pid, pid, self.conn)

    def request(self, site, path=None, upstream=None):
        r = self.r
        host = site[0]
        path = path or r.choice(PATHS)
        tail = ', client: %s, server: %s, request: "%s %s HTTP/%s"' % (
            self.client(), host, r.choice(METHODS), path, r.choice(("1.1", "1.1", "2.0")))
        if upstream:
            tail += ', upstream: "%s"' % upstream
        tail += ', host: "%s"' % host
        if r.random() < 0.25:
            tail += ', referrer: "https://%s/"' % host
        return tail

    def upstream_of(self, site, path):
        address, scheme = site[1], site[2]
        if scheme == "fastcgi":
            return "fastcgi://%s:" % address
        return "http://%s%s" % (address, path.split("?")[0])

    def dynamic_site(self):
        return self.r.choice(SITES[:4])

    def upstream_error(self, stamp, message, level="error", site=None, socket_only=False):
        site = site or self.dynamic_site()
        while socket_only and site[2] != "fastcgi":
            site = self.dynamic_site()
        path = self.r.choice(PATHS)
        upstream = self.upstream_of(site, path)
        return self.head(stamp, level) + message.format(sock=site[1]) + \
            self.request(site, path, upstream)


def background_kinds():
    """(weight, function(writer, stamp) -> line) for the ordinary days."""
    def missing(w, s):
        site = w.r.choice(SITES)
        root = "/var/www/" + site[0].split(".")[0]
        path = w.r.choice(MISSING)
        return w.head(s, "error") + 'open() "%s%s" failed (2: No such file or directory)' % (
            root, path) + w.request(site, path)

    def forbidden(w, s):
        site = w.r.choice(SITES)
        return w.head(s, "error") + "access forbidden by rule" + w.request(site, "/.git/config")

    def index_forbidden(w, s):
        site = w.r.choice(SITES)
        root = "/var/www/" + site[0].split(".")[0]
        return w.head(s, "error") + 'directory index of "%s/uploads/" is forbidden' % root + \
            w.request(site, "/uploads/")

    def buffered(w, s):
        site = w.dynamic_site()
        path = w.r.choice(PATHS)
        return w.head(s, "warn") + "an upstream response is buffered to a temporary file " \
            "/var/lib/nginx/fastcgi/%d/%02d/00000%05d while reading upstream" % (
                w.r.randrange(10), w.r.randrange(100), w.r.randrange(100000)) + \
            w.request(site, path, w.upstream_of(site, path))

    def body_buffered(w, s):
        site = w.dynamic_site()
        return w.head(s, "warn") + "a client request body is buffered to a temporary file " \
            "/var/lib/nginx/body/00000%05d" % w.r.randrange(100000) + \
            w.request(site, "/api/v2/orders")

    def too_large(w, s):
        site = w.dynamic_site()
        return w.head(s, "error") + "client intended to send too large body: %d bytes" % (
            w.r.randrange(2 << 20, 64 << 20)) + w.request(site, "/wp-admin/async-upload.php")

    def ssl(w, s):
        return w.head(s, "crit") + w.r.choice(SSL_ERRORS) + ", client: %s, server: 0.0.0.0:443" % (
            w.client())

    def php_warning(w, s):
        site = w.r.choice(SITES[:2])
        path = w.r.choice(PATHS)
        return w.head(s, "error") + 'FastCGI sent in stderr: "PHP message: %s" while reading ' \
            "response header from upstream" % w.r.choice(PHP_WARNINGS) + \
            w.request(site, path, w.upstream_of(site, path))

    def limited(w, s):
        site = w.dynamic_site()
        return w.head(s, "error") + 'limiting requests, excess: %d.%03d by zone "perip"' % (
            w.r.randrange(1, 30), w.r.randrange(1000)) + w.request(site, "/wp-login.php")

    def invalid_method(w, s):
        return w.head(s, "info") + "client sent invalid method while reading client request " \
            'line, client: %s, server: shop.example.com, request: "\\x16\\x03\\x01"' % w.client()

    def disabled(w, s):
        return w.upstream_error(s, "upstream server temporarily disabled while connecting to "
                                   "upstream", level="warn")

    def up(message, level="error", socket_only=False):
        return lambda w, s: w.upstream_error(s, message, level, socket_only=socket_only)

    return [
        (300, missing), (60, forbidden), (40, index_forbidden), (150, buffered),
        (30, body_buffered), (20, too_large), (90, ssl), (140, php_warning), (40, limited),
        (30, invalid_method), (8, disabled),
        # The upstream errors of ordinary days: deploys, slow requests, a flaky backend.
        (10, up("upstream timed out (110: Connection timed out) while reading response header "
                "from upstream")),
        (4, up("connect() failed (111: Connection refused) while connecting to upstream")),
        (3, up("recv() failed (104: Connection reset by peer) while reading response header "
               "from upstream")),
        (5, up("upstream prematurely closed connection while reading response header from "
               "upstream")),
        (2, up("upstream sent too big header while reading response header from upstream")),
        (1, up("no live upstreams while connecting to upstream")),
        (1, up("upstream timed out (110: Connection timed out) while connecting to upstream")),
        (1, up("upstream sent invalid header while reading response header from upstream")),
        (1, up("connect() failed (113: No route to host) while connecting to upstream")),
        (1, up("connect() to {sock} failed (2: No such file or directory) while connecting to "
               "upstream", "crit", socket_only=True)),
        (1, up("connect() to {sock} failed (13: Permission denied) while connecting to upstream",
               "crit", socket_only=True)),
        (1, up("FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of "
               "134217728 bytes exhausted (tried to allocate 20480 bytes) in "
               "/var/www/shop/lib/Catalog.php on line 2056\" while reading response header from "
               "upstream")),
    ]


INCIDENT = [
    # PHP-FPM of the shop falls behind: its queue fills, then it dies and its socket goes.
    (40, "connect() to {sock} failed (11: Resource temporarily unavailable) while connecting "
         "to upstream", "error"),
    (30, "upstream timed out (110: Connection timed out) while reading response header from "
         "upstream", "error"),
    (60, "connect() to {sock} failed (2: No such file or directory) while connecting to "
         "upstream", "crit"),
]


def pick(r, cumulative, total):
    return bisect.bisect_right(cumulative, r.random() * total)


def stamp_of(t):
    return time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(t))


def parse_size(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def write(out, size, days, end, seed):
    w = Writer(seed)
    kinds = background_kinds()
    cumulative, total = [], 0
    for weight, _ in kinds:
        total += weight
        cumulative.append(total)
    span = days * 86400
    incident_start = end - 1800
    # The incident adds ~12 lines a second to the shop's usual ~3; the rest of the bytes
    # are spread evenly over the days.
    incident_bytes = 1800 * 12 * 330
    background = max(size - incident_bytes, 1)
    written, t, stamp, stamped, lines = 0, end - span, "", None, []
    shop = SITES[0]
    while written < size:
        if written < background:
            t = end - span + written * (span - 1800) // background
        else:
            t = incident_start + (written - background) * 1800 // incident_bytes
        if t != stamped:
            stamp, stamped = stamp_of(t), t
        if t >= incident_start and w.r.random() < 0.8:
            weight = w.r.randrange(130)
            message, level = next((m, lv) for cap, m, lv in _running(INCIDENT) if weight < cap)
            line = w.upstream_error(stamp, message, level, site=shop)
        else:
            line = kinds[pick(w.r, cumulative, total)][1](w, stamp)
        lines.append(line)
        written += len(line) + 1
        if len(lines) >= 4096:
            out.write(("\n".join(lines) + "\n").encode())
            lines.clear()
    if lines:
        out.write(("\n".join(lines) + "\n").encode())
    return written


def _running(table):
    cap = 0
    for weight, message, level in table:
        cap += weight
        yield cap, message, level


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--size", default="1.9G", help="bytes, or with K, M, G (default 1.9G)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--end", type=int, default=None, help="Unix time of the last line")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    end = args.end if args.end is not None else int(time.time())
    with open(args.out, "wb", buffering=1 << 20) as out:
        written = write(out, parse_size(args.size), args.days, end, args.seed)
    os.utime(args.out, (end, end))
    print("%s: %d bytes, %d days ending %d" % (args.out, written, args.days, end), file=sys.stderr)
    print(end)


if __name__ == "__main__":
    main()
