//! The toolkit every option parser uses: option descriptions ([`OptSpec`]), the raw option
//! lines ([`Options`]) and the one error type for bad values ([`ConfigError`]).
//!
//! Every option is described once by an [`OptSpec`]: our name, the names auth-plug and
//! mosquitto-go-auth use for it, its default and its meaning. A value that does not parse is a
//! [`ConfigError`] naming the option, the value and what is allowed, so the broker refuses to
//! start; an option nobody asked for is reported by [`Options::unknown`] with the closest known
//! name. Each module that owns options parses them with these helpers; [`crate::config`]
//! gathers them.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Which plugin's documentation an option name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// mosq-auth's own name.
    Ours,
    /// jpmens/mosquitto-auth-plug.
    AuthPlug,
    /// iegomez/mosquitto-go-auth.
    GoAuth,
}

/// One option: its names, its default and what it does.
#[derive(Debug)]
pub struct OptSpec {
    /// mosq-auth's name (without the `auth_opt_` prefix).
    pub name: &'static str,
    /// The names auth-plug accepts for it (empty: auth-plug has no such option).
    pub auth_plug: &'static [&'static str],
    /// The names go-auth accepts for it (empty: go-auth has no such option).
    pub go_auth: &'static [&'static str],
    /// The default, as shown in the README.
    pub default: &'static str,
    /// One line on what it does.
    pub doc: &'static str,
    /// True for options whose value is a secret: it is never echoed in an error or log line.
    pub secret: bool,
}

impl OptSpec {
    /// Every name this option is accepted under, each once, with its dialect: a name that only
    /// auth-plug (or only go-auth) uses has that dialect; ours and shared names are [`Dialect::Ours`].
    pub fn names(&self) -> impl Iterator<Item = (&'static str, Dialect)> + '_ {
        let dialect = move |n: &str| match (self.auth_plug.contains(&n), self.go_auth.contains(&n))
        {
            (true, false) if n != self.name => Dialect::AuthPlug,
            (false, true) if n != self.name => Dialect::GoAuth,
            _ => Dialect::Ours,
        };
        let all = std::iter::once(self.name)
            .chain(self.auth_plug.iter().copied())
            .chain(self.go_auth.iter().copied());
        let mut seen: Vec<&'static str> = Vec::new();
        all.filter(move |n| {
            if seen.contains(n) {
                false
            } else {
                seen.push(n);
                true
            }
        })
        .map(move |n| (n, dialect(n)))
    }
}

/// A wrong option value or a missing required option. Its `Display` is the whole message the
/// operator sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse.
    #[error("option {option}: invalid value '{value}': {expected}")]
    Invalid {
        /// The option as written (e.g. `auth_opt_http_timeout`).
        option: String,
        /// The value as written, or `<redacted>` for secrets.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// A required option that is absent.
    #[error("option {option} is required: {why}")]
    Missing {
        /// The option's name.
        option: String,
        /// Why it is needed.
        why: String,
    },
    /// A file or combination of options that cannot work.
    #[error("{0}")]
    Other(String),
}

/// One option value as the operator wrote it.
#[derive(Clone, Copy, Debug)]
pub struct Value<'a> {
    /// The name it was written under (without prefix).
    pub name: &'a str,
    /// The dialect that name belongs to.
    pub dialect: Dialect,
    /// The raw value.
    pub value: &'a str,
    secret: bool,
}

impl Value<'_> {
    /// The option as the operator wrote it, e.g. `auth_opt_http_port`.
    pub fn option(&self) -> String {
        format!("auth_opt_{}", self.name)
    }

    /// An error saying this value is not allowed.
    pub fn invalid(&self, expected: impl fmt::Display) -> ConfigError {
        ConfigError::Invalid {
            option: self.option(),
            value: if self.secret {
                "<redacted>".into()
            } else {
                self.value.to_string()
            },
            expected: expected.to_string(),
        }
    }

    /// Parses with `f`; `None` from `f` becomes an error saying `expected`.
    pub fn parse_with<T>(
        &self,
        expected: &str,
        f: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, ConfigError> {
        f(self.value.trim()).ok_or_else(|| self.invalid(expected))
    }
}

struct Entry {
    key: String,
    value: String,
    used: Cell<bool>,
}

/// The raw options handed to the plugin, with the bookkeeping to find unknown ones.
pub struct Options {
    entries: Vec<Entry>,
    asked: RefCell<Vec<&'static str>>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: list the keys only.
        f.debug_list()
            .entries(self.entries.iter().map(|e| &e.key))
            .finish()
    }
}

impl Options {
    /// Options from `(key, value)` pairs, keys without the `auth_opt_`/`plugin_opt_` prefix
    /// (the broker strips it).
    pub fn new<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Options {
        Options {
            entries: pairs
                .into_iter()
                .map(|(k, v)| Entry {
                    key: k.into(),
                    value: v.into(),
                    used: Cell::new(false),
                })
                .collect(),
            asked: RefCell::new(Vec::new()),
        }
    }

    /// The value of `spec` under any of its names. When several lines set it, the last wins
    /// (as in mosquitto.conf).
    pub fn get(&self, spec: &OptSpec) -> Option<Value<'_>> {
        let mut found = None;
        for (name, dialect) in spec.names() {
            self.asked.borrow_mut().push(name);
            for (i, e) in self.entries.iter().enumerate() {
                if e.key == name {
                    e.used.set(true);
                    if found.map_or(true, |(j, _)| i > j) {
                        found = Some((
                            i,
                            Value {
                                name: &e.key,
                                dialect,
                                value: &e.value,
                                secret: spec.secret,
                            },
                        ));
                    }
                }
            }
        }
        found.map(|(_, v)| v)
    }

    /// Marks options with this exact name as known without reading them.
    pub fn accept(&self, name: &'static str) {
        self.asked.borrow_mut().push(name);
        for e in &self.entries {
            if e.key == name {
                e.used.set(true);
            }
        }
    }

    /// The trimmed string value of `spec`, if set and not empty.
    pub fn string(&self, spec: &OptSpec) -> Option<String> {
        self.get(spec)
            .map(|v| v.value.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// A boolean (`true/false`, `yes/no`, `on/off`, `1/0`).
    pub fn bool(&self, spec: &OptSpec) -> Result<Option<bool>, ConfigError> {
        self.get(spec)
            .map(|v| v.parse_with("expected true or false", parse_bool))
            .transpose()
    }

    /// A whole number within `min..=max`.
    pub fn u64_in(&self, spec: &OptSpec, min: u64, max: u64) -> Result<Option<u64>, ConfigError> {
        self.get(spec)
            .map(|v| {
                v.parse_with(
                    &format!("expected a whole number from {min} to {max}"),
                    |s| s.parse::<u64>().ok().filter(|n| (min..=max).contains(n)),
                )
            })
            .transpose()
    }

    /// A duration in seconds (decimals allowed, e.g. `0.5`) within `min..=max`.
    pub fn seconds(
        &self,
        spec: &OptSpec,
        min: Duration,
        max: Duration,
    ) -> Result<Option<Duration>, ConfigError> {
        self.get(spec)
            .map(|v| {
                let expected = format!(
                    "expected a number of seconds from {} to {}",
                    min.as_secs_f64(),
                    max.as_secs_f64()
                );
                v.parse_with(&expected, |s| {
                    let n: f64 = s.parse().ok()?;
                    // try_from: a value past what a Duration holds (1e20) is out of range, not
                    // a panic.
                    let d = Duration::try_from_secs_f64(n).ok()?;
                    (min..=max).contains(&d).then_some(d)
                })
            })
            .transpose()
    }

    /// A comma- (or space-) separated list, empty items dropped.
    pub fn list(&self, spec: &OptSpec) -> Option<Vec<String>> {
        self.get(spec).map(|v| split_list(v.value))
    }

    /// A path; relative paths are kept as written (the broker's working directory applies).
    pub fn path(&self, spec: &OptSpec) -> Option<PathBuf> {
        self.string(spec).map(PathBuf::from)
    }

    /// Options no parser asked for, each with the closest known name when one is close.
    pub fn unknown(&self) -> Vec<(String, Option<&'static str>)> {
        let asked = self.asked.borrow();
        self.entries
            .iter()
            .filter(|e| !e.used.get())
            .map(|e| (e.key.clone(), closest(&e.key, &asked)))
            .collect()
    }
}

/// Splits a comma- or whitespace-separated list.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses mosquitto-style booleans.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn closest(name: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECS: OptSpec = OptSpec {
        name: "some_seconds",
        auth_plug: &[],
        go_auth: &[],
        default: "1",
        doc: "",
        secret: false,
    };

    #[test]
    fn seconds_out_of_any_range_name_the_option_instead_of_panicking() {
        let (min, max) = (Duration::ZERO, Duration::from_secs(3600));
        for bad in [
            "1e20",
            "18446744073709551616",
            "inf",
            "NaN",
            "-1",
            "3601",
            "x",
        ] {
            let o = Options::new([("some_seconds", bad)]);
            let err = o.seconds(&SECS, min, max).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "option auth_opt_some_seconds: invalid value '{bad}': expected a number of seconds from 0 to 3600"
                )
            );
        }
        let o = Options::new([("some_seconds", "0.5")]);
        assert_eq!(
            o.seconds(&SECS, min, max).unwrap(),
            Some(Duration::from_millis(500))
        );
    }
}
