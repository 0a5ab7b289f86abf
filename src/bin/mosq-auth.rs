//! `mosq-auth`: the command line companion of the plugin.
//!
//! - `hash` prints a password hash for a password file;
//! - `passwd` adds, updates, deletes and lists users of a password file, safely while the
//!   broker runs (the plugin picks the change up by itself);
//! - `check` loads the plugin's options from mosquitto.conf and says what the broker would
//!   decide for a login or an ACL check, and which backend and rule decided.
//!
//! Exit codes: 0 success (allowed), 1 failure (denied, refused, unknown user), 2 usage or
//! configuration error, 3 backend error (`check`). Passwords are never printed; the only hash
//! printed is the new one from `hash`. Usage text and examples: `docs/cli.md`.

// The crate root is src/bin/mosq-auth.rs, so its submodules need explicit paths.
#[path = "mosq-auth/args.rs"]
mod args;
#[path = "mosq-auth/check.rs"]
mod check;
#[path = "mosq-auth/passwd.rs"]
mod passwd;
#[path = "mosq-auth/password.rs"]
mod password;
#[path = "mosq-auth/token.rs"]
mod token;

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

use args::{Arg, Parser};

/// Exit code: denied, refused, or the command failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad arguments or an unusable configuration.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: a backend could not answer (`check`).
pub const EXIT_BACKEND: u8 = 3;

/// Why the command stopped: the message (without the `mosq-auth: ` prefix) and the exit code.
#[derive(Debug)]
pub struct Fail {
    /// The exit code.
    pub code: u8,
    /// The line printed to standard error after `mosq-auth: `.
    pub msg: String,
}

impl Fail {
    /// A usage error (exit code 2); the line suggests `--help`.
    pub fn usage(cmd: &str, msg: impl fmt::Display) -> Fail {
        let help = if cmd.is_empty() {
            "mosq-auth --help".to_string()
        } else {
            format!("mosq-auth {cmd} --help")
        };
        Fail {
            code: EXIT_USAGE,
            msg: format!("{msg} (see `{help}`)"),
        }
    }

    /// A failure (exit code 1).
    pub fn failed(msg: impl fmt::Display) -> Fail {
        Fail {
            code: EXIT_FAILED,
            msg: msg.to_string(),
        }
    }

    /// A configuration error (exit code 2).
    pub fn config(msg: impl fmt::Display) -> Fail {
        Fail {
            code: EXIT_USAGE,
            msg: msg.to_string(),
        }
    }
}

const MAIN_HELP: &str = "\
mosq-auth: password files and offline checks for the mosq-auth Mosquitto plugin

Usage: mosq-auth <COMMAND> [OPTIONS]

Commands:
  hash     Print a password hash for a password file
  passwd   Add, update, delete or list users of a password file (safe while the broker runs)
  check    Say what the broker would decide for a login or an ACL check, and why
  token    Mint a JWT for testing, or check one against mosquitto.conf (--verify)

Options:
  -h, --help      Print this help (`mosq-auth <COMMAND> --help` for a command's)
  -V, --version   Print the version

Exit codes: 0 success / allowed, 1 failed / denied, 2 usage or configuration error,
3 backend error (check).
";

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match run(argv) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            // Ignore a closed stderr: there is nobody left to tell.
            let _ = writeln!(std::io::stderr(), "mosq-auth: {}", f.msg);
            ExitCode::from(f.code)
        }
    }
}

fn run(argv: Vec<std::ffi::OsString>) -> Result<u8, Fail> {
    let mut p = Parser::new("", argv)?;
    let Some(first) = p.next()? else {
        eprint!("{MAIN_HELP}");
        return Ok(EXIT_USAGE);
    };
    match first {
        Arg::Opt(o, _) if o == "-h" || o == "--help" => {
            print!("{MAIN_HELP}");
            Ok(0)
        }
        Arg::Opt(o, _) if o == "-V" || o == "--version" => {
            println!("mosq-auth {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Arg::Opt(o, _) => Err(Fail::usage("", format_args!("unknown option {o}"))),
        Arg::Pos(cmd) => {
            let rest = p.rest();
            match cmd.as_str() {
                "hash" => passwd::hash_cmd(Parser::new("hash", rest)?),
                "passwd" => passwd::passwd_cmd(Parser::new("passwd", rest)?),
                "check" => check::check_cmd(Parser::new("check", rest)?),
                "token" => token::token_cmd(Parser::new("token", rest)?),
                "help" => match rest.first().and_then(|s| s.to_str()) {
                    None => {
                        print!("{MAIN_HELP}");
                        Ok(0)
                    }
                    Some("hash") => help(passwd::HASH_HELP),
                    Some("passwd") => help(passwd::PASSWD_HELP),
                    Some("check") => help(check::CHECK_HELP),
                    Some("token") => help(token::TOKEN_HELP),
                    Some(other) => Err(Fail::usage("", format_args!("unknown command '{other}'"))),
                },
                other => Err(Fail::usage("", format_args!("unknown command '{other}'"))),
            }
        }
    }
}

/// Prints a command's help to standard output; exit code 0.
pub fn help(text: &str) -> Result<u8, Fail> {
    print!("{text}");
    Ok(0)
}
