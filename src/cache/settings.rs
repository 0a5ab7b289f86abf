//! The cache's options and their validated settings.

use std::time::Duration;

use crate::options::{ConfigError, OptSpec, Options};

/// Option specs of the cache.
pub mod spec {
    use crate::options::OptSpec;

    /// `cache`
    pub const CACHE: OptSpec = OptSpec {
        name: "cache",
        auth_plug: &[],
        go_auth: &["cache"],
        default: "`true`",
        doc: "Cache backend answers in memory. On by default: the broker asks for read access for every delivered message.",
        secret: false,
    };
    /// `auth_cache_seconds`
    pub const AUTH_SECONDS: OptSpec = OptSpec {
        name: "auth_cache_seconds",
        auth_plug: &["auth_cacheseconds"],
        go_auth: &["auth_cache_seconds"],
        default: "`30`",
        doc: "How long a successful password check is cached (0: not cached). The key is a salted hash, never the password.",
        secret: false,
    };
    /// `auth_cache_negative_seconds`
    pub const AUTH_NEGATIVE_SECONDS: OptSpec = OptSpec {
        name: "auth_cache_negative_seconds",
        auth_plug: &[],
        go_auth: &[],
        default: "`5`",
        doc: "How long a refused password check is cached (0: not cached). Short, so a fixed password works at once.",
        secret: false,
    };
    /// `acl_cache_seconds`
    pub const ACL_SECONDS: OptSpec = OptSpec {
        name: "acl_cache_seconds",
        auth_plug: &["acl_cacheseconds", "cacheseconds"],
        go_auth: &["acl_cache_seconds"],
        default: "`300`",
        doc: "How long an allowed ACL or superuser answer is cached (0: not cached). auth-plug's default; hot entries are refreshed before they expire.",
        secret: false,
    };
    /// `acl_cache_negative_seconds`
    pub const ACL_NEGATIVE_SECONDS: OptSpec = OptSpec {
        name: "acl_cache_negative_seconds",
        auth_plug: &[],
        go_auth: &[],
        default: "`10`",
        doc: "How long a denied (or undecided) ACL or superuser answer is cached (0: not cached).",
        secret: false,
    };
    /// `auth_jitter_seconds`
    pub const AUTH_JITTER: OptSpec = OptSpec {
        name: "auth_jitter_seconds",
        auth_plug: &["auth_cachejitter", "auth_cacheijitter"],
        go_auth: &["auth_jitter_seconds"],
        default: "`0`",
        doc: "Up to this many seconds are added at random to each cached password answer, so entries do not expire together.",
        secret: false,
    };
    /// `acl_jitter_seconds`
    pub const ACL_JITTER: OptSpec = OptSpec {
        name: "acl_jitter_seconds",
        auth_plug: &["acl_cachejitter"],
        go_auth: &["acl_jitter_seconds"],
        default: "`0`",
        doc: "Up to this many seconds are added at random to each cached ACL answer.",
        secret: false,
    };
    /// `cache_max_entries`
    pub const MAX_ENTRIES: OptSpec = OptSpec {
        name: "cache_max_entries",
        auth_plug: &[],
        go_auth: &[],
        default: "`100000`",
        doc: "Most answers kept per backend and kind (password, superuser, ACL); the least used go first. Bounds memory (about 600 bytes an ACL entry). A copy of up to 4096 recent ACL and superuser answers sits in a front table that the broker thread reads without allocating.",
        secret: false,
    };
    /// `cache_refresh`
    pub const REFRESH: OptSpec = OptSpec {
        name: "cache_refresh",
        auth_plug: &[],
        go_auth: &["cache_refresh"],
        default: "`true`",
        doc: "Refresh ACL answers in the background when they are used in the last fifth of their life.",
        secret: false,
    };
    /// `cache_type`
    pub const TYPE: OptSpec = OptSpec {
        name: "cache_type",
        auth_plug: &[],
        go_auth: &["cache_type"],
        default: "`memory`",
        doc: "Only the in-memory cache exists (`memory`; go-auth's `go-cache` is accepted as the same). `redis` is refused.",
        secret: false,
    };
    /// `cache_reset`
    pub const RESET: OptSpec = OptSpec {
        name: "cache_reset",
        auth_plug: &[],
        go_auth: &["cache_reset"],
        default: "`false`",
        doc: "Accepted for go-auth configs; the in-memory cache always starts empty.",
        secret: false,
    };

    /// All cache options.
    pub const ALL: &[&OptSpec] = &[
        &CACHE,
        &AUTH_SECONDS,
        &AUTH_NEGATIVE_SECONDS,
        &ACL_SECONDS,
        &ACL_NEGATIVE_SECONDS,
        &AUTH_JITTER,
        &ACL_JITTER,
        &MAX_ENTRIES,
        &REFRESH,
        &TYPE,
        &RESET,
    ];
}

/// The cache options.
pub const OPTIONS: &[&OptSpec] = spec::ALL;

/// The cache's validated settings.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheSettings {
    /// Whether answers are cached at all.
    pub enabled: bool,
    /// Time to live of an allowed password check.
    pub auth_ttl: Duration,
    /// Time to live of a refused password check.
    pub auth_negative_ttl: Duration,
    /// Time to live of an allowed ACL or superuser answer.
    pub acl_ttl: Duration,
    /// Time to live of a denied or undecided ACL or superuser answer.
    pub acl_negative_ttl: Duration,
    /// Random extra time for password answers.
    pub auth_jitter: Duration,
    /// Random extra time for ACL answers.
    pub acl_jitter: Duration,
    /// Most entries per cache.
    pub max_entries: u64,
    /// Whether hot ACL answers are refreshed in the background.
    pub refresh: bool,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings {
            enabled: true,
            auth_ttl: Duration::from_secs(30),
            auth_negative_ttl: Duration::from_secs(5),
            acl_ttl: Duration::from_secs(300),
            acl_negative_ttl: Duration::from_secs(10),
            auth_jitter: Duration::ZERO,
            acl_jitter: Duration::ZERO,
            max_entries: 100_000,
            refresh: true,
        }
    }
}

impl CacheSettings {
    /// Reads the cache options.
    pub fn from_options(options: &Options) -> Result<CacheSettings, ConfigError> {
        let d = CacheSettings::default();
        let day = Duration::from_secs(86_400);
        let secs = |spec: &OptSpec, default: Duration| -> Result<Duration, ConfigError> {
            Ok(options
                .seconds(spec, Duration::ZERO, day)?
                .unwrap_or(default))
        };
        if let Some(v) = options.get(&spec::TYPE) {
            v.parse_with(
                "only the in-memory cache is available: expected memory (or go-cache)",
                |s| matches!(s.to_ascii_lowercase().as_str(), "memory" | "go-cache").then_some(()),
            )?;
        }
        options.bool(&spec::RESET)?;
        let auth_ttl = secs(&spec::AUTH_SECONDS, d.auth_ttl)?;
        let acl_ttl = secs(&spec::ACL_SECONDS, d.acl_ttl)?;
        Ok(CacheSettings {
            enabled: options.bool(&spec::CACHE)?.unwrap_or(true),
            auth_ttl,
            auth_negative_ttl: secs(
                &spec::AUTH_NEGATIVE_SECONDS,
                d.auth_negative_ttl.min(auth_ttl),
            )?,
            acl_ttl,
            acl_negative_ttl: secs(&spec::ACL_NEGATIVE_SECONDS, d.acl_negative_ttl.min(acl_ttl))?,
            auth_jitter: secs(&spec::AUTH_JITTER, d.auth_jitter)?,
            acl_jitter: secs(&spec::ACL_JITTER, d.acl_jitter)?,
            max_entries: options
                .u64_in(&spec::MAX_ENTRIES, 1, 100_000_000)?
                .unwrap_or(d.max_entries),
            refresh: options.bool(&spec::REFRESH)?.unwrap_or(d.refresh),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_aliases() {
        let o = Options::new([
            ("acl_cacheseconds", "60"),
            ("auth_cacheijitter", "2"),
            ("cache", "false"),
        ]);
        let s = CacheSettings::from_options(&o).unwrap();
        assert_eq!(s.acl_ttl, Duration::from_secs(60));
        assert_eq!(s.auth_jitter, Duration::from_secs(2));
        assert!(!s.enabled);
        let err =
            CacheSettings::from_options(&Options::new([("cache_type", "redis")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "option auth_opt_cache_type: invalid value 'redis': only the in-memory cache is available: expected memory (or go-cache)"
        );
        let err =
            CacheSettings::from_options(&Options::new([("acl_cache_seconds", "-1")])).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected a number of seconds from 0 to 86400"),
            "{err}"
        );
    }
}
