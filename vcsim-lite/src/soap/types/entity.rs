//! The inventory tree as vSphere's `ManagedEntity` sees it: names, parents and children of
//! every world object. The world keeps these relations in its own shape (a compute resource
//! lists its hosts, a datacenter its datastores); this module answers `parent` and
//! `childEntity` for all of them.

use crate::soap::objects::Obj;
use crate::vsphere::{FolderId, FolderKind, World};

/// The root folder's name, as vCenter calls it.
pub const ROOT_FOLDER_NAME: &str = "Datacenters";

/// An entity's name, or `None` if the object is not an entity of this world.
pub fn name(w: &World, o: &Obj) -> Option<String> {
    Some(match o {
        Obj::Folder(f) if *f == w.root_folder() => ROOT_FOLDER_NAME.to_string(),
        Obj::Folder(f) => w.folders().get(f)?.name.to_string(),
        Obj::Datacenter(d) => w.datacenters().get(d)?.name.to_string(),
        Obj::Compute(c) => w.computes().get(c)?.name.to_string(),
        Obj::Host(h) => w.hosts().get(h)?.name.to_string(),
        Obj::Pool(p) => w.pools().get(p)?.name.to_string(),
        Obj::Datastore(d) => w.datastores().get(d)?.name.to_string(),
        Obj::Network(n) => w.networks().get(n)?.name.to_string(),
        Obj::Vm(v) => w.vms().get(v)?.name.to_string(),
        _ => return None,
    })
}

/// An entity's parent (`None` for the root folder and for non-entities).
pub fn parent(w: &World, o: &Obj) -> Option<Obj> {
    let dc = |id| w.datacenters().get(&id);
    Some(match o {
        Obj::Folder(f) if *f == w.root_folder() => return None,
        Obj::Folder(f) => {
            let folder = w.folders().get(f)?;
            match folder.parent {
                Some(p) => Obj::Folder(p),
                None => Obj::Datacenter(folder.datacenter),
            }
        }
        Obj::Datacenter(_) => Obj::Folder(w.root_folder()),
        Obj::Compute(c) => Obj::Folder(dc(w.computes().get(c)?.datacenter)?.host_folder),
        Obj::Host(h) => Obj::Compute(w.hosts().get(h)?.compute),
        Obj::Pool(p) => {
            let pool = w.pools().get(p)?;
            match pool.parent {
                Some(pp) => Obj::Pool(pp),
                None => Obj::Compute(pool.compute),
            }
        }
        Obj::Datastore(d) => Obj::Folder(dc(w.datastores().get(d)?.datacenter)?.datastore_folder),
        Obj::Network(n) => Obj::Folder(dc(w.networks().get(n)?.datacenter)?.network_folder),
        Obj::Vm(v) => Obj::Folder(w.vms().get(v)?.folder),
        _ => return None,
    })
}

/// A folder's `childEntity`: child folders, then the objects of its kind.
pub fn folder_children(w: &World, f: FolderId) -> Vec<Obj> {
    if f == w.root_folder() {
        return w
            .datacenters()
            .keys()
            .map(|d| Obj::Datacenter(*d))
            .collect();
    }
    let Some(folder) = w.folders().get(&f) else {
        return Vec::new();
    };
    let mut out: Vec<Obj> = folder.folders.values().map(|c| Obj::Folder(*c)).collect();
    let dc = w.datacenters().get(&folder.datacenter);
    match f.kind {
        FolderKind::Vm => out.extend(folder.vms.values().map(|v| Obj::Vm(*v))),
        FolderKind::Host => {
            if let Some(dc) = dc.filter(|d| d.host_folder == f) {
                out.extend(dc.computes.iter().map(|c| Obj::Compute(*c)));
            }
        }
        FolderKind::Datastore => {
            if let Some(dc) = dc.filter(|d| d.datastore_folder == f) {
                out.extend(dc.datastores.iter().map(|d| Obj::Datastore(*d)));
            }
        }
        FolderKind::Network => {
            if let Some(dc) = dc.filter(|d| d.network_folder == f) {
                out.extend(dc.networks.iter().map(|n| Obj::Network(*n)));
            }
        }
        FolderKind::Datacenter => {}
    }
    out
}

/// A folder's `childType`.
pub fn folder_child_types(w: &World, f: FolderId) -> &'static [&'static str] {
    if f == w.root_folder() {
        return &["Folder", "Datacenter"];
    }
    match f.kind {
        FolderKind::Datacenter => &["Folder", "Datacenter"],
        FolderKind::Vm => &["Folder", "VirtualMachine", "VirtualApp"],
        FolderKind::Host => &["Folder", "ComputeResource"],
        FolderKind::Datastore => &["Folder", "Datastore", "StoragePod"],
        FolderKind::Network => &["Folder", "Network", "DistributedVirtualSwitch"],
    }
}

/// The entities a container view over `o` sees one level down: folder children, a
/// datacenter's four folders, a compute resource's hosts and root pool, a pool's child pools
/// and VMs.
pub fn children(w: &World, o: &Obj) -> Vec<Obj> {
    match o {
        Obj::Folder(f) => folder_children(w, *f),
        Obj::Datacenter(d) => w.datacenters().get(d).map_or_else(Vec::new, |dc| {
            vec![
                Obj::Folder(dc.vm_folder),
                Obj::Folder(dc.host_folder),
                Obj::Folder(dc.datastore_folder),
                Obj::Folder(dc.network_folder),
            ]
        }),
        Obj::Compute(c) => w.computes().get(c).map_or_else(Vec::new, |c| {
            let mut out: Vec<Obj> = c.hosts.iter().map(|h| Obj::Host(*h)).collect();
            out.push(Obj::Pool(c.root_pool));
            out
        }),
        Obj::Pool(p) => w.pools().get(p).map_or_else(Vec::new, |p| {
            let mut out: Vec<Obj> = p.children.iter().map(|c| Obj::Pool(*c)).collect();
            out.extend(p.vms.iter().map(|v| Obj::Vm(*v)));
            out
        }),
        _ => Vec::new(),
    }
}

/// Every entity below `o` (not `o` itself), depth first, each once.
pub fn descendants(w: &World, o: &Obj) -> Vec<Obj> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut stack = children(w, o);
    stack.reverse();
    while let Some(next) = stack.pop() {
        if !seen.insert(next.clone()) {
            continue;
        }
        let mut kids = children(w, &next);
        kids.reverse();
        out.push(next);
        stack.extend(kids);
    }
    out
}

/// The inventory path of an entity (`/DC0/vm/web-0`), as `SearchIndex` reads it.
pub fn inventory_path(w: &World, o: &Obj) -> String {
    let mut names = Vec::new();
    let mut cur = Some(o.clone());
    while let Some(c) = cur {
        if matches!(&c, Obj::Folder(f) if *f == w.root_folder()) {
            break;
        }
        names.push(name(w, &c).unwrap_or_default());
        cur = parent(w, &c);
    }
    names.reverse();
    format!("/{}", names.join("/"))
}
