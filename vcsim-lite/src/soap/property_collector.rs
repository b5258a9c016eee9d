//! `PropertyCollector`: `RetrieveProperties`, `RetrievePropertiesEx` with paging
//! (`ContinueRetrievePropertiesEx`), filters and `WaitForUpdates(Ex)`, extra collectors, and
//! `Fetch` (pyVmomi's read of one property of any object).
//!
//! Updates are computed by comparing what a filter selects now with what it last reported:
//! new objects `enter` with all their properties, changed properties are `modify`, objects
//! that are gone `leave`. World tasks complete inside the call that starts them, so a task
//! filter's first update already carries the final `TaskInfo`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Ctx;
use super::envelope::{Element, Request, escape_into};
use super::error::SoapError;
use super::objects::{Obj, SessionKind};
use super::traversal::{self, FilterSpec};
use super::types::{self, value::Value};

/// The default collector's id.
pub const DEFAULT: &str = "propertyCollector";

/// Values a filter last reported: object, then property path to its written value.
type Reported = BTreeMap<Obj, BTreeMap<String, String>>;

/// A `PropertyFilter`.
#[derive(Debug)]
pub struct Filter {
    spec: FilterSpec,
    partial: bool,
    reported: Reported,
}

/// A `PropertyCollector` of a session: its filters and update version.
#[derive(Debug, Default)]
pub struct Collector {
    filters: BTreeMap<String, Filter>,
    version: u64,
}

fn collector_key(this: &Obj) -> Result<String, SoapError> {
    match this {
        Obj::DefaultCollector => Ok(DEFAULT.to_string()),
        Obj::Session(SessionKind::Collector, id) => Ok(id.clone()),
        o => Err(wrong_this("a PropertyCollector", o)),
    }
}

/// The error for a method called on the wrong kind of object.
pub fn wrong_this(expected: &str, o: &Obj) -> SoapError {
    SoapError::InvalidRequest(format!(
        "the method needs {expected}, not {} {}",
        o.type_name(),
        o.id()
    ))
}

/// Writes `<obj type="T">id</obj>`.
fn write_obj(out: &mut String, o: &Obj) {
    out.push_str("<obj type=\"");
    out.push_str(o.type_name());
    out.push_str("\">");
    escape_into(out, &o.id());
    out.push_str("</obj>");
}

fn write_content(out: &mut String, tag: &str, o: &Obj, props: &[(String, Value)]) {
    out.push('<');
    out.push_str(tag);
    out.push('>');
    write_obj(out, o);
    for (name, v) in props {
        out.push_str("<propSet><name>");
        escape_into(out, name);
        out.push_str("</name>");
        v.write_any(out, "val");
        out.push_str("</propSet>");
    }
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Evaluates every spec in `specSet`, giving one written `ObjectContent` per object.
fn retrieve(ctx: &Ctx<'_>, req: &Request, tag: &str) -> Result<Vec<String>, SoapError> {
    let mut specs = Vec::new();
    for el in req.body.all("specSet") {
        specs.push(traversal::parse_spec(ctx, el)?);
    }
    if specs.is_empty() {
        return Err(SoapError::invalid("specSet", "missing"));
    }
    let mut out = Vec::new();
    for spec in &specs {
        for o in traversal::select(ctx, spec) {
            let Some(paths) = traversal::paths_for(&o, spec) else {
                continue;
            };
            let values = traversal::values(ctx, &o, &paths)?;
            let mut s = String::new();
            write_content(&mut s, tag, &o, &values);
            out.push(s);
        }
    }
    Ok(out)
}

/// `RetrieveProperties`: every object, no paging.
pub fn retrieve_properties(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    Ok(retrieve(ctx, req, "returnval")?.concat())
}

fn max_objects(el: Option<&Element>) -> Result<Option<usize>, SoapError> {
    match el.and_then(|o| o.text_of("maxObjects")) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse::<usize>()
            .map(|n| Some(n.max(1)))
            .map_err(|_| SoapError::invalid("options.maxObjects", format!("`{t}` is not a count"))),
    }
}

fn page(ctx: &mut Ctx<'_>, mut rest: Vec<String>, size: usize) -> Result<String, SoapError> {
    if rest.is_empty() {
        return Ok(String::new());
    }
    let later = rest.split_off(size.min(rest.len()));
    let mut out = String::from("<returnval>");
    if !later.is_empty() {
        let session = ctx.session()?;
        let token = session.new_id();
        let _ = write!(out, "<token>{token}</token>");
        session.pages.insert(token, later);
    }
    for o in rest {
        out.push_str(&o);
    }
    out.push_str("</returnval>");
    Ok(out)
}

/// `RetrievePropertiesEx`: the first page and a token for the rest.
pub fn retrieve_properties_ex(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let size = max_objects(req.arg("options"))?.unwrap_or(ctx.ep.config.page_size);
    let all = retrieve(ctx, req, "objects")?;
    page(ctx, all, size.min(ctx.ep.config.page_size.max(1)))
}

/// `ContinueRetrievePropertiesEx(token)`.
pub fn continue_retrieve(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let token = req.body.text_of("token").unwrap_or_default();
    let rest = ctx
        .session()?
        .pages
        .remove(token)
        .ok_or_else(|| SoapError::invalid("token", format!("unknown token `{token}`")))?;
    let size = ctx.ep.config.page_size.max(1);
    page(ctx, rest, size)
}

/// `CancelRetrievePropertiesEx(token)`.
pub fn cancel_retrieve(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let token = req.body.text_of("token").unwrap_or_default();
    ctx.session()?
        .pages
        .remove(token)
        .ok_or_else(|| SoapError::invalid("token", format!("unknown token `{token}`")))?;
    Ok(String::new())
}

/// `CreatePropertyCollector`.
pub fn create_collector(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    collector_key(this)?;
    let session = ctx.session()?;
    let id = session.new_id();
    session.collectors.insert(id.clone(), Collector::default());
    Ok(format!(
        "<returnval type=\"PropertyCollector\">{id}</returnval>"
    ))
}

/// `DestroyPropertyCollector`: the collector and its filters (the default one only loses its
/// filters).
pub fn destroy_collector(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    let key = collector_key(this)?;
    let session = ctx.session()?;
    let gone = if key == DEFAULT {
        session.collectors.get_mut(DEFAULT).map(std::mem::take)
    } else {
        session.collectors.remove(&key)
    };
    if let Some(c) = gone {
        for f in c.filters.keys() {
            session.filters.remove(f);
        }
    }
    Ok(String::new())
}

/// `CreateFilter(spec, partialUpdates)`: checks the spec's objects and property names now.
pub fn create_filter(ctx: &mut Ctx<'_>, this: &Obj, req: &Request) -> Result<String, SoapError> {
    let key = collector_key(this)?;
    let spec_el = req
        .arg("spec")
        .ok_or_else(|| SoapError::invalid("spec", "missing"))?;
    let spec = traversal::parse_spec(ctx, spec_el)?;
    for o in traversal::select(ctx, &spec) {
        if let Some(paths) = traversal::paths_for(&o, &spec) {
            traversal::values(ctx, &o, &paths)?;
        }
    }
    let partial = traversal::arg_bool(req.arg("partialUpdates"), false)?;
    let session = ctx.session()?;
    let id = session.new_id();
    session.filters.insert(id.clone(), key.clone());
    session.collectors.entry(key).or_default().filters.insert(
        id.clone(),
        Filter {
            spec,
            partial,
            reported: Reported::new(),
        },
    );
    Ok(format!(
        "<returnval type=\"PropertyFilter\">{id}</returnval>"
    ))
}

/// `DestroyPropertyFilter`.
pub fn destroy_filter(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    let Obj::Session(SessionKind::Filter, id) = this else {
        return Err(wrong_this("a PropertyFilter", this));
    };
    let session = ctx.session()?;
    if let Some(c) = session.filters.remove(id)
        && let Some(col) = session.collectors.get_mut(&c)
    {
        col.filters.remove(id);
    }
    Ok(String::new())
}

/// A filter's `partialUpdates`.
pub fn filter_partial(ctx: &Ctx<'_>, id: &str) -> Option<bool> {
    let s = ctx.session_ref()?;
    let c = s.filters.get(id)?;
    Some(s.collectors.get(c)?.filters.get(id)?.partial)
}

/// A collector's properties (`filter`).
pub fn collector_property(
    ctx: &Ctx<'_>,
    this: &Obj,
    name: &str,
) -> Result<Option<Value>, SoapError> {
    let key = collector_key(this)?;
    match name {
        "filter" => Ok(Some(Value::List(
            "ManagedObjectReference",
            ctx.session_ref()
                .and_then(|s| s.collectors.get(&key))
                .map(|c| {
                    c.filters
                        .keys()
                        .map(|f| Value::Ref("PropertyFilter", f.clone()))
                        .collect()
                })
                .unwrap_or_default(),
        ))),
        n => Err(SoapError::InvalidProperty(n.to_string())),
    }
}

/// What a filter selects now: object to written property values.
fn current(ctx: &Ctx<'_>, spec: &FilterSpec) -> Reported {
    let mut now = Reported::new();
    for o in traversal::select(ctx, spec) {
        if ctx.resolve(o.type_name(), &o.id()).is_err() {
            continue;
        }
        let Some(paths) = traversal::paths_for(&o, spec) else {
            continue;
        };
        let Ok(values) = traversal::values(ctx, &o, &paths) else {
            continue;
        };
        let mut props = BTreeMap::new();
        for (p, v) in values {
            let mut s = String::new();
            v.write_any(&mut s, "val");
            props.insert(p, s);
        }
        now.insert(o, props);
    }
    now
}

/// Writes the `ObjectUpdate`s between `before` and `now`; empty if nothing changed.
fn diff(before: &Reported, now: &Reported) -> String {
    let mut out = String::new();
    let change = |out: &mut String, name: &str, val: Option<&String>| {
        out.push_str("<changeSet><name>");
        escape_into(out, name);
        out.push_str("</name><op>assign</op>");
        if let Some(v) = val {
            out.push_str(v);
        }
        out.push_str("</changeSet>");
    };
    for (o, props) in now {
        let old = before.get(o);
        let kind = if old.is_some() { "modify" } else { "enter" };
        let mut changes = String::new();
        for (p, v) in props {
            if old.and_then(|m| m.get(p)) != Some(v) {
                change(&mut changes, p, Some(v));
            }
        }
        if let Some(old) = old {
            for p in old.keys().filter(|p| !props.contains_key(*p)) {
                change(&mut changes, p, None);
            }
        }
        if old.is_some() && changes.is_empty() {
            continue;
        }
        out.push_str("<objectSet><kind>");
        out.push_str(kind);
        out.push_str("</kind>");
        write_obj(&mut out, o);
        out.push_str(&changes);
        out.push_str("</objectSet>");
    }
    for o in before.keys().filter(|o| !now.contains_key(*o)) {
        out.push_str("<objectSet><kind>leave</kind>");
        write_obj(&mut out, o);
        out.push_str("</objectSet>");
    }
    out
}

/// `WaitForUpdates(version)` and `WaitForUpdatesEx(version, options)`.
pub fn wait_for_updates(
    ctx: &mut Ctx<'_>,
    this: &Obj,
    req: &Request,
    ex: bool,
) -> Result<String, SoapError> {
    let key = collector_key(this)?;
    let version = req.body.text_of("version").unwrap_or_default().to_string();
    let max_wait = if ex {
        match req.arg("options").and_then(|o| o.text_of("maxWaitSeconds")) {
            None | Some("") => None,
            Some(t) => Some(t.parse::<u64>().map_err(|_| {
                SoapError::invalid("options.maxWaitSeconds", format!("`{t}` is not a number"))
            })?),
        }
    } else {
        None
    };
    let specs: Vec<(String, FilterSpec)> = ctx
        .session()?
        .collectors
        .get(&key)
        .map(|c| {
            c.filters
                .iter()
                .map(|(id, f)| (id.clone(), f.spec.clone()))
                .collect()
        })
        .unwrap_or_default();
    let now: Vec<(String, Reported)> = specs
        .iter()
        .map(|(id, spec)| (id.clone(), current(ctx, spec)))
        .collect();
    let session = ctx.session()?;
    let collector = session.collectors.entry(key).or_default();
    let mut filter_sets = String::new();
    for (id, state) in now {
        let Some(f) = collector.filters.get_mut(&id) else {
            continue;
        };
        let before = if version.is_empty() {
            Reported::new()
        } else {
            std::mem::take(&mut f.reported)
        };
        let objects = diff(&before, &state);
        f.reported = state;
        if !objects.is_empty() {
            let _ = write!(
                filter_sets,
                "<filterSet><filter type=\"PropertyFilter\">{id}</filter>{objects}</filterSet>"
            );
        }
    }
    if filter_sets.is_empty() {
        if ctx.may_wait && max_wait != Some(0) {
            ctx.wait = Some(max_wait);
        }
        return Ok(String::new());
    }
    collector.version += 1;
    Ok(format!(
        "<returnval><version>{}</version>{filter_sets}<truncated>false</truncated></returnval>",
        collector.version
    ))
}

/// `Fetch(prop)` on any object.
pub fn fetch(ctx: &mut Ctx<'_>, this: &Obj, req: &Request) -> Result<String, SoapError> {
    let prop = req
        .body
        .text_of("prop")
        .ok_or_else(|| SoapError::invalid("prop", "missing"))?;
    let mut out = String::new();
    if let Some(v) = types::property_path(ctx, this, prop)? {
        v.write_any(&mut out, "returnval");
    }
    Ok(out)
}
