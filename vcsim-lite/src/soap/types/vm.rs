//! `VirtualMachine` properties from the world's VM records and accounting: `summary`,
//! `config`, `runtime`, `guest`, `datastore`, `network`, `resourcePool`.
//!
//! `config.guestFullName` and `summary.config.guestFullName` are the world's guest full name,
//! which for `otherGuest`/`otherGuest64` VMs with an alternate guest name is that name (VIC's
//! `Photon - Container ...` and `Photon - VCH ...`), as real vSphere reports it.
//!
//! Powered-on VMs report running tools with the configured guest (VIC's tether answers as
//! tools do); powered-off VMs report tools not running and no guest identity.

use super::value::{Data, Value, any, int, long, mor, s};
use crate::soap::error::SoapError;
use crate::vsphere::{DeviceKind, Disk, NetworkId, PowerState, Vm, VmAllocation, VmId, World};

/// Properties `all=true` returns.
pub const PROPS: &[&str] = &[
    "name",
    "parent",
    "resourcePool",
    "runtime",
    "summary",
    "config",
    "guest",
    "datastore",
    "network",
    "overallStatus",
    "configStatus",
    "guestHeartbeatStatus",
];

/// Properties that exist but are never set here.
const UNSET: &[&str] = &[
    "parentVApp",
    "snapshot",
    "rootSnapshot",
    "layout",
    "layoutEx",
    "storage",
    "environmentBrowser",
    "capability",
    "resourceConfig",
    "runtime.question",
];

const MIB: i64 = 1024 * 1024;

fn mib_bytes(mib: u64) -> Value {
    long(
        i64::try_from(mib)
            .unwrap_or(i64::MAX / MIB)
            .saturating_mul(MIB),
    )
}

fn power_state(vm: &Vm) -> Value {
    Value::Enum("VirtualMachinePowerState", vm.power_state.as_str())
}

fn on(vm: &Vm) -> bool {
    vm.power_state == PowerState::PoweredOn
}

/// A `VirtualMachine` property, `Ok(None)` when unset, `InvalidProperty` when unknown.
pub fn property(w: &World, id: VmId, name: &str) -> Result<Option<Value>, SoapError> {
    let vm = w.vm(id)?;
    Ok(Some(match name {
        "name" => s(&*vm.name),
        "parent" => mor("Folder", vm.folder),
        "resourcePool" => mor("ResourcePool", vm.pool),
        "runtime" => runtime(w, vm).into(),
        "summary" => summary(w, vm).into(),
        "config" => config(w, vm).into(),
        "guest" => guest(w, vm).into(),
        "datastore" => Value::List(
            "ManagedObjectReference",
            datastores(vm)
                .into_iter()
                .map(|d| mor("Datastore", d))
                .collect(),
        ),
        "network" => Value::List(
            "ManagedObjectReference",
            networks(w, vm)
                .into_iter()
                .map(|n| mor("Network", n))
                .collect(),
        ),
        "overallStatus" | "configStatus" => Value::Enum("ManagedEntityStatus", "green"),
        "guestHeartbeatStatus" => heartbeat(vm),
        n if UNSET.contains(&n) => return Ok(None),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}

fn heartbeat(vm: &Vm) -> Value {
    Value::Enum("ManagedEntityStatus", if on(vm) { "green" } else { "gray" })
}

fn datastores(vm: &Vm) -> Vec<crate::vsphere::DatastoreId> {
    let mut ds = vec![vm.datastore];
    for d in &vm.disks {
        if !ds.contains(&d.datastore) {
            ds.push(d.datastore);
        }
    }
    ds
}

/// The networks a VM's NICs are backed by (by port group name in its datacenter).
pub fn networks(w: &World, vm: &Vm) -> Vec<NetworkId> {
    let mut out = Vec::new();
    for d in vm.devices.iter().filter(|d| d.kind == DeviceKind::Ethernet) {
        if let Some(n) = w.networks().values().find(|n| *n.name == *d.backing)
            && !out.contains(&n.id)
        {
            out.push(n.id);
        }
    }
    out
}

fn runtime(w: &World, vm: &Vm) -> Data {
    let host_mhz = w.host(vm.host).map_or(0, |h| u64::from(h.mhz_per_core));
    let overhead = if on(vm) {
        w.usage_model().overhead_mib(vm.vcpus, vm.memory_mib)
    } else {
        0
    };
    Data::new("VirtualMachineRuntimeInfo")
        .with("host", mor("HostSystem", vm.host))
        .with(
            "connectionState",
            Value::Enum("VirtualMachineConnectionState", "connected"),
        )
        .with("powerState", power_state(vm))
        .with(
            "faultToleranceState",
            Value::Enum("VirtualMachineFaultToleranceState", "notConfigured"),
        )
        .with("toolsInstallerMounted", Value::Bool(false))
        .with_opt("bootTime", vm.boot_time.map(Value::Time))
        .with("suspendInterval", long(0))
        .with("memoryOverhead", mib_bytes(overhead))
        .with("maxCpuUsage", int(u64::from(vm.vcpus) * host_mhz))
        .with("maxMemoryUsage", int(vm.memory_mib))
        .with("numMksConnections", int(0))
        .with("onlineStandby", Value::Bool(false))
        .with("consolidationNeeded", Value::Bool(false))
}

fn config_summary(w: &World, vm: &Vm) -> Data {
    let nics = vm
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Ethernet)
        .count();
    Data::new("VirtualMachineConfigSummary")
        .with("name", s(&*vm.name))
        .with("template", Value::Bool(false))
        .with("vmPathName", s(&vm.vm_path_name))
        .with("memorySizeMB", int(vm.memory_mib))
        .with("cpuReservation", int(vm.cpu_alloc.reservation))
        .with("memoryReservation", int(vm.memory_alloc.reservation))
        .with("numCpu", int(vm.vcpus))
        .with("numEthernetCards", int(nics))
        .with("numVirtualDisks", int(vm.disks.len()))
        .with("uuid", s(&vm.uuid))
        .with("instanceUuid", s(instance_uuid(vm)))
        .with("guestId", s(&vm.guest_id))
        .with("guestFullName", s(full_name(w, vm)))
        .with("annotation", s(""))
        .with("installBootRequired", Value::Bool(false))
}

fn full_name(w: &World, vm: &Vm) -> String {
    w.guest_full_name(vm.id).unwrap_or_default()
}

/// vCenter's instance UUID differs from the BIOS UUID; derived from it here (last group
/// reversed) so it is stable and unique per VM.
fn instance_uuid(vm: &Vm) -> String {
    match vm.uuid.rsplit_once('-') {
        Some((head, tail)) => format!("{head}-{}", tail.chars().rev().collect::<String>()),
        None => vm.uuid.clone(),
    }
}

fn summary(w: &World, vm: &Vm) -> Data {
    let provisioned: u64 = vm.disks.iter().map(|d| d.capacity_mib).sum();
    let consumed: u64 = vm
        .disks
        .iter()
        .filter(|d| d.attached.is_none())
        .map(|d| d.consumed_mib)
        .sum::<u64>()
        + vm.runtime.swap_mib;
    let uptime = match vm.boot_time {
        Some(t) => w.now().since(t).as_millis() / 1000,
        None => 0,
    };
    let quick = Data::new("VirtualMachineQuickStats")
        .with("overallCpuUsage", int(vm.runtime.cpu_usage_mhz))
        .with("overallCpuDemand", int(vm.runtime.cpu_usage_mhz))
        .with("guestMemoryUsage", int(vm.runtime.memory_usage_mib))
        .with(
            "hostMemoryUsage",
            int(if on(vm) {
                vm.runtime.memory_usage_mib + w.usage_model().overhead_mib(vm.vcpus, vm.memory_mib)
            } else {
                0
            }),
        )
        .with("guestHeartbeatStatus", heartbeat(vm))
        .with("privateMemory", int(vm.runtime.memory_usage_mib))
        .with("sharedMemory", int(0))
        .with("swappedMemory", int(0))
        .with("balloonedMemory", int(0))
        .with("uptimeSeconds", int(uptime));
    let storage = Data::new("VirtualMachineStorageSummary")
        .with("committed", mib_bytes(consumed))
        .with(
            "uncommitted",
            mib_bytes(provisioned.saturating_sub(consumed)),
        )
        .with("unshared", mib_bytes(consumed))
        .with("timestamp", Value::Time(w.now()));
    Data::new("VirtualMachineSummary")
        .with("vm", mor("VirtualMachine", vm.id))
        .with("runtime", runtime(w, vm).into())
        .with("guest", guest_summary(w, vm).into())
        .with("config", config_summary(w, vm).into())
        .with("storage", storage.into())
        .with("quickStats", quick.into())
        .with("overallStatus", Value::Enum("ManagedEntityStatus", "green"))
}

fn tools(vm: &Vm) -> (&'static str, &'static str) {
    if on(vm) {
        ("toolsOk", "guestToolsRunning")
    } else {
        ("toolsNotRunning", "guestToolsNotRunning")
    }
}

fn guest_summary(w: &World, vm: &Vm) -> Data {
    let (status, running) = tools(vm);
    let d = Data::new("VirtualMachineGuestSummary");
    let d = if on(vm) {
        d.with("guestId", s(&vm.guest_id))
            .with("guestFullName", s(full_name(w, vm)))
    } else {
        d
    };
    d.with(
        "toolsStatus",
        Value::Enum("VirtualMachineToolsStatus", status),
    )
    .with("toolsRunningStatus", s(running))
}

fn guest(w: &World, vm: &Vm) -> Data {
    let (status, running) = tools(vm);
    let d = Data::new("GuestInfo")
        .with(
            "toolsStatus",
            Value::Enum("VirtualMachineToolsStatus", status),
        )
        .with("toolsRunningStatus", s(running));
    let d = if on(vm) {
        d.with("guestId", s(&vm.guest_id))
            .with("guestFamily", s(guest_family(&vm.guest_id)))
            .with("guestFullName", s(full_name(w, vm)))
    } else {
        d
    };
    d.with(
        "guestState",
        s(if on(vm) { "running" } else { "notRunning" }),
    )
}

fn guest_family(guest_id: &str) -> &'static str {
    if guest_id.starts_with("windows") {
        "windowsGuest"
    } else if guest_id.starts_with("other") && !guest_id.contains("Linux") {
        "otherGuestFamily"
    } else {
        "linuxGuest"
    }
}

/// A VM's `ResourceAllocationInfo` (VM shares: normal = 1000 per vCPU, 10 per MB).
fn allocation(a: VmAllocation, normal_shares: u64) -> Data {
    Data::new("ResourceAllocationInfo")
        .with("reservation", long(a.reservation))
        .with("expandableReservation", Value::Bool(false))
        .with("limit", a.limit.map_or(Value::Long(-1), long))
        .with(
            "shares",
            Data::new("SharesInfo")
                .with("shares", int(normal_shares))
                .with("level", Value::Enum("SharesLevel", "normal"))
                .into(),
        )
}

fn config(w: &World, vm: &Vm) -> Data {
    let dir = vm_dir(vm);
    let files = Data::new("VirtualMachineFileInfo")
        .with("vmPathName", s(&vm.vm_path_name))
        .with("snapshotDirectory", s(&dir))
        .with("suspendDirectory", s(&dir))
        .with("logDirectory", s(&dir));
    let hardware = Data::new("VirtualHardware")
        .with("numCPU", int(vm.vcpus))
        .with("numCoresPerSocket", int(1))
        .with("memoryMB", int(vm.memory_mib))
        .with("virtualICH7MPresent", Value::Bool(false))
        .with("virtualSMCPresent", Value::Bool(false))
        .with("device", Value::List("VirtualDevice", devices(w, vm)));
    let extra = vm
        .extra_config
        .iter()
        .map(|(k, v)| {
            Data::new("OptionValue")
                .with("key", s(&**k))
                .with("value", any(s(&**v)))
                .into()
        })
        .collect();
    Data::new("VirtualMachineConfigInfo")
        .with("changeVersion", s(vm.change_version.to_string()))
        .with("modified", Value::Time(vm.created))
        .with("name", s(&*vm.name))
        .with("guestFullName", s(full_name(w, vm)))
        .with("version", s("vmx-19"))
        .with("uuid", s(&vm.uuid))
        .with("createDate", Value::Time(vm.created))
        .with("instanceUuid", s(instance_uuid(vm)))
        .with("template", Value::Bool(false))
        .with("guestId", s(&vm.guest_id))
        .with("alternateGuestName", s(&vm.alternate_guest_name))
        .with("files", files.into())
        .with(
            "flags",
            Data::new("VirtualMachineFlagInfo")
                .with("snapshotDisabled", Value::Bool(false))
                .into(),
        )
        .with(
            "defaultPowerOps",
            Data::new("VirtualMachineDefaultPowerOpInfo")
                .with("powerOffType", s("soft"))
                .with("suspendType", s("hard"))
                .with("resetType", s("soft"))
                .with("defaultPowerOffType", s("soft"))
                .with("defaultSuspendType", s("hard"))
                .with("defaultResetType", s("soft"))
                .with("standbyAction", s("checkpoint"))
                .into(),
        )
        .with("hardware", hardware.into())
        .with(
            "cpuAllocation",
            allocation(vm.cpu_alloc, 1000 * u64::from(vm.vcpus)).into(),
        )
        .with(
            "memoryAllocation",
            allocation(vm.memory_alloc, 10 * vm.memory_mib).into(),
        )
        .with("memoryHotAddEnabled", Value::Bool(false))
        .with("cpuHotAddEnabled", Value::Bool(false))
        .with("cpuHotRemoveEnabled", Value::Bool(false))
        .with("extraConfig", Value::List("OptionValue", extra))
        .with("swapPlacement", s("inherit"))
        .with("firmware", s("bios"))
}

/// `[ds] dir` of the VM's configuration file.
fn vm_dir(vm: &Vm) -> String {
    match vm.vm_path_name.rsplit_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => vm.vm_path_name.clone(),
    }
}

fn desc(label: &str, summary: &str) -> Value {
    Data::new("Description")
        .with("label", s(label))
        .with("summary", s(summary))
        .into()
}

fn devices(w: &World, vm: &Vm) -> Vec<Value> {
    let scsi_key = vm
        .devices
        .iter()
        .find(|d| d.kind == DeviceKind::PvscsiController)
        .map_or(1000, |d| d.key);
    let mut out = Vec::with_capacity(vm.devices.len() + vm.disks.len());
    for d in &vm.devices {
        let base = Data::new(d.kind.as_str())
            .with("key", int(d.key))
            .with("deviceInfo", desc(&d.label, &d.backing));
        let dev = match d.kind {
            DeviceKind::PvscsiController => base
                .with("busNumber", int(0))
                .with("hotAddRemove", Value::Bool(true))
                .with("sharedBus", Value::Enum("VirtualSCSISharing", "noSharing"))
                .with("scsiCtlrUnitNumber", int(7)),
            DeviceKind::IdeController => base.with("busNumber", int(0)),
            DeviceKind::Cdrom => base.with(
                "backing",
                Data::new("VirtualCdromIsoBackingInfo")
                    .with("fileName", s(&d.backing))
                    .into(),
            ),
            DeviceKind::SerialPort => base.with(
                "backing",
                Data::new("VirtualSerialPortURIBackingInfo")
                    .with("serviceURI", s(&d.backing))
                    .with("direction", s("client"))
                    .into(),
            ),
            DeviceKind::Ethernet => {
                let net = w.networks().values().find(|n| *n.name == *d.backing);
                base.with(
                    "backing",
                    Data::new("VirtualEthernetCardNetworkBackingInfo")
                        .with("deviceName", s(&d.backing))
                        .with("useAutoDetect", Value::Bool(false))
                        .with_opt("network", net.map(|n| mor("Network", n.id)))
                        .into(),
                )
                .with("addressType", s("generated"))
            }
        };
        out.push(dev.into());
    }
    for (i, d) in vm.disks.iter().enumerate() {
        out.push(disk(w, vm, d, i, scsi_key).into());
    }
    out
}

fn disk(w: &World, vm: &Vm, d: &Disk, index: usize, controller: i32) -> Data {
    let ds_name = w.datastore(d.datastore).map_or("?", |ds| &ds.name);
    let file = match &d.attached {
        Some(path) => format!("[{ds_name}] {path}"),
        None => {
            let dir = vm_dir(vm);
            let dir = dir.split_once("] ").map_or(&*vm.name, |(_, p)| p);
            if index == 0 {
                format!("[{ds_name}] {dir}/{}.vmdk", vm.name)
            } else {
                format!("[{ds_name}] {dir}/{}_{index}.vmdk", vm.name)
            }
        }
    };
    let kb = i64::try_from(d.capacity_mib)
        .unwrap_or(i64::MAX / MIB)
        .saturating_mul(1024);
    let mode = if d.attached.is_some() {
        "independent_persistent"
    } else {
        "persistent"
    };
    Data::new("VirtualDisk")
        .with("key", int(d.key))
        .with(
            "deviceInfo",
            desc(&format!("Hard disk {}", index + 1), &format!("{kb} KB")),
        )
        .with(
            "backing",
            Data::new("VirtualDiskFlatVer2BackingInfo")
                .with("fileName", s(file))
                .with("datastore", mor("Datastore", d.datastore))
                .with("diskMode", s(mode))
                .with("thinProvisioned", Value::Bool(d.thin))
                .into(),
        )
        .with("controllerKey", int(controller))
        .with(
            "unitNumber",
            int(if index >= 7 { index + 1 } else { index }),
        )
        .with("capacityInKB", long(kb))
        .with("capacityInBytes", long(kb.saturating_mul(1024)))
}
