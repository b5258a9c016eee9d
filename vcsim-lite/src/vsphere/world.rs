//! The world: every managed object, the kernel (clock, RNG, faults, logs), and the plumbing
//! each operation goes through. The operations themselves are in `vm_ops`, `pool_ops` and
//! `host_ops`.
//!
//! The world is a plain struct with `&mut self` operations: concurrency belongs to the edges,
//! which serialise calls (one lock), so the core sees one sequence that replays.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::VsphereError;
use super::ids::*;
use super::model::*;
use super::profile::{LatencyProfile, UsageModel};
use super::task::{Task, TaskLog, TaskOutcome};
use crate::sim::event::{EntityRef, Event, EventKind, EventLog, Moref};
use crate::sim::fault::{FaultPlan, FaultRule};
use crate::sim::{Clock, ObjectKind, Operation, SimRng, SimTime};

/// The simulated vCenter.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) seed: u64,
    pub(crate) clock: Clock,
    pub(crate) rng: SimRng,
    pub(crate) faults: FaultPlan,
    pub(crate) latency: LatencyProfile,
    pub(crate) usage: UsageModel,
    pub(crate) events: EventLog,
    pub(crate) tasks: TaskLog,
    pub(crate) next_id: u64,
    pub(crate) root_folder: FolderId,
    pub(crate) datacenters: BTreeMap<DatacenterId, Datacenter>,
    pub(crate) folders: BTreeMap<FolderId, Folder>,
    pub(crate) computes: BTreeMap<ComputeId, ComputeResource>,
    pub(crate) hosts: BTreeMap<HostId, Host>,
    pub(crate) pools: BTreeMap<PoolId, Pool>,
    pub(crate) datastores: BTreeMap<DatastoreId, Datastore>,
    pub(crate) networks: BTreeMap<NetworkId, Network>,
    pub(crate) vms: BTreeMap<VmId, Vm>,
    pub(crate) disk_files: BTreeMap<(DatastoreId, Arc<str>), DiskFile>,
}

/// Times and chain of the task an operation runs as.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TaskCtx {
    /// When the task started.
    pub start: SimTime,
    /// When it completes.
    pub done: SimTime,
    /// Its event chain id.
    pub chain: u64,
}

impl World {
    pub(crate) fn empty(
        seed: u64,
        start: SimTime,
        latency: LatencyProfile,
        usage: UsageModel,
    ) -> World {
        World {
            seed,
            clock: Clock::new(start),
            rng: SimRng::new(seed),
            faults: FaultPlan::new(Vec::new()),
            latency,
            usage,
            events: EventLog::default(),
            tasks: TaskLog::new(4096),
            next_id: 2,
            root_folder: FolderId {
                n: 1,
                kind: FolderKind::Datacenter,
            },
            datacenters: BTreeMap::new(),
            folders: BTreeMap::new(),
            computes: BTreeMap::new(),
            hosts: BTreeMap::new(),
            pools: BTreeMap::new(),
            datastores: BTreeMap::new(),
            networks: BTreeMap::new(),
            vms: BTreeMap::new(),
            disk_files: BTreeMap::new(),
        }
    }

    /// The next number of vCenter's id counter.
    pub(crate) fn alloc_id(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n
    }

    // ----- reading -------------------------------------------------------------------------

    /// The seed the world's RNG started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.clock.now()
    }

    /// Moves simulated time forward to `t` (never backwards). The server calls this to make
    /// simulated time follow wall time; tests and scenarios never need to.
    pub fn advance_to(&mut self, t: SimTime) {
        self.clock.advance_to(t);
    }

    /// The event log.
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    /// The recent tasks.
    pub fn tasks(&self) -> &TaskLog {
        &self.tasks
    }

    /// The fault rules in force, with their counters.
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }

    /// `n_bytes` random bytes as hex from the world's seeded RNG: the one source of ids for
    /// the layers above (container ids, handles).
    pub fn random_hex(&mut self, n_bytes: usize) -> String {
        self.rng.hex(n_bytes)
    }

    /// Adds a fault rule after those in force (their counters are kept), so a test or a
    /// scenario can switch a fault on mid-run; [`World::clear_fault_rules`] switches all off.
    pub fn add_fault_rule(&mut self, rule: FaultRule) {
        self.faults.push(rule);
    }

    /// Removes every fault rule, e.g. to tear a world down without injected failures.
    pub fn clear_fault_rules(&mut self) {
        self.faults = FaultPlan::new(Vec::new());
    }

    /// Removes the first fault rule equal to `rule`; false when none is in force.
    pub fn remove_fault_rule(&mut self, rule: &FaultRule) -> bool {
        self.faults.remove(rule)
    }

    /// The usage model (VM overhead, CPU demand).
    pub fn usage_model(&self) -> &UsageModel {
        &self.usage
    }

    /// The root folder (`group-d1`).
    pub fn root_folder(&self) -> FolderId {
        self.root_folder
    }

    /// Datacenters by id.
    pub fn datacenters(&self) -> &BTreeMap<DatacenterId, Datacenter> {
        &self.datacenters
    }

    /// Folders by id.
    pub fn folders(&self) -> &BTreeMap<FolderId, Folder> {
        &self.folders
    }

    /// Clusters and standalone compute resources by id.
    pub fn computes(&self) -> &BTreeMap<ComputeId, ComputeResource> {
        &self.computes
    }

    /// Hosts by id.
    pub fn hosts(&self) -> &BTreeMap<HostId, Host> {
        &self.hosts
    }

    /// Resource pools by id.
    pub fn pools(&self) -> &BTreeMap<PoolId, Pool> {
        &self.pools
    }

    /// Datastores by id.
    pub fn datastores(&self) -> &BTreeMap<DatastoreId, Datastore> {
        &self.datastores
    }

    /// Networks by id.
    pub fn networks(&self) -> &BTreeMap<NetworkId, Network> {
        &self.networks
    }

    /// VMs by id.
    pub fn vms(&self) -> &BTreeMap<VmId, Vm> {
        &self.vms
    }

    /// A VM by id.
    pub fn vm(&self, id: VmId) -> Result<&Vm, VsphereError> {
        self.vms
            .get(&id)
            .ok_or_else(|| not_found(ObjectKind::Vm, id))
    }

    /// A host by id.
    pub fn host(&self, id: HostId) -> Result<&Host, VsphereError> {
        self.hosts
            .get(&id)
            .ok_or_else(|| not_found(ObjectKind::Host, id))
    }

    /// A pool by id.
    pub fn pool(&self, id: PoolId) -> Result<&Pool, VsphereError> {
        self.pools
            .get(&id)
            .ok_or_else(|| not_found(ObjectKind::Pool, id))
    }

    /// A datastore by id.
    pub fn datastore(&self, id: DatastoreId) -> Result<&Datastore, VsphereError> {
        self.datastores
            .get(&id)
            .ok_or_else(|| not_found(ObjectKind::Datastore, id))
    }

    /// A compute resource by id.
    pub fn compute(&self, id: ComputeId) -> Result<&ComputeResource, VsphereError> {
        self.computes
            .get(&id)
            .ok_or_else(|| not_found(ObjectKind::Cluster, id))
    }

    /// A folder by id.
    pub fn folder(&self, id: FolderId) -> Result<&Folder, VsphereError> {
        self.folders
            .get(&id)
            .ok_or_else(|| not_found(ObjectKind::Folder, id))
    }

    /// The first datacenter (most inventories have one).
    pub fn default_datacenter(&self) -> Option<&Datacenter> {
        self.datacenters.values().next()
    }

    /// A host by name.
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts.values().find(|h| &*h.name == name).map(|h| h.id)
    }

    /// A cluster or standalone compute resource by name.
    pub fn compute_by_name(&self, name: &str) -> Option<ComputeId> {
        self.computes
            .values()
            .find(|c| &*c.name == name)
            .map(|c| c.id)
    }

    /// A datastore by name.
    pub fn datastore_by_name(&self, name: &str) -> Option<DatastoreId> {
        self.datastores
            .values()
            .find(|d| &*d.name == name)
            .map(|d| d.id)
    }

    /// A VM by name in its datacenter's VM folders (the first found, by id).
    pub fn vm_by_name(&self, name: &str) -> Option<VmId> {
        self.vms.values().find(|v| &*v.name == name).map(|v| v.id)
    }

    /// A pool by path: a compute resource's name, then child pool names, e.g. `DC0_C0/web`.
    /// The compute resource's name alone is its root pool.
    pub fn pool_by_path(&self, path: &str) -> Option<PoolId> {
        let mut parts = path.split('/');
        let compute = self.compute_by_name(parts.next()?)?;
        let mut pool = self.computes.get(&compute)?.root_pool;
        for name in parts {
            pool = self.child_pool_by_name(pool, name)?;
        }
        Some(pool)
    }

    pub(crate) fn child_pool_by_name(&self, parent: PoolId, name: &str) -> Option<PoolId> {
        let parent = self.pools.get(&parent)?;
        parent
            .children
            .iter()
            .copied()
            .find(|c| self.pools.get(c).is_some_and(|p| &*p.name == name))
    }

    /// The pool path of a pool, as [`World::pool_by_path`] reads it.
    pub fn pool_path(&self, id: PoolId) -> String {
        let mut names = Vec::new();
        let mut cur = self.pools.get(&id);
        while let Some(p) = cur {
            match p.parent {
                Some(parent) => {
                    names.push(p.name.to_string());
                    cur = self.pools.get(&parent);
                }
                None => {
                    let c = self.computes.get(&p.compute).map_or("?", |c| &*c.name);
                    names.push(c.to_string());
                    cur = None;
                }
            }
        }
        names.reverse();
        names.join("/")
    }

    /// The datacenter a compute resource belongs to.
    pub(crate) fn datacenter_of_compute(&self, id: ComputeId) -> Option<DatacenterId> {
        self.computes.get(&id).map(|c| c.datacenter)
    }

    /// The VM's display name for its guest (`config.guestFullName`).
    pub fn guest_full_name(&self, id: VmId) -> Result<String, VsphereError> {
        let vm = self.vm(id)?;
        Ok(super::guest::guest_full_name(&vm.guest_id, &vm.alternate_guest_name).into_owned())
    }

    // ----- the task plumbing ---------------------------------------------------------------

    /// Runs `body` as the task `op` on `entity`: applies fault rules, charges latency, and
    /// records the task. `body` must check everything before it changes anything, so that an
    /// error leaves the inventory as it was.
    pub(crate) fn run_task<T>(
        &mut self,
        op: Operation,
        kind: ObjectKind,
        entity: Moref,
        name: Arc<str>,
        result_of: impl FnOnce(&T) -> Option<Moref>,
        body: impl FnOnce(&mut World, TaskCtx) -> Result<T, VsphereError>,
    ) -> Result<T, VsphereError> {
        let start = self.clock.now();
        let duration = self.latency.draw(op, &mut self.rng);
        let ctx = TaskCtx {
            start,
            done: start.plus(duration),
            chain: self.events.next_key(),
        };
        let res = match self.injected_fault(op, kind, &name) {
            Some(err) => Err(err),
            None => body(self, ctx),
        };
        self.clock.advance_to(ctx.done);
        let outcome = match &res {
            Ok(v) => TaskOutcome::Success(result_of(v)),
            Err(e) => TaskOutcome::Error(e.clone()),
        };
        self.tasks.push(Task {
            id: 0,
            operation: op,
            entity,
            entity_name: name,
            outcome,
            started: start,
            completed: ctx.done,
            event_chain_id: ctx.chain,
        });
        res
    }

    /// [`World::run_task`] on a VM.
    pub(crate) fn vm_task<T>(
        &mut self,
        op: Operation,
        id: VmId,
        body: impl FnOnce(&mut World, TaskCtx) -> Result<T, VsphereError>,
    ) -> Result<T, VsphereError> {
        let name = self.vm(id)?.name.clone();
        self.run_task(op, ObjectKind::Vm, id.moref(), name, |_| None, body)
    }

    /// [`World::run_task`] on a host.
    pub(crate) fn host_task(
        &mut self,
        op: Operation,
        id: HostId,
        body: impl FnOnce(&mut World, TaskCtx) -> Result<(), VsphereError>,
    ) -> Result<(), VsphereError> {
        let name = self.host(id)?.name.clone();
        self.run_task(op, ObjectKind::Host, id.moref(), name, |_| None, body)
    }

    /// [`World::run_task`] on a resource pool.
    pub(crate) fn pool_task<T>(
        &mut self,
        op: Operation,
        id: PoolId,
        result_of: impl FnOnce(&T) -> Option<Moref>,
        body: impl FnOnce(&mut World, TaskCtx) -> Result<T, VsphereError>,
    ) -> Result<T, VsphereError> {
        let name = self.pool(id)?.name.clone();
        self.run_task(op, ObjectKind::Pool, id.moref(), name, result_of, body)
    }

    fn injected_fault(
        &mut self,
        op: Operation,
        kind: ObjectKind,
        name: &str,
    ) -> Option<VsphereError> {
        if self.faults.is_empty() {
            return None;
        }
        let fault = self.faults.check(op, kind, name, &mut self.rng)?;
        Some(VsphereError::Injected {
            fault,
            operation: op,
            kind,
            object: name.to_string(),
        })
    }

    // ----- events --------------------------------------------------------------------------

    pub(crate) fn dc_ref(&self, id: DatacenterId) -> Option<EntityRef> {
        self.datacenters.get(&id).map(|d| EntityRef {
            moref: d.id.moref(),
            name: d.name.clone(),
        })
    }

    pub(crate) fn host_ref(&self, id: HostId) -> Option<EntityRef> {
        self.hosts.get(&id).map(|h| EntityRef {
            moref: h.id.moref(),
            name: h.name.clone(),
        })
    }

    pub(crate) fn compute_ref(&self, id: ComputeId) -> Option<EntityRef> {
        self.computes.get(&id).map(|c| EntityRef {
            moref: c.id.moref(),
            name: c.name.clone(),
        })
    }

    /// Logs an event about a VM (with its host, compute resource and datacenter).
    pub(crate) fn vm_event(&mut self, kind: EventKind, vm: VmId, at: SimTime, chain: u64) {
        let Some(v) = self.vms.get(&vm) else { return };
        let host = self.hosts.get(&v.host);
        let compute = host.map(|h| h.compute);
        let dc = compute.and_then(|c| self.datacenter_of_compute(c));
        let event = Event {
            key: 0,
            chain_id: chain,
            created: at,
            kind,
            datacenter: dc.and_then(|d| self.dc_ref(d)),
            compute_resource: compute.and_then(|c| self.compute_ref(c)),
            host: self.host_ref(v.host),
            vm: Some(EntityRef {
                moref: v.id.moref(),
                name: v.name.clone(),
            }),
            other: None,
        };
        self.events.push(event);
    }

    /// Logs a host event; `other` is e.g. the source host of a migration.
    pub(crate) fn host_event(
        &mut self,
        kind: EventKind,
        host: HostId,
        vm: Option<VmId>,
        other: Option<EntityRef>,
        at: SimTime,
        chain: u64,
    ) {
        let compute = self.hosts.get(&host).map(|h| h.compute);
        let dc = compute.and_then(|c| self.datacenter_of_compute(c));
        let vm = vm.and_then(|id| self.vms.get(&id)).map(|v| EntityRef {
            moref: v.id.moref(),
            name: v.name.clone(),
        });
        let event = Event {
            key: 0,
            chain_id: chain,
            created: at,
            kind,
            datacenter: dc.and_then(|d| self.dc_ref(d)),
            compute_resource: compute.and_then(|c| self.compute_ref(c)),
            host: self.host_ref(host),
            vm,
            other,
        };
        self.events.push(event);
    }

    /// Logs a resource pool event.
    pub(crate) fn pool_event(
        &mut self,
        kind: EventKind,
        pool: EntityRef,
        compute: ComputeId,
        at: SimTime,
        chain: u64,
    ) {
        let dc = self.datacenter_of_compute(compute);
        let event = Event {
            key: 0,
            chain_id: chain,
            created: at,
            kind,
            datacenter: dc.and_then(|d| self.dc_ref(d)),
            compute_resource: self.compute_ref(compute),
            host: None,
            vm: None,
            other: Some(pool),
        };
        self.events.push(event);
    }
}

pub(crate) fn not_found(kind: ObjectKind, id: impl ToString) -> VsphereError {
    VsphereError::NotFound {
        kind,
        id: id.to_string(),
    }
}
