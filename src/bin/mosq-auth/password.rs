//! Reading a password: from a no-echo prompt when standard input is a terminal, otherwise one
//! line of standard input with its trailing newline removed.

use std::io::{self, BufRead, IsTerminal, Write};

use mosq_auth::ffi::term::NoEcho;
use mosq_auth::secret::Secret;
use zeroize::Zeroizing;

use crate::Fail;

/// Longest password accepted (MQTT's limit for the password field).
const MAX_LEN: usize = 65_535;

/// Reads one line of standard input, without the trailing `\n` (nothing else is stripped).
fn read_line() -> Result<Option<Secret>, Fail> {
    let mut buf = Zeroizing::new(Vec::new());
    let n = io::stdin()
        .lock()
        .read_until(b'\n', &mut buf)
        .map_err(|e| Fail::failed(format_args!("cannot read the password: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    Ok(Some(Secret::new(buf.as_slice())))
}

/// Prompts on standard error and reads a line with echo off.
fn prompt(text: &str) -> Result<Option<Secret>, Fail> {
    // Echo goes off before the prompt shows, so nothing typed after the prompt is echoed or
    // flushed away.
    let guard = NoEcho::new()
        .map_err(|e| Fail::failed(format_args!("cannot turn off terminal echo: {e}")))?;
    eprint!("{text}");
    let _ = io::stderr().flush();
    let line = read_line();
    drop(guard);
    // The user's Enter was not echoed.
    eprintln!();
    line
}

fn check(pw: Option<Secret>) -> Result<Secret, Fail> {
    match pw {
        None => Err(Fail::failed("no password given (standard input is empty)")),
        Some(p) if p.is_empty() => Err(Fail::failed(
            "empty password: the plugin refuses empty passwords",
        )),
        Some(p) if p.expose().len() > MAX_LEN => Err(Fail::failed(format_args!(
            "password longer than {MAX_LEN} bytes (MQTT's limit)"
        ))),
        Some(p) => Ok(p),
    }
}

/// A new password: prompted twice on a terminal, else one line of standard input.
pub fn read_new() -> Result<Secret, Fail> {
    if !io::stdin().is_terminal() {
        return check(read_line()?);
    }
    let first = check(prompt("Password: ")?)?;
    let second = prompt("Reenter password: ")?;
    if second.as_ref().map(Secret::expose) != Some(first.expose()) {
        return Err(Fail::failed("passwords do not match"));
    }
    Ok(first)
}

/// A password to check: prompted once on a terminal, else one line of standard input. An
/// empty password is returned as is (the broker passes it to the plugin as none).
pub fn read_existing() -> Result<Secret, Fail> {
    let pw = if io::stdin().is_terminal() {
        prompt("Password: ")?
    } else {
        read_line()?
    };
    match pw {
        Some(p) if p.is_empty() => Ok(p),
        other => check(other),
    }
}
