//! The integration tests: one test crate, so the shared harness in [`support`] is compiled once.
//! Every test starts the real mosquitto with the freshly built plugin, a real HTTP server, or
//! the real command-line tool; nothing is mocked.

mod cache_http;
mod cli;
mod compare_builtin;
mod conf_examples;
mod delayed_connect;
mod ffi_abi;
mod files_broker;
mod http_backend;
mod http_broker;
mod http_example_service;
mod http_logging;
mod jwt_broker;
mod login_rules;
mod reload_broker;
mod revocation;
mod support;
