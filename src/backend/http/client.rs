//! The HTTP client of one backend: built once from the settings; a question made into a
//! request; one try of it within the time left before the check's deadline.

use std::io::Read;
use std::time::Duration;

use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST,
};

use super::response;
use super::settings::{HttpSettings, Method, ParamsMode, Profile, ResponseMode};
use super::wire::{self, Call};
use crate::options::ConfigError;
use crate::request::{BackendError, CacheHint, Decision};
use crate::session::Grant;

/// How long an idle keep-alive connection is kept: below Node.js's default 5 s server
/// keep-alive timeout.
const POOL_IDLE: Duration = Duration::from_secs(4);

/// A request ready to send, tried again as it is: method, URL (with the query string for GET)
/// and headers.
pub(super) type Prepared = (reqwest::Method, reqwest::Url, HeaderMap);

/// Why one try failed.
pub(super) enum TryError {
    /// The service could not be reached or did not answer in time (transport error, timeout,
    /// a body cut off): worth another try, and what the circuit breaker counts.
    Unreachable(String),
    /// The service answered with a 5xx: worth another try, but it is up.
    ServerError(String),
    /// The service answered something unusable (unreadable or oversized answer): not worth
    /// another try.
    Fatal(String),
}

/// Builds the client (TLS roots, client certificate, timeouts, connection pool). Nothing is
/// sent.
pub(super) fn build(settings: &HttpSettings) -> Result<reqwest::blocking::Client, ConfigError> {
    let mut builder = reqwest::blocking::Client::builder()
        .use_rustls_tls()
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(POOL_IDLE)
        // Up to `connect_workers` (16) parked logins ask at once, plus the broker's thread: keep
        // that many connections alive between bursts.
        .pool_max_idle_per_host(32);
    if let Some((host, addr)) = &settings.resolve {
        builder = builder.resolve(host, *addr);
    }
    if let Some((path, pem)) = &settings.ca_file {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            ConfigError::Other(format!(
                "option auth_opt_http_ca_file: cannot use {}: {e}",
                path.display()
            ))
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(id) = &settings.client_identity {
        let identity = reqwest::Identity::from_pem(id.pem.expose()).map_err(|_| {
            ConfigError::Other(format!(
                "options auth_opt_http_client_cert / auth_opt_http_client_key: cannot use {} and its key as a client identity",
                id.cert_file.display()
            ))
        })?;
        builder = builder.identity(identity);
    }
    if !settings.verify_peer {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| {
        ConfigError::Other(format!(
            "http backend: cannot set up the HTTP client: {}",
            error_chain(&e)
        ))
    })
}

/// What the service answered to one try.
pub(super) struct Reply {
    pub(super) decision: Decision,
    pub(super) cache: CacheHint,
    pub(super) status: u16,
    /// The service's own error text (json mode), for a debug line.
    pub(super) detail: Option<String>,
    /// The session part of an allowed login (json mode, when `session` was asked for).
    pub(super) grant: Option<Grant>,
}

/// One try within `remaining` time. With `session`, an allowing JSON answer is also read for
/// the client's session (rules, superuser, expiry); a malformed one fails the try.
pub(super) fn try_once(
    client: &reqwest::blocking::Client,
    response_mode: ResponseMode,
    request: &Prepared,
    body: Option<&[u8]>,
    remaining: Duration,
    session: bool,
) -> Result<Reply, TryError> {
    let (method, url, headers) = request;
    let mut rb = client
        .request(method.clone(), url.clone())
        .headers(headers.clone())
        .timeout(remaining);
    if let Some(b) = body {
        rb = rb.body(b.to_vec());
    }
    let response = rb
        .send()
        .map_err(|e| TryError::Unreachable(describe_error(&e, remaining)))?;
    let status = response.status().as_u16();
    let cache = response::cache_hint(
        response
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().ok()),
    );
    let mut buf = Vec::new();
    let mut limited = response.take(response::MAX_BODY as u64 + 1);
    if let Err(e) = limited.read_to_end(&mut buf) {
        let msg = match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        {
            Some(re) => describe_error(re, remaining),
            None => format!("reading the answer failed: {e}"),
        };
        return Err(TryError::Unreachable(msg));
    }
    if buf.len() > response::MAX_BODY {
        return Err(TryError::Fatal(format!(
            "status {status} with a body over {} KiB",
            response::MAX_BODY / 1024
        )));
    }
    let (decision, detail) = match response::decide(response_mode, status, &buf) {
        Ok(d) => d,
        Err(msg) if (500..600).contains(&status) => return Err(TryError::ServerError(msg)),
        Err(msg) => return Err(TryError::Fatal(msg)),
    };
    let grant = if session && decision == Decision::Allow && response_mode == ResponseMode::Json {
        response::grant(&buf).map_err(|e| {
            TryError::Fatal(format!(
                "status {status} with a malformed session, refusing the login: {e}"
            ))
        })?
    } else {
        None
    };
    Ok(Reply {
        decision,
        cache,
        status,
        detail,
        grant,
    })
}

/// A short description of a client error, without the URL (added by the caller).
fn describe_error(e: &reqwest::Error, remaining: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {:.1} s", remaining.as_secs_f64());
    }
    let chain = error_chain(e);
    if e.is_connect() {
        format!("cannot connect: {chain}")
    } else {
        chain
    }
}

/// The innermost causes of an error, joined, without URLs.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = match err.downcast_ref::<reqwest::Error>() {
            Some(re) => {
                let mut re_text = String::new();
                if re.is_builder() {
                    re_text.push_str("invalid request");
                }
                re_text
            }
            None => err.to_string(),
        };
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    if parts.is_empty() {
        "request failed".into()
    } else {
        parts.join(": ")
    }
}

/// The request (URL, headers) and body for a question, as the settings say.
pub(super) fn prepare(
    s: &HttpSettings,
    url: &reqwest::Url,
    call: &Call<'_>,
) -> Result<(Prepared, Option<Vec<u8>>), BackendError> {
    let params = match call {
        Call::GetUser { .. } => &s.getuser_params,
        Call::Superuser { .. } => &s.superuser_params,
        Call::Acl { .. } => &s.aclcheck_params,
    };
    let mut headers = HeaderMap::new();
    let mut url = url.clone();
    let body = match s.method {
        Method::Get => {
            url.set_query(Some(&wire::form_encode(call, params, s.params_mode)));
            None
        }
        Method::Post | Method::Put => match s.params_mode {
            ParamsMode::Form => {
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                Some(wire::form_encode(call, params, ParamsMode::Form).into_bytes())
            }
            ParamsMode::Json => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                match wire::json_encode(call, params) {
                    Ok(b) => Some(b.into_bytes()),
                    // Callers check this before asking; kept as a safety net.
                    Err(wire::NotUtf8) => {
                        return Err(BackendError::new(
                            "http: a password that is not UTF-8 cannot be sent as JSON",
                        ))
                    }
                }
            }
        },
    };
    if let Some(ua) = &s.user_agent {
        if let Ok(v) = HeaderValue::from_str(ua) {
            headers.insert(reqwest::header::USER_AGENT, v);
        }
    }
    let authorization = match (&s.basic_auth_key, s.profile) {
        (Some(key), _) => Some(format!("Basic {}", String::from_utf8_lossy(key.expose()))),
        (None, Profile::AuthPlug) => Some(wire::basic_auth(call.username(), call.password())),
        (None, Profile::GoAuth) => None,
    };
    if let Some(a) = authorization {
        let a = zeroize::Zeroizing::new(a);
        if let Ok(mut v) = HeaderValue::from_str(&a) {
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
    }
    if let Some((host, _)) = &s.resolve {
        // The URL already names the host; this only makes the header explicit.
        if let Ok(v) = HeaderValue::from_str(host) {
            headers.insert(HOST, v);
        }
    }
    for h in &s.headers {
        if let (Ok(name), Ok(mut value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value.expose()),
        ) {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
    }
    let method = match s.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
    };
    Ok(((method, url, headers), body))
}
