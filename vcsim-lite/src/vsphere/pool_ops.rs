//! Resource pool operations: create, update, destroy, with vSphere's admission rules for a
//! child's reservation in its parent.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::error::{Resource, VsphereError};
use super::ids::PoolId;
use super::model::{Allocation, Pool, PoolResource};
use super::spec::Shares;
use super::world::World;
use crate::sim::Operation;
use crate::sim::event::{EntityRef, EventKind};

/// Largest reservation or limit accepted (vSphere's are `long`; this keeps sums exact).
pub const MAX_ALLOCATION: u64 = 1 << 52;

fn validate_allocation(property: &'static str, a: &Allocation) -> Result<(), VsphereError> {
    if a.reservation > MAX_ALLOCATION || a.limit.is_some_and(|l| l > MAX_ALLOCATION) {
        return Err(VsphereError::invalid(property, "is out of range"));
    }
    if a.limit.is_some_and(|l| l < a.reservation) {
        return Err(VsphereError::invalid(
            property,
            "limit is below the reservation",
        ));
    }
    if matches!(a.shares, Shares::Custom(0)) {
        return Err(VsphereError::invalid(
            property,
            "custom shares must be positive",
        ));
    }
    Ok(())
}

impl World {
    /// `ResourcePool.CreateResourcePool`: the child's reservations must fit in the parent.
    pub fn create_pool(
        &mut self,
        parent: PoolId,
        name: &str,
        cpu: Allocation,
        memory: Allocation,
    ) -> Result<PoolId, VsphereError> {
        self.pool_task(
            Operation::CreatePool,
            parent,
            |id: &PoolId| Some(id.moref()),
            |w, ctx| {
                super::vm_ops::validate_name(name)?;
                validate_allocation("cpuAllocation", &cpu)?;
                validate_allocation("memoryAllocation", &memory)?;
                if w.child_pool_by_name(parent, name).is_some() {
                    return Err(VsphereError::DuplicateName {
                        name: name.to_string(),
                        container: format!("pool {}", w.pool_path(parent)),
                    });
                }
                w.check_reserve(parent, Resource::Cpu, cpu.reservation)?;
                w.check_reserve(parent, Resource::Memory, memory.reservation)?;

                let id = PoolId(w.alloc_id());
                let compute = w.pools[&parent].compute;
                w.reserve(parent, Resource::Cpu, cpu.reservation);
                w.reserve(parent, Resource::Memory, memory.reservation);
                let name: Arc<str> = name.into();
                w.pools.insert(
                    id,
                    Pool {
                        id,
                        name: name.clone(),
                        compute,
                        parent: Some(parent),
                        children: BTreeSet::new(),
                        vms: BTreeSet::new(),
                        cpu: PoolResource {
                            alloc: cpu,
                            used: 0,
                            usage: 0,
                        },
                        memory: PoolResource {
                            alloc: memory,
                            used: 0,
                            usage: 0,
                        },
                    },
                );
                w.pools
                    .get_mut(&parent)
                    .expect("checked")
                    .children
                    .insert(id);
                let r = EntityRef {
                    moref: id.moref(),
                    name,
                };
                w.pool_event(
                    EventKind::ResourcePoolCreatedEvent,
                    r,
                    compute,
                    ctx.done,
                    ctx.chain,
                );
                Ok(id)
            },
        )
    }

    /// `ResourcePool.UpdateConfig`: a new allocation must still cover what the pool uses, and a
    /// larger reservation must fit in the parent.
    pub fn update_pool(
        &mut self,
        id: PoolId,
        cpu: Allocation,
        memory: Allocation,
    ) -> Result<(), VsphereError> {
        self.pool_task(
            Operation::UpdatePool,
            id,
            |_| None,
            |w, ctx| {
                let name = w.pool(id)?.name.clone();
                let p = w.pool(id)?;
                let Some(parent) = p.parent else {
                    return Err(VsphereError::invalid(
                        "config",
                        "a root resource pool's allocation follows its hosts",
                    ));
                };
                validate_allocation("cpuAllocation", &cpu)?;
                validate_allocation("memoryAllocation", &memory)?;
                let mut deltas = [(Resource::Cpu, 0i128), (Resource::Memory, 0i128)];
                for ((r, delta), new) in deltas.iter_mut().zip([cpu, memory]) {
                    let cur = if *r == Resource::Cpu { p.cpu } else { p.memory };
                    let next = PoolResource { alloc: new, ..cur };
                    let refuse = |available: u64| VsphereError::InsufficientResources {
                        scope: format!("pool {}", w.pool_path(id)),
                        resource: *r,
                        requested: cur.used,
                        available,
                    };
                    if new.limit.is_some_and(|l| cur.used > l) {
                        return Err(refuse(new.limit.unwrap_or(0)));
                    }
                    if !new.expandable && cur.used > new.reservation {
                        return Err(refuse(new.reservation));
                    }
                    *delta =
                        i128::from(next.demand_on_parent()) - i128::from(cur.demand_on_parent());
                    if *delta > 0 {
                        w.check_reserve(parent, *r, *delta as u64)?;
                    }
                }
                for (r, delta) in deltas {
                    if delta > 0 {
                        w.reserve(parent, r, delta as u64);
                    } else {
                        w.release(parent, r, delta.unsigned_abs() as u64);
                    }
                }
                let p = w.pools.get_mut(&id).expect("checked");
                p.cpu.alloc = cpu;
                p.memory.alloc = memory;
                let compute = p.compute;
                let r = EntityRef {
                    moref: id.moref(),
                    name,
                };
                w.pool_event(
                    EventKind::ResourcePoolReconfiguredEvent,
                    r,
                    compute,
                    ctx.done,
                    ctx.chain,
                );
                Ok(())
            },
        )
    }

    /// `ResourcePool.Destroy_Task`: refused while the pool holds VMs or child pools, so that
    /// nothing is moved behind the caller's back.
    pub fn destroy_pool(&mut self, id: PoolId) -> Result<(), VsphereError> {
        self.pool_task(
            Operation::DestroyPool,
            id,
            |_| None,
            |w, ctx| {
                let name = w.pool(id)?.name.clone();
                let p = w.pool(id)?;
                let Some(parent) = p.parent else {
                    return Err(VsphereError::invalid(
                        "this",
                        "a root resource pool cannot be destroyed",
                    ));
                };
                if !p.vms.is_empty() || !p.children.is_empty() {
                    return Err(VsphereError::ResourceInUse {
                        object: w.pool_path(id),
                        reason: format!(
                            "holds {} VMs and {} child pools",
                            p.vms.len(),
                            p.children.len()
                        ),
                    });
                }
                let (cpu, mem, compute) = (
                    p.cpu.demand_on_parent(),
                    p.memory.demand_on_parent(),
                    p.compute,
                );
                w.release(parent, Resource::Cpu, cpu);
                w.release(parent, Resource::Memory, mem);
                w.pools.remove(&id);
                w.pools
                    .get_mut(&parent)
                    .expect("parent")
                    .children
                    .remove(&id);
                let r = EntityRef {
                    moref: id.moref(),
                    name,
                };
                w.pool_event(
                    EventKind::ResourcePoolDestroyedEvent,
                    r,
                    compute,
                    ctx.done,
                    ctx.chain,
                );
                Ok(())
            },
        )
    }
}
