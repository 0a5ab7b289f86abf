//! The HTTP backend. (Scaffold: replaced by the implementation.)

use crate::config::{ConfigError, OptSpec, Options};

/// The HTTP backend's options.
pub const OPTIONS: &[&OptSpec] = &[];

/// The HTTP backend's validated settings.
#[derive(Debug)]
pub struct HttpSettings {}

impl HttpSettings {
    /// Reads the HTTP options.
    pub fn from_options(_options: &Options) -> Result<HttpSettings, ConfigError> {
        Err(ConfigError::Other(
            "the http backend is not available yet".into(),
        ))
    }
}
