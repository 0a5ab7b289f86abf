//! The CLI's mosquitto.conf reader (`mosq_auth::conf::BrokerConf::read`), which `mosq-auth
//! check` and `mosq-auth token --verify` use to build the plugin's options as the broker would.
//!
//! - It returns the configuration or an error, never panics, and an error names the file it is
//!   about (`file:line: reason` or `file: reason`).
//! - Read twice, the same files give the same result.
//! - Every plugin block is at `file:line` of a file that was read; option names are one word
//!   without the prefix and are not empty; values are non-empty and trimmed.
//! - Without `include_dir`, the options collected are exactly the `auth_opt_*` /
//!   `plugin_opt_*` lines of the file.
//!
//! Input: up to three files split at NUL bytes: the main file and two files of an include
//! directory. Every `include_dir` line is pointed at that directory (so includes nest until the
//! reader's depth limit), never at the rest of the machine. The files are written under
//! `$MOSQ_AUTH_FUZZ_SCRATCH` (`scripts/fuzz.sh` sets it inside its work directory and removes
//! it after the run: libFuzzer ends the process without running destructors), else the
//! system's temporary directory.

#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mosq_auth::conf::BrokerConf;

fn work_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("MOSQ_AUTH_FUZZ_SCRATCH")
            .map_or_else(std::env::temp_dir, PathBuf::from);
        let d = base.join(format!("mosq-auth-fuzz-conf-{}", std::process::id()));
        fs::create_dir_all(d.join("inc")).expect("work dir");
        d
    })
}

/// `text` with every `include_dir` line pointed at `inc`.
fn contain(text: &str, inc: &str) -> (String, bool) {
    let mut out = String::new();
    let mut includes = false;
    for line in text.lines() {
        if line.trim_start().starts_with("include_dir") {
            includes = true;
            out.push_str("include_dir ");
            out.push_str(inc);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    (out, includes)
}

fuzz_target!(|data: &[u8]| {
    let dir = work_dir();
    let inc = dir.join("inc");
    let inc_s = inc.to_string_lossy().into_owned();
    let mut parts = data.splitn(3, |&b| b == 0);
    let main_raw = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (main, includes) = contain(&main_raw, &inc_s);
    let main_path = dir.join("mosquitto.conf");
    fs::write(&main_path, &main).expect("write main");
    for name in ["a.conf", "b.conf"] {
        let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        fs::write(inc.join(name), contain(&text, &inc_s).0).expect("write include");
    }

    let first = BrokerConf::read(&main_path);
    let again = BrokerConf::read(&main_path);
    assert_eq!(
        format!("{first:?}"),
        format!("{again:?}"),
        "not deterministic"
    );
    let dir_s = dir.to_string_lossy().into_owned();
    match first {
        Err(e) => assert!(e.starts_with(&dir_s), "an error that names no file: {e:?}"),
        Ok(conf) => {
            let mut options = 0;
            for b in &conf.blocks {
                assert!(b.at.starts_with(&dir_s) && b.at.contains(".conf:"), "{b:?}");
                assert!(!b.path.is_empty(), "{b:?}");
                for (name, value) in &b.options {
                    assert!(!name.is_empty(), "{b:?}");
                    // One prefix is taken off (`plugin_opt_auth_opt_x` is option `auth_opt_x`,
                    // as in the broker); the name is one word of the line.
                    assert!(!name.contains([' ', '\t']), "{name:?}");
                    assert!(!value.is_empty() && value.trim() == value, "{value:?}");
                }
                options += b.options.len();
            }
            if !includes {
                let lines = main
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("auth_opt_") || l.starts_with("plugin_opt_"))
                    .count();
                assert_eq!(options, lines, "options collected vs option lines");
            }
        }
    }
});
