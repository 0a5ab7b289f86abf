//! mosquitto's ACL file format. (Scaffold: the implementation replaces these bodies.)

use std::path::Path;

use crate::backend::{Access, Decision};

/// A parse failure, listing every bad line as `path:line: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .lines.join("\n"))]
pub struct AclParseError {
    /// One `path:line: message` per bad line (or one `path: message` when unreadable).
    pub lines: Vec<String>,
}

/// A parsed ACL file.
#[derive(Clone, Debug, Default)]
pub struct AclFile {}

impl AclFile {
    /// Parses the text of an ACL file; `path` is used in error messages.
    pub fn parse(_path: &Path, _text: &str) -> Result<AclFile, AclParseError> {
        Ok(AclFile {})
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<AclFile, AclParseError> {
        let text = std::fs::read_to_string(path).map_err(|e| AclParseError {
            lines: vec![format!("{}: {e}", path.display())],
        })?;
        AclFile::parse(path, &text)
    }

    /// Checks one request: `Allow`, `Deny`, or `Defer` when no rule applies.
    pub fn check(
        &self,
        _username: Option<&str>,
        _client_id: &str,
        _topic: &str,
        _access: Access,
    ) -> Decision {
        Decision::Defer
    }
}

impl AclFile {
    /// The number of rules (scaffold).
    pub fn rule_count(&self) -> usize {
        0
    }
}
