//! The vSphere world: inventory objects and their operations.

pub mod inventory_file;
pub mod spec;
