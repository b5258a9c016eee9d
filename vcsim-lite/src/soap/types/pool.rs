//! `ResourcePool` and `ComputeResource` / `ClusterComputeResource` properties: allocations,
//! `runtime` usage (reservationUsed, unreserved, overallUsage) and cluster summaries, all from
//! the world's live pool and host accounting.
//!
//! Units are vSphere's: CPU in MHz everywhere; memory in MB in allocations and in bytes in
//! `ResourcePoolResourceUsage` and `ComputeResourceSummary.totalMemory`.

use super::value::{Data, Value, int, long, mor, s};
use crate::soap::error::SoapError;
use crate::vsphere::{
    Allocation, ComputeId, Pool, PoolId, PoolResource, Resource, World, shares_value,
};

/// Pool properties `all=true` returns.
pub const POOL_PROPS: &[&str] = &[
    "name",
    "parent",
    "owner",
    "resourcePool",
    "vm",
    "config",
    "runtime",
    "summary",
    "overallStatus",
];

/// Compute resource properties `all=true` returns.
pub const COMPUTE_PROPS: &[&str] = &[
    "name",
    "parent",
    "resourcePool",
    "host",
    "datastore",
    "network",
    "summary",
    "overallStatus",
];

const MIB: u64 = 1024 * 1024;

fn green() -> Value {
    Value::Enum("ManagedEntityStatus", "green")
}

fn refs(ty: &'static str, ids: impl Iterator<Item = String>) -> Value {
    Value::List("ManagedObjectReference", ids.map(|i| mor(ty, i)).collect())
}

/// `ResourceAllocationInfo` of a pool (pool shares: normal = 4000 CPU, 163840 memory).
fn allocation(a: &Allocation, normal: u32) -> Data {
    Data::new("ResourceAllocationInfo")
        .with("reservation", long(a.reservation))
        .with("expandableReservation", Value::Bool(a.expandable))
        .with("limit", a.limit.map_or(Value::Long(-1), long))
        .with(
            "shares",
            Data::new("SharesInfo")
                .with("shares", int(shares_value(a.shares, normal)))
                .with("level", Value::Enum("SharesLevel", a.shares.level()))
                .into(),
        )
}

fn config(p: &Pool) -> Data {
    Data::new("ResourceConfigSpec")
        .with("entity", mor("ResourcePool", p.id))
        .with("cpuAllocation", allocation(&p.cpu.alloc, 4000).into())
        .with(
            "memoryAllocation",
            allocation(&p.memory.alloc, 163_840).into(),
        )
}

/// The figure a pool's usage can reach: its limit, else its parent's, up to the root (whose
/// limit is the cluster's capacity).
fn max_usage(w: &World, p: &Pool, r: Resource) -> u64 {
    let mut cur = Some(p);
    while let Some(pool) = cur {
        let pr = pick(pool, r);
        if let Some(l) = pr.alloc.limit {
            return l;
        }
        cur = pool.parent.and_then(|pp| w.pools().get(&pp));
    }
    0
}

fn pick(p: &Pool, r: Resource) -> &PoolResource {
    match r {
        Resource::Cpu => &p.cpu,
        Resource::Memory => &p.memory,
    }
}

fn usage(w: &World, p: &Pool, r: Resource) -> Data {
    let scale = match r {
        Resource::Cpu => 1,
        Resource::Memory => MIB,
    };
    let pr = pick(p, r);
    let for_vms: u64 = p
        .vms
        .iter()
        .filter_map(|v| w.vms().get(v))
        .map(|v| match r {
            Resource::Cpu => v.runtime.cpu_reserved_mhz,
            Resource::Memory => v.runtime.memory_reserved_mib,
        })
        .sum();
    let unreserved = w.unreserved(p.id, r);
    let v = |x: u64| long(x.saturating_mul(scale));
    Data::new("ResourcePoolResourceUsage")
        .with("reservationUsed", v(pr.used))
        .with("reservationUsedForVm", v(for_vms))
        .with("unreservedForPool", v(unreserved))
        .with("unreservedForVm", v(unreserved))
        .with("overallUsage", v(pr.usage))
        .with("maxUsage", v(max_usage(w, p, r)))
}

fn runtime(w: &World, p: &Pool) -> Data {
    Data::new("ResourcePoolRuntimeInfo")
        .with("memory", usage(w, p, Resource::Memory).into())
        .with("cpu", usage(w, p, Resource::Cpu).into())
        .with("overallStatus", green())
}

/// A `ResourcePool` property.
pub fn pool_property(w: &World, id: PoolId, name: &str) -> Result<Option<Value>, SoapError> {
    let p = w.pool(id)?;
    Ok(Some(match name {
        "name" => s(&*p.name),
        "parent" => match p.parent {
            Some(pp) => mor("ResourcePool", pp),
            None => compute_ref(p.compute),
        },
        "owner" => compute_ref(p.compute),
        "resourcePool" => refs("ResourcePool", p.children.iter().map(|c| c.to_string())),
        "vm" => refs("VirtualMachine", p.vms.iter().map(|v| v.to_string())),
        "config" => config(p).into(),
        "runtime" => runtime(w, p).into(),
        "summary" => Data::new("ResourcePoolSummary")
            .with("name", s(&*p.name))
            .with("config", config(p).into())
            .with("runtime", runtime(w, p).into())
            .with(
                "quickStats",
                Data::new("ResourcePoolQuickStats")
                    .with("overallCpuUsage", long(p.cpu.usage))
                    .with("overallCpuDemand", long(p.cpu.usage))
                    .with("guestMemoryUsage", long(p.memory.usage))
                    .with("hostMemoryUsage", long(p.memory.usage))
                    .into(),
            )
            .into(),
        "overallStatus" | "configStatus" => green(),
        "childConfiguration" | "namespace" => return Ok(None),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}

fn compute_ref(c: ComputeId) -> Value {
    mor(
        if c.cluster {
            "ClusterComputeResource"
        } else {
            "ComputeResource"
        },
        c,
    )
}

/// A `ComputeResource` or `ClusterComputeResource` property.
pub fn compute_property(w: &World, id: ComputeId, name: &str) -> Result<Option<Value>, SoapError> {
    let c = w.compute(id)?;
    let dc = w.datacenters().get(&c.datacenter);
    Ok(Some(match name {
        "name" => s(&*c.name),
        "parent" => match dc {
            Some(dc) => mor("Folder", dc.host_folder),
            None => return Ok(None),
        },
        "resourcePool" => mor("ResourcePool", c.root_pool),
        "host" => refs("HostSystem", c.hosts.iter().map(|h| h.to_string())),
        "datastore" => {
            let mut ds = std::collections::BTreeSet::new();
            for h in c.hosts.iter().filter_map(|h| w.hosts().get(h)) {
                ds.extend(h.datastores.iter().copied());
            }
            refs("Datastore", ds.into_iter().map(|d| d.to_string()))
        }
        "network" => refs(
            "Network",
            dc.map(|d| d.networks.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|n| n.to_string()),
        ),
        "summary" => compute_summary(w, id).into(),
        "configurationEx" | "configuration" if c.is_cluster => {
            let drs = Data::new("ClusterDrsConfigInfo")
                .with("enabled", Value::Bool(c.drs))
                .with(
                    "defaultVmBehavior",
                    Value::Enum("DrsBehavior", "fullyAutomated"),
                );
            if name == "configurationEx" {
                Data::new("ClusterConfigInfoEx")
                    .with("drsConfig", drs.into())
                    .into()
            } else {
                Data::new("ClusterConfigInfo")
                    .with("drsConfig", drs.into())
                    .into()
            }
        }
        "overallStatus" | "configStatus" => green(),
        "environmentBrowser" | "configurationEx" | "configuration" | "recentTask" => {
            return Ok(None);
        }
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}

fn compute_summary(w: &World, id: ComputeId) -> Data {
    let Ok(c) = w.compute(id) else {
        return Data::new("ComputeResourceSummary");
    };
    let hosts: Vec<_> = c.hosts.iter().filter_map(|h| w.hosts().get(h)).collect();
    let total_cpu: u64 = hosts.iter().map(|h| h.cpu_capacity_mhz()).sum();
    let total_mem: u64 = hosts.iter().map(|h| h.memory_mib).sum();
    let cores: u64 = hosts.iter().map(|h| u64::from(h.logical_cpus())).sum();
    let usable: Vec<_> = hosts.iter().filter(|h| h.is_usable()).collect();
    let eff_cpu: u64 = usable.iter().map(|h| h.cpu_capacity_mhz()).sum();
    let eff_mem: u64 = usable.iter().map(|h| h.memory_capacity_mib()).sum();
    let d = Data::new(if c.is_cluster {
        "ClusterComputeResourceSummary"
    } else {
        "ComputeResourceSummary"
    })
    .with("totalCpu", int(total_cpu))
    .with("totalMemory", long(total_mem.saturating_mul(MIB)))
    .with("numCpuCores", int(cores))
    .with("numCpuThreads", int(cores))
    .with("effectiveCpu", int(eff_cpu))
    .with("effectiveMemory", long(eff_mem))
    .with("numHosts", int(hosts.len()))
    .with("numEffectiveHosts", int(usable.len()))
    .with("overallStatus", green());
    if c.is_cluster {
        d.with("currentFailoverLevel", int(0))
            .with("numVmotions", int(0))
    } else {
        d
    }
}
