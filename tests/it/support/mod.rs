//! The harness the tests share (and the load bench includes, see `benches/load/main.rs`).

pub mod broker;
pub mod http;

pub use broker::*;
pub use http::*;
