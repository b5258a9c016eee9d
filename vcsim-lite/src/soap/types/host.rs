//! `HostSystem` properties: `summary` (hardware, runtime, config.product, quickStats),
//! `hardware`, `config`, `runtime`, `vm`, `datastore`, `network`, from the world's host records
//! and accounting.

use super::value::{Data, Value, int, long, mor, s};
use crate::soap::error::SoapError;
use crate::vsphere::{Host, HostId, World};

/// Properties `all=true` returns.
pub const PROPS: &[&str] = &[
    "name",
    "parent",
    "summary",
    "hardware",
    "config",
    "runtime",
    "vm",
    "datastore",
    "network",
    "overallStatus",
    "configStatus",
];

const UNSET: &[&str] = &[
    "capability",
    "configManager",
    "datastoreBrowser",
    "licensableResource",
];

/// The ESXi product every host reports.
fn product() -> Data {
    Data::new("AboutInfo")
        .with("name", s("VMware ESXi"))
        .with("fullName", s("VMware ESXi 8.0.2 build-22380479"))
        .with("vendor", s("VMware, Inc."))
        .with("version", s("8.0.2"))
        .with("build", s("22380479"))
        .with("localeVersion", s("INTL"))
        .with("localeBuild", s("000"))
        .with("osType", s("vmnix-x86"))
        .with("productLineId", s("embeddedEsx"))
        .with("apiType", s("HostAgent"))
        .with("apiVersion", s("8.0.2.0"))
}

/// A stable hardware UUID from the host's id.
fn uuid(h: &Host) -> String {
    format!("4c4c4544-0000-4000-8000-{:012x}", h.id.0)
}

fn status(h: &Host) -> Value {
    Value::Enum(
        "ManagedEntityStatus",
        if !h.connected {
            "gray"
        } else if h.maintenance {
            "yellow"
        } else {
            "green"
        },
    )
}

fn bytes(mib: u64) -> Value {
    long(mib.saturating_mul(1024 * 1024))
}

fn cpu_model(h: &Host) -> String {
    format!(
        "vcsim-lite virtual CPU @ {:.2}GHz",
        f64::from(h.mhz_per_core) / 1000.0
    )
}

fn runtime(h: &Host) -> Data {
    Data::new("HostRuntimeInfo")
        .with(
            "connectionState",
            Value::Enum(
                "HostSystemConnectionState",
                if h.connected {
                    "connected"
                } else {
                    "disconnected"
                },
            ),
        )
        .with(
            "powerState",
            Value::Enum("HostSystemPowerState", "poweredOn"),
        )
        .with("inMaintenanceMode", Value::Bool(h.maintenance))
}

fn summary(h: &Host) -> Data {
    let hw = Data::new("HostHardwareSummary")
        .with("vendor", s("VMware, Inc."))
        .with("model", s("vcsim-lite host"))
        .with("uuid", s(uuid(h)))
        .with("memorySize", bytes(h.memory_mib))
        .with("cpuModel", s(cpu_model(h)))
        .with("cpuMhz", int(h.mhz_per_core))
        .with("numCpuPkgs", int(h.sockets))
        .with("numCpuCores", int(h.logical_cpus()))
        .with("numCpuThreads", int(h.logical_cpus()))
        .with("numNics", int(1))
        .with("numHBAs", int(1));
    let config = Data::new("HostConfigSummary")
        .with("name", s(&*h.name))
        .with("port", int(443))
        .with("product", product().into())
        .with("vmotionEnabled", Value::Bool(false))
        .with("faultToleranceEnabled", Value::Bool(false));
    let quick = Data::new("HostListSummaryQuickStats")
        .with("overallCpuUsage", int(h.cpu_usage_mhz))
        .with("overallMemoryUsage", int(h.memory_usage_mib))
        .with("distributedCpuFairness", int(10000))
        .with("distributedMemoryFairness", int(10000));
    Data::new("HostListSummary")
        .with("host", mor("HostSystem", h.id))
        .with("hardware", hw.into())
        .with("runtime", runtime(h).into())
        .with("config", config.into())
        .with("quickStats", quick.into())
        .with("overallStatus", status(h))
        .with("rebootRequired", Value::Bool(false))
        .with("managementServerIp", s("127.0.0.1"))
}

fn hardware(h: &Host) -> Data {
    Data::new("HostHardwareInfo")
        .with(
            "systemInfo",
            Data::new("HostSystemInfo")
                .with("vendor", s("VMware, Inc."))
                .with("model", s("vcsim-lite host"))
                .with("uuid", s(uuid(h)))
                .into(),
        )
        .with(
            "cpuInfo",
            Data::new("HostCpuInfo")
                .with("numCpuPackages", int(h.sockets))
                .with("numCpuCores", int(h.logical_cpus()))
                .with("numCpuThreads", int(h.logical_cpus()))
                .with("hz", long(u64::from(h.mhz_per_core) * 1_000_000))
                .into(),
        )
        .with("memorySize", bytes(h.memory_mib))
}

/// A `HostSystem` property.
pub fn property(w: &World, id: HostId, name: &str) -> Result<Option<Value>, SoapError> {
    let h = w.host(id)?;
    let refs = |ty: &'static str, ids: Vec<String>| {
        Value::List(
            "ManagedObjectReference",
            ids.into_iter().map(|i| mor(ty, i)).collect(),
        )
    };
    Ok(Some(match name {
        "name" => s(&*h.name),
        "parent" => mor(
            if h.compute.cluster {
                "ClusterComputeResource"
            } else {
                "ComputeResource"
            },
            h.compute,
        ),
        "summary" => summary(h).into(),
        "hardware" => hardware(h).into(),
        "config" => Data::new("HostConfigInfo")
            .with("host", mor("HostSystem", h.id))
            .with("product", product().into())
            .into(),
        "runtime" => runtime(h).into(),
        "vm" => refs(
            "VirtualMachine",
            h.vms.iter().map(|v| v.to_string()).collect(),
        ),
        "datastore" => refs(
            "Datastore",
            h.datastores.iter().map(|d| d.to_string()).collect(),
        ),
        "network" => {
            let dc = w.compute(h.compute).map(|c| c.datacenter).ok();
            refs(
                "Network",
                w.networks()
                    .values()
                    .filter(|n| Some(n.datacenter) == dc)
                    .map(|n| n.id.to_string())
                    .collect(),
            )
        }
        "overallStatus" | "configStatus" => status(h),
        n if UNSET.contains(&n) => return Ok(None),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}
