/*!
The HTTP backend's validated settings, built from its options (declared in [`super::options`]).

Every check a value needs happens in [`HttpSettings::from_options`], so a wrong value stops the
broker at start-up with a message naming the option, the value (never for secrets) and what is
allowed. The settings hold file contents (CA, client certificate) already read, so nothing is
read from disk while the broker runs.
*/

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use super::endpoint::Endpoint;
use super::options::spec;
use super::tls::{ClientIdentity, Tls};
use crate::options::{ConfigError, OptSpec, Options, Value};
use crate::secret::Secret;

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

/// The default `User-Agent` with go-auth-style names (go-auth sent `mosquitto-<version>`).
pub const DEFAULT_USER_AGENT: &str = concat!("mosquitto-mosq-auth/", env!("CARGO_PKG_VERSION"));

/// The longest a check may be allowed to take.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

impl HttpSettings {
    /// Reads and checks the HTTP options, one concern after the other: address and paths,
    /// encodings, time limits, TLS, headers and extra fields, circuit breaker.
    pub fn from_options(options: &Options) -> Result<HttpSettings, ConfigError> {
        let endpoint = Endpoint::from_options(options)?;
        let profile = endpoint.profile;
        let params_mode = params_mode(options, profile)?;
        let response_mode = response_mode(options)?;
        let method = method(options)?;
        let (timeout, connect_timeout, retry_count) = time_limits(options)?;
        let tls = Tls::from_options(options)?;
        let user_agent = user_agent(options, profile)?;
        let basic_auth_key = basic_auth_key(options)?;
        let headers = match options.get(&spec::HEADERS) {
            None => Vec::new(),
            Some(v) => parse_headers(&v)?,
        };
        let getuser_params = parse_params(options, &spec::GETUSER_PARAMS)?;
        let superuser_params = parse_params(options, &spec::SUPERUSER_PARAMS)?;
        let aclcheck_params = parse_params(options, &spec::ACLCHECK_PARAMS)?;
        let (failure_threshold, cooldown) = breaker(options)?;

        Ok(HttpSettings {
            getuser_url: endpoint.getuser_url,
            superuser_url: endpoint.superuser_url,
            aclcheck_url: endpoint.aclcheck_url,
            resolve: endpoint.resolve,
            profile,
            params_mode,
            response_mode,
            method,
            timeout,
            connect_timeout,
            retry_count,
            verify_peer: tls.verify_peer,
            ca_file: tls.ca_file,
            client_identity: tls.client_identity,
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

/// `http_params_mode`; by default form with auth-plug's option names, JSON with go-auth's.
fn params_mode(options: &Options, profile: Profile) -> Result<ParamsMode, ConfigError> {
    Ok(match options.get(&spec::PARAMS_MODE) {
        Some(v) => v.parse_with("expected form or json", |s| {
            match s.to_ascii_lowercase().as_str() {
                "form" => Some(ParamsMode::Form),
                "json" => Some(ParamsMode::Json),
                _ => None,
            }
        })?,
        None if profile == Profile::AuthPlug => ParamsMode::Form,
        None => ParamsMode::Json,
    })
}

/// `http_response_mode`, `status` by default.
fn response_mode(options: &Options) -> Result<ResponseMode, ConfigError> {
    Ok(match options.get(&spec::RESPONSE_MODE) {
        Some(v) => v.parse_with("expected status, text or json", |s| {
            match s.to_ascii_lowercase().as_str() {
                "status" => Some(ResponseMode::Status),
                "text" => Some(ResponseMode::Text),
                "json" => Some(ResponseMode::Json),
                _ => None,
            }
        })?,
        None => ResponseMode::Status,
    })
}

/// `http_method`, `POST` by default.
fn method(options: &Options) -> Result<Method, ConfigError> {
    Ok(match options.get(&spec::METHOD) {
        Some(v) => v.parse_with("expected GET, POST or PUT", |s| {
            match s.to_ascii_uppercase().as_str() {
                "GET" => Some(Method::Get),
                "POST" => Some(Method::Post),
                "PUT" => Some(Method::Put),
                _ => None,
            }
        })?,
        None => Method::Post,
    })
}

/// The deadline of one check, the connect timeout (at most the deadline) and the retries.
fn time_limits(options: &Options) -> Result<(Duration, Duration, u32), ConfigError> {
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
    Ok((timeout, connect_timeout, retry_count))
}

/// `http_user_agent`; by default [`DEFAULT_USER_AGENT`] with go-auth's option names, none with
/// auth-plug's. An empty value sends none.
fn user_agent(options: &Options, profile: Profile) -> Result<Option<String>, ConfigError> {
    Ok(match options.get(&spec::USER_AGENT) {
        Some(v) => {
            let ua = v.value.trim().to_string();
            if reqwest::header::HeaderValue::from_str(&ua).is_err() {
                return Err(v.invalid("expected printable ASCII text"));
            }
            Some(ua).filter(|s| !s.is_empty())
        }
        None if profile == Profile::GoAuth => Some(DEFAULT_USER_AGENT.to_string()),
        None => None,
    })
}

/// `http_basic_auth_key`, checked to fit in an `Authorization` header.
fn basic_auth_key(options: &Options) -> Result<Option<Secret>, ConfigError> {
    let Some(v) = options.get(&spec::BASIC_AUTH_KEY) else {
        return Ok(None);
    };
    let key = v.value.trim();
    if key.is_empty() || reqwest::header::HeaderValue::from_str(&format!("Basic {key}")).is_err() {
        return Err(v.invalid("expected base64 of user:password"));
    }
    Ok(Some(Secret::from(key)))
}

/// The circuit breaker's failure threshold (0: off) and cool-down.
fn breaker(options: &Options) -> Result<(u32, Duration), ConfigError> {
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
    Ok((failure_threshold, cooldown))
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
