//! `SearchIndex`: `FindByInventoryPath`, `FindChild` and `FindByUuid`, as govc uses them to
//! resolve paths and `-vm.uuid`. A search that finds nothing returns no value, as vCenter does.

use super::Ctx;
use super::envelope::Request;
use super::error::SoapError;
use super::objects::Obj;
use super::traversal::arg_bool;
use super::types::entity;

fn found(o: Option<Obj>) -> String {
    o.map_or_else(String::new, |o| {
        let mut out = String::new();
        o.to_value().write_field(&mut out, "returnval");
        out
    })
}

fn child_named(ctx: &Ctx<'_>, parent: &Obj, name: &str) -> Option<Obj> {
    entity::children(ctx.world, parent)
        .into_iter()
        .find(|c| entity::name(ctx.world, c).as_deref() == Some(name))
}

/// `FindByInventoryPath(inventoryPath)`: `/DC0/vm/web-0`, `DC0/host/DC0_C0/Resources`.
pub fn find_by_inventory_path(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let path = req
        .body
        .text_of("inventoryPath")
        .ok_or_else(|| SoapError::invalid("inventoryPath", "missing"))?;
    let mut cur = Some(Obj::Folder(ctx.world.root_folder()));
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur = cur.and_then(|c| child_named(ctx, &c, part));
    }
    Ok(found(cur))
}

/// `FindChild(entity, name)`.
pub fn find_child(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let parent = ctx.resolve_el(
        req.arg("entity")
            .ok_or_else(|| SoapError::invalid("entity", "missing"))?,
    )?;
    let name = req
        .body
        .text_of("name")
        .ok_or_else(|| SoapError::invalid("name", "missing"))?;
    Ok(found(child_named(ctx, &parent, name)))
}

/// `FindByUuid(datacenter, uuid, vmSearch, instanceUuid)`: a VM by BIOS UUID (or a host).
pub fn find_by_uuid(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    let uuid = req
        .body
        .text_of("uuid")
        .ok_or_else(|| SoapError::invalid("uuid", "missing"))?
        .to_ascii_lowercase();
    if !arg_bool(req.arg("vmSearch"), false)? {
        return Ok(found(None));
    }
    if arg_bool(req.arg("instanceUuid"), false)? {
        return Err(SoapError::invalid(
            "instanceUuid",
            "searching by instance UUID is not supported by vcsim-lite",
        ));
    }
    let vm = ctx
        .world
        .vms()
        .values()
        .find(|v| v.uuid.to_ascii_lowercase() == uuid)
        .map(|v| Obj::Vm(v.id));
    Ok(found(vm))
}
