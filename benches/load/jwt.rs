//! The JWT setups of the load harness: keys (an HMAC secret; EC P-256 and RSA 2048 made once
//! by `openssl`), and the users with a token as their password, each carrying the same rules as
//! the ACL file of the files setups in its `acl` claim.

use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

use crate::broker::Dir;
use crate::Users;

const SECRET: &str = "load-harness-hmac-secret-0123456789";

/// The signing algorithm of a JWT setup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Hs256,
    Es256,
    Rs256,
}

/// (private PKCS#8 PEM, public PEM) per asymmetric algorithm, made once.
fn pair(alg: Alg) -> &'static (Vec<u8>, Vec<u8>) {
    static ES: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    static RS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (cell, args): (_, &[&str]) = match alg {
        Alg::Es256 => (
            &ES,
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        _ => (
            &RS,
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        ),
    };
    cell.get_or_init(|| {
        let private = Command::new("openssl")
            .arg("genpkey")
            .args(args)
            .output()
            .expect("openssl is missing: apt-get install -y openssl");
        assert!(private.status.success(), "openssl genpkey failed");
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("key.pem");
        std::fs::write(&key, &private.stdout).expect("write key");
        let public = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .expect("openssl pkey");
        assert!(public.status.success(), "openssl pkey -pubout failed");
        (private.stdout, public.stdout)
    })
}

impl Alg {
    /// The plugin option that gives the broker the key.
    pub fn key_option(self) -> &'static str {
        match self {
            Alg::Hs256 => "plugin_opt_jwt_secret_file {dir}/jwt.key",
            _ => "plugin_opt_jwt_public_key_file {dir}/jwt.key",
        }
    }

    /// Writes the verification key into the broker's directory.
    pub fn write_key(self, dir: &Dir) {
        match self {
            Alg::Hs256 => dir.write("jwt.key", SECRET),
            _ => dir.write("jwt.key", &pair(self).1),
        };
    }

    fn signer(self) -> (Algorithm, EncodingKey) {
        match self {
            Alg::Hs256 => (
                Algorithm::HS256,
                EncodingKey::from_secret(SECRET.as_bytes()),
            ),
            Alg::Es256 => (
                Algorithm::ES256,
                EncodingKey::from_ec_pem(&pair(self).0).expect("EC key"),
            ),
            Alg::Rs256 => (
                Algorithm::RS256,
                EncodingKey::from_rsa_pem(&pair(self).0).expect("RSA key"),
            ),
        }
    }
}

/// `users` with a token as every password (valid for a day, the files setups' rules inside).
pub fn with_tokens(users: &Users, alg: Alg) -> Users {
    let (algorithm, key) = alg.signer();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 86_400;
    let session: serde_json::Value =
        serde_json::from_str(crate::http::SESSION).expect("the rules are JSON");
    let token = |u: &str| {
        let claims = serde_json::json!({"sub": u, "exp": exp, "acl": session["acl"]});
        encode(&Header::new(algorithm), &claims, &key).expect("sign")
    };
    let map = |list: &[(String, String)]| -> Vec<(String, String)> {
        list.iter().map(|(u, _)| (u.clone(), token(u))).collect()
    };
    Users {
        publishers: map(&users.publishers),
        subscribers: map(&users.subscribers),
        fanout: map(&users.fanout),
        connectors: map(&users.connectors),
        passwd: String::new(),
        acl: String::new(),
    }
}
