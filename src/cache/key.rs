//! The keys of cached answers. They cannot collide and never hold a password: an ACL or
//! superuser key is the fields themselves (compared field by field), a password check's key is
//! a SHA-256 over a per-process random key and the length-prefixed username, password and
//! client id.

use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::request::{Access, AclRequest, AuthRequest};

/// The key of a cached ACL answer: the fields themselves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AclKey {
    username: Option<Box<str>>,
    client_id: Box<str>,
    topic: Box<str>,
    access: Access,
}

impl AclKey {
    pub(crate) fn new(req: &AclRequest<'_>) -> AclKey {
        AclKey {
            username: req.username.map(Into::into),
            client_id: req.client_id.into(),
            topic: req.topic.into(),
            access: req.access,
        }
    }

    /// True if this key is `req`'s.
    pub(crate) fn is(&self, req: &AclRequest<'_>) -> bool {
        *self.topic == *req.topic
            && *self.client_id == *req.client_id
            && self.username.as_deref() == req.username
            && self.access == req.access
    }

    pub(crate) fn request(&self) -> AclRequest<'_> {
        AclRequest {
            username: self.username.as_deref(),
            client_id: &self.client_id,
            topic: &self.topic,
            access: self.access,
            qos: 0,
            retain: false,
        }
    }
}

/// Makes the keys of password checks.
pub(crate) struct AuthKeys {
    /// Random per process, so a key cannot be computed from outside.
    secret: [u8; 32],
}

impl AuthKeys {
    pub(crate) fn new() -> AuthKeys {
        let mut secret = [0u8; 32];
        if getrandom::getrandom(&mut secret).is_err() {
            // Without randomness the key is still unambiguous; it is only not secret.
            secret = Sha256::digest(format!("{:?}{}", Instant::now(), std::process::id())).into();
        }
        AuthKeys { secret }
    }

    /// The key of `req`'s answer.
    pub(crate) fn key(&self, req: &AuthRequest<'_>) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.secret);
        for field in [
            req.username.as_bytes(),
            req.password.expose(),
            req.client_id.as_bytes(),
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field);
        }
        h.finalize().into()
    }
}
