//! MQTT 3.1.1 packet encoding and decoding shared by the load and soak benches' hand-written
//! clients: remaining length, length-prefixed fields, CONNECT with any bytes as names, and the
//! body of a packet read after its first byte.

use std::io::{self, Read};

/// Appends MQTT's variable-length "remaining length".
pub fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        buf.push(b);
        if n == 0 {
            break;
        }
    }
}

/// Appends a length-prefixed field (cut at 65,535 bytes, the most MQTT can carry).
pub fn put_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let n = s.len().min(u16::MAX as usize);
    buf.extend_from_slice(&(n as u16).to_be_bytes());
    buf.extend_from_slice(&s[..n]);
}

/// A whole packet: the first byte, the remaining length, the body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(body.len() + 5);
    p.push(first);
    put_len(&mut p, body.len());
    p.extend_from_slice(body);
    p
}

/// CONNECT, clean session, keep-alive 60 s. A username without a password sets only the
/// username flag.
pub fn connect_packet(client_id: &[u8], user: Option<&[u8]>, password: Option<&[u8]>) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    put_bytes(&mut b, b"MQTT");
    b.push(4);
    let mut flags = 0x02;
    if user.is_some() {
        flags |= 0x80;
        if password.is_some() {
            flags |= 0x40;
        }
    }
    b.push(flags);
    b.extend_from_slice(&60u16.to_be_bytes());
    put_bytes(&mut b, client_id);
    if let Some(u) = user {
        put_bytes(&mut b, u);
        if let Some(p) = password {
            put_bytes(&mut b, p);
        }
    }
    packet(0x10, &b)
}

/// Reads a packet's remaining length and then its body (the first byte already read).
pub fn read_body(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = 0usize;
    let mut mult = 1usize;
    for _ in 0..4 {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        len += (b[0] & 0x7f) as usize * mult;
        mult *= 128;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(body)
}
