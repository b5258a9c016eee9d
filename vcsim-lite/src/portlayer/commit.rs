//! Commit: applies a handle to vSphere in VIC's order: create the VM if there is none, stop it
//! if asked, reconfigure it with the handle's `changeVersion` (a stale handle is
//! `ConcurrentAccess`, 409), start it if asked and wait for the guest's `Started` report.
//!
//! Everything a commit can know in advance (unknown handle, stale handle, limits, volumes in
//! use, power-on admission) is checked before the first vSphere call, so those refusals change
//! nothing. A vSphere fault in a later step leaves the earlier steps done, as in VIC.

use std::sync::Arc;

use super::PortLayer;
use super::container::{Container, ContainerSpec, vm_name};
use super::error::{PortLayerError, Result};
use super::handles::{Handle, TargetState};
use crate::sim::SimDuration;
use crate::vsphere::guest::{GuestOs, container_guest_name};
use crate::vsphere::vm_ops::DeviceSpec;
use crate::vsphere::{DeviceKind, DiskSpec, PowerState, VmConfigChange, VmId, VmSpec, World};

/// Size of a container's read-write layer (VIC's default base image size, 8 GB).
pub const SCRATCH_MIB: u64 = 8 * 1024;

const PREFIX: &str = "guestinfo.vice.";

/// How long a stop waits for the guest when the caller names no time (VIC's default).
pub const DEFAULT_STOP_WAIT_SECS: u64 = 10;

/// Container annotation: how the simulated guest reacts to its stop signal. A number of
/// seconds (it traps the signal, cleans up for that long and exits 0; `0` or absent: it dies of
/// the signal, exit 143), or `never` (it ignores the signal and is killed, exit 137).
pub const STOP_DELAY_ANNOTATION: &str = "vcsim-lite.io/stop-delay-seconds";

/// A parsed [`STOP_DELAY_ANNOTATION`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopDelay {
    /// Exits this many seconds after the stop signal.
    Secs(u64),
    /// Ignores the stop signal.
    Never,
}

/// Parses a [`STOP_DELAY_ANNOTATION`] value.
pub fn stop_delay(v: &str) -> Result<StopDelay> {
    match v.trim() {
        "never" => Ok(StopDelay::Never),
        s => s.parse().map(StopDelay::Secs).map_err(|_| {
            PortLayerError::BadRequest(format!(
                "annotation {STOP_DELAY_ANNOTATION} `{v}` is not a number of seconds or `never`"
            ))
        }),
    }
}

impl PortLayer {
    /// `PUT /containers/{handle}`.
    ///
    /// `wait_time` is how long a stop waits for the guest to exit after its stop signal
    /// before killing it (VIC's default of 10 s when absent or negative; 0 kills at once).
    pub fn commit(&mut self, w: &mut World, key: &str, wait_time: Option<i64>) -> Result<()> {
        self.sync(w);
        let h = self
            .handles
            .get(key)
            .ok_or_else(|| PortLayerError::not_found("handle", key))?;
        let res = if self.containers.contains_key(&h.container) {
            self.commit_existing(w, &h, wait_time)
        } else if h.change_version.is_some() {
            Err(PortLayerError::not_found("container", h.container.clone()))
        } else {
            self.commit_new(w, &h)
        };
        self.seen(w);
        if res.is_ok() {
            self.handles.remove(key);
        }
        res
    }

    /// What counts against the storage quota: images, and each container's memory (its swap)
    /// plus its scratch layer, as VIC's persona counts them.
    pub(crate) fn storage_used_mib(&self) -> u64 {
        self.images.total_bytes().div_ceil(1024 * 1024) + self.container_storage_mib
    }

    fn check_quota(&self, extra_mib: u64) -> Result<()> {
        if let Some(gb) = self.vch.config.storage_quota_gb {
            let quota = gb * 1024;
            let used = self.storage_used_mib();
            if used + extra_mib > quota {
                return Err(PortLayerError::LimitExceeded(format!(
                    "storage quota of {gb} GB exceeded: {used} MB in use, {extra_mib} MB more needed"
                )));
            }
        }
        Ok(())
    }

    /// Volumes the spec joins that another running container holds.
    fn check_volumes(&self, w: &World, id: &str, spec: &ContainerSpec) -> Result<()> {
        for name in spec.volumes.keys() {
            let v = self.volumes.get(name)?;
            for other in v.joined_by.iter().filter(|o| *o != id) {
                let running = self.containers.get(other).is_some_and(|c| {
                    w.vm(c.vm)
                        .is_ok_and(|v| v.power_state == PowerState::PoweredOn)
                });
                if running {
                    return Err(PortLayerError::DevicesInUse(format!(
                        "volume {name} is in use by running container {other}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn commit_new(&mut self, w: &mut World, h: &Handle) -> Result<()> {
        let id = h.container.clone();
        if !h.spec.name.is_empty() && self.by_name.contains_key(&h.spec.name) {
            return Err(PortLayerError::Conflict(format!(
                "container name `{}` is in use",
                h.spec.name
            )));
        }
        self.check_container_limit()?;
        self.check_quota(h.spec.storage_mib())?;
        for img in h.spec.images() {
            self.images.require(&img.store, &img.layer)?;
        }
        self.check_volumes(w, &id, &h.spec)?;
        let mut attach = Vec::new();
        for name in h.spec.volumes.keys() {
            attach.push(self.volume_disk(name)?);
        }
        let added = self.register_networks(&id, &h.spec)?;
        let created = self.vm_spec(w, &id, &h.spec).and_then(|mut spec| {
            // Volumes are attached by the create task itself, so a failure leaves no VM.
            spec.attach_disks = attach;
            Ok(w.create_vm(spec)?)
        });
        let vm = match created {
            Ok(vm) => vm,
            Err(e) => {
                self.unregister_networks(&id, &added);
                return Err(e);
            }
        };
        let seq = self.next_seq();
        let container = Container {
            id: id.clone(),
            vm,
            spec: h.spec.clone(),
            create_time: w.now(),
            seq,
        };
        self.add_refs(&container);
        self.containers.insert(id.clone(), container);
        self.by_vm.insert(vm, id.clone());
        self.publish(w, "Created", &id);
        match h.target {
            Some(TargetState::Running) => self.start(w, &id),
            _ => Ok(()),
        }
    }

    fn commit_existing(&mut self, w: &mut World, h: &Handle, wait_time: Option<i64>) -> Result<()> {
        let id = h.container.clone();
        let old_spec = self.containers[&id].spec.clone();
        let vm = self.containers[&id].vm;
        let v = w.vm(vm)?;
        let on = v.power_state == PowerState::PoweredOn;
        if h.dirty && h.change_version != Some(v.change_version) {
            return Err(PortLayerError::ConcurrentAccess(format!(
                "container {id} changed since this handle was taken (changeVersion {} vs {:?})",
                v.change_version, h.change_version
            )));
        }
        self.check_volumes(w, &id, &h.spec)?;
        if let Some(more) = h.spec.storage_mib().checked_sub(old_spec.storage_mib())
            && more > 0
        {
            self.check_quota(more)?;
        }
        for img in h.spec.images() {
            self.images.require(&img.store, &img.layer)?;
        }
        if h.target == Some(TargetState::Running) && !on {
            w.check_power_on(vm)?;
        }
        if h.target == Some(TargetState::Stopped) && on {
            let exit_code = self.graceful_shutdown(w, &id, wait_time);
            self.stop(w, &id, exit_code)?;
        }
        if h.dirty {
            let added = self.register_networks(&id, &h.spec)?;
            let reconfigured = self
                .reconfiguration(w, vm, &old_spec, &h.spec)
                .and_then(|change| Ok(w.reconfigure_vm(vm, change)?));
            if let Err(e) = reconfigured {
                self.unregister_networks(&id, &added);
                return Err(e);
            }
            let dropped: Vec<String> = self
                .scopes
                .scopes_of(&id)
                .into_iter()
                .filter(|s| !h.spec.networks.contains_key(s))
                .collect();
            self.unregister_networks(&id, &dropped);
            let old = self.containers.get(&id).cloned();
            if let Some(old) = old {
                self.drop_refs(&old);
            }
            let c = self.containers.get_mut(&id).expect("checked");
            // Keep the session outcomes the guest reported; take everything else from the handle.
            let mut spec = h.spec.clone();
            let reported = &c.spec.sessions;
            if spec
                .sessions
                .iter()
                .any(|(sid, s)| reported.get(sid).is_some_and(|r| !same_outcome(r, s)))
            {
                for (sid, s) in Arc::make_mut(&mut spec).sessions.iter_mut() {
                    if let Some(r) = reported.get(sid) {
                        s.started = r.started.clone();
                        s.exit_code = r.exit_code;
                        s.start_time = r.start_time;
                        s.stop_time = r.stop_time;
                    }
                }
            }
            c.spec = spec;
            let c = c.clone();
            self.add_refs(&c);
        }
        let on = w.vm(vm)?.power_state == PowerState::PoweredOn;
        match (h.target, on) {
            (Some(TargetState::Running), false) => self.start(w, &id),
            (_, true) => {
                self.start_sessions(w, &id)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Registers the spec's networks the scopes do not know for `id` yet; returns those added
    /// so that a failed commit can take them back.
    fn register_networks(&mut self, id: &str, spec: &ContainerSpec) -> Result<Vec<String>> {
        let known = self.scopes.scopes_of(id);
        let name = if spec.name.is_empty() {
            id.to_string()
        } else {
            spec.name.clone()
        };
        let mut added = Vec::new();
        for (scope, cfg) in spec.networks.iter().filter(|(s, _)| !known.contains(s)) {
            if let Err(e) = self.scopes.add(id, &name, scope, cfg.clone()) {
                self.unregister_networks(id, &added);
                return Err(e);
            }
            added.push(scope.clone());
        }
        Ok(added)
    }

    fn unregister_networks(&mut self, id: &str, scopes: &[String]) {
        for scope in scopes {
            let _ = self.scopes.remove_container(id, scope);
        }
    }

    /// Records what a committed spec holds: volume and image references, its name, its
    /// storage. `drop_refs` undoes exactly this.
    pub(crate) fn add_refs(&mut self, c: &Container) {
        if !c.spec.name.is_empty() {
            self.by_name.insert(c.spec.name.clone(), c.id.clone());
        }
        self.container_storage_mib += c.spec.storage_mib();
        for name in c.spec.volumes.keys() {
            let _ = self.volumes.join(name, &c.id);
        }
        for img in c.spec.images() {
            let _ = self.images.add_ref(&img.store, &img.layer, &c.id);
        }
    }

    pub(crate) fn drop_refs(&mut self, c: &Container) {
        if self.by_name.get(&c.spec.name) == Some(&c.id) {
            self.by_name.remove(&c.spec.name);
        }
        self.container_storage_mib -= c.spec.storage_mib();
        for name in c.spec.volumes.keys() {
            self.volumes.leave(name, &c.id);
        }
        for img in c.spec.images() {
            self.images.remove_ref(&img.store, &img.layer, &c.id);
        }
    }

    fn volume_disk(&self, name: &str) -> Result<(crate::vsphere::DatastoreId, String)> {
        let info = self.volumes.get(name)?;
        let ds = *self
            .vch
            .volume_stores
            .get(&info.store)
            .ok_or_else(|| PortLayerError::not_found("volume store", info.store.clone()))?;
        Ok((ds, format!("volumes/{name}/{name}.vmdk")))
    }

    /// Powers the VM on and reports the active sessions started, as the tether does.
    fn start(&mut self, w: &mut World, id: &str) -> Result<()> {
        let vm = self.containers[id].vm;
        if let Err(e) = w.power_on_vm(vm) {
            self.publish(w, "Failed", id);
            return Err(e.into());
        }
        self.start_sessions(w, id)?;
        self.publish(w, "Started", id);
        Ok(())
    }

    fn start_sessions(&mut self, w: &mut World, id: &str) -> Result<()> {
        let vm = self.containers[id].vm;
        let now = w.now();
        let pending: Vec<String> = self.containers[id]
            .spec
            .sessions
            .values()
            .filter(|s| {
                s.active
                    && (s.started.is_empty()
                        || s.stop_time.is_some_and(|t| Some(t) >= s.start_time))
            })
            .map(|s| s.id.clone())
            .collect();
        for sid in pending {
            w.guest_set_info(vm, &format!("{PREFIX}/sessions/{sid}/started"), "true")?;
            let s = self
                .containers
                .get_mut(id)
                .and_then(|c| Arc::make_mut(&mut c.spec).sessions.get_mut(&sid))
                .expect("listed");
            s.started = "true".into();
            s.start_time = Some(now);
            s.stop_time = None;
            s.exit_code = 0;
        }
        Ok(())
    }

    /// VIC's stop before the power-off: the stop signal, then up to `wait_time` for the guest
    /// to exit, then KILL. The simulated guest takes the container's
    /// [`STOP_DELAY_ANNOTATION`] seconds (0 when absent: it dies of the signal at once); the
    /// clock advances by what the stop took. Returns the sessions' exit code.
    fn graceful_shutdown(&self, w: &mut World, id: &str, wait_time: Option<i64>) -> i32 {
        let wait = match wait_time {
            Some(n) if n >= 0 => n.unsigned_abs(),
            _ => DEFAULT_STOP_WAIT_SECS,
        };
        let delay = self.containers[id]
            .spec
            .annotations
            .get(STOP_DELAY_ANNOTATION)
            .and_then(|v| stop_delay(v).ok())
            .unwrap_or(StopDelay::Secs(0));
        let (took, exit_code) = match delay {
            StopDelay::Secs(0) => (0, 128 + 15),
            StopDelay::Secs(d) if d <= wait => (d, 0),
            _ => (wait, 128 + 9),
        };
        w.advance_to(w.now().plus(SimDuration::from_secs(took)));
        exit_code
    }

    /// Powers the VM off; running sessions exit with `exit_code`.
    pub(crate) fn stop(&mut self, w: &mut World, id: &str, exit_code: i32) -> Result<()> {
        let vm = self.containers[id].vm;
        w.power_off_vm(vm)?;
        // A container that is off holds no address, as VIC unbinds on every power-off.
        let _ = self.scopes.unbind(id);
        let now = w.now();
        if let Some(c) = self.containers.get_mut(id) {
            for s in Arc::make_mut(&mut c.spec)
                .sessions
                .iter_mut()
                .map(|(_, s)| s)
                .filter(|s| s.started == "true")
            {
                s.stop_time = Some(now);
                s.exit_code = exit_code;
            }
        }
        self.publish(w, "Stopped", id);
        Ok(())
    }

    /// The container VM as VIC builds it (reference: name, paths, UUID v5, guest, devices).
    fn vm_spec(&self, w: &World, id: &str, spec: &ContainerSpec) -> Result<VmSpec> {
        let ds = w.datastore(self.vch.datastore)?;
        let mut s = VmSpec::new(vm_name(&spec.name, id), self.vch.pool, self.vch.datastore);
        s.folder = Some(self.vch.folder);
        s.vcpus = spec.num_cpus;
        s.memory_mib = spec.memory_mb;
        s.guest_id = "otherGuest64".into();
        s.alternate_guest_name = container_guest_name(GuestOs::Photon, &self.vch.config.build);
        s.uuid = Some(container_uuid(&self.vch.uuid, id));
        s.vm_path_name = Some(format!("[{}] {id}/{id}.vmx", ds.name));
        s.devices = devices(spec, true, false, false);
        for _ in spec.images() {
            s.disks.push(DiskSpec {
                capacity_mib: SCRATCH_MIB,
                thin: true,
                datastore: None,
            });
        }
        s.extra_config = self.extra_config(w, id, spec);
        Ok(s)
    }

    fn reconfiguration(
        &self,
        w: &World,
        vm: VmId,
        old: &ContainerSpec,
        new: &ContainerSpec,
    ) -> Result<VmConfigChange> {
        let v = w.vm(vm)?;
        let mut change = VmConfigChange {
            expected_change_version: Some(v.change_version),
            ..Default::default()
        };
        let id = self.by_vm.get(&vm).cloned().unwrap_or_default();
        if new.name != old.name {
            change.name = Some(vm_name(&new.name, &id));
        }
        let mut wanted = self.extra_config(w, &id, new);
        wanted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let is_wanted = |k: &str| wanted.binary_search_by(|(w, _)| w.as_str().cmp(k)).is_ok();
        // Guest-reported keys stay; the rest of VIC's keys follow the spec.
        let dropped: Vec<(String, String)> = v
            .extra_config
            .keys()
            .filter(|k| k.starts_with(PREFIX) && !k.ends_with("/started") && !is_wanted(k))
            .map(|k| (k.to_string(), String::new()))
            .collect();
        for (k, val) in wanted {
            if v.extra_config.get(k.as_str()).map(|v| &**v) != Some(val.as_str()) {
                change.extra_config.push((k, val));
            }
        }
        change.extra_config.extend(dropped);
        change.add_devices = devices(new, false, old.interaction, old.logging);
        for name in new.volumes.keys().filter(|n| !old.volumes.contains_key(*n)) {
            change.attach_disks.push(self.volume_disk(name)?);
        }
        for name in old.volumes.keys().filter(|n| !new.volumes.contains_key(*n)) {
            let path = format!("volumes/{name}/{name}.vmdk");
            if let Some(d) = v
                .disks
                .iter()
                .find(|d| d.attached.as_deref() == Some(path.as_str()))
            {
                change.remove_disks.push(d.key);
            }
        }
        let added = usize::from(new.image.is_some() && old.image.is_none())
            + new
                .extra_images
                .keys()
                .filter(|d| !old.extra_images.contains_key(*d))
                .count();
        for _ in 0..added {
            change.add_disks.push(DiskSpec {
                capacity_mib: SCRATCH_MIB,
                thin: true,
                datastore: None,
            });
        }
        Ok(change)
    }

    /// The `guestinfo.vice.*` keys VIC writes (its `ExecutorConfig`), plus its fixed keys.
    /// Built by concatenation: every commit computes them, and `format!` made them the
    /// largest cost of a pod lifecycle.
    fn extra_config(&self, w: &World, id: &str, spec: &ContainerSpec) -> Vec<(String, String)> {
        let key = |parts: &[&str]| -> String {
            let mut k =
                String::with_capacity(PREFIX.len() + parts.iter().map(|p| p.len()).sum::<usize>());
            k.push_str(PREFIX);
            parts.iter().for_each(|p| k.push_str(p));
            k
        };
        let flag = |b: bool| if b { "true" } else { "false" }.to_string();
        let mut kv = vec![
            ("disk.EnableUUID".to_string(), "true".to_string()),
            ("memory.maxGrow".into(), "512".into()),
            ("tools.upgrade.policy".into(), "manual".into()),
            (key(&["/common/id"]), id.to_string()),
            (key(&["/common/name"]), spec.name.clone()),
            (key(&["/version"]), self.vch.config.build.version.clone()),
            (key(&["/createtime"]), (w.now().0 / 1_000_000).to_string()),
        ];
        if !spec.hostname.is_empty() {
            kv.push((key(&["/hostname"]), spec.hostname.clone()));
        }
        if let Some(img) = &spec.image {
            kv.push((key(&["/layerid"]), img.layer.clone()));
            kv.push((key(&["/imageid"]), img.image_id.clone()));
            kv.push((key(&["/repo"]), img.repo.clone()));
        }
        for (delta, img) in spec.extra_images.iter() {
            kv.push((key(&["/layers|", delta, "/layerid"]), img.layer.clone()));
            kv.push((key(&["/layers|", delta, "/repo"]), img.repo.clone()));
        }
        for s in spec.sessions.values() {
            let p = |leaf: &str| key(&["/sessions/", &s.id, leaf]);
            kv.push((p("/cmd/Path"), s.path.clone()));
            kv.push((p("/cmd/Args"), s.args.join(" ")));
            kv.push((p("/tty"), flag(s.tty)));
            kv.push((p("/attach"), flag(s.attach)));
            kv.push((p("/active"), flag(s.active)));
        }
        self.scopes.for_each_address(id, |scope, address| {
            kv.push((key(&["/networks|", scope, "/assigned/IP"]), address));
        });
        for (name, m) in spec.volumes.iter() {
            kv.push((key(&["/mounts|", name, "/path"]), m.mount_path.clone()));
        }
        kv
    }
}

/// Devices a container VM gets: controllers and the bootstrap CD-ROM at creation, serial ports
/// when interaction and logging are joined. `had_*` leave out ports the VM already has.
fn devices(
    spec: &ContainerSpec,
    creating: bool,
    had_interaction: bool,
    had_logging: bool,
) -> Vec<DeviceSpec> {
    let dev = |kind, label: &str, backing: &str| DeviceSpec {
        kind,
        label: label.into(),
        backing: backing.into(),
    };
    let mut d = Vec::new();
    if creating {
        d.push(dev(DeviceKind::PvscsiController, "SCSI controller 0", ""));
        d.push(dev(DeviceKind::IdeController, "IDE 0", ""));
        d.push(dev(DeviceKind::Cdrom, "CD/DVD drive 1", "bootstrap.iso"));
    }
    if spec.interaction && !had_interaction {
        d.push(dev(
            DeviceKind::SerialPort,
            "Serial port 1",
            "telnet://0.0.0.0:2377 via tcp://127.0.0.1:2379",
        ));
    }
    if spec.logging && !had_logging {
        d.push(dev(DeviceKind::SerialPort, "Serial port 2", "tether.debug"));
        d.push(dev(DeviceKind::SerialPort, "Serial port 3", "output.log"));
    }
    d
}

/// UUID v5 of the container id in the VCH UUID's namespace, as VIC sets the container VM's
/// BIOS UUID.
pub fn container_uuid(vch_uuid: &str, id: &str) -> String {
    let ns = uuid::Uuid::parse_str(vch_uuid).unwrap_or(uuid::Uuid::NAMESPACE_OID);
    uuid::Uuid::new_v5(&ns, id.as_bytes()).to_string()
}

/// Whether two copies of a session agree on what the guest reported.
fn same_outcome(a: &super::container::Session, b: &super::container::Session) -> bool {
    a.started == b.started
        && a.exit_code == b.exit_code
        && a.start_time == b.start_time
        && a.stop_time == b.stop_time
}
