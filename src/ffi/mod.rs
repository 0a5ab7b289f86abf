//! The C ABI. (Scaffold.)
