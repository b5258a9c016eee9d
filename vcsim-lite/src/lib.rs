//! vcsim-lite: an in-process fake vSphere with real admission control.
//!
//! A map of the code (start at [`vsphere::World`]):
//! - [`sim`]: the deterministic kernel: clock, RNG, fault rules, event log.
//! - [`vsphere`]: the inventory and its operations with vSphere semantics and fault names.
//! - [`portlayer`]: the VIC Port Layer over the world (containers, storage, networks, KV).
//! - [`persona`]: VIC's Docker API side: image pulls from a built-in registry catalogue.
//! - [`report`]: renders a world for people (a tree) and tools (JSON); the only place that
//!   knows output formats.

pub mod http;
pub mod inprocess;
pub mod persona;
pub mod portlayer;
pub mod report;
pub mod sim;
pub mod soap;
pub mod vsphere;
