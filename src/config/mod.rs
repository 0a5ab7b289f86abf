//! The root of the configuration: which backends run, in which order, and the plugin-wide
//! options, gathered from every module's option specs.
//!
//! The README's option table is generated from these specs (see [`options_markdown`]) and a
//! test keeps the two equal.

use crate::backend::{files, http, jwt};
use crate::cache::{self, CacheSettings};
use crate::log::Level;
use crate::options::{split_list, ConfigError, OptSpec, Options};

pub mod spec;

/// Every option the plugin knows, in README order.
pub fn all_specs() -> Vec<&'static OptSpec> {
    let mut all: Vec<&'static OptSpec> = Vec::new();
    all.extend_from_slice(spec::ALL);
    all.extend_from_slice(files::OPTIONS);
    all.extend_from_slice(http::OPTIONS);
    all.extend_from_slice(jwt::OPTIONS);
    all.extend_from_slice(cache::OPTIONS);
    all
}

/// The README's option table, generated from [`all_specs`].
pub fn options_markdown() -> String {
    let mut out = String::from(
        "| Option (`auth_opt_` / `plugin_opt_` + name) | auth-plug name | go-auth name | Default | Meaning |\n\
         |---|---|---|---|---|\n",
    );
    let names = |list: &[&str]| {
        if list.is_empty() {
            "—".to_string()
        } else {
            list.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for spec in all_specs() {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            spec.name,
            names(spec.auth_plug),
            names(spec.go_auth),
            spec.default,
            spec.doc
        ));
    }
    out
}

/// The name of a backend in `auth_opt_backends`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// Password and ACL files.
    Files,
    /// An HTTP service.
    Http,
    /// JSON Web Tokens verified here.
    Jwt,
}

impl BackendKind {
    /// The name as written in `auth_opt_backends`.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Files => "files",
            BackendKind::Http => "http",
            BackendKind::Jwt => "jwt",
        }
    }
}

/// One backend's validated settings.
#[derive(Debug)]
pub enum BackendSettings {
    /// Password and ACL files.
    Files(files::FilesSettings),
    /// An HTTP service.
    Http(Box<http::HttpSettings>),
    /// JSON Web Tokens.
    Jwt(Box<jwt::JwtSettings>),
}

/// The validated settings of one plugin instance.
#[derive(Debug)]
pub struct Config {
    /// Each backend's settings, in the order the backends are asked.
    pub backends: Vec<BackendSettings>,
    /// Glob patterns of superuser names.
    pub superusers: Vec<glob::Pattern>,
    /// Username used for anonymous clients in backend ACL checks.
    pub anon_username: String,
    /// The plugin's log level.
    pub log_level: Level,
    /// Whether backends are asked about superusers.
    pub backend_superusers: bool,
    /// The cache in front of every backend.
    pub cache: CacheSettings,
    /// Where to serve metrics, if anywhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Worker threads for parked CONNECTs (0: never park).
    pub connect_workers: usize,
    /// The most CONNECTs parked at once.
    pub connect_max_waiting: usize,
    /// Rules from a login that have none for a check refuse it (instead of asking the others).
    pub rules_no_match_deny: bool,
    /// Clients whose file user was removed or re-passworded are disconnected.
    pub disconnect_revoked: bool,
    /// Things the operator should know about (unknown options, ignored options).
    pub warnings: Vec<String>,
}

impl Config {
    /// Validates `options`. The error names the option, the value and what is allowed.
    pub fn parse(options: &Options) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();
        let backends = match options.get(&spec::BACKENDS) {
            None => {
                return Err(ConfigError::Missing {
                    option: "auth_opt_backends".into(),
                    why: "say which backends to ask, in order: files, http, jwt (e.g. `auth_opt_backends files`)".into(),
                })
            }
            Some(v) => {
                let mut kinds = Vec::new();
                for item in split_list(v.value) {
                    let kind = match item.to_ascii_lowercase().as_str() {
                        "files" | "file" => BackendKind::Files,
                        "http" => BackendKind::Http,
                        "jwt" => BackendKind::Jwt,
                        _ => return Err(v.invalid(format!("unknown backend '{item}': expected a comma-separated list of files, http, jwt"))),
                    };
                    if kinds.contains(&kind) {
                        return Err(v.invalid(format!("backend '{item}' is listed twice")));
                    }
                    kinds.push(kind);
                }
                if kinds.is_empty() {
                    return Err(v.invalid("expected a comma-separated list of files, http, jwt"));
                }
                kinds
            }
        };

        let superusers = match options.get(&spec::SUPERUSERS) {
            None => Vec::new(),
            Some(v) => split_list(v.value)
                .into_iter()
                .map(|p| {
                    glob::Pattern::new(&p)
                        .map_err(|e| v.invalid(format!("'{p}' is not a valid glob pattern: {e}")))
                })
                .collect::<Result<_, _>>()?,
        };

        let anon_username = options
            .string(&spec::ANONUSERNAME)
            .unwrap_or_else(|| "anonymous".into());

        let quiet = options.bool(&spec::LOG_QUIET)?.unwrap_or(false);
        let log_level = match options.get(&spec::LOG_LEVEL) {
            Some(v) => v
                .parse_with("expected one of error, warning, notice, info, debug", |s| {
                    s.parse::<Level>().ok()
                })?,
            None if quiet => Level::Warning,
            None => Level::Notice,
        };
        if let Some(v) = options.get(&spec::LOG_DEST) {
            warnings.push(format!(
                "{} is ignored: mosq-auth writes to the broker's log (set log_dest in mosquitto.conf)",
                v.option()
            ));
        }
        let backend_superusers = !options.bool(&spec::DISABLE_SUPERUSER)?.unwrap_or(false);

        let backends = backends
            .into_iter()
            .map(|kind| {
                Ok(match kind {
                    BackendKind::Files => {
                        BackendSettings::Files(files::FilesSettings::from_options(options)?)
                    }
                    BackendKind::Http => {
                        BackendSettings::Http(Box::new(http::HttpSettings::from_options(options)?))
                    }
                    BackendKind::Jwt => {
                        BackendSettings::Jwt(Box::new(jwt::JwtSettings::from_options(options)?))
                    }
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;

        let cache = CacheSettings::from_options(options)?;
        let connect_workers = options
            .u64_in(&spec::CONNECT_WORKERS, 0, 256)?
            .unwrap_or(16) as usize;
        let connect_max_waiting = options
            .u64_in(&spec::CONNECT_MAX_WAITING, 1, 1_000_000)?
            .unwrap_or(4096) as usize;
        let rules_no_match_deny = match options.get(&spec::RULES_NO_MATCH) {
            None => false,
            Some(v) => v.parse_with("expected next or deny", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "next" => Some(false),
                    "deny" => Some(true),
                    _ => None,
                }
            })?,
        };
        let disconnect_revoked = options.bool(&spec::DISCONNECT_REVOKED)?.unwrap_or(true);
        let metrics_listen = match options.get(&spec::METRICS_LISTEN) {
            None => None,
            Some(v) => Some(v.parse_with(
                "expected host:port (e.g. 127.0.0.1:9234) or a port number",
                |s| {
                    if let Ok(port) = s.parse::<u16>() {
                        return Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
                    }
                    s.parse().ok()
                },
            )?),
        };

        // Options we accept from go-auth configs but have no use for.
        for name in GO_AUTH_IGNORED {
            options.accept(name);
        }

        for (key, suggestion) in options.unknown() {
            warnings.push(match suggestion {
                Some(s) => format!("unknown option auth_opt_{key} (did you mean auth_opt_{s}?)"),
                None => format!("unknown option auth_opt_{key}"),
            });
        }

        Ok(Config {
            backends,
            superusers,
            anon_username,
            log_level,
            backend_superusers,
            cache,
            metrics_listen,
            connect_workers,
            connect_max_waiting,
            rules_no_match_deny,
            disconnect_revoked,
            warnings,
        })
    }

    /// Returns true if and only if `username` matches one of the `superusers` globs.
    pub fn is_glob_superuser(&self, username: &str) -> bool {
        self.superusers.iter().any(|p| p.matches(username))
    }
}

/// go-auth options that select go-auth internals and mean nothing here; accepted silently so
/// a go-auth config loads unchanged.
const GO_AUTH_IGNORED: &[&str] = &[
    "hasher",
    "hasher_salt_size",
    "hasher_iterations",
    "hasher_keylen",
    "hasher_algorithm",
    "hasher_cost",
    "hasher_memory",
    "hasher_parallelism",
    "check_prefix",
    "exhaust_backend_first",
    "retry_count",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Dialect;

    fn opts(pairs: &[(&str, &str)]) -> Options {
        Options::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn backends_are_required_and_validated() {
        let err = Config::parse(&opts(&[])).unwrap_err();
        assert!(
            err.to_string().contains("auth_opt_backends is required"),
            "{err}"
        );
        let err = Config::parse(&opts(&[("backends", "files,redis")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "option auth_opt_backends: invalid value 'files,redis': unknown backend 'redis': expected a comma-separated list of files, http, jwt"
        );
        let err = Config::parse(&opts(&[("backends", "files, files")])).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
    }

    #[test]
    fn bad_log_level_names_option_value_and_choices() {
        let err = Config::parse(&opts(&[
            ("backends", "files"),
            ("password_file", "/dev/null"),
            ("log_level", "loud"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "option auth_opt_log_level: invalid value 'loud': expected one of error, warning, notice, info, debug"
        );
    }

    #[test]
    fn log_quiet_means_warning() {
        let c = Config::parse(&opts(&[
            ("backends", "files"),
            ("password_file", "/dev/null"),
            ("log_quiet", "true"),
        ]))
        .unwrap();
        assert_eq!(c.log_level, Level::Warning);
    }

    #[test]
    fn unknown_options_suggest_the_closest_name() {
        let c = Config::parse(&opts(&[
            ("backends", "files"),
            ("password_file", "/dev/null"),
            ("superuser", "admin"),
            ("completely_different", "1"),
        ]))
        .unwrap();
        assert!(
            c.warnings
                .iter()
                .any(|w| w
                    == "unknown option auth_opt_superuser (did you mean auth_opt_superusers?)"),
            "{:?}",
            c.warnings
        );
        assert!(c
            .warnings
            .iter()
            .any(|w| w == "unknown option auth_opt_completely_different"));
    }

    #[test]
    fn superuser_globs() {
        let c = Config::parse(&opts(&[
            ("backends", "files"),
            ("password_file", "/dev/null"),
            ("superusers", "admin, ops-*"),
        ]))
        .unwrap();
        assert!(c.is_glob_superuser("admin"));
        assert!(c.is_glob_superuser("ops-1"));
        assert!(!c.is_glob_superuser("alice"));
        let err = Config::parse(&opts(&[
            ("backends", "files"),
            ("password_file", "/dev/null"),
            ("superusers", "[oops"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("option auth_opt_superusers: invalid value '[oops'"),
            "{err}"
        );
    }

    #[test]
    fn last_line_wins_across_aliases() {
        let o = opts(&[("password_file", "/a"), ("files_password_path", "/b")]);
        let v = o.get(&files::spec::PASSWORD_FILE).unwrap();
        assert_eq!(v.value, "/b");
        assert_eq!(v.dialect, Dialect::GoAuth);
    }

    #[test]
    fn readme_option_table_is_up_to_date() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let table = options_markdown();
        if std::env::var_os("MOSQ_AUTH_UPDATE_README").is_some() {
            let (start, end) = ("<!-- options:start -->\n", "<!-- options:end -->");
            let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
                panic!("README.md lacks the {start} / {end} markers");
            };
            let updated = format!("{}{start}{table}{}", &readme[..a], &readme[b..]);
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"), updated)
                .expect("write README.md");
            return;
        }
        if !readme.contains(&table) {
            panic!(
                "README.md's option table differs from the option specs in the code: run `MOSQ_AUTH_UPDATE_README=1 cargo test --lib readme` to regenerate it. Expected:\n\n{table}"
            );
        }
    }
}
