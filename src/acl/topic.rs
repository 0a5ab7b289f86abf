//! MQTT topic and filter matching. (Scaffold: the implementation replaces these bodies.)

/// Returns true if and only if `topic` matches the subscription `filter`.
pub fn matches(_filter: &str, _topic: &str) -> bool {
    false
}
