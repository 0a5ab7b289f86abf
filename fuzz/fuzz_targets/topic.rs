//! Differential target for `mosq_auth::acl::topic`: `valid_topic`, `valid_filter`, `matches`,
//! `covers` and `overlaps` against a plain reference written here from the module docs (split on
//! `/`, `+` one level, `#` last level for zero or more levels, `$` topics not matched by a
//! leading wildcard, empty levels count, the empty string is not a topic), plus the algebra that
//! ties them together (inclusion is transitive, a covered filter's topics are the grant's, a
//! shared topic means overlap).
//!
//! Input: each byte appends one character from a small alphabet to one of four strings
//! (bits 4-5 pick the string, bits 0-3 the character).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mosq_auth::acl::topic::{covers, matches, overlaps, valid_filter, valid_topic};

const ALPHABET: [char; 16] = [
    'a', 'b', '/', '/', '+', '#', '$', 'a', 'b', '/', '/', '+', '#', 'c', '\0', 'é',
];
/// Longest string built (keeps the brute-force references small).
const MAX_CHARS: usize = 14;
/// Most candidate topics a brute-force reference may enumerate for one pair.
const MAX_TOPICS: usize = 4096;

fn ref_valid_topic(t: &str) -> bool {
    !t.is_empty() && t.len() <= 65_535 && !t.contains(['+', '#', '\0'])
}

fn ref_valid_filter(f: &str) -> bool {
    if f.is_empty() || f.len() > 65_535 || f.contains('\0') {
        return false;
    }
    let levels: Vec<&str> = f.split('/').collect();
    levels.iter().enumerate().all(|(i, l)| match *l {
        "#" => i == levels.len() - 1,
        "+" => true,
        _ => !l.contains(['+', '#']),
    })
}

/// Filter levels against topic levels; `first`: at the topic's first level.
fn ref_match_levels(f: &[&str], t: &[&str], first: bool) -> bool {
    let dollar = first && t.first().is_some_and(|l| l.starts_with('$'));
    match f.first() {
        None => t.is_empty(),
        Some(&"#") => !dollar,
        Some(&"+") => !t.is_empty() && !dollar && ref_match_levels(&f[1..], &t[1..], false),
        Some(lit) => t.first() == Some(lit) && ref_match_levels(&f[1..], &t[1..], false),
    }
}

fn ref_matches(f: &str, t: &str) -> bool {
    if !ref_valid_filter(f) || !ref_valid_topic(t) {
        return false;
    }
    let fl: Vec<&str> = f.split('/').collect();
    let tl: Vec<&str> = t.split('/').collect();
    ref_match_levels(&fl, &tl, true)
}

/// Every topic `f` matches whose levels come from `universe`, with `#` standing for at most
/// `max_hash` levels; `None` when there would be more than [`MAX_TOPICS`].
///
/// Topic matching only ever compares a level for equality with a filter's literal level or
/// looks at a leading `$`, so with `universe` = the literal levels of both filters plus a fresh
/// `z` and a fresh `$z`, every question "is there a topic such that ..." about two filters has
/// a witness among these topics (levels past the other filter's length + 1 change nothing).
fn topics_of(f: &str, universe: &[String], max_hash: usize) -> Option<Vec<String>> {
    let mut partial: Vec<Vec<&str>> = vec![Vec::new()];
    for level in f.split('/') {
        let mut next = Vec::new();
        match level {
            "+" => {
                for p in &partial {
                    for u in universe {
                        let mut q = p.clone();
                        q.push(u);
                        next.push(q);
                    }
                }
            }
            "#" => {
                let mut layer = partial.clone();
                next.extend(layer.iter().cloned());
                for _ in 0..max_hash {
                    let mut grown = Vec::new();
                    for p in &layer {
                        for u in universe {
                            let mut q = p.clone();
                            q.push(u);
                            grown.push(q);
                        }
                    }
                    if grown.len() + next.len() > MAX_TOPICS {
                        return None;
                    }
                    next.extend(grown.iter().cloned());
                    layer = grown;
                }
            }
            lit => {
                for p in &partial {
                    let mut q = p.clone();
                    q.push(lit);
                    next.push(q);
                }
            }
        }
        if next.len() > MAX_TOPICS {
            return None;
        }
        partial = next;
    }
    Some(
        partial
            .into_iter()
            .map(|levels| levels.join("/"))
            .filter(|t| ref_matches(f, t))
            .collect(),
    )
}

fn universe(a: &str, b: &str) -> Vec<String> {
    let mut u: Vec<String> = vec!["z".into(), "$z".into()];
    for l in a.split('/').chain(b.split('/')) {
        if l != "+" && l != "#" && !u.iter().any(|x| x == l) {
            u.push(l.to_string());
        }
    }
    u
}

/// Reference `covers`: every topic of `f` is a topic of `g`. `None`: too many to enumerate.
fn ref_covers(g: &str, f: &str) -> Option<bool> {
    if !ref_valid_filter(g) || !ref_valid_filter(f) {
        return Some(false);
    }
    let u = universe(g, f);
    let topics = topics_of(f, &u, g.split('/').count() + 1)?;
    Some(topics.iter().all(|t| ref_matches(g, t)))
}

/// Reference `overlaps`: some topic is a topic of both. `None`: too many to enumerate.
fn ref_overlaps(a: &str, b: &str) -> Option<bool> {
    if !ref_valid_filter(a) || !ref_valid_filter(b) {
        return Some(false);
    }
    let u = universe(a, b);
    let topics = topics_of(a, &u, b.split('/').count() + 1)?;
    Some(topics.iter().any(|t| ref_matches(b, t)))
}

fuzz_target!(|data: &[u8]| {
    let mut s: [String; 4] = Default::default();
    for &b in data {
        let which = usize::from((b >> 4) & 3);
        if s[which].chars().count() < MAX_CHARS {
            s[which].push(ALPHABET[usize::from(b & 15)]);
        }
    }

    for x in &s {
        assert_eq!(valid_topic(x), ref_valid_topic(x), "valid_topic({x:?})");
        assert_eq!(valid_filter(x), ref_valid_filter(x), "valid_filter({x:?})");
        if valid_topic(x) {
            // A topic name is a filter matching exactly itself.
            assert!(valid_filter(x), "topic {x:?} is not a valid filter");
            assert!(matches(x, x), "matches({x:?}, {x:?})");
            assert!(covers(x, x), "covers({x:?}, {x:?})");
        }
        if valid_filter(x) {
            assert!(covers(x, x), "covers is not reflexive on {x:?}");
            assert!(overlaps(x, x), "overlaps is not reflexive on {x:?}");
        }
    }

    for f in &s {
        for t in &s {
            assert_eq!(matches(f, t), ref_matches(f, t), "matches({f:?}, {t:?})");
        }
    }

    for g in &s {
        for f in &s {
            let c = covers(g, f);
            if let Some(want) = ref_covers(g, f) {
                assert_eq!(c, want, "covers({g:?}, {f:?})");
            }
            let o = overlaps(g, f);
            assert_eq!(o, overlaps(f, g), "overlaps not symmetric: {g:?} {f:?}");
            if let Some(want) = ref_overlaps(g, f) {
                assert_eq!(o, want, "overlaps({g:?}, {f:?})");
            }
            if c {
                // Every valid filter has a topic, and the grant has it too.
                assert!(o, "covers({g:?}, {f:?}) but not overlaps");
            }
            for t in &s {
                if c && matches(f, t) {
                    assert!(
                        matches(g, t),
                        "covers({g:?}, {f:?}) and matches({f:?}, {t:?}) but not matches({g:?}, {t:?})"
                    );
                }
                if matches(g, t) && matches(f, t) {
                    assert!(o, "{g:?} and {f:?} both match {t:?} but do not overlap");
                }
                if c && covers(f, t) {
                    assert!(covers(g, t), "covers not transitive: {g:?} ⊇ {f:?} ⊇ {t:?}");
                }
            }
        }
    }
});
