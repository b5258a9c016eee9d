//! A container as the port layer keeps it: the configuration VIC stores in the VM's guestinfo
//! (`ExecutorConfig`), its sessions, and the state derived from the VM's power state plus the
//! primary session's `Started` flag.

use litemap::LiteMap;
use std::sync::Arc;

use crate::sim::SimTime;
use crate::vsphere::{PowerState, VmId, World};

/// The image a container runs: its read-write layer is a child of `layer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Image store name.
    pub store: String,
    /// Layer id the rw layer is a child of.
    pub layer: String,
    /// Docker image id.
    pub image_id: String,
    /// Repository name, e.g. `busybox:latest`.
    pub repo: String,
}

/// A volume mounted into the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeMount {
    /// Mount point in the container.
    pub mount_path: String,
    /// Mount flags (e.g. `rw`).
    pub flags: String,
}

/// A process in the container (the primary one has the container's id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Executable.
    pub path: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// User.
    pub user: String,
    /// Allocate a TTY.
    pub tty: bool,
    /// Attach stdio.
    pub attach: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Signal that stops it.
    pub stop_signal: String,
    /// Bound (will run when the container starts).
    pub active: bool,
    /// The guest's report: `"true"` once started, an error text if it failed, empty before.
    pub started: String,
    /// Exit code once stopped.
    pub exit_code: i32,
    /// When it last started.
    pub start_time: Option<SimTime>,
    /// When it last stopped.
    pub stop_time: Option<SimTime>,
}

/// The configuration a handle edits and a commit writes to the VM. Its maps are sorted vectors
/// (`LiteMap`): a container has a handful of entries in each, and 100,000 containers must fit
/// in memory (a `BTreeMap` node reserves eleven slots).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// vCPUs of the container VM.
    pub num_cpus: u32,
    /// Memory of the container VM in MB.
    pub memory_mb: u64,
    /// Annotations.
    pub annotations: LiteMap<String, String>,
    /// Hostname.
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// No network.
    pub network_disabled: bool,
    /// The image (ImageJoin with the container's id, or no id, as the `deltaID`).
    pub image: Option<ImageRef>,
    /// Further read-write layers by `deltaID` (ImageJoin with another id): a pod VM whose
    /// containers run different images has one layer per image, each a scratch disk.
    pub extra_images: LiteMap<String, ImageRef>,
    /// Sessions by id (task join).
    pub sessions: LiteMap<String, Session>,
    /// Volumes by name (VolumeJoin).
    pub volumes: LiteMap<String, VolumeMount>,
    /// Networks by scope name (scopes add); registered with the scopes at commit, as VIC's
    /// handle carries them until then.
    pub networks: LiteMap<String, super::scopes::NetworkConfig>,
    /// Interaction serial port joined.
    pub interaction: bool,
    /// Logging serial ports joined.
    pub logging: bool,
}

/// A container the port layer knows (its VM exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    /// 64-hex id.
    pub id: String,
    /// Its VM.
    pub vm: VmId,
    /// The committed configuration, shared with handles and infos until one edits it.
    pub spec: Arc<ContainerSpec>,
    /// When it was created.
    pub create_time: SimTime,
    /// Creation order, for newest-first listing.
    pub seq: u64,
}

/// The states the API reports (Go stringer names of VIC's `State`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerState {
    /// VM off, never started.
    Created,
    /// VM on, session not yet confirmed.
    Starting,
    /// VM on, session started.
    Running,
    /// VM off after running.
    Stopped,
    /// VM suspended.
    Suspended,
}

impl ContainerState {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "Created",
            ContainerState::Starting => "Starting",
            ContainerState::Running => "Running",
            ContainerState::Stopped => "Stopped",
            ContainerState::Suspended => "Suspended",
        }
    }

    /// Docker's name for it (`docker ps` status).
    pub fn docker(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Starting | ContainerState::Running => "running",
            ContainerState::Stopped => "exited",
            ContainerState::Suspended => "paused",
        }
    }
}

impl ContainerSpec {
    /// Every image the container has joined: the primary first, then by `deltaID`.
    pub fn images(&self) -> impl Iterator<Item = &ImageRef> {
        self.image.iter().chain(self.extra_images.values())
    }

    /// What the container counts against the storage quota: its memory (swap) and a scratch
    /// disk for each read-write layer (one even without an image, as VIC's persona counts).
    pub fn storage_mib(&self) -> u64 {
        let layers = 1 + self.extra_images.len() as u64;
        self.memory_mb + layers * super::commit::SCRATCH_MIB
    }
}

impl Container {
    /// The primary session (its id is the container's).
    pub fn primary(&self) -> Option<&Session> {
        self.spec.sessions.get(&self.id)
    }

    /// State from the VM's power state and the sessions' `Started` reports.
    pub fn state(&self, w: &World) -> ContainerState {
        let on = w
            .vm(self.vm)
            .map(|v| v.power_state == PowerState::PoweredOn)
            .unwrap_or(false);
        let started = self.primary().is_some_and(|s| s.started == "true");
        let ever_started = self.spec.sessions.values().any(|s| !s.started.is_empty());
        match (on, started, ever_started) {
            (true, true, _) => ContainerState::Running,
            (true, false, _) => ContainerState::Starting,
            (false, _, true) => ContainerState::Stopped,
            (false, _, false) => ContainerState::Created,
        }
    }
}

/// The VM name VIC gives a container: `<name>-<first 12 of id>`, at most 80 characters
/// (the name is cut to fit).
pub fn vm_name(name: &str, id: &str) -> String {
    let short: String = id.chars().take(12).collect();
    let room = 80 - short.len() - 1;
    let name: String = name.chars().take(room).collect();
    if name.is_empty() {
        short
    } else {
        format!("{name}-{short}")
    }
}

/// Docker's short id.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_names_use_the_short_id_and_fit_80_characters() {
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(vm_name("web", &id), "web-0123456789ab");
        assert_eq!(vm_name(&"x".repeat(100), &id).len(), 80);
        assert_eq!(vm_name("", &id), "0123456789ab");
    }
}
