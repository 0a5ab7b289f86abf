//! mosq-auth: an authentication and authorization plugin for the Mosquitto MQTT broker.
//!
//! The broker loads the `cdylib` (`libmosq_auth.so`) with `plugin` or `auth_plugin`; everything
//! the broker sees goes through the thin, `unsafe` layer in [`ffi`]. The rest of the crate is the
//! safe core, usable (and tested) without a broker:
//!
//! - [`options`] is the toolkit for reading `auth_opt_*` / `plugin_opt_*` lines, and
//!   [`config`] gathers every module's options into one validated configuration;
//! - [`request`] holds the typed questions (login, ACL check) and a backend's answers;
//! - [`backend`] defines a backend, with the [`backend::files`] and [`backend::http`]
//!   implementations; [`cache`] sits in front of each;
//! - [`session`] holds what is known about each connected client (rules and superuser answer
//!   from its login, expiry), with the rule evaluator;
//! - [`chain`] decides every check, for the broker and for `mosq-auth check` alike;
//! - [`plugin`] holds one plugin instance (configuration, chain, metrics);
//! - [`acl`] has MQTT topic matching and mosquitto's ACL file format;
//! - [`hash`] verifies every supported password hash format in constant time;
//! - [`secret`] keeps passwords out of logs and `Debug` output;
//! - [`log`] sends the plugin's lines to the broker's own logger.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod acl;
pub mod backend;
pub mod bytes;
pub mod cache;
pub mod chain;
pub mod conf;
pub mod config;
pub mod hash;
pub mod link;
pub mod log;
pub mod metrics;
pub mod options;
pub mod park;
pub mod plugin;
pub mod request;
pub mod secret;
pub mod session;
pub mod stats;
pub mod text;

#[allow(unsafe_code)]
pub mod ffi;
