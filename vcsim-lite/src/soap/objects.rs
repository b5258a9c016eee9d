//! Managed object references: what each `type:value` pair names in the world or in a session,
//! and back. World objects keep the world's vCenter-style ids (`vm-42`, `group-v3`); objects a
//! session creates (collectors, filters, views, event collectors) are `session[KEY]N`, as in
//! vCenter, and are visible only to their session.

use crate::vsphere::{
    ComputeId, DatacenterId, DatastoreId, FolderId, FolderKind, HostId, NetworkId, PoolId, VmId,
    World,
};

use super::error::SoapError;

/// Kinds of object a session owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SessionKind {
    /// A `PropertyCollector` made by `CreatePropertyCollector`.
    Collector,
    /// A `PropertyFilter`.
    Filter,
    /// A `ContainerView`.
    ContainerView,
    /// A `ListView`.
    ListView,
    /// An `EventHistoryCollector`.
    EventCollector,
}

impl SessionKind {
    /// The vim type name.
    pub fn type_name(self) -> &'static str {
        match self {
            SessionKind::Collector => "PropertyCollector",
            SessionKind::Filter => "PropertyFilter",
            SessionKind::ContainerView => "ContainerView",
            SessionKind::ListView => "ListView",
            SessionKind::EventCollector => "EventHistoryCollector",
        }
    }
}

/// A managed object this endpoint serves.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Obj {
    /// `ServiceInstance`.
    ServiceInstance,
    /// `SessionManager`.
    SessionManager,
    /// `ViewManager`.
    ViewManager,
    /// `EventManager`.
    EventManager,
    /// `TaskManager`.
    TaskManager,
    /// `SearchIndex`.
    SearchIndex,
    /// The session's default `propertyCollector`.
    DefaultCollector,
    /// A folder (including the root folder `group-d1`).
    Folder(FolderId),
    /// A datacenter.
    Datacenter(DatacenterId),
    /// A cluster or standalone compute resource.
    Compute(ComputeId),
    /// A host.
    Host(HostId),
    /// A resource pool.
    Pool(PoolId),
    /// A datastore.
    Datastore(DatastoreId),
    /// A network.
    Network(NetworkId),
    /// A VM.
    Vm(VmId),
    /// A world task (`task-N`).
    Task(u64),
    /// A datastore browser search task of this endpoint (`task-sN`).
    SearchTask(u64),
    /// A datastore's browser.
    Browser(DatastoreId),
    /// A session-scoped object: kind and full id.
    Session(SessionKind, String),
}

/// The prefix of datastore browser ids, followed by the datastore id.
const BROWSER: &str = "datastoreBrowser-";

impl Obj {
    /// The vim type name, as a reference's `type` attribute carries it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Obj::ServiceInstance => "ServiceInstance",
            Obj::SessionManager => "SessionManager",
            Obj::ViewManager => "ViewManager",
            Obj::EventManager => "EventManager",
            Obj::TaskManager => "TaskManager",
            Obj::SearchIndex => "SearchIndex",
            Obj::DefaultCollector => "PropertyCollector",
            Obj::Folder(_) => "Folder",
            Obj::Datacenter(_) => "Datacenter",
            Obj::Compute(c) if c.cluster => "ClusterComputeResource",
            Obj::Compute(_) => "ComputeResource",
            Obj::Host(_) => "HostSystem",
            Obj::Pool(_) => "ResourcePool",
            Obj::Datastore(_) => "Datastore",
            Obj::Network(_) => "Network",
            Obj::Vm(_) => "VirtualMachine",
            Obj::Task(_) | Obj::SearchTask(_) => "Task",
            Obj::Browser(_) => "HostDatastoreBrowser",
            Obj::Session(k, _) => k.type_name(),
        }
    }

    /// The reference's value.
    pub fn id(&self) -> String {
        match self {
            Obj::ServiceInstance => "ServiceInstance".into(),
            Obj::SessionManager => "SessionManager".into(),
            Obj::ViewManager => "ViewManager".into(),
            Obj::EventManager => "EventManager".into(),
            Obj::TaskManager => "TaskManager".into(),
            Obj::SearchIndex => "SearchIndex".into(),
            Obj::DefaultCollector => "propertyCollector".into(),
            Obj::Folder(f) => f.to_string(),
            Obj::Datacenter(d) => d.to_string(),
            Obj::Compute(c) => c.to_string(),
            Obj::Host(h) => h.to_string(),
            Obj::Pool(p) => p.to_string(),
            Obj::Datastore(d) => d.to_string(),
            Obj::Network(n) => n.to_string(),
            Obj::Vm(v) => v.to_string(),
            Obj::Task(n) => format!("task-{n}"),
            Obj::SearchTask(n) => format!("task-s{n}"),
            Obj::Browser(d) => format!("{BROWSER}{d}"),
            Obj::Session(_, id) => id.clone(),
        }
    }

    /// The reference as a value.
    pub fn to_value(&self) -> super::types::value::Value {
        super::types::value::Value::Ref(self.type_name(), self.id())
    }

    /// True if this object is a managed entity (has `name`, `parent`, ...).
    pub fn is_entity(&self) -> bool {
        matches!(
            self,
            Obj::Folder(_)
                | Obj::Datacenter(_)
                | Obj::Compute(_)
                | Obj::Host(_)
                | Obj::Pool(_)
                | Obj::Datastore(_)
                | Obj::Network(_)
                | Obj::Vm(_)
        )
    }
}

/// True if vim type `actual` is `wanted` or derives from it.
pub fn is_a(actual: &str, wanted: &str) -> bool {
    if actual == wanted || wanted == "ManagedObject" {
        return true;
    }
    let entity = matches!(
        actual,
        "Folder"
            | "Datacenter"
            | "ComputeResource"
            | "ClusterComputeResource"
            | "HostSystem"
            | "ResourcePool"
            | "Datastore"
            | "Network"
            | "VirtualMachine"
    );
    match wanted {
        "ManagedEntity" => entity,
        "ExtensibleManagedObject" => entity || actual == "Task",
        "ComputeResource" => actual == "ClusterComputeResource",
        "View" => matches!(actual, "ContainerView" | "ListView"),
        "ManagedObjectView" => matches!(actual, "ContainerView" | "ListView"),
        "HistoryCollector" => actual == "EventHistoryCollector",
        _ => false,
    }
}

/// Parses a folder id (`group-v3`).
fn folder_id(value: &str) -> Option<FolderId> {
    let rest = value.strip_prefix("group-")?;
    let kind = match rest.as_bytes().first()? {
        b'd' => FolderKind::Datacenter,
        b'v' => FolderKind::Vm,
        b'h' => FolderKind::Host,
        b's' => FolderKind::Datastore,
        b'n' => FolderKind::Network,
        _ => return None,
    };
    let n = rest[1..].parse().ok()?;
    Some(FolderId { n, kind })
}

/// Resolves a world object's id (any type attribute is ignored: the id says the type), or
/// `None` if the id names nothing in the world now.
pub fn resolve_world(world: &World, value: &str) -> Option<Obj> {
    if let Some(f) = folder_id(value) {
        return (f == world.root_folder() || world.folders().contains_key(&f))
            .then_some(Obj::Folder(f));
    }
    if let Some(rest) = value.strip_prefix("domain-") {
        let cluster = rest.starts_with('c');
        let n = rest.get(1..)?.parse().ok()?;
        let id = ComputeId { n, cluster };
        return world
            .computes()
            .contains_key(&id)
            .then_some(Obj::Compute(id));
    }
    if let Some(id) = VmId::parse(value) {
        return world.vms().contains_key(&id).then_some(Obj::Vm(id));
    }
    if let Some(id) = HostId::parse(value) {
        return world.hosts().contains_key(&id).then_some(Obj::Host(id));
    }
    if let Some(id) = PoolId::parse(value) {
        return world.pools().contains_key(&id).then_some(Obj::Pool(id));
    }
    if let Some(rest) = value.strip_prefix(BROWSER) {
        let id = DatastoreId::parse(rest)?;
        return world
            .datastores()
            .contains_key(&id)
            .then_some(Obj::Browser(id));
    }
    if let Some(id) = DatastoreId::parse(value) {
        return world
            .datastores()
            .contains_key(&id)
            .then_some(Obj::Datastore(id));
    }
    if let Some(id) = NetworkId::parse(value) {
        return world
            .networks()
            .contains_key(&id)
            .then_some(Obj::Network(id));
    }
    if let Some(id) = DatacenterId::parse(value) {
        return world
            .datacenters()
            .contains_key(&id)
            .then_some(Obj::Datacenter(id));
    }
    if let Some(rest) = value.strip_prefix("task-") {
        if let Some(n) = rest.strip_prefix('s') {
            return n.parse().ok().map(Obj::SearchTask);
        }
        let n: u64 = rest.parse().ok()?;
        return world.tasks().get(n).map(|_| Obj::Task(n));
    }
    None
}

/// Resolves a singleton by its fixed id.
pub fn resolve_singleton(value: &str) -> Option<Obj> {
    Some(match value {
        "ServiceInstance" => Obj::ServiceInstance,
        "SessionManager" => Obj::SessionManager,
        "ViewManager" => Obj::ViewManager,
        "EventManager" => Obj::EventManager,
        "TaskManager" => Obj::TaskManager,
        "SearchIndex" => Obj::SearchIndex,
        "propertyCollector" => Obj::DefaultCollector,
        _ => return None,
    })
}

/// The `ManagedObjectNotFound` error for a reference.
pub fn not_found(ty: &str, value: &str) -> SoapError {
    SoapError::not_found(if ty.is_empty() { "ManagedObject" } else { ty }, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtypes_match_their_bases() {
        assert!(is_a("ClusterComputeResource", "ComputeResource"));
        assert!(is_a("ClusterComputeResource", "ManagedEntity"));
        assert!(is_a("VirtualMachine", "ManagedEntity"));
        assert!(!is_a("ComputeResource", "ClusterComputeResource"));
        assert!(!is_a("Task", "ManagedEntity"));
        assert!(is_a("ContainerView", "View"));
    }

    #[test]
    fn folder_ids_parse_with_their_kind() {
        assert_eq!(
            folder_id("group-v12"),
            Some(FolderId {
                n: 12,
                kind: FolderKind::Vm
            })
        );
        assert_eq!(folder_id("group-x1"), None);
        assert_eq!(folder_id("group-v"), None);
    }
}
