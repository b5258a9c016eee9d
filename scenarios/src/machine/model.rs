//! The reference model: what the stack should do, computed from a handful of numbers.
//!
//! It holds pods (their shape, what admission charged for them, their phase), the images and
//! layers pulled, the cluster (hosts and the VCH's VMs, see [`super::cluster`]), the VCH's
//! limits, the fault rules in force and the clock. Each step computes the outcome the stack
//! must give ([`Expect`]) and the state after it; the checks then compare the real stack with
//! both. The rules it applies are the documented ones: the kubelet's admission against the
//! node's allocatable (derived from the VCH's limits as the provider's `node` module
//! documents), Kubernetes' default pull policy, the provider's pod sizing, vSphere's pool
//! admission, DRS placement, and space on the datastore.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

use super::cluster::{Cluster, HostState, Refusal, VmState, overhead_mib};
use super::images::{facts, tagged};
use super::pod::{PodKey, PodShape, Sizing};
use super::setup::{
    APPLIANCE_MEMORY_MB, APPLIANCE_VCPUS, Limits, MHZ_PER_CORE, START, Setup, setup,
};
use super::transitions::{Fault, Transition, transitions};

/// CPU demand of a running VM, percent of its vCPUs at the core clock (the usage model's).
const CPU_DEMAND_PCT: u64 = 10;

/// A pod's phase as the provider reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The pod VM has never run.
    Pending,
    /// The pod VM runs its containers.
    Running,
    /// The pod VM was stopped: every container ended with 143 (SIGTERM).
    Failed,
}

impl Phase {
    /// As Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Failed => "Failed",
        }
    }
}

/// A pod the provider has (cached, with a pod VM).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    /// Its VM's creation sequence in [`Cluster::vms`].
    pub seq: u64,
    /// What it was created from.
    pub shape: PodShape,
    /// Its phase.
    pub phase: Phase,
    /// Its create failed after the pod VM was made (the start), and this provider instance
    /// remembers it: the status reason is `ProviderFailed`.
    pub failed: bool,
    /// Labels, when known (a restarted provider restores pods from their VMs, without them).
    pub labels: Option<BTreeMap<String, String>>,
    /// Unix seconds of the last start, while running.
    pub started_at: Option<u64>,
}

/// The outcome a step must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Success.
    Ok,
    /// A provider error with this pod reason, whose message contains `text` (if given).
    Provider {
        /// The Kubernetes reason (`OutOfcpu`, `ErrImagePull`, `ProviderFailed`, ...).
        reason: &'static str,
        /// Text the message contains.
        text: Option<String>,
    },
    /// A vSphere operation refused.
    World(Refusal),
    /// A rebuild found this many pods.
    Rebuilt(usize),
}

fn provider(reason: &'static str, text: Option<String>) -> Expect {
    Expect::Provider { reason, text }
}

/// The model's state.
#[derive(Clone, Debug)]
pub struct Model {
    /// The case's options.
    pub setup: Setup,
    /// Hosts and VMs.
    pub cluster: Cluster,
    /// Pods the provider has, by namespace and name.
    pub pods: BTreeMap<PodKey, PodState>,
    /// Tags in the persona's image cache (`busybox:1.36`).
    pub tags: BTreeSet<String>,
    /// Layers in the image store.
    pub layers: BTreeSet<String>,
    /// What `layers` take on the datastore, MiB (kept as layers are pulled: every step
    /// needs it).
    pub layers_mib: u64,
    /// The VCH pool's limits.
    pub limits: Limits,
    /// Fault rules in force.
    pub faults: BTreeSet<Fault>,
    /// Simulated time, microseconds since the epoch.
    pub now_us: u64,
    /// Creation sequence of the next VM.
    pub next_seq: u64,
    /// The outcome of the last step.
    pub expect: Expect,
}

/// What the node offers and what admitted pods request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// VCH info's CPU limit, MHz.
    pub cpu_mhz: u64,
    /// VCH info's memory limit, MB.
    pub memory_mb: u64,
    /// VCH info's CPU usage, MHz.
    pub cpu_usage_mhz: u64,
    /// VCH info's memory usage, MB.
    pub memory_usage_mb: u64,
}

impl Node {
    /// Allocatable CPU, whole cores (MHz over the core clock, rounded down).
    pub fn cores(&self) -> u64 {
        self.cpu_mhz / u64::from(MHZ_PER_CORE)
    }

    /// Allocatable memory, bytes.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_mb << 20
    }

    /// The provider's memory pressure: usage above 95% of the limit.
    pub fn memory_pressure(&self) -> bool {
        self.memory_mb > 0 && self.memory_usage_mb * 100 > self.memory_mb * 95
    }
}

impl Model {
    /// The state right after the VCH is created: the appliance runs where DRS put it.
    pub fn new(setup: Setup) -> Model {
        let hosts = setup
            .hosts
            .iter()
            .map(|&shape| HostState {
                shape,
                connected: true,
                maintenance: false,
            })
            .collect();
        let mut cluster = Cluster {
            hosts,
            vms: BTreeMap::new(),
        };
        cluster.vms.insert(
            0,
            VmState {
                vcpus: APPLIANCE_VCPUS,
                memory_mb: APPLIANCE_MEMORY_MB,
                overhead_mib: overhead_mib(APPLIANCE_VCPUS, APPLIANCE_MEMORY_MB),
                host: None,
            },
        );
        let host = cluster
            .plan_power_on(0, &setup.limits)
            .expect("every generated host can run the appliance");
        cluster.vms.get_mut(&0).expect("just added").host = Some(host);
        Model {
            limits: setup.limits,
            setup,
            cluster,
            pods: BTreeMap::new(),
            tags: BTreeSet::new(),
            layers: BTreeSet::new(),
            layers_mib: 0,
            faults: BTreeSet::new(),
            now_us: START.0,
            next_seq: 1,
            expect: Expect::Ok,
        }
    }

    /// Space used on the image datastore, MiB: the image store, the layers pulled, and the
    /// swap file (memory minus a reservation of 0) of every running VM.
    pub fn datastore_used_mib(&self) -> u64 {
        let swap: u64 = self
            .cluster
            .vms
            .values()
            .filter(|v| v.host.is_some())
            .map(|v| v.memory_mb)
            .sum();
        facts().store_mib + self.layers_mib + swap
    }

    fn datastore_free_mib(&self) -> u64 {
        self.setup
            .datastore_mib
            .saturating_sub(self.datastore_used_mib())
    }

    /// What `/vch/info` reports: the VCH pool's limits and usage, or, if either limit is
    /// unlimited, its parent's (the cluster's root pool: the usable capacity; its usage is the
    /// VCH's, the only pool with VMs).
    pub fn node(&self) -> Node {
        let running = || self.cluster.vms.values().filter(|v| v.host.is_some());
        let cpu_usage_mhz = running()
            .map(|v| u64::from(v.vcpus) * u64::from(MHZ_PER_CORE) * CPU_DEMAND_PCT / 100)
            .sum();
        let memory_usage_mb = running().map(|v| v.memory_mb).sum();
        let (cpu_mhz, memory_mb) = match (self.limits.cpu_mhz, self.limits.memory_mb) {
            (Some(c), Some(m)) => (c, m),
            _ => self.cluster.capacity(None),
        };
        Node {
            cpu_mhz,
            memory_mb,
            cpu_usage_mhz,
            memory_usage_mb,
        }
    }

    /// Requests of admitted pods (what the provider charged) and their count.
    fn usage(&self) -> (u64, u64, usize) {
        self.pods.values().fold((0, 0, 0), |(c, m, n), p| {
            let s = p.shape.sizing();
            (c + s.cpu_millis, m + s.memory_bytes, n + 1)
        })
    }

    /// The kubelet's admission: pod count, then CPU, then memory; a resource the pod does not
    /// request is not checked.
    fn admission(&self, size: &Sizing) -> Option<&'static str> {
        let node = self.node();
        let (cpu, mem, n) = self.usage();
        if n + 1 > self.setup.max_pods as usize {
            Some("OutOfpods")
        } else if size.cpu_millis > 0 && cpu + size.cpu_millis > node.cores() * 1000 {
            Some("OutOfcpu")
        } else if size.memory_bytes > 0 && mem + size.memory_bytes > node.memory_bytes() {
            Some("OutOfmemory")
        } else {
            None
        }
    }

    /// Pulls `image`: each missing layer, oldest first, while the datastore has room (layers
    /// written before a failure stay, as in the image store).
    fn pull(&mut self, image: &str) -> Result<(), Expect> {
        let f = facts();
        let Some(layers) = f.layers_of.get(image) else {
            return Err(provider("ErrImagePull", None));
        };
        for l in layers {
            if self.layers.contains(l) {
                continue;
            }
            let mib = f.layer_mib[l];
            if mib > self.datastore_free_mib() {
                return Err(provider("ErrImagePull", Some(Refusal::DiskSpace.text())));
            }
            self.layers.insert(l.clone());
            self.layers_mib += mib;
        }
        self.tags.insert(tagged(image));
        Ok(())
    }

    fn resolve_image(&mut self, shape: &PodShape) -> Result<(), Expect> {
        let present = self.tags.contains(&tagged(shape.image));
        match shape.effective_pull_policy() {
            "Always" => self.pull(shape.image),
            "Never" if !present => Err(provider("ErrImageNeverPull", None)),
            _ if present => Ok(()),
            _ => self.pull(shape.image),
        }
    }

    /// Powers VM `seq` on where DRS puts it, or says why it cannot: pool, host, swap space,
    /// then a fault rule on the power-on itself.
    fn power_on(&mut self, seq: u64) -> Result<(), Refusal> {
        let host = self.cluster.plan_power_on(seq, &self.limits)?;
        if self.cluster.vms[&seq].memory_mb > self.datastore_free_mib() {
            return Err(Refusal::DiskSpace);
        }
        if self.faults.contains(&Fault::PowerOn) {
            return Err(Refusal::Injected(Fault::PowerOn.kind()));
        }
        self.cluster.vms.get_mut(&seq).expect("exists").host = Some(host);
        Ok(())
    }

    fn now_secs(&self) -> u64 {
        self.now_us / 1_000_000
    }

    fn create(&mut self, key: PodKey, shape: &PodShape) -> Expect {
        if shape.bad_quantity {
            return provider("InvalidPod", None);
        }
        if self.pods.contains_key(&key) {
            return provider("AlreadyExists", None);
        }
        let size = shape.sizing();
        if let Some(reason) = self.admission(&size) {
            return provider(reason, None);
        }
        if let Err(e) = self.resolve_image(shape) {
            return e;
        }
        if let Some(limit) = self.setup.container_limit
            && self.pods.len() >= limit as usize
        {
            return provider("ProviderFailed", Some("403: forbidden".into()));
        }
        if self.faults.contains(&Fault::CreateVm) {
            let text = Refusal::Injected(Fault::CreateVm.kind()).text();
            return provider("ProviderFailed", Some(text));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.cluster.vms.insert(
            seq,
            VmState {
                vcpus: size.vcpus,
                memory_mb: size.memory_mb,
                overhead_mib: overhead_mib(size.vcpus, size.memory_mb),
                host: None,
            },
        );
        let mut pod = PodState {
            seq,
            shape: shape.clone(),
            phase: Phase::Pending,
            failed: false,
            labels: Some(BTreeMap::new()),
            started_at: None,
        };
        let expect = match self.power_on(seq) {
            Ok(()) => {
                pod.phase = Phase::Running;
                pod.started_at = Some(self.now_secs());
                Expect::Ok
            }
            Err(r) => {
                pod.failed = true;
                provider("ProviderFailed", Some(r.text()))
            }
        };
        self.pods.insert(key, pod);
        expect
    }

    fn start(&mut self, key: PodKey) -> Expect {
        let Some(pod) = self.pods.get(&key) else {
            return provider("NotFound", None);
        };
        if pod.phase == Phase::Running {
            return Expect::Ok;
        }
        let seq = pod.seq;
        match self.power_on(seq) {
            Ok(()) => {
                let now = self.now_secs();
                let pod = self.pods.get_mut(&key).expect("exists");
                pod.phase = Phase::Running;
                pod.started_at = Some(now);
                Expect::Ok
            }
            Err(r) => provider("ProviderFailed", Some(r.text())),
        }
    }

    /// Stops a running pod's VM; `Err` if a fault rule refuses the power-off.
    fn stop_vm(&mut self, key: PodKey) -> Result<(), Expect> {
        let pod = self.pods.get_mut(&key).expect("caller checked");
        if pod.phase != Phase::Running {
            return Ok(());
        }
        if self.faults.contains(&Fault::PowerOff) {
            let text = Refusal::Injected(Fault::PowerOff.kind()).text();
            return Err(provider("ProviderFailed", Some(text)));
        }
        pod.phase = Phase::Failed;
        pod.started_at = None;
        self.cluster.vms.get_mut(&pod.seq).expect("pod VM").host = None;
        Ok(())
    }

    fn stop(&mut self, key: PodKey) -> Expect {
        if !self.pods.contains_key(&key) {
            return provider("NotFound", None);
        }
        self.stop_vm(key).err().unwrap_or(Expect::Ok)
    }

    fn delete(&mut self, key: PodKey) -> Expect {
        if !self.pods.contains_key(&key) {
            return Expect::Ok;
        }
        if let Err(e) = self.stop_vm(key) {
            return e;
        }
        if self.faults.contains(&Fault::Destroy) {
            let text = Refusal::Injected(Fault::Destroy.kind()).text();
            return provider("ProviderFailed", Some(text));
        }
        let pod = self.pods.remove(&key).expect("checked");
        self.cluster.vms.remove(&pod.seq);
        Expect::Ok
    }

    fn update(&mut self, key: PodKey, value: &str) -> Expect {
        match self.pods.get_mut(&key) {
            None => provider("NotFound", None),
            Some(p) => {
                p.labels = Some(BTreeMap::from([("app".to_string(), value.to_string())]));
                Expect::Ok
            }
        }
    }

    fn restart_provider(&mut self) -> Expect {
        for p in self.pods.values_mut() {
            p.failed = false;
            p.labels = None;
        }
        Expect::Rebuilt(self.pods.len())
    }

    fn enter_maintenance(&mut self, h: usize) -> Expect {
        match self.cluster.plan_evacuation(h) {
            Err(r) => Expect::World(r),
            Ok(moves) => {
                for (seq, to) in moves {
                    self.cluster.vms.get_mut(&seq).expect("planned").host = Some(to);
                }
                self.cluster.hosts[h].maintenance = true;
                Expect::Ok
            }
        }
    }

    fn set_limits(&mut self, limits: Limits) -> Expect {
        if limits
            .memory_mb
            .is_some_and(|l| self.cluster.pool_used_mib() > l)
        {
            return Expect::World(Refusal::PoolMemory);
        }
        self.limits = limits;
        Expect::Ok
    }

    /// Applies one step, recording its expected outcome.
    pub fn step(&mut self, t: &Transition) {
        self.expect = match t {
            Transition::Create(key, shape) => self.create(*key, shape),
            Transition::Start(key) => self.start(*key),
            Transition::Stop(key, _) => self.stop(*key),
            Transition::Delete(key, _) => self.delete(*key),
            Transition::Update(key, v, _) => self.update(*key, v),
            Transition::RestartProvider => self.restart_provider(),
            Transition::EnterMaintenance(h) => self.enter_maintenance(*h),
            Transition::ExitMaintenance(h) => {
                let host = &mut self.cluster.hosts[*h];
                if host.maintenance {
                    host.maintenance = false;
                    Expect::Ok
                } else {
                    Expect::World(Refusal::HostState)
                }
            }
            Transition::Disconnect(h) => match self.cluster.disconnect_refusal(*h) {
                Some(r) => Expect::World(r),
                None => {
                    self.cluster.hosts[*h].connected = false;
                    Expect::Ok
                }
            },
            Transition::Reconnect(h) => {
                self.cluster.hosts[*h].connected = true;
                Expect::Ok
            }
            Transition::SetLimits(l) => self.set_limits(*l),
            Transition::FaultOn(f) => {
                self.faults.insert(*f);
                Expect::Ok
            }
            Transition::FaultsOff => {
                self.faults.clear();
                Expect::Ok
            }
            Transition::Advance(secs) => {
                self.now_us += u64::from(*secs) * 1_000_000;
                Expect::Ok
            }
        };
    }
}

/// The reference state machine over [`Model`].
pub struct Reference;

impl ReferenceStateMachine for Reference {
    type State = Model;
    type Transition = Transition;

    fn init_state() -> BoxedStrategy<Model> {
        setup().prop_map(Model::new).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Transition> {
        transitions(state)
    }

    fn apply(mut state: Model, t: &Transition) -> Model {
        state.step(t);
        state
    }
}
