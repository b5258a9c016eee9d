//! The vSphere world: inventory objects and their operations, with vSphere semantics and
//! fault names. Knows nothing of containers.
//!
//! - [`world`]: the [`World`] struct, lookups, and the task/event/fault plumbing.
//! - [`builder`]: [`WorldBuilder`], every source of variation as an input.
//! - [`spec`] and [`inventory_file`]: inventories as data, and from TOML files.
//! - [`model`] and [`ids`]: the managed objects and their vCenter-style ids.
//! - [`admission`]: reservations in the pool tree and on hosts; DRS placement.
//! - [`vm_ops`], [`vm_reconfig`], [`pool_ops`], [`host_ops`]: the operations.
//! - [`invariants`]: the accounting rules, recomputed from scratch.
//! - [`guest`]: guest names and VIC's telemetry names.
//! - [`task`], [`profile`], [`error`]: tasks, latency and usage models, faults.

pub mod admission;
pub mod builder;
pub mod error;
pub mod file_ops;
pub mod guest;
pub mod host_ops;
pub mod ids;
pub mod invariants;
pub mod inventory_file;
pub mod model;
pub mod pool_ops;
pub mod profile;
pub mod spec;
pub mod task;
pub mod vm_ops;
pub mod vm_reconfig;
pub mod world;

#[cfg(test)]
mod test_support;

pub use builder::{BuildError, WorldBuilder};
pub use error::{Resource, VsphereError};
pub use file_ops::{ABOUT, About, datastore_path};
pub use ids::*;
pub use invariants::InvariantViolation;
pub use model::*;
pub use profile::{LatencyProfile, UsageModel};
pub use spec::*;
pub use task::{Latency, Task, TaskOutcome};
pub use vm_ops::{DeviceSpec, DiskSpec, VmConfigChange, VmSpec};
pub use world::World;
