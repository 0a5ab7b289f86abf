//! `mosq-auth token`: mint a JWT for testing, or check one against a broker's configuration.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, EncodingKey, Header};
use mosq_auth::backend::jwt::{keys, JwtBackend, JwtSettings};
use mosq_auth::log::{self, Logger};
use mosq_auth::options::Options;
use serde_json::{Map, Value};

use crate::args::{is_help, Arg, Parser};
use crate::{help, Fail, EXIT_FAILED};
use mosq_auth::conf::BrokerConf;

pub const TOKEN_HELP: &str = "\
Mint a JSON Web Token for testing the jwt backend, or check a token against mosquitto.conf.

Usage: mosq-auth token --alg ALG (--secret-file FILE | --key-file PEM) --sub USER
                       [--expires-in SECONDS] [--kid KID] [--iss ISS] [--aud AUD]
                       [--acl JSON] [--claim NAME=JSON]...
       mosq-auth token --verify -c mosquitto.conf [--user USER] [--client-id ID] TOKEN

Options:
  --alg ALG             HS256/384/512, RS256/384/512, PS256/384/512, ES256, ES384, EdDSA
  --secret-file FILE    The HMAC secret (one trailing newline is ignored)
  --key-file PEM        A PKCS#8 private key (RSA, EC or Ed25519; `openssl genpkey` writes one)
  --sub USER            The subject (the MQTT username)
  --expires-in SECONDS  exp = now + SECONDS (default 3600 unless --claim exp=...; 0: no exp)
  --kid KID             The key id in the header (for a JWKS)
  --iss ISS, --aud AUD  Issuer and audience claims
  --acl JSON            The acl claim: a list of EMQX rules
  --claim NAME=JSON     Any other claim (a JSON value; plain text is taken as a string)
  --verify              Check TOKEN with the jwt options of the first plugin block of -c FILE
  -c, --config FILE     The broker's configuration (with --verify)
  -u, --user USER       The MQTT username to check the token for (default: the claim's)
  -i, --client-id ID    The client id (default mosq-auth-check)
  -h, --help            Print this help

The token is printed on standard output. Exit codes (--verify): 0 valid, 1 refused (the reason
is printed), 2 usage or configuration error.
";

#[derive(Default)]
struct Args {
    verify: bool,
    alg: Option<String>,
    secret_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    sub: Option<String>,
    expires_in: Option<u64>,
    kid: Option<String>,
    claims: Map<String, Value>,
    config: Option<PathBuf>,
    user: Option<String>,
    client_id: Option<String>,
    token: Option<String>,
}

fn json_or_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

fn parse(mut p: Parser) -> Result<Option<Args>, Fail> {
    let mut a = Args::default();
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Opt(o, _) if is_help(&o) => return Ok(None),
            Arg::Opt(o, v) if o == "--verify" => {
                p.flag(&o, v)?;
                a.verify = true;
            }
            Arg::Opt(o, v) if o == "--alg" => a.alg = Some(p.value(&o, v)?),
            Arg::Opt(o, v) if o == "--secret-file" => a.secret_file = Some(p.value(&o, v)?.into()),
            Arg::Opt(o, v) if o == "--key-file" => a.key_file = Some(p.value(&o, v)?.into()),
            Arg::Opt(o, v) if o == "--sub" => a.sub = Some(p.value(&o, v)?),
            Arg::Opt(o, v) if o == "--kid" => a.kid = Some(p.value(&o, v)?),
            Arg::Opt(o, v) if o == "--expires-in" => {
                let s = p.value(&o, v)?;
                a.expires_in = Some(s.parse().map_err(|_| {
                    p.usage(format_args!(
                        "--expires-in: '{s}' is not a number of seconds"
                    ))
                })?);
            }
            Arg::Opt(o, v) if o == "--iss" || o == "--aud" => {
                let value = p.value(&o, v)?;
                a.claims.insert(o[2..].to_string(), Value::String(value));
            }
            Arg::Opt(o, v) if o == "--acl" => {
                let s = p.value(&o, v)?;
                let acl: Value = serde_json::from_str(&s)
                    .map_err(|e| p.usage(format_args!("--acl: not JSON: {e}")))?;
                mosq_auth::session::Rules::parse(&acl)
                    .map_err(|e| p.usage(format_args!("--acl: {e}")))?;
                a.claims.insert("acl".into(), acl);
            }
            Arg::Opt(o, v) if o == "--claim" => {
                let s = p.value(&o, v)?;
                let Some((k, val)) = s.split_once('=') else {
                    return Err(p.usage("--claim wants NAME=VALUE"));
                };
                a.claims.insert(k.to_string(), json_or_text(val));
            }
            Arg::Opt(o, v) if o == "-c" || o == "--config" => {
                a.config = Some(p.value(&o, v)?.into())
            }
            Arg::Opt(o, v) if o == "-u" || o == "--user" => a.user = Some(p.value(&o, v)?),
            Arg::Opt(o, v) if o == "-i" || o == "--client-id" => {
                a.client_id = Some(p.value(&o, v)?)
            }
            Arg::Opt(o, _) => return Err(p.unknown(&o)),
            Arg::Pos(t) if a.token.is_none() => a.token = Some(t),
            Arg::Pos(t) => return Err(p.usage(format_args!("unexpected argument '{t}'"))),
        }
    }
    Ok(Some(a))
}

pub fn token_cmd(p: Parser) -> Result<u8, Fail> {
    let usage = |m: &str| Fail::usage("token", m);
    let Some(a) = parse(p)? else {
        return help(TOKEN_HELP);
    };
    if a.verify {
        return verify(a);
    }
    let alg_name = a.alg.as_deref().ok_or_else(|| usage("--alg is required"))?;
    let alg = keys::algorithm(alg_name)
        .ok_or_else(|| usage(&format!("unknown algorithm '{alg_name}'")))?;
    let read = |p: &PathBuf| {
        std::fs::read(p).map_err(|e| Fail::config(format_args!("{}: {e}", p.display())))
    };
    let key = match (&a.secret_file, &a.key_file) {
        (Some(f), None) => {
            let mut s = read(f)?;
            if s.last() == Some(&b'\n') {
                s.pop();
            }
            if !alg_name.to_ascii_uppercase().starts_with("HS") {
                return Err(usage("--secret-file signs HS256/384/512 only"));
            }
            EncodingKey::from_secret(&s)
        }
        (None, Some(f)) => {
            let pem = read(f)?;
            let upper = alg_name.to_ascii_uppercase();
            let k = if upper.starts_with("ES") {
                EncodingKey::from_ec_pem(&pem)
            } else if upper == "EDDSA" {
                EncodingKey::from_ed_pem(&pem)
            } else if upper.starts_with("RS") || upper.starts_with("PS") {
                EncodingKey::from_rsa_pem(&pem)
            } else {
                return Err(usage(
                    "--key-file signs RS, PS, ES and EdDSA tokens; HS needs --secret-file",
                ));
            };
            k.map_err(|e| {
                Fail::config(format_args!(
                    "{}: not a private key for {alg_name}: {e}",
                    f.display()
                ))
            })?
        }
        _ => return Err(usage("give one of --secret-file or --key-file")),
    };
    let sub = a.sub.ok_or_else(|| usage("--sub is required"))?;
    let mut claims = a.claims;
    claims.insert("sub".into(), Value::String(sub));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    claims.insert("iat".into(), now.into());
    // An explicit --expires-in wins; a --claim exp=... stands otherwise.
    let expires_in = match a.expires_in {
        Some(n) => Some(n),
        None if claims.contains_key("exp") => None,
        None => Some(3600),
    };
    match expires_in {
        Some(0) => {
            claims.remove("exp");
        }
        Some(n) => {
            claims.insert("exp".into(), (now + n).into());
        }
        None => {}
    }
    let mut header = Header::new(alg);
    header.kid = a.kid;
    let token = encode(&header, &claims, &key)
        .map_err(|e| Fail::failed(format_args!("cannot sign: {e}")))?;
    println!("{token}");
    Ok(0)
}

fn verify(a: Args) -> Result<u8, Fail> {
    let usage = |m: &str| Fail::usage("token", m);
    let config = a
        .config
        .ok_or_else(|| usage("--verify needs -c mosquitto.conf"))?;
    let token = a.token.ok_or_else(|| usage("--verify needs the TOKEN"))?;
    let conf = BrokerConf::read(&config).map_err(Fail::config)?;
    let block = conf
        .block(None)
        .map_err(|e| Fail::config(format_args!("{}: {e}", config.display())))?;
    log::set_sink(crate::check::cli_sink);
    let options = Options::new(block.options.clone());
    let settings = JwtSettings::from_options(&options)
        .map_err(|e| Fail::config(format_args!("{}: {e}", block.at)))?;
    let backend = JwtBackend::new(settings, Logger::new(log::Level::Warning))
        .map_err(|e| Fail::config(format_args!("{}: {e}", block.at)))?;
    let client_id = a
        .client_id
        .unwrap_or_else(|| crate::check::DEFAULT_CLIENT_ID.into());
    match backend.verify(&token, a.user.as_deref(), &client_id) {
        Ok(ok) => {
            let g = &ok.grant;
            let exp = g
                .expires
                .and_then(|e| e.duration_since(SystemTime::now()).ok())
                .map_or("no expiry".into(), |d| {
                    format!("expires in {} s", d.as_secs())
                });
            println!(
                "valid: user '{}', {exp}, {} rules, superuser {}",
                ok.username,
                g.rules.as_ref().map_or(0, |r| r.len()),
                g.superuser
                    .map_or("not said", |s| if s { "yes" } else { "no" })
            );
            Ok(0)
        }
        Err(why) => {
            println!("refused: {why}");
            Ok(EXIT_FAILED)
        }
    }
}
