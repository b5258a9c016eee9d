//! Handles: the port layer's unit of change. A handle is a 32-hex key naming a pending copy of
//! a container's configuration plus a target state; join and bind calls edit it, commit applies
//! it to vSphere. Handles live in an LRU cache of 1000, as in VIC.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::container::ContainerSpec;

/// How many handles the cache keeps.
pub const HANDLE_CACHE_SIZE: usize = 1000;

/// The state a commit should leave the container in (the `PUT .../state` body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetState {
    /// `RUNNING`: power on.
    Running,
    /// `STOPPED`: power off.
    Stopped,
    /// `CREATED`: create the VM, leave it off.
    Created,
}

impl TargetState {
    /// Parses the API's upper-case names.
    pub fn parse(s: &str) -> Option<TargetState> {
        match s {
            "RUNNING" => Some(TargetState::Running),
            "STOPPED" => Some(TargetState::Stopped),
            "CREATED" => Some(TargetState::Created),
            _ => None,
        }
    }
}

/// A pending change to one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handle {
    /// The 32-hex key.
    pub key: String,
    /// The container it changes.
    pub container: String,
    /// The configuration as it will be after commit.
    pub spec: Arc<ContainerSpec>,
    /// True once a join/bind changed `spec` (a commit then reconfigures the VM).
    pub dirty: bool,
    /// The state to reach, if a state change was asked for.
    pub target: Option<TargetState>,
    /// The VM's `changeVersion` when the handle was taken; `None` before the VM exists.
    pub change_version: Option<u64>,
}

/// The LRU cache of handles; evicts the least recently used past its capacity.
#[derive(Clone, Debug, Default)]
pub struct HandleCache {
    handles: BTreeMap<String, (Handle, u64)>,
    by_use: BTreeMap<u64, String>,
    clock: u64,
}

impl HandleCache {
    /// Stores a handle (replacing one with the same key) and marks it most recently used.
    pub fn insert(&mut self, handle: Handle) {
        self.clock += 1;
        if let Some((_, old)) = self.handles.remove(&handle.key) {
            self.by_use.remove(&old);
        }
        self.by_use.insert(self.clock, handle.key.clone());
        self.handles
            .insert(handle.key.clone(), (handle, self.clock));
        while self.handles.len() > HANDLE_CACHE_SIZE {
            let Some((_, key)) = self.by_use.pop_first() else {
                break;
            };
            self.handles.remove(&key);
        }
    }

    /// A copy of the handle, marking it used (for callers that change the world while they
    /// hold it, such as commit; reads use [`HandleCache::get_mut`] and borrow).
    pub fn get(&mut self, key: &str) -> Option<Handle> {
        self.get_mut(key).map(|h| h.clone())
    }

    /// The handle itself, marking it used (no copy: joins edit handles in place).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Handle> {
        let used = self.handles.get(key)?.1;
        self.clock += 1;
        let key_owned = self.by_use.remove(&used)?;
        self.by_use.insert(self.clock, key_owned);
        let entry = self.handles.get_mut(key)?;
        entry.1 = self.clock;
        Some(&mut entry.0)
    }

    /// Removes a handle (commit closes it).
    pub fn remove(&mut self, key: &str) {
        if let Some((_, used)) = self.handles.remove(key) {
            self.by_use.remove(&used);
        }
    }

    /// Removes every handle of a container (it was removed).
    pub fn remove_container(&mut self, container: &str) {
        let keys: Vec<String> = self
            .handles
            .values()
            .filter(|(h, _)| h.container == container)
            .map(|(h, _)| h.key.clone())
            .collect();
        for k in keys {
            self.remove(&k);
        }
    }

    /// True if an uncommitted create (a handle with no VM yet) other than `container` uses
    /// `name`: names are reserved from create on, so two creates in flight cannot share one.
    pub fn name_reserved(&self, name: &str, container: &str) -> bool {
        self.handles.values().any(|(h, _)| {
            h.change_version.is_none() && h.container != container && h.spec.name == name
        })
    }

    /// True if any cached handle belongs to `container`.
    pub fn has_container(&self, container: &str) -> bool {
        self.handles.values().any(|(h, _)| h.container == container)
    }

    /// Handles cached.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// True when no handle is cached.
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}
