//! The JWT backend's options, read and checked once: keys loaded, algorithms decided.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::keys::{self, KeySet};
use super::options::spec;
use crate::options::{ConfigError, Options};

/// Where a client puts its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFrom {
    /// The MQTT password; the username must equal the username claim.
    Password,
    /// The MQTT username (go-auth); the username claim names the user.
    Username,
}

/// The JWT backend's validated settings.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// The keys from the secret, the PEM file and the JWKS file (the JWKS URL's come later).
    pub keys: KeySet,
    /// A JWKS document to fetch, and how often.
    pub jwks_url: Option<(reqwest::Url, Duration)>,
    /// The algorithms accepted (`None`: every one the keys fit).
    pub algorithms: Option<Vec<Algorithm>>,
    /// Where the token is.
    pub token_from: TokenFrom,
    /// The claim holding the username.
    pub username_claim: String,
    /// A claim the client id must equal.
    pub clientid_claim: Option<String>,
    /// A boolean claim that makes a superuser.
    pub superuser_claim: Option<String>,
    /// The `iss` required.
    pub issuer: Option<String>,
    /// An `aud` required.
    pub audience: Option<String>,
    /// Clock skew allowed, seconds.
    pub leeway: u64,
    /// A token without `exp` is refused.
    pub require_exp: bool,
    /// Warnings for the log (keys left out of a JWKS, plain http).
    pub warnings: Vec<String>,
}

fn read_file(option: &str, path: &std::path::Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| {
        ConfigError::Other(format!(
            "option auth_opt_{option}: cannot read {}: {e}",
            path.display()
        ))
    })
}

impl JwtSettings {
    /// Reads the JWT options; keys and files are loaded now, so a bad one stops the broker.
    pub fn from_options(options: &Options) -> Result<JwtSettings, ConfigError> {
        let mut keys = KeySet::default();
        let mut warnings = Vec::new();
        if let Some(v) = options.get(&spec::SECRET) {
            if v.value.is_empty() {
                return Err(v.invalid("expected a non-empty secret"));
            }
            keys.keys.push(KeySet::secret(v.value.as_bytes()));
        }
        if let Some(path) = options.path(&spec::SECRET_FILE) {
            let mut bytes = read_file(spec::SECRET_FILE.name, &path)?;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            if bytes.is_empty() {
                return Err(ConfigError::Other(format!(
                    "option auth_opt_jwt_secret_file: {} is empty",
                    path.display()
                )));
            }
            keys.keys.push(KeySet::secret(&bytes));
        }
        if let Some(path) = options.path(&spec::PUBLIC_KEY_FILE) {
            let pem = read_file(spec::PUBLIC_KEY_FILE.name, &path)?;
            let key = KeySet::pem(&pem).map_err(|e| {
                ConfigError::Other(format!(
                    "option auth_opt_jwt_public_key_file: {}: {e}",
                    path.display()
                ))
            })?;
            keys.keys.push(key);
        }
        if let Some(path) = options.path(&spec::JWKS_FILE) {
            let text = read_file(spec::JWKS_FILE.name, &path)?;
            let (set, w) = KeySet::jwks(&text).map_err(|e| {
                ConfigError::Other(format!(
                    "option auth_opt_jwt_jwks_file: {}: {e}",
                    path.display()
                ))
            })?;
            if set.keys.is_empty() {
                return Err(ConfigError::Other(format!(
                    "option auth_opt_jwt_jwks_file: {} has no usable signing key",
                    path.display()
                )));
            }
            warnings.extend(
                w.into_iter()
                    .map(|w| format!("jwt: {}: {w}", path.display())),
            );
            keys.keys.extend(set.keys);
        }
        let jwks_url = match options.get(&spec::JWKS_URL) {
            None => None,
            Some(v) => {
                let url = v.parse_with("expected an http:// or https:// URL", |s| {
                    reqwest::Url::parse(s)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                })?;
                let loopback = url
                    .host_str()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                    .is_some_and(|h| {
                        h.eq_ignore_ascii_case("localhost")
                            || h.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
                    });
                if url.scheme() == "http" && !loopback {
                    warnings.push(format!(
                        "jwt: auth_opt_jwt_jwks_url {url} is plain http: anyone on the network path can hand the broker their own keys; use https"
                    ));
                }
                let every = options
                    .seconds(
                        &spec::JWKS_REFRESH,
                        Duration::from_secs(10),
                        Duration::from_secs(86_400),
                    )?
                    .unwrap_or(Duration::from_secs(300));
                Some((url, every))
            }
        };
        if keys.keys.is_empty() && jwks_url.is_none() {
            return Err(ConfigError::Missing {
                option: "auth_opt_jwt_secret_file".into(),
                why: "the jwt backend needs a key: auth_opt_jwt_secret(_file), auth_opt_jwt_public_key_file, auth_opt_jwt_jwks_file or auth_opt_jwt_jwks_url".into(),
            });
        }
        let algorithms = match options.get(&spec::ALGORITHMS) {
            None => None,
            Some(v) => {
                let mut list = Vec::new();
                for name in crate::options::split_list(v.value) {
                    match keys::algorithm(&name) {
                        Some(a) => list.push(a),
                        None => return Err(v.invalid(format!(
                            "unknown or refused algorithm '{name}': expected HS256/384/512, RS256/384/512, PS256/384/512, ES256, ES384, EdDSA"
                        ))),
                    }
                }
                if list.is_empty() {
                    return Err(v.invalid("expected a comma-separated list of algorithms"));
                }
                Some(list)
            }
        };
        if let (Some(list), false) = (&algorithms, keys.keys.is_empty() || jwks_url.is_some()) {
            let usable = keys.algorithms();
            if !list.iter().any(|a| usable.contains(a)) {
                return Err(ConfigError::Other(format!(
                    "option auth_opt_jwt_algorithms: none of {list:?} fits the configured keys (they allow {usable:?})"
                )));
            }
        }
        let go_auth_mode = match options.get(&spec::MODE) {
            None => false,
            Some(v) => v.parse_with(
                "expected local (remote, js and files: use the http or files backend)",
                |s| s.eq_ignore_ascii_case("local").then_some(true),
            )?,
        };
        let userfield = match options.get(&spec::USERFIELD) {
            None => None,
            Some(v) => Some(v.parse_with("expected Username or Subject", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "username" => Some("username"),
                    "subject" | "sub" => Some("sub"),
                    _ => None,
                }
            })?),
        };
        let token_from = match options.get(&spec::TOKEN_FROM) {
            Some(v) => v.parse_with("expected password or username", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "password" => Some(TokenFrom::Password),
                    "username" => Some(TokenFrom::Username),
                    _ => None,
                }
            })?,
            None if go_auth_mode || userfield.is_some() => TokenFrom::Username,
            None => TokenFrom::Password,
        };
        let username_claim = options
            .string(&spec::USERNAME_CLAIM)
            .or(userfield.map(str::to_string))
            .unwrap_or_else(|| "sub".into());
        let leeway = options.u64_in(&spec::LEEWAY, 0, 3600)?.unwrap_or(30);
        let require_exp = options.bool(&spec::REQUIRE_EXP)?.unwrap_or(true);
        Ok(JwtSettings {
            keys,
            jwks_url,
            algorithms,
            token_from,
            username_claim,
            clientid_claim: options.string(&spec::CLIENTID_CLAIM),
            superuser_claim: options.string(&spec::SUPERUSER_CLAIM),
            issuer: options.string(&spec::ISSUER),
            audience: options.string(&spec::AUDIENCE),
            leeway,
            require_exp,
            warnings,
        })
    }
}
