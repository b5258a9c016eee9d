//! Inventory files (being written).
