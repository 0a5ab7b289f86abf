//! The token checks, with tokens minted here (HS256; the key families are tested against the
//! real broker in tests/it/jwt_broker.rs).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::keys::KeySet;
use super::settings::JwtSettings;
use super::verify::{check, Refusal};
use crate::options::Options;

const SECRET: &str = "an-hmac-secret-for-tests";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn settings(extra: &[(&str, &str)]) -> JwtSettings {
    let mut pairs = vec![("jwt_secret", SECRET)];
    pairs.extend_from_slice(extra);
    JwtSettings::from_options(&Options::new(pairs)).unwrap()
}

fn mint(claims: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn why(s: &JwtSettings, token: &str, user: &str) -> String {
    match check(s, &s.keys, token, Some(user), "c1") {
        Err(Refusal::Invalid(w)) => w,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_valid_token_names_its_user_and_session() {
    let s = settings(&[("jwt_superuser_claim", "is_superuser")]);
    let exp = now() + 60;
    let t = mint(json!({"sub": "alice", "exp": exp, "is_superuser": true,
        "acl": [{"permission": "allow", "action": "all", "topic": "a/${username}/#"}]}));
    let a = check(&s, &s.keys, &t, Some("alice"), "c1").unwrap();
    assert_eq!(a.username, "alice");
    assert_eq!(a.grant.superuser, Some(true));
    assert_eq!(a.grant.rules.map(|r| r.len()), Some(1));
    assert_eq!(a.grant.expires, Some(UNIX_EPOCH + Duration::from_secs(exp)));
}

#[test]
fn each_claim_rule_refuses_with_a_reason() {
    let s = settings(&[
        ("jwt_issuer", "https://idp"),
        ("jwt_audience", "mqtt"),
        ("jwt_clientid_claim", "cid"),
    ]);
    let good = json!({"sub": "alice", "exp": now() + 60, "iss": "https://idp", "aud": "mqtt", "cid": "c1"});
    assert!(check(&s, &s.keys, &mint(good.clone()), Some("alice"), "c1").is_ok());
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        mint(c)
    };
    assert_eq!(
        why(&s, &with("exp", json!(now() - 120)), "alice"),
        "expired (exp)"
    );
    assert_eq!(
        why(&s, &with("nbf", json!(now() + 120)), "alice"),
        "not valid yet (nbf)"
    );
    assert_eq!(
        why(&s, &with("iat", json!(now() + 120)), "alice"),
        "issued in the future (iat)"
    );
    assert_eq!(
        why(&s, &with("iss", json!("https://evil")), "alice"),
        "wrong issuer (iss)"
    );
    assert_eq!(
        why(&s, &with("aud", json!("other")), "alice"),
        "wrong audience (aud)"
    );
    assert!(why(&s, &with("cid", json!("c2")), "alice").contains("client id"));
    assert!(why(&s, &mint(good.clone()), "bob").contains("not the MQTT username"));
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(why(&s, &mint(no_exp.clone()), "alice"), "no 'exp' claim");
    // Within the leeway (30 s) an expired token still passes.
    assert!(check(
        &s,
        &s.keys,
        &with("exp", json!(now() - 10)),
        Some("alice"),
        "c1"
    )
    .is_ok());
    let lax = settings(&[("jwt_require_exp", "false")]);
    assert!(check(
        &lax,
        &lax.keys,
        &mint(json!({"sub": "alice"})),
        Some("alice"),
        "c"
    )
    .is_ok());
    assert!(why(&s, &with("acl", json!([{"permission": "x"}])), "alice").contains("acl[0]"));
}

#[test]
fn attacks_are_refused() {
    let s = settings(&[]);
    let good = mint(json!({"sub": "alice", "exp": now() + 60}));
    let parts: Vec<&str> = good.split('.').collect();
    // alg none, with and without a signature.
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = b64(json!({"alg": "none", "typ": "JWT"}));
    for sig in ["", parts[2]] {
        let t = format!("{none}.{}.{sig}", parts[1]);
        assert!(why(&s, &t, "alice").starts_with("malformed header"), "{t}");
    }
    // A signature of other claims.
    let other = mint(json!({"sub": "mallory", "exp": now() + 60}));
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    assert_eq!(why(&s, &forged, "mallory"), "bad signature");
    // Signed with another secret.
    let wrong = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "alice", "exp": now() + 60}),
        &EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    assert_eq!(why(&s, &wrong, "alice"), "bad signature");
    // An algorithm no key fits (RS256 header with an HMAC key only).
    let rs = b64(json!({"alg": "RS256"}));
    assert!(
        why(&s, &format!("{rs}.{}.{}", parts[1], parts[2]), "alice").contains("no configured key")
    );
    // Malformed parts, huge tokens, nested claims.
    assert_eq!(
        why(&s, &format!("{}.!!.{}", parts[0], parts[2]), "alice"),
        "bad signature"
    );
    assert!(
        why(&s, &format!("@@.{}.{}", parts[1], parts[2]), "alice").starts_with("malformed header")
    );
    let huge = format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]);
    assert!(why(&s, &huge, "alice").contains("longer than"));
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let t = mint(json!({"sub": "alice", "exp": now() + 60, "x": deep}));
    assert_eq!(
        why(&s, &t, "alice"),
        "not a JSON object",
        "nested past serde_json's limit"
    );
    // Not three parts: not a token at all (another backend's password).
    for p in ["secret", "a.b", "a.b.c.d"] {
        assert_eq!(
            check(&s, &s.keys, p, Some("alice"), "c").unwrap_err(),
            Refusal::NotAToken
        );
    }
    // Narrowing the algorithms refuses the others.
    let narrow = settings(&[("jwt_algorithms", "HS512")]);
    assert!(why(&narrow, &good, "alice").contains("jwt_algorithms"));
}

#[test]
fn options_are_validated() {
    let err = |pairs: Vec<(&str, &str)>| {
        JwtSettings::from_options(&Options::new(pairs))
            .unwrap_err()
            .to_string()
    };
    assert!(err(vec![]).contains("needs a key"));
    assert!(err(vec![("jwt_secret", "s"), ("jwt_algorithms", "none")]).contains("'none'"));
    assert!(err(vec![("jwt_secret", "s"), ("jwt_algorithms", "RS256")]).contains("fits"));
    assert!(err(vec![("jwt_secret", "s"), ("jwt_mode", "remote")]).contains("auth_opt_jwt_mode"));
    assert!(err(vec![("jwt_public_key_file", "/nonexistent")]).contains("cannot read"));
    let e = err(vec![("jwt_secret", "s"), ("jwt_token_from", "header")]);
    assert!(
        e.contains("auth_opt_jwt_token_from") && !e.contains("'s'"),
        "{e}"
    );
    let go = JwtSettings::from_options(&Options::new([
        ("jwt_secret", "s"),
        ("jwt_mode", "local"),
        ("jwt_userfield", "Username"),
    ]))
    .unwrap();
    assert_eq!(
        (go.token_from, go.username_claim.as_str()),
        (super::TokenFrom::Username, "username")
    );
    let s = settings(&[]);
    let debug = format!("{s:?} {:?}", KeySet::secret(SECRET.as_bytes()));
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn a_jwks_url_over_plain_http_warns_unless_loopback() {
    let warn = |url: &str| {
        let s = JwtSettings::from_options(&Options::new([("jwt_jwks_url", url)])).unwrap();
        s.warnings.iter().any(|w| w.contains("plain http"))
    };
    assert!(warn("http://idp.example.com/jwks"));
    assert!(!warn("https://idp.example.com/jwks"));
    for local in [
        "http://127.0.0.1:8080/jwks",
        "http://localhost/jwks",
        "http://[::1]/jwks",
    ] {
        assert!(!warn(local), "{local}");
    }
    let err = JwtSettings::from_options(&Options::new([("jwt_jwks_url", "ftp://x/jwks")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("auth_opt_jwt_jwks_url"), "{err}");
}
