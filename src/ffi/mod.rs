//! The C ABI the broker calls: the only place with `unsafe` code.
//!
//! Two APIs share one core ([`crate::plugin::Plugin`]):
//! - plugin API v5 (Mosquitto 2.x): `mosquitto_plugin_version`, `mosquitto_plugin_init`,
//!   `mosquitto_plugin_cleanup` and callbacks registered for `MOSQ_EVT_BASIC_AUTH`,
//!   `MOSQ_EVT_ACL_CHECK`, `MOSQ_EVT_RELOAD` and `MOSQ_EVT_TICK` ([`v5`]);
//! - plugin API v4 (Mosquitto 1.6, and 2.x when `MOSQ_AUTH_PLUGIN_API=4` is set in the broker's
//!   environment): the `mosquitto_auth_*` functions ([`v4`]).
//!
//! Every exported function runs inside [`guard::guard`]: convert the raw arguments
//! ([`convert`], the only file that touches the broker's pointers), hand them to the code both
//! APIs share ([`shim`]: one typed request, decided by [`crate::chain::Chain`]), map the outcome
//! to a return code ([`rc`]). A panic becomes
//! a logged error and a refusal, never an unwind into the broker. The broker's own functions
//! (logging, callback registration, client accessors) are looked up at run time ([`broker`]),
//! so the library has no undefined symbols and links into tests and the CLI as well.

pub mod broker;
pub mod convert;
pub mod guard;
pub mod rc;
pub mod shim;
pub mod sys;
pub mod term;
pub mod v4;
pub mod v5;

use crate::options::Options;
use crate::plugin::Plugin;

/// The environment variable that makes a 2.x broker use plugin API v4 (for testing that path).
pub const API_ENV: &str = "MOSQ_AUTH_PLUGIN_API";

/// Builds a plugin instance from the broker's options, logging the reason when it fails.
fn new_plugin(options: &Options) -> Option<Plugin> {
    broker::install_log_sink();
    match Plugin::new(options) {
        Ok(p) => Some(p),
        Err(e) => {
            crate::log::Logger::default()
                .error(format_args!("configuration error, not starting: {e}"));
            None
        }
    }
}
