/*!
How an HTTP answer becomes a decision, and how `Cache-Control` becomes a cache hint.

In every mode a 5xx status is an error (fail closed, not cached) and a 4xx status a deny; 1xx
and 3xx (redirects are not followed) are errors. For 2xx:
- `status`: allow;
- `text`: allow when the body, trimmed, is `ok`; otherwise deny;
- `json`: `{"result": "allow" | "deny" | "ignore"}` (ignore = defer to the next backend) or
  go-auth's `{"ok": bool, "error": "..."}`; anything else is an error.
*/

use std::time::Duration;

use serde::Deserialize;

use super::settings::ResponseMode;
use crate::request::{CacheHint, Decision};
use crate::session::Grant;

/// The largest response body read; a larger one is an error.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Deserialize)]
struct JsonAnswer {
    ok: Option<bool>,
    result: Option<String>,
    error: Option<String>,
}

/// The decision for a response, or why it could not be read. The `Ok` side also carries the
/// service's error text (json mode), for a debug line.
pub fn decide(
    mode: ResponseMode,
    status: u16,
    body: &[u8],
) -> Result<(Decision, Option<String>), String> {
    match status {
        500..=599 => return Err(format!("status {status}")),
        400..=499 => return Ok((Decision::Deny, None)),
        200..=299 => {}
        _ => return Err(format!("unexpected status {status}")),
    }
    match mode {
        ResponseMode::Status => Ok((Decision::Allow, None)),
        ResponseMode::Text => {
            if body.trim_ascii() == b"ok" {
                Ok((Decision::Allow, None))
            } else {
                Ok((Decision::Deny, None))
            }
        }
        ResponseMode::Json => {
            let answer: JsonAnswer = serde_json::from_slice(body).map_err(|e| {
                format!("status {status} with a body that is not the expected JSON object: {e}")
            })?;
            if let Some(result) = answer.result {
                let decision = match result.to_ascii_lowercase().as_str() {
                    "allow" => Decision::Allow,
                    "deny" => Decision::Deny,
                    "ignore" => Decision::Defer,
                    _ => {
                        return Err(format!(
                            "status {status} with an unknown \"result\" (expected allow, deny or ignore)"
                        ))
                    }
                };
                return Ok((decision, answer.error));
            }
            match answer.ok {
                Some(true) => Ok((Decision::Allow, None)),
                Some(false) => Ok((Decision::Deny, answer.error)),
                None => Err(format!(
                    "status {status} with a JSON body that has neither \"ok\" nor \"result\""
                )),
            }
        }
    }
}

/// The session part of an allowing JSON login answer (`is_superuser`, `acl`, `expire_at`,
/// EMQX 5's fields; see [`crate::session`]), `None` when it has none. The body was already
/// read as a JSON object by [`decide`].
pub(crate) fn grant(body: &[u8]) -> Result<Option<Grant>, String> {
    let answer: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON object: {e}"))?;
    Grant::from_json(&answer)
}

/// The cache hint of a response's `Cache-Control` headers (every one of them, in order).
///
/// Not cacheable: any `no-store` or `no-cache`, `max-age=0`, a `max-age` that is not a whole
/// number of seconds, or a header that is not plain text. Otherwise the smallest `max-age`;
/// without one, the configured time. The cache never keeps an answer longer than configured
/// for it, whatever `max-age` says.
pub fn cache_hint<'a>(headers: impl IntoIterator<Item = Option<&'a str>>) -> CacheHint {
    let mut max_age: Option<u64> = None;
    for header in headers {
        let Some(header) = header else {
            return CacheHint::NoStore;
        };
        for directive in header.split(',') {
            let directive = directive.trim();
            let (name, value) = match directive.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return CacheHint::NoStore;
            }
            if name.eq_ignore_ascii_case("max-age") {
                let seconds = value
                    .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|v| v.parse::<u64>().ok());
                match seconds {
                    None | Some(0) => return CacheHint::NoStore,
                    Some(n) => max_age = Some(max_age.map_or(n, |m| m.min(n))),
                }
            }
        }
    }
    match max_age {
        Some(n) => CacheHint::MaxAge(Duration::from_secs(n)),
        None => CacheHint::Default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mode() {
        assert_eq!(
            decide(ResponseMode::Status, 200, b"").unwrap().0,
            Decision::Allow
        );
        assert_eq!(
            decide(ResponseMode::Status, 204, b"").unwrap().0,
            Decision::Allow
        );
        assert_eq!(
            decide(ResponseMode::Status, 403, b"").unwrap().0,
            Decision::Deny
        );
        assert_eq!(
            decide(ResponseMode::Status, 404, b"").unwrap().0,
            Decision::Deny
        );
        assert_eq!(
            decide(ResponseMode::Status, 500, b""),
            Err("status 500".into())
        );
        assert_eq!(
            decide(ResponseMode::Status, 302, b""),
            Err("unexpected status 302".into())
        );
    }

    #[test]
    fn text_mode() {
        assert_eq!(
            decide(ResponseMode::Text, 200, b" ok\n").unwrap().0,
            Decision::Allow
        );
        assert_eq!(
            decide(ResponseMode::Text, 200, b"nope").unwrap().0,
            Decision::Deny
        );
        assert_eq!(
            decide(ResponseMode::Text, 200, b"OK").unwrap().0,
            Decision::Deny
        );
        assert_eq!(
            decide(ResponseMode::Text, 403, b"ok").unwrap().0,
            Decision::Deny
        );
        assert!(decide(ResponseMode::Text, 503, b"ok").is_err());
    }

    #[test]
    fn json_mode() {
        let d = |b: &[u8]| decide(ResponseMode::Json, 200, b);
        assert_eq!(d(br#"{"ok": true}"#).unwrap().0, Decision::Allow);
        assert_eq!(
            d(br#"{"ok": false, "error": "no such user"}"#).unwrap(),
            (Decision::Deny, Some("no such user".into()))
        );
        assert_eq!(d(br#"{"result": "allow"}"#).unwrap().0, Decision::Allow);
        assert_eq!(d(br#"{"result": "deny"}"#).unwrap().0, Decision::Deny);
        assert_eq!(d(br#"{"result": "ignore"}"#).unwrap().0, Decision::Defer);
        assert!(d(br#"{"result": "maybe"}"#).is_err());
        assert!(d(br#"{"allowed": true}"#).is_err());
        assert!(d(b"ok").is_err());
        assert!(d(b"").is_err());
        assert!(d(br#"[true]"#).is_err());
        assert_eq!(
            decide(ResponseMode::Json, 403, b"garbage").unwrap().0,
            Decision::Deny
        );
    }

    #[test]
    fn cache_control() {
        let one = |h: &str| cache_hint([Some(h)]);
        let secs = |n| CacheHint::MaxAge(Duration::from_secs(n));
        assert_eq!(cache_hint([]), CacheHint::Default);
        for (header, hint) in [
            ("", CacheHint::Default),
            ("public", CacheHint::Default),
            ("max-age=60", secs(60)),
            ("private, Max-Age=\"30\", must-revalidate", secs(30)),
            ("max-age=999999999999", secs(999_999_999_999)),
            ("max-age=60, max-age=10", secs(10)),
            ("no-store", CacheHint::NoStore),
            ("max-age=60, no-cache", CacheHint::NoStore),
            ("max-age=0", CacheHint::NoStore),
            ("max-age=soon", CacheHint::NoStore),
            ("max-age=-1", CacheHint::NoStore),
            ("max-age=+5", CacheHint::NoStore),
            ("max-age=", CacheHint::NoStore),
            ("max-age=99999999999999999999999", CacheHint::NoStore),
        ] {
            assert_eq!(one(header), hint, "{header:?}");
        }
        // Every header counts: a later no-store wins over an earlier max-age.
        assert_eq!(
            cache_hint([Some("max-age=600"), Some("no-store")]),
            CacheHint::NoStore
        );
        assert_eq!(
            cache_hint([Some("max-age=600"), Some("max-age=5")]),
            secs(5)
        );
        // A header that is not plain text cannot be read: not cacheable.
        assert_eq!(cache_hint([Some("max-age=600"), None]), CacheHint::NoStore);
    }
}
