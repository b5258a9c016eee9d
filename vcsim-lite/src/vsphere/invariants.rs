//! The accounting invariants, recomputed from scratch and compared with the incremental
//! figures the operations maintain. Property tests call this after every step.

use std::collections::BTreeMap;

use super::ids::*;
use super::model::PowerState;
use super::world::World;

/// A broken invariant: which one, and the figures that disagree.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken: {0}")]
pub struct InvariantViolation(pub String);

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(InvariantViolation(format!($($arg)*)));
        }
    };
}

impl World {
    /// Checks that:
    /// - every VM sits in exactly one folder, one pool and one host, and those point back;
    /// - a powered-off VM holds nothing; a powered-on VM runs on a usable host;
    /// - each pool's `used` equals what its children take plus its VMs' reservations, never
    ///   exceeds its limit, and exceeds its reservation only if it is expandable;
    /// - each pool's usage equals its children's plus its VMs';
    /// - each host's reservations and usage equal the sums over its powered-on VMs and fit its
    ///   capacity; each cluster's root pool usage equals the sum over its hosts;
    /// - each datastore's used space equals the sum of the files on it and fits its capacity.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.check_vm_membership()?;
        self.check_pools()?;
        self.check_hosts()?;
        self.check_datastores()
    }

    fn check_vm_membership(&self) -> Result<(), InvariantViolation> {
        // Per VM: how many folders, pools and hosts list it.
        let mut listed: BTreeMap<VmId, [usize; 3]> = BTreeMap::new();
        for f in self.folders.values() {
            for (name, id) in &f.vms {
                listed.entry(*id).or_default()[0] += 1;
                let vm = self.vms.get(id);
                ensure!(
                    vm.is_some_and(|v| v.folder == f.id && v.name == *name),
                    "folder {} lists {id} as {name}",
                    f.id
                );
            }
        }
        for p in self.pools.values() {
            for id in &p.vms {
                listed.entry(*id).or_default()[1] += 1;
                ensure!(
                    self.vms.get(id).is_some_and(|v| v.pool == p.id),
                    "pool {} lists {id}",
                    p.id
                );
            }
        }
        for h in self.hosts.values() {
            for id in &h.vms {
                listed.entry(*id).or_default()[2] += 1;
                ensure!(
                    self.vms.get(id).is_some_and(|v| v.host == h.id),
                    "host {} lists {id}",
                    h.id
                );
            }
        }
        for vm in self.vms.values() {
            let id = vm.id;
            let [folders, pools, hosts] = listed.get(&id).copied().unwrap_or_default();
            ensure!(folders == 1, "{id} is in {folders} folders");
            ensure!(pools == 1, "{id} is in {pools} pools");
            ensure!(hosts == 1, "{id} is on {hosts} hosts");
            let pool_compute = self.pools.get(&vm.pool).map(|p| p.compute);
            let host_compute = self.hosts.get(&vm.host).map(|h| h.compute);
            ensure!(
                pool_compute == host_compute,
                "{id} runs in pool and host of different clusters"
            );
            match vm.power_state {
                PowerState::PoweredOff => {
                    ensure!(
                        vm.runtime == Default::default(),
                        "powered-off {id} holds {:?}",
                        vm.runtime
                    )
                }
                PowerState::PoweredOn => {
                    let usable = self.hosts.get(&vm.host).is_some_and(|h| h.is_usable());
                    ensure!(usable, "powered-on {id} runs on unusable host {}", vm.host);
                }
            }
        }
        ensure!(
            listed.len() == self.vms.len(),
            "folders, pools or hosts list VMs that do not exist"
        );
        Ok(())
    }

    fn check_pools(&self) -> Result<(), InvariantViolation> {
        for p in self.pools.values() {
            let (mut cpu_used, mut mem_used, mut cpu_usage, mut mem_usage) =
                (0u64, 0u64, 0u64, 0u64);
            for c in &p.children {
                let child = self.pools.get(c);
                ensure!(
                    child.is_some_and(|ch| ch.parent == Some(p.id)),
                    "pool {} lists child {c}",
                    p.id
                );
                let child = child.expect("checked");
                cpu_used += child.cpu.demand_on_parent();
                mem_used += child.memory.demand_on_parent();
                cpu_usage += child.cpu.usage;
                mem_usage += child.memory.usage;
            }
            for v in p.vms.iter().filter_map(|v| self.vms.get(v)) {
                cpu_used += v.runtime.cpu_reserved_mhz;
                mem_used += v.runtime.memory_reserved_mib;
                cpu_usage += v.runtime.cpu_usage_mhz;
                mem_usage += v.runtime.memory_usage_mib;
            }
            for (what, r, used, usage) in [
                ("cpu", &p.cpu, cpu_used, cpu_usage),
                ("memory", &p.memory, mem_used, mem_usage),
            ] {
                ensure!(
                    r.used == used,
                    "pool {} {what} used {} but children and VMs take {used}",
                    p.id,
                    r.used
                );
                ensure!(
                    r.usage == usage,
                    "pool {} {what} usage {} but sum is {usage}",
                    p.id,
                    r.usage
                );
                ensure!(
                    r.alloc.limit.is_none_or(|l| r.used <= l),
                    "pool {} {what} used {} over limit {:?}",
                    p.id,
                    r.used,
                    r.alloc.limit
                );
                ensure!(
                    r.used <= r.alloc.reservation || (r.alloc.expandable && p.parent.is_some()),
                    "pool {} {what} used {} over reservation {} without borrowing",
                    p.id,
                    r.used,
                    r.alloc.reservation
                );
            }
        }
        for c in self.computes.values() {
            let root = self.pools.get(&c.root_pool);
            ensure!(
                root.is_some_and(|r| r.parent.is_none()),
                "{} root pool missing",
                c.id
            );
            let root = root.expect("checked");
            let (cpu, mem) = self.usable_capacity(c.id, None);
            ensure!(
                root.cpu.alloc.reservation == cpu && root.memory.alloc.reservation == mem,
                "{} root pool does not match usable capacity",
                c.id
            );
            let hosts = c.hosts.iter().filter_map(|h| self.hosts.get(h));
            let (hc, hm) = hosts.fold((0, 0), |(a, b), h| {
                (a + h.cpu_usage_mhz, b + h.memory_usage_mib)
            });
            ensure!(
                root.cpu.usage == hc && root.memory.usage == hm,
                "{} usage differs between root pool and hosts",
                c.id
            );
        }
        Ok(())
    }

    fn check_hosts(&self) -> Result<(), InvariantViolation> {
        for h in self.hosts.values() {
            let on = h
                .vms
                .iter()
                .filter_map(|v| self.vms.get(v))
                .filter(|v| v.power_state == PowerState::PoweredOn);
            let (mut cr, mut mr, mut cu, mut mu) = (0u64, 0u64, 0u64, 0u64);
            for v in on {
                cr += v.runtime.cpu_reserved_mhz;
                mr += v.runtime.memory_reserved_mib;
                cu += v.runtime.cpu_usage_mhz;
                mu += v.runtime.memory_usage_mib;
            }
            ensure!(
                h.cpu_reserved_mhz == cr && h.memory_reserved_mib == mr,
                "host {} reservations differ from its VMs'",
                h.id
            );
            ensure!(
                h.cpu_usage_mhz == cu && h.memory_usage_mib == mu,
                "host {} usage differs from its VMs'",
                h.id
            );
            ensure!(
                cr <= h.cpu_capacity_mhz() && mr <= h.memory_capacity_mib(),
                "host {} reserves beyond capacity",
                h.id
            );
        }
        Ok(())
    }

    fn check_datastores(&self) -> Result<(), InvariantViolation> {
        let mut files: BTreeMap<DatastoreId, u64> = BTreeMap::new();
        for ((ds, path), f) in &self.disk_files {
            *files.entry(*ds).or_default() += f.used_mib;
            ensure!(
                f.used_mib <= f.capacity_mib,
                "disk file {path} holds more than its capacity"
            );
            for vm in &f.attached_to {
                let attached = self.vms.get(vm).is_some_and(|v| {
                    v.disks
                        .iter()
                        .any(|d| d.datastore == *ds && d.attached.as_deref() == Some(&**path))
                });
                ensure!(
                    attached,
                    "disk file {path} lists {vm}, which does not attach it"
                );
            }
        }
        for vm in self.vms.values() {
            for d in &vm.disks {
                *files.entry(d.datastore).or_default() += d.consumed_mib;
                if let Some(path) = &d.attached {
                    let f = self.disk_files.get(&(d.datastore, path.clone()));
                    ensure!(
                        f.is_some_and(|f| f.attached_to.contains(&vm.id)),
                        "{} attaches {path} unrecorded",
                        vm.id
                    );
                    ensure!(
                        d.consumed_mib == 0,
                        "{} counts attached {path} twice",
                        vm.id
                    );
                }
            }
            *files.entry(vm.datastore).or_default() += vm.runtime.swap_mib;
        }
        for ds in self.datastores.values() {
            let sum = files.get(&ds.id).copied().unwrap_or(0);
            ensure!(
                ds.used_mib == sum,
                "datastore {} used {} but files take {sum}",
                ds.id,
                ds.used_mib
            );
            ensure!(
                ds.used_mib <= ds.capacity_mib,
                "datastore {} over capacity",
                ds.id
            );
        }
        Ok(())
    }
}
