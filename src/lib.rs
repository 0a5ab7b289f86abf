//! mosq-auth: an authentication and authorization plugin for the Mosquitto MQTT broker.
//!
//! The broker loads the `cdylib` (`libmosq_auth.so`) with `plugin` or `auth_plugin`; everything
//! the broker sees goes through the thin, `unsafe` layer in [`ffi`]. The rest of the crate is the
//! safe core, usable (and tested) without a broker:
//!
//! - [`config`] turns the `auth_opt_*` / `plugin_opt_*` lines into validated settings;
//! - [`plugin`] holds one plugin instance and runs the backend chain for each check;
//! - [`backend`] defines what a backend answers, with the [`backend::files`] and
//!   [`backend::http`] implementations;
//! - [`acl`] has MQTT topic matching and mosquitto's ACL file format;
//! - [`hash`] verifies every supported password hash format in constant time;
//! - [`secret`] keeps passwords out of logs and `Debug` output;
//! - [`log`] sends the plugin's lines to the broker's own logger.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod acl;
pub mod backend;
pub mod cache;
pub mod config;
pub mod hash;
pub mod link;
pub mod log;
pub mod metrics;
pub mod options;
pub mod plugin;
pub mod request;
pub mod secret;
pub mod stats;

#[allow(unsafe_code)]
pub mod ffi;
