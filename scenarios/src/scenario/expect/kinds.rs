//! The expectations as a file writes them: one serde type per kind, unknown fields refused.

use serde::Deserialize;

/// `pod:` the pod as the provider reports it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(
    deny_unknown_fields,
    expecting = "a pod expectation: `{name, phase, ...}`"
)]
pub struct PodExpect {
    /// `namespace/name` (a bare name is in `default`).
    pub name: String,
    /// Whether the provider knows the pod (default true).
    pub exists: Option<bool>,
    /// `status.phase`.
    pub phase: Option<String>,
    /// `status.reason`, exactly.
    pub reason: Option<String>,
    /// A substring of `status.message`.
    pub message: Option<String>,
    /// Whether `status.podIP` is set.
    pub ip: Option<bool>,
    /// Container statuses, by container name.
    pub containers: Option<Vec<ContainerExpect>>,
}

/// One container's status.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(
    deny_unknown_fields,
    expecting = "a container expectation: `{name, state, ...}`"
)]
pub struct ContainerExpect {
    /// The container's name in the pod spec.
    pub name: String,
    /// `running`, `waiting` or `terminated`.
    pub state: Option<StateName>,
    /// The waiting or terminated reason.
    pub reason: Option<String>,
    /// A substring of the waiting or terminated message.
    pub message: Option<String>,
    /// The terminated exit code.
    pub exit_code: Option<i32>,
    /// `ready`.
    pub ready: Option<bool>,
}

/// A container state's name.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    /// `state.running`.
    Running,
    /// `state.waiting`.
    Waiting,
    /// `state.terminated`.
    Terminated,
}

/// `pods:` how many pods the provider knows.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "`{count: N}`")]
pub struct PodsExpect {
    /// The number of pods.
    pub count: usize,
}

/// `node:` the node's capacity and allocatable resources.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "`{capacity: {...}, allocatable: {...}}`"
)]
pub struct NodeExpect {
    /// `status.capacity`.
    pub capacity: Option<NodeResources>,
    /// `status.allocatable`.
    pub allocatable: Option<NodeResources>,
}

/// Node resources as Kubernetes quantities; compared by value (`4Gi` equals `4194304Ki`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "node resources: `{cpu, memory, pods}`"
)]
pub struct NodeResources {
    /// CPU, e.g. `2` or `1500m`.
    pub cpu: Option<String>,
    /// Memory, e.g. `4Gi`.
    pub memory: Option<String>,
    /// Pod count.
    pub pods: Option<u64>,
}

/// `pool:` a resource pool's reservations and usage (vSphere's `reservationUsed`,
/// `unreservedForVm` and `overallUsage`), CPU in MHz, memory in MB (MiB).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "a pool expectation: `{path, ...}`")]
pub struct PoolExpect {
    /// `CLUSTER[/POOL/...]`, e.g. `DC0_C0/vch-1`.
    pub path: String,
    /// CPU reserved by child pools and powered-on VMs.
    pub cpu_reserved_mhz: Option<u64>,
    /// Memory reserved (with VM overhead).
    pub memory_reserved_mb: Option<u64>,
    /// CPU a VM here could still reserve, borrowing through expandable pools.
    pub cpu_unreserved_mhz: Option<u64>,
    /// Memory a VM here could still reserve.
    pub memory_unreserved_mb: Option<u64>,
    /// CPU demand of the pool's powered-on VMs.
    pub cpu_usage_mhz: Option<u64>,
    /// Memory used by the pool's powered-on VMs.
    pub memory_usage_mb: Option<u64>,
}

/// `cluster:` a cluster (or standalone host's compute resource) as its root pool sees it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "a cluster expectation: `{name, ...}`"
)]
pub struct ClusterExpect {
    /// The cluster's name.
    pub name: String,
    /// Usable CPU: cores x MHz of its connected hosts not in maintenance.
    pub cpu_capacity_mhz: Option<u64>,
    /// Usable memory: memory less hypervisor overhead of those hosts.
    pub memory_capacity_mb: Option<u64>,
    /// CPU reserved in the cluster.
    pub cpu_reserved_mhz: Option<u64>,
    /// Memory reserved in the cluster.
    pub memory_reserved_mb: Option<u64>,
    /// CPU demand in the cluster.
    pub cpu_usage_mhz: Option<u64>,
    /// Memory used in the cluster.
    pub memory_usage_mb: Option<u64>,
}

/// `host:` one host's state and what its powered-on VMs hold.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "a host expectation: `{name, ...}`")]
pub struct HostExpect {
    /// The host's name.
    pub name: String,
    /// CPU reserved by powered-on VMs.
    pub cpu_reserved_mhz: Option<u64>,
    /// Memory reserved (with overhead).
    pub memory_reserved_mb: Option<u64>,
    /// CPU demand.
    pub cpu_usage_mhz: Option<u64>,
    /// Memory used.
    pub memory_usage_mb: Option<u64>,
    /// VMs registered on the host.
    pub vms: Option<usize>,
    /// Powered-on VMs on the host.
    pub running: Option<usize>,
    /// Connection state.
    pub connected: Option<bool>,
    /// Maintenance mode.
    pub maintenance: Option<bool>,
}

/// `datastore:` space on a datastore, in MB (MiB).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "a datastore expectation: `{name, free_mb, used_mb}`"
)]
pub struct DatastoreExpect {
    /// The datastore's name.
    pub name: String,
    /// Free space.
    pub free_mb: Option<u64>,
    /// Space taken by disks and swap files.
    pub used_mb: Option<u64>,
}

/// `vms:` how many VMs there are, optionally only those whose guestFullName matches.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "`{guest, count, powered_on}`")]
pub struct VmsExpect {
    /// A guestFullName or glob (`Photon - Container *`); all VMs when absent.
    pub guest: Option<String>,
    /// VMs matching.
    pub count: Option<usize>,
    /// Powered-on VMs matching.
    pub powered_on: Option<usize>,
}

/// `vm:` one VM, by name or by the pod it runs.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "a VM expectation: `{name or pod, ...}`"
)]
pub struct VmExpect {
    /// The VM's name (a glob is allowed; it must match exactly one VM).
    pub name: Option<String>,
    /// The pod (`namespace/name`) whose pod VM this is.
    pub pod: Option<String>,
    /// Whether it exists (default true).
    pub exists: Option<bool>,
    /// `config.guestFullName` (exact, or a glob).
    pub guest: Option<String>,
    /// `poweredOn` or `poweredOff`.
    pub power_state: Option<String>,
    /// The host it is registered on.
    pub host: Option<String>,
    /// vCPUs.
    pub vcpus: Option<u32>,
    /// Memory, MB.
    pub memory_mb: Option<u64>,
}

/// `events:` how many vSphere events of a type the steps caused (setup excluded). As with
/// vCenter's event filters, a type matches its subtypes: `VmPoweredOnEvent` counts DRS
/// power-ons too.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "`{type: EVENT_TYPE, count: N}`")]
pub struct EventsExpect {
    /// The vSphere event type, e.g. `DrsVmMigratedEvent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many.
    pub count: usize,
}

/// `container_events:` how many port layer container events of a kind the steps caused.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "`{event: NAME, count: N}`")]
pub struct ContainerEventsExpect {
    /// `Created`, `Started`, `Stopped`, `Removed` or `Failed`.
    pub event: String,
    /// How many.
    pub count: usize,
}

/// `portlayer:` what the port layer holds: leaks show up here.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "`{containers, ips, handles, volumes}`"
)]
pub struct PortLayerExpect {
    /// Committed containers.
    pub containers: Option<usize>,
    /// Bridge IPs allocated.
    pub ips: Option<usize>,
    /// Handles cached.
    pub handles: Option<usize>,
    /// Volumes.
    pub volumes: Option<usize>,
}

/// `accounting:` the world's reservations, usage and datastore space are what they were.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, expecting = "`{same_as: setup or STEP}`")]
pub struct AccountingExpect {
    /// `setup`, or the number of an earlier step (as after that step).
    pub same_as: String,
}
