//! The HTTP backend's TLS options: certificate verification, a private CA and a client
//! certificate for mutual TLS. The files are read and checked here, at start-up, so nothing
//! is read from disk while the broker runs.

use std::fmt;
use std::path::{Path, PathBuf};

use super::options::spec;
use crate::options::{ConfigError, Options, Value};
use crate::secret::Secret;

/// A client certificate and its key, as PEM (the key is a secret).
#[derive(Clone)]
pub(crate) struct ClientIdentity {
    pub(crate) cert_file: PathBuf,
    pub(crate) pem: Secret,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_file", &self.cert_file)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The checked TLS options.
pub(super) struct Tls {
    pub(super) verify_peer: bool,
    pub(super) ca_file: Option<(PathBuf, Vec<u8>)>,
    pub(super) client_identity: Option<ClientIdentity>,
}

impl Tls {
    /// Reads and checks `http_verify_peer`, `http_ca_file` and the client certificate and key.
    pub(super) fn from_options(options: &Options) -> Result<Tls, ConfigError> {
        let verify_peer = options.bool(&spec::VERIFY_PEER)?.unwrap_or(true);
        let ca_file = match options.get(&spec::CA_FILE) {
            None => None,
            Some(v) => Some(ca_file(&v)?),
        };
        let client_identity = match (
            options.get(&spec::CLIENT_CERT),
            options.get(&spec::CLIENT_KEY),
        ) {
            (None, None) => None,
            (Some(v), None) | (None, Some(v)) => {
                return Err(ConfigError::Other(format!(
                    "option {} needs both auth_opt_http_client_cert and auth_opt_http_client_key",
                    v.option()
                )))
            }
            (Some(c), Some(k)) => Some(client_identity(&c, &k)?),
        };
        Ok(Tls {
            verify_peer,
            ca_file,
            client_identity,
        })
    }
}

/// The CA file's path and contents, checked to hold at least one certificate.
fn ca_file(v: &Value<'_>) -> Result<(PathBuf, Vec<u8>), ConfigError> {
    let path = PathBuf::from(v.value.trim());
    let pem = read_file(v, &path)?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => {}
        _ => {
            return Err(v.invalid(
                "the file holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
            ))
        }
    }
    Ok((path, pem))
}

/// The client certificate `c` and key `k`, checked to load as one identity.
fn client_identity(c: &Value<'_>, k: &Value<'_>) -> Result<ClientIdentity, ConfigError> {
    let cert_path = PathBuf::from(c.value.trim());
    let key_path = PathBuf::from(k.value.trim());
    let mut pem = read_file(c, &cert_path)?;
    if !contains(&pem, b"-----BEGIN CERTIFICATE-----") {
        return Err(
            c.invalid("the file holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        );
    }
    let key = Secret::new(read_file(k, &key_path)?);
    if !contains(key.expose(), b"PRIVATE KEY-----") {
        return Err(k.invalid(
            "the file holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or a PKCS#1/SEC1 key)",
        ));
    }
    pem.push(b'\n');
    pem.extend_from_slice(key.expose());
    let pem = Secret::new(pem);
    if reqwest::Identity::from_pem(pem.expose()).is_err() {
        return Err(ConfigError::Other(format!(
            "option {} / {}: the certificate and key could not be loaded as a client identity",
            c.option(),
            k.option()
        )));
    }
    Ok(ClientIdentity {
        cert_file: cert_path,
        pem,
    })
}

fn read_file(v: &Value<'_>, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| v.invalid(format!("cannot read the file: {e}")))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
