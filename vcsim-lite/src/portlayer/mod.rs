//! The VIC Port Layer over the vSphere world: containers as VMs with handles and commit, image
//! stores, volumes, scopes (networks), sessions, key-value store, events and VCH info.
//!
//! Architecture invariant: the port layer reaches vSphere only through `World`'s public
//! operations, as the real port layer uses only vSphere API calls. Calls take `&mut World`
//! so one world can hold several VCHs.
//!
//! - [`vch`]: creating a VCH and its info.
//! - [`container`], [`handles`]: containers, their configuration and the handle cache.
//! - [`containers`], [`commit`], [`tasks`]: the container calls.
//! - [`images`], [`volumes`], [`scopes`]: storage and networks.
//! - [`error`]: errors and their status codes.

pub mod commit;
pub mod container;
pub mod containers;
pub mod error;
pub mod handles;
pub mod images;
pub mod scopes;
pub mod storage;
pub mod tasks;
pub mod vch;
pub mod volumes;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use container::{Container, ContainerSpec, ContainerState, Session};
pub use error::{PortLayerError, Result};
pub use handles::{Handle, HandleCache, TargetState};
pub use vch::{Vch, VchConfig, VchInfo};

use crate::sim::SimTime;
use crate::sim::event::EventKind;
use crate::vsphere::{VmId, World};

/// A container event, as `GET /events` streams them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerEvent {
    /// Increasing id (the operation id).
    pub id: u64,
    /// `Created`, `Started`, `Stopped`, `Removed` or `Failed`.
    pub event: &'static str,
    /// The container id.
    pub container: String,
    /// Simulated time.
    pub created: SimTime,
}

/// The port layer of one VCH.
#[derive(Clone, Debug)]
pub struct PortLayer {
    pub(crate) vch: Vch,
    pub(crate) containers: BTreeMap<String, Container>,
    pub(crate) by_vm: BTreeMap<VmId, String>,
    /// Committed containers by name (unnamed ones are not in it), kept by `add_refs` and
    /// `drop_refs` so name checks need no scan.
    pub(crate) by_name: BTreeMap<String, String>,
    /// What committed containers count against the storage quota (memory + scratch each),
    /// kept like `by_name`.
    pub(crate) container_storage_mib: u64,
    pub(crate) handles: HandleCache,
    pub(crate) images: images::ImageStores,
    pub(crate) volumes: volumes::Volumes,
    pub(crate) scopes: scopes::Scopes,
    pub(crate) kv: BTreeMap<String, String>,
    pub(crate) events: Vec<ContainerEvent>,
    /// World events up to here have been seen.
    world_cursor: usize,
    next_seq: u64,
}

impl PortLayer {
    /// Creates the VCH in `w` and a port layer serving it.
    pub fn create(w: &mut World, config: VchConfig) -> Result<PortLayer> {
        let scopes = scopes::Scopes::with_bridge_width(config.bridge_network_width)?;
        let vch = vch::create_vch(w, config)?;
        let mut pl = PortLayer {
            images: images::ImageStores::new(vch.datastore),
            volumes: volumes::Volumes::new(vch.volume_stores.clone()),
            vch,
            containers: BTreeMap::new(),
            by_vm: BTreeMap::new(),
            by_name: BTreeMap::new(),
            container_storage_mib: 0,
            handles: HandleCache::default(),
            scopes,
            kv: BTreeMap::new(),
            events: Vec::new(),
            world_cursor: 0,
            next_seq: 1,
        };
        pl.world_cursor = w.events().len();
        Ok(pl)
    }

    /// The VCH served.
    pub fn vch(&self) -> &Vch {
        &self.vch
    }

    /// Changes the VCH's container-count limit (`vic-machine configure --containers`); `None`
    /// is unlimited. Containers beyond a lowered limit keep running; only creates are refused.
    pub fn set_container_limit(&mut self, limit: Option<u32>) {
        self.vch.config.container_limit = limit;
    }

    /// `GET /vch/info`.
    pub fn vch_info(&self, w: &World) -> Result<VchInfo> {
        vch::vch_info(w, &self.vch)
    }

    /// Containers by id (committed ones: their VM exists).
    pub fn containers(&self) -> &BTreeMap<String, Container> {
        &self.containers
    }

    /// The handle cache.
    pub fn handles(&self) -> &HandleCache {
        &self.handles
    }

    /// Image stores.
    pub fn images(&self) -> &images::ImageStores {
        &self.images
    }

    /// Volumes.
    pub fn volumes(&self) -> &volumes::Volumes {
        &self.volumes
    }

    /// Scopes.
    pub fn scopes(&self) -> &scopes::Scopes {
        &self.scopes
    }

    /// Container events, oldest first.
    pub fn events(&self) -> &[ContainerEvent] {
        &self.events
    }

    /// The key-value store.
    pub fn kv(&self) -> &BTreeMap<String, String> {
        &self.kv
    }

    pub(crate) fn publish(&mut self, w: &World, event: &'static str, container: &str) {
        let id = self.events.len() as u64 + 1;
        self.events.push(ContainerEvent {
            id,
            event,
            container: container.to_string(),
            created: w.now(),
        });
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Catches up with vSphere events about container VMs that the port layer did not cause
    /// (a VM powered off or destroyed behind its back), as VIC's event collector does.
    pub(crate) fn sync(&mut self, w: &World) {
        let events = w.events().events();
        let start = self.world_cursor.min(events.len());
        let mut changes = Vec::new();
        for e in &events[start..] {
            let Some(vm) = e.vm.as_ref() else { continue };
            let Some(id) = crate::vsphere::VmId::parse(&vm.moref.to_string()) else {
                continue;
            };
            let Some(container) = self.by_vm.get(&id) else {
                continue;
            };
            if e.kind.is_a(EventKind::VmPoweredOffEvent) {
                changes.push(("Stopped", container.clone()));
            } else if e.kind.is_a(EventKind::VmPoweredOnEvent) {
                changes.push(("Started", container.clone()));
            } else if e.kind == EventKind::VmRemovedEvent {
                changes.push(("Removed", container.clone()));
            }
        }
        self.world_cursor = events.len();
        for (event, container) in changes {
            match event {
                "Removed" => self.forget(&container),
                "Stopped" => {
                    let _ = self.scopes.unbind(&container);
                    if let Some(c) = self.containers.get_mut(&container) {
                        for s in Arc::make_mut(&mut c.spec)
                            .sessions
                            .iter_mut()
                            .map(|(_, s)| s)
                            .filter(|s| s.started == "true")
                        {
                            s.stop_time = Some(w.now());
                            s.exit_code = 143;
                        }
                    }
                }
                _ => {}
            }
            self.publish(w, event, &container);
        }
    }

    /// Marks every world event so far as seen: called after the port layer's own vSphere calls,
    /// whose effects it publishes itself.
    pub(crate) fn seen(&mut self, w: &World) {
        self.world_cursor = w.events().len();
    }

    /// Drops a container whose VM is gone, releasing what it held.
    pub(crate) fn forget(&mut self, id: &str) {
        let Some(c) = self.containers.remove(id) else {
            return;
        };
        self.by_vm.remove(&c.vm);
        self.handles.remove_container(id);
        self.scopes.remove_all(id);
        self.drop_refs(&c);
    }

    /// Recomputes the indexes kept beside `containers` (names, quota storage) from scratch
    /// and reports the first disagreement; property tests call it after every step.
    pub fn check_indexes(&self) -> std::result::Result<(), String> {
        let names: BTreeMap<String, String> = self
            .containers
            .values()
            .filter(|c| !c.spec.name.is_empty())
            .map(|c| (c.spec.name.clone(), c.id.clone()))
            .collect();
        if names != self.by_name {
            return Err(format!("name index {:?} != {:?}", self.by_name, names));
        }
        let storage: u64 = self.containers.values().map(|c| c.spec.storage_mib()).sum();
        if storage != self.container_storage_mib {
            return Err(format!(
                "container storage {} MiB kept, {storage} MiB computed",
                self.container_storage_mib
            ));
        }
        Ok(())
    }

    // ----- key-value store -----------------------------------------------------------------

    /// `GET /kv/{key}`.
    pub fn kv_get(&self, key: &str) -> Result<String> {
        self.kv
            .get(key)
            .cloned()
            .ok_or_else(|| PortLayerError::not_found("key", key))
    }

    /// `PUT /kv/{key}`.
    pub fn kv_put(&mut self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() || key.len() > 1024 {
            return Err(PortLayerError::BadRequest(
                "a key is 1 to 1024 bytes".into(),
            ));
        }
        self.kv.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// `DELETE /kv/{key}`.
    pub fn kv_delete(&mut self, key: &str) -> Result<()> {
        self.kv
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| PortLayerError::not_found("key", key))
    }
}
