//! The options of the plugin as a whole (backend options live with each backend).

use crate::options::OptSpec;

/// `backends`
pub const BACKENDS: OptSpec = OptSpec {
    name: "backends",
    auth_plug: &["backends"],
    go_auth: &["backends"],
    default: "(required)",
    doc: "Comma-separated backends in the order they are asked: `files`, `http`, `jwt`.",
    secret: false,
};
/// `superusers`
pub const SUPERUSERS: OptSpec = OptSpec {
    name: "superusers",
    auth_plug: &["superusers"],
    go_auth: &[],
    default: "(none)",
    doc:
        "Comma-separated glob patterns (`*`, `?`, `[...]`) of usernames that pass every ACL check.",
    secret: false,
};
/// `anonusername`
pub const ANONUSERNAME: OptSpec = OptSpec {
    name: "anonusername",
    auth_plug: &["anonusername"],
    go_auth: &[],
    default: "`anonymous`",
    doc: "Username sent to the HTTP backend in ACL checks of clients that connected without one.",
    secret: false,
};
/// `log_level`
pub const LOG_LEVEL: OptSpec = OptSpec {
    name: "log_level",
    auth_plug: &[],
    go_auth: &["log_level"],
    default: "`notice`",
    doc: "Most detailed plugin log level written to the broker log: `error`, `warning`, `notice`, `info`, `debug`.",
    secret: false,
};
/// `log_quiet`
pub const LOG_QUIET: OptSpec = OptSpec {
    name: "log_quiet",
    auth_plug: &["log_quiet"],
    go_auth: &[],
    default: "`false`",
    doc: "auth-plug's switch: `true` is the same as `log_level warning`.",
    secret: false,
};
/// `log_dest`
pub const LOG_DEST: OptSpec = OptSpec {
    name: "log_dest",
    auth_plug: &[],
    go_auth: &["log_dest", "log_file"],
    default: "(broker log)",
    doc: "Accepted for go-auth configs and ignored: lines always go to the broker's log (`log_dest` in mosquitto.conf).",
    secret: false,
};
/// `disable_superuser`
pub const DISABLE_SUPERUSER: OptSpec = OptSpec {
    name: "disable_superuser",
    auth_plug: &[],
    go_auth: &["disable_superuser"],
    default: "`false`",
    doc: "`true`: never ask backends whether a user is a superuser (the `superusers` globs still apply).",
    secret: false,
};

/// `metrics_listen`
pub const METRICS_LISTEN: OptSpec = OptSpec {
    name: "metrics_listen",
    auth_plug: &[],
    go_auth: &[],
    default: "(off)",
    doc: "`host:port` (or a port on 127.0.0.1) where `GET /metrics` serves the plugin's counters in Prometheus text format.",
    secret: false,
};

/// `connect_workers`
pub const CONNECT_WORKERS: OptSpec = OptSpec {
    name: "connect_workers",
    auth_plug: &[],
    go_auth: &[],
    default: "`16`",
    doc: "Mosquitto 2.1: threads that answer CONNECTs which would wait on the network (an HTTP cache miss) while the broker goes on serving everyone else; `0` answers every CONNECT on the broker's thread, as 2.0 and 1.6 always do.",
    secret: false,
};
/// `connect_max_waiting`
pub const CONNECT_MAX_WAITING: OptSpec = OptSpec {
    name: "connect_max_waiting",
    auth_plug: &[],
    go_auth: &[],
    default: "`4096`",
    doc: "Mosquitto 2.1: at most this many CONNECTs wait for an answer at once; more are refused at once (logged once per burst).",
    secret: false,
};

/// `rules_no_match`
pub const RULES_NO_MATCH: OptSpec = OptSpec {
    name: "rules_no_match",
    auth_plug: &[],
    go_auth: &[],
    default: "`next`",
    doc: "When a client's rules from its login answer (`acl`) have none for a check: `next` asks the other backends of the chain (as EMQX does; never the backend that sent the rules), `deny` refuses.",
    secret: false,
};
/// `disconnect_revoked`
pub const DISCONNECT_REVOKED: OptSpec = OptSpec {
    name: "disconnect_revoked",
    auth_plug: &[],
    go_auth: &[],
    default: "`true`",
    doc: "`true`: a reload that removes a connected client's user from the password file, or changes its hash, disconnects that client (within the reload interval). Sessions whose `expire_at` passes are always disconnected.",
    secret: false,
};

/// All of the above.
pub const ALL: &[&OptSpec] = &[
    &BACKENDS,
    &SUPERUSERS,
    &ANONUSERNAME,
    &LOG_LEVEL,
    &LOG_QUIET,
    &LOG_DEST,
    &DISABLE_SUPERUSER,
    &METRICS_LISTEN,
    &CONNECT_WORKERS,
    &CONNECT_MAX_WAITING,
    &RULES_NO_MATCH,
    &DISCONNECT_REVOKED,
];
