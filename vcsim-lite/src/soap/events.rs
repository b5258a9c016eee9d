//! `EventManager` (`QueryEvents`, `CreateCollectorForEvents`, `description`, `latestEvent`)
//! and `EventHistoryCollector` (`latestPage`, `SetCollectorPageSize`, `ReadNextEvents`,
//! `ReadPreviousEvents`, `RewindCollector`, `ResetCollector`, `DestroyCollector`) over the
//! world's event log. A collector sees events logged after it was made, as vCenter's do.

use std::collections::BTreeSet;

use super::Ctx;
use super::envelope::{Element, Request};
use super::error::SoapError;
use super::objects::{Obj, SessionKind};
use super::property_collector::wrong_this;
use super::types::entity;
use super::types::task::moref_type;
use super::types::value::{Data, Value, int, mor, s};
use crate::sim::event::{EntityRef, Event, EventKind};

/// The most events `QueryEvents` returns without a `maxCount`.
pub const QUERY_LIMIT: usize = 1000;
/// The largest `latestPage`.
pub const MAX_PAGE: usize = 1000;

/// Every event type the world logs.
const KINDS: &[EventKind] = &[
    EventKind::VmCreatedEvent,
    EventKind::VmStartingEvent,
    EventKind::VmPoweredOnEvent,
    EventKind::DrsVmPoweredOnEvent,
    EventKind::VmStoppingEvent,
    EventKind::VmPoweredOffEvent,
    EventKind::VmReconfiguredEvent,
    EventKind::VmRemovedEvent,
    EventKind::VmMigratedEvent,
    EventKind::DrsVmMigratedEvent,
    EventKind::ResourcePoolCreatedEvent,
    EventKind::ResourcePoolReconfiguredEvent,
    EventKind::ResourcePoolDestroyedEvent,
    EventKind::EnteringMaintenanceModeEvent,
    EventKind::EnteredMaintenanceModeEvent,
    EventKind::ExitMaintenanceModeEvent,
    EventKind::HostDisconnectedEvent,
    EventKind::HostConnectedEvent,
];

/// What a filter selects (`EventFilterSpec`).
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Morefs (as text) of the entity and, with recursion, its descendants.
    entities: Option<BTreeSet<String>>,
    /// Type names (`eventTypeId` and `type`); empty: all.
    types: Vec<String>,
    /// `eventChainId`.
    chain: Option<u64>,
    /// `maxCount`.
    max_count: Option<usize>,
}

/// An `EventHistoryCollector`.
#[derive(Clone, Debug)]
pub struct EventCollector {
    filter: EventFilter,
    page_size: usize,
    /// Index into the matching events of the next `ReadNextEvents`.
    cursor: usize,
}

fn is_type(kind: EventKind, name: &str) -> bool {
    use EventKind::*;
    let base = kind.as_str();
    base == name
        || name == "Event"
        || (name == "VmEvent" && base.contains("Vm"))
        || (name == "HostEvent"
            && matches!(
                kind,
                EnteringMaintenanceModeEvent
                    | EnteredMaintenanceModeEvent
                    | ExitMaintenanceModeEvent
                    | HostDisconnectedEvent
                    | HostConnectedEvent
            ))
        || (name == "ResourcePoolEvent" && base.starts_with("ResourcePool"))
        || KINDS.iter().any(|k| k.as_str() == name && kind.is_a(*k))
}

impl EventFilter {
    fn matches(&self, e: &Event) -> bool {
        if let Some(ents) = &self.entities {
            let refs = [&e.datacenter, &e.compute_resource, &e.host, &e.vm, &e.other];
            if !refs
                .iter()
                .filter_map(|r| r.as_ref())
                .any(|r| ents.contains(&r.moref.to_string()))
            {
                return false;
            }
        }
        if !self.types.is_empty() && !self.types.iter().any(|t| is_type(e.kind, t)) {
            return false;
        }
        self.chain.is_none_or(|c| e.chain_id == c)
    }
}

fn parse_filter(ctx: &Ctx<'_>, el: Option<&Element>) -> Result<EventFilter, SoapError> {
    let Some(el) = el else {
        return Ok(EventFilter::default());
    };
    if el.child("time").is_some() || el.child("userName").is_some() {
        return Err(SoapError::invalid(
            "filter",
            "time and userName filters are not supported by vcsim-lite",
        ));
    }
    let entities = match el.child("entity") {
        None => None,
        Some(by) => {
            let obj_el = by
                .child("entity")
                .ok_or_else(|| SoapError::invalid("filter.entity.entity", "missing"))?;
            let o = ctx.resolve_el(obj_el)?;
            let recursion = by.text_of("recursion").unwrap_or("self");
            let mut set = BTreeSet::from([o.id()]);
            match recursion {
                "self" => {}
                "children" => set.extend(entity::children(ctx.world, &o).iter().map(Obj::id)),
                "all" | "all-children" => {
                    set.extend(entity::descendants(ctx.world, &o).iter().map(Obj::id))
                }
                other => {
                    return Err(SoapError::invalid(
                        "filter.entity.recursion",
                        format!("`{other}` is not self, children, all or all-children"),
                    ));
                }
            }
            Some(set)
        }
    };
    let mut types: Vec<String> = el
        .all("eventTypeId")
        .map(|t| t.text.trim().to_string())
        .collect();
    types.extend(el.all("type").map(|t| t.text.trim().to_string()));
    let num = |name: &str| -> Result<Option<u64>, SoapError> {
        el.text_of(name)
            .map(|t| {
                t.parse()
                    .map_err(|_| SoapError::invalid(name, format!("`{t}` is not a number")))
            })
            .transpose()
    };
    Ok(EventFilter {
        entities,
        types,
        chain: num("eventChainId")?,
        max_count: num("maxCount")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    })
}

fn arg(
    r: &Option<EntityRef>,
    ty: &'static str,
    field: &'static str,
    ref_ty: Option<&'static str>,
) -> Option<Value> {
    r.as_ref().map(|r| {
        Data::new(ty)
            .with("name", s(&*r.name))
            .with(field, mor(ref_ty.unwrap_or(moref_type(&r.moref)), r.moref))
            .into()
    })
}

/// An event as its vim type.
pub fn event_data(e: &Event) -> Data {
    use EventKind::*;
    let mut d = Data::new(e.kind.as_str())
        .with("key", int(e.key))
        .with("chainId", int(e.chain_id))
        .with("createdTime", Value::Time(e.created))
        .with("userName", s(""))
        .with_opt(
            "datacenter",
            arg(
                &e.datacenter,
                "DatacenterEventArgument",
                "datacenter",
                Some("Datacenter"),
            ),
        )
        .with_opt(
            "computeResource",
            arg(
                &e.compute_resource,
                "ComputeResourceEventArgument",
                "computeResource",
                None,
            ),
        )
        .with_opt(
            "host",
            arg(&e.host, "HostEventArgument", "host", Some("HostSystem")),
        )
        .with_opt(
            "vm",
            arg(&e.vm, "VmEventArgument", "vm", Some("VirtualMachine")),
        )
        .with("fullFormattedMessage", s(e.message()));
    if e.kind.as_str().contains("Vm") {
        d = d.with("template", Value::Bool(false));
    }
    match e.kind {
        VmMigratedEvent | DrsVmMigratedEvent => {
            d = d.with_opt(
                "sourceHost",
                arg(&e.other, "HostEventArgument", "host", Some("HostSystem")),
            );
        }
        VmReconfiguredEvent => {
            d = d.with("configSpec", Data::new("VirtualMachineConfigSpec").into());
        }
        ResourcePoolCreatedEvent | ResourcePoolReconfiguredEvent | ResourcePoolDestroyedEvent => {
            d = d.with_opt(
                "resourcePool",
                arg(
                    &e.other,
                    "ResourcePoolEventArgument",
                    "resourcePool",
                    Some("ResourcePool"),
                ),
            );
        }
        _ => {}
    }
    d
}

fn matching<'a>(ctx: &'a Ctx<'_>, f: &EventFilter) -> Vec<&'a Event> {
    ctx.world
        .events()
        .events()
        .iter()
        .filter(|e| f.matches(e))
        .collect()
}

fn event_list(events: &[&Event]) -> Value {
    Value::List(
        "Event",
        events.iter().map(|e| event_data(e).into()).collect(),
    )
}

fn write_events(events: &[&Event]) -> String {
    let mut out = String::new();
    for e in events {
        Value::Obj(event_data(e)).write_field(&mut out, "returnval");
    }
    out
}

/// `QueryEvents(filter)`: matching events, oldest first, at most `maxCount` (newest kept).
pub fn query_events(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let f = parse_filter(ctx, req.arg("filter"))?;
    let all = matching(ctx, &f);
    let n = f.max_count.unwrap_or(QUERY_LIMIT).min(all.len());
    Ok(write_events(&all[all.len() - n..]))
}

/// `CreateCollectorForEvents(filter)`.
pub fn create_collector(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let filter = parse_filter(ctx, req.arg("filter"))?;
    let session = ctx.session()?;
    let id = session.new_id();
    session.event_collectors.insert(
        id.clone(),
        EventCollector {
            filter,
            page_size: 10,
            cursor: 0,
        },
    );
    Ok(format!(
        "<returnval type=\"EventHistoryCollector\">{id}</returnval>"
    ))
}

fn collector_id(this: &Obj) -> Result<&str, SoapError> {
    match this {
        Obj::Session(SessionKind::EventCollector, id) => Ok(id),
        o => Err(wrong_this("an EventHistoryCollector", o)),
    }
}

fn count_arg(req: &Request, name: &str) -> Result<usize, SoapError> {
    let t = req
        .body
        .text_of(name)
        .ok_or_else(|| SoapError::invalid(name, "missing"))?;
    t.parse::<usize>()
        .map_err(|_| SoapError::invalid(name, format!("`{t}` is not a count")))
}

/// The collector methods: page size, reads, rewind, reset, destroy.
pub fn collector_call(ctx: &mut Ctx<'_>, this: &Obj, req: &Request) -> Result<String, SoapError> {
    let id = collector_id(this)?.to_string();
    let c = ctx
        .session_ref()
        .and_then(|s| s.event_collectors.get(&id))
        .cloned()
        .ok_or_else(|| SoapError::not_found("EventHistoryCollector", &id))?;
    let total = matching(ctx, &c.filter).len();
    let (updated, out) = match req.method.as_str() {
        "SetCollectorPageSize" => {
            let n = count_arg(req, "maxCount")?;
            if n > MAX_PAGE {
                return Err(SoapError::invalid(
                    "maxCount",
                    format!("at most {MAX_PAGE}"),
                ));
            }
            (EventCollector { page_size: n, ..c }, String::new())
        }
        "ReadNextEvents" => {
            let n = count_arg(req, "maxCount")?;
            let all = matching(ctx, &c.filter);
            let start = c.cursor.min(total);
            let end = start.saturating_add(n).min(total);
            let out = write_events(&all[start..end]);
            (EventCollector { cursor: end, ..c }, out)
        }
        "ReadPreviousEvents" => {
            let n = count_arg(req, "maxCount")?;
            let all = matching(ctx, &c.filter);
            let end = c.cursor.min(total);
            let start = end.saturating_sub(n);
            let out = write_events(&all[start..end]);
            (EventCollector { cursor: start, ..c }, out)
        }
        "RewindCollector" => (EventCollector { cursor: 0, ..c }, String::new()),
        "ResetCollector" => {
            let cursor = total.saturating_sub(c.page_size);
            (EventCollector { cursor, ..c }, String::new())
        }
        "DestroyCollector" => {
            ctx.session()?.event_collectors.remove(&id);
            return Ok(String::new());
        }
        m => {
            return Err(SoapError::NotImplemented {
                method: m.to_string(),
            });
        }
    };
    ctx.session()?.event_collectors.insert(id, updated);
    Ok(out)
}

/// An `EventHistoryCollector` property.
pub fn collector_property(ctx: &Ctx<'_>, id: &str, name: &str) -> Result<Option<Value>, SoapError> {
    let Some(c) = ctx.session_ref().and_then(|s| s.event_collectors.get(id)) else {
        return Ok(None);
    };
    match name {
        "latestPage" => {
            let all = matching(ctx, &c.filter);
            let start = all.len().saturating_sub(c.page_size);
            Ok(Some(event_list(&all[start..])))
        }
        "filter" => Ok(None),
        n => Err(SoapError::InvalidProperty(n.to_string())),
    }
}

/// An `EventManager` property.
pub fn manager_property(ctx: &Ctx<'_>, name: &str) -> Result<Option<Value>, SoapError> {
    match name {
        "latestEvent" => Ok(ctx
            .world
            .events()
            .events()
            .last()
            .map(|e| event_data(e).into())),
        "maxCollector" => Ok(Some(int(1000))),
        "description" => {
            let details = KINDS
                .iter()
                .map(|k| {
                    Data::new("EventDescriptionEventDetail")
                        .with("key", s(k.as_str()))
                        .with("description", s(k.as_str()))
                        .with("category", s("info"))
                        .with("formatOnDatacenter", s(""))
                        .with("formatOnComputeResource", s(""))
                        .with("formatOnHost", s(""))
                        .with("formatOnVm", s(""))
                        .with("fullFormat", s(""))
                        .into()
                })
                .collect();
            let category = ["info", "warning", "error", "user"]
                .iter()
                .map(|c| {
                    Data::new("ElementDescription")
                        .with("label", s(*c))
                        .with("summary", s(*c))
                        .with("key", s(*c))
                        .into()
                })
                .collect();
            Ok(Some(
                Data::new("EventDescription")
                    .with("category", Value::List("ElementDescription", category))
                    .with(
                        "eventInfo",
                        Value::List("EventDescriptionEventDetail", details),
                    )
                    .into(),
            ))
        }
        n => Err(SoapError::InvalidProperty(n.to_string())),
    }
}
