//! MQTT v3.1.1 and v5 test clients (rumqttc) that report exact CONNACK, SUBACK and PUBACK
//! codes, and the codes mosquitto answers with.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use super::WAIT;

/// The MQTT protocol version a test client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    V311,
    V5,
}

pub const PROTOS: [Proto; 2] = [Proto::V311, Proto::V5];

/// What the client's connection reported.
#[derive(Debug)]
enum Ev {
    ConnAck(u8),
    SubAck(Vec<u8>),
    PubAck(u8),
    Publish(String, Vec<u8>),
    Closed(String),
}

enum Handle {
    V3(rumqttc::Client),
    V5(rumqttc::v5::Client),
}

/// A connected MQTT client.
pub struct Mqtt {
    handle: Handle,
    events: Receiver<Ev>,
    pending: std::cell::RefCell<Vec<Ev>>,
}

/// Why a connection did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// CONNACK with this return code / reason code.
    Refused(u8),
    /// The connection closed without a CONNACK.
    Closed(String),
}

fn v3_qos(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn v5_qos(q: u8) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS;
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn v3_suback(c: &rumqttc::SubscribeReasonCode) -> u8 {
    match c {
        rumqttc::SubscribeReasonCode::Success(q) => *q as u8,
        rumqttc::SubscribeReasonCode::Failure => 0x80,
    }
}

fn v5_suback(c: &rumqttc::v5::mqttbytes::v5::SubscribeReasonCode) -> u8 {
    use rumqttc::v5::mqttbytes::v5::SubscribeReasonCode as S;
    match c {
        S::Success(q) => *q as u8,
        S::Failure | S::Unspecified => 0x80,
        S::ImplementationSpecific => 0x83,
        S::NotAuthorized => 0x87,
        S::TopicFilterInvalid => 0x8f,
        S::PkidInUse => 0x91,
        S::QuotaExceeded => 0x97,
        S::SharedSubscriptionsNotSupported => 0x9e,
        S::SubscriptionIdNotSupported => 0xa1,
        S::WildcardSubscriptionsNotSupported => 0xa2,
    }
}

fn v5_connack(c: &rumqttc::v5::mqttbytes::v5::ConnectReturnCode) -> u8 {
    use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as C;
    match c {
        C::Success => 0,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::UnsupportedProtocolVersion => 0x84,
        C::ClientIdentifierNotValid => 0x85,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerUnavailable => 0x88,
        C::ServerBusy => 0x89,
        C::Banned => 0x8a,
        C::BadAuthenticationMethod => 0x8c,
        _ => 0xff,
    }
}

fn v5_puback(r: &rumqttc::v5::mqttbytes::v5::PubAckReason) -> u8 {
    use rumqttc::v5::mqttbytes::v5::PubAckReason as P;
    match r {
        P::Success => 0,
        P::NoMatchingSubscribers => 0x10,
        P::UnspecifiedError => 0x80,
        P::ImplementationSpecificError => 0x83,
        P::NotAuthorized => 0x87,
        P::TopicNameInvalid => 0x90,
        P::PacketIdentifierInUse => 0x91,
        P::QuotaExceeded => 0x97,
        P::PayloadFormatInvalid => 0x99,
    }
}

impl Mqtt {
    /// Connects and waits for the CONNACK.
    pub fn connect(
        proto: Proto,
        port: u16,
        client_id: &str,
        creds: Option<(&str, &str)>,
    ) -> Result<Mqtt, ConnectError> {
        let (tx, rx) = channel();
        let handle = match proto {
            Proto::V311 => {
                let mut o = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
                o.set_keep_alive(Duration::from_secs(30));
                if let Some((u, p)) = creds {
                    o.set_credentials(u, p);
                }
                let (client, mut conn) = rumqttc::Client::new(o, 100);
                thread::spawn(move || {
                    use rumqttc::{ConnectionError, Event, Packet};
                    for ev in conn.iter() {
                        let msg = match ev {
                            Ok(Event::Incoming(Packet::ConnAck(c))) => Ev::ConnAck(c.code as u8),
                            Ok(Event::Incoming(Packet::SubAck(s))) => {
                                Ev::SubAck(s.return_codes.iter().map(v3_suback).collect())
                            }
                            Ok(Event::Incoming(Packet::PubAck(_))) => Ev::PubAck(0),
                            Ok(Event::Incoming(Packet::Publish(p))) => {
                                Ev::Publish(p.topic.clone(), p.payload.to_vec())
                            }
                            Ok(_) => continue,
                            Err(ConnectionError::ConnectionRefused(code)) => {
                                let _ = tx.send(Ev::ConnAck(code as u8));
                                return;
                            }
                            Err(e) => {
                                let _ = tx.send(Ev::Closed(e.to_string()));
                                return;
                            }
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                });
                Handle::V3(client)
            }
            Proto::V5 => {
                let mut o = rumqttc::v5::MqttOptions::new(client_id, "127.0.0.1", port);
                o.set_keep_alive(Duration::from_secs(30));
                if let Some((u, p)) = creds {
                    o.set_credentials(u, p);
                }
                let (client, mut conn) = rumqttc::v5::Client::new(o, 100);
                thread::spawn(move || {
                    use rumqttc::v5::mqttbytes::v5::Packet;
                    use rumqttc::v5::{ConnectionError, Event};
                    for ev in conn.iter() {
                        let msg = match ev {
                            Ok(Event::Incoming(Packet::ConnAck(c))) => {
                                Ev::ConnAck(v5_connack(&c.code))
                            }
                            Ok(Event::Incoming(Packet::SubAck(s))) => {
                                Ev::SubAck(s.return_codes.iter().map(v5_suback).collect())
                            }
                            Ok(Event::Incoming(Packet::PubAck(p))) => {
                                Ev::PubAck(v5_puback(&p.reason))
                            }
                            Ok(Event::Incoming(Packet::Publish(p))) => Ev::Publish(
                                String::from_utf8_lossy(&p.topic).into_owned(),
                                p.payload.to_vec(),
                            ),
                            Ok(_) => continue,
                            Err(ConnectionError::ConnectionRefused(code)) => {
                                let _ = tx.send(Ev::ConnAck(v5_connack(&code)));
                                return;
                            }
                            Err(e) => {
                                let _ = tx.send(Ev::Closed(e.to_string()));
                                return;
                            }
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                });
                Handle::V5(client)
            }
        };
        let m = Mqtt {
            handle,
            events: rx,
            pending: Default::default(),
        };
        match m.events.recv_timeout(WAIT) {
            Ok(Ev::ConnAck(0)) => Ok(m),
            Ok(Ev::ConnAck(code)) => Err(ConnectError::Refused(code)),
            Ok(Ev::Closed(e)) => Err(ConnectError::Closed(e)),
            Ok(other) => panic!("expected CONNACK, got {other:?}"),
            Err(_) => panic!("no CONNACK within {WAIT:?}"),
        }
    }

    /// Connects and panics unless the broker accepts.
    pub fn ok(proto: Proto, port: u16, client_id: &str, creds: Option<(&str, &str)>) -> Mqtt {
        Mqtt::connect(proto, port, client_id, creds)
            .unwrap_or_else(|e| panic!("{proto:?} connect as {creds:?} failed: {e:?}"))
    }

    fn next(&self, timeout: Duration, mut want: impl FnMut(&Ev) -> bool) -> Option<Ev> {
        {
            let mut pending = self.pending.borrow_mut();
            if let Some(i) = pending.iter().position(&mut want) {
                return Some(pending.remove(i));
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) if want(&ev) => return Some(ev),
                Ok(ev) => self.pending.borrow_mut().push(ev),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Subscribes to one filter at QoS 1; returns the SUBACK code (0x01 granted, 0x80 / 0x87
    /// refused).
    pub fn subscribe(&self, filter: &str) -> u8 {
        self.subscribe_with(filter, 1)
    }

    /// Subscribes to one filter at `qos` (0, 1 or 2); returns the SUBACK code.
    pub fn subscribe_with(&self, filter: &str, qos: u8) -> u8 {
        match &self.handle {
            Handle::V3(c) => c.subscribe(filter, v3_qos(qos)).expect("subscribe"),
            Handle::V5(c) => c.subscribe(filter, v5_qos(qos)).expect("subscribe"),
        }
        match self.next(WAIT, |e| matches!(e, Ev::SubAck(_) | Ev::Closed(_))) {
            Some(Ev::SubAck(codes)) => codes[0],
            other => panic!("no SUBACK for {filter}: {other:?}"),
        }
    }

    /// Publishes at QoS 1 and returns the PUBACK reason (always 0 in MQTT 3.1.1).
    pub fn publish(&self, topic: &str, payload: &str) -> u8 {
        self.publish_with(topic, payload, 1, false)
            .expect("a QoS 1 publish is acknowledged")
    }

    /// Publishes at `qos` (0 or 1) with the retain flag; returns the PUBACK reason of a QoS 1
    /// publish, `None` for QoS 0 (nothing is acknowledged).
    pub fn publish_with(&self, topic: &str, payload: &str, qos: u8, retain: bool) -> Option<u8> {
        assert!(qos <= 1, "QoS 2 flows are not followed here");
        let body = payload.as_bytes().to_vec();
        match &self.handle {
            Handle::V3(c) => c
                .publish(topic, v3_qos(qos), retain, body)
                .expect("publish"),
            Handle::V5(c) => c
                .publish(topic, v5_qos(qos), retain, body)
                .expect("publish"),
        }
        if qos == 0 {
            return None;
        }
        match self.next(WAIT, |e| matches!(e, Ev::PubAck(_) | Ev::Closed(_))) {
            Some(Ev::PubAck(code)) => Some(code),
            other => panic!("no PUBACK for {topic}: {other:?}"),
        }
    }

    /// The next message delivered to this client within `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<(String, String)> {
        match self.next(timeout, |e| matches!(e, Ev::Publish(..))) {
            Some(Ev::Publish(t, p)) => Some((t, String::from_utf8_lossy(&p).into_owned())),
            _ => None,
        }
    }

    /// Returns true if and only if the connection has been closed.
    pub fn closed(&self, timeout: Duration) -> bool {
        self.next(timeout, |e| matches!(e, Ev::Closed(_))).is_some()
    }
}

impl Drop for Mqtt {
    fn drop(&mut self) {
        match &self.handle {
            Handle::V3(c) => {
                let _ = c.disconnect();
            }
            Handle::V5(c) => {
                let _ = c.disconnect();
            }
        }
    }
}

/// Returns true if and only if a PUBACK reason means the publish was accepted (0, or 0x10 "no
/// matching subscribers" in MQTT 5).
pub fn accepted(code: u8) -> bool {
    code == 0 || code == 0x10
}

/// The CONNACK refusal for a bad or unknown user: 5 in MQTT 3.1.1, 0x87 in MQTT 5.
pub fn not_authorised(proto: Proto) -> ConnectError {
    ConnectError::Refused(match proto {
        Proto::V311 => 5,
        Proto::V5 => 0x87,
    })
}

/// The SUBACK code of a refused subscription: 0x80 in MQTT 3.1.1, 0x87 in MQTT 5.
pub fn sub_refused(proto: Proto) -> u8 {
    match proto {
        Proto::V311 => 0x80,
        Proto::V5 => 0x87,
    }
}

/// The PUBACK reason of a refused QoS 1 publish: 0x87 in MQTT 5; MQTT 3.1.1 has no reason
/// codes, so the broker acknowledges with 0 and drops the message.
pub fn pub_denied(proto: Proto) -> u8 {
    match proto {
        Proto::V311 => 0,
        Proto::V5 => 0x87,
    }
}
