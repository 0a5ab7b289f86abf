//! The HTTP backend's options: one [`OptSpec`] per `auth_opt_http_*` name (its aliases,
//! default and documentation) and the list of them all. The values are read and checked in
//! [`super::settings`].

use crate::options::OptSpec;

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
        doc: "After this many checks in a row that could not reach the service (connection errors, timeouts; not 5xx answers) it is considered down: checks fail at once (no request) for `http_cooldown`, then one probe request is let through. `0` turns this off.",
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
