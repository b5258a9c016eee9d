//! Property values of every managed object type, as vim25 data ([`value::Value`]).
//!
//! [`property`] reads one top-level property of an object; [`property_path`] follows a dotted
//! path below it (`summary.config.guestFullName`). An unknown top-level property is
//! `InvalidProperty`; a property that exists but is unset is `Ok(None)`.

pub mod datastore;
pub mod entity;
pub mod folder;
pub mod host;
pub mod pool;
pub mod task;
pub mod value;
pub mod vm;

use super::Ctx;
use super::error::SoapError;
use super::objects::{Obj, SessionKind};
use value::{Value, mor};

/// Properties every managed entity has but this simulator never sets.
const ENTITY_UNSET: &[&str] = &[
    "alarmActionsEnabled",
    "availableField",
    "customValue",
    "declaredAlarmState",
    "disabledMethod",
    "effectiveRole",
    "permission",
    "recentTask",
    "tag",
    "triggeredAlarmState",
    "value",
    "configIssue",
];

/// The properties `PropertySpec.all` returns for an object.
pub fn all_properties(o: &Obj) -> &'static [&'static str] {
    match o {
        Obj::Vm(_) => vm::PROPS,
        Obj::Host(_) => host::PROPS,
        Obj::Pool(_) => pool::POOL_PROPS,
        Obj::Compute(_) => pool::COMPUTE_PROPS,
        Obj::Datastore(_) => datastore::PROPS,
        Obj::Folder(_) => folder::FOLDER_PROPS,
        Obj::Datacenter(_) => folder::DATACENTER_PROPS,
        Obj::Network(_) => folder::NETWORK_PROPS,
        Obj::Task(_) | Obj::SearchTask(_) => &["info"],
        Obj::ServiceInstance => &["content", "serverClock"],
        Obj::SessionManager => &["currentSession", "defaultLocale"],
        Obj::EventManager => &["description", "latestEvent", "maxCollector"],
        Obj::TaskManager => &["recentTask", "maxCollector"],
        Obj::ViewManager => &["viewList"],
        Obj::DefaultCollector => &["filter"],
        Obj::Session(SessionKind::Collector, _) => &["filter"],
        Obj::Session(SessionKind::Filter, _) => &["partialUpdates"],
        Obj::Session(SessionKind::ContainerView, _) => &["view", "container", "type", "recursive"],
        Obj::Session(SessionKind::ListView, _) => &["view"],
        Obj::Session(SessionKind::EventCollector, _) => &["latestPage"],
        Obj::SearchIndex => &[],
        Obj::Browser(_) => &["datastore"],
    }
}

/// A type name from a request as one of the static names faults carry.
pub fn static_type(t: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "ServiceInstance",
        "SessionManager",
        "ViewManager",
        "EventManager",
        "TaskManager",
        "SearchIndex",
        "PropertyCollector",
        "PropertyFilter",
        "ContainerView",
        "ListView",
        "EventHistoryCollector",
        "Folder",
        "Datacenter",
        "ComputeResource",
        "ClusterComputeResource",
        "HostSystem",
        "ResourcePool",
        "Datastore",
        "Network",
        "VirtualMachine",
        "Task",
        "HostDatastoreBrowser",
        "ManagedEntity",
    ];
    KNOWN
        .iter()
        .find(|k| **k == t)
        .copied()
        .unwrap_or("ManagedObject")
}

/// One top-level property of an object.
pub fn property(ctx: &Ctx<'_>, o: &Obj, name: &str) -> Result<Option<Value>, SoapError> {
    let w = &*ctx.world;
    let res = match o {
        Obj::Vm(id) => vm::property(w, *id, name),
        Obj::Host(id) => host::property(w, *id, name),
        Obj::Pool(id) => pool::pool_property(w, *id, name),
        Obj::Compute(id) => pool::compute_property(w, *id, name),
        Obj::Datastore(id) => datastore::property(w, *id, name),
        Obj::Folder(id) => folder::folder_property(w, *id, name),
        Obj::Datacenter(id) => folder::datacenter_property(w, *id, name),
        Obj::Network(id) => folder::network_property(w, *id, name),
        Obj::Task(n) => match name {
            "info" => Ok(w
                .tasks()
                .get(*n)
                .map(|t| task::world_task_info(t, &ctx.user()).into())),
            n => Err(SoapError::InvalidProperty(n.to_string())),
        },
        Obj::SearchTask(n) => match name {
            "info" => Ok(ctx.ep.searches.get(n).map(|t| t.info(w, *n).into())),
            n => Err(SoapError::InvalidProperty(n.to_string())),
        },
        Obj::ServiceInstance => Ok(super::service_content::property(ctx, name)),
        Obj::SessionManager => super::session::handlers::property(ctx, name),
        Obj::EventManager => super::events::manager_property(ctx, name),
        Obj::TaskManager => match name {
            "recentTask" => Ok(Some(Value::List(
                "ManagedObjectReference",
                w.tasks()
                    .recent()
                    .rev()
                    .take(50)
                    .map(|t| mor("Task", t.moref()))
                    .collect(),
            ))),
            "maxCollector" => Ok(Some(value::int(100))),
            "description" => Ok(None),
            n => Err(SoapError::InvalidProperty(n.to_string())),
        },
        Obj::ViewManager => match name {
            "viewList" => Ok(Some(Value::List(
                "ManagedObjectReference",
                ctx.session_ref()
                    .map(|s| {
                        s.views
                            .iter()
                            .map(|(id, v)| Value::Ref(v.kind.type_name(), id.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            ))),
            n => Err(SoapError::InvalidProperty(n.to_string())),
        },
        Obj::DefaultCollector | Obj::Session(SessionKind::Collector, _) => {
            super::property_collector::collector_property(ctx, o, name)
        }
        Obj::Session(SessionKind::Filter, id) => match name {
            "partialUpdates" => {
                Ok(super::property_collector::filter_partial(ctx, id).map(Value::Bool))
            }
            "spec" => Ok(None),
            n => Err(SoapError::InvalidProperty(n.to_string())),
        },
        Obj::Session(SessionKind::ContainerView | SessionKind::ListView, id) => {
            super::views::property(ctx, id, name)
        }
        Obj::Session(SessionKind::EventCollector, id) => {
            super::events::collector_property(ctx, id, name)
        }
        Obj::SearchIndex => Err(SoapError::InvalidProperty(name.to_string())),
        Obj::Browser(id) => match name {
            "datastore" => Ok(Some(Value::List(
                "ManagedObjectReference",
                vec![mor("Datastore", id)],
            ))),
            "supportedType" => Ok(None),
            n => Err(SoapError::InvalidProperty(n.to_string())),
        },
    };
    match res {
        Err(SoapError::InvalidProperty(p)) if o.is_entity() => {
            if ENTITY_UNSET.contains(&p.as_str()) {
                Ok(None)
            } else {
                Err(SoapError::InvalidProperty(p))
            }
        }
        r => r,
    }
}

/// A property path: the top-level property, then fields below it.
pub fn property_path(ctx: &Ctx<'_>, o: &Obj, path: &str) -> Result<Option<Value>, SoapError> {
    let mut parts = path.split('.');
    let top = parts.next().unwrap_or_default();
    let Some(v) = property(ctx, o, top)? else {
        return Ok(None);
    };
    let rest: Vec<&str> = parts.collect();
    if rest.is_empty() {
        return Ok(Some(v));
    }
    Ok(v.at(&rest).cloned())
}
