//! Where the HTTP service is: `http_url`, or `http_host` / `http_hostname` / `http_ip` with
//! `http_port` and `http_with_tls`, and the `*_uri` paths appended to it. The option names
//! used for the address also choose the [`Profile`].

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

use super::options::spec;
use super::settings::Profile;
use crate::options::{ConfigError, Dialect, OptSpec, Options, Value};

/// The three URLs asked, and which defaults the address options select.
pub(super) struct Endpoint {
    pub(super) getuser_url: Url,
    pub(super) superuser_url: Option<Url>,
    pub(super) aclcheck_url: Url,
    /// Connect to this address for this host name (auth-plug's `http_ip` + `http_hostname`).
    pub(super) resolve: Option<(String, SocketAddr)>,
    pub(super) profile: Profile,
}

impl Endpoint {
    /// Reads and checks the address and path options.
    pub(super) fn from_options(options: &Options) -> Result<Endpoint, ConfigError> {
        let host_value = options.get(&spec::HOST);
        let ip_value = options.get(&spec::IP);
        let profile = match (&host_value, &ip_value) {
            (_, Some(_)) => Profile::AuthPlug,
            (Some(v), None) if v.dialect == Dialect::AuthPlug => Profile::AuthPlug,
            _ => Profile::GoAuth,
        };
        let (base, resolve) = base_url(options)?;

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
        Ok(Endpoint {
            getuser_url,
            superuser_url,
            aclcheck_url,
            resolve,
            profile,
        })
    }
}

/// The service's base URL, and the address to connect to when `http_ip` and `http_hostname`
/// are both given.
fn base_url(options: &Options) -> Result<(Url, Option<(String, SocketAddr)>), ConfigError> {
    let url_value = options.get(&spec::URL);
    let host_value = options.get(&spec::HOST);
    let ip_value = options.get(&spec::IP);
    let port_value = options.get(&spec::PORT);
    let tls_value = options.get(&spec::WITH_TLS);

    if let Some(u) = url_value {
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
        return Ok((parse_base_url(&u)?, None));
    }

    let mut resolve = None;
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
    let base = Url::parse(&text).map_err(|e| {
        ConfigError::Other(format!(
            "the service address {text} is not a valid URL ({e}): check auth_opt_http_host and auth_opt_http_port"
        ))
    })?;
    Ok((base, resolve))
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
