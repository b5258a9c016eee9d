//! The virtual node: its capacity from the VCH's resource limits, its conditions, and
//! kubelet-style admission of pods against what is left.
//!
//! The 2018 provider turned MHz into cores at 1 GHz per core, wrote memory in whichever binary
//! unit kept the figure at least 100, derived the pod count from memory at 2 GiB a pod, and
//! panicked when `/vch/info` failed. Here the caller fetches the VCH info (and decides what a
//! failure means); these functions only compute, and never fail.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::client::VchCapacity;
use crate::quantity::MemoryQuantity;
use crate::sizing::PodSize;

/// The node's operating system: pod VMs run VIC's Linux guest.
pub const OPERATING_SYSTEM: &str = "linux";

/// Bytes in the VCH's "MB": vSphere reports memory in mebibytes.
const BYTES_PER_MB: u64 = 1024 * 1024;

/// Memory usage above this percentage of the VCH's limit is memory pressure.
pub const MEMORY_PRESSURE_PCT: u64 = 95;

/// How the VCH's CPU limit, in MHz, becomes whole cores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuRule {
    /// MHz divided by the hosts' core clock ([`NodeConfig::mhz_per_core`]), rounded down. A
    /// resource pool's MHz is the sum over the cores behind it, so this gives back the cores a
    /// pod VM can be given vCPUs from; the documented rule.
    #[default]
    PerCore,
    /// MHz divided by 1000, rounded down: the 2018 provider's rule (1 GHz is one core). Kept
    /// so a node can report what that provider did, but it over-counts on any host clocked
    /// above 1 GHz (115200 MHz of 2.4 GHz cores is 48 cores, not 115), so the scheduler
    /// places more pods than the VCH can run.
    Mhz1000,
}

/// What the node reports that the VCH does not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    /// How CPU MHz becomes cores.
    pub cpu_rule: CpuRule,
    /// Pods the node accepts (the kubelet's default is 110). Not derived from memory: a pod
    /// VM's size is the pod's own, so a fixed size per pod says nothing.
    pub max_pods: u32,
    /// The hosts' core clock in MHz, for [`CpuRule::PerCore`].
    pub mhz_per_core: u32,
    /// Image datastore free space, in percent, below which the node has disk pressure
    /// (the kubelet evicts at 10% free by default).
    pub disk_pressure_free_pct: u32,
    /// The node's InternalIP address (empty: none reported).
    pub internal_ip: String,
    /// The port the provider serves logs and exec on, as a kubelet would.
    pub kubelet_port: i32,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            cpu_rule: CpuRule::PerCore,
            max_pods: 110,
            mhz_per_core: 2400,
            disk_pressure_free_pct: 10,
            internal_ip: String::new(),
            kubelet_port: 10250,
        }
    }
}

/// A figure from the VCH info, with negative ones (vSphere's -1, "unlimited") as 0: `/vch/info`
/// already resolves unlimited pools to their parent's limit, so a negative figure is a fault,
/// and claiming nothing is safer than claiming everything.
fn non_negative(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Whole cores the node offers under `cfg.cpu_rule`.
pub fn cpu_cores(vch: &VchCapacity, cfg: &NodeConfig) -> u64 {
    let per_core = match cfg.cpu_rule {
        CpuRule::PerCore => u64::from(cfg.mhz_per_core),
        CpuRule::Mhz1000 => 1000,
    };
    non_negative(vch.cpu_mhz).checked_div(per_core).unwrap_or(0)
}

/// Memory the node offers, in bytes.
pub fn memory_bytes(vch: &VchCapacity) -> u64 {
    non_negative(vch.memory_mb).saturating_mul(BYTES_PER_MB)
}

/// The figures behind the node's status, as numbers: what [`capacity`] and [`conditions`]
/// write out as Kubernetes quantities and conditions. A caller that compares or admits
/// against them need not parse the quantities back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFigures {
    /// Capacity (and allocatable) CPU, whole cores.
    pub cpu_cores: u64,
    /// Capacity (and allocatable) memory, bytes.
    pub memory_bytes: u64,
    /// Pods the node accepts.
    pub pods: u32,
    /// The MemoryPressure condition.
    pub memory_pressure: bool,
}

/// The node's figures for this VCH info.
pub fn figures(vch: &VchCapacity, cfg: &NodeConfig) -> NodeFigures {
    NodeFigures {
        cpu_cores: cpu_cores(vch, cfg),
        memory_bytes: memory_bytes(vch),
        pods: cfg.max_pods,
        memory_pressure: memory_pressure(vch),
    }
}

/// The node's capacity: `cpu` in whole cores, `memory` in Ki, `pods`.
pub fn capacity(vch: &VchCapacity, cfg: &NodeConfig) -> BTreeMap<String, Quantity> {
    let f = figures(vch, cfg);
    BTreeMap::from([
        ("cpu".to_string(), Quantity(f.cpu_cores.to_string())),
        (
            "memory".to_string(),
            Quantity(MemoryQuantity(f.memory_bytes).to_string()),
        ),
        ("pods".to_string(), Quantity(f.pods.to_string())),
    ])
}

/// What pods may use: all of the capacity, as the VCH reserves nothing for system daemons
/// on the node (it has none). Separate from [`capacity`] because the kubelet reports both
/// and admits against this one.
pub fn allocatable(vch: &VchCapacity, cfg: &NodeConfig) -> BTreeMap<String, Quantity> {
    capacity(vch, cfg)
}

/// What the pods already on the node request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU requested, millicores.
    pub cpu_request_millis: u64,
    /// Memory requested, bytes.
    pub memory_request_bytes: u64,
    /// Pods admitted.
    pub pods: u32,
}

/// Whether a pod may run on the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It fits.
    Admit,
    /// It does not; `reason` and `message` are what the kubelet would put on the failed pod.
    Reject {
        /// `OutOfpods`, `OutOfcpu` or `OutOfmemory`.
        reason: &'static str,
        /// `Node didn't have enough resource: <r>, requested: <n>, used: <n>, capacity: <n>`.
        message: String,
    },
}

/// `Some(rejection)` when `requested` more of `resource` does not fit beside `used`.
fn short_of(resource: &str, requested: u64, used: u64, capacity: u64) -> Option<Admission> {
    (used.saturating_add(requested) > capacity).then(|| Admission::Reject {
        reason: match resource {
            "pods" => "OutOfpods",
            "cpu" => "OutOfcpu",
            _ => "OutOfmemory",
        },
        message: format!(
            "Node didn't have enough resource: {resource}, requested: {requested}, \
             used: {used}, capacity: {capacity}"
        ),
    })
}

/// Admits `pod` as the kubelet does: the pod count first, then CPU, then memory, the first
/// shortfall deciding. A pod asking exactly for what remains fits. As in the kubelet, a
/// resource the pod does not request is not checked, so a best-effort pod still lands on a
/// node whose allocatable shrank below what is already requested.
pub fn admit(
    pod: &PodSize,
    usage: &Usage,
    allocatable_cpu_millis: u64,
    allocatable_memory_bytes: u64,
    max_pods: u32,
) -> Admission {
    // A resource the pod does not ask for is not checked.
    let asked = |resource, requested: u64, used, capacity| {
        (requested > 0)
            .then(|| short_of(resource, requested, used, capacity))
            .flatten()
    };
    short_of("pods", 1, usage.pods.into(), max_pods.into())
        .or_else(|| {
            let (req, used) = (pod.cpu_request_millis, usage.cpu_request_millis);
            asked("cpu", req, used, allocatable_cpu_millis)
        })
        .or_else(|| {
            let (req, used) = (pod.memory_request_bytes, usage.memory_request_bytes);
            asked("memory", req, used, allocatable_memory_bytes)
        })
        .unwrap_or(Admission::Admit)
}

fn node_condition(type_: &str, on: bool, reason: &str, message: String) -> NodeCondition {
    NodeCondition {
        type_: type_.to_string(),
        status: if on { "True" } else { "False" }.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message),
        ..Default::default()
    }
}

/// True when memory use is above [`MEMORY_PRESSURE_PCT`] of the VCH's limit (never when the
/// limit is unknown: a pool with no limit figure cannot be said to be short).
pub fn memory_pressure(vch: &VchCapacity) -> bool {
    let (used, limit) = (
        non_negative(vch.memory_usage_mb),
        non_negative(vch.memory_mb),
    );
    limit > 0 && u128::from(used) * 100 > u128::from(limit) * u128::from(MEMORY_PRESSURE_PCT)
}

/// The node's conditions: Ready, MemoryPressure, DiskPressure, PIDPressure, with the kubelet's
/// reasons so tools that read them behave as with a kubelet. `image_datastore_free_pct` is
/// `None` when the datastore could not be read; that is no pressure, since evicting on a
/// failed read would be worse than missing one. Times are left to the caller, which knows
/// when it last heard from the VCH and what the condition was before.
pub fn conditions(
    vch: &VchCapacity,
    image_datastore_free_pct: Option<u32>,
    cfg: &NodeConfig,
) -> Vec<NodeCondition> {
    let mem = memory_pressure(vch);
    let mem_msg = format!(
        "VCH memory usage {} MB of {} MB",
        vch.memory_usage_mb, vch.memory_mb
    );
    let disk = image_datastore_free_pct.is_some_and(|f| f < cfg.disk_pressure_free_pct);
    let disk_msg = match image_datastore_free_pct {
        Some(f) => format!("image datastore {f}% free"),
        None => "image datastore free space unknown".to_string(),
    };
    vec![
        node_condition(
            "Ready",
            true,
            "KubeletReady",
            "VIC provider is ready".to_string(),
        ),
        node_condition(
            "MemoryPressure",
            mem,
            if mem {
                "KubeletHasInsufficientMemory"
            } else {
                "KubeletHasSufficientMemory"
            },
            mem_msg,
        ),
        node_condition(
            "DiskPressure",
            disk,
            if disk {
                "KubeletHasDiskPressure"
            } else {
                "KubeletHasNoDiskPressure"
            },
            disk_msg,
        ),
        node_condition(
            "PIDPressure",
            false,
            "KubeletHasSufficientPID",
            "each pod VM has its own process table".to_string(),
        ),
    ]
}

/// The node's addresses: its InternalIP, if configured.
pub fn addresses(cfg: &NodeConfig) -> Vec<NodeAddress> {
    if cfg.internal_ip.is_empty() {
        return Vec::new();
    }
    vec![NodeAddress {
        type_: "InternalIP".to_string(),
        address: cfg.internal_ip.clone(),
    }]
}

/// Where the API server reaches the provider for logs and exec.
pub fn daemon_endpoints(cfg: &NodeConfig) -> NodeDaemonEndpoints {
    NodeDaemonEndpoints {
        kubelet_endpoint: Some(DaemonEndpoint {
            port: cfg.kubelet_port,
        }),
    }
}

#[cfg(test)]
mod tests;
