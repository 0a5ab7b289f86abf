//! The whole option set: `Config::parse` over arbitrary `auth_opt_*` lines, and the value
//! helpers of `mosq_auth::options` (`bool`, `u64_in`, `seconds`, `list`, `split_list`).
//!
//! - `Config::parse` returns `Ok` or a `ConfigError`, never panics.
//! - No secret value (an option marked secret, or whose name holds `secret` or `password` and
//!   is not a path) appears in the error text, in a warning, or in `Debug` of the config; nor do
//!   the contents of the key files the options point to.
//! - The value helpers stay within their bounds: `u64_in` and `seconds` give a value in
//!   `min..=max` or an error naming the option; `split_list` gives non-empty items without
//!   separators.
//!
//! Input: lines `name value` (an `auth_opt_`/`plugin_opt_` prefix is dropped). Path options
//! never reach arbitrary files: the values `pem`, `jwks`, `secret`, `ca`, `cert` and `key`
//! name the files in `fuzz/fixtures/`, anything else a path under `/nonexistent/`.

#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mosq_auth::config::{all_specs, Config};
use mosq_auth::options::{parse_bool, split_list, ConfigError, OptSpec, Options};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

/// Text of the fixture files that must never show up anywhere (the HMAC secret, the private key).
const FIXTURE_SECRETS: [&str; 2] = [
    "fz-file-secret-Kq8",
    "MHcCAQEEIOlZ0wESfXhnUwsLkD+Q3Y4YM6HiULRqb4u6hwD6aBRJoAoGCCqGSM49",
];

struct Names {
    paths: HashSet<&'static str>,
    secrets: HashSet<&'static str>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut paths = HashSet::new();
        let mut secrets = HashSet::new();
        for spec in all_specs() {
            let is_path = spec.name.ends_with("_file")
                || spec.name.ends_with("_path")
                || matches!(spec.name, "http_client_cert" | "http_client_key");
            for (name, _) in spec.names() {
                if is_path || name.ends_with("_file") || name.ends_with("_path") {
                    paths.insert(name);
                } else if spec.secret || name.contains("secret") || name.contains("password") {
                    secrets.insert(name);
                }
            }
        }
        Names { paths, secrets }
    })
}

fn is_secret_name(key: &str) -> bool {
    let n = names();
    n.secrets.contains(key)
        || (!n.paths.contains(key)
            && !key.ends_with("_file")
            && !key.ends_with("_path")
            && (key.contains("secret") || key.contains("password")))
}

fn safe_path(value: &str) -> String {
    let file = match value.trim() {
        "pem" => "ec-public.pem",
        "jwks" => "jwks.json",
        "secret" => "jwt-secret",
        "ca" | "cert" => "ec-cert.pem",
        "key" => "ec-key.pem",
        other => {
            let clean: String = other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .take(40)
                .collect();
            return format!("/nonexistent/{clean}");
        }
    };
    format!("{FIXTURES}/{file}")
}

const SECS: OptSpec = OptSpec {
    name: "fz_seconds",
    auth_plug: &[],
    go_auth: &["fz_go_seconds"],
    default: "1",
    doc: "",
    secret: false,
};

/// The value helpers on one raw value, with bounds from the input.
fn helpers(value: &str, a: u64, b: u64) {
    let (min, max) = (a.min(b), a.max(b));
    let o = Options::new([("fz_seconds", value)]);
    match o.u64_in(&SECS, min, max) {
        Ok(Some(n)) => assert!((min..=max).contains(&n), "u64_in {n} outside {min}..={max}"),
        Ok(None) => panic!("u64_in: the option is set"),
        Err(e) => assert!(e.to_string().contains("auth_opt_fz_seconds"), "{e}"),
    }
    let (dmin, dmax) = (Duration::from_millis(min), Duration::from_millis(max));
    match o.seconds(&SECS, dmin, dmax) {
        Ok(Some(d)) => assert!(d >= dmin && d <= dmax, "seconds {d:?} outside {dmin:?}..={dmax:?}"),
        Ok(None) => panic!("seconds: the option is set"),
        Err(e) => assert!(e.to_string().contains("auth_opt_fz_seconds"), "{e}"),
    }
    match o.bool(&SECS) {
        Ok(Some(v)) => assert_eq!(parse_bool(value.trim()), Some(v)),
        Ok(None) => panic!("bool: the option is set"),
        Err(_) => assert_eq!(parse_bool(value.trim()), None),
    }
    for item in split_list(value) {
        assert!(!item.is_empty(), "split_list gave an empty item");
        assert!(
            !item.contains(|c: char| c == ',' || c.is_whitespace()),
            "split_list item {item:?} holds a separator"
        );
    }
    assert_eq!(o.list(&SECS), Some(split_list(value)));
    assert!(o.unknown().is_empty(), "an option asked for is reported unknown");
}

fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "{what} shows the secret {s:?}: {text}");
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once([' ', '\t']) {
            Some((k, v)) => (k, v.trim_start_matches([' ', '\t'])),
            None => (line, ""),
        };
        let key = key
            .strip_prefix("auth_opt_")
            .or_else(|| key.strip_prefix("plugin_opt_"))
            .unwrap_or(key);
        let value = if names().paths.contains(key) {
            safe_path(value)
        } else {
            value.to_string()
        };
        pairs.push((key.to_string(), value));
    }
    if pairs.len() > 64 {
        return;
    }

    if let Some((_, v)) = pairs.first() {
        let a = u64::from(data[0]) * 997;
        let b = u64::from(data[data.len() - 1]) * 7919;
        helpers(v, a, b);
    }

    // Secret values distinctive enough to look for: not a substring of any non-secret key or
    // value, and at least 4 characters.
    let mut plain: Vec<&str> = pairs
        .iter()
        .flat_map(|(k, v)| [k.as_str()].into_iter().chain((!is_secret_name(k)).then_some(v.as_str())))
        .collect();
    plain.extend(all_specs().iter().flat_map(|s| s.names().map(|(n, _)| n)));
    let mut secrets: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| is_secret_name(k))
        .map(|(_, v)| v.trim())
        .filter(|v| v.len() >= 4 && !plain.iter().any(|p| p.contains(v)))
        .collect();
    secrets.extend(FIXTURE_SECRETS.iter().copied().filter(|s| !text.contains(s)));

    let options = Options::new(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    // The same options with every secret value replaced: a secret that shows in their output
    // too is part of the fixed text (a default such as 100000 holds a secret "1000"), no leak.
    let masked = Options::new(pairs.iter().map(|(k, v)| {
        let v = if is_secret_name(k) { "Q".repeat(v.len()) } else { v.clone() };
        (k.clone(), v)
    }));
    let masked_config = Config::parse(&masked).ok();
    let no_leak = |what: &str, text: &str, fixed: Option<String>| {
        for s in &secrets {
            let fixed_text = !FIXTURE_SECRETS.contains(s)
                && fixed.as_deref().is_some_and(|f| f.contains(s));
            assert!(!text.contains(s) || fixed_text, "{what} shows the secret {s:?}: {text}");
        }
    };
    no_leak("Options Debug", &format!("{options:?}"), Some(format!("{masked:?}")));
    match Config::parse(&options) {
        Ok(config) => {
            let masked_warnings = masked_config.as_ref().map(|c| c.warnings.join("\n"));
            for w in &config.warnings {
                no_leak("a warning", w, masked_warnings.clone());
            }
            let masked_debug = masked_config.as_ref().map(|c| format!("{c:?}"));
            no_leak("Config Debug", &format!("{config:?}"), masked_debug);
        }
        Err(e) => {
            let msg = e.to_string();
            // A secret that is also part of the fixed text of this message is no leak: the
            // message must not change when the secret values are replaced.
            let leaked: Vec<&str> = secrets
                .iter()
                .copied()
                .filter(|s| msg.contains(s) && !FIXTURE_SECRETS.contains(s))
                .collect();
            if !leaked.is_empty() {
                let masked = Options::new(pairs.iter().map(|(k, v)| {
                    let v = if is_secret_name(k) && leaked.contains(&v.trim()) {
                        "Q".repeat(v.len())
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                }));
                let again = Config::parse(&masked).err().map(|e| e.to_string());
                for s in &leaked {
                    assert!(
                        again.as_deref().is_some_and(|m| m.contains(s)),
                        "error shows the secret {s:?}: {msg}"
                    );
                }
            }
            // The key files' text, unless the input itself wrote it into some value (then the
            // error may quote that value: it is not read from the file).
            let fixture: Vec<&str> = FIXTURE_SECRETS
                .iter()
                .copied()
                .filter(|s| !text.contains(s))
                .collect();
            assert_no_secret("the error", &msg, &fixture);
            if let ConfigError::Invalid { option, .. } = &e {
                assert!(option.starts_with("auth_opt_"), "option {option:?}");
            }
        }
    }
});
