//! Misbehaving backends on 127.0.0.1 for the proxies under test, in threads of the test itself
//! (no extra packages): an HTTP server that answers late, a plain-HTTP port that answers a TLS
//! ClientHello with `400 Bad Request` at once (as nginx or any HTTP server does), and a DNS
//! server that answers NXDOMAIN to every question. Each stops when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// A TCP backend that handles each connection in a thread with `handler`.
#[derive(Debug)]
pub struct Backend {
    pub port: u16,
    stopping: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
}

impl Backend {
    fn serve(handler: fn(TcpStream)) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stopping = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (Arc::clone(&stopping), Arc::clone(&accepted));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || handler(stream));
            }
        });
        Backend { port, stopping, accepted }
    }

    /// Waits (up to 10 s) until `n` connections have reached it.
    pub fn wait_for_connections(&self, n: usize) {
        let started = std::time::Instant::now();
        while self.accepted.load(Ordering::SeqCst) < n {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no connection reached the backend"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Reads the request, waits 3 s, then answers 200: slower than a 1 s proxy timeout.
    pub fn slow() -> Backend {
        Backend::serve(|mut s| {
            read_request(&mut s);
            std::thread::sleep(Duration::from_secs(3));
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nslow but ok\n",
            );
        })
    }

    /// Answers 400 to the first bytes it reads, whatever they are (a plain-HTTP port).
    pub fn plain_http() -> Backend {
        Backend::serve(|mut s| {
            let mut buf = [0_u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut data = Vec::new();
    let mut buf = [0_u8; 4096];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// A DNS server on 127.0.0.1 (UDP) that answers NXDOMAIN (RCODE 3) to every question.
#[derive(Debug)]
pub struct NxDomain {
    pub port: u16,
    stopping: Arc<AtomicBool>,
}

impl NxDomain {
    pub fn start() -> NxDomain {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let port = socket.local_addr().unwrap().port();
        let stopping = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stopping);
        std::thread::spawn(move || {
            let mut query = [0_u8; 512];
            while !flag.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut query) else { continue };
                if n < 12 {
                    continue;
                }
                // Same id; QR, the query's opcode and RD, RA; RCODE 3; the question echoed.
                let flags = u16::from_be_bytes([query[2], query[3]]);
                let answer_flags = 0x8000 | (flags & 0x7900) | 0x0080 | 3;
                let mut reply = query[..2].to_vec();
                reply.extend_from_slice(&answer_flags.to_be_bytes());
                reply.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
                reply.extend_from_slice(&query[12..n]);
                let _ = socket.send_to(&reply, from);
            }
        });
        NxDomain { port, stopping }
    }
}

impl Drop for NxDomain {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}
