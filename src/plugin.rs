//! One plugin instance. (Scaffold.)
