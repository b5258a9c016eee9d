//! `Folder`, `Datacenter` and `Network` properties: the inventory's structure.

use super::entity;
use super::value::Data;
use super::value::{Value, mor, s};
use crate::soap::error::SoapError;
use crate::soap::objects::Obj;
use crate::vsphere::{DatacenterId, FolderId, NetworkId, World};

/// Folder properties `all=true` returns.
pub const FOLDER_PROPS: &[&str] = &[
    "name",
    "parent",
    "childEntity",
    "childType",
    "overallStatus",
];
/// Datacenter properties `all=true` returns.
pub const DATACENTER_PROPS: &[&str] = &[
    "name",
    "parent",
    "vmFolder",
    "hostFolder",
    "datastoreFolder",
    "networkFolder",
    "datastore",
    "network",
    "overallStatus",
];
/// Network properties `all=true` returns.
pub const NETWORK_PROPS: &[&str] = &["name", "parent", "host", "vm", "summary", "overallStatus"];

fn green() -> Value {
    Value::Enum("ManagedEntityStatus", "green")
}

fn objs(list: Vec<Obj>) -> Value {
    Value::List(
        "ManagedObjectReference",
        list.iter().map(Obj::to_value).collect(),
    )
}

fn parent(w: &World, o: &Obj) -> Option<Value> {
    entity::parent(w, o).map(|p| p.to_value())
}

/// A `Folder` property.
pub fn folder_property(w: &World, id: FolderId, name: &str) -> Result<Option<Value>, SoapError> {
    let o = Obj::Folder(id);
    Ok(Some(match name {
        "name" => s(entity::name(w, &o).unwrap_or_default()),
        "parent" => return Ok(parent(w, &o)),
        "childEntity" => objs(entity::folder_children(w, id)),
        "childType" => Value::List(
            "string",
            entity::folder_child_types(w, id)
                .iter()
                .map(|t| s(*t))
                .collect(),
        ),
        "overallStatus" | "configStatus" => green(),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}

/// A `Datacenter` property.
pub fn datacenter_property(
    w: &World,
    id: DatacenterId,
    name: &str,
) -> Result<Option<Value>, SoapError> {
    let o = Obj::Datacenter(id);
    let dc = w
        .datacenters()
        .get(&id)
        .ok_or_else(|| SoapError::not_found("Datacenter", &id.to_string()))?;
    Ok(Some(match name {
        "name" => s(&*dc.name),
        "parent" => return Ok(parent(w, &o)),
        "vmFolder" => mor("Folder", dc.vm_folder),
        "hostFolder" => mor("Folder", dc.host_folder),
        "datastoreFolder" => mor("Folder", dc.datastore_folder),
        "networkFolder" => mor("Folder", dc.network_folder),
        "datastore" => objs(dc.datastores.iter().map(|d| Obj::Datastore(*d)).collect()),
        "network" => objs(dc.networks.iter().map(|n| Obj::Network(*n)).collect()),
        "overallStatus" | "configStatus" => green(),
        "configuration" => return Ok(None),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}

/// A `Network` property.
pub fn network_property(w: &World, id: NetworkId, name: &str) -> Result<Option<Value>, SoapError> {
    let o = Obj::Network(id);
    let n = w
        .networks()
        .get(&id)
        .ok_or_else(|| SoapError::not_found("Network", &id.to_string()))?;
    Ok(Some(match name {
        "name" => s(&*n.name),
        "parent" => return Ok(parent(w, &o)),
        "host" => objs(
            w.hosts()
                .values()
                .filter(|h| {
                    w.compute(h.compute)
                        .is_ok_and(|c| c.datacenter == n.datacenter)
                })
                .map(|h| Obj::Host(h.id))
                .collect(),
        ),
        "vm" => objs(
            w.vms()
                .values()
                .filter(|v| super::vm::networks(w, v).contains(&id))
                .map(|v| Obj::Vm(v.id))
                .collect(),
        ),
        "summary" => Data::new("NetworkSummary")
            .with("network", mor("Network", id))
            .with("name", s(&*n.name))
            .with("accessible", Value::Bool(true))
            .with("ipPoolName", s(""))
            .into(),
        "overallStatus" | "configStatus" => green(),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    }))
}
