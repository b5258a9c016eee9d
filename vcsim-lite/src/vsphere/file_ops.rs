//! Files that live on datastores on their own: virtual disks made with
//! `VirtualDiskManager.CreateVirtualDisk_Task` (VIC's image layers and volumes), and VM folders.
//! A disk file in use by a VM is locked: it can be attached but not deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::error::VsphereError;
use super::ids::{DatastoreId, FolderId, FolderKind, VmId};
use super::model::{DiskFile, Folder, PowerState};
use super::vm_ops::{MAX_DISK_MIB, validate_name};
use super::world::World;
use crate::sim::{ObjectKind, Operation};

/// What vCenter reports in `ServiceContent.about`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct About {
    /// `name`.
    pub name: &'static str,
    /// `fullName`.
    pub full_name: &'static str,
    /// `version`.
    pub version: &'static str,
    /// `build`.
    pub build: &'static str,
    /// `osType`.
    pub os_type: &'static str,
    /// `apiVersion`.
    pub api_version: &'static str,
    /// `productLineId`.
    pub product_line_id: &'static str,
}

/// The vCenter this world presents itself as.
pub const ABOUT: About = About {
    name: "VMware vCenter Server",
    full_name: "VMware vCenter Server 8.0.2 build-22385739",
    version: "8.0.2",
    build: "22385739",
    os_type: "linux-x64",
    api_version: "8.0.2.0",
    product_line_id: "vpx",
};

/// `[datastore] path`, as vSphere writes datastore paths.
pub fn datastore_path(datastore: &str, path: &str) -> String {
    format!("[{datastore}] {path}")
}

impl World {
    /// What this vCenter reports about itself.
    pub fn about(&self) -> About {
        ABOUT
    }

    fn ds_path(&self, ds: DatastoreId, path: &str) -> String {
        let name = self.datastores.get(&ds).map_or("?", |d| &*d.name);
        datastore_path(name, path)
    }

    /// A disk file, if it exists.
    pub fn disk_file(&self, ds: DatastoreId, path: &str) -> Option<&DiskFile> {
        self.disk_files.get(&(ds, Arc::from(path)))
    }

    /// Every standalone disk file, by datastore and path.
    pub fn disk_files(&self) -> &BTreeMap<(DatastoreId, Arc<str>), DiskFile> {
        &self.disk_files
    }

    /// `VirtualDiskManager.CreateVirtualDisk_Task`: a disk of `capacity_mib` holding
    /// `used_mib` of data, which the datastore must have room for.
    pub fn create_virtual_disk(
        &mut self,
        ds: DatastoreId,
        path: &str,
        capacity_mib: u64,
        used_mib: u64,
    ) -> Result<(), VsphereError> {
        let d = self.datastore(ds)?;
        let (r, name) = (d.id.moref(), d.name.clone());
        self.run_task(
            Operation::CreateVirtualDisk,
            ObjectKind::Datastore,
            r,
            name,
            |_| None,
            |w, _| {
                if path.is_empty() || !path.ends_with(".vmdk") {
                    return Err(VsphereError::invalid(
                        "name",
                        "a disk path must end in .vmdk",
                    ));
                }
                if !(1..=MAX_DISK_MIB).contains(&capacity_mib) || used_mib > capacity_mib {
                    return Err(VsphereError::invalid(
                        "spec.capacityKb",
                        format!("capacity must be 1 to {MAX_DISK_MIB} MiB and hold the data"),
                    ));
                }
                let key = (ds, Arc::<str>::from(path));
                if w.disk_files.contains_key(&key) {
                    return Err(VsphereError::FileAlreadyExists {
                        path: w.ds_path(ds, path),
                    });
                }
                let d = w.datastore(ds)?;
                if used_mib > d.free_mib() {
                    return Err(VsphereError::NoDiskSpace {
                        datastore: d.name.to_string(),
                        requested_mib: used_mib,
                        free_mib: d.free_mib(),
                    });
                }
                w.datastores.get_mut(&ds).expect("checked").used_mib += used_mib;
                let file = DiskFile {
                    capacity_mib,
                    used_mib,
                    attached_to: BTreeSet::new(),
                };
                w.disk_files.insert(key, file);
                Ok(())
            },
        )
    }

    /// `VirtualDiskManager.DeleteVirtualDisk_Task`: refused while a VM has the disk attached.
    pub fn delete_virtual_disk(&mut self, ds: DatastoreId, path: &str) -> Result<(), VsphereError> {
        let d = self.datastore(ds)?;
        let (r, name) = (d.id.moref(), d.name.clone());
        self.run_task(
            Operation::DeleteVirtualDisk,
            ObjectKind::Datastore,
            r,
            name,
            |_| None,
            |w, _| {
                let key = (ds, Arc::<str>::from(path));
                let Some(file) = w.disk_files.get(&key) else {
                    return Err(VsphereError::FileNotFound {
                        path: w.ds_path(ds, path),
                    });
                };
                if let Some(vm) = file.attached_to.iter().next() {
                    let vm = w
                        .vms
                        .get(vm)
                        .map_or_else(|| vm.to_string(), |v| v.name.to_string());
                    return Err(VsphereError::FileLocked {
                        path: w.ds_path(ds, path),
                        vm,
                    });
                }
                let used = file.used_mib;
                w.disk_files.remove(&key);
                w.datastores.get_mut(&ds).expect("checked").used_mib -= used;
                Ok(())
            },
        )
    }

    pub(crate) fn attach_file(&mut self, ds: DatastoreId, path: &str, vm: VmId) {
        let file = self
            .disk_files
            .get_mut(&(ds, Arc::from(path)))
            .expect("checked disk file");
        file.attached_to.insert(vm);
    }

    pub(crate) fn detach_file(&mut self, ds: DatastoreId, path: &str, vm: VmId) {
        if let Some(file) = self.disk_files.get_mut(&(ds, Arc::from(path))) {
            file.attached_to.remove(&vm);
        }
    }

    /// `Folder.CreateFolder`: a child VM folder.
    pub fn create_folder(
        &mut self,
        parent: FolderId,
        name: &str,
    ) -> Result<FolderId, VsphereError> {
        let p = self.folder(parent)?;
        let (r, pname) = (p.id.moref(), p.name.clone());
        self.run_task(
            Operation::CreateFolder,
            ObjectKind::Folder,
            r,
            pname,
            |f: &FolderId| Some(f.moref()),
            |w, _| {
                validate_name(name)?;
                let p = w.folder(parent)?;
                if p.kind != FolderKind::Vm {
                    return Err(VsphereError::invalid(
                        "this",
                        "only VM folders are modelled",
                    ));
                }
                if p.folders.contains_key(name) || p.vms.contains_key(name) {
                    return Err(VsphereError::DuplicateName {
                        name: name.to_string(),
                        container: format!("folder {}", p.name),
                    });
                }
                let datacenter = p.datacenter;
                let id = FolderId {
                    n: w.alloc_id(),
                    kind: FolderKind::Vm,
                };
                let name: Arc<str> = name.into();
                w.folders.insert(
                    id,
                    Folder {
                        id,
                        name: name.clone(),
                        kind: FolderKind::Vm,
                        datacenter,
                        parent: Some(parent),
                        folders: BTreeMap::new(),
                        vms: BTreeMap::new(),
                    },
                );
                w.folders
                    .get_mut(&parent)
                    .expect("checked")
                    .folders
                    .insert(name, id);
                Ok(id)
            },
        )
    }

    /// `Folder.Destroy_Task` on an empty folder (a folder that still holds VMs or folders is
    /// refused rather than destroying its contents).
    pub fn destroy_folder(&mut self, id: FolderId) -> Result<(), VsphereError> {
        let f = self.folder(id)?;
        let (r, name) = (f.id.moref(), f.name.clone());
        self.run_task(
            Operation::DestroyFolder,
            ObjectKind::Folder,
            r,
            name,
            |_| None,
            |w, _| {
                let f = w.folder(id)?;
                let Some(parent) = f.parent else {
                    return Err(VsphereError::invalid(
                        "this",
                        "a datacenter's top-level folder cannot be destroyed",
                    ));
                };
                if !f.vms.is_empty() || !f.folders.is_empty() {
                    return Err(VsphereError::ResourceInUse {
                        object: f.name.to_string(),
                        reason: format!(
                            "holds {} VMs and {} folders",
                            f.vms.len(),
                            f.folders.len()
                        ),
                    });
                }
                let name = f.name.clone();
                w.folders.remove(&id);
                w.folders
                    .get_mut(&parent)
                    .expect("parent folder")
                    .folders
                    .remove(&name);
                Ok(())
            },
        )
    }

    /// A guest-side `guestinfo` update (the guest's tools RPC, as VIC's tether reports a
    /// session's `Started` status). Needs the VM running; it is not a task and does not change
    /// the VM's `changeVersion`.
    pub fn guest_set_info(&mut self, vm: VmId, key: &str, value: &str) -> Result<(), VsphereError> {
        let v = self.vm(vm)?;
        if v.power_state != PowerState::PoweredOn {
            return Err(VsphereError::InvalidPowerState {
                vm: v.name.to_string(),
                existing: v.power_state.as_str(),
                required: PowerState::PoweredOn.as_str(),
                operation: Operation::ReconfigVm,
            });
        }
        if !key.starts_with("guestinfo.") {
            return Err(VsphereError::invalid(
                "key",
                "a guest may only set guestinfo.* keys",
            ));
        }
        let v = self.vms.get_mut(&vm).expect("checked");
        v.extra_config.insert(key.into(), value.into());
        Ok(())
    }
}

#[cfg(test)]
mod tests;
