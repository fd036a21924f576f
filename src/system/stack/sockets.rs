//! Listening sockets from `/proc/net/{tcp,tcp6,unix}` and which process holds them (through the
//! socket inodes in `/proc/PID/fd`). Any user may read the socket tables; another user's fd
//! table needs root, and a socket whose holder could not be seen is reported as such.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::system::System;
use crate::contract::evidence::stack::{Endpoint, Listener};
use crate::sanitize;

/// Every listening TCP and unix socket in this network namespace.
pub fn listening(system: &System) -> Result<Vec<Listener>, String> {
    let mut out = Vec::new();
    let mut read_any = false;
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = system.read_proc(table) {
            read_any = true;
            out.extend(parse_tcp(&text));
        }
    }
    if let Ok(text) = system.read_proc("net/unix") {
        read_any = true;
        out.extend(parse_unix(&text));
    }
    if read_any {
        Ok(out)
    } else {
        Err(format!("could not read {}/net/{{tcp,tcp6,unix}}", system.proc.display()))
    }
}

/// The listening sockets of a `/proc/net/tcp` or `tcp6` table.
pub fn parse_tcp(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(3) != Some(&"0A") {
                return None;
            }
            let (ip, port) = parse_hex_address(f.get(1)?)?;
            let endpoint = Endpoint::Tcp(ip, port);
            Some(Listener {
                address: tcp_address(ip, port),
                uid: f.get(7).and_then(|u| u.parse().ok()),
                inode: f.get(9)?.parse().ok()?,
                endpoint,
            })
        })
        .collect()
}

/// `127.0.0.1:80`, `[::1]:80`.
pub fn tcp_address(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// `0100007F:1F90` → 127.0.0.1:8080. The kernel prints each 32-bit word in host byte order.
fn parse_hex_address(field: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| addr.get(i * 8..i * 8 + 8).and_then(|w| u32::from_str_radix(w, 16).ok());
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// The listening sockets of `/proc/net/unix` (flag `__SO_ACCEPTCON`, 0x10000).
pub fn parse_unix(text: &str) -> Vec<Listener> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
            let path = f.get(7)?;
            if flags & 0x1_0000 == 0 {
                return None;
            }
            let path = sanitize::line(path).into_owned();
            Some(Listener {
                address: format!("unix:{path}"),
                uid: None,
                inode: f.get(6)?.parse().ok()?,
                endpoint: Endpoint::Unix(path),
            })
        })
        .collect()
}

/// The inodes of the sockets a process holds open, or why they could not be seen.
pub fn socket_inodes(system: &System, pid: u32) -> std::io::Result<Vec<u64>> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(system.proc_path(&format!("{pid}/fd")))?.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        let target = target.to_string_lossy();
        if let Some(inode) = target.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
            inodes.extend(inode.parse::<u64>().ok());
        }
    }
    Ok(inodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_tables_parse_listeners_only() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 4242 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000    33        0 4243 1\n";
        let l = parse_tcp(table);
        assert_eq!(l.len(), 1);
        assert_eq!(
            (l[0].address.as_str(), l[0].uid, l[0].inode),
            ("127.0.0.1:8080", Some(33), 4242)
        );
        assert!(l[0].accepts("127.0.0.1".parse().unwrap(), 8080));
        assert!(!l[0].accepts("127.0.0.1".parse().unwrap(), 9000));
        let v6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1\n";
        let l = parse_tcp(v6);
        assert_eq!(l[0].address, "[::]:80");
        assert!(l[0].accepts("::1".parse().unwrap(), 80));
    }

    #[test]
    fn unix_tables_keep_listening_sockets() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/php/php8.2-fpm.sock\n0000000000000000: 00000003 00000000 00000000 0001 03 23457 /run/php/php8.2-fpm.sock\n0000000000000000: 00000002 00000000 00010000 0001 01 23458 @abstract\n";
        let l = parse_unix(table);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].address, "unix:/run/php/php8.2-fpm.sock");
        assert_eq!(l[0].endpoint, Endpoint::Unix("/run/php/php8.2-fpm.sock".into()));
    }
}
