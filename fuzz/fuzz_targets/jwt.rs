//! JWT verification (`backend::jwt::verify::check`, what the JWT backend and `mosq-auth token
//! --verify` call) with a fixed HS256/384/512 secret.
//!
//! - The input as a token: nothing panics; it is accepted only if its signature really is the
//!   secret's (checked again with `jsonwebtoken` directly).
//! - The input as claims (a JSON object, or else the `sub` of an otherwise valid claim set),
//!   signed with the secret: when accepted, the user is the `sub` claim and the time claims
//!   are within the leeway (`exp` required, not past; `nbf`, `iat` not in the future). The same
//!   claims signed with another secret, or sent with `alg: none`, are never accepted.
//! - A token mutated at one place (byte changed, removed or inserted, chosen by the input) is
//!   never accepted with other claims than the original's.
//! - A refusal never quotes the token's signature.

#![no_main]

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header, Validation};
use libfuzzer_sys::fuzz_target;
use mosq_auth::backend::jwt::verify::{check, Accepted, Refusal};
use mosq_auth::backend::jwt::JwtSettings;
use mosq_auth::options::Options;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

const SECRET: &str = "fz-jwt-secret-0123456789";
const OTHER_SECRET: &str = "fz-jwt-secret-0123456780";
const CLIENT: &str = "c1";
const LEEWAY: u64 = 30;

fn settings() -> &'static JwtSettings {
    static S: OnceLock<JwtSettings> = OnceLock::new();
    S.get_or_init(|| {
        let o = Options::new([
            ("jwt_secret", SECRET),
            ("jwt_token_from", "username"),
            ("jwt_superuser_claim", "su"),
            ("jwt_leeway_seconds", "30"),
        ]);
        JwtSettings::from_options(&o).expect("jwt settings")
    })
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn verify(token: &str) -> Result<Accepted, Refusal> {
    let s = settings();
    check(s, &s.keys, token, None, CLIENT)
}

/// The signature of `token` is the secret's (no claim checked).
fn really_signed(token: &str) -> bool {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return false;
    };
    if !matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return false;
    }
    let mut v = Validation::new(header.alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::decode::<Value>(token, &key, &v).is_ok()
}

fn refusal_text(r: &Refusal) -> String {
    match r {
        Refusal::NotAToken => String::new(),
        Refusal::UnknownKid(k) => k.clone(),
        Refusal::Invalid(why) => why.clone(),
    }
}

fn assert_no_signature(r: &Refusal, token: &str) {
    if let Some(sig) = token.rsplit('.').next().filter(|s| s.len() >= 16) {
        assert!(!refusal_text(r).contains(sig), "refusal {r:?} quotes the signature");
    }
}

/// What an accepted token's claims must satisfy.
fn assert_acceptable(a: &Accepted, claims: &Map<String, Value>) {
    assert_eq!(
        claims.get("sub"),
        Some(&Value::String(a.username.clone())),
        "user is not the sub claim"
    );
    let t = now() as f64;
    let exp = claims.get("exp").and_then(Value::as_f64);
    assert!(exp.is_some(), "accepted without a numeric exp");
    assert!(exp.is_some_and(|e| e + (LEEWAY as f64) + 2.0 >= t), "accepted an expired token");
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_f64) {
        assert!(nbf <= t + LEEWAY as f64 + 2.0, "accepted before nbf");
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_f64().expect("accepted a non-numeric iat");
        assert!(iat <= t + LEEWAY as f64 + 2.0, "accepted an iat in the future");
    }
    match claims.get("su") {
        None | Some(Value::Null) => assert_eq!(a.grant.superuser, Some(false)),
        Some(Value::Bool(b)) => assert_eq!(a.grant.superuser, Some(*b)),
        Some(other) => panic!("accepted a superuser claim {other:?}"),
    }
}

fn sign(claims: &Map<String, Value>, alg: Algorithm, secret: &str) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret.as_bytes())).expect("sign")
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    // 1. The input as a token.
    let raw = String::from_utf8_lossy(data);
    match verify(&raw) {
        Ok(_) => assert!(really_signed(&raw), "accepted a token not signed with the secret"),
        Err(r) => assert_no_signature(&r, &raw),
    }

    // 2. The input as claims.
    let claims: Map<String, Value> = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(m)) => m,
        _ => {
            let mut m = Map::new();
            m.insert("sub".into(), Value::String(raw.to_string()));
            m.insert("exp".into(), json!(now() + 3600));
            m
        }
    };
    let alg = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512][data.len() % 3];
    let token = sign(&claims, alg, SECRET);
    let original = verify(&token);
    match &original {
        Ok(a) => assert_acceptable(a, &claims),
        Err(r) => assert_no_signature(r, &token),
    }

    let forged = sign(&claims, alg, OTHER_SECRET);
    assert!(verify(&forged).is_err(), "accepted a token signed with another secret");
    let payload = token.split('.').nth(1).unwrap_or_default();
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"HS256","crit":["x"]}"#] {
        let h = URL_SAFE_NO_PAD.encode(header);
        let sig = token.rsplit('.').next().unwrap_or_default();
        for t in [format!("{h}.{payload}."), format!("{h}.{payload}.{sig}")] {
            if let Ok(a) = verify(&t) {
                assert!(really_signed(&t), "accepted {header} with {:?}", a.username);
            }
        }
    }

    // 3. One mutation of the signed token.
    let bytes = token.as_bytes();
    let seed = data.iter().fold(0usize, |h, &b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
    let pos = seed % bytes.len();
    let mut mutated = bytes.to_vec();
    let replacement = b"AZaz09-_.="[seed / bytes.len() % 10];
    match seed % 3 {
        0 => mutated[pos] = replacement,
        1 => {
            mutated.remove(pos);
        }
        _ => mutated.insert(pos, replacement),
    }
    let Ok(mutated) = String::from_utf8(mutated) else {
        return;
    };
    if mutated == token {
        return;
    }
    if let Ok(a) = verify(&mutated) {
        match &original {
            Ok(o) => {
                assert_eq!(a.username, o.username, "mutated token accepted for another user");
                assert_eq!(a.grant, o.grant, "mutated token accepted with other claims");
            }
            Err(e) => panic!("mutated token accepted, the original was refused ({e:?})"),
        }
    }
});
