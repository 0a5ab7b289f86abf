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

/// The HTTP backend. (Scaffold.)
#[derive(Debug)]
pub struct HttpBackend {}

impl HttpBackend {
    /// Builds the backend.
    pub fn new(
        _settings: HttpSettings,
        _anon_username: String,
        _logger: crate::log::Logger,
    ) -> Result<HttpBackend, ConfigError> {
        Err(ConfigError::Other(
            "the http backend is not available yet".into(),
        ))
    }
}

impl crate::backend::Backend for HttpBackend {
    fn name(&self) -> &'static str {
        "http"
    }
    fn authenticate(&self, _req: &crate::backend::AuthRequest<'_>) -> crate::backend::Answer {
        Err(crate::backend::BackendError::new("not available"))
    }
    fn superuser(&self, _username: &str) -> crate::backend::Answer {
        Err(crate::backend::BackendError::new("not available"))
    }
    fn acl(&self, _req: &crate::backend::AclRequest<'_>) -> crate::backend::Answer {
        Err(crate::backend::BackendError::new("not available"))
    }
}
