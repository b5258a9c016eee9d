//! Admission control: reservations in the resource pool tree and on hosts, and DRS placement.
//!
//! The pool rule is vSphere's: a pool's `used` is what its children take from it (a child
//! pool's reservation, or more when an expandable child has borrowed) plus what its powered-on
//! VMs reserve. A reservation fits if it fits the pool's own unreserved capacity, or, for an
//! expandable pool, if the excess fits its parent's, recursively; a limit caps `used` at every
//! level. The root pool's reservation and limit are the cluster's usable capacity.
//!
//! Every function here either only reads (`check_*`, `pick_*`) or only applies a change that a
//! check has already admitted, so an operation can check everything before it changes anything.

use std::collections::BTreeMap;

use super::error::{Resource, VsphereError};
use super::ids::{ComputeId, DatastoreId, HostId, PoolId};
use super::model::{Host, Pool, PoolResource};
use super::world::World;

fn res(pool: &Pool, r: Resource) -> &PoolResource {
    match r {
        Resource::Cpu => &pool.cpu,
        Resource::Memory => &pool.memory,
    }
}

fn res_mut(pool: &mut Pool, r: Resource) -> &mut PoolResource {
    match r {
        Resource::Cpu => &mut pool.cpu,
        Resource::Memory => &mut pool.memory,
    }
}

impl World {
    fn pool_ref(&self, id: PoolId) -> &Pool {
        self.pools
            .get(&id)
            .unwrap_or_else(|| panic!("pool tree references missing pool {id}"))
    }

    /// How much more `pool` could reserve of `r` (vSphere's `unreservedForVm`/`ForPool`).
    pub fn unreserved(&self, pool: PoolId, r: Resource) -> u64 {
        let p = self.pool_ref(pool);
        let pr = res(p, r);
        let own = pr.alloc.reservation.saturating_sub(pr.used);
        let mut avail = match p.parent {
            Some(parent) if pr.alloc.expandable => own.saturating_add(self.unreserved(parent, r)),
            _ => own,
        };
        if let Some(limit) = pr.alloc.limit {
            avail = avail.min(limit.saturating_sub(pr.used));
        }
        avail
    }

    /// Checks that `pool` can reserve `amount` more of `r`, borrowing through expandable pools.
    pub(crate) fn check_reserve(
        &self,
        pool: PoolId,
        r: Resource,
        amount: u64,
    ) -> Result<(), VsphereError> {
        if amount == 0 {
            return Ok(());
        }
        let refuse = || VsphereError::InsufficientResources {
            scope: format!("pool {}", self.pool_path(pool)),
            resource: r,
            requested: amount,
            available: self.unreserved(pool, r),
        };
        let (mut cur, mut need) = (pool, amount);
        loop {
            let p = self.pool_ref(cur);
            let pr = res(p, r);
            let new_used = pr.used.checked_add(need).ok_or_else(refuse)?;
            if pr.alloc.limit.is_some_and(|limit| new_used > limit) {
                return Err(refuse());
            }
            if new_used <= pr.alloc.reservation {
                return Ok(());
            }
            match p.parent {
                Some(parent) if pr.alloc.expandable => {
                    need = new_used - pr.alloc.reservation.max(pr.used);
                    cur = parent;
                }
                _ => return Err(refuse()),
            }
        }
    }

    /// Reserves `amount` of `r` in `pool` and whatever it borrows up the tree. The caller has
    /// checked it with [`World::check_reserve`].
    pub(crate) fn reserve(&mut self, pool: PoolId, r: Resource, amount: u64) {
        let (mut cur, mut delta) = (pool, amount);
        while delta > 0 {
            let p = self.pools.get_mut(&cur).expect("reserve on a missing pool");
            let pr = res_mut(p, r);
            let before = pr.demand_on_parent();
            pr.used += delta;
            let after = pr.demand_on_parent();
            match p.parent {
                Some(parent) if after > before => {
                    delta = after - before;
                    cur = parent;
                }
                _ => break,
            }
        }
    }

    /// Releases `amount` of `r` reserved in `pool`, returning what it had borrowed.
    pub(crate) fn release(&mut self, pool: PoolId, r: Resource, amount: u64) {
        let (mut cur, mut delta) = (pool, amount);
        while delta > 0 {
            let p = self.pools.get_mut(&cur).expect("release on a missing pool");
            let pr = res_mut(p, r);
            let before = pr.demand_on_parent();
            pr.used = pr
                .used
                .checked_sub(delta)
                .unwrap_or_else(|| panic!("pool {cur} releases more {r} than it reserved"));
            let after = pr.demand_on_parent();
            match p.parent {
                Some(parent) if before > after => {
                    delta = before - after;
                    cur = parent;
                }
                _ => break,
            }
        }
    }

    /// Adds (or, with `add = false`, removes) usage from `pool` and every ancestor.
    pub(crate) fn change_usage(&mut self, pool: PoolId, cpu: u64, memory: u64, add: bool) {
        let mut cur = Some(pool);
        while let Some(id) = cur {
            let p = self.pools.get_mut(&id).expect("usage on a missing pool");
            if add {
                p.cpu.usage += cpu;
                p.memory.usage += memory;
            } else {
                p.cpu.usage -= cpu;
                p.memory.usage -= memory;
            }
            cur = p.parent;
        }
    }

    /// Sets a root pool's reservation and limit to its compute resource's usable capacity.
    pub(crate) fn refresh_root_capacity(&mut self, compute: ComputeId) {
        let (cpu, mem) = self.usable_capacity(compute, None);
        let Some(root) = self.computes.get(&compute).map(|c| c.root_pool) else {
            return;
        };
        if let Some(p) = self.pools.get_mut(&root) {
            p.cpu.alloc.reservation = cpu;
            p.cpu.alloc.limit = Some(cpu);
            p.memory.alloc.reservation = mem;
            p.memory.alloc.limit = Some(mem);
        }
    }

    /// CPU (MHz) and memory (MiB) of the compute resource's usable hosts, leaving out `without`.
    pub(crate) fn usable_capacity(
        &self,
        compute: ComputeId,
        without: Option<HostId>,
    ) -> (u64, u64) {
        let Some(c) = self.computes.get(&compute) else {
            return (0, 0);
        };
        c.hosts
            .iter()
            .filter(|h| Some(**h) != without)
            .filter_map(|h| self.hosts.get(h))
            .filter(|h| h.is_usable())
            .fold((0u64, 0u64), |(cpu, mem), h| {
                (
                    cpu.saturating_add(h.cpu_capacity_mhz()),
                    mem.saturating_add(h.memory_capacity_mib()),
                )
            })
    }
}

/// What a VM needs from a host to run there.
#[derive(Clone, Debug)]
pub(crate) struct HostDemand<'a> {
    pub vm_name: &'a str,
    pub vcpus: u32,
    pub cpu_mhz: u64,
    pub memory_mib: u64,
    pub datastores: Vec<DatastoreId>,
}

/// Checks one host for a VM; `planned` adds reservations of moves planned but not yet applied.
pub(crate) fn check_host(
    world: &World,
    host: &Host,
    d: &HostDemand<'_>,
    planned: (u64, u64),
) -> Result<(), VsphereError> {
    if !host.connected {
        return Err(VsphereError::HostNotConnected {
            host: host.name.to_string(),
        });
    }
    if host.maintenance {
        return Err(VsphereError::InvalidState {
            object: host.name.to_string(),
            reason: "host is in maintenance mode".into(),
        });
    }
    if d.vcpus > host.logical_cpus() {
        return Err(VsphereError::NotEnoughLogicalCpus {
            vm: d.vm_name.to_string(),
            vcpus: d.vcpus,
            host: host.name.to_string(),
            host_cpus: host.logical_cpus(),
        });
    }
    if let Some(ds) = d.datastores.iter().find(|ds| !host.datastores.contains(ds)) {
        return Err(VsphereError::InvalidDatastore {
            datastore: world
                .datastores
                .get(ds)
                .map_or_else(|| ds.to_string(), |d| d.name.to_string()),
            host: host.name.to_string(),
        });
    }
    for (r, need, free) in [
        (
            Resource::Cpu,
            d.cpu_mhz,
            host.cpu_unreserved_mhz().saturating_sub(planned.0),
        ),
        (
            Resource::Memory,
            d.memory_mib,
            host.memory_unreserved_mib().saturating_sub(planned.1),
        ),
    ] {
        if need > free {
            return Err(VsphereError::InsufficientResources {
                scope: format!("host {}", host.name),
                resource: r,
                requested: need,
                available: free,
            });
        }
    }
    Ok(())
}

/// DRS initial placement: of the hosts in `compute` where the VM fits, the one with the most
/// unreserved memory (after `planned` moves), ties broken by lowest id. Deterministic by
/// construction: no randomness, ordered iteration.
pub(crate) fn pick_host(
    world: &World,
    compute: ComputeId,
    d: &HostDemand<'_>,
    exclude: Option<HostId>,
    planned: &BTreeMap<HostId, (u64, u64)>,
) -> Result<HostId, VsphereError> {
    let c = world.compute(compute)?;
    let mut best: Option<(u64, HostId)> = None;
    let mut first_err = None;
    for id in c.hosts.iter().filter(|h| Some(**h) != exclude) {
        let Some(host) = world.hosts.get(id) else {
            continue;
        };
        let p = planned.get(id).copied().unwrap_or((0, 0));
        match check_host(world, host, d, p) {
            Ok(()) => {
                let free = host.memory_unreserved_mib().saturating_sub(p.1);
                if best.is_none_or(|(b, _)| free > b) {
                    best = Some((free, *id));
                }
            }
            Err(e) => {
                // Report the most telling refusal: resources over cpu count over access.
                let rank = |e: &VsphereError| match e {
                    VsphereError::InsufficientResources { .. } => 3,
                    VsphereError::NotEnoughLogicalCpus { .. } => 2,
                    VsphereError::InvalidDatastore { .. } => 1,
                    _ => 0,
                };
                if first_err.as_ref().is_none_or(|f| rank(&e) > rank(f)) {
                    first_err = Some(e);
                }
            }
        }
    }
    match (best, first_err) {
        (Some((_, id)), _) => Ok(id),
        (None, Some(VsphereError::HostNotConnected { .. } | VsphereError::InvalidState { .. }))
        | (None, None) => Err(VsphereError::InvalidState {
            object: c.name.to_string(),
            reason: "no host is connected and out of maintenance mode".into(),
        }),
        (None, Some(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests;
