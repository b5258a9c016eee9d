//! Container calls: create, handles and the joins that edit them, state change, info, list,
//! remove and signal. Commit is in `commit.rs`, sessions in `tasks.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::container::{ContainerSpec, ContainerState, ImageRef, Session, VolumeMount};
use super::error::{PortLayerError, Result};
use super::handles::{Handle, TargetState};
use super::scopes::{EndpointInfo, NetworkConfig};
use super::{Container, PortLayer};
use crate::sim::SimTime;
use crate::vsphere::vm_ops::{MAX_VCPUS, MAX_VM_MEMORY_MIB};
use crate::vsphere::{VmId, World};

/// `ContainerCreateConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateConfig {
    /// Container name; letters, digits, `_`, `.` and `-`, starting with a letter or digit.
    pub name: String,
    /// vCPUs (default 2).
    pub num_cpus: Option<u32>,
    /// Memory in MB (default 2048).
    pub memory_mb: Option<u64>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Hostname.
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// No network.
    pub network_disabled: bool,
}

/// What `GET /containers/info/{id}` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The container.
    pub id: String,
    /// Its name.
    pub name: String,
    /// State, from power state and sessions.
    pub state: ContainerState,
    /// Its VM.
    pub vm: VmId,
    /// The configuration.
    pub spec: Arc<ContainerSpec>,
    /// The primary session.
    pub process: Option<Session>,
    /// When it was created.
    pub create_time: SimTime,
    /// Network endpoints.
    pub endpoints: Vec<EndpointInfo>,
    /// Bytes its VM takes on the datastore (`summary.storage.unshared`).
    pub storage_size: u64,
}

/// A committed container with what `GET /containers/info` derives for it, borrowed from the
/// port layer: for in-process callers that read a status often (a kubelet's sweep, the fuzz
/// checks) and need neither a copy of the configuration nor formatted endpoints.
#[derive(Clone, Copy, Debug)]
pub struct ContainerView<'a> {
    /// The container (its id, configuration, sessions and creation time).
    pub container: &'a Container,
    /// State, from power state and sessions.
    pub state: ContainerState,
    /// The address of its first bound endpoint (the first `endpoints` entry with an address).
    pub address: Option<std::net::Ipv4Addr>,
}

fn valid_name(name: &str) -> bool {
    name.is_empty()
        || (name.len() <= 255
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)))
}

impl PortLayer {
    /// `POST /containers`: a new container and a handle to commit it with. The VM is made at
    /// the first commit.
    pub fn create_container(
        &mut self,
        w: &mut World,
        cfg: CreateConfig,
    ) -> Result<(String, String)> {
        self.sync(w);
        if !valid_name(&cfg.name) {
            return Err(PortLayerError::BadRequest(format!(
                "invalid container name `{}`",
                cfg.name
            )));
        }
        if !cfg.name.is_empty() && self.name_taken(&cfg.name, "") {
            return Err(PortLayerError::Conflict(format!(
                "container name `{}` is in use",
                cfg.name
            )));
        }
        if let Some(v) = cfg.annotations.get(super::commit::STOP_DELAY_ANNOTATION) {
            super::commit::stop_delay(v)?;
        }
        let num_cpus = cfg.num_cpus.unwrap_or(2);
        let memory_mb = cfg.memory_mb.unwrap_or(2048);
        if !(1..=MAX_VCPUS).contains(&num_cpus) {
            return Err(PortLayerError::BadRequest(format!(
                "numCPUs must be 1 to {MAX_VCPUS}"
            )));
        }
        if !(4..=MAX_VM_MEMORY_MIB).contains(&memory_mb) || !memory_mb.is_multiple_of(4) {
            return Err(PortLayerError::BadRequest(format!(
                "memoryMB must be a multiple of 4 from 4 to {MAX_VM_MEMORY_MIB}"
            )));
        }
        self.check_container_limit()?;
        let id = w.random_hex(32);
        let key = w.random_hex(16);
        let spec = ContainerSpec {
            name: cfg.name,
            num_cpus,
            memory_mb,
            annotations: cfg.annotations.into_iter().collect(),
            hostname: cfg.hostname,
            domainname: cfg.domainname,
            network_disabled: cfg.network_disabled,
            ..ContainerSpec::default()
        };
        self.handles.insert(Handle {
            key: key.clone(),
            container: id.clone(),
            spec: Arc::new(spec),
            dirty: true,
            target: Some(TargetState::Created),
            change_version: None,
        });
        Ok((id, key))
    }

    /// A name is taken by a committed container or an uncommitted create other than `except`.
    pub(crate) fn name_taken(&self, name: &str, except: &str) -> bool {
        self.by_name.get(name).is_some_and(|id| id != except)
            || self.handles.name_reserved(name, except)
    }

    pub(crate) fn check_container_limit(&self) -> Result<()> {
        if let Some(limit) = self.vch.config.container_limit
            && self.containers.len() >= limit as usize
        {
            return Err(PortLayerError::LimitExceeded(format!(
                "VCH {} is at its limit of {limit} containers",
                self.vch.config.name
            )));
        }
        Ok(())
    }

    /// `GET /containers/{id}`: a fresh handle on an existing container.
    pub fn get_handle(&mut self, w: &mut World, id: &str) -> Result<String> {
        self.sync(w);
        let c = self
            .containers
            .get(id)
            .ok_or_else(|| PortLayerError::not_found("container", id))?;
        let change_version = w.vm(c.vm)?.change_version;
        let spec = c.spec.clone();
        let key = w.random_hex(16);
        self.handles.insert(Handle {
            key: key.clone(),
            container: id.to_string(),
            spec,
            dirty: false,
            target: None,
            change_version: Some(change_version),
        });
        Ok(key)
    }

    /// Edits a cached handle in place; 404 for an unknown one. `f` must check before it
    /// changes anything, so that a refused edit leaves the handle as it was.
    pub(crate) fn edit(
        &mut self,
        key: &str,
        f: impl FnOnce(&mut Handle) -> Result<()>,
    ) -> Result<String> {
        let h = self
            .handles
            .get_mut(key)
            .ok_or_else(|| PortLayerError::not_found("handle", key))?;
        f(h)?;
        Ok(key.to_string())
    }

    /// The handle's container id.
    pub fn handle_container(&mut self, key: &str) -> Result<String> {
        self.handles
            .get_mut(key)
            .map(|h| h.container.clone())
            .ok_or_else(|| PortLayerError::not_found("handle", key))
    }

    /// `PUT /containers/{handle}/state`.
    pub fn change_state(&mut self, key: &str, state: &str) -> Result<String> {
        let target = TargetState::parse(state).ok_or_else(|| {
            PortLayerError::BadRequest(format!(
                "unknown state `{state}`; use RUNNING, STOPPED or CREATED"
            ))
        })?;
        self.edit(key, |h| {
            h.target = Some(target);
            Ok(())
        })
    }

    /// `GET /containers/{handle}/state`: the container's state now.
    pub fn handle_state(&mut self, w: &World, key: &str) -> Result<ContainerState> {
        let container = self.handle_container(key)?;
        Ok(self
            .containers
            .get(&container)
            .map_or(ContainerState::Created, |c| c.state(w)))
    }

    /// `PATCH /containers/{handle}/name`.
    pub fn rename(&mut self, key: &str, name: &str) -> Result<String> {
        if name.is_empty() || !valid_name(name) {
            return Err(PortLayerError::BadRequest(format!(
                "invalid container name `{name}`"
            )));
        }
        let container = self.handle_container(key)?;
        if self.name_taken(name, &container) {
            return Err(PortLayerError::Conflict(format!(
                "container name `{name}` is in use"
            )));
        }
        self.edit(key, |h| {
            Arc::make_mut(&mut h.spec).name = name.to_string();
            h.dirty = true;
            Ok(())
        })
    }

    /// `POST /storage/{store}/info/{id}` (ImageJoin): the container's rw layer will be a child of
    /// this image layer.
    pub fn image_join(
        &mut self,
        key: &str,
        store: &str,
        layer: &str,
        image_id: &str,
        repo: &str,
    ) -> Result<String> {
        self.image_join_delta(key, "", store, layer, image_id, repo)
    }

    /// ImageJoin with a `deltaID`: empty or the container's id names its own rw layer (what the
    /// persona sends); any other id adds a further rw layer of that name, as a pod VM needs
    /// for containers with other images. Joining one `deltaID` again replaces its image.
    pub fn image_join_delta(
        &mut self,
        key: &str,
        delta_id: &str,
        store: &str,
        layer: &str,
        image_id: &str,
        repo: &str,
    ) -> Result<String> {
        if !delta_id.is_empty() && !valid_name(delta_id) {
            return Err(PortLayerError::BadRequest(format!(
                "deltaID `{delta_id}` is not a valid layer name"
            )));
        }
        self.images.require(store, layer)?;
        self.edit(key, |h| {
            let image = ImageRef {
                store: store.into(),
                layer: layer.into(),
                image_id: image_id.into(),
                repo: repo.into(),
            };
            let own = delta_id.is_empty() || delta_id == h.container;
            let spec = Arc::make_mut(&mut h.spec);
            if own {
                spec.image = Some(image);
            } else {
                spec.extra_images.insert(delta_id.to_string(), image);
            }
            h.dirty = true;
            Ok(())
        })
    }

    /// `POST /storage/volumes/{name}` (VolumeJoin).
    pub fn volume_join(
        &mut self,
        key: &str,
        volume: &str,
        mount_path: &str,
        flags: &str,
    ) -> Result<String> {
        self.volumes.get(volume)?;
        if !mount_path.starts_with('/') {
            return Err(PortLayerError::BadRequest(format!(
                "mount path `{mount_path}` must be absolute"
            )));
        }
        self.edit(key, |h| {
            if h.spec.volumes.values().any(|m| m.mount_path == mount_path) {
                return Err(PortLayerError::Conflict(format!(
                    "{mount_path} is already a mount point"
                )));
            }
            Arc::make_mut(&mut h.spec).volumes.insert(
                volume.into(),
                VolumeMount {
                    mount_path: mount_path.into(),
                    flags: flags.into(),
                },
            );
            h.dirty = true;
            Ok(())
        })
    }

    /// `POST /interaction`: the attach serial port.
    pub fn interaction_join(&mut self, key: &str) -> Result<String> {
        self.edit(key, |h| {
            h.dirty |= !h.spec.interaction;
            Arc::make_mut(&mut h.spec).interaction = true;
            Ok(())
        })
    }

    /// `POST /logging`: the log serial ports.
    pub fn logging_join(&mut self, key: &str) -> Result<String> {
        self.edit(key, |h| {
            h.dirty |= !h.spec.logging;
            Arc::make_mut(&mut h.spec).logging = true;
            Ok(())
        })
    }

    /// `POST /scopes/{scope}/containers`: puts the container on a scope. Like VIC, this only
    /// edits the handle; the scope learns of the container when the handle is committed.
    pub fn scopes_add(&mut self, key: &str, scope: &str, cfg: NetworkConfig) -> Result<String> {
        let scope = self
            .scopes
            .resolve(scope)
            .ok_or_else(|| PortLayerError::not_found("scope", scope))?;
        self.edit(key, |h| {
            if h.spec.network_disabled {
                return Err(PortLayerError::Conflict(
                    "the container has networking disabled".into(),
                ));
            }
            if h.spec.networks.contains_key(&scope) {
                return Err(PortLayerError::Conflict(format!(
                    "the container is already on scope {scope}"
                )));
            }
            Arc::make_mut(&mut h.spec).networks.insert(scope, cfg);
            h.dirty = true;
            Ok(())
        })
    }

    /// `DELETE /scopes/{scope}/containers/{handle}`.
    pub fn scopes_remove(&mut self, key: &str, scope: &str) -> Result<String> {
        let resolved = self
            .scopes
            .resolve(scope)
            .unwrap_or_else(|| scope.to_string());
        self.edit(key, |h| {
            Arc::make_mut(&mut h.spec)
                .networks
                .remove(&resolved)
                .ok_or_else(|| PortLayerError::not_found("endpoint", scope))?;
            h.dirty = true;
            Ok(())
        })
    }

    /// `POST /scopes/containers/{handle}/binding`: allocates the container's IPs.
    pub fn scopes_bind(&mut self, key: &str) -> Result<(String, Vec<EndpointInfo>)> {
        let container = self.handle_container(key)?;
        let eps = self.scopes.bind(&container)?;
        let key = self.edit(key, |h| {
            h.dirty = true;
            Ok(())
        })?;
        Ok((key, eps))
    }

    /// `DELETE /scopes/containers/{handle}/binding`: releases the container's IPs.
    pub fn scopes_unbind(&mut self, key: &str) -> Result<(String, Vec<EndpointInfo>)> {
        let container = self.handle_container(key)?;
        let eps = self.scopes.unbind(&container)?;
        Ok((key.to_string(), eps))
    }

    /// `GET /scopes/containers/{handleOrId}`.
    pub fn container_endpoints(&mut self, handle_or_id: &str) -> Result<Vec<EndpointInfo>> {
        let id = match self.handles.get_mut(handle_or_id) {
            Some(h) => h.container.clone(),
            None if self.containers.contains_key(handle_or_id) => handle_or_id.to_string(),
            None => return Err(PortLayerError::not_found("container", handle_or_id)),
        };
        Ok(self.scopes.endpoints_of(&id))
    }

    /// `GET /containers/info/{id}`.
    pub fn container_info(&mut self, w: &World, id: &str) -> Result<ContainerInfo> {
        self.sync(w);
        Ok(self.info_of(w, self.committed(id)?))
    }

    /// `GET /containers/info/{id}` as a borrowed view: what a status reads, without copying
    /// the configuration or formatting the endpoints.
    pub fn container_view(&mut self, w: &World, id: &str) -> Result<ContainerView<'_>> {
        self.sync(w);
        Ok(self.view_of(w, self.committed(id)?))
    }

    /// `GET /containers/list?all=true` as borrowed views, newest first.
    pub fn container_views(&mut self, w: &World) -> Vec<ContainerView<'_>> {
        self.sync(w);
        let list = self.newest_first();
        list.into_iter().map(|c| self.view_of(w, c)).collect()
    }

    fn committed(&self, id: &str) -> Result<&Container> {
        self.containers
            .get(id)
            .ok_or_else(|| PortLayerError::not_found("container", id))
    }

    /// Every committed container, newest first (the order `list` answers in).
    fn newest_first(&self) -> Vec<&Container> {
        let mut list: Vec<&Container> = self.containers.values().collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.seq));
        list
    }

    fn view_of<'a>(&'a self, w: &World, c: &'a Container) -> ContainerView<'a> {
        ContainerView {
            container: c,
            state: c.state(w),
            address: self.scopes.first_address(&c.id),
        }
    }

    fn info_of(&self, w: &World, c: &Container) -> ContainerInfo {
        let storage_mib: u64 = w
            .vm(c.vm)
            .map(|v| v.disks.iter().map(|d| d.consumed_mib).sum::<u64>() + v.runtime.swap_mib)
            .unwrap_or(0);
        ContainerInfo {
            id: c.id.clone(),
            name: c.spec.name.clone(),
            state: c.state(w),
            vm: c.vm,
            spec: c.spec.clone(),
            process: c.primary().cloned(),
            create_time: c.create_time,
            endpoints: self.scopes.endpoints_of(&c.id),
            storage_size: storage_mib * 1024 * 1024,
        }
    }

    /// `GET /containers/list`: newest first; without `all`, only running containers.
    pub fn list_containers(&mut self, w: &World, all: bool) -> Vec<ContainerInfo> {
        self.sync(w);
        self.newest_first()
            .into_iter()
            .map(|c| self.info_of(w, c))
            .filter(|i| all || i.state == ContainerState::Running)
            .collect()
    }

    /// `DELETE /containers/{id}`: refused while running; destroys the VM (its rw layer with it)
    /// and keeps volumes. A container that was never committed has no VM: removing it discards
    /// its handles (and so frees its name), which is how a client abandons a failed create.
    pub fn remove_container(&mut self, w: &mut World, id: &str) -> Result<()> {
        self.sync(w);
        if !self.containers.contains_key(id) && self.handles.has_container(id) {
            // Never committed: there is no VM; discarding its handles frees its name.
            self.handles.remove_container(id);
            return Ok(());
        }
        let c = self
            .containers
            .get(id)
            .ok_or_else(|| PortLayerError::not_found("container", id))?;
        let state = c.state(w);
        if matches!(state, ContainerState::Running | ContainerState::Starting) {
            return Err(PortLayerError::Conflict(format!(
                "container {id} is running; stop it first"
            )));
        }
        w.destroy_vm(c.vm)?;
        self.seen(w);
        self.forget(id);
        self.publish(w, "Removed", id);
        Ok(())
    }

    /// `POST /containers/{id}/signal`: KILL, TERM, INT, QUIT and HUP end the container's process
    /// (the VM powers off, as VIC's tether exits); other signals are delivered and ignored.
    pub fn signal(&mut self, w: &mut World, id: &str, signal: i64) -> Result<()> {
        self.sync(w);
        if !(1..=64).contains(&signal) {
            return Err(PortLayerError::BadRequest(format!(
                "invalid signal {signal}"
            )));
        }
        let c = self
            .containers
            .get(id)
            .ok_or_else(|| PortLayerError::not_found("container", id))?;
        if c.state(w) != ContainerState::Running {
            return Err(PortLayerError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        if ![1, 2, 3, 9, 15].contains(&signal) {
            return Ok(());
        }
        let stopped = self.stop(w, id, 128 + signal as i32);
        self.seen(w);
        stopped
    }
}
