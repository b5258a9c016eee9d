//! vcsim-lite: an in-process fake vSphere with real admission control.
//!
//! A map of the code (start at [`vsphere::World`]):
//! - [`sim`]: the deterministic kernel: clock, RNG, fault rules, event log.
//! - [`vsphere`]: the inventory and its operations with vSphere semantics and fault names.
//! - [`report`]: renders a world for people (a tree) and tools (JSON); the only place that
//!   knows output formats.

pub mod report;
pub mod sim;
pub mod vsphere;
