//! What a backend says about a client beyond "allowed": its superuser answer, its rules, when
//! its session ends ([`Grant`]), read from a login answer's JSON ([`Grant::from_json`]) in
//! EMQX 5's format, so one parser serves the HTTP backend and JWT claims alike.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::rules::Rules;

/// The session part of an allowed login. `Debug` shows the fingerprint only as set or not.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// `is_superuser`: decides the superuser question (no request). `None`: not said.
    pub superuser: Option<bool>,
    /// `acl`: the client's rules. `None`: not said (the backend is asked per check).
    pub rules: Option<Rules>,
    /// `expire_at`: when the session ends (the client is disconnected).
    pub expires: Option<SystemTime>,
    /// A fingerprint of the credentials the login was checked against (the files backend's
    /// hash, keyed): when it changes or disappears on reload, the client is disconnected.
    pub fingerprint: Option<u64>,
    /// The name that fills `${username}` when it is not the MQTT username (a JWT carried in
    /// the username names its user in a claim).
    pub identity: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("superuser", &self.superuser)
            .field("rules", &self.rules.as_ref().map(Rules::len))
            .field("expires", &self.expires)
            .field("fingerprint", &self.fingerprint.map(|_| "(set)"))
            .finish()
    }
}

impl Grant {
    /// Reads `is_superuser`, `acl` and `expire_at` from a login answer's object. `Ok(None)`
    /// when it has none of them. The error names the field and never holds a value that could
    /// be a secret.
    pub fn from_json(answer: &Map<String, Value>) -> Result<Option<Grant>, String> {
        let superuser = match answer.get("is_superuser") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err("is_superuser: expected true or false".into()),
        };
        let rules = match answer.get("acl") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Rules::parse(v)?),
        };
        let expires = match answer.get("expire_at") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let secs = v.as_u64().ok_or_else(|| {
                    "expire_at: expected a whole number of seconds since 1970".to_string()
                })?;
                let at = UNIX_EPOCH
                    .checked_add(Duration::from_secs(secs))
                    .ok_or_else(|| "expire_at: out of range".to_string())?;
                Some(at)
            }
        };
        if superuser.is_none() && rules.is_none() && expires.is_none() {
            return Ok(None);
        }
        Ok(Some(Grant {
            superuser,
            rules,
            expires,
            fingerprint: None,
            identity: None,
        }))
    }

    /// Returns true if and only if the grant answers the backend's own superuser and ACL
    /// questions for this client: it carried rules or a superuser answer. The backend is then
    /// never asked them for this client.
    pub fn replaces_checks(&self) -> bool {
        self.rules.is_some() || self.superuser.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Option<Grant>, String> {
        Grant::from_json(v.as_object().unwrap())
    }

    #[test]
    fn login_answer_fields() {
        assert_eq!(read(json!({"result": "allow"})), Ok(None));
        let g = read(json!({"ok": true, "is_superuser": true}))
            .unwrap()
            .unwrap();
        assert_eq!((g.superuser, g.rules.is_none()), (Some(true), true));
        assert!(g.replaces_checks());
        let g = read(json!({"acl": [], "expire_at": 2000000000}))
            .unwrap()
            .unwrap();
        assert_eq!(g.rules.map(|r| r.len()), Some(0));
        assert_eq!(
            g.expires,
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        let g = read(json!({"expire_at": 5})).unwrap().unwrap();
        assert!(!g.replaces_checks());
        assert_eq!(
            read(json!({"is_superuser": "yes"})).unwrap_err(),
            "is_superuser: expected true or false"
        );
        for bad in [json!(-1), json!(1.5), json!("2000000000")] {
            assert!(read(json!({"expire_at": bad}))
                .unwrap_err()
                .starts_with("expire_at: "));
        }
        assert!(read(json!({"acl": "all"}))
            .unwrap_err()
            .starts_with("acl: "));
    }
}
