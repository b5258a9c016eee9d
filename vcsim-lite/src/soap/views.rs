//! `ViewManager`: container views (the entities below a container, optionally recursive,
//! filtered by type) and list views (a fixed list), both per session; `DestroyView`.

use super::Ctx;
use super::envelope::Request;
use super::error::SoapError;
use super::objects::{Obj, SessionKind, is_a};
use super::property_collector::wrong_this;
use super::traversal::arg_bool;
use super::types::entity;
use super::types::value::{Value, s};

/// A view.
#[derive(Clone, Debug)]
pub struct View {
    /// `ContainerView` or `ListView`.
    pub kind: SessionKind,
    /// The container (container views).
    pub container: Option<Obj>,
    /// Types to include (empty: all).
    pub types: Vec<String>,
    /// Whether the whole subtree counts.
    pub recursive: bool,
    /// The objects of a list view.
    pub list: Vec<Obj>,
}

impl View {
    /// The objects the view shows now.
    pub fn members(&self, ctx: &Ctx<'_>) -> Vec<Obj> {
        let w = &*ctx.world;
        let all = match (&self.kind, &self.container) {
            (SessionKind::ContainerView, Some(c)) if self.recursive => entity::descendants(w, c),
            (SessionKind::ContainerView, Some(c)) => entity::children(w, c),
            _ => self
                .list
                .iter()
                .filter(|o| ctx.resolve(o.type_name(), &o.id()).is_ok())
                .cloned()
                .collect(),
        };
        all.into_iter()
            .filter(|o| self.types.is_empty() || self.types.iter().any(|t| is_a(o.type_name(), t)))
            .collect()
    }
}

fn returned(kind: SessionKind, id: &str) -> String {
    format!("<returnval type=\"{}\">{id}</returnval>", kind.type_name())
}

/// `CreateContainerView(container, type[], recursive)`.
pub fn create_container_view(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let el = req
        .arg("container")
        .ok_or_else(|| SoapError::invalid("container", "missing"))?;
    let container = ctx.resolve_el(el)?;
    if !matches!(
        container,
        Obj::Folder(_) | Obj::Datacenter(_) | Obj::Compute(_) | Obj::Pool(_) | Obj::Host(_)
    ) {
        return Err(SoapError::invalid(
            "container",
            format!("{} is not a container", container.type_name()),
        ));
    }
    let view = View {
        kind: SessionKind::ContainerView,
        container: Some(container),
        types: req
            .body
            .all("type")
            .map(|t| t.text.trim().to_string())
            .collect(),
        recursive: arg_bool(req.arg("recursive"), false)?,
        list: Vec::new(),
    };
    let session = ctx.session()?;
    let id = session.new_id();
    session.views.insert(id.clone(), view);
    Ok(returned(SessionKind::ContainerView, &id))
}

/// `CreateListView(obj[])`.
pub fn create_list_view(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let list = req
        .body
        .all("obj")
        .map(|o| ctx.resolve_el(o))
        .collect::<Result<Vec<_>, _>>()?;
    let view = View {
        kind: SessionKind::ListView,
        container: None,
        types: Vec::new(),
        recursive: false,
        list,
    };
    let session = ctx.session()?;
    let id = session.new_id();
    session.views.insert(id.clone(), view);
    Ok(returned(SessionKind::ListView, &id))
}

/// `DestroyView`.
pub fn destroy_view(ctx: &mut Ctx<'_>, this: &Obj) -> Result<String, SoapError> {
    let Obj::Session(SessionKind::ContainerView | SessionKind::ListView, id) = this else {
        return Err(wrong_this("a View", this));
    };
    ctx.session()?.views.remove(id);
    Ok(String::new())
}

/// A view's property.
pub fn property(ctx: &Ctx<'_>, id: &str, name: &str) -> Result<Option<Value>, SoapError> {
    let Some(view) = ctx.session_ref().and_then(|s| s.views.get(id)) else {
        return Ok(None);
    };
    Ok(match name {
        "view" => Some(Value::List(
            "ManagedObjectReference",
            view.members(ctx).iter().map(Obj::to_value).collect(),
        )),
        "container" => view.container.as_ref().map(Obj::to_value),
        "type" => Some(Value::List(
            "string",
            view.types.iter().map(|t| s(t.as_str())).collect(),
        )),
        "recursive" => Some(Value::Bool(view.recursive)),
        n => return Err(SoapError::InvalidProperty(n.to_string())),
    })
}
