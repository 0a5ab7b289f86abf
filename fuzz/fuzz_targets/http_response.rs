//! The public parts of turning an HTTP answer into a verdict: `response::cache_hint` (the
//! `Cache-Control` headers) and `wire::escape` (how request fields are percent-encoded).
//!
//! `response::decide` (status + body in each response mode) is `pub(crate)`, so it cannot be
//! reached from here; see fuzz/README.md.
//!
//! - `cache_hint` agrees with a reference written from its docs; it does not depend on the
//!   order of the headers nor on whether directives come in one header or several; and adding
//!   a header never makes an answer cacheable that was not, nor cacheable for longer.
//! - `escape` gives only unreserved characters and `%XX`, and decoding it gives the input back.
//!
//! Input: header lines (a line that is not UTF-8 is a header that is not plain text); the
//! whole input is also escaped.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mosq_auth::backend::http::response::cache_hint;
use mosq_auth::backend::http::wire::escape;
use mosq_auth::request::CacheHint;

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
            assert_eq!(d, Duration::from_secs(d.as_secs()), "max-age not whole seconds");
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

fuzz_target!(|data: &[u8]| {
    let e = escape(data);
    let bytes = e.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'%' {
            assert!(
                i + 2 < bytes.len()
                    && bytes[i + 1..i + 3].iter().all(|h| matches!(h, b'0'..=b'9' | b'A'..=b'F')),
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
    assert_eq!(as_ref(cache_hint(reversed.iter().copied())), got, "order matters: {headers:?}");

    if headers.iter().all(Option::is_some) {
        let joined: Vec<&str> = headers.iter().map(|h| h.unwrap_or_default()).collect();
        let one = joined.join(",");
        assert_eq!(as_ref(cache_hint([Some(one.as_str())])), got, "one header vs several: {headers:?}");
    }

    // Each prefix of the headers is at least as cacheable as the whole list.
    for n in 0..headers.len() {
        let prefix = as_ref(cache_hint(headers[..n].iter().copied()));
        assert!(no_longer(prefix, got), "a header made {headers:?} more cacheable");
    }
});
