//! The JWT backend's options: one [`OptSpec`] per `auth_opt_jwt_*` name. The values are read
//! and checked in [`super::settings`].

use crate::options::OptSpec;

/// Option specs of the JWT backend.
pub mod spec {
    use crate::options::OptSpec;

    /// `jwt_secret`
    pub const SECRET: OptSpec = OptSpec {
        name: "jwt_secret",
        auth_plug: &[],
        go_auth: &["jwt_secret"],
        default: "(none)",
        doc: "HMAC secret (HS256/384/512), inline. Prefer `jwt_secret_file`: a ConfigMap or mosquitto.conf is often readable by more people than a Secret.",
        secret: true,
    };
    /// `jwt_secret_file`
    pub const SECRET_FILE: OptSpec = OptSpec {
        name: "jwt_secret_file",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "File holding the HMAC secret (one trailing newline is ignored).",
        secret: false,
    };
    /// `jwt_public_key_file`
    pub const PUBLIC_KEY_FILE: OptSpec = OptSpec {
        name: "jwt_public_key_file",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "PEM public key: RSA (RS256/384/512, PS256/384/512), EC P-256/P-384 (ES256/ES384) or Ed25519 (EdDSA).",
        secret: false,
    };
    /// `jwt_jwks_file`
    pub const JWKS_FILE: OptSpec = OptSpec {
        name: "jwt_jwks_file",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "A JWKS document (`{\"keys\": [...]}`) on disk; a token's `kid` picks the key.",
        secret: false,
    };
    /// `jwt_jwks_url`
    pub const JWKS_URL: OptSpec = OptSpec {
        name: "jwt_jwks_url",
        auth_plug: &[],
        go_auth: &[],
        default: "(none)",
        doc: "A JWKS document over HTTP(S), kept in memory and fetched again every `jwt_jwks_refresh_seconds` and when a token names an unknown `kid` (at most every 2 s). A failed fetch keeps the last good set; unreachable at start-up is a warning. `http://` to a host that is not loopback is a warning.",
        secret: false,
    };
    /// `jwt_jwks_refresh_seconds`
    pub const JWKS_REFRESH: OptSpec = OptSpec {
        name: "jwt_jwks_refresh_seconds",
        auth_plug: &[],
        go_auth: &[],
        default: "`300`",
        doc: "Seconds between fetches of `jwt_jwks_url`.",
        secret: false,
    };
    /// `jwt_algorithms`
    pub const ALGORITHMS: OptSpec = OptSpec {
        name: "jwt_algorithms",
        auth_plug: &[],
        go_auth: &[],
        default: "(every algorithm the keys fit)",
        doc: "Comma-separated algorithms accepted, narrowing what the keys allow (e.g. `ES256`). `none` is never accepted, nor HMAC with a public key.",
        secret: false,
    };
    /// `jwt_token_from`
    pub const TOKEN_FROM: OptSpec = OptSpec {
        name: "jwt_token_from",
        auth_plug: &[],
        go_auth: &[],
        default: "`password` (`username` with go-auth's `jwt_mode`/`jwt_userfield`)",
        doc: "Where the client puts its token: the MQTT `password` (the username must then equal the username claim) or the `username` (go-auth's convention; the claim then names the user).",
        secret: false,
    };
    /// `jwt_username_claim`
    pub const USERNAME_CLAIM: OptSpec = OptSpec {
        name: "jwt_username_claim",
        auth_plug: &[],
        go_auth: &[],
        default: "`sub`",
        doc: "The claim that holds the username.",
        secret: false,
    };
    /// `jwt_userfield` (go-auth)
    pub const USERFIELD: OptSpec = OptSpec {
        name: "jwt_userfield",
        auth_plug: &[],
        go_auth: &["jwt_userfield"],
        default: "(none)",
        doc: "go-auth's name for the username claim: `Username` means the `username` claim, `Subject` the `sub` claim.",
        secret: false,
    };
    /// `jwt_mode` (go-auth)
    pub const MODE: OptSpec = OptSpec {
        name: "jwt_mode",
        auth_plug: &[],
        go_auth: &["jwt_mode"],
        default: "(none)",
        doc: "go-auth's JWT mode: `local` is accepted (the signature is checked here, with the token in the username); `remote`, `js` and `files` are refused (use the http or files backend).",
        secret: false,
    };
    /// `jwt_clientid_claim`
    pub const CLIENTID_CLAIM: OptSpec = OptSpec {
        name: "jwt_clientid_claim",
        auth_plug: &[],
        go_auth: &[],
        default: "(none: any client id)",
        doc: "A claim the MQTT client id must equal (binds a token to one device).",
        secret: false,
    };
    /// `jwt_superuser_claim`
    pub const SUPERUSER_CLAIM: OptSpec = OptSpec {
        name: "jwt_superuser_claim",
        auth_plug: &[],
        go_auth: &[],
        default: "(none: no superusers by token)",
        doc: "A boolean claim that makes the client a superuser when `true` (e.g. `is_superuser`).",
        secret: false,
    };
    /// `jwt_issuer`
    pub const ISSUER: OptSpec = OptSpec {
        name: "jwt_issuer",
        auth_plug: &[],
        go_auth: &[],
        default: "(not checked)",
        doc: "The `iss` a token must have.",
        secret: false,
    };
    /// `jwt_audience`
    pub const AUDIENCE: OptSpec = OptSpec {
        name: "jwt_audience",
        auth_plug: &[],
        go_auth: &[],
        default: "(not checked)",
        doc: "An `aud` a token must have.",
        secret: false,
    };
    /// `jwt_leeway_seconds`
    pub const LEEWAY: OptSpec = OptSpec {
        name: "jwt_leeway_seconds",
        auth_plug: &[],
        go_auth: &[],
        default: "`30`",
        doc: "Clock skew allowed for `exp`, `nbf` and `iat`.",
        secret: false,
    };
    /// `jwt_require_exp`
    pub const REQUIRE_EXP: OptSpec = OptSpec {
        name: "jwt_require_exp",
        auth_plug: &[],
        go_auth: &[],
        default: "`true`",
        doc: "`true`: a token without `exp` is refused. A token's `exp` always ends its session: the client is disconnected then.",
        secret: false,
    };
}

/// The JWT backend's options.
pub const OPTIONS: &[&OptSpec] = &[
    &spec::SECRET,
    &spec::SECRET_FILE,
    &spec::PUBLIC_KEY_FILE,
    &spec::JWKS_FILE,
    &spec::JWKS_URL,
    &spec::JWKS_REFRESH,
    &spec::ALGORITHMS,
    &spec::TOKEN_FROM,
    &spec::USERNAME_CLAIM,
    &spec::USERFIELD,
    &spec::MODE,
    &spec::CLIENTID_CLAIM,
    &spec::SUPERUSER_CLAIM,
    &spec::ISSUER,
    &spec::AUDIENCE,
    &spec::LEEWAY,
    &spec::REQUIRE_EXP,
];
