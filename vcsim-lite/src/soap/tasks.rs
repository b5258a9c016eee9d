//! Methods that start tasks: `Folder.CreateVM_Task`, `VirtualMachine.PowerOnVM_Task`,
//! `PowerOffVM_Task`, `Destroy_Task`, `ReconfigVM_Task` (run by the world, which records the
//! task) and `HostDatastoreBrowser.SearchDatastore_Task` (read-only, recorded here as
//! `task-sN`). A call whose arguments the world refuses before a task starts (an unknown pool,
//! say) is a SOAP fault; a task that fails is a task in state `error` with its fault.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::Ctx;
use super::envelope::{Element, Request};
use super::error::SoapError;
use super::faults;
use super::objects::Obj;
use super::property_collector::wrong_this;
use super::types::task::{TaskHead, info};
use super::types::value::{Data, Value, long, mor, s};
use crate::sim::SimTime;
use crate::vsphere::{
    DatastoreId, DeviceKind, DeviceSpec, DiskSpec, VmAllocation, VmConfigChange, VmSpec,
    VsphereError, World,
};

/// A finished datastore search.
#[derive(Clone, Debug)]
pub struct SearchTask {
    datastore: DatastoreId,
    folder_path: String,
    /// Found files as (type, name, size in bytes), or the missing folder.
    result: Result<Vec<(&'static str, String, u64)>, String>,
    at: SimTime,
    user: String,
}

impl SearchTask {
    /// Its `TaskInfo`.
    pub fn info(&self, w: &World, id: u64) -> Data {
        let ds_name = w
            .datastore(self.datastore)
            .map_or_else(|_| String::new(), |d| d.name.to_string());
        let head = TaskHead {
            id: format!("task-s{id}"),
            name: "SearchDatastore_Task",
            description_id: "HostDatastoreBrowser.search",
            entity: Some(("Datastore", self.datastore.to_string(), ds_name)),
            user: &self.user,
            started: self.at,
            completed: self.at,
            chain: 0,
        };
        let result = match &self.result {
            Ok(files) => Ok(Some(
                Data::new("HostDatastoreBrowserSearchResults")
                    .with("datastore", mor("Datastore", self.datastore))
                    .with("folderPath", s(&self.folder_path))
                    .with(
                        "file",
                        Value::List(
                            "FileInfo",
                            files
                                .iter()
                                .map(|(ty, name, size)| {
                                    Data::new(ty)
                                        .with("path", s(name))
                                        .with("fileSize", long(*size))
                                        .with("modification", Value::Time(self.at))
                                        .into()
                                })
                                .collect(),
                        ),
                    )
                    .into(),
            )),
            Err(path) => {
                let e = VsphereError::FileNotFound { path: path.clone() };
                Err(faults::localized(faults::vsphere_fault(&e), e.to_string()))
            }
        };
        info(head, result)
    }
}

fn task_ref(id: impl std::fmt::Display) -> String {
    format!("<returnval type=\"Task\">{id}</returnval>")
}

/// Runs a world operation; the task it recorded, or a fault if it refused before starting one.
fn run<T>(
    ctx: &mut Ctx<'_>,
    op: impl FnOnce(&mut World) -> Result<T, VsphereError>,
) -> Result<String, SoapError> {
    let before = ctx.world.tasks().count();
    let res = op(ctx.world);
    if ctx.world.tasks().count() > before
        && let Some(t) = ctx.world.tasks().last()
    {
        return Ok(task_ref(t.moref()));
    }
    res?;
    Err(SoapError::InvalidRequest(
        "the operation completed without a task".into(),
    ))
}

fn num<T: FromStr>(el: &Element, name: &str, path: &str) -> Result<Option<T>, SoapError> {
    match el.text_of(name) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            SoapError::invalid(
                format!("{path}.{name}"),
                format!("`{t}` is not a valid number"),
            )
        }),
    }
}

fn allocation(el: Option<&Element>, path: &str) -> Result<Option<VmAllocation>, SoapError> {
    let Some(el) = el else { return Ok(None) };
    let reservation: Option<u64> = num(el, "reservation", path)?;
    let limit: Option<i64> = num(el, "limit", path)?;
    Ok(Some(VmAllocation {
        reservation: reservation.unwrap_or(0),
        limit: match limit {
            None | Some(-1) => None,
            Some(l) => Some(u64::try_from(l).map_err(|_| {
                SoapError::invalid(format!("{path}.limit"), "must be -1 or at least 0")
            })?),
        },
    }))
}

/// `[ds] path` into the datastore and path.
fn ds_path(w: &World, text: &str, what: &str) -> Result<(DatastoreId, String), SoapError> {
    let rest = text
        .trim()
        .strip_prefix('[')
        .ok_or_else(|| SoapError::invalid(what, format!("`{text}` is not `[datastore] path`")))?;
    let (name, path) = rest
        .split_once(']')
        .ok_or_else(|| SoapError::invalid(what, format!("`{text}` is not `[datastore] path`")))?;
    let ds = w
        .datastore_by_name(name)
        .ok_or_else(|| SoapError::invalid(what, format!("no datastore `{name}`")))?;
    Ok((ds, path.trim().to_string()))
}

/// What a `deviceChange` entry asks for.
enum DeviceChange {
    AddDisk(DiskSpec),
    AttachDisk(DatastoreId, String),
    GrowDisk(i32, u64),
    Add(DeviceSpec),
    Remove(i32),
}

fn device_kind(ty: &str) -> Option<(DeviceKind, &'static str)> {
    Some(match ty {
        "ParaVirtualSCSIController"
        | "VirtualLsiLogicController"
        | "VirtualLsiLogicSASController"
        | "VirtualBusLogicController" => (DeviceKind::PvscsiController, "SCSI controller 0"),
        "VirtualIDEController" => (DeviceKind::IdeController, "IDE 0"),
        "VirtualCdrom" => (DeviceKind::Cdrom, "CD/DVD drive 1"),
        "VirtualSerialPort" => (DeviceKind::SerialPort, "Serial port 1"),
        "VirtualVmxnet3" | "VirtualVmxnet2" | "VirtualVmxnet" | "VirtualE1000"
        | "VirtualE1000e" | "VirtualPCNet32" => (DeviceKind::Ethernet, "Network adapter 1"),
        _ => return None,
    })
}

fn device_change(w: &World, el: &Element) -> Result<DeviceChange, SoapError> {
    const P: &str = "deviceChange";
    let op = el.text_of("operation").unwrap_or("add");
    let dev = el
        .child("device")
        .ok_or_else(|| SoapError::invalid("deviceChange.device", "missing"))?;
    let ty = dev.xsi_type.as_deref().unwrap_or("");
    let key: Option<i32> = num(dev, "key", "deviceChange.device")?;
    let size_mib = || -> Result<Option<u64>, SoapError> {
        if let Some(b) = num::<u64>(dev, "capacityInBytes", "deviceChange.device")? {
            return Ok(Some(b.div_ceil(1024 * 1024)));
        }
        Ok(num::<u64>(dev, "capacityInKB", "deviceChange.device")?.map(|kb| kb.div_ceil(1024)))
    };
    match (op, ty) {
        ("remove", _) => key
            .map(DeviceChange::Remove)
            .ok_or_else(|| SoapError::invalid("deviceChange.device.key", "missing")),
        ("edit", "VirtualDisk") => {
            let key =
                key.ok_or_else(|| SoapError::invalid("deviceChange.device.key", "missing"))?;
            let size = size_mib()?
                .ok_or_else(|| SoapError::invalid("deviceChange.device.capacityInKB", "missing"))?;
            Ok(DeviceChange::GrowDisk(key, size))
        }
        ("add", "VirtualDisk") => {
            let backing = dev.child("backing");
            let file = backing.and_then(|b| b.text_of("fileName")).unwrap_or("");
            if el.text_of("fileOperation") != Some("create") && !file.is_empty() {
                let (ds, path) = ds_path(w, file, "deviceChange.device.backing.fileName")?;
                return Ok(DeviceChange::AttachDisk(ds, path));
            }
            let thin = backing
                .and_then(|b| b.text_of("thinProvisioned"))
                .is_some_and(|t| t == "true" || t == "1");
            let datastore = if file.is_empty() || file.ends_with(']') && !file.contains("] ") {
                file.strip_prefix('[')
                    .and_then(|f| f.strip_suffix(']'))
                    .and_then(|n| w.datastore_by_name(n))
            } else {
                Some(ds_path(w, file, "deviceChange.device.backing.fileName")?.0)
            };
            let capacity_mib = size_mib()?
                .ok_or_else(|| SoapError::invalid("deviceChange.device.capacityInKB", "missing"))?;
            Ok(DeviceChange::AddDisk(DiskSpec {
                capacity_mib,
                thin,
                datastore,
            }))
        }
        ("add", t) => {
            let (kind, label) = device_kind(t).ok_or_else(|| {
                SoapError::invalid(
                    "deviceChange.device",
                    format!("device type `{t}` is not modelled by vcsim-lite"),
                )
            })?;
            let backing = dev.child("backing");
            let text = backing
                .and_then(|b| {
                    b.text_of("deviceName")
                        .or_else(|| b.text_of("fileName"))
                        .or_else(|| b.text_of("serviceURI"))
                })
                .unwrap_or("")
                .to_string();
            let label = dev
                .child("deviceInfo")
                .and_then(|d| d.text_of("label"))
                .unwrap_or(label)
                .to_string();
            Ok(DeviceChange::Add(DeviceSpec {
                kind,
                label,
                backing: text,
            }))
        }
        (op, t) => Err(SoapError::invalid(
            P,
            format!("operation `{op}` on `{t}` is not supported by vcsim-lite"),
        )),
    }
}

fn extra_config(el: &Element) -> Vec<(String, String)> {
    el.all("extraConfig")
        .filter_map(|o| {
            Some((
                o.text_of("key")?.to_string(),
                o.text_of("value").unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// `Folder.CreateVM_Task(config, pool, host)`.
pub fn create_vm(ctx: &mut Ctx<'_>, this: &Obj, req: &Request) -> Result<String, SoapError> {
    let Obj::Folder(folder) = this else {
        return Err(wrong_this("a Folder", this));
    };
    let config = req
        .arg("config")
        .ok_or_else(|| SoapError::invalid("config", "missing"))?;
    let pool = match ctx.resolve_el(
        req.arg("pool")
            .ok_or_else(|| SoapError::invalid("pool", "missing"))?,
    )? {
        Obj::Pool(p) => p,
        o => {
            return Err(SoapError::invalid(
                "pool",
                format!("{} is not a ResourcePool", o.type_name()),
            ));
        }
    };
    let host = match req.arg("host").map(|h| ctx.resolve_el(h)).transpose()? {
        None => None,
        Some(Obj::Host(h)) => Some(h),
        Some(o) => {
            return Err(SoapError::invalid(
                "host",
                format!("{} is not a HostSystem", o.type_name()),
            ));
        }
    };
    let name = config
        .text_of("name")
        .ok_or_else(|| SoapError::invalid("config.name", "missing"))?;
    let vmx = config
        .child("files")
        .and_then(|f| f.text_of("vmPathName"))
        .ok_or_else(|| SoapError::invalid("config.files.vmPathName", "missing"))?;
    let (datastore, path) = ds_path(ctx.world, vmx, "config.files.vmPathName")?;
    let mut spec = VmSpec::new(name, pool, datastore);
    spec.folder = Some(*folder);
    spec.host = host;
    if !path.is_empty() {
        spec.vm_path_name = Some(vmx.trim().to_string());
    }
    if let Some(n) = num(config, "numCPUs", "config")? {
        spec.vcpus = n;
    }
    if let Some(m) = num(config, "memoryMB", "config")? {
        spec.memory_mib = m;
    }
    if let Some(a) = allocation(config.child("cpuAllocation"), "config.cpuAllocation")? {
        spec.cpu_alloc = a;
    }
    if let Some(a) = allocation(config.child("memoryAllocation"), "config.memoryAllocation")? {
        spec.memory_alloc = a;
    }
    spec.guest_id = config
        .text_of("guestId")
        .unwrap_or("otherGuest")
        .to_string();
    if let Some(alt) = config.text_of("alternateGuestName") {
        spec.alternate_guest_name = alt.to_string();
    }
    if let Some(u) = config.text_of("uuid") {
        spec.uuid = Some(u.to_string());
    }
    spec.extra_config = extra_config(config);
    for dc in config.all("deviceChange") {
        match device_change(ctx.world, dc)? {
            DeviceChange::AddDisk(d) => spec.disks.push(d),
            DeviceChange::AttachDisk(ds, p) => spec.attach_disks.push((ds, p)),
            DeviceChange::Add(d) => spec.devices.push(d),
            DeviceChange::GrowDisk(..) | DeviceChange::Remove(_) => {
                return Err(SoapError::invalid(
                    "config.deviceChange.operation",
                    "a new VM's devices can only be added",
                ));
            }
        }
    }
    run(ctx, |w| w.create_vm(spec))
}

fn vm_of(this: &Obj) -> Result<crate::vsphere::VmId, SoapError> {
    match this {
        Obj::Vm(v) => Ok(*v),
        o => Err(wrong_this("a VirtualMachine", o)),
    }
}

/// `PowerOnVM_Task`.
pub fn power_on(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    let vm = vm_of(this)?;
    run(ctx, |w| w.power_on_vm(vm))
}

/// `PowerOffVM_Task`.
pub fn power_off(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    let vm = vm_of(this)?;
    run(ctx, |w| w.power_off_vm(vm))
}

/// `Destroy_Task` (VMs only).
pub fn destroy(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    let vm = match this {
        Obj::Vm(v) => *v,
        o => {
            return Err(SoapError::NotImplemented {
                method: format!("Destroy_Task on {}", o.type_name()),
            });
        }
    };
    run(ctx, |w| w.destroy_vm(vm))
}

/// `ReconfigVM_Task(spec)`.
pub fn reconfigure(ctx: &mut Ctx<'_>, this: &Obj, req: &Request) -> Result<String, SoapError> {
    let vm_id = vm_of(this)?;
    let spec = req
        .arg("spec")
        .ok_or_else(|| SoapError::invalid("spec", "missing"))?;
    let disk_keys: Vec<i32> = ctx.world.vm(vm_id)?.disks.iter().map(|d| d.key).collect();
    let mut c = VmConfigChange {
        name: spec.text_of("name").map(str::to_string),
        vcpus: num(spec, "numCPUs", "spec")?,
        memory_mib: num(spec, "memoryMB", "spec")?,
        cpu_alloc: allocation(spec.child("cpuAllocation"), "spec.cpuAllocation")?,
        memory_alloc: allocation(spec.child("memoryAllocation"), "spec.memoryAllocation")?,
        guest_id: spec.text_of("guestId").map(str::to_string),
        alternate_guest_name: spec.text_of("alternateGuestName").map(str::to_string),
        extra_config: extra_config(spec),
        expected_change_version: num(spec, "changeVersion", "spec")?,
        ..VmConfigChange::default()
    };
    for dc in spec.all("deviceChange") {
        match device_change(ctx.world, dc)? {
            DeviceChange::AddDisk(d) => c.add_disks.push(d),
            DeviceChange::AttachDisk(ds, p) => c.attach_disks.push((ds, p)),
            DeviceChange::GrowDisk(k, size) => c.grow_disks.push((k, size)),
            DeviceChange::Add(d) => c.add_devices.push(d),
            DeviceChange::Remove(k) if disk_keys.contains(&k) => c.remove_disks.push(k),
            DeviceChange::Remove(k) => c.remove_devices.push(k),
        }
    }
    run(ctx, |w| w.reconfigure_vm(vm_id, c))
}

/// The files a datastore folder holds: VM configuration files, VM disks and standalone disk
/// files, by name.
fn folder_files(w: &World, ds: DatastoreId, folder: &str) -> BTreeMap<String, (&'static str, u64)> {
    let mut files = BTreeMap::new();
    let ds_name = w.datastore(ds).map_or("", |d| &d.name);
    let prefix = format!("[{ds_name}] {folder}/");
    for vm in w.vms().values() {
        if let Some(file) = vm.vm_path_name.strip_prefix(&prefix)
            && !file.contains('/')
        {
            files.insert(file.to_string(), ("VmConfigFileInfo", 4096));
            for (i, d) in vm.disks.iter().filter(|d| d.attached.is_none()).enumerate() {
                let name = if i == 0 {
                    format!("{}.vmdk", vm.name)
                } else {
                    format!("{}_{i}.vmdk", vm.name)
                };
                files.insert(name, ("VmDiskFileInfo", d.consumed_mib * 1024 * 1024));
            }
        }
    }
    let dir = format!("{folder}/");
    for ((d, path), f) in w.disk_files() {
        if *d == ds
            && let Some(file) = path.strip_prefix(dir.as_str())
            && !file.contains('/')
        {
            files.insert(
                file.to_string(),
                ("VmDiskFileInfo", f.used_mib * 1024 * 1024),
            );
        }
    }
    files
}

/// `HostDatastoreBrowser.SearchDatastore_Task(datastorePath, searchSpec)`: the files of one
/// folder matching `matchPattern`; `FileNotFound` if the folder does not exist.
pub fn search_datastore(ctx: &mut Ctx<'_>, this: &Obj, req: &Request) -> Result<String, SoapError> {
    let Obj::Browser(browser_ds) = this else {
        return Err(wrong_this("a HostDatastoreBrowser", this));
    };
    let path_text = req
        .body
        .text_of("datastorePath")
        .ok_or_else(|| SoapError::invalid("datastorePath", "missing"))?;
    let (ds, folder) = ds_path(ctx.world, path_text, "datastorePath")?;
    if ds != *browser_ds {
        return Err(SoapError::invalid(
            "datastorePath",
            "names another datastore than the browser's",
        ));
    }
    let folder = folder.trim_end_matches('/').to_string();
    let mut patterns = Vec::new();
    for p in req
        .arg("searchSpec")
        .map(|s| s.all("matchPattern").collect::<Vec<_>>())
        .unwrap_or_default()
    {
        patterns.push(
            glob::Pattern::new(p.text.trim())
                .map_err(|e| SoapError::invalid("searchSpec.matchPattern", e.to_string()))?,
        );
    }
    let files = folder_files(ctx.world, ds, &folder);
    let result = if files.is_empty() {
        Err(path_text.trim().to_string())
    } else {
        Ok(files
            .into_iter()
            .filter(|(name, _)| patterns.is_empty() || patterns.iter().any(|p| p.matches(name)))
            .map(|(name, (ty, size))| (ty, name, size))
            .collect())
    };
    let task = SearchTask {
        datastore: ds,
        folder_path: path_text.trim().to_string(),
        result,
        at: ctx.world.now(),
        user: ctx.user(),
    };
    ctx.ep.next_search += 1;
    let id = ctx.ep.next_search;
    ctx.ep.searches.insert(id, task);
    while ctx.ep.searches.len() > 1024 {
        ctx.ep.searches.pop_first();
    }
    Ok(task_ref(format!("task-s{id}")))
}
