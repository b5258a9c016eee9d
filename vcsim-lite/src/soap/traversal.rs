//! `PropertyFilterSpec`s: parsing and evaluation. An `ObjectSpec` names a starting object; its
//! `TraversalSpec`s follow a reference-valued property (`Folder.childEntity`,
//! `ManagedEntity.parent`, `ContainerView.view`, ...) from objects of their type, and named
//! `SelectionSpec`s reuse a traversal defined anywhere in the spec (govc's `traverseParent`
//! recursion). Each object is visited once per traversal, so cycles end.

use std::collections::{BTreeMap, BTreeSet};

use super::Ctx;
use super::envelope::Element;
use super::error::SoapError;
use super::objects::{Obj, is_a};
use super::types::{self, value::Value};

/// A `PropertySpec`: which properties of which type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropSpec {
    /// The type (matches subtypes).
    pub ty: String,
    /// Every property of the type.
    pub all: bool,
    /// Property paths.
    pub paths: Vec<String>,
}

/// A selection in a `selectSet`: a traversal, or a reference to a named one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// A `SelectionSpec` by name.
    Named(String),
    /// A `TraversalSpec`.
    Traverse(Traversal),
}

/// A `TraversalSpec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traversal {
    /// Its name, for `SelectionSpec`s.
    pub name: Option<String>,
    /// The type it applies to.
    pub ty: String,
    /// The reference-valued property it follows.
    pub path: String,
    /// Whether the objects reached are left out of the result.
    pub skip: bool,
    /// What to do from the objects reached.
    pub select: Vec<Selection>,
}

/// An `ObjectSpec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjSpec {
    /// The starting object.
    pub obj: Obj,
    /// Whether the starting object is left out.
    pub skip: bool,
    /// Traversals from it.
    pub select: Vec<Selection>,
}

/// A `PropertyFilterSpec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterSpec {
    /// Property specs.
    pub props: Vec<PropSpec>,
    /// Object specs.
    pub objects: Vec<ObjSpec>,
}

fn parse_bool(el: Option<&Element>, default: bool) -> Result<bool, SoapError> {
    match el.map(|e| e.text.trim()) {
        None => Ok(default),
        Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(SoapError::invalid(
            el.map_or("", |e| e.name.as_str()),
            format!("`{other}` is not a boolean"),
        )),
    }
}

/// Parses a boolean argument.
pub fn arg_bool(el: Option<&Element>, default: bool) -> Result<bool, SoapError> {
    parse_bool(el, default)
}

fn parse_selection(el: &Element, depth: usize) -> Result<Selection, SoapError> {
    if depth > 32 {
        return Err(SoapError::invalid("selectSet", "nested too deep"));
    }
    let is_traversal =
        el.xsi_type.as_deref() == Some("TraversalSpec") || el.child("path").is_some();
    let name = el.text_of("name").map(str::to_string);
    if !is_traversal {
        return name
            .map(Selection::Named)
            .ok_or_else(|| SoapError::invalid("selectSet", "a SelectionSpec needs a name"));
    }
    let ty = el
        .text_of("type")
        .ok_or_else(|| SoapError::invalid("selectSet.type", "missing"))?;
    let path = el
        .text_of("path")
        .ok_or_else(|| SoapError::invalid("selectSet.path", "missing"))?;
    let select = el
        .all("selectSet")
        .map(|s| parse_selection(s, depth + 1))
        .collect::<Result<_, _>>()?;
    Ok(Selection::Traverse(Traversal {
        name,
        ty: ty.to_string(),
        path: path.to_string(),
        skip: parse_bool(el.child("skip"), false)?,
        select,
    }))
}

/// Parses a `PropertyFilterSpec` element, resolving its objects.
pub fn parse_spec(ctx: &Ctx<'_>, el: &Element) -> Result<FilterSpec, SoapError> {
    let mut props = Vec::new();
    for p in el.all("propSet") {
        let ty = p
            .text_of("type")
            .ok_or_else(|| SoapError::invalid("propSet.type", "missing"))?;
        props.push(PropSpec {
            ty: ty.to_string(),
            all: parse_bool(p.child("all"), false)?,
            paths: p
                .all("pathSet")
                .map(|x| x.text.trim().to_string())
                .collect(),
        });
    }
    let mut objects = Vec::new();
    for o in el.all("objectSet") {
        let obj_el = o
            .child("obj")
            .ok_or_else(|| SoapError::invalid("objectSet.obj", "missing"))?;
        objects.push(ObjSpec {
            obj: ctx.resolve_el(obj_el)?,
            skip: parse_bool(o.child("skip"), false)?,
            select: o
                .all("selectSet")
                .map(|s| parse_selection(s, 0))
                .collect::<Result<_, _>>()?,
        });
    }
    if props.is_empty() {
        return Err(SoapError::invalid("specSet.propSet", "missing"));
    }
    Ok(FilterSpec { props, objects })
}

fn collect_named<'a>(sel: &'a [Selection], out: &mut BTreeMap<&'a str, &'a Traversal>) {
    for s in sel {
        if let Selection::Traverse(t) = s {
            if let Some(n) = &t.name {
                out.entry(n.as_str()).or_insert(t);
            }
            collect_named(&t.select, out);
        }
    }
}

/// References a property holds (one, a list, or none).
fn refs_of(ctx: &Ctx<'_>, o: &Obj, path: &str) -> Vec<Obj> {
    let Ok(Some(v)) = types::property_path(ctx, o, path) else {
        return Vec::new();
    };
    let one = |v: &Value| match v {
        Value::Ref(ty, id) => ctx.resolve(ty, id).ok(),
        _ => None,
    };
    match &v {
        Value::List(_, items) => items.iter().filter_map(one).collect(),
        v => one(v).into_iter().collect(),
    }
}

/// The objects a spec selects, each once, in the order reached.
pub fn select(ctx: &Ctx<'_>, spec: &FilterSpec) -> Vec<Obj> {
    let mut named = BTreeMap::new();
    for o in &spec.objects {
        collect_named(&o.select, &mut named);
    }
    let mut out = Vec::new();
    let mut included = BTreeSet::new();
    let mut visited = BTreeSet::new();
    for o in &spec.objects {
        if !o.skip && included.insert(o.obj.clone()) {
            out.push(o.obj.clone());
        }
        for s in &o.select {
            walk(
                ctx,
                &named,
                s,
                &o.obj,
                &mut out,
                &mut included,
                &mut visited,
            );
        }
    }
    out
}

fn walk<'a>(
    ctx: &Ctx<'_>,
    named: &BTreeMap<&'a str, &'a Traversal>,
    sel: &'a Selection,
    from: &Obj,
    out: &mut Vec<Obj>,
    included: &mut BTreeSet<Obj>,
    visited: &mut BTreeSet<(Obj, *const Traversal)>,
) {
    let t: &Traversal = match sel {
        Selection::Traverse(t) => t,
        Selection::Named(n) => match named.get(n.as_str()) {
            Some(t) => t,
            None => return,
        },
    };
    if !is_a(from.type_name(), &t.ty) || !visited.insert((from.clone(), t as *const _)) {
        return;
    }
    for next in refs_of(ctx, from, &t.path) {
        if !t.skip && included.insert(next.clone()) {
            out.push(next.clone());
        }
        for s in &t.select {
            walk(ctx, named, s, &next, out, included, visited);
        }
    }
}

/// The property paths the spec asks of `o`, or `None` when no `PropertySpec` matches its type.
pub fn paths_for(o: &Obj, spec: &FilterSpec) -> Option<Vec<String>> {
    let mut paths: Vec<String> = Vec::new();
    let mut matched = false;
    for p in spec.props.iter().filter(|p| is_a(o.type_name(), &p.ty)) {
        matched = true;
        let add: Vec<String> = if p.all {
            types::all_properties(o)
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            p.paths.clone()
        };
        for a in add {
            if !paths.contains(&a) {
                paths.push(a);
            }
        }
    }
    matched.then_some(paths)
}

/// The values of `o`'s requested properties; unset ones are left out, unknown ones fail.
pub fn values(ctx: &Ctx<'_>, o: &Obj, paths: &[String]) -> Result<Vec<(String, Value)>, SoapError> {
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if let Some(v) = types::property_path(ctx, o, p)? {
            out.push((p.clone(), v));
        }
    }
    Ok(out)
}
