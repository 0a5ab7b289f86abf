/*!
The JWT backend: a client signs in with a JSON Web Token, verified here, with no service asked
on the CONNECT path.

- The token is the MQTT password (default; the username must equal the username claim, `sub`
  unless configured) or the username (go-auth's convention, chosen by go-auth's `jwt_mode` /
  `jwt_userfield` or by `jwt_token_from username`).
- Keys: an HMAC secret, a PEM public key, a JWKS file and/or a JWKS URL ([`keys`]). Only the
  algorithms the keys fit are accepted, narrowed by `jwt_algorithms`; `none` never is, and an
  HMAC algorithm is only tried with a secret.
- Claims ([`verify`]): `exp` (required unless `jwt_require_exp false`), `nbf`, `iat` with
  `jwt_leeway_seconds`; `iss` / `aud` when configured; optionally the client id bound to a
  claim. `acl` gives the session's rules (EMQX's format, the evaluator of
  [`crate::session::rules`]), `jwt_superuser_claim` its superuser answer, and `exp` its end:
  the client is disconnected then.
- A password that is not three dot-separated parts is not a token: the backend defers, so a
  chain `jwt,files` serves both. Anything else that fails is refused with one log line saying
  why (never the token). A login is never cached (verifying is cheaper than the risk).
- The JWKS URL (`jwks.rs`) is fetched at start (unreachable: a warning), in the background every
  `jwt_jwks_refresh_seconds`, and when a token names an unknown `kid` (at most every 2 s; on
  Mosquitto 2.1 that login is parked, off the broker's thread). A failed fetch keeps the last
  good set.
*/

use std::sync::Arc;

use crate::acl::file::ClientAcl;
use crate::backend::{Backend, Granted, LoginAnswer};
use crate::log::Logger;
use crate::options::ConfigError;
use crate::request::{AclRequest, Answer, AuthRequest, CacheHint, Decision, Verdict};

mod jwks;
pub mod keys;
pub mod options;
pub mod settings;
pub mod verify;

pub use options::{spec, OPTIONS};
pub use settings::{JwtSettings, TokenFrom};

use jwks::Jwks;
use verify::Refusal;

/// The JWT backend (`auth_opt_backends jwt`).
pub struct JwtBackend {
    settings: JwtSettings,
    jwks: Option<Arc<Jwks>>,
    logger: Logger,
}

impl std::fmt::Debug for JwtBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtBackend")
            .field("keys", &self.settings.keys)
            .field(
                "jwks_url",
                &self.settings.jwks_url.as_ref().map(|u| u.0.as_str()),
            )
            .finish_non_exhaustive()
    }
}

/// What a login refused by the JWT backend answers: refused, never cached.
const REFUSED: Verdict = Verdict {
    decision: Decision::Deny,
    cache: CacheHint::NoStore,
};

impl JwtBackend {
    /// Builds the backend; a JWKS URL is fetched once now (a failure is a warning).
    pub fn new(settings: JwtSettings, logger: Logger) -> Result<JwtBackend, ConfigError> {
        for w in &settings.warnings {
            logger.warning(format_args!("{w}"));
        }
        let jwks = match &settings.jwks_url {
            None => None,
            Some((url, every)) => Some(Arc::new(Jwks::new(url.clone(), *every, logger)?)),
        };
        logger.notice(format_args!(
            "jwt: {} key(s){}, token in the {}, username claim '{}', algorithms {}",
            settings.keys.keys.len(),
            settings
                .jwks_url
                .as_ref()
                .map(|(u, _)| format!(" plus the key set at {u}"))
                .unwrap_or_default(),
            match settings.token_from {
                TokenFrom::Password => "password",
                TokenFrom::Username => "username",
            },
            settings.username_claim,
            match &settings.algorithms {
                Some(list) => format!("{list:?}"),
                None => "as the keys allow".into(),
            }
        ));
        Ok(JwtBackend {
            settings,
            jwks,
            logger,
        })
    }

    /// The settings this backend was built with.
    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }

    /// Checks a token as a login would (`mosq-auth token --verify`): the user it names and its
    /// session, or why it is refused. `username` is the MQTT username for a token in the
    /// password (`None`: take the claim's).
    pub fn verify(
        &self,
        token: &str,
        username: Option<&str>,
        client_id: &str,
    ) -> Result<verify::Accepted, String> {
        let username = match self.settings.token_from {
            TokenFrom::Password => username,
            TokenFrom::Username => None,
        };
        let lax = self.settings.token_from == TokenFrom::Password && username.is_none();
        let mut s = self.settings.clone();
        if lax {
            // No username given: the claim names the user.
            s.token_from = TokenFrom::Username;
        }
        let with = |settings: &JwtSettings| {
            let mut keys = settings.keys.clone();
            if let Some(j) = &self.jwks {
                keys.keys.extend(j.current().keys.iter().cloned());
            }
            verify::check(settings, &keys, token, username, client_id)
        };
        match with(&s) {
            Ok(a) => Ok(a),
            Err(Refusal::NotAToken) => Err("not a JWT (three dot-separated parts)".into()),
            Err(Refusal::UnknownKid(k)) => Err(format!("unknown key id (kid) '{k}'")),
            Err(Refusal::Invalid(why)) => Err(why),
        }
    }

    /// The token of a login, and the username to compare the claim with.
    fn token<'a>(&self, req: &AuthRequest<'a>) -> Option<(&'a str, Option<&'a str>)> {
        match self.settings.token_from {
            TokenFrom::Password => std::str::from_utf8(req.password.expose())
                .ok()
                .map(|t| (t, Some(req.username))),
            TokenFrom::Username => Some((req.username, None)),
        }
    }

    fn check(
        &self,
        token: &str,
        username: Option<&str>,
        client_id: &str,
    ) -> Result<verify::Accepted, Refusal> {
        let Some(jwks) = &self.jwks else {
            return verify::check(
                &self.settings,
                &self.settings.keys,
                token,
                username,
                client_id,
            );
        };
        let attempt = |set: &keys::KeySet| {
            let mut all = self.settings.keys.clone();
            all.keys.extend(set.keys.iter().cloned());
            verify::check(&self.settings, &all, token, username, client_id)
        };
        match attempt(&jwks.current()) {
            Err(Refusal::UnknownKid(kid)) => {
                // A key may have been added since the last fetch: fetch again (rate-limited).
                if jwks.refresh_for_unknown_kid() {
                    match attempt(&jwks.current()) {
                        Err(Refusal::UnknownKid(k)) => {
                            Err(Refusal::Invalid(format!("unknown key id (kid) '{k}'")))
                        }
                        other => other,
                    }
                } else {
                    Err(Refusal::Invalid(format!("unknown key id (kid) '{kid}'")))
                }
            }
            other => other,
        }
    }
}

impl Backend for JwtBackend {
    fn name(&self) -> &'static str {
        "jwt"
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer {
        self.login(req).map(|g| g.verdict)
    }

    fn login(&self, req: &AuthRequest<'_>) -> LoginAnswer {
        let who = || match self.settings.token_from {
            TokenFrom::Password => format!("user '{}'", req.username),
            TokenFrom::Username => "a token in the username".to_string(),
        };
        let Some((token, username)) = self.token(req) else {
            self.logger.debug(format_args!(
                "jwt: {} (client '{}'): the password is not UTF-8, not a token",
                who(),
                req.client_id
            ));
            return Ok(Verdict::DEFER.into());
        };
        match self.check(token, username, req.client_id) {
            Ok(accepted) => {
                self.logger.debug(format_args!(
                    "jwt: token of '{}' (client '{}') verified",
                    accepted.username, req.client_id
                ));
                let mut grant = accepted.grant;
                grant.identity = Some(accepted.username);
                Ok(Granted {
                    verdict: Verdict {
                        decision: Decision::Allow,
                        cache: CacheHint::NoStore,
                    },
                    grant: Some(Arc::new(grant)),
                })
            }
            Err(Refusal::NotAToken) => {
                self.logger.debug(format_args!(
                    "jwt: {} (client '{}'): not a JWT, deferring",
                    who(),
                    req.client_id
                ));
                Ok(Verdict {
                    decision: Decision::Defer,
                    cache: CacheHint::NoStore,
                }
                .into())
            }
            Err(Refusal::UnknownKid(why)) | Err(Refusal::Invalid(why)) => {
                self.logger.info(format_args!(
                    "jwt: {} (client '{}') refused: {why}",
                    who(),
                    req.client_id
                ));
                Ok(REFUSED.into())
            }
        }
    }

    /// Never asked: the token's claims are the session.
    fn superuser(&self, _username: &str) -> Answer {
        Ok(Verdict::DEFER)
    }

    fn has_superusers(&self) -> bool {
        false
    }

    /// A client whose token carried no `acl` is not decided here.
    fn acl(&self, _req: &AclRequest<'_>) -> Answer {
        Ok(Verdict::DEFER)
    }

    /// Tokens carry their rules in the session; the backend itself has none.
    fn client_acl(&self, _username: Option<&str>, _client_id: &str) -> Option<ClientAcl> {
        Some(ClientAcl::fixed(Decision::Defer))
    }

    fn answers_from_memory(&self) -> bool {
        true
    }

    /// Only a token naming an unknown `kid` with a JWKS URL may wait (for the fetch).
    fn auth_may_block(&self, req: &AuthRequest<'_>) -> bool {
        let (Some(jwks), Some((token, _))) = (&self.jwks, self.token(req)) else {
            return false;
        };
        match jsonwebtoken::decode_header(token) {
            Ok(h) => h.kid.is_some_and(|kid| {
                !jwks.current().has_kid(&kid) && !self.settings.keys.has_kid(&kid)
            }),
            Err(_) => false,
        }
    }

    fn max_wait(&self) -> std::time::Duration {
        self.jwks
            .as_ref()
            .map_or(std::time::Duration::ZERO, |j| j.timeout())
    }

    fn start(&self) {
        if let Some(j) = &self.jwks {
            j.start();
        }
    }

    fn stop(&self) {
        if let Some(j) = &self.jwks {
            j.stop();
        }
    }
}

#[cfg(test)]
mod tests;
