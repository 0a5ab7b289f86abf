//! Turning an HTTP answer into a verdict: `response::decide` (status and body in each response
//! mode), `response::cache_hint` (the `Cache-Control` headers) and `wire::escape` (how request
//! fields are percent-encoded).
//!
//! - `decide`: a status outside 2xx never allows (5xx and other non-4xx are errors, 4xx a deny,
//!   in every mode); `status` mode allows every 2xx; `text` allows exactly a trimmed `ok`;
//!   `json` allows only an object whose `result` is `allow` (any case) or, without `result`,
//!   whose `ok` is `true`, and gives `ignore` as defer.
//! - `cache_hint` agrees with a reference written from its docs; it does not depend on the
//!   order of the headers nor on whether directives come in one header or several; and adding
//!   a header never makes an answer cacheable that was not, nor cacheable for longer.
//! - `escape` gives only unreserved characters and `%XX`, and decoding it gives the input back.
//!
//! Input: header lines (a line that is not UTF-8 is a header that is not plain text); the
//! whole input is also escaped, and its first two bytes are a status for `decide` with the rest
//! as the body.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mosq_auth::backend::http::response::{cache_hint, decide};
use mosq_auth::backend::http::settings::ResponseMode;
use mosq_auth::backend::http::wire::escape;
use mosq_auth::request::CacheHint;
use mosq_auth::request::Decision;

/// The reference: `None` = not cacheable, `Some(None)` = default, `Some(Some(n))` = max-age n.
fn reference(headers: &[Option<&str>]) -> Option<Option<u64>> {
    let mut max_age: Option<u64> = None;
    for h in headers {
        let h = (*h)?;
        for directive in h.split(',') {
            let d = directive.trim();
            let (name, value) = match d.find('=') {
                Some(i) => (d[..i].trim(), Some(d[i + 1..].trim().trim_matches('"'))),
                None => (d, None),
            };
            let name = name.to_ascii_lowercase();
            if name == "no-store" || name == "no-cache" {
                return None;
            }
            if name == "max-age" {
                let v = value?;
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let n: u64 = v.parse().ok()?;
                if n == 0 {
                    return None;
                }
                max_age = Some(max_age.map_or(n, |m: u64| m.min(n)));
            }
        }
    }
    Some(max_age)
}

fn as_ref(hint: CacheHint) -> Option<Option<u64>> {
    match hint {
        CacheHint::NoStore => None,
        CacheHint::Default => Some(None),
        CacheHint::MaxAge(d) => {
            assert_eq!(
                d,
                Duration::from_secs(d.as_secs()),
                "max-age not whole seconds"
            );
            Some(Some(d.as_secs()))
        }
    }
}

/// True when `b` is no more cacheable than `a`.
fn no_longer(a: Option<Option<u64>>, b: Option<Option<u64>>) -> bool {
    match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(None), Some(_)) => true,
        (Some(Some(_)), Some(None)) => false,
        (Some(Some(x)), Some(Some(y))) => y <= x,
    }
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex after %"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// What the JSON mode may answer for `body`: `None` when `decide` must not allow, deny or defer
/// (it must be an error), else the one decision it may give.
fn json_reference(body: &[u8]) -> Option<Decision> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    match obj.get("result") {
        Some(serde_json::Value::String(r)) => match r.to_ascii_lowercase().as_str() {
            "allow" => Some(Decision::Allow),
            "deny" => Some(Decision::Deny),
            "ignore" => Some(Decision::Defer),
            _ => None,
        },
        Some(serde_json::Value::Null) | None => match obj.get("ok") {
            Some(serde_json::Value::Bool(true)) => Some(Decision::Allow),
            Some(serde_json::Value::Bool(false)) => Some(Decision::Deny),
            _ => None,
        },
        Some(_) => None,
    }
}

fn check_decide(data: &[u8]) {
    let status = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]) % 700,
        _ => 200,
    };
    let body = data.get(2..).unwrap_or_default();
    for mode in [ResponseMode::Status, ResponseMode::Text, ResponseMode::Json] {
        let got = decide(mode, status, body).map(|(d, _)| d);
        match status {
            400..=499 => assert_eq!(got, Ok(Decision::Deny), "{mode:?} {status}"),
            200..=299 => match mode {
                ResponseMode::Status => assert_eq!(got, Ok(Decision::Allow)),
                ResponseMode::Text => {
                    let want = if body.trim_ascii() == b"ok" {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    };
                    assert_eq!(got, Ok(want), "text {body:?}");
                }
                ResponseMode::Json => match (got, json_reference(body)) {
                    // serde's derive refuses what `Value` accepts (a duplicate key): an error
                    // is always allowed, a decision must be the reference's.
                    (Err(_), _) => {}
                    (Ok(d), want) => assert_eq!(Some(d), want, "json {body:?}"),
                },
            },
            _ => assert!(got.is_err(), "{mode:?} {status}: {got:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check_decide(data);
    let e = escape(data);
    let bytes = e.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'%' {
            assert!(
                i + 2 < bytes.len()
                    && bytes[i + 1..i + 3]
                        .iter()
                        .all(|h| matches!(h, b'0'..=b'9' | b'A'..=b'F')),
                "bad %XX in {e:?}"
            );
            i += 3;
        } else {
            assert!(
                c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~'),
                "reserved {c:?} left in {e:?}"
            );
            i += 1;
        }
    }
    assert_eq!(unescape(&e), data, "escape does not round-trip");

    let headers: Vec<Option<&str>> = data
        .split(|&b| b == b'\n')
        .take(16)
        .map(|l| std::str::from_utf8(l).ok())
        .collect();
    let got = as_ref(cache_hint(headers.iter().copied()));
    assert_eq!(got, reference(&headers), "cache_hint({headers:?})");

    let mut reversed = headers.clone();
    reversed.reverse();
    assert_eq!(
        as_ref(cache_hint(reversed.iter().copied())),
        got,
        "order matters: {headers:?}"
    );

    if headers.iter().all(Option::is_some) {
        let joined: Vec<&str> = headers.iter().map(|h| h.unwrap_or_default()).collect();
        let one = joined.join(",");
        assert_eq!(
            as_ref(cache_hint([Some(one.as_str())])),
            got,
            "one header vs several: {headers:?}"
        );
    }

    // Each prefix of the headers is at least as cacheable as the whole list.
    for n in 0..headers.len() {
        let prefix = as_ref(cache_hint(headers[..n].iter().copied()));
        assert!(
            no_longer(prefix, got),
            "a header made {headers:?} more cacheable"
        );
    }
});
