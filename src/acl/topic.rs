/*!
MQTT topic names, topic filters, and how they relate (MQTT 3.1.1 §4.7, MQTT 5 §4.7).

A topic is split into levels at every `/`; empty levels count (`a//b` has three levels, `/a`
starts with an empty one). In a filter, `+` stands for exactly one level (which may be empty)
and `#`, allowed only as the whole last level, for zero or more levels, so `a/#` matches `a`
itself. A topic whose first level starts with `$` (such as `$SYS/uptime`) is never matched by
a filter whose first level is `+` or `#`.

Besides [`matches()`] this module answers two questions about pairs of filters, which an ACL
needs for SUBSCRIBE: [`covers`] (is every topic of one filter also matched by the other?) and
[`overlaps`] (do they share a topic?). All functions are allocation-free and treat invalid
input as matching nothing.

The crate-internal `matches_valid` and `covers_valid` take a filter validated once (when an
ACL file or a login answer is compiled) and the request's bytes as the broker passed them.
*/

/// The longest topic or filter MQTT can carry (a two-byte length prefix).
pub const MAX_LEN: usize = 65_535;

/// Returns true if and only if `t` is a valid topic name to publish to: non-empty, at most
/// 65,535 bytes, and free of `+`, `#` and NUL.
pub fn valid_topic(t: &str) -> bool {
    valid_topic_bytes(t.as_bytes())
}

/// Returns true if and only if `f` is a valid topic filter: non-empty, at most 65,535 bytes, no
/// NUL, `+` only as a whole level and `#` only as the whole last level.
pub fn valid_filter(f: &str) -> bool {
    valid_filter_bytes(f.as_bytes())
}

/// Returns true if and only if the subscription `filter` matches the topic name `topic`.
///
/// An invalid filter or topic matches nothing.
pub fn matches(filter: &str, topic: &str) -> bool {
    valid_filter(filter) && matches_valid(filter.as_bytes(), topic.as_bytes())
}

/// Returns true if and only if every topic that `filter` can match is also matched by `grant`
/// (filter inclusion).
///
/// `alice/#` covers `alice`, `alice/x/+` and `alice/+/#`, but not `#` or `+/x`. `a/+/#`
/// does not cover `a/#`, which matches `a`; but `#` and `+/#` cover each other, and so do
/// `/#` and `/+/#`, because the empty string is not a topic (`#` cannot match zero levels at
/// the top, nor `/#` after one empty level). A grant starting with `+` or `#` covers no
/// filter starting with a `$` level. Invalid input covers and is covered by nothing.
pub fn covers(grant: &str, filter: &str) -> bool {
    valid_filter(grant) && covers_valid(grant.as_bytes(), filter.as_bytes())
}

/// Returns true if and only if at least one topic name is matched by both filters.
///
/// Invalid input overlaps nothing.
pub fn overlaps(a: &str, b: &str) -> bool {
    if !valid_filter(a) || !valid_filter(b) {
        return false;
    }
    let (mut a, mut b) = (a.split('/'), b.split('/'));
    let mut depth = 0;
    // True when the common topic so far can only be the single empty level, i.e. the empty
    // string, which is not a topic.
    let mut only_empty = false;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            // The shorter filter's topics end here; the longer needs a `#` taking zero levels.
            (Some(rest), None) | (None, Some(rest)) => return rest == "#" && !only_empty,
            (Some(x), Some(y)) => {
                if depth == 0 && (excludes_dollar(x, y) || excludes_dollar(y, x)) {
                    return false;
                }
                if x == "#" || y == "#" {
                    return true;
                }
                if x != "+" && y != "+" && x != y {
                    return false;
                }
                only_empty = depth == 0 && (x.is_empty() || y.is_empty());
            }
        }
        depth += 1;
    }
}

/// True when first level `wild` is a wildcard and first level `lit` a literal starting with
/// `$`: the first can never match what the second matches.
fn excludes_dollar(wild: &str, lit: &str) -> bool {
    matches!(wild, "+" | "#") && lit.starts_with('$')
}

/// What one filter level is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `+`: exactly one level.
    Plus,
    /// `#`: zero or more levels (always the last level).
    Hash,
    /// Anything else: a level that must be equal.
    Literal,
}

fn kind_of(level: &[u8]) -> Kind {
    match level {
        b"+" => Kind::Plus,
        b"#" => Kind::Hash,
        _ => Kind::Literal,
    }
}

pub(super) fn levels(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|b| *b == b'/')
}

/// [`valid_topic`] on bytes. Eight bytes at a time (a word holds a `+`, `#` or NUL byte if and
/// only if the classic "has zero byte" test finds one in it, or in it XORed with `+` repeated
/// after bit 3 is set in every byte); the last word overlaps the one before (a topic of 4 to 7
/// bytes is two overlapping four-byte words), so a topic of up to 16 bytes takes two tests:
/// this runs once on every ACL check.
pub(crate) fn valid_topic_bytes(t: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    // `+` (0x2b) and `#` (0x23) differ only in bit 3: with that bit set in every byte, both
    // become 0x2b and no other byte does, so one test finds either.
    let bad = |w: u64| has_zero(w) | has_zero((w | (ONES * 0x08)) ^ (ONES * u64::from(b'+')));
    let n = t.len();
    if n == 0 || n > MAX_LEN {
        return false;
    }
    if n < 4 {
        return !t.iter().any(|b| matches!(b, b'+' | b'#' | 0));
    }
    if n < 8 {
        // Two four-byte words, overlapping, side by side in one.
        let word4 = |at| u64::from(crate::bytes::word4(t, at));
        return !bad(word4(0) | word4(n - 4) << 32);
    }
    crate::bytes::words(n, |i| !bad(crate::bytes::word(t, i)))
}

/// [`valid_filter`] on bytes.
fn valid_filter_bytes(f: &[u8]) -> bool {
    if f.is_empty() || f.len() > MAX_LEN || f.contains(&0) {
        return false;
    }
    let mut levels = levels(f).peekable();
    while let Some(level) = levels.next() {
        match level {
            b"+" => {}
            b"#" => return levels.peek().is_none(),
            _ if level.iter().any(|b| *b == b'+' || *b == b'#') => return false,
            _ => {}
        }
    }
    true
}

/// [`matches`] for a `filter` the caller has already validated (with [`valid_filter`]);
/// `topic` is checked here.
///
/// Both are bytes: a check of a topic the broker passes on needs no UTF-8 validation, because
/// `/`, `+`, `#` and `$` are ASCII and never part of a multi-byte UTF-8 sequence, so the
/// levels, and the answer, are the same as for the text.
pub(crate) fn matches_valid(filter: &[u8], topic: &[u8]) -> bool {
    if !valid_topic_bytes(topic) {
        return false;
    }
    let dollar = topic[0] == b'$';
    let mut topic_levels = levels(topic);
    let mut first = true;
    for level in levels(filter) {
        match kind_of(level) {
            Kind::Hash => return !(first && dollar),
            Kind::Plus => {
                if topic_levels.next().is_none() || (first && dollar) {
                    return false;
                }
            }
            Kind::Literal => match topic_levels.next() {
                Some(t) if t == level => {}
                _ => return false,
            },
        }
        first = false;
    }
    topic_levels.next().is_none()
}

/// [`covers`] for a `grant` the caller has already validated; `filter` is checked here
/// (bytes, as for [`matches_valid`]).
pub(crate) fn covers_valid(grant: &[u8], filter: &[u8]) -> bool {
    if !valid_filter_bytes(filter) {
        return false;
    }
    let mut grant = levels(grant).map(|g| (g, kind_of(g)));
    let mut filter_levels = levels(filter);
    let mut first = true;
    // True when the filter's levels so far are just one empty level: the topic made of them
    // alone would be the empty string, which is not a topic.
    let mut only_empty = false;
    loop {
        let ((g, gk), f) = match (grant.next(), filter_levels.next()) {
            (None, None) => return true,
            // The filter's topics end here; only a trailing `#` (zero levels) still matches.
            (Some((_, gk)), None) => return gk == Kind::Hash,
            // The filter's topics go on; the grant's stop.
            (None, Some(_)) => return false,
            (Some(g), Some(f)) => (g, f),
        };
        let fk = kind_of(f);
        if first && fk == Kind::Literal && f.first() == Some(&b'$') && gk != Kind::Literal {
            return false;
        }
        match (gk, fk) {
            (Kind::Hash, _) => return true,
            // The filter's `#` includes its parent (zero more levels), which only a grant `#`
            // at the same depth matches. When there is no parent topic (`#` first, or after a
            // single empty level as in `/#`), `+/#` matches all the rest too.
            (_, Kind::Hash) => {
                return (first || only_empty)
                    && gk == Kind::Plus
                    && grant.next().is_some_and(|(_, n)| n == Kind::Hash);
            }
            (Kind::Plus, _) => {}
            (Kind::Literal, Kind::Plus) => return false,
            (Kind::Literal, Kind::Literal) => {
                if g != f {
                    return false;
                }
            }
        }
        only_empty = first && f.is_empty();
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_validation_finds_a_bad_byte_anywhere() {
        for len in 1..40 {
            let ok = vec![b'a'; len];
            assert!(valid_topic_bytes(&ok), "{len}");
            for at in 0..len {
                for bad in [b'+', b'#', 0] {
                    let mut t = ok.clone();
                    t[at] = bad;
                    assert!(!valid_topic_bytes(&t), "{len} {at} {bad}");
                }
                // Bytes next to the bad ones in value are fine (no false alarms).
                for fine in [b'*', b',', b'"', b'$', 1, 0x80, 0xff, b'/'] {
                    let mut t = ok.clone();
                    t[at] = fine;
                    assert!(valid_topic_bytes(&t), "{len} {at} {fine}");
                }
            }
        }
        assert!(!valid_topic_bytes(b""));
        assert!(!valid_topic_bytes(&vec![b'a'; MAX_LEN + 1]));
        assert!(valid_topic_bytes(&vec![b'a'; MAX_LEN]));
    }

    // One named test per row: `name: filter, topic => expected;`.
    macro_rules! match_tests {
        ($($name:ident: $filter:expr, $topic:expr => $expected:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!(
                        matches($filter, $topic),
                        $expected,
                        "matches({:?}, {:?})",
                        $filter,
                        $topic
                    );
                }
            )*
        };
    }

    // Vectors from mosquitto's libcommon topic tests, written as rows.
    match_tests! {
        m_hash_matches_empty_child: "foo/#", "foo/" => true;
        m_hash_matches_parent: "foo/#", "foo" => true;
        m_empty_level_literal: "foo//bar", "foo//bar" => true;
        m_plus_after_empty_level: "foo//+", "foo//bar" => true;
        m_plus_matches_empty_levels: "foo/+/+/baz", "foo///baz" => true;
        m_plus_matches_empty_last: "foo/bar/+", "foo/bar/" => true;
        m_literal: "foo/bar", "foo/bar" => true;
        m_plus_last: "foo/+", "foo/bar" => true;
        m_plus_middle: "foo/+/baz", "foo/bar/baz" => true;
        m_plus_then_hash: "A/B/+/#", "A/B/B/C" => true;
        m_plus_hash_two_more: "foo/+/#", "foo/bar/baz" => true;
        m_plus_hash_zero_more: "foo/+/#", "foo/bar" => true;
        m_hash_everything: "#", "foo/bar/baz" => true;
        m_hash_leading_slash: "#", "/foo/bar" => true;
        m_slash_hash: "/#", "/foo/bar" => true;

        m_invalid_plus_prefix_self: "+foo", "+foo" => false;
        m_invalid_plus_inside_self: "fo+o", "fo+o" => false;
        m_invalid_plus_suffix_self: "foo+", "foo+" => false;
        m_invalid_plus_prefix_two: "+foo/bar", "+foo/bar" => false;
        m_invalid_plus_suffix_two: "foo+/bar", "foo+/bar" => false;
        m_invalid_plus_second_prefix: "foo/+bar", "foo/+bar" => false;
        m_invalid_plus_second_suffix: "foo/bar+", "foo/bar+" => false;
        m_invalid_plus_prefix_other: "+foo", "afoo" => false;
        m_invalid_plus_inside_other: "fo+o", "foao" => false;
        m_invalid_plus_suffix_other: "foo+", "fooa" => false;
        m_invalid_plus_prefix_two_other: "+foo/bar", "afoo/bar" => false;
        m_invalid_plus_suffix_two_other: "foo+/bar", "fooa/bar" => false;
        m_invalid_plus_second_prefix_other: "foo/+bar", "foo/abar" => false;
        m_invalid_plus_second_suffix_other: "foo/bar+", "foo/bara" => false;
        m_invalid_hash_prefix_self: "#foo", "#foo" => false;
        m_invalid_hash_inside_self: "fo#o", "fo#o" => false;
        m_invalid_hash_suffix_self: "foo#", "foo#" => false;
        m_invalid_hash_prefix_two: "#foo/bar", "#foo/bar" => false;
        m_invalid_hash_suffix_two: "foo#/bar", "foo#/bar" => false;
        m_invalid_hash_second_prefix: "foo/#bar", "foo/#bar" => false;
        m_invalid_hash_second_suffix: "foo/bar#", "foo/bar#" => false;
        m_wildcard_topic_plus: "foo/+", "foo/+" => false;
        m_wildcard_topic_plus_under_hash: "foo/#", "foo/+" => false;
        m_wildcard_topic_deep_plus: "foo/+", "foo/bar/+" => false;
        m_wildcard_topic_deep_plus_hash: "foo/#", "foo/bar/+" => false;
        m_wildcard_topic_hash: "foo/+", "foo/#" => false;
        m_wildcard_topic_hash_hash: "foo/#", "foo/#" => false;
        m_wildcard_topic_deep_hash: "foo/+", "foo/bar/#" => false;
        m_wildcard_topic_deep_hash_hash: "foo/#", "foo/bar/#" => false;

        m_no_other_branch: "test/6/#", "test/3" => false;
        m_no_parent: "foo/bar", "foo" => false;
        m_no_plus_two_levels: "foo/+", "foo/bar/baz" => false;
        m_no_last_differs: "foo/+/baz", "foo/bar/bar" => false;
        m_no_first_differs: "foo/+/#", "fo2/bar/baz" => false;
        m_no_leading_slash: "/#", "foo/bar" => false;
        m_no_hash_dollar: "#", "$SYS/bar" => false;
        m_no_dollar_literal_differs: "$BOB/bar", "$SYS/bar" => false;

        m_invalid_hash_glued: "foo#", "foo" => false;
        m_invalid_hash_inside_trailing_slash: "fo#o/", "foo" => false;
        m_invalid_hash_glued_other: "foo#", "fooa" => false;
        m_invalid_plus_glued: "foo+", "foo" => false;
        m_invalid_hash_then_text: "foo/#a", "foo" => false;
        m_invalid_hash_then_char: "#a", "foo" => false;
        m_invalid_hash_then_word: "foo/#abc", "foo" => false;
        m_invalid_hash_then_word_first: "#abc", "foo" => false;
        m_invalid_slash_hash_char: "/#a", "foo/bar" => false;

        // Our own rows: `$` rules, empty input, odd shapes.
        m_plus_dollar: "+/bar", "$SYS/bar" => false;
        m_plus_hash_dollar: "+/#", "$SYS/bar" => false;
        m_dollar_hash: "$SYS/#", "$SYS/bar" => true;
        m_dollar_hash_parent: "$SYS/#", "$SYS" => true;
        m_dollar_deeper_is_plain: "a/+", "a/$x" => true;
        m_hash_dollar_deeper: "#", "a/$x" => true;
        m_empty_filter: "", "a" => false;
        m_empty_topic: "a", "" => false;
        m_plus_empty_topic: "+", "" => false;
        m_hash_empty_topic: "#", "" => false;
        m_plus_slash: "+", "/" => false;
        m_plus_plus_slash: "+/+", "/" => true;
        m_hash_slash: "#", "/" => true;
        m_hash_not_last: "a/#/b", "a/x/b" => false;
        m_nul_topic: "#", "a\0b" => false;
        m_nul_filter: "a\0b", "a\0b" => false;
        m_space_level: "a/ /b", "a/ /b" => true;
        m_unicode: "foo/+/ba℞", "foo/baz/ba℞" => true;
        m_case_sensitive: "Foo", "foo" => false;
        m_longer_topic: "a/b", "a/b/c" => false;
        m_trailing_slash_topic: "a/b", "a/b/" => false;
    }

    macro_rules! valid_tests {
        ($($name:ident: $f:ident($input:expr) => $expected:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!($f($input), $expected, "{}({:?})", stringify!($f), $input);
                }
            )*
        };
    }

    valid_tests! {
        vt_plain: valid_topic("pub/topic") => true;
        vt_empty_level: valid_topic("pub//topic") => true;
        vt_space_level: valid_topic("pub/ /topic") => true;
        vt_slash: valid_topic("/") => true;
        vt_dollar: valid_topic("$SYS/x") => true;
        vt_plus_prefix: valid_topic("+pub/topic") => false;
        vt_plus_suffix: valid_topic("pub+/topic") => false;
        vt_plus_second: valid_topic("pub/+topic") => false;
        vt_plus_end: valid_topic("pub/topic+") => false;
        vt_plus_level: valid_topic("pub/topic/+") => false;
        vt_hash_prefix: valid_topic("#pub/topic") => false;
        vt_hash_suffix: valid_topic("pub#/topic") => false;
        vt_hash_second: valid_topic("pub/#topic") => false;
        vt_hash_end: valid_topic("pub/topic#") => false;
        vt_hash_level: valid_topic("pub/topic/#") => false;
        vt_plus_first_level: valid_topic("+/pub/topic") => false;
        vt_empty: valid_topic("") => false;
        vt_nul: valid_topic("a\0") => false;

        vf_plain: valid_filter("sub/topic") => true;
        vf_empty_level: valid_filter("sub//topic") => true;
        vf_space_level: valid_filter("sub/ /topic") => true;
        vf_plus_middle: valid_filter("sub/+/topic") => true;
        vf_plus_all: valid_filter("+/+/+") => true;
        vf_plus: valid_filter("+") => true;
        vf_hash_last: valid_filter("sub/topic/#") => true;
        vf_hash_after_empty: valid_filter("sub//topic/#") => true;
        vf_hash_after_space: valid_filter("sub/ /topic/#") => true;
        vf_plus_and_hash: valid_filter("sub/+/topic/#") => true;
        vf_plus_all_hash: valid_filter("+/+/+/#") => true;
        vf_hash: valid_filter("#") => true;
        vf_slash: valid_filter("/") => true;
        vf_plus_prefix: valid_filter("+sub/topic") => false;
        vf_plus_suffix: valid_filter("sub+/topic") => false;
        vf_plus_second: valid_filter("sub/+topic") => false;
        vf_plus_end: valid_filter("sub/topic+") => false;
        vf_hash_prefix: valid_filter("#sub/topic") => false;
        vf_hash_suffix: valid_filter("sub#/topic") => false;
        vf_hash_second: valid_filter("sub/#topic") => false;
        vf_hash_end: valid_filter("sub/topic#") => false;
        vf_hash_first_level: valid_filter("#/sub/topic") => false;
        vf_hash_middle: valid_filter("a/#/b") => false;
        vf_hash_twice: valid_filter("#/#") => false;
        vf_empty: valid_filter("") => false;
        vf_nul: valid_filter("a/\0") => false;
    }

    #[test]
    fn length_limit() {
        let ok = "a".repeat(MAX_LEN);
        let long = "a".repeat(MAX_LEN + 1);
        assert!(valid_topic(&ok) && valid_filter(&ok));
        assert!(!valid_topic(&long) && !valid_filter(&long));
        assert!(!matches("#", &long));
    }

    // `name: grant, filter => expected;`
    macro_rules! covers_tests {
        ($($name:ident: $grant:expr, $filter:expr => $expected:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!(
                        covers($grant, $filter),
                        $expected,
                        "covers({:?}, {:?})",
                        $grant,
                        $filter
                    );
                }
            )*
        };
    }

    covers_tests! {
        // A user tree covers every filter inside it, itself and its parent level.
        c_alice_hash_plus: "alice/#", "alice/x/+" => true;
        c_alice_hash_self: "alice/#", "alice/#" => true;
        c_alice_hash_plus_hash: "alice/#", "alice/+/#" => true;
        c_alice_hash_parent: "alice/#", "alice" => true;
        c_alice_hash_not_all: "alice/#", "#" => false;
        c_alice_hash_not_plus_x: "alice/#", "+/x" => false;
        c_alice_plus_self: "alice/+", "alice/+" => true;
        c_alice_hash_alice_plus: "alice/#", "alice/+" => true;
        c_alice_x_not_alice_plus: "alice/x", "alice/+" => false;
        c_plus_plus_a_plus: "+/+", "a/+" => true;
        c_hash_not_sys: "#", "$SYS/#" => false;
        c_sys_not_hash: "$SYS/#", "#" => false;
        c_a_plus_hash_not_a_hash: "a/+/#", "a/#" => false;
        c_a_hash_a_slash: "a/#", "a/" => true;
        c_plus_hash_hash: "+/#", "#" => true;
        c_hash_plus_hash: "#", "+/#" => true;
        c_plus_plus_hash_not_hash: "+/+/#", "#" => false;
        c_plus_not_hash: "+", "#" => false;
        c_slash_plus_hash_slash_hash: "/+/#", "/#" => true;
        c_slash_hash_slash_plus_hash: "/#", "/+/#" => true;
        c_plus_plus_hash_not_plus_hash: "+/+/#", "+/#" => false;

        // Vectors from mosquitto's sub-matches-acl tests (acl, sub).
        c_mq_plus_not_hash_below: "foo/+/bar", "foo/#" => false;
        c_mq_hash_parent_unicode: "foo/+/ba℞/#", "foo/baz/ba℞" => true;
        c_mq_hash_covers_plus: "foo/+/ba℞/#", "foo/baz/ba℞/+" => true;
        c_mq_hash_covers_hash: "foo/+/ba℞/#", "foo/baz/ba℞/#" => true;
        c_mq_literal_level_not_plus: "foo/+/ba℞/#", "foo/baz/+/#" => false;
        c_mq_empty_levels: "/+//#", "/foo///#" => true;
        c_mq_hash_not_dollar: "#", "$SYS/uptime" => false;
        c_mq_sys_hash: "$SYS/#", "$SYS/uptime" => true;
        c_mq_sys_plus_hash: "$SYS/+/#", "$SYS/uptime" => true;
        c_mq_sys_plus_hash_deep: "$SYS/+/#", "$SYS/broker/uptime" => true;
        c_mq_hash_hash: "#", "#" => true;
        c_mq_hash_plus: "#", "+" => true;
        c_mq_slash_hash_not_plus: "/#", "+" => false;
        c_mq_slash_hash_slash_plus: "/#", "/+" => true;
        c_mq_slash_plus_not_hash: "/+", "#" => false;
        c_mq_slash_plus_not_plus: "/+", "+" => false;
        c_mq_plus_plus_literal: "+/+", "topic/topic" => true;
        c_mq_plus_plus_not_three: "+/+", "topic/topic/" => false;
        c_mq_plus_not_hash: "+", "#" => false;
        c_mq_plus_plus: "+", "+" => true;
        c_mq_literal_five: "a/b/c/d/e", "a/b/c/d/e" => true;
        c_mq_space_not_c: "a/b/ /d/e", "a/b/c/d/e" => false;
        c_mq_literal_not_plus: "a/b/c/d/e", "a/b/c/d/+" => false;
        c_mq_plus_literal: "a/b/c/d/+", "a/b/c/d/e" => true;
        c_mq_empty_not_plus: "a/b/c/d/", "a/b/c/d/+" => false;
        c_mq_plus_empty: "a/b/c/d/+", "a/b/c/d/" => true;
        c_mq_sys_broker: "$SYS/#", "$SYS/broker/#" => true;
        c_mq_sys_plus_hash_in_hash: "$SYS/#", "$SYS/+/#" => true;
        c_mq_sys_parent: "$SYS/#", "$SYS" => true;
        c_mq_sys_plus_not_hash: "$SYS/+", "$SYS/#" => false;
        c_mq_sys_crossed: "$SYS/+/a", "$SYS/a/+" => false;
        c_mq_sys_plus_not_deeper: "$SYS/+", "$SYS/+/a" => false;
        c_mq_sys_literal_not_hash: "$SYS/broker/uptime", "$SYS/broker/#" => false;
        c_mq_hash_not_sys_broker: "#", "$SYS/broker/#" => false;

        // Invalid input.
        c_invalid_grant: "a/#/b", "a/x/b" => false;
        c_invalid_filter: "#", "a+" => false;
        c_empty: "#", "" => false;
    }

    // `name: a, b => expected;` (checked both ways round)
    macro_rules! overlap_tests {
        ($($name:ident: $a:expr, $b:expr => $expected:expr;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!(overlaps($a, $b), $expected, "overlaps({:?}, {:?})", $a, $b);
                    assert_eq!(overlaps($b, $a), $expected, "overlaps({:?}, {:?})", $b, $a);
                }
            )*
        };
    }

    overlap_tests! {
        o_same: "a/b", "a/b" => true;
        o_plus: "a/+", "+/b" => true;
        o_hash_parent: "a/#", "a" => true;
        o_crossed: "a/+/c", "a/b/+" => true;
        o_lengths: "a/+", "a/+/+" => false;
        o_different: "a/b", "a/c" => false;
        o_hash_sys: "#", "$SYS/x" => false;
        o_plus_sys: "+/x", "$SYS/+" => false;
        o_sys_hash: "$SYS/#", "$SYS/x/y" => true;
        o_hash_hash: "#", "#" => true;
        o_hash_deep: "#", "a/b/c/d" => true;
        o_slash: "/#", "+/x" => true;
        o_invalid: "a/#/b", "a/x/b" => false;
        o_empty_topic_only: "+", "/#" => false;
        o_empty_level_parent: "/", "/#" => true;
        o_plus_parent: "+/#", "a" => true;
    }

    // --- Oracles over a small topic universe ------------------------------------------------

    /// Level names topics are built from: the literals filters use, plus `zz`, which stands
    /// for "any other name", and `$zz` for "any other `$` name".
    const TOPIC_LEVELS: [&str; 6] = ["a", "b", "$x", "", "zz", "$zz"];
    /// Level names filters are built from.
    const FILTER_LEVELS: [&str; 6] = ["a", "b", "$x", "", "+", "#"];

    fn build(levels: &[&str], max_depth: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut layer: Vec<String> = levels.iter().map(|l| l.to_string()).collect();
        for _ in 0..max_depth {
            out.extend(layer.iter().cloned());
            layer = layer
                .iter()
                .flat_map(|p| levels.iter().map(move |l| format!("{p}/{l}")))
                .collect();
        }
        out
    }

    fn universe() -> Vec<String> {
        build(&TOPIC_LEVELS, 4)
            .into_iter()
            .filter(|t| valid_topic(t))
            .collect()
    }

    fn filters() -> Vec<String> {
        build(&FILTER_LEVELS, 3)
            .into_iter()
            .filter(|f| valid_filter(f))
            .collect()
    }

    /// Straight from the definition, recursive over level slices.
    fn reference_match(filter: &[&str], topic: &[&str], first: bool) -> bool {
        if first && topic.first().is_some_and(|t| t.starts_with('$')) {
            if let Some(&("+" | "#")) = filter.first() {
                return false;
            }
        }
        match (filter.first(), topic.first()) {
            (Some(&"#"), _) => true,
            (None, None) => true,
            (Some(&"+"), Some(_)) => reference_match(&filter[1..], &topic[1..], false),
            (Some(f), Some(t)) => f == t && reference_match(&filter[1..], &topic[1..], false),
            _ => false,
        }
    }

    #[test]
    fn matches_agrees_with_reference() {
        for f in filters() {
            let fl: Vec<&str> = f.split('/').collect();
            for t in universe() {
                let tl: Vec<&str> = t.split('/').collect();
                assert_eq!(
                    matches(&f, &t),
                    reference_match(&fl, &tl, true),
                    "matches({f:?}, {t:?})"
                );
            }
        }
    }

    /// For each filter, the set of universe topics it matches.
    fn match_sets() -> (Vec<String>, Vec<Vec<bool>>) {
        let universe = universe();
        let filters = filters();
        let sets = filters
            .iter()
            .map(|f| universe.iter().map(|t| matches(f, t)).collect())
            .collect();
        (filters, sets)
    }

    #[test]
    fn covers_agrees_with_oracle() {
        let (filters, sets) = match_sets();
        let mut checked = 0;
        for (gi, g) in filters.iter().enumerate() {
            for (fi, f) in filters.iter().enumerate() {
                let oracle = sets[fi]
                    .iter()
                    .zip(&sets[gi])
                    .all(|(&inf, &ing)| !inf || ing);
                assert_eq!(covers(g, f), oracle, "covers({g:?}, {f:?})");
                checked += 1;
            }
        }
        assert!(checked > 10_000, "only {checked} pairs");
    }

    #[test]
    fn overlaps_agrees_with_oracle() {
        let (filters, sets) = match_sets();
        for (ai, a) in filters.iter().enumerate() {
            for (bi, b) in filters.iter().enumerate() {
                let oracle = sets[ai].iter().zip(&sets[bi]).any(|(&x, &y)| x && y);
                assert_eq!(overlaps(a, b), oracle, "overlaps({a:?}, {b:?})");
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"ab/+#$\0 \xc3\xa9";
        for _ in 0..20_000 {
            let mut pick = |n: usize| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n as u64) as usize
            };
            let len_a = pick(8);
            let len_b = pick(8);
            let a: Vec<u8> = (0..len_a).map(|_| alphabet[pick(alphabet.len())]).collect();
            let b: Vec<u8> = (0..len_b).map(|_| alphabet[pick(alphabet.len())]).collect();
            let a = String::from_utf8_lossy(&a);
            let b = String::from_utf8_lossy(&b);
            let _ = (matches(&a, &b), covers(&a, &b), overlaps(&a, &b));
            if covers(&a, &b) {
                assert!(valid_filter(&a) && valid_filter(&b));
                assert!(
                    overlaps(&a, &b),
                    "{a:?} covers {b:?} but does not overlap it"
                );
            }
        }
    }
}
