//! Helpers for unit tests: small worlds with round numbers, and a check that a failed
//! operation changed nothing.

use super::*;
use crate::report::state_json;

pub const GIB: u64 = 1024;

/// The built-in inventory with no latency and no VM overhead, so figures are round.
pub fn default_world() -> World {
    WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .usage_model(UsageModel::NO_OVERHEAD)
        .build()
        .expect("default inventory builds")
}

/// A non-DRS standalone-host world: one 16-core host with `ds_gib` of datastore.
pub fn standalone_world(ds_gib: u64) -> World {
    let mut spec = InventorySpec::default_vcenter();
    let dc = &mut spec.datacenters[0];
    dc.clusters.clear();
    dc.datastores = vec![DatastoreSpec {
        name: "ds".into(),
        capacity_mib: ds_gib * GIB,
        hosts: vec![],
    }];
    WorldBuilder::new()
        .inventory(spec)
        .latency(LatencyProfile::zero())
        .usage_model(UsageModel::NO_OVERHEAD)
        .build()
        .expect("standalone inventory builds")
}

pub fn cluster_root(w: &World) -> PoolId {
    w.pool_by_path("DC0_C0").expect("cluster root")
}

pub fn shared_ds(w: &World) -> DatastoreId {
    w.datastore_by_name("sharedDS").expect("sharedDS")
}

/// Memory-only allocation: `reservation` MiB, `expandable`; CPU left at the default.
pub fn mem_alloc(reservation: u64, expandable: bool) -> Allocation {
    Allocation {
        reservation,
        expandable,
        ..Allocation::DEFAULT
    }
}

/// A child pool of `parent` reserving `memory_mib` (CPU left at the default).
pub fn mem_pool(
    w: &mut World,
    parent: PoolId,
    name: &str,
    memory_mib: u64,
    expandable: bool,
) -> PoolId {
    w.create_pool(
        parent,
        name,
        Allocation::DEFAULT,
        mem_alloc(memory_mib, expandable),
    )
    .expect("pool is admitted")
}

/// A VM spec reserving `mem_res` MiB of its `mem` MiB.
pub fn vm(name: &str, pool: PoolId, ds: DatastoreId, vcpus: u32, mem: u64, mem_res: u64) -> VmSpec {
    let mut s = VmSpec::new(name, pool, ds);
    s.vcpus = vcpus;
    s.memory_mib = mem;
    s.memory_alloc = VmAllocation {
        reservation: mem_res,
        limit: None,
    };
    s
}

/// Runs `op`, asserts it failed with `fault`, and that the inventory is exactly as before.
pub fn assert_refused<T: std::fmt::Debug>(
    w: &mut World,
    fault: crate::sim::FaultKind,
    op: impl FnOnce(&mut World) -> Result<T, VsphereError>,
) -> VsphereError {
    let before = state_json(w);
    let err = op(w).expect_err("operation should be refused");
    assert_eq!(err.fault(), fault, "wrong fault: {err}");
    assert_eq!(
        state_json(w),
        before,
        "a refused operation changed the inventory"
    );
    w.check_invariants()
        .expect("invariants hold after a refusal");
    err
}
