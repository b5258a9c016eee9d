//! Building a world: every source of variation (seed, start time, inventory, latencies, usage
//! model, fault rules) is an input here, so the same builder gives the same world and, with the
//! same commands, the same run.

use std::collections::{BTreeMap, BTreeSet};

use super::error::VsphereError;
use super::ids::*;
use super::model::*;
use super::profile::{LatencyProfile, UsageModel};
use super::spec::*;
use super::vm_ops::{DiskSpec, VmSpec};
use super::world::World;
use crate::sim::SimTime;
use crate::sim::fault::{FaultPlan, FaultRule};

/// Why an inventory could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Two objects of one kind share a name where names must be unique.
    #[error("inventory: duplicate {kind} name `{name}`")]
    Duplicate {
        /// What kind of object.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A name refers to nothing.
    #[error("inventory: {what} `{name}` does not exist")]
    Unknown {
        /// What was looked for.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A VM of a VM group could not be created or powered on.
    #[error("inventory: VM `{vm}`: {source}")]
    Vm {
        /// The VM's name.
        vm: String,
        /// The vSphere fault.
        #[source]
        source: VsphereError,
    },
    /// A pool could not be created.
    #[error("inventory: pool `{pool}`: {source}")]
    Pool {
        /// The pool's path.
        pool: String,
        /// The vSphere fault.
        #[source]
        source: VsphereError,
    },
}

/// Configures and builds a [`World`].
#[derive(Clone, Debug)]
pub struct WorldBuilder {
    seed: u64,
    start: SimTime,
    inventory: InventorySpec,
    latency: LatencyProfile,
    usage: UsageModel,
    faults: Vec<FaultRule>,
}

impl Default for WorldBuilder {
    fn default() -> Self {
        WorldBuilder {
            seed: 0,
            start: SimTime::DEFAULT_EPOCH,
            inventory: InventorySpec::default_vcenter(),
            latency: LatencyProfile::vcenter(),
            usage: UsageModel::ESX,
            faults: Vec::new(),
        }
    }
}

impl WorldBuilder {
    /// Seed 0, 2024-01-01, the built-in inventory, vCenter-like latencies, ESX overheads, no
    /// fault rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// The RNG seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The simulated start time.
    pub fn start_time(mut self, t: SimTime) -> Self {
        self.start = t;
        self
    }

    /// The inventory.
    pub fn inventory(mut self, spec: InventorySpec) -> Self {
        self.inventory = spec;
        self
    }

    /// Operation latencies.
    pub fn latency(mut self, latency: LatencyProfile) -> Self {
        self.latency = latency;
        self
    }

    /// VM overhead and CPU demand.
    pub fn usage_model(mut self, usage: UsageModel) -> Self {
        self.usage = usage;
        self
    }

    /// Adds a fault rule; rules apply to operations after the inventory is built.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// Builds the world: objects get ids in inventory order, then VM groups are created (and
    /// powered on) through the ordinary operations, so they pass admission control.
    pub fn build(self) -> Result<World, BuildError> {
        let mut w = World::empty(self.seed, self.start, self.latency, self.usage);
        for dc in &self.inventory.datacenters {
            build_datacenter(&mut w, dc)?;
        }
        for dc in &self.inventory.datacenters {
            for group in &dc.vms {
                build_vms(&mut w, group)?;
            }
        }
        w.faults = FaultPlan::new(self.faults);
        Ok(w)
    }
}

fn unique<'a>(
    kind: &'static str,
    names: impl IntoIterator<Item = &'a str>,
    seen: &mut BTreeSet<&'a str>,
) -> Result<(), BuildError> {
    for n in names {
        if !seen.insert(n) {
            return Err(BuildError::Duplicate {
                kind,
                name: n.to_string(),
            });
        }
    }
    Ok(())
}

fn new_folder(w: &mut World, kind: FolderKind, name: &str, dc: DatacenterId) -> FolderId {
    let id = FolderId {
        n: w.alloc_id(),
        kind,
    };
    w.folders.insert(
        id,
        Folder {
            id,
            name: name.into(),
            kind,
            datacenter: dc,
            parent: None,
            folders: BTreeMap::new(),
            vms: BTreeMap::new(),
        },
    );
    id
}

fn build_datacenter(w: &mut World, spec: &DatacenterSpec) -> Result<(), BuildError> {
    if w.datacenters.values().any(|d| *d.name == *spec.name) {
        return Err(BuildError::Duplicate {
            kind: "datacenter",
            name: spec.name.clone(),
        });
    }
    let mut hosts_seen = BTreeSet::new();
    let cluster_hosts = spec.clusters.iter().flat_map(|c| c.hosts.iter());
    unique(
        "host",
        cluster_hosts
            .chain(&spec.standalone_hosts)
            .map(|h| h.name.as_str()),
        &mut hosts_seen,
    )?;
    let computes = spec
        .clusters
        .iter()
        .map(|c| c.name.as_str())
        .chain(spec.standalone_hosts.iter().map(|h| h.name.as_str()));
    unique("cluster", computes, &mut BTreeSet::new())?;
    unique(
        "datastore",
        spec.datastores.iter().map(|d| d.name.as_str()),
        &mut BTreeSet::new(),
    )?;
    unique(
        "network",
        spec.networks.iter().map(|n| n.name.as_str()),
        &mut BTreeSet::new(),
    )?;

    let id = DatacenterId(w.alloc_id());
    let dc = Datacenter {
        id,
        name: spec.name.as_str().into(),
        vm_folder: new_folder(w, FolderKind::Vm, "vm", id),
        host_folder: new_folder(w, FolderKind::Host, "host", id),
        datastore_folder: new_folder(w, FolderKind::Datastore, "datastore", id),
        network_folder: new_folder(w, FolderKind::Network, "network", id),
        computes: Vec::new(),
        datastores: Vec::new(),
        networks: Vec::new(),
    };
    w.datacenters.insert(id, dc);

    for n in &spec.networks {
        let nid = NetworkId(w.alloc_id());
        w.networks.insert(
            nid,
            Network {
                id: nid,
                name: n.name.as_str().into(),
                datacenter: id,
            },
        );
        w.datacenters
            .get_mut(&id)
            .expect("just made")
            .networks
            .push(nid);
    }
    let mut by_name: BTreeMap<String, HostId> = BTreeMap::new();
    for c in &spec.clusters {
        let compute = new_compute(w, id, &c.name, true, c.drs);
        for h in &c.hosts {
            by_name.insert(h.name.clone(), new_host(w, compute, h));
        }
        w.refresh_root_capacity(compute);
    }
    for h in &spec.standalone_hosts {
        let compute = new_compute(w, id, &h.name, false, false);
        by_name.insert(h.name.clone(), new_host(w, compute, h));
        w.refresh_root_capacity(compute);
    }
    for ds in &spec.datastores {
        let mounts: BTreeSet<HostId> = if ds.hosts.is_empty() {
            by_name.values().copied().collect()
        } else {
            ds.hosts
                .iter()
                .map(|n| {
                    by_name.get(n).copied().ok_or_else(|| BuildError::Unknown {
                        what: "host",
                        name: n.clone(),
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let dsid = DatastoreId(w.alloc_id());
        for h in &mounts {
            w.hosts.get_mut(h).expect("mapped").datastores.insert(dsid);
        }
        w.datastores.insert(
            dsid,
            Datastore {
                id: dsid,
                name: ds.name.as_str().into(),
                datacenter: id,
                capacity_mib: ds.capacity_mib,
                used_mib: 0,
                hosts: mounts,
            },
        );
        w.datacenters
            .get_mut(&id)
            .expect("just made")
            .datastores
            .push(dsid);
    }
    for c in &spec.clusters {
        let root = w
            .compute_by_name(&c.name)
            .map(|cid| w.computes[&cid].root_pool)
            .expect("just made");
        for p in &c.pools {
            build_pool(w, root, p)?;
        }
    }
    Ok(())
}

fn new_compute(w: &mut World, dc: DatacenterId, name: &str, cluster: bool, drs: bool) -> ComputeId {
    let id = ComputeId {
        n: w.alloc_id(),
        cluster,
    };
    let root = PoolId(w.alloc_id());
    let fixed = Allocation {
        expandable: false,
        ..Allocation::DEFAULT
    };
    w.pools.insert(
        root,
        Pool {
            id: root,
            name: "Resources".into(),
            compute: id,
            parent: None,
            children: BTreeSet::new(),
            vms: BTreeSet::new(),
            cpu: PoolResource {
                alloc: fixed,
                used: 0,
                usage: 0,
            },
            memory: PoolResource {
                alloc: fixed,
                used: 0,
                usage: 0,
            },
        },
    );
    w.computes.insert(
        id,
        ComputeResource {
            id,
            name: name.into(),
            datacenter: dc,
            is_cluster: cluster,
            drs,
            hosts: Vec::new(),
            root_pool: root,
        },
    );
    w.datacenters
        .get_mut(&dc)
        .expect("exists")
        .computes
        .push(id);
    id
}

fn new_host(w: &mut World, compute: ComputeId, h: &HostSpec) -> HostId {
    let id = HostId(w.alloc_id());
    w.hosts.insert(
        id,
        Host {
            id,
            name: h.name.as_str().into(),
            compute,
            sockets: h.sockets,
            cores_per_socket: h.cores_per_socket,
            mhz_per_core: h.mhz_per_core,
            memory_mib: h.memory_mib,
            overhead_mib: h.overhead_mib,
            connected: h.connected,
            maintenance: h.maintenance,
            datastores: BTreeSet::new(),
            vms: BTreeSet::new(),
            cpu_reserved_mhz: 0,
            memory_reserved_mib: 0,
            cpu_usage_mhz: 0,
            memory_usage_mib: 0,
        },
    );
    w.computes.get_mut(&compute).expect("exists").hosts.push(id);
    id
}

fn build_pool(w: &mut World, parent: PoolId, spec: &PoolSpec) -> Result<(), BuildError> {
    let id = w
        .create_pool(parent, &spec.name, spec.cpu, spec.memory)
        .map_err(|source| BuildError::Pool {
            pool: format!("{}/{}", w.pool_path(parent), spec.name),
            source,
        })?;
    for child in &spec.children {
        build_pool(w, id, child)?;
    }
    Ok(())
}

/// Names of a VM group's members (see [`member_name`]).
pub fn group_names(group: &VmGroupSpec) -> impl Iterator<Item = String> + '_ {
    (0..group.count).map(move |i| member_name(&group.name, group.count, i))
}

fn build_vms(w: &mut World, group: &VmGroupSpec) -> Result<(), BuildError> {
    let pool = w
        .pool_by_path(&group.pool)
        .ok_or_else(|| BuildError::Unknown {
            what: "pool",
            name: group.pool.clone(),
        })?;
    let ds = w
        .datastore_by_name(&group.datastore)
        .ok_or_else(|| BuildError::Unknown {
            what: "datastore",
            name: group.datastore.clone(),
        })?;
    for name in group_names(group) {
        let mut spec = VmSpec::new(name.clone(), pool, ds);
        spec.vcpus = group.vcpus;
        spec.memory_mib = group.memory_mib;
        spec.guest_id = group.guest_id.clone();
        if group.disk_mib > 0 {
            spec.disks.push(DiskSpec {
                capacity_mib: group.disk_mib,
                thin: group.thin,
                datastore: None,
            });
        }
        let vm = w.create_vm(spec).map_err(|source| BuildError::Vm {
            vm: name.clone(),
            source,
        })?;
        if group.power_on {
            w.power_on_vm(vm).map_err(|source| BuildError::Vm {
                vm: name.clone(),
                source,
            })?;
        }
    }
    Ok(())
}
