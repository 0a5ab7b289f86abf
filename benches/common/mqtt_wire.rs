//! MQTT 3.1.1 packet encoding shared by the load and soak benches' hand-written clients:
//! remaining length, length-prefixed fields and CONNECT with any bytes as names.

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
