//! Topic matching and mosquitto's ACL file format.

pub mod file;
pub mod topic;
