//! A small command line parser: long options with `--name VALUE` or `--name=VALUE`, short
//! options with `-x VALUE` or `-xVALUE`, positional arguments, and `--` to end options.

use std::collections::VecDeque;
use std::ffi::OsString;

use crate::Fail;

/// One command line item.
#[derive(Debug, PartialEq, Eq)]
pub enum Arg {
    /// An option as written (`--scheme`, `-c`) and its inline value (`--scheme=7`, `-cFILE`).
    Opt(String, Option<String>),
    /// A positional argument.
    Pos(String),
}

/// The arguments of one command.
#[derive(Debug)]
pub struct Parser {
    cmd: &'static str,
    args: VecDeque<String>,
    only_positional: bool,
}

impl Parser {
    /// The arguments of `cmd` (`""` for the top level). Arguments must be UTF-8.
    pub fn new(cmd: &'static str, argv: Vec<OsString>) -> Result<Parser, Fail> {
        let args = argv
            .into_iter()
            .map(|a| {
                a.into_string().map_err(|a| {
                    Fail::usage(
                        cmd,
                        format_args!("argument {} is not valid UTF-8", a.to_string_lossy()),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Parser {
            cmd,
            args,
            only_positional: false,
        })
    }

    /// The next item, or `None` at the end.
    pub fn next(&mut self) -> Result<Option<Arg>, Fail> {
        let Some(a) = self.args.pop_front() else {
            return Ok(None);
        };
        if self.only_positional || a == "-" || !a.starts_with('-') {
            return Ok(Some(Arg::Pos(a)));
        }
        if a == "--" {
            self.only_positional = true;
            return self.next();
        }
        if a.starts_with("--") {
            return Ok(Some(match a.split_once('=') {
                Some((name, value)) => Arg::Opt(name.to_string(), Some(value.to_string())),
                None => Arg::Opt(a, None),
            }));
        }
        // A short option, possibly with its value attached.
        let mut chars = a.char_indices().skip(1);
        let split = chars.nth(1).map(|(i, _)| i);
        Ok(Some(match split {
            Some(i) => Arg::Opt(a[..i].to_string(), Some(a[i..].to_string())),
            None => Arg::Opt(a, None),
        }))
    }

    /// The value of option `opt`: the inline one or the next argument.
    pub fn value(&mut self, opt: &str, inline: Option<String>) -> Result<String, Fail> {
        if let Some(v) = inline {
            return Ok(v);
        }
        match self.args.pop_front() {
            Some(v) => Ok(v),
            None => Err(self.usage(format_args!("option {opt} needs a value"))),
        }
    }

    /// Fails if a flag (an option without a value) was given one.
    pub fn flag(&self, opt: &str, inline: Option<String>) -> Result<(), Fail> {
        match inline {
            None => Ok(()),
            Some(_) => Err(self.usage(format_args!("option {opt} takes no value"))),
        }
    }

    /// A usage error for this command.
    pub fn usage(&self, msg: impl std::fmt::Display) -> Fail {
        Fail::usage(self.cmd, msg)
    }

    /// An error for an option this command does not have.
    pub fn unknown(&self, opt: &str) -> Fail {
        self.usage(format_args!("unknown option {opt}"))
    }

    /// The arguments not consumed yet.
    pub fn rest(self) -> Vec<OsString> {
        self.args.into_iter().map(OsString::from).collect()
    }
}

/// Returns true if and only if `opt` asks for help.
pub fn is_help(opt: &str) -> bool {
    opt == "-h" || opt == "--help"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Vec<Arg> {
        let mut p = Parser::new("t", args.iter().map(OsString::from).collect()).unwrap();
        let mut out = Vec::new();
        while let Some(a) = p.next().unwrap() {
            out.push(a);
        }
        out
    }

    #[test]
    fn long_short_inline_and_double_dash() {
        assert_eq!(
            parse(&["--scheme=7", "-cFILE", "-u", "x", "--", "--help", "-"]),
            vec![
                Arg::Opt("--scheme".into(), Some("7".into())),
                Arg::Opt("-c".into(), Some("FILE".into())),
                Arg::Opt("-u".into(), None),
                Arg::Pos("x".into()),
                Arg::Pos("--help".into()),
                Arg::Pos("-".into()),
            ]
        );
    }
}
