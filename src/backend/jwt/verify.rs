//! One token checked: shape, algorithm, key, signature, time claims, issuer, audience, the
//! username and client id claims, then the session it grants (`acl`, superuser, `exp`). Each
//! refusal says why in words that never hold the token ([`Refusal`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::keys::KeySet;
use super::settings::{JwtSettings, TokenFrom};
use crate::session::{Grant, Rules};

/// The longest token accepted (a token is sent with every CONNECT; real ones are < 2 KiB).
pub const MAX_TOKEN: usize = 8 * 1024;

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a JWT at all (not three dot-separated parts): another backend's password.
    NotAToken,
    /// A `kid` no key has (the key set may need a refresh).
    UnknownKid(String),
    /// Refused, and why.
    Invalid(String),
}

/// An accepted token: who it names and what it grants.
#[derive(Debug)]
pub struct Accepted {
    /// The username claim's value.
    pub username: String,
    /// The session: rules, superuser, expiry.
    pub grant: Grant,
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal::Invalid(why.into())
}

/// Checks `token` for a client named `username` (for a token in the password; `None` when the
/// token is the username) with `client_id`, against `keys` and the settings.
pub fn check(
    s: &JwtSettings,
    keys: &KeySet,
    token: &str,
    username: Option<&str>,
    client_id: &str,
) -> Result<Accepted, Refusal> {
    if token.split('.').count() != 3 {
        return Err(Refusal::NotAToken);
    }
    if token.len() > MAX_TOKEN {
        return Err(invalid(format!("token longer than {MAX_TOKEN} bytes")));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| invalid(format!("malformed header: {}", describe(e.kind()))))?;
    let alg = header.alg;
    if s.algorithms
        .as_ref()
        .is_some_and(|list| !list.contains(&alg))
    {
        return Err(invalid(format!(
            "algorithm {alg:?} is not in auth_opt_jwt_algorithms"
        )));
    }
    let candidates = keys.candidates(header.kid.as_deref(), alg);
    if candidates.is_empty() {
        return Err(match &header.kid {
            Some(kid) if !keys.has_kid(kid) => Refusal::UnknownKid(kid.clone()),
            _ => invalid(format!("no configured key verifies {alg:?}")),
        });
    }
    let validation = validation(s, alg);
    let mut last = None;
    let mut claims = None;
    for key in candidates {
        match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            // Another key may fit (two keys without a kid); anything else is final.
            Err(e) if *e.kind() == ErrorKind::InvalidSignature => last = Some(e),
            Err(e) => return Err(invalid(describe(e.kind()))),
        }
    }
    let Some(claims) = claims else {
        return Err(invalid(
            last.map_or("bad signature".into(), |e| describe(e.kind())),
        ));
    };
    check_iat(&claims, s.leeway)?;
    let named = match claims.get(&s.username_claim) {
        Some(Value::String(u)) if !u.is_empty() => u.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "claim '{}' is not a non-empty string",
                s.username_claim
            )))
        }
        None => return Err(invalid(format!("no '{}' claim", s.username_claim))),
    };
    if s.token_from == TokenFrom::Password && username != Some(named.as_str()) {
        return Err(invalid(format!(
            "claim '{}' is '{named}', not the MQTT username",
            s.username_claim
        )));
    }
    if let Some(c) = &s.clientid_claim {
        match claims.get(c) {
            Some(Value::String(v)) if v == client_id => {}
            Some(_) => {
                return Err(invalid(format!(
                    "claim '{c}' does not match the client id '{client_id}'"
                )))
            }
            None => return Err(invalid(format!("no '{c}' claim"))),
        }
    }
    Ok(Accepted {
        username: named,
        grant: grant(s, &claims)?,
    })
}

fn validation(s: &JwtSettings, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = s.leeway;
    v.validate_exp = true;
    v.validate_nbf = true;
    v.required_spec_claims.clear();
    if s.require_exp {
        v.required_spec_claims.insert("exp".into());
    }
    match &s.issuer {
        Some(iss) => {
            v.set_issuer(&[iss]);
            v.required_spec_claims.insert("iss".into());
        }
        None => v.iss = None,
    }
    match &s.audience {
        Some(aud) => {
            v.set_audience(&[aud]);
            v.required_spec_claims.insert("aud".into());
        }
        None => v.validate_aud = false,
    }
    v
}

/// `iat` in the future (beyond the leeway) is refused; a non-numeric one too.
fn check_iat(claims: &Map<String, Value>, leeway: u64) -> Result<(), Refusal> {
    let Some(iat) = claims.get("iat") else {
        return Ok(());
    };
    let Some(iat) = iat.as_f64() else {
        return Err(invalid("claim 'iat' is not a number"));
    };
    let now = unix_now();
    if iat > (now + leeway) as f64 {
        return Err(invalid("issued in the future (iat)"));
    }
    Ok(())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The session of an accepted token: `acl` (EMQX's format, the same evaluator as the HTTP
/// login answer), the superuser claim, and `exp` as its end.
fn grant(s: &JwtSettings, claims: &Map<String, Value>) -> Result<Grant, Refusal> {
    let rules = match claims.get("acl") {
        None | Some(Value::Null) => None,
        Some(v) => Some(Rules::parse(v).map_err(|e| invalid(format!("claim {e}")))?),
    };
    let superuser = match &s.superuser_claim {
        None => None,
        Some(c) => match claims.get(c) {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(invalid(format!("claim '{c}' is not true or false"))),
        },
    };
    let expires = match claims.get("exp") {
        None => None,
        Some(v) => {
            let secs = v
                .as_f64()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| invalid("claim 'exp' is not a number"))?;
            UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs.min(1e12)))
        }
    };
    Ok(Grant {
        superuser,
        rules,
        expires,
        fingerprint: None,
        identity: None,
    })
}

/// Words for a verification error (never the token).
fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "expired (exp)".into(),
        ErrorKind::ImmatureSignature => "not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "wrong issuer (iss)".into(),
        ErrorKind::InvalidAudience => "wrong audience (aud)".into(),
        ErrorKind::InvalidSignature => "bad signature".into(),
        ErrorKind::InvalidAlgorithm => "algorithm does not fit the key".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("no '{c}' claim"),
        ErrorKind::Base64(_) => "not valid base64url".into(),
        ErrorKind::Json(_) => "not a JSON object".into(),
        ErrorKind::Utf8(_) => "not UTF-8".into(),
        ErrorKind::InvalidToken => "malformed token".into(),
        ErrorKind::InvalidAlgorithmName => "unknown algorithm".into(),
        ErrorKind::InvalidKeyFormat => "unusable key".into(),
        other => format!("refused ({other:?})"),
    }
}
