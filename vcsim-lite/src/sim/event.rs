//! Event log (being written).
