//! A minimal MQTT 3.1.1 client over `std::net::TcpStream`, written by hand so that the client
//! side costs as little CPU as possible: CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH (QoS 0/1),
//! PUBACK and DISCONNECT. Every read has a timeout, so a stuck broker fails the run instead of
//! hanging it.

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::mqtt_wire::{packet, put_bytes, put_len, read_body};

/// How long any single read may block.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One packet as read from the broker.
#[derive(Debug)]
pub enum Packet {
    ConnAck(u8),
    SubAck(u8),
    PubAck,
    Publish {
        qos: u8,
        packet_id: u16,
        payload: Vec<u8>,
    },
    Other,
}

/// CONNECT with clean session and a 60 s keep-alive.
pub fn connect_packet(client_id: &str, creds: Option<(&str, &str)>) -> Vec<u8> {
    crate::mqtt_wire::connect_packet(
        client_id.as_bytes(),
        creds.map(|(u, _)| u.as_bytes()),
        creds.map(|(_, p)| p.as_bytes()),
    )
}

/// PUBLISH; `packet_id` is used only for QoS 1.
pub fn publish_packet(topic: &str, payload: &[u8], qos: u8, packet_id: u16, out: &mut Vec<u8>) {
    out.clear();
    out.push(0x30 | (qos << 1));
    let len = 2 + topic.len() + if qos > 0 { 2 } else { 0 } + payload.len();
    put_len(out, len);
    put_bytes(out, topic.as_bytes());
    if qos > 0 {
        out.extend_from_slice(&packet_id.to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// A connected client: a buffered reader and the raw stream for writing.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Client {
    /// Connects, sends CONNECT and returns the client with the CONNACK code.
    pub fn connect(
        addr: SocketAddr,
        client_id: &str,
        creds: Option<(&str, &str)>,
    ) -> io::Result<(Client, u8)> {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        let mut writer = stream.try_clone()?;
        writer.write_all(&connect_packet(client_id, creds))?;
        let mut c = Client {
            reader: BufReader::with_capacity(64 * 1024, stream),
            writer,
        };
        match c.read()? {
            Packet::ConnAck(code) => Ok((c, code)),
            other => Err(io::Error::other(format!("expected CONNACK, got {other:?}"))),
        }
    }

    /// Subscribes to one filter and returns the SUBACK code (the granted QoS, or 0x80).
    pub fn subscribe(&mut self, filter: &str, qos: u8) -> io::Result<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&1u16.to_be_bytes());
        put_bytes(&mut b, filter.as_bytes());
        b.push(qos);
        self.writer.write_all(&packet(0x82, &b))?;
        loop {
            match self.read()? {
                Packet::SubAck(code) => return Ok(code),
                Packet::Publish { .. } => continue,
                other => return Err(io::Error::other(format!("expected SUBACK, got {other:?}"))),
            }
        }
    }

    /// Sends PUBACK for `packet_id`.
    pub fn puback(&mut self, packet_id: u16) -> io::Result<()> {
        let [a, b] = packet_id.to_be_bytes();
        self.writer.write_all(&[0x40, 2, a, b])
    }

    /// Sends DISCONNECT and closes.
    pub fn disconnect(mut self) -> io::Result<()> {
        self.writer.write_all(&[0xE0, 0])?;
        self.writer.shutdown(std::net::Shutdown::Both)
    }

    /// Reads one packet.
    pub fn read(&mut self) -> io::Result<Packet> {
        read_packet(&mut self.reader)
    }
}

/// Reads one packet from `r`.
pub fn read_packet(r: &mut impl Read) -> io::Result<Packet> {
    let mut h = [0u8; 1];
    r.read_exact(&mut h)?;
    let mut body = read_body(r)?;
    let short = || io::Error::other("short packet");
    Ok(match h[0] >> 4 {
        2 => Packet::ConnAck(*body.get(1).ok_or_else(short)?),
        9 => Packet::SubAck(*body.get(2).ok_or_else(short)?),
        4 => Packet::PubAck,
        3 => {
            let qos = (h[0] >> 1) & 3;
            let tl = u16::from_be_bytes([
                *body.first().ok_or_else(short)?,
                *body.get(1).ok_or_else(short)?,
            ]) as usize;
            let mut at = 2 + tl;
            let mut packet_id = 0;
            if qos > 0 {
                packet_id = u16::from_be_bytes([
                    *body.get(at).ok_or_else(short)?,
                    *body.get(at + 1).ok_or_else(short)?,
                ]);
                at += 2;
            }
            body.drain(..at.min(body.len()));
            Packet::Publish {
                qos,
                packet_id,
                payload: body,
            }
        }
        _ => Packet::Other,
    })
}
