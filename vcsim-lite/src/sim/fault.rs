//! Fault rules (being written).
