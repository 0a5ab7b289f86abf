//! `mosq-auth check`: the broker's decision for one login and/or one ACL check, offline.
//!
//! The plugin is built from the options of one plugin block of mosquitto.conf (see
//! [`mosq_auth::conf`]) exactly as the broker would build it, and asked through the same chain the
//! broker asks ([`mosq_auth::chain::Chain`]), with a trace of which backend and rule decided. The broker's own part (an anonymous client that every plugin
//! defers is let in only with `allow_anonymous true`) is evaluated from mosquitto.conf.

use std::path::PathBuf;

use mosq_auth::chain::{Outcome, Trace};
use mosq_auth::config::spec;
use mosq_auth::log::{self, Level};
use mosq_auth::options::Options;
use mosq_auth::plugin::Plugin;
use mosq_auth::request::{Access, AclRequest, AuthRequest};
use mosq_auth::secret::Secret;

use crate::args::{is_help, Arg, Parser};
use crate::{help, password, Fail, EXIT_BACKEND, EXIT_FAILED};
use mosq_auth::conf::BrokerConf;

/// The client id used when `--client-id` is not given.
pub const DEFAULT_CLIENT_ID: &str = "mosq-auth-check";

pub const CHECK_HELP: &str = "\
Say what the broker would decide for a login and/or an ACL check, and which backend and rule
decided, by loading the plugin's options from mosquitto.conf (offline: no broker needed).

Usage: mosq-auth check -c mosquitto.conf [--user USER [--password-stdin]] [--client-id ID]
                       [--topic TOPIC --access ACCESS] [--listener PORT] [--verbose]

Options:
  -c, --config FILE      The broker's configuration: auth_opt_* / plugin_opt_* lines of a
                         plugin (or auth_plugin) block, following include_dir
  -u, --user USER        The MQTT username (omitted: an anonymous client, which the broker
                         lets in only with allow_anonymous true)
  -p, --password-stdin   Check USER's password: read from a no-echo prompt on a terminal,
                         else the first line of standard input (trailing newline removed)
  -i, --client-id ID     The client id (default mosq-auth-check; matters for %c patterns)
  -t, --topic TOPIC      Check access to TOPIC (a subscription filter for subscribe)
  -a, --access ACCESS    read, write, subscribe or unsubscribe (required with --topic)
  -l, --listener PORT    With per_listener_settings true: use the plugin block after
                         `listener PORT` (default: the first plugin block)
  -v, --verbose          Show the plugin's log lines at its configured log level (default:
                         warnings and errors only)
  -h, --help             Print this help

With both a password and a topic, the login is checked first; if it is refused, the ACL is
not. Relative paths in the options are relative to the working directory, as for the broker:
run check from the directory the broker starts in. The password is never printed.

Exit codes: 0 allowed, 1 denied or refused, 2 usage or configuration error, 3 backend error.

Examples:
  mosq-auth check -c /etc/mosquitto/mosquitto.conf -u alice -t alice/x -a write
  printf '%s\\n' \"$PW\" | mosq-auth check -c mosquitto.conf -u alice -p
";

/// The parsed arguments.
#[derive(Debug, Default)]
struct Args {
    config: Option<PathBuf>,
    user: Option<String>,
    password_stdin: bool,
    client_id: Option<String>,
    topic: Option<String>,
    access: Option<Access>,
    listener: Option<String>,
    verbose: bool,
}

fn parse_access(s: &str) -> Option<Access> {
    match s.to_ascii_lowercase().as_str() {
        "read" => Some(Access::Read),
        "write" => Some(Access::Write),
        "subscribe" => Some(Access::Subscribe),
        "unsubscribe" => Some(Access::Unsubscribe),
        _ => None,
    }
}

fn parse(mut p: Parser) -> Result<Option<Args>, Fail> {
    let mut a = Args::default();
    while let Some(arg) = p.next()? {
        let (o, v) = match arg {
            Arg::Opt(o, _) if is_help(&o) => return Ok(None),
            Arg::Opt(o, v) => (o, v),
            Arg::Pos(x) => {
                return Err(p.usage(format_args!(
                    "unexpected argument '{x}' (passwords are read with --password-stdin)"
                )))
            }
        };
        match o.as_str() {
            "-c" | "--config" => a.config = Some(PathBuf::from(p.value(&o, v)?)),
            "-u" | "--user" | "--username" => a.user = Some(p.value(&o, v)?),
            "-p" | "--password-stdin" => {
                p.flag(&o, v)?;
                a.password_stdin = true;
            }
            "-i" | "--client-id" => a.client_id = Some(p.value(&o, v)?),
            "-t" | "--topic" => a.topic = Some(p.value(&o, v)?),
            "-a" | "--access" => {
                let s = p.value(&o, v)?;
                a.access = Some(parse_access(&s).ok_or_else(|| {
                    p.usage(format_args!(
                        "--access {s}: expected read, write, subscribe or unsubscribe"
                    ))
                })?);
            }
            "-l" | "--listener" => a.listener = Some(p.value(&o, v)?),
            "-v" | "--verbose" => {
                p.flag(&o, v)?;
                a.verbose = true;
            }
            _ => return Err(p.unknown(&o)),
        }
    }
    if a.config.is_none() {
        return Err(p.usage("-c mosquitto.conf is required"));
    }
    match (&a.topic, a.access) {
        (Some(_), None) => return Err(p.usage("--topic needs --access")),
        (None, Some(_)) => return Err(p.usage("--access needs --topic")),
        (Some(t), Some(access)) => check_topic(t, access).map_err(|e| p.usage(e))?,
        (None, None) => {}
    }
    if a.password_stdin && a.user.is_none() {
        return Err(p.usage("--password-stdin needs --user (anonymous clients have no password)"));
    }
    if a.user.is_some() && !a.password_stdin && a.topic.is_none() {
        return Err(p.usage("nothing to check: give --password-stdin and/or --topic"));
    }
    Ok(Some(a))
}

/// Rejects topics the broker would refuse before asking the plugin.
fn check_topic(topic: &str, access: Access) -> Result<(), String> {
    if topic.is_empty() {
        return Err("--topic: empty topic".into());
    }
    if matches!(access, Access::Read | Access::Write) && topic.contains(['+', '#']) {
        return Err(format!(
            "--topic {topic}: a topic for {access} cannot contain + or # (those are for subscribe)"
        ));
    }
    Ok(())
}

/// Writes the plugin's log lines as `mosq-auth: LEVEL: message`.
pub fn cli_sink(level: Level, line: &str) {
    let msg = line.strip_prefix(log::PREFIX).unwrap_or(line);
    eprintln!("mosq-auth: {}: {msg}", level.as_str());
}

/// The word printed for `outcome` and the exit code: a deferred login is refused by the broker
/// and a deferred ACL check denied, like the plugin's chain does.
fn verdict(outcome: Outcome, no: &'static str) -> (&'static str, u8) {
    match outcome {
        Outcome::Allow => ("ALLOW", 0),
        Outcome::Deny | Outcome::Defer => (no, EXIT_FAILED),
        Outcome::Error => ("ERROR", EXIT_BACKEND),
    }
}

/// `mosq-auth check`.
pub fn check_cmd(p: Parser) -> Result<u8, Fail> {
    let Some(args) = parse(p)? else {
        return help(CHECK_HELP);
    };
    let config = args.config.clone().unwrap_or_default();

    let conf = BrokerConf::read(&config).map_err(Fail::config)?;
    let block = conf
        .block(args.listener.as_deref())
        .map_err(|e| Fail::config(format_args!("{}: {e}", config.display())))?;
    if args.listener.is_none() && conf.blocks.len() > 1 {
        eprintln!(
            "mosq-auth: note: {} plugin blocks; using the one at {} (pick another with --listener PORT)",
            conf.blocks.len(),
            block.at
        );
    }
    let name = block.path.rsplit('/').next().unwrap_or_default();
    if !name.contains("mosq_auth") && !name.contains("mosq-auth") {
        eprintln!(
            "mosq-auth: warning: {}: plugin {} does not look like mosq-auth; checking its options as mosq-auth's",
            block.at, block.path
        );
    }

    // The broker's metrics endpoint is not started for a check; and unless --verbose, only
    // warnings and errors are logged (the last log_level wins).
    let metrics: Vec<&str> = spec::METRICS_LISTEN.names().map(|(n, _)| n).collect();
    let mut pairs: Vec<(String, String)> = block
        .options
        .iter()
        .filter(|(k, _)| !metrics.contains(&k.as_str()))
        .cloned()
        .collect();
    if !args.verbose {
        pairs.push((spec::LOG_LEVEL.name.to_string(), "warning".to_string()));
    }
    log::set_sink(cli_sink);
    let plugin = Plugin::new(&Options::new(pairs))
        .map_err(|e| Fail::config(format_args!("{}: {e}", block.at)))?;

    // Asked only once the configuration is known to work.
    let password: Option<Secret> = if args.password_stdin {
        Some(password::read_existing()?)
    } else {
        None
    };
    let client_id = args.client_id.as_deref().unwrap_or(DEFAULT_CLIENT_ID);
    let client = match &args.client_id {
        Some(c) => format!(" (client '{c}')"),
        None => String::new(),
    };

    // The login.
    match (&args.user, &password) {
        (Some(user), Some(pw)) => {
            let req = AuthRequest {
                username: user,
                password: pw,
                client_id,
            };
            let mut trace = Trace::default();
            let outcome = plugin.chain().authenticate(Some(&req), Some(&mut trace));
            let (word, code) = verdict(outcome, "REFUSE");
            println!("auth: user '{user}'{client}: {word} — {}", trace.reason);
            if code != 0 {
                return Ok(code);
            }
        }
        (None, _) => {
            let listener = block.listener.as_deref();
            let (allowed, at) = conf.allow_anonymous(listener);
            let why = match at {
                Some(at) => format!("allow_anonymous {allowed} ({at})"),
                None if conf.listeners.is_empty() => {
                    "no listener configured: mosquitto 2.x then listens on localhost only and \
                     allows anonymous clients"
                        .to_string()
                }
                None => "allow_anonymous is not set (mosquitto 2.x default: false)".to_string(),
            };
            let allowed = allowed || (at.is_none() && conf.listeners.is_empty());
            let word = if allowed { "ALLOW" } else { "REFUSE" };
            println!(
                "auth: anonymous client{client}: {word} — the plugin defers anonymous clients to the broker: {why}"
            );
            if !allowed {
                return Ok(EXIT_FAILED);
            }
        }
        (Some(_), None) => {}
    }

    // The ACL.
    if let (Some(topic), Some(access)) = (&args.topic, args.access) {
        let req = AclRequest {
            username: args.user.as_deref(),
            client_id,
            topic,
            access,
            qos: 0,
            retain: false,
        };
        let mut trace = Trace::default();
        let outcome = plugin.chain().acl(&req, Some(&mut trace));
        let who = match &args.user {
            Some(u) => format!("user '{u}'"),
            None => "anonymous client".to_string(),
        };
        let (word, code) = verdict(outcome, "DENY");
        println!(
            "acl: {access} '{topic}' for {who}{client}: {word} — {}",
            trace.reason
        );
        return Ok(code);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(verdict(Outcome::Allow, "DENY"), ("ALLOW", 0));
        assert_eq!(verdict(Outcome::Deny, "DENY"), ("DENY", 1));
        assert_eq!(verdict(Outcome::Defer, "REFUSE"), ("REFUSE", 1));
        assert_eq!(verdict(Outcome::Error, "DENY"), ("ERROR", 3));
    }

    #[test]
    fn wildcards_only_in_subscriptions() {
        assert!(check_topic("a/+", Access::Subscribe).is_ok());
        assert!(check_topic("a/#", Access::Write).is_err());
        assert!(check_topic("a/+", Access::Read).is_err());
        assert!(check_topic("", Access::Subscribe).is_err());
    }
}
