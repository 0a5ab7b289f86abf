/*!
The HTTP backend's options and their validation.

Every check a value needs happens in [`HttpSettings::from_options`], so a wrong value stops the
broker at start-up with a message naming the option, the value (never for secrets) and what is
allowed. The settings hold file contents (CA, client certificate) already read, so nothing is
read from disk while the broker runs.
*/

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::options::{ConfigError, Dialect, OptSpec, Options, Value};
use crate::secret::Secret;

/// Option specs of the HTTP backend.
pub mod spec {
    use crate::options::OptSpec;

    /// `http_url`
    pub const URL: OptSpec = OptSpec {
        name: "http_url",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "Base URL of the auth service, e.g. `https://auth:8443/mqtt`: a shorter alternative to `http_host` + `http_port` + `http_with_tls`. The `*_uri` paths are appended to its path.",
        secret: false,
    };
    /// `http_host`
    pub const HOST: OptSpec = OptSpec {
        name: "http_host",
        auth_plug: &["http_hostname"],
        go_auth: &["http_host"],
        default: "(required unless `http_url`)",
        doc: "Host name or IP address of the auth service. Written as `http_hostname` (auth-plug) it selects the auth-plug defaults (form bodies, Basic auth); as `http_host` the go-auth defaults (JSON bodies).",
        secret: false,
    };
    /// `http_ip`
    pub const IP: OptSpec = OptSpec {
        name: "http_ip",
        auth_plug: &["http_ip"],
        go_auth: &[],
        default: "(none)",
        doc: "auth-plug: IP address to connect to. With `http_hostname` as well, the connection goes to this address while the URL, `Host:` header and TLS name use `http_hostname`. Selects the auth-plug defaults.",
        secret: false,
    };
    /// `http_port`
    pub const PORT: OptSpec = OptSpec {
        name: "http_port",
        auth_plug: &["http_port"],
        go_auth: &["http_port"],
        default: "`80` (`443` with TLS)",
        doc: "TCP port of the auth service.",
        secret: false,
    };
    /// `http_getuser_uri`
    pub const GETUSER_URI: OptSpec = OptSpec {
        name: "http_getuser_uri",
        auth_plug: &["http_getuser_uri"],
        go_auth: &["http_getuser_uri"],
        default: "(required)",
        doc: "Path asked to check a username and password at CONNECT (e.g. `/auth`).",
        secret: false,
    };
    /// `http_superuser_uri`
    pub const SUPERUSER_URI: OptSpec = OptSpec {
        name: "http_superuser_uri",
        auth_plug: &["http_superuser_uri"],
        go_auth: &["http_superuser_uri"],
        default: "(none: nobody is a superuser here)",
        doc: "Path asked whether a user is a superuser (e.g. `/superuser`). Without it no superuser request is made.",
        secret: false,
    };
    /// `http_aclcheck_uri`
    pub const ACLCHECK_URI: OptSpec = OptSpec {
        name: "http_aclcheck_uri",
        auth_plug: &["http_aclcheck_uri"],
        go_auth: &["http_aclcheck_uri"],
        default: "(required)",
        doc: "Path asked for each ACL check (e.g. `/acl`); `acc` is 1 read, 2 write, 4 subscribe. Unsubscribe is always allowed without a request.",
        secret: false,
    };
    /// `http_with_tls`
    pub const WITH_TLS: OptSpec = OptSpec {
        name: "http_with_tls",
        auth_plug: &["http_with_tls"],
        go_auth: &["http_with_tls"],
        default: "`false`",
        doc: "`true`: use https.",
        secret: false,
    };
    /// `http_verify_peer`
    pub const VERIFY_PEER: OptSpec = OptSpec {
        name: "http_verify_peer",
        auth_plug: &[],
        go_auth: &["http_verify_peer"],
        default: "`true`",
        doc: "Verify the service's TLS certificate and name. Unlike go-auth (which defaulted to not verifying) this is on unless set to `false`, which logs a warning at start-up.",
        secret: false,
    };
    /// `http_ca_file`
    pub const CA_FILE: OptSpec = OptSpec {
        name: "http_ca_file",
        auth_plug: &[],
        go_auth: &[],
        default: "(public roots only)",
        doc: "PEM file with the CA certificate(s) of a private CA that signed the service's certificate (trusted in addition to the built-in public roots).",
        secret: false,
    };
    /// `http_client_cert`
    pub const CLIENT_CERT: OptSpec = OptSpec {
        name: "http_client_cert",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "PEM client certificate (chain) for mutual TLS; needs `http_client_key`.",
        secret: false,
    };
    /// `http_client_key`
    pub const CLIENT_KEY: OptSpec = OptSpec {
        name: "http_client_key",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "PEM private key (PKCS#8, PKCS#1 or SEC1) of `http_client_cert`.",
        secret: false,
    };
    /// `http_params_mode`
    pub const PARAMS_MODE: OptSpec = OptSpec {
        name: "http_params_mode",
        auth_plug: &[],
        go_auth: &["http_params_mode"],
        default: "`form` with auth-plug names, else `json`",
        doc: "Request body: `form` (auth-plug's fields `username, password, topic, acc, clientid`, every value percent-encoded) or `json` (go-auth's fields). Overrides the default chosen by the option names.",
        secret: false,
    };
    /// `http_response_mode`
    pub const RESPONSE_MODE: OptSpec = OptSpec {
        name: "http_response_mode",
        auth_plug: &[],
        go_auth: &["http_response_mode"],
        default: "`status`",
        doc: "How an answer is read. `status`: 2xx allow, 4xx deny. `text`: 2xx with body `ok` allows, other 2xx and 4xx deny. `json`: `{\"ok\": bool}` or `{\"result\": \"allow\"}` (or `\"deny\"`, or `\"ignore\"` = ask the next backend). Always: 5xx, timeouts and unreadable answers are errors (fail closed, never cached).",
        secret: false,
    };
    /// `http_method`
    pub const METHOD: OptSpec = OptSpec {
        name: "http_method",
        auth_plug: &[],
        go_auth: &["http_method"],
        default: "`POST`",
        doc: "`POST`, `PUT` or `GET`. GET sends the fields as a query string, password included, where access logs may record it: prefer POST.",
        secret: false,
    };
    /// `http_timeout`
    pub const TIMEOUT: OptSpec = OptSpec {
        name: "http_timeout",
        auth_plug: &[],
        go_auth: &["http_timeout"],
        default: "`5`",
        doc: "Seconds one check may take in total, retries included (auth-plug: fixed 10 s per try). The broker waits this long at most.",
        secret: false,
    };
    /// `http_connect_timeout`
    pub const CONNECT_TIMEOUT: OptSpec = OptSpec {
        name: "http_connect_timeout",
        auth_plug: &[],
        go_auth: &[],
        default: "`2` (at most `http_timeout`)",
        doc: "Seconds allowed to open a connection (TCP and TLS).",
        secret: false,
    };
    /// `http_retry_count`
    pub const RETRY_COUNT: OptSpec = OptSpec {
        name: "http_retry_count",
        auth_plug: &["http_retry_count"],
        go_auth: &[],
        default: "`0`",
        doc: "Extra tries after a transport error or 5xx, all within `http_timeout` (auth-plug's default was 3 tries of 10 s each).",
        secret: false,
    };
    /// `http_user_agent`
    pub const USER_AGENT: OptSpec = OptSpec {
        name: "http_user_agent",
        auth_plug: &[],
        go_auth: &["http_user_agent"],
        default: "`mosquitto-mosq-auth/<version>`; none with auth-plug names",
        doc: "`User-Agent` header of every request.",
        secret: false,
    };
    /// `http_basic_auth_key`
    pub const BASIC_AUTH_KEY: OptSpec = OptSpec {
        name: "http_basic_auth_key",
        auth_plug: &["http_basic_auth_key"],
        go_auth: &[],
        default: "(none)",
        doc: "Sends `Authorization: Basic <key>` (key = base64 of `user:password` for the service) on every request, instead of auth-plug's Basic auth with the MQTT credentials.",
        secret: true,
    };
    /// `http_headers`
    pub const HEADERS: OptSpec = OptSpec {
        name: "http_headers",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "Extra request headers: `Name: value` items separated by a vertical bar (`\\|`), e.g. `X-Api-Key: abc \\| X-Site: eu`. Values are never logged.",
        secret: true,
    };
    /// `http_getuser_params`
    pub const GETUSER_PARAMS: OptSpec = OptSpec {
        name: "http_getuser_params",
        auth_plug: &["http_getuser_params"],
        go_auth: &[],
        default: "(none)",
        doc: "auth-plug: `key=ENVVAR,...`: extra fields for the getuser request, each the value of an environment variable read at start-up (form: prepended `key=value&`; JSON: string fields).",
        secret: false,
    };
    /// `http_superuser_params`
    pub const SUPERUSER_PARAMS: OptSpec = OptSpec {
        name: "http_superuser_params",
        auth_plug: &["http_superuser_params"],
        go_auth: &[],
        default: "(none)",
        doc: "Like `http_getuser_params`, for the superuser request.",
        secret: false,
    };
    /// `http_aclcheck_params`
    pub const ACLCHECK_PARAMS: OptSpec = OptSpec {
        name: "http_aclcheck_params",
        auth_plug: &["http_aclcheck_params"],
        go_auth: &[],
        default: "(none)",
        doc: "Like `http_getuser_params`, for the ACL request.",
        secret: false,
    };
    /// `http_failure_threshold`
    pub const FAILURE_THRESHOLD: OptSpec = OptSpec {
        name: "http_failure_threshold",
        auth_plug: &[],
        go_auth: &[],
        default: "`3`",
        doc: "After this many failed checks in a row the service is considered down: checks fail at once (no request) for `http_cooldown`, then one probe request is let through. `0` turns this off.",
        secret: false,
    };
    /// `http_cooldown`
    pub const COOLDOWN: OptSpec = OptSpec {
        name: "http_cooldown",
        auth_plug: &[],
        go_auth: &[],
        default: "`5`",
        doc: "Seconds checks fail fast after `http_failure_threshold` failures, before a probe request.",
        secret: false,
    };
}

/// Every option of the HTTP backend, in README order.
pub const OPTIONS: &[&OptSpec] = &[
    &spec::URL,
    &spec::HOST,
    &spec::IP,
    &spec::PORT,
    &spec::WITH_TLS,
    &spec::GETUSER_URI,
    &spec::SUPERUSER_URI,
    &spec::ACLCHECK_URI,
    &spec::PARAMS_MODE,
    &spec::RESPONSE_MODE,
    &spec::METHOD,
    &spec::TIMEOUT,
    &spec::CONNECT_TIMEOUT,
    &spec::RETRY_COUNT,
    &spec::VERIFY_PEER,
    &spec::CA_FILE,
    &spec::CLIENT_CERT,
    &spec::CLIENT_KEY,
    &spec::USER_AGENT,
    &spec::BASIC_AUTH_KEY,
    &spec::HEADERS,
    &spec::GETUSER_PARAMS,
    &spec::SUPERUSER_PARAMS,
    &spec::ACLCHECK_PARAMS,
    &spec::FAILURE_THRESHOLD,
    &spec::COOLDOWN,
];

/// Which plugin's behaviour the defaults follow (see the module documentation of
/// [`crate::backend::http`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// The host was given as `http_hostname` or `http_ip`: auth-plug's form bodies and
    /// preemptive Basic auth with the MQTT credentials, no `User-Agent`.
    AuthPlug,
    /// The host was given as `http_host` or `http_url`: go-auth's JSON bodies and a
    /// `User-Agent`.
    GoAuth,
}

/// How request fields are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsMode {
    /// `application/x-www-form-urlencoded`, auth-plug's five fields.
    Form,
    /// `application/json`, go-auth's field sets.
    Json,
}

/// How a response is turned into a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// Status code only.
    Status,
    /// 2xx and a body of `ok`.
    Text,
    /// A JSON object with `ok` or `result`.
    Json,
}

/// The HTTP method of every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Fields in the query string.
    Get,
    /// Fields in the body.
    Post,
    /// Fields in the body.
    Put,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// A value from the environment or a header value: may be a token, so never shown.
#[derive(Clone)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) value: Secret,
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=<redacted>", self.name)
    }
}

/// The HTTP backend's validated settings. `Debug` shows no secret (no Basic auth key, header
/// value, environment value or private key).
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub(crate) getuser_url: Url,
    pub(crate) superuser_url: Option<Url>,
    pub(crate) aclcheck_url: Url,
    /// Connect to this address for this host name (auth-plug's `http_ip` + `http_hostname`).
    pub(crate) resolve: Option<(String, SocketAddr)>,
    pub(crate) profile: Profile,
    pub(crate) params_mode: ParamsMode,
    pub(crate) response_mode: ResponseMode,
    pub(crate) method: Method,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry_count: u32,
    pub(crate) verify_peer: bool,
    pub(crate) ca_file: Option<(PathBuf, Vec<u8>)>,
    pub(crate) client_identity: Option<ClientIdentity>,
    pub(crate) user_agent: Option<String>,
    pub(crate) basic_auth_key: Option<Secret>,
    pub(crate) headers: Vec<Field>,
    pub(crate) getuser_params: Vec<Field>,
    pub(crate) superuser_params: Vec<Field>,
    pub(crate) aclcheck_params: Vec<Field>,
    pub(crate) failure_threshold: u32,
    pub(crate) cooldown: Duration,
}

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

/// The default `User-Agent` with go-auth-style names (go-auth sent `mosquitto-<version>`).
pub const DEFAULT_USER_AGENT: &str = concat!("mosquitto-mosq-auth/", env!("CARGO_PKG_VERSION"));

/// The longest a check may be allowed to take.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

impl HttpSettings {
    /// Reads and checks the HTTP options.
    pub fn from_options(options: &Options) -> Result<HttpSettings, ConfigError> {
        let url_value = options.get(&spec::URL);
        let host_value = options.get(&spec::HOST);
        let ip_value = options.get(&spec::IP);
        let port_value = options.get(&spec::PORT);
        let tls_value = options.get(&spec::WITH_TLS);

        let profile = match (&host_value, &ip_value) {
            (_, Some(_)) => Profile::AuthPlug,
            (Some(v), None) if v.dialect == Dialect::AuthPlug => Profile::AuthPlug,
            _ => Profile::GoAuth,
        };

        let mut resolve = None;
        let base: Url = if let Some(u) = url_value {
            if let Some(other) = host_value.as_ref().or(ip_value.as_ref()) {
                return Err(ConfigError::Other(format!(
                    "options auth_opt_{} and {} both say where the service is: use one of them",
                    spec::URL.name,
                    other.option()
                )));
            }
            if let Some(v) = port_value.as_ref().or(tls_value.as_ref()) {
                return Err(ConfigError::Other(format!(
                    "option {} cannot be combined with auth_opt_{}: put the scheme and port in the URL",
                    v.option(),
                    spec::URL.name
                )));
            }
            parse_base_url(&u)?
        } else {
            let with_tls = options.bool(&spec::WITH_TLS)?.unwrap_or(false);
            let port = options.u64_in(&spec::PORT, 1, 65535)?;
            let port = port.unwrap_or(if with_tls { 443 } else { 80 }) as u16;
            let scheme = if with_tls { "https" } else { "http" };
            let host = host_value
                .map(|v| (v, v.value.trim()))
                .filter(|(_, h)| !h.is_empty());
            let ip = ip_value
                .map(|v| (v, v.value.trim()))
                .filter(|(_, h)| !h.is_empty());
            let url_host = match (host, ip) {
                (None, None) => {
                    return Err(ConfigError::Missing {
                        option: format!("auth_opt_{}", spec::HOST.name),
                        why: "say where the auth service is: auth_opt_http_host (or auth-plug's http_hostname / http_ip), or auth_opt_http_url".into(),
                    })
                }
                (Some((v, h)), None) => {
                    check_host(&v, h)?;
                    h.to_string()
                }
                (host, Some((v, ip))) => {
                    let addr: IpAddr = v.parse_with("expected an IP address", |s| s.parse().ok())?;
                    match host {
                        Some((hv, h)) => {
                            check_host(&hv, h)?;
                            resolve = Some((h.to_string(), SocketAddr::new(addr, port)));
                            h.to_string()
                        }
                        None => ip.to_string(),
                    }
                }
            };
            let url_host = if url_host.contains(':') && !url_host.starts_with('[') {
                format!("[{url_host}]")
            } else {
                url_host
            };
            let text = format!("{scheme}://{url_host}:{port}/");
            Url::parse(&text).map_err(|e| {
                ConfigError::Other(format!(
                    "the service address {text} is not a valid URL ({e}): check auth_opt_http_host and auth_opt_http_port"
                ))
            })?
        };

        let getuser_url =
            join_uri(&base, options, &spec::GETUSER_URI)?.ok_or_else(|| ConfigError::Missing {
                option: format!("auth_opt_{}", spec::GETUSER_URI.name),
                why: "the path asked to check passwords, e.g. /auth".into(),
            })?;
        let superuser_url = join_uri(&base, options, &spec::SUPERUSER_URI)?;
        let aclcheck_url =
            join_uri(&base, options, &spec::ACLCHECK_URI)?.ok_or_else(|| ConfigError::Missing {
                option: format!("auth_opt_{}", spec::ACLCHECK_URI.name),
                why: "the path asked for ACL checks, e.g. /acl".into(),
            })?;

        let params_mode = match options.get(&spec::PARAMS_MODE) {
            Some(v) => v.parse_with("expected form or json", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "form" => Some(ParamsMode::Form),
                    "json" => Some(ParamsMode::Json),
                    _ => None,
                }
            })?,
            None if profile == Profile::AuthPlug => ParamsMode::Form,
            None => ParamsMode::Json,
        };
        let response_mode = match options.get(&spec::RESPONSE_MODE) {
            Some(v) => v.parse_with("expected status, text or json", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "status" => Some(ResponseMode::Status),
                    "text" => Some(ResponseMode::Text),
                    "json" => Some(ResponseMode::Json),
                    _ => None,
                }
            })?,
            None => ResponseMode::Status,
        };
        let method = match options.get(&spec::METHOD) {
            Some(v) => v.parse_with("expected GET, POST or PUT", |s| {
                match s.to_ascii_uppercase().as_str() {
                    "GET" => Some(Method::Get),
                    "POST" => Some(Method::Post),
                    "PUT" => Some(Method::Put),
                    _ => None,
                }
            })?,
            None => Method::Post,
        };

        let timeout = options
            .seconds(&spec::TIMEOUT, Duration::from_millis(1), MAX_TIMEOUT)?
            .unwrap_or(Duration::from_secs(5));
        let connect_timeout = options
            .seconds(
                &spec::CONNECT_TIMEOUT,
                Duration::from_millis(1),
                MAX_TIMEOUT,
            )?
            .unwrap_or(Duration::from_secs(2))
            .min(timeout);
        let retry_count = options.u64_in(&spec::RETRY_COUNT, 0, 10)?.unwrap_or(0) as u32;
        let verify_peer = options.bool(&spec::VERIFY_PEER)?.unwrap_or(true);

        let ca_file = match options.get(&spec::CA_FILE) {
            None => None,
            Some(v) => {
                let path = PathBuf::from(v.value.trim());
                let pem = read_file(&v, &path)?;
                match reqwest::Certificate::from_pem_bundle(&pem) {
                    Ok(certs) if !certs.is_empty() => {}
                    _ => return Err(v.invalid(
                        "the file holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                    )),
                }
                Some((path, pem))
            }
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
            (Some(c), Some(k)) => {
                let cert_path = PathBuf::from(c.value.trim());
                let key_path = PathBuf::from(k.value.trim());
                let mut pem = read_file(&c, &cert_path)?;
                if !contains(&pem, b"-----BEGIN CERTIFICATE-----") {
                    return Err(c.invalid(
                        "the file holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                    ));
                }
                let key = Secret::new(read_file(&k, &key_path)?);
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
                Some(ClientIdentity {
                    cert_file: cert_path,
                    pem,
                })
            }
        };

        let user_agent = match options.get(&spec::USER_AGENT) {
            Some(v) => {
                let ua = v.value.trim().to_string();
                if reqwest::header::HeaderValue::from_str(&ua).is_err() {
                    return Err(v.invalid("expected printable ASCII text"));
                }
                Some(ua).filter(|s| !s.is_empty())
            }
            None if profile == Profile::GoAuth => Some(DEFAULT_USER_AGENT.to_string()),
            None => None,
        };

        let basic_auth_key = match options.get(&spec::BASIC_AUTH_KEY) {
            None => None,
            Some(v) => {
                let key = v.value.trim();
                if key.is_empty()
                    || reqwest::header::HeaderValue::from_str(&format!("Basic {key}")).is_err()
                {
                    return Err(v.invalid("expected base64 of user:password"));
                }
                Some(Secret::from(key))
            }
        };

        let headers = match options.get(&spec::HEADERS) {
            None => Vec::new(),
            Some(v) => parse_headers(&v)?,
        };

        let getuser_params = parse_params(options, &spec::GETUSER_PARAMS)?;
        let superuser_params = parse_params(options, &spec::SUPERUSER_PARAMS)?;
        let aclcheck_params = parse_params(options, &spec::ACLCHECK_PARAMS)?;

        let failure_threshold = options
            .u64_in(&spec::FAILURE_THRESHOLD, 0, 1_000_000)?
            .unwrap_or(3) as u32;
        let cooldown = options
            .seconds(
                &spec::COOLDOWN,
                Duration::from_millis(1),
                Duration::from_secs(3600),
            )?
            .unwrap_or(Duration::from_secs(5));

        Ok(HttpSettings {
            getuser_url,
            superuser_url,
            aclcheck_url,
            resolve,
            profile,
            params_mode,
            response_mode,
            method,
            timeout,
            connect_timeout,
            retry_count,
            verify_peer,
            ca_file,
            client_identity,
            user_agent,
            basic_auth_key,
            headers,
            getuser_params,
            superuser_params,
            aclcheck_params,
            failure_threshold,
            cooldown,
        })
    }

    /// Which plugin's defaults apply.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The request body encoding.
    pub fn params_mode(&self) -> ParamsMode {
        self.params_mode
    }

    /// How responses are read.
    pub fn response_mode(&self) -> ResponseMode {
        self.response_mode
    }

    /// The overall deadline of one check.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The URL asked to check passwords.
    pub fn getuser_url(&self) -> &str {
        self.getuser_url.as_str()
    }
}

fn check_host(v: &Value<'_>, host: &str) -> Result<(), ConfigError> {
    if host.contains(['/', '?', '#', '@', ' ']) {
        return Err(v.invalid(
            "expected a host name or IP address only (use auth_opt_http_url for a full URL)",
        ));
    }
    Ok(())
}

fn parse_base_url(v: &Value<'_>) -> Result<Url, ConfigError> {
    let text = v.value.trim();
    let url = Url::parse(text).map_err(|e| v.invalid(format!("not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        // The value holds a password: never echo it.
        return Err(ConfigError::Invalid {
            option: v.option(),
            value: "<redacted>".into(),
            expected: "credentials in the URL are not supported: use auth_opt_http_basic_auth_key"
                .into(),
        });
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(v.invalid("expected an http:// or https:// URL"));
    }
    if url.host_str().is_none() {
        return Err(v.invalid("expected a URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(v.invalid("expected a URL without ?query or #fragment"));
    }
    Ok(url)
}

/// The base URL with the option's path appended; `None` when the option is absent.
fn join_uri(base: &Url, options: &Options, spec: &OptSpec) -> Result<Option<Url>, ConfigError> {
    let Some(v) = options.get(spec) else {
        return Ok(None);
    };
    let path = v.value.trim();
    if path.is_empty() {
        return Ok(None);
    }
    if path.contains(['?', '#']) || path.contains("://") || path.chars().any(char::is_whitespace) {
        return Err(v.invalid("expected a path such as /auth"));
    }
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    Ok(Some(url))
}

fn read_file(v: &Value<'_>, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| v.invalid(format!("cannot read the file: {e}")))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn parse_headers(v: &Value<'_>) -> Result<Vec<Field>, ConfigError> {
    let mut out = Vec::new();
    for item in v.value.split('|') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((name, value)) = item.split_once(':') else {
            return Err(v.invalid("expected `Name: value` items separated by |"));
        };
        let name = name.trim();
        let value = value.trim();
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(v.invalid(format!("'{name}' is not a valid header name")));
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            return Err(v.invalid(format!(
                "the value of header '{name}' is not printable ASCII text"
            )));
        }
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "host" | "content-length" | "content-type" | "transfer-encoding" | "connection"
        ) {
            return Err(v.invalid(format!("header '{name}' is set by the plugin itself")));
        }
        out.push(Field {
            name: name.to_string(),
            value: Secret::from(value),
        });
    }
    Ok(out)
}

fn parse_params(options: &Options, spec: &OptSpec) -> Result<Vec<Field>, ConfigError> {
    let Some(v) = options.get(spec) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in v.value.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((key, var)) = item.split_once('=') else {
            return Err(v.invalid("expected key=ENVVAR items separated by commas"));
        };
        let (key, var) = (key.trim(), var.trim());
        if key.is_empty() || var.is_empty() {
            return Err(v.invalid("expected key=ENVVAR items separated by commas"));
        }
        let value = match std::env::var_os(var) {
            Some(val) => val,
            None => {
                return Err(v.invalid(format!(
                    "environment variable {var} is not set in the broker's environment"
                )))
            }
        };
        out.push(Field {
            name: key.to_string(),
            value: Secret::new(value.as_encoded_bytes()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn settings(pairs: &[(&str, &str)]) -> Result<HttpSettings, ConfigError> {
        HttpSettings::from_options(&opts(pairs))
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        settings(pairs).unwrap_err().to_string()
    }

    const GA: &[(&str, &str)] = &[
        ("http_host", "auth.example"),
        ("http_port", "8000"),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        extra: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn auth_plug_names_select_auth_plug_defaults() {
        let s = settings(&[
            ("http_hostname", "auth-server"),
            ("http_port", "8000"),
            ("http_getuser_uri", "/auth"),
            ("http_superuser_uri", "/superuser"),
            ("http_aclcheck_uri", "/acl"),
        ])
        .unwrap();
        assert_eq!(s.profile, Profile::AuthPlug);
        assert_eq!(s.params_mode, ParamsMode::Form);
        assert_eq!(s.response_mode, ResponseMode::Status);
        assert_eq!(s.user_agent, None);
        assert_eq!(s.getuser_url.as_str(), "http://auth-server:8000/auth");
        assert_eq!(
            s.superuser_url.as_ref().map(Url::as_str),
            Some("http://auth-server:8000/superuser")
        );
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(s.connect_timeout, Duration::from_secs(2));
        assert_eq!(s.retry_count, 0);
        assert!(s.verify_peer);
    }

    #[test]
    fn go_auth_names_select_json_and_user_agent() {
        let s = settings(GA).unwrap();
        assert_eq!(s.profile, Profile::GoAuth);
        assert_eq!(s.params_mode, ParamsMode::Json);
        assert_eq!(s.user_agent.as_deref(), Some(DEFAULT_USER_AGENT));
        assert!(s.superuser_url.is_none());
        let s = settings(&with(GA, &[("http_params_mode", "form")])).unwrap();
        assert_eq!(s.params_mode, ParamsMode::Form);
    }

    #[test]
    fn ip_and_hostname_connect_to_ip_with_hostname_in_url() {
        let s = settings(&[
            ("http_ip", "127.0.0.1"),
            ("http_hostname", "auth.local"),
            ("http_with_tls", "true"),
            ("http_getuser_uri", "/auth"),
            ("http_aclcheck_uri", "/acl"),
        ])
        .unwrap();
        assert_eq!(s.getuser_url.as_str(), "https://auth.local/auth");
        assert_eq!(
            s.resolve,
            Some(("auth.local".to_string(), "127.0.0.1:443".parse().unwrap()))
        );
        let s = settings(&[
            ("http_ip", "::1"),
            ("http_getuser_uri", "auth"),
            ("http_aclcheck_uri", "/acl"),
        ])
        .unwrap();
        assert_eq!(s.getuser_url.as_str(), "http://[::1]/auth");
        assert_eq!(s.profile, Profile::AuthPlug);
    }

    #[test]
    fn url_paths_are_appended() {
        let s = settings(&[
            ("http_url", "https://auth:8443/mqtt/"),
            ("http_getuser_uri", "/auth"),
            ("http_aclcheck_uri", "acl"),
        ])
        .unwrap();
        assert_eq!(s.getuser_url.as_str(), "https://auth:8443/mqtt/auth");
        assert_eq!(s.aclcheck_url.as_str(), "https://auth:8443/mqtt/acl");
        assert_eq!(s.profile, Profile::GoAuth);
    }

    #[test]
    fn bad_values_name_option_value_and_choices() {
        assert_eq!(
            err(&with(GA, &[("http_response_mode", "xml")])),
            "option auth_opt_http_response_mode: invalid value 'xml': expected status, text or json"
        );
        assert_eq!(
            err(&with(GA, &[("http_params_mode", "yaml")])),
            "option auth_opt_http_params_mode: invalid value 'yaml': expected form or json"
        );
        assert_eq!(
            err(&with(GA, &[("http_method", "DELETE")])),
            "option auth_opt_http_method: invalid value 'DELETE': expected GET, POST or PUT"
        );
        assert_eq!(
            err(&with(GA, &[("http_timeout", "soon")])),
            "option auth_opt_http_timeout: invalid value 'soon': expected a number of seconds from 0.001 to 300"
        );
        assert_eq!(
            err(&with(GA, &[("http_timeout", "0")])),
            "option auth_opt_http_timeout: invalid value '0': expected a number of seconds from 0.001 to 300"
        );
        assert_eq!(
            err(&with(GA, &[("http_port", "70000")])),
            "option auth_opt_http_port: invalid value '70000': expected a whole number from 1 to 65535"
        );
        assert_eq!(
            err(&with(GA, &[("http_retry_count", "-1")])),
            "option auth_opt_http_retry_count: invalid value '-1': expected a whole number from 0 to 10"
        );
        assert_eq!(
            err(&with(GA, &[("http_verify_peer", "maybe")])),
            "option auth_opt_http_verify_peer: invalid value 'maybe': expected true or false"
        );
        assert_eq!(
            err(&[
                ("http_url", "ftp://auth/"),
                ("http_getuser_uri", "/a"),
                ("http_aclcheck_uri", "/b")
            ]),
            "option auth_opt_http_url: invalid value 'ftp://auth/': expected an http:// or https:// URL"
        );
        assert_eq!(
            err(&[
                ("http_url", "not a url"),
                ("http_getuser_uri", "/a"),
                ("http_aclcheck_uri", "/b")
            ]),
            "option auth_opt_http_url: invalid value 'not a url': not a URL (relative URL without a base)"
        );
        assert_eq!(
            err(&with(GA, &[("http_getuser_uri", "/auth?x=1")])),
            "option auth_opt_http_getuser_uri: invalid value '/auth?x=1': expected a path such as /auth"
        );
        assert_eq!(
            err(&[
                ("http_ip", "auth.local"),
                ("http_getuser_uri", "/a"),
                ("http_aclcheck_uri", "/b")
            ]),
            "option auth_opt_http_ip: invalid value 'auth.local': expected an IP address"
        );
        assert_eq!(
            err(&[("http_host", "http://auth/x"), ("http_getuser_uri", "/a"), ("http_aclcheck_uri", "/b")]),
            "option auth_opt_http_host: invalid value 'http://auth/x': expected a host name or IP address only (use auth_opt_http_url for a full URL)"
        );
    }

    #[test]
    fn missing_options_are_named() {
        assert_eq!(
            err(&[("http_getuser_uri", "/a"), ("http_aclcheck_uri", "/b")]),
            "option auth_opt_http_host is required: say where the auth service is: auth_opt_http_host (or auth-plug's http_hostname / http_ip), or auth_opt_http_url"
        );
        assert_eq!(
            err(&[("http_host", "a"), ("http_aclcheck_uri", "/b")]),
            "option auth_opt_http_getuser_uri is required: the path asked to check passwords, e.g. /auth"
        );
        assert_eq!(
            err(&[("http_host", "a"), ("http_getuser_uri", "/b")]),
            "option auth_opt_http_aclcheck_uri is required: the path asked for ACL checks, e.g. /acl"
        );
        assert_eq!(
            err(&with(GA, &[("http_url", "http://a/")])),
            "options auth_opt_http_url and auth_opt_http_host both say where the service is: use one of them"
        );
    }

    #[test]
    fn unreadable_or_wrong_ca_file() {
        let e = err(&with(GA, &[("http_ca_file", "/nonexistent/ca.pem")]));
        assert!(
            e.starts_with("option auth_opt_http_ca_file: invalid value '/nonexistent/ca.pem': cannot read the file: "),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "hello").unwrap();
        let p = path.to_str().unwrap().to_string();
        let e = HttpSettings::from_options(&Options::new(
            GA.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain([("http_ca_file".to_string(), p.clone())]),
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            format!("option auth_opt_http_ca_file: invalid value '{p}': the file holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        );
        assert_eq!(
            err(&with(GA, &[("http_client_cert", "/x.pem")])),
            "option auth_opt_http_client_cert needs both auth_opt_http_client_cert and auth_opt_http_client_key"
        );
    }

    #[test]
    fn secrets_are_never_echoed() {
        let e = err(&with(GA, &[("http_basic_auth_key", "sec\nret")]));
        assert_eq!(
            e,
            "option auth_opt_http_basic_auth_key: invalid value '<redacted>': expected base64 of user:password"
        );
        let e = err(&with(GA, &[("http_headers", "X-Key topsecret")]));
        assert_eq!(
            e,
            "option auth_opt_http_headers: invalid value '<redacted>': expected `Name: value` items separated by |"
        );
        let e = err(&[
            ("http_url", "https://user:hunter2@auth/"),
            ("http_getuser_uri", "/a"),
            ("http_aclcheck_uri", "/b"),
        ]);
        assert!(!e.contains("hunter2"), "{e}");
        let s = settings(&with(
            GA,
            &[
                ("http_basic_auth_key", "dXNlcjpodW50ZXIy"),
                ("http_headers", "X-Api-Key: topsecret | X-Site: eu"),
            ],
        ))
        .unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("dXNlcjpodW50ZXIy"), "{dbg}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        assert!(dbg.contains("X-Api-Key"), "{dbg}");
        assert_eq!(s.headers.len(), 2);
    }

    #[test]
    fn params_come_from_the_environment() {
        std::env::set_var("MOSQ_AUTH_TEST_HTTP_PARAM", "v a/l");
        let s = settings(&with(
            GA,
            &[("http_getuser_params", "site=MOSQ_AUTH_TEST_HTTP_PARAM")],
        ))
        .unwrap();
        assert_eq!(s.getuser_params.len(), 1);
        assert_eq!(s.getuser_params[0].name, "site");
        assert_eq!(s.getuser_params[0].value.expose(), b"v a/l");
        assert_eq!(
            err(&with(GA, &[("http_aclcheck_params", "site=MOSQ_AUTH_TEST_UNSET_VAR")])),
            "option auth_opt_http_aclcheck_params: invalid value 'site=MOSQ_AUTH_TEST_UNSET_VAR': environment variable MOSQ_AUTH_TEST_UNSET_VAR is not set in the broker's environment"
        );
    }

    #[test]
    fn connect_timeout_is_capped_by_timeout() {
        let s = settings(&with(GA, &[("http_timeout", "0.5")])).unwrap();
        assert_eq!(s.connect_timeout, Duration::from_millis(500));
        let s = settings(&with(
            GA,
            &[("http_timeout", "10"), ("http_connect_timeout", "3")],
        ))
        .unwrap();
        assert_eq!(s.connect_timeout, Duration::from_secs(3));
    }
}
