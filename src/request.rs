//! The typed questions the chain asks ([`AuthRequest`], [`AclRequest`]) and the answers a
//! backend gives ([`Verdict`], or a [`BackendError`]).
//!
//! A backend answers each question with allow, deny, or "not mine" (defer). The chain
//! ([`crate::chain`]) asks the configured backends in order: the first allow or deny wins, defer
//! moves on, and an error stops the chain and refuses (fail closed). Errors are never cached.

use std::fmt;
use std::time::Duration;

use crate::secret::Secret;

/// A backend's answer to one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Granted (for a superuser question: this user is a superuser).
    Allow,
    /// Refused; no later backend is asked.
    Deny,
    /// Not this backend's user or topic; the next backend is asked.
    Defer,
}

impl Decision {
    /// The lowercase name (`allow`, `deny`, `defer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Defer => "defer",
        }
    }
}

/// How long a backend says its answer may be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CacheHint {
    /// Use the configured time for this kind of answer.
    #[default]
    Default,
    /// Cache for exactly this long (an HTTP `Cache-Control: max-age`).
    MaxAge(Duration),
    /// Do not cache this answer (`Cache-Control: no-store` / `no-cache`).
    NoStore,
}

/// A decision plus the backend's wish about caching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// How long it may be cached.
    pub cache: CacheHint,
}

impl Verdict {
    /// A verdict that follows the configured cache times.
    pub fn new(decision: Decision) -> Verdict {
        Verdict {
            decision,
            cache: CacheHint::Default,
        }
    }

    /// Allow, cached for the configured time.
    pub const ALLOW: Verdict = Verdict {
        decision: Decision::Allow,
        cache: CacheHint::Default,
    };
    /// Deny, cached for the configured time.
    pub const DENY: Verdict = Verdict {
        decision: Decision::Deny,
        cache: CacheHint::Default,
    };
    /// Defer, cached for the configured time.
    pub const DEFER: Verdict = Verdict {
        decision: Decision::Defer,
        cache: CacheHint::Default,
    };
}

impl From<Decision> for Verdict {
    fn from(decision: Decision) -> Verdict {
        Verdict::new(decision)
    }
}

/// A backend could not answer (service down, timeout, bad response). Never cached; the chain
/// stops at it and refuses (fail closed): the backend that failed might have said deny.
///
/// The message must not contain a password, hash or secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl BackendError {
    /// An error with the given message.
    pub fn new(msg: impl Into<String>) -> BackendError {
        BackendError(msg.into())
    }
}

/// What one check may return.
pub type Answer = Result<Verdict, BackendError>;

/// The kind of access an ACL check is about, as the broker passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// A message is about to be delivered to a subscriber (`MOSQ_ACL_READ`, 1).
    Read,
    /// A client publishes (`MOSQ_ACL_WRITE`, 2).
    Write,
    /// A client subscribes; the topic is the subscription filter (`MOSQ_ACL_SUBSCRIBE`, 4).
    Subscribe,
    /// A client unsubscribes (`MOSQ_ACL_UNSUBSCRIBE`, 8; plugin API v5 only). Always allowed.
    Unsubscribe,
}

impl Access {
    /// The broker's number for this access (`acc` in auth-plug's and go-auth's HTTP requests).
    pub fn code(self) -> i32 {
        match self {
            Access::Read => 1,
            Access::Write => 2,
            Access::Subscribe => 4,
            Access::Unsubscribe => 8,
        }
    }

    /// The access for the broker's number, if it is one of the four.
    pub fn from_code(code: i32) -> Option<Access> {
        match code {
            1 => Some(Access::Read),
            2 => Some(Access::Write),
            4 => Some(Access::Subscribe),
            8 => Some(Access::Unsubscribe),
            _ => None,
        }
    }

    /// The lowercase name (`read`, `write`, `subscribe`, `unsubscribe`).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Subscribe => "subscribe",
            Access::Unsubscribe => "unsubscribe",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password check at CONNECT.
#[derive(Clone, Debug)]
pub struct AuthRequest<'a> {
    /// The MQTT username.
    pub username: &'a str,
    /// The MQTT password (empty when the client sent none).
    pub password: &'a Secret,
    /// The client id.
    pub client_id: &'a str,
}

/// An ACL check.
#[derive(Clone, Copy, Debug)]
pub struct AclRequest<'a> {
    /// The username; `None` for an anonymous client.
    pub username: Option<&'a str>,
    /// The client id.
    pub client_id: &'a str,
    /// The topic (for `Subscribe`/`Unsubscribe`, the subscription filter).
    pub topic: &'a str,
    /// What the client wants to do.
    pub access: Access,
    /// The message's QoS (for `Subscribe`: the QoS asked for).
    pub qos: u8,
    /// The message's retain flag (publish).
    pub retain: bool,
}

/// Broker data that cannot become a request; refused without asking any backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undecodable {
    /// A username, client id or topic that is not UTF-8.
    NotUtf8,
    /// An access code the broker does not define.
    UnknownAccess(i32),
}

impl<'a> AuthRequest<'a> {
    /// The request for a CONNECT with a username, from the broker's bytes.
    pub fn decode(
        username: &'a [u8],
        password: &'a Secret,
        client_id: &'a [u8],
    ) -> Result<AuthRequest<'a>, Undecodable> {
        match (
            std::str::from_utf8(username),
            std::str::from_utf8(client_id),
        ) {
            (Ok(username), Ok(client_id)) => Ok(AuthRequest {
                username,
                password,
                client_id,
            }),
            _ => Err(Undecodable::NotUtf8),
        }
    }
}

impl<'a> AclRequest<'a> {
    /// The request for an ACL check, from the broker's bytes and access code (QoS 0, not
    /// retained: see [`AclRequest::with_message`]).
    pub fn decode(
        username: Option<&'a [u8]>,
        client_id: &'a [u8],
        topic: &'a [u8],
        access: i32,
    ) -> Result<AclRequest<'a>, Undecodable> {
        Self::decode_with(username, client_id, topic, access, |b| {
            std::str::from_utf8(b).ok()
        })
    }

    /// [`AclRequest::decode`] with `text` reading bytes as UTF-8 (`None`: they are not). The
    /// plugin's callbacks pass one that recognises ASCII a word at a time.
    pub fn decode_with(
        username: Option<&'a [u8]>,
        client_id: &'a [u8],
        topic: &'a [u8],
        access: i32,
        text: impl Fn(&'a [u8]) -> Option<&'a str>,
    ) -> Result<AclRequest<'a>, Undecodable> {
        let access = Access::from_code(access).ok_or(Undecodable::UnknownAccess(access))?;
        let utf8 = |b: &'a [u8]| text(b).ok_or(Undecodable::NotUtf8);
        Ok(AclRequest {
            username: username.map(utf8).transpose()?,
            client_id: utf8(client_id)?,
            topic: utf8(topic)?,
            access,
            qos: 0,
            retain: false,
        })
    }

    /// The same request about a message with this QoS and retain flag.
    pub fn with_message(self, qos: u8, retain: bool) -> AclRequest<'a> {
        AclRequest {
            qos,
            retain,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_bytes_become_requests_or_are_refused() {
        let r = AclRequest::decode(Some(b"u"), b"c", b"a/b", 4).unwrap();
        assert_eq!(
            (r.username, r.client_id, r.topic, r.access),
            (Some("u"), "c", "a/b", Access::Subscribe)
        );
        assert_eq!(
            AclRequest::decode(None, b"c", b"t", 1).unwrap().username,
            None
        );
        for (u, c, t) in [
            (&b"\xff"[..], &b"c"[..], &b"t"[..]),
            (b"u", b"\xfe", b"t"),
            (b"u", b"c", b"t\xc3"),
        ] {
            assert_eq!(
                AclRequest::decode(Some(u), c, t, 1).unwrap_err(),
                Undecodable::NotUtf8
            );
        }
        assert_eq!(
            AclRequest::decode(None, b"c", b"t", 3).unwrap_err(),
            Undecodable::UnknownAccess(3)
        );
        let pw = Secret::new(b"p".to_vec());
        let a = AuthRequest::decode(b"u", &pw, b"c").unwrap();
        assert_eq!((a.username, a.client_id), ("u", "c"));
        assert_eq!(
            AuthRequest::decode(b"u", &pw, b"\x80").unwrap_err(),
            Undecodable::NotUtf8
        );
    }
}
