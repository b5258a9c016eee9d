//! Host operations: maintenance mode (with DRS evacuation) and connection state.
//!
//! Both change the cluster's usable capacity, so both re-derive the root pool's allocation and
//! refuse when what is already reserved would no longer fit.

use std::collections::BTreeMap;

use super::admission::{HostDemand, pick_host};
use super::error::{Resource, VsphereError};
use super::ids::{HostId, VmId};
use super::model::PowerState;
use super::world::World;
use crate::sim::event::EventKind;
use crate::sim::{Operation, SimTime};

impl World {
    /// Powered-on VMs registered on `host`, by id.
    fn running_on(&self, host: HostId) -> Vec<VmId> {
        self.hosts.get(&host).map_or_else(Vec::new, |h| {
            h.vms
                .iter()
                .copied()
                .filter(|v| {
                    self.vms
                        .get(v)
                        .is_some_and(|v| v.power_state == PowerState::PoweredOn)
                })
                .collect()
        })
    }

    /// Refuses to take `host` out of service if what its cluster's root pool has reserved would
    /// not fit in the remaining hosts.
    fn check_capacity_without(&self, host: HostId) -> Result<(), VsphereError> {
        let h = self.host(host)?;
        let c = self.compute(h.compute)?;
        let (cpu, mem) = self.usable_capacity(c.id, Some(host));
        let root = self.pool(c.root_pool)?;
        for (r, used, cap) in [
            (Resource::Cpu, root.cpu.used, cpu),
            (Resource::Memory, root.memory.used, mem),
        ] {
            if used > cap {
                return Err(VsphereError::InsufficientResources {
                    scope: format!("cluster {}", c.name),
                    resource: r,
                    requested: used,
                    available: cap,
                });
            }
        }
        Ok(())
    }

    /// Sets a host's state flags, re-derives its cluster's capacity and logs `kind`.
    fn set_host_state(
        &mut self,
        host: HostId,
        connected: bool,
        maintenance: bool,
        kind: EventKind,
        at: SimTime,
        chain: u64,
    ) {
        let h = self.hosts.get_mut(&host).expect("checked host");
        h.connected = connected;
        h.maintenance = maintenance;
        let compute = h.compute;
        self.refresh_root_capacity(compute);
        self.host_event(kind, host, None, None, at, chain);
    }

    /// `HostSystem.EnterMaintenanceMode_Task`. In a DRS cluster powered-on VMs migrate to other
    /// hosts where admission allows (all or none); elsewhere they must be powered off first.
    pub fn enter_maintenance_mode(&mut self, host: HostId) -> Result<(), VsphereError> {
        self.host_task(Operation::EnterMaintenanceMode, host, |w, ctx| {
            let h = w.host(host)?;
            if !h.connected {
                return Err(VsphereError::HostNotConnected {
                    host: h.name.to_string(),
                });
            }
            if h.maintenance {
                return Err(VsphereError::InvalidState {
                    object: h.name.to_string(),
                    reason: "host is already in maintenance mode".into(),
                });
            }
            let compute = w.compute(h.compute)?;
            let (compute_id, drs) = (compute.id, compute.is_cluster && compute.drs);
            let running = w.running_on(host);
            if !running.is_empty() && !drs {
                return Err(VsphereError::InvalidState {
                    object: h.name.to_string(),
                    reason: format!(
                        "{} powered-on VMs must be powered off or migrated first",
                        running.len()
                    ),
                });
            }
            w.check_capacity_without(host)?;
            let moves = w.plan_evacuation(host, compute_id, &running)?;
            w.host_event(
                EventKind::EnteringMaintenanceModeEvent,
                host,
                None,
                None,
                ctx.start,
                ctx.chain,
            );
            for (vm, target) in moves {
                w.migrate_running(vm, target, ctx.done, ctx.chain);
            }
            w.set_host_state(
                host,
                true,
                true,
                EventKind::EnteredMaintenanceModeEvent,
                ctx.done,
                ctx.chain,
            );
            Ok(())
        })
    }

    /// Chooses a destination for every running VM, counting earlier choices, before any moves.
    fn plan_evacuation(
        &self,
        host: HostId,
        compute: super::ids::ComputeId,
        running: &[VmId],
    ) -> Result<Vec<(VmId, HostId)>, VsphereError> {
        let mut planned: BTreeMap<HostId, (u64, u64)> = BTreeMap::new();
        let mut moves = Vec::with_capacity(running.len());
        for vm_id in running {
            let vm = &self.vms[vm_id];
            let mut datastores: Vec<_> = vm.disks.iter().map(|d| d.datastore).collect();
            datastores.push(vm.datastore);
            let demand = HostDemand {
                vm_name: &vm.name,
                vcpus: vm.vcpus,
                cpu_mhz: vm.runtime.cpu_reserved_mhz,
                memory_mib: vm.runtime.memory_reserved_mib,
                datastores,
            };
            let target = pick_host(self, compute, &demand, Some(host), &planned)?;
            let p = planned.entry(target).or_default();
            p.0 += vm.runtime.cpu_reserved_mhz;
            p.1 += vm.runtime.memory_reserved_mib;
            moves.push((*vm_id, target));
        }
        Ok(moves)
    }

    /// Moves a powered-on VM's registration, reservations and usage to another host (vMotion).
    fn migrate_running(&mut self, vm: VmId, target: HostId, at: SimTime, chain: u64) {
        let v = &self.vms[&vm];
        let (source, rt) = (v.host, v.runtime);
        let h = self.hosts.get_mut(&source).expect("source host");
        h.vms.remove(&vm);
        h.discharge(&rt);
        let h = self.hosts.get_mut(&target).expect("target host");
        h.vms.insert(vm);
        h.charge(&rt);
        self.vms.get_mut(&vm).expect("vm").host = target;
        let from = self.host_ref(source);
        self.host_event(
            EventKind::DrsVmMigratedEvent,
            target,
            Some(vm),
            from,
            at,
            chain,
        );
    }

    /// `HostSystem.ExitMaintenanceMode_Task`.
    pub fn exit_maintenance_mode(&mut self, host: HostId) -> Result<(), VsphereError> {
        self.host_task(Operation::ExitMaintenanceMode, host, |w, ctx| {
            let h = w.host(host)?;
            if !h.maintenance {
                return Err(VsphereError::InvalidState {
                    object: h.name.to_string(),
                    reason: "host is not in maintenance mode".into(),
                });
            }
            let connected = h.connected;
            w.set_host_state(
                host,
                connected,
                false,
                EventKind::ExitMaintenanceModeEvent,
                ctx.done,
                ctx.chain,
            );
            Ok(())
        })
    }

    /// `HostSystem.DisconnectHost_Task`. Refused while VMs run on the host: the simulator does
    /// not model VMs running outside vCenter's management.
    pub fn disconnect_host(&mut self, host: HostId) -> Result<(), VsphereError> {
        self.host_task(Operation::DisconnectHost, host, |w, ctx| {
            let h = w.host(host)?;
            if !h.connected {
                return Err(VsphereError::HostNotConnected {
                    host: h.name.to_string(),
                });
            }
            let running = w.running_on(host);
            if !running.is_empty() {
                return Err(VsphereError::InvalidState {
                    object: h.name.to_string(),
                    reason: format!("{} powered-on VMs run on the host", running.len()),
                });
            }
            w.check_capacity_without(host)?;
            let maintenance = h.maintenance;
            w.set_host_state(
                host,
                false,
                maintenance,
                EventKind::HostDisconnectedEvent,
                ctx.done,
                ctx.chain,
            );
            Ok(())
        })
    }

    /// `HostSystem.ReconnectHost_Task`; reconnecting a connected host succeeds, as in vSphere.
    pub fn reconnect_host(&mut self, host: HostId) -> Result<(), VsphereError> {
        self.host_task(Operation::ReconnectHost, host, |w, ctx| {
            let maintenance = w.host(host)?.maintenance;
            w.set_host_state(
                host,
                true,
                maintenance,
                EventKind::HostConnectedEvent,
                ctx.done,
                ctx.chain,
            );
            Ok(())
        })
    }
}
