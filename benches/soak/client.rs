//! A minimal MQTT 3.1.1 client over `std::net::TcpStream` for the soak: CONNECT with any bytes
//! as username, password and client id (non-UTF-8 passwords, 60 KB names), SUBSCRIBE/SUBACK,
//! PUBLISH at QoS 1 with PUBACK, and reading with a deadline. Every read has a timeout, so a
//! stuck broker is a stall the run reports, never a hang.

use std::io::{self, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub use crate::mqtt_wire::connect_packet;
use crate::mqtt_wire::{packet, put_bytes, read_body};

/// How long the broker may take to answer anything once a packet has started to arrive, and
/// how long a CONNACK or SUBACK may take at most.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(12);

/// One packet as read from the broker.
#[derive(Debug)]
pub enum Packet {
    ConnAck(u8),
    SubAck(u16, u8),
    PubAck(u16),
    Publish {
        qos: u8,
        packet_id: u16,
        topic: Vec<u8>,
        payload: Vec<u8>,
    },
    Other,
}

/// How a wait for a packet ended.
#[derive(Debug)]
pub enum Read1 {
    Packet(Packet),
    /// Nothing arrived before the deadline (the connection is still usable).
    Timeout,
    /// The broker closed the connection (or it broke).
    Closed(String),
}

/// A connection to the broker.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_id: u16,
}

/// What a CONNECT got.
pub enum Connected {
    /// CONNACK 0.
    Yes(Client),
    /// CONNACK with this refusal code.
    Refused(u8),
    /// The connection closed (or failed) without a CONNACK.
    Closed(String),
    /// No CONNACK within [`ANSWER_TIMEOUT`].
    Stalled,
}

impl Client {
    /// Connects and waits for the CONNACK.
    pub fn connect(
        addr: SocketAddr,
        client_id: &[u8],
        user: Option<&[u8]>,
        password: Option<&[u8]>,
    ) -> Connected {
        let stream = match TcpStream::connect_timeout(&addr, ANSWER_TIMEOUT) {
            Ok(s) => s,
            Err(e) => return Connected::Closed(format!("connect: {e}")),
        };
        let _ = stream.set_nodelay(true);
        let Ok(mut writer) = stream.try_clone() else {
            return Connected::Closed("clone".into());
        };
        if let Err(e) = writer.write_all(&connect_packet(client_id, user, password)) {
            return Connected::Closed(format!("write CONNECT: {e}"));
        }
        let mut c = Client {
            reader: BufReader::with_capacity(16 * 1024, stream),
            writer,
            next_id: 0,
        };
        match c.read_until(Instant::now() + ANSWER_TIMEOUT) {
            Read1::Packet(Packet::ConnAck(0)) => Connected::Yes(c),
            Read1::Packet(Packet::ConnAck(code)) => Connected::Refused(code),
            Read1::Packet(other) => Connected::Closed(format!("expected CONNACK, got {other:?}")),
            Read1::Timeout => Connected::Stalled,
            Read1::Closed(e) => Connected::Closed(e),
        }
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.next_id
    }

    /// Sends SUBSCRIBE for one filter at QoS 1; returns its packet id.
    pub fn send_subscribe(&mut self, filter: &str) -> io::Result<u16> {
        let id = self.id();
        let mut b = Vec::new();
        b.extend_from_slice(&id.to_be_bytes());
        put_bytes(&mut b, filter.as_bytes());
        b.push(1);
        self.writer.write_all(&packet(0x82, &b))?;
        Ok(id)
    }

    /// Sends PUBLISH at QoS 1; returns its packet id.
    pub fn send_publish(&mut self, topic: &str, payload: &[u8]) -> io::Result<u16> {
        let id = self.id();
        let mut b = Vec::new();
        put_bytes(&mut b, topic.as_bytes());
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(payload);
        self.writer.write_all(&packet(0x32, &b))?;
        Ok(id)
    }

    /// Acknowledges a QoS 1 delivery.
    pub fn puback(&mut self, packet_id: u16) -> io::Result<()> {
        let [a, b] = packet_id.to_be_bytes();
        self.writer.write_all(&[0x40, 2, a, b])
    }

    /// Sends DISCONNECT and closes.
    pub fn disconnect(mut self) {
        let _ = self.writer.write_all(&[0xE0, 0]);
        let _ = self.writer.shutdown(Shutdown::Both);
    }

    /// Reads one packet, waiting until `deadline` for it to start; once it has started, the
    /// rest may take [`ANSWER_TIMEOUT`].
    pub fn read_until(&mut self, deadline: Instant) -> Read1 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() && self.reader.buffer().is_empty() {
            return Read1::Timeout;
        }
        let _ = self
            .reader
            .get_ref()
            .set_read_timeout(Some(left.max(Duration::from_millis(1))));
        let mut h = [0u8; 1];
        match self.reader.read(&mut h) {
            Ok(0) => return Read1::Closed("closed by the broker".into()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Read1::Timeout
            }
            Err(e) => return Read1::Closed(e.to_string()),
        }
        let _ = self.reader.get_ref().set_read_timeout(Some(ANSWER_TIMEOUT));
        match read_rest(h[0], &mut self.reader) {
            Ok(p) => Read1::Packet(p),
            Err(e) => Read1::Closed(e.to_string()),
        }
    }
}

fn read_rest(first: u8, r: &mut impl Read) -> io::Result<Packet> {
    let body = read_body(r)?;
    let short = || io::Error::other("short packet");
    let u16_at = |b: &[u8], i: usize| -> io::Result<u16> {
        Ok(u16::from_be_bytes([
            *b.get(i).ok_or_else(short)?,
            *b.get(i + 1).ok_or_else(short)?,
        ]))
    };
    Ok(match first >> 4 {
        2 => Packet::ConnAck(*body.get(1).ok_or_else(short)?),
        9 => Packet::SubAck(u16_at(&body, 0)?, *body.get(2).ok_or_else(short)?),
        4 => Packet::PubAck(u16_at(&body, 0)?),
        3 => {
            let qos = (first >> 1) & 3;
            let tl = u16_at(&body, 0)? as usize;
            let topic = body.get(2..2 + tl).ok_or_else(short)?.to_vec();
            let mut at = 2 + tl;
            let mut packet_id = 0;
            if qos > 0 {
                packet_id = u16_at(&body, at)?;
                at += 2;
            }
            Packet::Publish {
                qos,
                packet_id,
                topic,
                payload: body.get(at..).unwrap_or_default().to_vec(),
            }
        }
        _ => Packet::Other,
    })
}
