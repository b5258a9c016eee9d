//! VM operations: create, reconfigure, power on, power off, destroy. Each checks everything
//! it needs first and changes the world only once nothing can fail.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::admission::{HostDemand, check_host, pick_host};
use super::error::{Resource, VsphereError};
use super::ids::*;
use super::model::*;
use super::world::{TaskCtx, World, not_found};
use crate::sim::event::EventKind;
use crate::sim::{ObjectKind, Operation};

/// The most vCPUs a VM may have (vSphere 8).
pub const MAX_VCPUS: u32 = 768;
/// The most memory a VM may have: 24 TiB (vSphere 8).
pub const MAX_VM_MEMORY_MIB: u64 = 24 * 1024 * 1024;
/// The largest virtual disk: 62 TiB.
pub const MAX_DISK_MIB: u64 = 62 * 1024 * 1024;
/// Longest object name vCenter accepts.
pub const MAX_NAME_LEN: usize = 80;
/// First device key of SCSI disks.
pub(crate) const FIRST_DISK_KEY: i32 = 2000;
/// First device key of other devices.
pub(crate) const FIRST_DEVICE_KEY: i32 = 100;

/// A disk to create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    /// Provisioned size.
    pub capacity_mib: u64,
    /// Thin (consumes nothing until written) or thick (consumes its size at once).
    pub thin: bool,
    /// Datastore for the disk file; `None` puts it beside the VM.
    pub datastore: Option<DatastoreId>,
}

/// A non-disk device to add; its key is assigned by the world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSpec {
    /// What it is.
    pub kind: DeviceKind,
    /// `deviceInfo.label`.
    pub label: String,
    /// Its backing, as text.
    pub backing: String,
}

/// What `CreateVM_Task` takes (the parts of `VirtualMachineConfigSpec` modelled).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmSpec {
    /// Name, unique within the folder.
    pub name: String,
    /// Folder; `None` means the datacenter's VM folder.
    pub folder: Option<FolderId>,
    /// Resource pool.
    pub pool: PoolId,
    /// Host; `None` lets the cluster choose (DRS rule, also used to register the VM).
    pub host: Option<HostId>,
    /// Datastore for the VM's files and swap.
    pub datastore: DatastoreId,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory.
    pub memory_mib: u64,
    /// CPU reservation and limit.
    pub cpu_alloc: VmAllocation,
    /// Memory reservation and limit.
    pub memory_alloc: VmAllocation,
    /// Guest id.
    pub guest_id: String,
    /// Alternate guest name.
    pub alternate_guest_name: String,
    /// `extraConfig` entries.
    pub extra_config: Vec<(String, String)>,
    /// Disks.
    pub disks: Vec<DiskSpec>,
    /// Other devices.
    pub devices: Vec<DeviceSpec>,
    /// Existing disk files to attach (datastore, path), e.g. volumes: created and attached in
    /// the one task, so a failure leaves no VM behind.
    pub attach_disks: Vec<(DatastoreId, String)>,
    /// BIOS UUID; `None` draws one from the world's RNG.
    pub uuid: Option<String>,
    /// `files.vmPathName`; `None` means `[datastore] name/name.vmx`.
    pub vm_path_name: Option<String>,
}

impl VmSpec {
    /// A 1 vCPU, 1 GiB `otherGuest64` VM with no disks and no reservations.
    pub fn new(name: impl Into<String>, pool: PoolId, datastore: DatastoreId) -> Self {
        VmSpec {
            name: name.into(),
            folder: None,
            pool,
            host: None,
            datastore,
            vcpus: 1,
            memory_mib: 1024,
            cpu_alloc: VmAllocation::default(),
            memory_alloc: VmAllocation::default(),
            guest_id: "otherGuest64".into(),
            alternate_guest_name: String::new(),
            extra_config: Vec::new(),
            disks: Vec::new(),
            devices: Vec::new(),
            attach_disks: Vec::new(),
            uuid: None,
            vm_path_name: None,
        }
    }
}

/// What `ReconfigVM_Task` changes; `None` and empty fields leave things as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmConfigChange {
    /// New name (unique within the folder).
    pub name: Option<String>,
    /// New vCPU count (VM must be off: no CPU hot-add).
    pub vcpus: Option<u32>,
    /// New memory (VM must be off: no memory hot-add).
    pub memory_mib: Option<u64>,
    /// New CPU reservation and limit (admitted again if the VM is on).
    pub cpu_alloc: Option<VmAllocation>,
    /// New memory reservation and limit (admitted again if the VM is on).
    pub memory_alloc: Option<VmAllocation>,
    /// New guest id.
    pub guest_id: Option<String>,
    /// New alternate guest name.
    pub alternate_guest_name: Option<String>,
    /// `extraConfig` to set; an empty value removes the key, as in vSphere.
    pub extra_config: Vec<(String, String)>,
    /// Disks to add.
    pub add_disks: Vec<DiskSpec>,
    /// Disks to grow: (device key, new capacity). vSphere cannot shrink a disk.
    pub grow_disks: Vec<(i32, u64)>,
    /// Disks to remove, by device key (owned files are deleted, attached files detached).
    pub remove_disks: Vec<i32>,
    /// Existing disk files to attach: (datastore, path).
    pub attach_disks: Vec<(DatastoreId, String)>,
    /// Devices to add.
    pub add_devices: Vec<DeviceSpec>,
    /// Devices to remove, by key.
    pub remove_devices: Vec<i32>,
    /// The `changeVersion` the caller last read; stale means `ConcurrentAccess`.
    pub expected_change_version: Option<u64>,
}

pub(crate) fn validate_name(name: &str) -> Result<(), VsphereError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('/') {
        return Err(VsphereError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME_LEN} characters without `/`"),
        ));
    }
    Ok(())
}

pub(crate) fn validate_shape(
    vcpus: u32,
    memory_mib: u64,
    cpu: VmAllocation,
    mem: VmAllocation,
) -> Result<(), VsphereError> {
    if !(1..=MAX_VCPUS).contains(&vcpus) {
        return Err(VsphereError::invalid(
            "numCPUs",
            format!("must be 1 to {MAX_VCPUS}"),
        ));
    }
    if !(4..=MAX_VM_MEMORY_MIB).contains(&memory_mib) || !memory_mib.is_multiple_of(4) {
        return Err(VsphereError::invalid(
            "memoryMB",
            format!("must be a multiple of 4 from 4 to {MAX_VM_MEMORY_MIB}"),
        ));
    }
    if mem.reservation > memory_mib {
        return Err(VsphereError::invalid(
            "memoryAllocation.reservation",
            "exceeds the VM's memory",
        ));
    }
    for (prop, a) in [
        ("cpuAllocation.limit", cpu),
        ("memoryAllocation.limit", mem),
    ] {
        if a.limit.is_some_and(|l| l < a.reservation) {
            return Err(VsphereError::invalid(prop, "is below the reservation"));
        }
    }
    Ok(())
}

pub(crate) fn validate_disk_size(capacity_mib: u64) -> Result<(), VsphereError> {
    if !(1..=MAX_DISK_MIB).contains(&capacity_mib) {
        return Err(VsphereError::invalid(
            "deviceChange.device.capacityInKB",
            format!("must be 1 MiB to {MAX_DISK_MIB} MiB"),
        ));
    }
    Ok(())
}

/// Datastores of attached files must be reachable from the VM's host, like its own disks.
fn need_attach_datastores(attach: &[(DatastoreId, String)], need: &mut BTreeMap<DatastoreId, u64>) {
    for (ds, _) in attach {
        need.entry(*ds).or_insert(0);
    }
}

/// Space a disk of this size takes when created.
fn consumed(capacity_mib: u64, thin: bool) -> u64 {
    if thin { 0 } else { capacity_mib }
}

/// Where powering on will run the VM and what it will hold there.
struct PowerOnPlan {
    host: HostId,
    drs: bool,
    runtime: VmRuntime,
}

impl World {
    /// `Folder.CreateVM_Task`: registers a new powered-off VM.
    pub fn create_vm(&mut self, spec: VmSpec) -> Result<VmId, VsphereError> {
        let pool = self.pool(spec.pool)?;
        let name: Arc<str> = spec.name.as_str().into();
        let compute = pool.compute;
        let folder = match spec.folder {
            Some(f) => f,
            None => {
                let dc = self
                    .datacenter_of_compute(compute)
                    .ok_or_else(|| not_found(ObjectKind::Cluster, compute))?;
                self.datacenters[&dc].vm_folder
            }
        };
        let folder_ref = self.folder(folder)?.id.moref();
        self.run_task(
            Operation::CreateVm,
            ObjectKind::Vm,
            folder_ref,
            name,
            |id: &VmId| Some(id.moref()),
            |w, ctx| w.create_vm_body(spec, folder, ctx),
        )
    }

    fn create_vm_body(
        &mut self,
        spec: VmSpec,
        folder_id: FolderId,
        ctx: TaskCtx,
    ) -> Result<VmId, VsphereError> {
        validate_name(&spec.name)?;
        validate_shape(
            spec.vcpus,
            spec.memory_mib,
            spec.cpu_alloc,
            spec.memory_alloc,
        )?;
        let folder = self.folder(folder_id)?;
        let pool = self.pool(spec.pool)?;
        let compute = self.compute(pool.compute)?;
        if folder.kind != FolderKind::Vm
            || Some(folder.datacenter) != self.datacenter_of_compute(compute.id)
        {
            return Err(VsphereError::invalid(
                "folder",
                "is not a VM folder of the pool's datacenter",
            ));
        }
        if folder.vms.contains_key(spec.name.as_str())
            || folder.folders.contains_key(spec.name.as_str())
        {
            return Err(VsphereError::DuplicateName {
                name: spec.name.clone(),
                container: format!("folder {}", folder.name),
            });
        }
        let ds = self.datastore(spec.datastore)?;
        if ds.datacenter != folder.datacenter {
            return Err(VsphereError::invalid(
                "datastore",
                "is not in the VM's datacenter",
            ));
        }
        // Space for thick disks, summed per datastore.
        let mut need: BTreeMap<DatastoreId, u64> = BTreeMap::new();
        for d in &spec.disks {
            validate_disk_size(d.capacity_mib)?;
            let ds = d.datastore.unwrap_or(spec.datastore);
            self.datastore(ds)?;
            *need.entry(ds).or_default() += consumed(d.capacity_mib, d.thin);
        }
        self.check_space(&need)?;
        for (n, (ds, path)) in spec.attach_disks.iter().enumerate() {
            if self.disk_file(*ds, path).is_none() {
                let name = self.datastore(*ds)?.name.to_string();
                return Err(VsphereError::FileNotFound {
                    path: super::file_ops::datastore_path(&name, path),
                });
            }
            if spec.attach_disks[..n].contains(&(*ds, path.clone())) {
                return Err(VsphereError::invalid(
                    "deviceChange.device.backing.fileName",
                    format!("{path} is attached twice"),
                ));
            }
        }
        need_attach_datastores(&spec.attach_disks, &mut need);
        let mut datastores: Vec<DatastoreId> = need.keys().copied().collect();
        datastores.push(spec.datastore);
        let host = self.registration_host(compute.id, spec.host, &spec.name, &datastores)?;

        // Nothing can fail from here on.
        let id = VmId(self.alloc_id());
        let name: Arc<str> = spec.name.as_str().into();
        let mut disks = Vec::with_capacity(spec.disks.len());
        for (i, d) in spec.disks.iter().enumerate() {
            let ds = d.datastore.unwrap_or(spec.datastore);
            let c = consumed(d.capacity_mib, d.thin);
            self.datastores.get_mut(&ds).expect("checked").used_mib += c;
            disks.push(Disk {
                key: FIRST_DISK_KEY + i as i32,
                capacity_mib: d.capacity_mib,
                thin: d.thin,
                consumed_mib: c,
                datastore: ds,
                attached: None,
            });
        }
        let first_attached = FIRST_DISK_KEY + disks.len() as i32;
        for (key, (ds, path)) in (first_attached..).zip(&spec.attach_disks) {
            let capacity_mib = self.disk_file(*ds, path).map_or(0, |f| f.capacity_mib);
            disks.push(Disk {
                key,
                capacity_mib,
                thin: true,
                consumed_mib: 0,
                datastore: *ds,
                attached: Some(path.as_str().into()),
            });
        }
        let vm = Vm {
            id,
            name: name.clone(),
            uuid: match spec.uuid {
                Some(u) => u,
                None => self.new_uuid(),
            },
            vm_path_name: spec.vm_path_name.unwrap_or_else(|| {
                let ds = &self.datastores[&spec.datastore].name;
                format!("[{ds}] {0}/{0}.vmx", spec.name)
            }),
            devices: spec
                .devices
                .into_iter()
                .zip(FIRST_DEVICE_KEY..)
                .map(|(d, key)| VirtualDevice {
                    key,
                    kind: d.kind,
                    label: d.label,
                    backing: d.backing,
                })
                .collect(),
            folder: folder_id,
            pool: spec.pool,
            host,
            datastore: spec.datastore,
            vcpus: spec.vcpus,
            memory_mib: spec.memory_mib,
            cpu_alloc: spec.cpu_alloc,
            memory_alloc: spec.memory_alloc,
            guest_id: spec.guest_id,
            alternate_guest_name: spec.alternate_guest_name,
            extra_config: spec
                .extra_config
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                .collect(),
            disks,
            power_state: PowerState::PoweredOff,
            runtime: VmRuntime::default(),
            change_version: 1,
            created: ctx.done,
            boot_time: None,
        };
        self.vms.insert(id, vm);
        self.folders
            .get_mut(&folder_id)
            .expect("checked")
            .vms
            .insert(name, id);
        self.pools
            .get_mut(&spec.pool)
            .expect("checked")
            .vms
            .insert(id);
        self.hosts.get_mut(&host).expect("chosen").vms.insert(id);
        for (ds, path) in &spec.attach_disks {
            self.attach_file(*ds, path, id);
        }
        self.vm_event(EventKind::VmCreatedEvent, id, ctx.done, ctx.chain);
        Ok(id)
    }

    /// A UUID (RFC 4122 version 4 layout) drawn from the world's RNG.
    pub(crate) fn new_uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// Checks that each datastore has the space asked of it.
    fn check_space(&self, need: &BTreeMap<DatastoreId, u64>) -> Result<(), VsphereError> {
        for (ds, n) in need {
            let d = self.datastore(*ds)?;
            if *n > d.free_mib() {
                return Err(VsphereError::NoDiskSpace {
                    datastore: d.name.to_string(),
                    requested_mib: *n,
                    free_mib: d.free_mib(),
                });
            }
        }
        Ok(())
    }

    /// The host a new VM is registered on: the one asked for (which must be connected, out of
    /// maintenance and see the datastores), or the cluster's choice.
    fn registration_host(
        &self,
        compute: ComputeId,
        asked: Option<HostId>,
        vm_name: &str,
        datastores: &[DatastoreId],
    ) -> Result<HostId, VsphereError> {
        let demand = HostDemand {
            vm_name,
            vcpus: 0,
            cpu_mhz: 0,
            memory_mib: 0,
            datastores: datastores.to_vec(),
        };
        match asked {
            Some(h) => {
                let host = self.host(h)?;
                if host.compute != compute {
                    return Err(VsphereError::invalid(
                        "host",
                        "is not part of the pool's cluster",
                    ));
                }
                check_host(self, host, &demand, (0, 0))?;
                Ok(h)
            }
            None => pick_host(self, compute, &demand, None, &BTreeMap::new()),
        }
    }

    /// `VirtualMachine.PowerOnVM_Task`: admission control, placement, swap file. Returns the
    /// host the VM runs on.
    pub fn power_on_vm(&mut self, id: VmId) -> Result<HostId, VsphereError> {
        let name = self.vm(id)?.name.clone();
        self.run_task(
            Operation::PowerOnVm,
            ObjectKind::Vm,
            id.moref(),
            name,
            |h: &HostId| Some(h.moref()),
            |w, ctx| {
                let plan = w.plan_power_on(id)?;
                w.apply_power_on(id, &plan, ctx);
                Ok(plan.host)
            },
        )
    }

    /// Whether `PowerOnVM_Task` would be admitted now, and on which host; changes nothing.
    /// Lets a caller that must do several steps (VIC's commit) refuse before the first.
    pub fn check_power_on(&self, id: VmId) -> Result<HostId, VsphereError> {
        self.plan_power_on(id).map(|p| p.host)
    }

    fn plan_power_on(&self, id: VmId) -> Result<PowerOnPlan, VsphereError> {
        let vm = self.vm(id)?;
        if vm.power_state != PowerState::PoweredOff {
            return Err(self.power_state_error(vm, Operation::PowerOnVm, PowerState::PoweredOff));
        }
        let pool = self.pool(vm.pool)?;
        let compute = self.compute(pool.compute)?;
        let overhead = self.usage.overhead_mib(vm.vcpus, vm.memory_mib);
        let cpu_reserved = vm.cpu_alloc.reservation;
        let memory_reserved = vm.memory_alloc.reservation.saturating_add(overhead);
        let mut datastores: Vec<DatastoreId> = vm.disks.iter().map(|d| d.datastore).collect();
        datastores.push(vm.datastore);
        datastores.sort();
        datastores.dedup();
        let demand = HostDemand {
            vm_name: &vm.name,
            vcpus: vm.vcpus,
            cpu_mhz: cpu_reserved,
            memory_mib: memory_reserved,
            datastores,
        };
        let drs = compute.is_cluster && compute.drs;
        let host = if drs {
            // DRS first admits at the cluster level, then places.
            self.check_reserve(vm.pool, Resource::Cpu, cpu_reserved)?;
            self.check_reserve(vm.pool, Resource::Memory, memory_reserved)?;
            pick_host(self, compute.id, &demand, None, &BTreeMap::new())?
        } else {
            check_host(self, self.host(vm.host)?, &demand, (0, 0))?;
            self.check_reserve(vm.pool, Resource::Cpu, cpu_reserved)?;
            self.check_reserve(vm.pool, Resource::Memory, memory_reserved)?;
            vm.host
        };
        let swap = vm.memory_mib - vm.memory_alloc.reservation;
        let mut need = BTreeMap::new();
        need.insert(vm.datastore, swap);
        self.check_space(&need)?;
        let h = self.host(host)?;
        let demand_mhz = self.cpu_demand_mhz(vm.vcpus, h.mhz_per_core);
        Ok(PowerOnPlan {
            host,
            drs,
            runtime: VmRuntime {
                cpu_reserved_mhz: cpu_reserved,
                memory_reserved_mib: memory_reserved,
                cpu_usage_mhz: vm.cpu_alloc.limit.map_or(demand_mhz, |l| demand_mhz.min(l)),
                memory_usage_mib: vm
                    .memory_alloc
                    .limit
                    .map_or(vm.memory_mib, |l| vm.memory_mib.min(l)),
                swap_mib: swap,
            },
        })
    }

    fn apply_power_on(&mut self, id: VmId, plan: &PowerOnPlan, ctx: TaskCtx) {
        self.vm_event(EventKind::VmStartingEvent, id, ctx.start, ctx.chain);
        let rt = plan.runtime;
        let vm = &self.vms[&id];
        let (pool, old_host, datastore) = (vm.pool, vm.host, vm.datastore);
        self.reserve(pool, Resource::Cpu, rt.cpu_reserved_mhz);
        self.reserve(pool, Resource::Memory, rt.memory_reserved_mib);
        self.change_usage(pool, rt.cpu_usage_mhz, rt.memory_usage_mib, true);
        self.hosts
            .get_mut(&old_host)
            .expect("registered host")
            .vms
            .remove(&id);
        let h = self.hosts.get_mut(&plan.host).expect("planned host");
        h.vms.insert(id);
        h.charge(&rt);
        self.datastores
            .get_mut(&datastore)
            .expect("vm datastore")
            .used_mib += rt.swap_mib;
        let vm = self.vms.get_mut(&id).expect("planned vm");
        vm.host = plan.host;
        vm.power_state = PowerState::PoweredOn;
        vm.boot_time = Some(ctx.done);
        vm.runtime = rt;
        let kind = if plan.drs {
            EventKind::DrsVmPoweredOnEvent
        } else {
            EventKind::VmPoweredOnEvent
        };
        self.vm_event(kind, id, ctx.done, ctx.chain);
    }

    /// `VirtualMachine.PowerOffVM_Task`: releases reservations, usage and the swap file.
    pub fn power_off_vm(&mut self, id: VmId) -> Result<(), VsphereError> {
        self.vm_task(Operation::PowerOffVm, id, |w, ctx| {
            let vm = w.vm(id)?;
            if vm.power_state != PowerState::PoweredOn {
                return Err(w.power_state_error(vm, Operation::PowerOffVm, PowerState::PoweredOn));
            }
            w.vm_event(EventKind::VmStoppingEvent, id, ctx.start, ctx.chain);
            w.release_runtime(id);
            let vm = w.vms.get_mut(&id).expect("checked");
            vm.power_state = PowerState::PoweredOff;
            vm.boot_time = None;
            w.vm_event(EventKind::VmPoweredOffEvent, id, ctx.done, ctx.chain);
            Ok(())
        })
    }

    /// Gives back everything a powered-on VM holds.
    fn release_runtime(&mut self, id: VmId) {
        let vm = &self.vms[&id];
        let (rt, pool, host, ds) = (vm.runtime, vm.pool, vm.host, vm.datastore);
        self.release(pool, Resource::Cpu, rt.cpu_reserved_mhz);
        self.release(pool, Resource::Memory, rt.memory_reserved_mib);
        self.change_usage(pool, rt.cpu_usage_mhz, rt.memory_usage_mib, false);
        self.hosts
            .get_mut(&host)
            .expect("registered host")
            .discharge(&rt);
        self.datastores.get_mut(&ds).expect("vm datastore").used_mib -= rt.swap_mib;
        self.vms.get_mut(&id).expect("exists").runtime = VmRuntime::default();
    }

    /// `Destroy_Task` on a VM: refused while powered on; deletes its disks.
    pub fn destroy_vm(&mut self, id: VmId) -> Result<(), VsphereError> {
        self.vm_task(Operation::DestroyVm, id, |w, ctx| {
            let vm = w.vm(id)?;
            if vm.power_state != PowerState::PoweredOff {
                return Err(w.power_state_error(vm, Operation::DestroyVm, PowerState::PoweredOff));
            }
            w.vm_event(EventKind::VmRemovedEvent, id, ctx.done, ctx.chain);
            let vm = w.vms.remove(&id).expect("checked");
            for d in &vm.disks {
                match &d.attached {
                    Some(path) => w.detach_file(d.datastore, path, id),
                    None => {
                        let ds = w.datastores.get_mut(&d.datastore).expect("disk datastore");
                        ds.used_mib -= d.consumed_mib;
                    }
                }
            }
            w.folders
                .get_mut(&vm.folder)
                .expect("vm folder")
                .vms
                .remove(&*vm.name);
            w.pools.get_mut(&vm.pool).expect("vm pool").vms.remove(&id);
            w.hosts.get_mut(&vm.host).expect("vm host").vms.remove(&id);
            Ok(())
        })
    }

    /// CPU a running VM of this size demands on a host with this core clock.
    pub(crate) fn cpu_demand_mhz(&self, vcpus: u32, mhz_per_core: u32) -> u64 {
        u64::from(vcpus) * u64::from(mhz_per_core) * self.usage.cpu_demand_pct / 100
    }

    fn power_state_error(
        &self,
        vm: &Vm,
        operation: Operation,
        required: PowerState,
    ) -> VsphereError {
        VsphereError::InvalidPowerState {
            vm: vm.name.to_string(),
            existing: vm.power_state.as_str(),
            required: required.as_str(),
            operation,
        }
    }
}

#[cfg(test)]
mod tests;
