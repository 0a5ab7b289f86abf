/*!
Topic matching and mosquitto's ACL file format.

- [`topic`] answers questions about MQTT topics and filters, exactly as the MQTT 3.1.1/5 spec
  defines them: is a topic or filter valid, does a filter match a topic, does one filter
  cover or overlap another. None of it allocates.
- [`file`](mod@file) parses an `acl_file` (`user`, `topic`, `pattern`; `read`, `write`,
  `readwrite`, `deny`) and checks requests against it, returning a [`crate::request::Decision`]:
  `Allow`, `Deny`, or `Defer` when no rule decides.

A SUBSCRIBE is allowed only when one read grant covers every topic the filter can match (the
broker's own `acl_file` lets every SUBSCRIBE through). A `deny` rule beats every grant. A
pattern using `%u`/`%c` never applies when the name is missing, empty, or contains `+`, `#` or
`/`. [`file`](mod@file) explains all of these rules.
*/

pub mod file;
pub(crate) mod filter;
pub mod topic;
