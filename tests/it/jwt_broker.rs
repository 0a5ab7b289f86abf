//! The JWT backend with the real broker: tokens minted here with keys made by `openssl`, every
//! algorithm family, each claim rule, the attacks, rules and expiry from the claims, the chain,
//! a JWKS service that rotates its keys and goes away.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::{
    accepted, mosquitto_passwd_line, not_authorised, pub_denied, wait_for, Broker, Dir, Mqtt,
    Proto, Reply, Server, Start, PROTOS,
};

const SECRET: &str = "jwt-test-secret-0123456789abcdef";

/// A little more than the plugin's least gap between key set fetches (2 s).
const JWKS_GAP: Duration = Duration::from_millis(2200);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A key pair made by openssl: (private PKCS#8 PEM, public SPKI PEM).
fn keypair(dir: &Dir, name: &str, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let private = dir.path().join(format!("{name}.key"));
    let public = dir.path().join(format!("{name}.pub"));
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl is missing: apt-get install -y openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let mut gen = vec!["genpkey"];
    gen.extend_from_slice(args);
    gen.extend_from_slice(&["-out", private.to_str().unwrap()]);
    run(&gen);
    run(&[
        "pkey",
        "-in",
        private.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    let chmod = |p: &std::path::Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
    };
    chmod(&private);
    chmod(&public);
    (
        std::fs::read(private).unwrap(),
        std::fs::read(public).unwrap(),
    )
}

const RSA: &[&str] = &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"];
const P256: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
const P384: &[&str] = &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"];
const ED25519: &[&str] = &["-algorithm", "ed25519"];

fn signer(alg: Algorithm, private: &[u8]) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(private),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(private).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(private).unwrap(),
        _ => EncodingKey::from_rsa_pem(private).unwrap(),
    }
}

fn mint(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: Value) -> String {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_string);
    encode(&h, &claims, key).unwrap()
}

fn claims(user: &str) -> Value {
    json!({"sub": user, "exp": now() + 300})
}

fn conf(extra: &str) -> String {
    format!(
        "allow_anonymous false\nplugin {{plugin}}\nplugin_opt_backends jwt\nplugin_opt_log_level debug\n{extra}\n"
    )
}

fn login(proto: Proto, port: u16, id: &str, user: &str, token: &str) -> bool {
    Mqtt::connect(proto, port, id, Some((user, token))).is_ok()
}

#[test]
fn every_algorithm_family_verifies_and_a_foreign_key_is_refused() {
    let dir = Dir::new();
    let cases: Vec<(Algorithm, &str, Vec<u8>, String)> = {
        let mut v = Vec::new();
        for (alg, gen, name) in [
            (Algorithm::RS256, RSA, "rsa"),
            (Algorithm::ES256, P256, "p256"),
            (Algorithm::ES384, P384, "p384"),
            (Algorithm::EdDSA, ED25519, "ed"),
        ] {
            let (private, public) = keypair(&dir, name, gen);
            dir.write(&format!("{name}.pem"), &public);
            v.push((
                alg,
                name,
                private,
                format!("plugin_opt_jwt_public_key_file {{dir}}/{name}.pem"),
            ));
        }
        dir.write("secret", format!("{SECRET}\n"));
        v.push((
            Algorithm::HS256,
            "hs",
            SECRET.as_bytes().to_vec(),
            "plugin_opt_jwt_secret_file {dir}/secret".into(),
        ));
        v
    };
    let (other_rsa, _) = keypair(&dir, "other", RSA);
    for (alg, name, private, line) in &cases {
        let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        let d = Dir::new();
        for (n, c) in &files {
            d.write(n, c);
        }
        let b = Broker::start_in(d, &conf(line), Start::default());
        let key = signer(*alg, private);
        let mut algs = vec![*alg];
        if *alg == Algorithm::RS256 {
            algs.extend([Algorithm::RS512, Algorithm::PS256, Algorithm::PS384]);
        }
        if *alg == Algorithm::HS256 {
            algs.extend([Algorithm::HS384, Algorithm::HS512]);
        }
        for a in algs {
            let t = mint(a, &key, None, claims("alice"));
            assert!(login(Proto::V5, b.port, "c", "alice", &t), "{name} {a:?}");
        }
        let foreign = mint(
            Algorithm::RS256,
            &signer(Algorithm::RS256, &other_rsa),
            None,
            claims("alice"),
        );
        assert!(
            !login(Proto::V311, b.port, "c", "alice", &foreign),
            "{name}: foreign key"
        );
        assert!(b.log().contains("refused"), "{name}");
    }
}

#[test]
fn claims_and_attacks_are_refused_with_one_line_each() {
    let dir = Dir::new();
    let (_, public) = keypair(&dir, "rsa", RSA);
    let d = Dir::new();
    d.write("rsa.pem", &public);
    d.write("secret", SECRET);
    let b = Broker::start_in(
        d,
        &conf("plugin_opt_jwt_secret_file {dir}/secret\nplugin_opt_jwt_public_key_file {dir}/rsa.pem\nplugin_opt_jwt_issuer https://idp\nplugin_opt_jwt_audience mqtt\nplugin_opt_jwt_clientid_claim cid"),
        Start::default(),
    );
    let hs = EncodingKey::from_secret(SECRET.as_bytes());
    let good = json!({"sub": "alice", "exp": now() + 300, "iss": "https://idp", "aud": "mqtt", "cid": "dev1"});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        mint(Algorithm::HS256, &hs, None, c)
    };
    for proto in PROTOS {
        assert!(login(proto, b.port, "dev1", "alice", &with("x", json!(1))));
        let b64 = |v: Value| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let none = format!("{}.{}.", b64(json!({"alg": "none"})), b64(good.clone()));
        // HMAC keyed with the RSA public key: the classic key confusion.
        let confused = mint(
            Algorithm::HS256,
            &EncodingKey::from_secret(&public),
            None,
            good.clone(),
        );
        for (token, user, id, why) in [
            (
                with("exp", json!(now() - 600)),
                "alice",
                "dev1",
                "expired (exp)",
            ),
            (
                with("nbf", json!(now() + 600)),
                "alice",
                "dev1",
                "not valid yet (nbf)",
            ),
            (
                with("iss", json!("https://evil")),
                "alice",
                "dev1",
                "wrong issuer (iss)",
            ),
            (
                with("aud", json!("web")),
                "alice",
                "dev1",
                "wrong audience (aud)",
            ),
            (with("x", json!(1)), "bob", "dev1", "not the MQTT username"),
            (
                with("x", json!(1)),
                "alice",
                "dev2",
                "does not match the client id",
            ),
            (none, "alice", "dev1", "malformed header"),
            (confused, "alice", "dev1", "bad signature"),
            (
                format!("{}.{}", "A".repeat(9000), "b.c"),
                "alice",
                "dev1",
                "longer than",
            ),
        ] {
            let err = Mqtt::connect(proto, b.port, id, Some((user, &token))).err();
            assert_eq!(err, Some(not_authorised(proto)), "{why}");
            wait_for(|| b.log().contains(why), why);
            assert!(
                !b.log().contains(&token[..40.min(token.len())]),
                "the token is never logged"
            );
        }
    }
}

#[test]
fn rules_and_expiry_come_from_the_claims() {
    let d = Dir::new();
    d.write("secret", SECRET);
    let b = Broker::start_in(
        d,
        &conf("plugin_opt_jwt_secret_file {dir}/secret\nplugin_opt_jwt_leeway_seconds 0"),
        Start::default(),
    );
    let hs = EncodingKey::from_secret(SECRET.as_bytes());
    for proto in PROTOS {
        let exp = now() + 3;
        let t = mint(
            Algorithm::HS256,
            &hs,
            None,
            json!({"sub": "alice", "exp": exp, "acl": [
                {"permission": "allow", "action": "publish", "topic": "dev/${username}/#"},
                {"permission": "allow", "action": "subscribe", "topic": "cmd/${clientid}"}
            ]}),
        );
        let c = Mqtt::ok(proto, b.port, "d1", Some(("alice", &t)));
        assert!(accepted(c.publish("dev/alice/t", "1")));
        if proto == Proto::V5 {
            assert_eq!(c.publish("dev/bob/t", "1"), pub_denied(proto));
        }
        assert_eq!(c.subscribe("cmd/d1"), 1);
        assert!(
            c.closed(Duration::from_secs(10)),
            "{proto:?}: still connected after exp"
        );
        assert!(now() >= exp);
        wait_for(
            || {
                b.log()
                    .contains("disconnecting client 'd1' (user 'alice'): its session expired")
            },
            "the expiry line",
        );
    }
}

#[test]
fn jwt_in_a_chain_defers_passwords_that_are_not_tokens() {
    let hs = EncodingKey::from_secret(SECRET.as_bytes());
    let token = mint(Algorithm::HS256, &hs, None, claims("alice"));
    for order in ["jwt,files", "files,jwt"] {
        let body = format!(
            "allow_anonymous false\nplugin {{plugin}}\nplugin_opt_backends {order}\nplugin_opt_jwt_secret {SECRET}\nplugin_opt_password_file {{dir}}/passwd\n"
        );
        let b = Broker::start(
            &body,
            &[("passwd", &(mosquitto_passwd_line("bob", "bob-pw") + "\n"))],
        );
        assert!(login(Proto::V5, b.port, "a", "alice", &token), "{order}");
        assert!(login(Proto::V5, b.port, "b", "bob", "bob-pw"), "{order}");
        assert!(!login(Proto::V5, b.port, "c", "bob", "wrong"), "{order}");
        assert!(!b.log().contains(SECRET), "the secret is never logged");
    }
}

#[test]
fn go_auth_convention_token_in_the_username() {
    let hs = EncodingKey::from_secret(SECRET.as_bytes());
    let b = Broker::start(&conf(&format!("plugin_opt_jwt_mode local\nplugin_opt_jwt_secret {SECRET}\nplugin_opt_jwt_userfield Username")), &[]);
    let token = mint(
        Algorithm::HS256,
        &hs,
        None,
        json!({"username": "alice", "exp": now() + 300,
        "acl": [{"permission": "allow", "action": "all", "topic": "u/${username}/#"}]}),
    );
    let c = Mqtt::ok(Proto::V5, b.port, "g", Some((&token, "anything")));
    assert!(accepted(c.publish("u/alice/x", "1")));
    assert_eq!(c.publish("u/bob/x", "1"), pub_denied(Proto::V5));
}

/// A JWKS document for RSA public keys, from openssl's modulus.
fn rsa_jwk(dir: &Dir, name: &str, kid: &str) -> Value {
    let out = Command::new("openssl")
        .args([
            "pkey",
            "-pubin",
            "-in",
            dir.path().join(format!("{name}.pub")).to_str().unwrap(),
            "-noout",
            "-text",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let hex: String = text
        .split("Modulus:")
        .nth(1)
        .unwrap()
        .split("Exponent")
        .next()
        .unwrap()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    let mut bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    while bytes.first() == Some(&0) {
        bytes.remove(0);
    }
    use base64::Engine;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"})
}

#[test]
fn jwks_rotation_without_restart_and_a_service_that_goes_away() {
    let dir = Dir::new();
    let (k1, _) = keypair(&dir, "k1", RSA);
    let (k2, _) = keypair(&dir, "k2", RSA);
    let doc = Arc::new(Mutex::new(json!({"keys": [rsa_jwk(&dir, "k1", "k1")]})));
    let d2 = doc.clone();
    let server = Server::start(move |_| Reply::body(200, d2.lock().unwrap().to_string()));
    let b = Broker::start(
        &conf(&format!("plugin_opt_jwt_jwks_url http://127.0.0.1:{}/jwks\nplugin_opt_jwt_jwks_refresh_seconds 10", server.addr.port())),
        &[],
    );
    let t1 = mint(
        Algorithm::RS256,
        &signer(Algorithm::RS256, &k1),
        Some("k1"),
        claims("alice"),
    );
    let t2 = mint(
        Algorithm::RS256,
        &signer(Algorithm::RS256, &k2),
        Some("k2"),
        claims("alice"),
    );
    assert!(login(Proto::V5, b.port, "a", "alice", &t1));
    // Rotation: k2 added, k1 removed; a token with the new kid makes the plugin fetch again.
    *doc.lock().unwrap() = json!({"keys": [rsa_jwk(&dir, "k2", "k2")]});
    std::thread::sleep(JWKS_GAP);
    assert!(
        login(Proto::V5, b.port, "b", "alice", &t2),
        "new kid accepted without restart"
    );
    assert!(
        !login(Proto::V5, b.port, "c", "alice", &t1),
        "the removed key no longer verifies"
    );
    // The service goes away: the last good set stays.
    drop(server);
    std::thread::sleep(JWKS_GAP);
    assert!(login(Proto::V5, b.port, "d", "alice", &t2));
    assert!(!login(Proto::V5, b.port, "e", "alice", &t1));
    wait_for(
        || b.log().contains("cannot fetch the key set"),
        "the fetch failure line",
    );
}

/// `mosq-auth token` mints a token the broker accepts, and `--verify` says why one is refused.
#[test]
fn the_token_command_mints_and_verifies() {
    let d = Dir::new();
    d.write("secret", format!("{SECRET}\n"));
    let conf_text = conf("plugin_opt_jwt_secret_file {dir}/secret")
        .replace("{plugin}", "/usr/lib/mosquitto-auth/libmosq_auth.so")
        .replace("{dir}", d.path().to_str().unwrap());
    let conf_path = d.write("mosquitto.conf", &conf_text);
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mosq-auth"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    let secret = d.path().join("secret");
    let secret = secret.to_str().unwrap();
    let acl = r#"[{"permission": "allow", "action": "publish", "topic": "t/${username}"}]"#;
    let (code, token) = cli(&[
        "token",
        "--alg",
        "HS256",
        "--secret-file",
        secret,
        "--sub",
        "alice",
        "--acl",
        acl,
    ]);
    assert_eq!(code, 0, "{token}");
    let c = conf_path.to_str().unwrap();
    let (code, out) = cli(&["token", "--verify", "-c", c, "-u", "alice", &token]);
    assert_eq!(
        (code, out.starts_with("valid: user 'alice'")),
        (0, true),
        "{out}"
    );
    assert!(out.contains("1 rules"), "{out}");
    let (code, out) = cli(&["token", "--verify", "-c", c, "-u", "bob", &token]);
    assert_eq!(code, 1);
    assert!(out.contains("not the MQTT username"), "{out}");
    let (_, old) = cli(&[
        "token",
        "--alg",
        "HS256",
        "--secret-file",
        secret,
        "--sub",
        "alice",
        "--claim",
        "exp=1000",
    ]);
    let (code, out) = cli(&["token", "--verify", "-c", c, &old]);
    assert_eq!((code, out.as_str()), (1, "refused: expired (exp)"));
    let b = Broker::start_in(
        d,
        &conf("plugin_opt_jwt_secret_file {dir}/secret"),
        Start::default(),
    );
    let client = Mqtt::ok(Proto::V5, b.port, "cli", Some(("alice", &token)));
    assert!(accepted(client.publish("t/alice", "1")));
    assert_eq!(client.publish("t/bob", "1"), pub_denied(Proto::V5));
}

#[test]
fn an_unreachable_jwks_url_at_start_is_a_warning_not_a_failure() {
    let port = crate::support::free_port();
    let b = Broker::start(
        &conf(&format!(
            "plugin_opt_jwt_jwks_url http://127.0.0.1:{port}/jwks"
        )),
        &[],
    );
    assert!(b.log().contains("cannot fetch the key set"), "{}", b.log());
    let hs = EncodingKey::from_secret(SECRET.as_bytes());
    let t = mint(Algorithm::HS256, &hs, Some("k"), claims("alice"));
    assert!(
        !login(Proto::V5, b.port, "a", "alice", &t),
        "no key: refused"
    );
}
