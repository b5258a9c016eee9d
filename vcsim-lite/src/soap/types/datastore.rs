//! `Datastore` properties (`info`, `summary`, `host`, `vm`, `browser`) from the world's
//! space accounting, and the `HostDatastoreBrowser` that govc's `vm.create` searches.

use super::value::{Data, Value, long, mor, s};
use crate::soap::error::SoapError;
use crate::vsphere::{Datastore, DatastoreId, World};

/// Properties `all=true` returns.
pub const PROPS: &[&str] = &[
    "name",
    "parent",
    "info",
    "summary",
    "host",
    "vm",
    "browser",
    "capability",
    "overallStatus",
];

const MIB: u64 = 1024 * 1024;

fn bytes(mib: u64) -> Value {
    long(mib.saturating_mul(MIB))
}

/// `ds:///vmfs/volumes/<id>/`, the datastore's URL.
pub fn url(ds: &Datastore) -> String {
    format!("ds:///vmfs/volumes/{}/", ds.id)
}

/// Thin-provisioned space promised but not yet written, over disks on this datastore.
fn uncommitted(w: &World, id: DatastoreId) -> u64 {
    w.vms()
        .values()
        .flat_map(|v| v.disks.iter())
        .filter(|d| d.datastore == id && d.thin && d.attached.is_none())
        .map(|d| d.capacity_mib.saturating_sub(d.consumed_mib))
        .sum()
}

/// A `Datastore` property.
pub fn property(w: &World, id: DatastoreId, name: &str) -> Result<Option<Value>, SoapError> {
    let ds = w.datastore(id)?;
    let dc = w.datacenters().get(&ds.datacenter);
    Ok(Some(match name {
        "name" => s(&*ds.name),
        "parent" => match dc {
            Some(dc) => mor("Folder", dc.datastore_folder),
            None => return Ok(None),
        },
        "info" => Data::new("DatastoreInfo")
            .with("name", s(&*ds.name))
            .with("url", s(url(ds)))
            .with("freeSpace", bytes(ds.free_mib()))
            .with("maxFileSize", bytes(62 * MIB))
            .with("maxVirtualDiskCapacity", bytes(62 * MIB))
            .with("timestamp", Value::Time(w.now()))
            .into(),
        "summary" => Data::new("DatastoreSummary")
            .with("datastore", mor("Datastore", id))
            .with("name", s(&*ds.name))
            .with("url", s(url(ds)))
            .with("capacity", bytes(ds.capacity_mib))
            .with("freeSpace", bytes(ds.free_mib()))
            .with("uncommitted", bytes(uncommitted(w, id)))
            .with("accessible", Value::Bool(true))
            .with("multipleHostAccess", Value::Bool(ds.hosts.len() > 1))
            .with("type", s("VMFS"))
            .with("maintenanceMode", s("normal"))
            .into(),
        "host" => Value::List(
            "DatastoreHostMount",
            ds.hosts
                .iter()
                .map(|h| {
                    Data::new("DatastoreHostMount")
                        .with("key", mor("HostSystem", h))
                        .with(
                            "mountInfo",
                            Data::new("HostMountInfo")
                                .with("path", s(format!("/vmfs/volumes/{id}")))
                                .with("accessMode", s("readWrite"))
                                .with("mounted", Value::Bool(true))
                                .with("accessible", Value::Bool(true))
                                .into(),
                        )
                        .into()
                })
                .collect(),
        ),
        "vm" => Value::List(
            "ManagedObjectReference",
            w.vms()
                .values()
                .filter(|v| v.datastore == id || v.disks.iter().any(|d| d.datastore == id))
                .map(|v| mor("VirtualMachine", v.id))
                .collect(),
        ),
        "browser" => mor("HostDatastoreBrowser", format!("datastoreBrowser-{id}")),
        "capability" => Data::new("DatastoreCapability")
            .with("directoryHierarchySupported", Value::Bool(true))
            .with("rawDiskMappingsSupported", Value::Bool(false))
            .with("perFileThinProvisioningSupported", Value::Bool(true))
            .into(),
        "overallStatus" | "configStatus" => Value::Enum("ManagedEntityStatus", "green"),
        "iormConfiguration" => return Ok(None),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}
