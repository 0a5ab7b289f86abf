/*!
The matching a connected client's checks run: a rule's filter split once into parts
([`Filter`]), and the topic of one check prepared once for all the rules it meets
([`CheckTopic`]: a topic name is validated once, not once per rule).

A filter's consecutive literal levels form one part with the `/` between them kept
(`bench/pub0/#` is the literal `bench/pub0` and `#`), so a match compares each run of literal
levels with one comparison, a word at a time ([`crate::bytes::same`]). The answers are
[`crate::acl::topic::matches`]'s (the tests below compare them on every pair of a universe of
filters and topics).
*/

use super::topic::{covers_valid, levels, valid_filter, valid_topic_bytes};
use crate::bytes;
use crate::request::Access;

/// One part of a [`Filter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// `+`: exactly one level.
    Plus,
    /// `#`: zero or more levels (always the last part).
    Hash,
    /// One or more whole literal levels and the `/` between them: `text[start..end]`.
    Literal { start: usize, end: usize },
}

/// A valid filter split into parts once, to match many topics: what a connected client's
/// compiled rules hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    text: Box<str>,
    parts: Box<[Part]>,
}

/// A valid topic name (see [`crate::acl::topic::valid_topic`]), checked once for all the
/// filters it is matched against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TopicName<'a>(&'a [u8]);

impl<'a> TopicName<'a> {
    /// `topic` if it is a valid topic name (bytes: no UTF-8 check is needed, see
    /// [`crate::acl::topic::matches_valid`]).
    pub(crate) fn new(topic: &'a [u8]) -> Option<TopicName<'a>> {
        valid_topic_bytes(topic).then_some(TopicName(topic))
    }
}

/// The topic of one ACL check, prepared once for every rule it is matched against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckTopic<'a> {
    /// What the client asked for.
    pub(crate) access: Access,
    /// The topic (read, write) or subscription filter (subscribe), as the broker passed it.
    pub(crate) bytes: &'a [u8],
    /// The topic when it is a valid topic name and the check is a read or write (a rule's
    /// filter matches it); `None` otherwise (no rule's filter matches an invalid topic).
    name: Option<TopicName<'a>>,
}

impl<'a> CheckTopic<'a> {
    /// The check of `access` to `topic`.
    pub(crate) fn new(topic: &'a [u8], access: Access) -> CheckTopic<'a> {
        let name = match access {
            Access::Read | Access::Write => TopicName::new(topic),
            Access::Subscribe | Access::Unsubscribe => None,
        };
        CheckTopic {
            access,
            bytes: topic,
            name,
        }
    }
}

impl Filter {
    /// The filter `text`, which must be valid (see [`valid_filter`]; `None` if it is not).
    pub(crate) fn new(text: &str) -> Option<Filter> {
        if !valid_filter(text) {
            return None;
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut start = 0;
        for level in levels(text.as_bytes()) {
            let end = start + level.len();
            let part = match level {
                b"+" => Part::Plus,
                b"#" => Part::Hash,
                _ => Part::Literal { start, end },
            };
            match (parts.last_mut(), part) {
                // The level joins the literal run before it, with the `/` between them.
                (Some(Part::Literal { end: run_end, .. }), Part::Literal { end, .. }) => {
                    *run_end = end;
                }
                _ => parts.push(part),
            }
            start = end + 1;
        }
        Some(Filter {
            text: text.into(),
            parts: parts.into(),
        })
    }

    /// The filter's text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns true if and only if the filter matches the topic name `topic` (bytes; an invalid
    /// topic matches nothing).
    #[cfg(test)]
    pub(crate) fn matches(&self, topic: &[u8]) -> bool {
        TopicName::new(topic).is_some_and(|t| self.matches_name(t))
    }

    /// Returns true if and only if the filter matches the topic name `topic`.
    pub(crate) fn matches_name(&self, topic: TopicName<'_>) -> bool {
        let topic = topic.0;
        let text = self.text.as_bytes();
        if let [Part::Literal { start, end }, Part::Hash] = *self.parts {
            // `prefix/#`, the most common shape of a rule: the topic is the prefix itself, or
            // starts with it and a `/`. (A topic starting with `$` needs a prefix that does.)
            let prefix = &text[start..end];
            return topic
                .split_at_checked(prefix.len())
                .is_some_and(|(head, rest)| {
                    bytes::same(head, prefix) && matches!(rest.first(), None | Some(b'/'))
                });
        }
        // A topic name is not empty.
        let dollar = topic.first() == Some(&b'$');
        let mut rest = topic;
        // Every level of the topic has been matched.
        let mut done = false;
        for (i, part) in self.parts.iter().enumerate() {
            if done {
                // Only a `#` (the last part) matches zero more levels.
                return *part == Part::Hash;
            }
            match *part {
                Part::Hash => return !(i == 0 && dollar),
                Part::Plus => {
                    if i == 0 && dollar {
                        return false;
                    }
                    match rest.iter().position(|b| *b == b'/') {
                        Some(p) => rest = &rest[p + 1..],
                        None => done = true,
                    }
                }
                Part::Literal { start, end } => {
                    let literal = &text[start..end];
                    let Some((head, after)) = rest.split_at_checked(literal.len()) else {
                        return false;
                    };
                    if !bytes::same(head, literal) {
                        return false;
                    }
                    match after.split_first() {
                        None => done = true,
                        Some((b'/', r)) => rest = r,
                        Some(_) => return false,
                    }
                }
            }
        }
        done
    }

    /// Returns true if and only if the check's topic is one this filter allows: for a read or
    /// write the filter matches the topic; for a subscribe it covers the subscription filter.
    pub(crate) fn hits(&self, check: &CheckTopic<'_>) -> bool {
        match check.access {
            Access::Subscribe => self.covers(check.bytes),
            _ => check.name.is_some_and(|t| self.matches_name(t)),
        }
    }

    /// Returns true if and only if every topic of the subscription filter `filter` is matched
    /// by this one (see [`crate::acl::topic::covers`]).
    pub(crate) fn covers(&self, filter: &[u8]) -> bool {
        covers_valid(self.text.as_bytes(), filter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::topic::matches;

    /// Filters of up to four levels from `levels`, and topics made from them.
    fn universe() -> (Vec<String>, Vec<String>) {
        let levels = ["a", "b", "$x", "", "+", "#", "ab", "abcdefghij"];
        let mut filters: Vec<String> = levels.iter().map(|l| l.to_string()).collect();
        let mut last = filters.clone();
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|p| levels.iter().map(move |l| format!("{p}/{l}")))
                .collect();
            filters.extend(last.iter().cloned());
        }
        let topics = filters
            .iter()
            .flat_map(|f| [f.replace('+', "a").replace('#', "b"), f.clone()])
            .collect();
        (filters, topics)
    }

    #[test]
    fn split_filters_agree_with_matches() {
        let (filters, topics) = universe();
        let mut matched = 0;
        for f in &filters {
            let Some(split) = Filter::new(f) else {
                assert!(!valid_filter(f), "{f:?}");
                continue;
            };
            assert_eq!(split.as_str(), f);
            for t in &topics {
                let expected = matches(f, t);
                assert_eq!(split.matches(t.as_bytes()), expected, "{f:?} {t:?}");
                let check = CheckTopic::new(t.as_bytes(), Access::Read);
                assert_eq!(split.hits(&check), expected, "{f:?} {t:?}");
                matched += usize::from(expected);
            }
        }
        assert!(matched > 100_000, "{matched}");
    }

    #[test]
    fn literal_levels_form_one_part() {
        let f = Filter::new("bench/pub0/#").unwrap();
        assert_eq!(f.parts.len(), 2);
        let f = Filter::new("a/+/b/c/+").unwrap();
        assert_eq!(f.parts.len(), 4);
        let f = Filter::new("/#").unwrap();
        assert_eq!(&*f.parts, &[Part::Literal { start: 0, end: 0 }, Part::Hash]);
    }

    #[test]
    fn a_check_topic_is_a_name_only_for_reads_and_writes() {
        for (access, name) in [
            (Access::Read, true),
            (Access::Write, true),
            (Access::Subscribe, false),
            (Access::Unsubscribe, false),
        ] {
            assert_eq!(CheckTopic::new(b"a/b", access).name.is_some(), name);
        }
        assert!(CheckTopic::new(b"a/+", Access::Read).name.is_none());
        let f = Filter::new("a/#").unwrap();
        assert!(!f.hits(&CheckTopic::new(b"a/+", Access::Read)));
        assert!(f.hits(&CheckTopic::new(b"a/+", Access::Subscribe)));
    }
}
