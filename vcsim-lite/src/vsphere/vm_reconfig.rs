//! `ReconfigVM_Task`: shape, reservations, guest names, extraConfig and disks, with the
//! `changeVersion` check. A powered-on VM's new reservations go through admission control
//! again, and its swap file follows its memory reservation.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::admission::{HostDemand, check_host};
use super::error::{Resource, VsphereError};
use super::ids::{DatastoreId, VmId};
use super::model::{Disk, PowerState, VmAllocation};
use super::vm_ops::{DiskSpec, MAX_DISK_MIB, VmConfigChange};
use super::world::World;
use crate::sim::Operation;
use crate::sim::event::EventKind;

/// The VM as it will be after the change, computed before anything is applied.
struct Target {
    name: Arc<str>,
    vcpus: u32,
    memory_mib: u64,
    cpu_alloc: VmAllocation,
    memory_alloc: VmAllocation,
    disks: Vec<Disk>,
    devices: Vec<super::model::VirtualDevice>,
    /// Net change of space per datastore (disks and swap).
    space: BTreeMap<DatastoreId, i128>,
    /// For a powered-on VM: what it will hold.
    running: Option<super::model::VmRuntime>,
}

impl World {
    /// `VirtualMachine.ReconfigVM_Task`.
    pub fn reconfigure_vm(&mut self, id: VmId, change: VmConfigChange) -> Result<(), VsphereError> {
        self.vm_task(Operation::ReconfigVm, id, |w, ctx| {
            let target = w.plan_reconfigure(id, &change)?;
            w.apply_reconfigure(id, change, target);
            w.vm_event(EventKind::VmReconfiguredEvent, id, ctx.done, ctx.chain);
            Ok(())
        })
    }

    fn plan_reconfigure(&self, id: VmId, c: &VmConfigChange) -> Result<Target, VsphereError> {
        let vm = self.vm(id)?;
        if let Some(expected) = c.expected_change_version
            && expected != vm.change_version
        {
            return Err(VsphereError::ConcurrentAccess {
                vm: vm.name.to_string(),
                expected,
                actual: vm.change_version,
            });
        }
        let on = vm.power_state == PowerState::PoweredOn;
        let vcpus = c.vcpus.unwrap_or(vm.vcpus);
        let memory_mib = c.memory_mib.unwrap_or(vm.memory_mib);
        if on && (vcpus != vm.vcpus || memory_mib != vm.memory_mib) {
            return Err(VsphereError::InvalidPowerState {
                vm: vm.name.to_string(),
                existing: vm.power_state.as_str(),
                required: PowerState::PoweredOff.as_str(),
                operation: Operation::ReconfigVm,
            });
        }
        let cpu_alloc = c.cpu_alloc.unwrap_or(vm.cpu_alloc);
        let memory_alloc = c.memory_alloc.unwrap_or(vm.memory_alloc);
        super::vm_ops::validate_shape(vcpus, memory_mib, cpu_alloc, memory_alloc)?;

        let name: Arc<str> = match &c.name {
            Some(n) if **n != *vm.name => {
                super::vm_ops::validate_name(n)?;
                let folder = self.folder(vm.folder)?;
                if folder.vms.contains_key(n.as_str()) || folder.folders.contains_key(n.as_str()) {
                    return Err(VsphereError::DuplicateName {
                        name: n.clone(),
                        container: format!("folder {}", folder.name),
                    });
                }
                n.as_str().into()
            }
            _ => vm.name.clone(),
        };

        let mut space: BTreeMap<DatastoreId, i128> = BTreeMap::new();
        let disks = self.plan_disks(vm.disks.clone(), vm.datastore, c, &mut space)?;
        let devices = plan_devices(&vm.devices, c)?;

        let running = if on {
            let overhead = self.usage.overhead_mib(vcpus, memory_mib);
            let cpu = cpu_alloc.reservation;
            let mem = memory_alloc.reservation + overhead;
            let (old_cpu, old_mem) = (vm.runtime.cpu_reserved_mhz, vm.runtime.memory_reserved_mib);
            let host = self.host(vm.host)?;
            let demand = HostDemand {
                vm_name: &vm.name,
                vcpus: 0,
                cpu_mhz: cpu.saturating_sub(old_cpu),
                memory_mib: mem.saturating_sub(old_mem),
                datastores: Vec::new(),
            };
            check_host(self, host, &demand, (0, 0))?;
            self.check_reserve(vm.pool, Resource::Cpu, cpu.saturating_sub(old_cpu))?;
            self.check_reserve(vm.pool, Resource::Memory, mem.saturating_sub(old_mem))?;
            let swap = memory_mib - memory_alloc.reservation;
            *space.entry(vm.datastore).or_default() +=
                i128::from(swap) - i128::from(vm.runtime.swap_mib);
            let demand = self.cpu_demand_mhz(vcpus, host.mhz_per_core);
            Some(super::model::VmRuntime {
                cpu_reserved_mhz: cpu,
                memory_reserved_mib: mem,
                cpu_usage_mhz: cpu_alloc.limit.map_or(demand, |l| demand.min(l)),
                memory_usage_mib: memory_alloc.limit.map_or(memory_mib, |l| memory_mib.min(l)),
                swap_mib: swap,
            })
        } else {
            None
        };
        for (ds, delta) in &space {
            let d = self.datastore(*ds)?;
            if *delta > i128::from(d.free_mib()) {
                return Err(VsphereError::NoDiskSpace {
                    datastore: d.name.to_string(),
                    requested_mib: u64::try_from(*delta).unwrap_or(u64::MAX),
                    free_mib: d.free_mib(),
                });
            }
        }
        Ok(Target {
            name,
            vcpus,
            memory_mib,
            cpu_alloc,
            memory_alloc,
            disks,
            devices,
            space,
            running,
        })
    }

    /// The VM's disks after removals, growth and additions, with the space each datastore gains
    /// or loses.
    fn plan_disks(
        &self,
        mut disks: Vec<Disk>,
        home: DatastoreId,
        c: &VmConfigChange,
        space: &mut BTreeMap<DatastoreId, i128>,
    ) -> Result<Vec<Disk>, VsphereError> {
        for key in &c.remove_disks {
            let idx = disks.iter().position(|d| d.key == *key).ok_or_else(|| {
                VsphereError::invalid("deviceChange.device.key", format!("no disk {key}"))
            })?;
            let d = disks.remove(idx);
            *space.entry(d.datastore).or_default() -= i128::from(d.consumed_mib);
        }
        for (key, capacity) in &c.grow_disks {
            let d = disks.iter_mut().find(|d| d.key == *key).ok_or_else(|| {
                VsphereError::invalid("deviceChange.device.key", format!("no disk {key}"))
            })?;
            if d.attached.is_some() {
                return Err(VsphereError::invalid(
                    "deviceChange.device.capacityInKB",
                    "an attached disk file is grown on its own, not through a VM",
                ));
            }
            if *capacity < d.capacity_mib || *capacity > MAX_DISK_MIB {
                return Err(VsphereError::invalid(
                    "deviceChange.device.capacityInKB",
                    format!("a disk can only grow, up to {MAX_DISK_MIB} MiB"),
                ));
            }
            if !d.thin {
                *space.entry(d.datastore).or_default() += i128::from(*capacity - d.capacity_mib);
                d.consumed_mib = *capacity;
            }
            d.capacity_mib = *capacity;
        }
        let first_key = disks
            .iter()
            .map(|d| d.key + 1)
            .max()
            .unwrap_or(2000)
            .max(2000);
        for (key, add) in (first_key..).zip(&c.add_disks) {
            let DiskSpec {
                capacity_mib,
                thin,
                datastore,
            } = *add;
            super::vm_ops::validate_disk_size(capacity_mib)?;
            let ds = datastore.unwrap_or(home);
            self.datastore(ds)?;
            let consumed = if thin { 0 } else { capacity_mib };
            *space.entry(ds).or_default() += i128::from(consumed);
            disks.push(Disk {
                key,
                capacity_mib,
                thin,
                consumed_mib: consumed,
                datastore: ds,
                attached: None,
            });
        }
        let first_key = disks
            .iter()
            .map(|d| d.key + 1)
            .max()
            .unwrap_or(2000)
            .max(2000);
        for (key, (ds, path)) in (first_key..).zip(&c.attach_disks) {
            let file = self
                .disk_file(*ds, path)
                .ok_or_else(|| VsphereError::FileNotFound {
                    path: super::file_ops::datastore_path(
                        &self
                            .datastore(*ds)
                            .map(|d| d.name.to_string())
                            .unwrap_or_default(),
                        path,
                    ),
                })?;
            if disks
                .iter()
                .any(|d| d.datastore == *ds && d.attached.as_deref() == Some(path.as_str()))
            {
                return Err(VsphereError::invalid(
                    "deviceChange.device.backing.fileName",
                    format!("{path} is attached twice"),
                ));
            }
            disks.push(Disk {
                key,
                capacity_mib: file.capacity_mib,
                thin: true,
                consumed_mib: 0,
                datastore: *ds,
                attached: Some(path.as_str().into()),
            });
        }
        Ok(disks)
    }

    fn apply_reconfigure(&mut self, id: VmId, c: VmConfigChange, t: Target) {
        for (ds, delta) in &t.space {
            let d = self.datastores.get_mut(ds).expect("checked datastore");
            d.used_mib = u64::try_from(i128::from(d.used_mib) + delta).expect("checked space");
        }
        if let Some(new) = t.running {
            let vm = &self.vms[&id];
            let (pool, host, old) = (vm.pool, vm.host, vm.runtime);
            for (r, new, old) in [
                (Resource::Cpu, new.cpu_reserved_mhz, old.cpu_reserved_mhz),
                (
                    Resource::Memory,
                    new.memory_reserved_mib,
                    old.memory_reserved_mib,
                ),
            ] {
                if new > old {
                    self.reserve(pool, r, new - old);
                } else {
                    self.release(pool, r, old - new);
                }
            }
            self.change_usage(pool, old.cpu_usage_mhz, old.memory_usage_mib, false);
            self.change_usage(pool, new.cpu_usage_mhz, new.memory_usage_mib, true);
            let h = self.hosts.get_mut(&host).expect("registered host");
            h.discharge(&old);
            h.charge(&new);
            self.vms.get_mut(&id).expect("exists").runtime = new;
        }
        let vm = self.vms.get_mut(&id).expect("exists");
        if t.name != vm.name {
            let (old, folder) = (vm.name.clone(), vm.folder);
            vm.name = t.name.clone();
            let f = self.folders.get_mut(&folder).expect("vm folder");
            f.vms.remove(&*old);
            f.vms.insert(t.name, id);
        }
        let old_disks = std::mem::take(&mut self.vms.get_mut(&id).expect("exists").disks);
        for d in old_disks.iter().filter(|d| d.attached.is_some()) {
            self.detach_file(d.datastore, d.attached.as_deref().unwrap_or_default(), id);
        }
        for d in t.disks.iter().filter(|d| d.attached.is_some()) {
            self.attach_file(d.datastore, d.attached.as_deref().unwrap_or_default(), id);
        }
        let vm = self.vms.get_mut(&id).expect("exists");
        vm.devices = t.devices;
        vm.vcpus = t.vcpus;
        vm.memory_mib = t.memory_mib;
        vm.cpu_alloc = t.cpu_alloc;
        vm.memory_alloc = t.memory_alloc;
        vm.disks = t.disks;
        if let Some(g) = c.guest_id {
            vm.guest_id = g;
        }
        if let Some(a) = c.alternate_guest_name {
            vm.alternate_guest_name = a;
        }
        for (k, v) in c.extra_config {
            if v.is_empty() {
                vm.extra_config.remove(k.as_str());
            } else {
                vm.extra_config.insert(k.into(), v.into());
            }
        }
        vm.change_version += 1;
    }
}

/// The VM's devices after removals and additions; new devices get the next free keys.
fn plan_devices(
    current: &[super::model::VirtualDevice],
    c: &VmConfigChange,
) -> Result<Vec<super::model::VirtualDevice>, VsphereError> {
    let mut devices = current.to_vec();
    for key in &c.remove_devices {
        let idx = devices.iter().position(|d| d.key == *key).ok_or_else(|| {
            VsphereError::invalid("deviceChange.device.key", format!("no device {key}"))
        })?;
        devices.remove(idx);
    }
    let first = devices
        .iter()
        .map(|d| d.key + 1)
        .max()
        .unwrap_or(super::vm_ops::FIRST_DEVICE_KEY)
        .max(super::vm_ops::FIRST_DEVICE_KEY);
    for (key, d) in (first..).zip(&c.add_devices) {
        devices.push(super::model::VirtualDevice {
            key,
            kind: d.kind,
            label: d.label.clone(),
            backing: d.backing.clone(),
        });
    }
    Ok(devices)
}
