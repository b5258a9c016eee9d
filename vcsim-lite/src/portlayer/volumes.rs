//! Volume stores and volumes: each volume is an independent disk file that VIC keeps at
//! `volumes/<name>/<name>.vmdk` on its store's datastore, so it outlives the containers that
//! mount it and takes datastore space of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::error::{PortLayerError, Result};
use crate::vsphere::vm_ops::MAX_DISK_MIB;
use crate::vsphere::{DatastoreId, World};

/// The store label vic-machine gives a `--volume-store` without one, and the store a request
/// without a store goes to.
pub const DEFAULT_STORE: &str = "default";
/// What the port layer makes of a capacity of -1 (the persona's "not given").
pub const DEFAULT_CAPACITY_MB: u64 = 1024;
/// The driver every volume reports; `local` is accepted as an alias, as in VIC.
pub const DRIVER: &str = "vsphere";
const DRIVER_ALIAS: &str = "local";
const MAX_NAME_LEN: usize = 128;

/// What a caller asks for in `POST /storage/volumes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRequest {
    pub name: String,
    /// `vsphere` or `local`.
    pub driver: String,
    /// Docker's `--opt`s; the persona has already turned the ones VIC knows into `store` and
    /// `capacity_mb`, so they are accepted and not kept.
    pub driver_args: BTreeMap<String, String>,
    /// A store label; empty means `default`.
    pub store: String,
    /// -1 or 0 means the default of 1024 MB.
    pub capacity_mb: i64,
    pub metadata: BTreeMap<String, String>,
}

impl VolumeRequest {
    /// A request as `docker volume create <name>` sends it: every option at its default.
    pub fn new(name: &str) -> Self {
        VolumeRequest {
            name: name.to_string(),
            driver: DRIVER.to_string(),
            driver_args: BTreeMap::new(),
            store: String::new(),
            capacity_mb: -1,
            metadata: BTreeMap::new(),
        }
    }
}

/// A volume as `GET /storage/volumes/{name}` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    /// Always `vsphere` (VIC reports no alias).
    pub driver: String,
    /// The store's label.
    pub store: String,
    /// The ext4 label of the volume's filesystem: 16 hex digits derived from the name.
    pub label: String,
    pub capacity_mb: u64,
    pub metadata: BTreeMap<String, String>,
    /// Ids of the containers that joined it, sorted.
    pub joined_by: Vec<String>,
}

#[derive(Clone, Debug)]
struct Volume {
    store: String,
    capacity_mb: u64,
    metadata: BTreeMap<String, String>,
    datastore: DatastoreId,
    path: String,
    joined_by: BTreeSet<String>,
}

/// Every volume of one VCH, across its volume stores.
#[derive(Clone, Debug)]
pub struct Volumes {
    stores: BTreeMap<String, DatastoreId>,
    volumes: BTreeMap<String, Volume>,
}

/// Docker's volume name rule; the name also becomes a datastore path component.
fn check_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !first_ok || !rest_ok || name.len() > MAX_NAME_LEN {
        return Err(PortLayerError::BadRequest(format!(
            "volume name `{name}` must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,{}}}",
            MAX_NAME_LEN - 1
        )));
    }
    Ok(())
}

/// VIC labels the filesystem with the first 16 hex digits of the name's md5 (e2label's limit);
/// sha256 stands in for md5 here: same shape, and equally stable across runs.
fn fs_label(name: &str) -> String {
    let mut label = String::with_capacity(16);
    for b in Sha256::digest(name.as_bytes()).iter().take(8) {
        let _ = write!(label, "{b:02x}");
    }
    label
}

fn capacity(requested: i64) -> Result<u64> {
    match requested {
        -1 | 0 => Ok(DEFAULT_CAPACITY_MB),
        c => u64::try_from(c)
            .ok()
            .filter(|c| *c <= MAX_DISK_MIB)
            .ok_or_else(|| {
                PortLayerError::BadRequest(format!(
                    "capacity {c} MB is out of range: 1 to {MAX_DISK_MIB} MB, or -1 for the default"
                ))
            }),
    }
}

impl Volumes {
    /// `stores` maps each store label to its datastore (vic-machine's `--volume-store`).
    pub fn new(stores: BTreeMap<String, DatastoreId>) -> Self {
        Volumes {
            stores,
            volumes: BTreeMap::new(),
        }
    }

    /// `GET /storage/volumestores`: the labels, sorted.
    pub fn stores(&self) -> Vec<String> {
        self.stores.keys().cloned().collect()
    }

    /// `POST /storage/volumes`: the volume's disk, with room on the datastore for its ext4
    /// metadata (1% of the capacity). A failure records nothing.
    pub fn create(&mut self, w: &mut World, req: VolumeRequest) -> Result<VolumeInfo> {
        check_name(&req.name)?;
        if req.driver != DRIVER && req.driver != DRIVER_ALIAS {
            return Err(PortLayerError::BadRequest(format!(
                "unknown volume driver `{}`: use `{DRIVER}` or `{DRIVER_ALIAS}`",
                req.driver
            )));
        }
        let capacity_mb = capacity(req.capacity_mb)?;
        let store = if req.store.is_empty() {
            DEFAULT_STORE.to_string()
        } else {
            req.store
        };
        let datastore = *self
            .stores
            .get(&store)
            .ok_or_else(|| PortLayerError::not_found("volume store", store.clone()))?;
        if self.volumes.contains_key(&req.name) {
            return Err(PortLayerError::Conflict(format!(
                "volume `{}` already exists",
                req.name
            )));
        }
        let path = format!("volumes/{0}/{0}.vmdk", req.name);
        w.create_virtual_disk(datastore, &path, capacity_mb, capacity_mb.div_ceil(100))?;
        let volume = Volume {
            store,
            capacity_mb,
            metadata: req.metadata,
            datastore,
            path,
            joined_by: BTreeSet::new(),
        };
        let info = Self::info(&req.name, &volume);
        self.volumes.insert(req.name, volume);
        Ok(info)
    }

    fn info(name: &str, v: &Volume) -> VolumeInfo {
        VolumeInfo {
            name: name.to_string(),
            driver: DRIVER.to_string(),
            store: v.store.clone(),
            label: fs_label(name),
            capacity_mb: v.capacity_mb,
            metadata: v.metadata.clone(),
            joined_by: v.joined_by.iter().cloned().collect(),
        }
    }

    /// `GET /storage/volumes?filterString=`: volumes whose name contains `filter` (all when it
    /// is empty), sorted by name.
    pub fn list(&self, filter: &str) -> Vec<VolumeInfo> {
        self.volumes
            .iter()
            .filter(|(name, _)| name.contains(filter))
            .map(|(name, v)| Self::info(name, v))
            .collect()
    }

    /// `GET /storage/volumes/{name}`.
    pub fn get(&self, name: &str) -> Result<VolumeInfo> {
        self.volumes
            .get(name)
            .map(|v| Self::info(name, v))
            .ok_or_else(|| PortLayerError::not_found("volume", name))
    }

    /// `DELETE /storage/volumes/{name}`: refused (409) while a container has it joined or a VM
    /// still has its disk attached, since deleting would pull the disk from under it.
    pub fn delete(&mut self, w: &mut World, name: &str) -> Result<()> {
        let v = self
            .volumes
            .get(name)
            .ok_or_else(|| PortLayerError::not_found("volume", name))?;
        if !v.joined_by.is_empty() {
            let by: Vec<&str> = v.joined_by.iter().map(String::as_str).collect();
            return Err(PortLayerError::Conflict(format!(
                "volume `{name}` is in use by {}",
                by.join(", ")
            )));
        }
        if let Some(f) = w
            .disk_file(v.datastore, &v.path)
            .filter(|f| !f.attached_to.is_empty())
        {
            return Err(PortLayerError::Conflict(format!(
                "volume `{name}` is attached to {} VMs",
                f.attached_to.len()
            )));
        }
        w.delete_virtual_disk(v.datastore, &v.path)?;
        self.volumes.remove(name);
        Ok(())
    }

    /// VolumeJoin: records that `container` mounts the volume, and gives the disk to attach
    /// (its datastore and path there, without the `[ds]` prefix). Joining twice is harmless.
    pub fn join(&mut self, name: &str, container: &str) -> Result<(DatastoreId, String)> {
        let v = self
            .volumes
            .get_mut(name)
            .ok_or_else(|| PortLayerError::not_found("volume", name))?;
        v.joined_by.insert(container.to_string());
        Ok((v.datastore, v.path.clone()))
    }

    /// The container is gone or dropped the mount; a no-op when it had not joined, so removal
    /// can be retried.
    pub fn leave(&mut self, name: &str, container: &str) {
        if let Some(v) = self.volumes.get_mut(name) {
            v.joined_by.remove(container);
        }
    }

    /// The volumes' capacities in MB: what a volume may grow to fill, for the storage quota.
    pub fn total_mb(&self) -> u64 {
        self.volumes.values().map(|v| v.capacity_mb).sum()
    }
}

#[cfg(test)]
mod tests;
