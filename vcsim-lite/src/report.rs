//! Renders a world for people (an indented tree with capacity, reservations and usage at each
//! level) and for tools (JSON). The core types are not `Serialize`: output formats live here.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::sim::event::{EntityRef, Event};
use crate::vsphere::{
    Allocation, ComputeResource, Host, Pool, PoolId, PoolResource, Resource, Vm, World,
};

fn gib(mib: u64) -> String {
    if mib >= 1024 * 1024 && mib.is_multiple_of(1024 * 1024) {
        format!("{} TiB", mib / (1024 * 1024))
    } else if mib.is_multiple_of(1024) {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{:.1} GiB", mib as f64 / 1024.0)
    }
}

fn limit(l: Option<u64>) -> String {
    l.map_or_else(|| "unlimited".to_string(), |l| l.to_string())
}

/// The inventory as an indented tree.
pub fn tree(w: &World) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vCenter (seed {}, {} hosts, {} VMs, time {})",
        w.seed(),
        w.hosts().len(),
        w.vms().len(),
        w.now()
    );
    for dc in w.datacenters().values() {
        let _ = writeln!(out, "Datacenter {} ({})", dc.name, dc.id);
        for c in dc.computes.iter().filter_map(|c| w.computes().get(c)) {
            compute_tree(w, c, &mut out);
        }
        for ds in dc.datastores.iter().filter_map(|d| w.datastores().get(d)) {
            let _ = writeln!(
                out,
                "  Datastore {} ({}): {} capacity, {} free, mounted by {} host(s)",
                ds.name,
                ds.id,
                gib(ds.capacity_mib),
                gib(ds.free_mib()),
                ds.hosts.len()
            );
        }
        for n in dc.networks.iter().filter_map(|n| w.networks().get(n)) {
            let _ = writeln!(out, "  Network {} ({})", n.name, n.id);
        }
    }
    out
}

fn compute_tree(w: &World, c: &ComputeResource, out: &mut String) {
    let usable = c
        .hosts
        .iter()
        .filter_map(|h| w.hosts().get(h))
        .filter(|h| h.is_usable())
        .count();
    let root = w.pools().get(&c.root_pool);
    let (cpu, mem) = root.map_or((0, 0), |p| {
        (p.cpu.alloc.reservation, p.memory.alloc.reservation)
    });
    let (cpu_use, mem_use) = root.map_or((0, 0), |p| (p.cpu.usage, p.memory.usage));
    let capacity = format!(
        "cpu {cpu} MHz ({cpu_use} MHz used), memory {} ({mem_use} MiB used)",
        gib(mem)
    );
    if c.is_cluster {
        let _ = writeln!(
            out,
            "  Cluster {} ({}), DRS {}, {usable}/{} hosts usable: {capacity}",
            c.name,
            c.id,
            if c.drs { "on" } else { "off" },
            c.hosts.len()
        );
    } else {
        let _ = writeln!(out, "  Standalone host {} ({}): {capacity}", c.name, c.id);
    }
    for h in c.hosts.iter().filter_map(|h| w.hosts().get(h)) {
        host_line(h, out);
    }
    pool_tree(w, c.root_pool, 2, out);
}

fn host_line(h: &Host, out: &mut String) {
    let state = match (h.connected, h.maintenance) {
        (false, _) => "disconnected",
        (true, true) => "maintenance",
        (true, false) => "connected",
    };
    let _ = writeln!(
        out,
        "    Host {} ({}) {state}: {}x{} cores @ {} MHz = {} MHz, {} ({} for VMs); reserved {} MHz / {} MiB; usage {} MHz / {} MiB; {} VMs",
        h.name,
        h.id,
        h.sockets,
        h.cores_per_socket,
        h.mhz_per_core,
        h.cpu_capacity_mhz(),
        gib(h.memory_mib),
        gib(h.memory_capacity_mib()),
        h.cpu_reserved_mhz,
        h.memory_reserved_mib,
        h.cpu_usage_mhz,
        h.memory_usage_mib,
        h.vms.len()
    );
}

fn resource_text(w: &World, p: &Pool, r: Resource) -> String {
    let pr = if r == Resource::Cpu {
        &p.cpu
    } else {
        &p.memory
    };
    format!(
        "{r} res {} lim {} {}used {} unreserved {} usage {} {}",
        pr.alloc.reservation,
        limit(pr.alloc.limit),
        if pr.alloc.expandable && p.parent.is_some() {
            "exp "
        } else {
            ""
        },
        pr.used,
        w.unreserved(p.id, r),
        pr.usage,
        r.unit()
    )
}

fn pool_tree(w: &World, id: PoolId, depth: usize, out: &mut String) {
    let Some(p) = w.pools().get(&id) else { return };
    let pad = "  ".repeat(depth);
    let _ = writeln!(
        out,
        "{pad}Pool {} ({}): {}; {}",
        p.name,
        p.id,
        resource_text(w, p, Resource::Cpu),
        resource_text(w, p, Resource::Memory)
    );
    for v in p.vms.iter().filter_map(|v| w.vms().get(v)) {
        let host = w.hosts().get(&v.host).map_or("?", |h| &*h.name);
        let _ = writeln!(
            out,
            "{pad}  VM {} ({}) {} on {host}: {} vCPU, {} MiB, res {} MHz / {} MiB, usage {} MHz / {} MiB",
            v.name,
            v.id,
            v.power_state.as_str(),
            v.vcpus,
            v.memory_mib,
            v.cpu_alloc.reservation,
            v.memory_alloc.reservation,
            v.runtime.cpu_usage_mhz,
            v.runtime.memory_usage_mib
        );
    }
    for c in &p.children {
        pool_tree(w, *c, depth + 1, out);
    }
}

fn alloc_json(a: &Allocation) -> Value {
    json!({
        "reservation": a.reservation,
        "limit": a.limit.map_or(-1, |l| l as i64),
        "expandableReservation": a.expandable,
        "shares": a.shares.level(),
    })
}

fn pool_resource_json(w: &World, p: &Pool, r: Resource) -> Value {
    let pr: &PoolResource = if r == Resource::Cpu {
        &p.cpu
    } else {
        &p.memory
    };
    json!({
        "allocation": alloc_json(&pr.alloc),
        "reservationUsed": pr.used,
        "unreserved": w.unreserved(p.id, r),
        "overallUsage": pr.usage,
    })
}

fn vm_json(w: &World, v: &Vm) -> Value {
    json!({
        "id": v.id.to_string(),
        "name": &*v.name,
        "uuid": v.uuid,
        "vmPathName": v.vm_path_name,
        "devices": v.devices.iter().map(|d| json!({
            "key": d.key, "type": d.kind.as_str(), "label": d.label, "backing": d.backing,
        })).collect::<Vec<_>>(),
        "folder": v.folder.to_string(),
        "pool": v.pool.to_string(),
        "host": v.host.to_string(),
        "datastore": v.datastore.to_string(),
        "powerState": v.power_state.as_str(),
        "numCpu": v.vcpus,
        "memoryMB": v.memory_mib,
        "cpuReservation": v.cpu_alloc.reservation,
        "cpuLimit": v.cpu_alloc.limit.map_or(-1, |l| l as i64),
        "memoryReservation": v.memory_alloc.reservation,
        "memoryLimit": v.memory_alloc.limit.map_or(-1, |l| l as i64),
        "guestId": v.guest_id,
        "alternateGuestName": v.alternate_guest_name,
        "guestFullName": crate::vsphere::guest::guest_full_name(&v.guest_id, &v.alternate_guest_name),
        "extraConfig": v.extra_config,
        "changeVersion": v.change_version.to_string(),
        "disks": v.disks.iter().map(|d| json!({
            "key": d.key, "capacityMB": d.capacity_mib, "thin": d.thin,
            "consumedMB": d.consumed_mib, "datastore": d.datastore.to_string(),
            "attachedFile": d.attached.as_deref(),
        })).collect::<Vec<_>>(),
        "runtime": {
            "cpuReservedMhz": v.runtime.cpu_reserved_mhz,
            "memoryReservedMB": v.runtime.memory_reserved_mib,
            "cpuUsageMhz": v.runtime.cpu_usage_mhz,
            "memoryUsageMB": v.runtime.memory_usage_mib,
            "swapMB": v.runtime.swap_mib,
        },
        "pathInPool": w.pool_path(v.pool),
    })
}

/// The inventory and its accounting as JSON: everything but the clock, tasks and events, so
/// two states compare equal exactly when the inventory and accounting are equal.
pub fn state_json(w: &World) -> Value {
    let hosts: Vec<Value> = w
        .hosts()
        .values()
        .map(|h| {
            json!({
                "id": h.id.to_string(), "name": &*h.name, "compute": h.compute.to_string(),
                "numCpuPkgs": h.sockets, "numCpuCores": h.logical_cpus(), "cpuMhz": h.mhz_per_core,
                "cpuCapacityMhz": h.cpu_capacity_mhz(), "memoryMB": h.memory_mib,
                "memoryForVmsMB": h.memory_capacity_mib(),
                "connectionState": if h.connected { "connected" } else { "disconnected" },
                "inMaintenanceMode": h.maintenance,
                "cpuReservedMhz": h.cpu_reserved_mhz, "memoryReservedMB": h.memory_reserved_mib,
                "overallCpuUsage": h.cpu_usage_mhz, "overallMemoryUsage": h.memory_usage_mib,
                "datastores": h.datastores.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "vms": h.vms.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let pools: Vec<Value> = w
        .pools()
        .values()
        .map(|p| {
            json!({
                "id": p.id.to_string(), "name": &*p.name, "path": w.pool_path(p.id),
                "parent": p.parent.map(|x| x.to_string()),
                "cpu": pool_resource_json(w, p, Resource::Cpu),
                "memory": pool_resource_json(w, p, Resource::Memory),
                "vms": p.vms.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let computes: Vec<Value> = w
        .computes()
        .values()
        .map(|c| {
            json!({
                "id": c.id.to_string(), "name": &*c.name, "cluster": c.is_cluster, "drs": c.drs,
                "hosts": c.hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
                "rootPool": c.root_pool.to_string(),
            })
        })
        .collect();
    let datastores: Vec<Value> = w
        .datastores()
        .values()
        .map(|d| {
            json!({
                "id": d.id.to_string(), "name": &*d.name, "capacityMB": d.capacity_mib,
                "freeSpaceMB": d.free_mib(),
                "hosts": d.hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let datacenters: Vec<Value> = w
        .datacenters()
        .values()
        .map(|d| json!({"id": d.id.to_string(), "name": &*d.name, "vmFolder": d.vm_folder.to_string()}))
        .collect();
    let networks: Vec<Value> = w
        .networks()
        .values()
        .map(|n| json!({"id": n.id.to_string(), "name": &*n.name}))
        .collect();
    let vms: Vec<Value> = w.vms().values().map(|v| vm_json(w, v)).collect();
    let disk_files: Vec<Value> = w
        .disk_files()
        .iter()
        .map(|((ds, path), f)| {
            json!({
                "datastore": ds.to_string(), "path": &**path, "capacityMB": f.capacity_mib,
                "usedMB": f.used_mib,
                "attachedTo": f.attached_to.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let folders: Vec<Value> = w
        .folders()
        .values()
        .map(|f| json!({"id": f.id.to_string(), "name": &*f.name, "parent": f.parent.map(|p| p.to_string())}))
        .collect();
    json!({
        "folders": folders, "diskFiles": disk_files,
        "datacenters": datacenters, "computeResources": computes, "hosts": hosts,
        "resourcePools": pools, "datastores": datastores, "networks": networks, "vms": vms,
    })
}

/// [`state_json`] plus the seed, the clock and counts of events and tasks.
pub fn world_json(w: &World) -> Value {
    json!({
        "seed": w.seed(),
        "time": w.now().to_string(),
        "events": w.events().len(),
        "tasks": w.tasks().count(),
        "inventory": state_json(w),
    })
}

/// One event as a JSON object: the fields of its line in [`EventLog::render`] (key, chainId,
/// createdTime, type, the `role: {moref, name}` references present) and its message. One object
/// per line makes an event trace (`vcsim-lite scenario run --trace`).
///
/// [`EventLog::render`]: crate::sim::event::EventLog::render
pub fn event_json(e: &Event) -> Value {
    let entity = |r: &EntityRef| json!({"moref": r.moref.to_string(), "name": &*r.name});
    let mut v = json!({
        "key": e.key,
        "chainId": e.chain_id,
        "createdTime": e.created.to_string(),
        "type": e.kind.as_str(),
    });
    let refs = [
        ("datacenter", &e.datacenter),
        ("computeResource", &e.compute_resource),
        ("host", &e.host),
        ("vm", &e.vm),
        ("other", &e.other),
    ];
    for (role, r) in refs {
        if let Some(r) = r {
            v[role] = entity(r);
        }
    }
    v["message"] = Value::String(e.message());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::{LatencyProfile, VmSpec, WorldBuilder};

    #[test]
    fn an_event_becomes_one_json_object_with_its_references_and_message() {
        let mut w = WorldBuilder::new()
            .latency(LatencyProfile::zero())
            .build()
            .expect("world");
        let pool = w.pool_by_path("DC0_C0").expect("cluster");
        let ds = w.datastore_by_name("sharedDS").expect("datastore");
        let vm = w.create_vm(VmSpec::new("web-0", pool, ds)).expect("vm");
        w.power_on_vm(vm).expect("power on");
        let last = w.events().events().last().expect("an event");
        let v = event_json(last);
        assert_eq!(v["type"], "DrsVmPoweredOnEvent");
        assert_eq!(v["key"], w.events().len() as u64);
        assert_eq!(v["vm"]["moref"], vm.to_string());
        assert_eq!(v["vm"]["name"], "web-0");
        assert_eq!(v["host"]["name"], "DC0_C0_H0");
        assert_eq!(v["message"], "DRS powered on web-0 on DC0_C0_H0");
        assert_eq!(v["createdTime"], last.created.to_string());
        assert!(v.get("other").is_none());
        assert_eq!(serde_json::to_string(&v).expect("json").lines().count(), 1);
    }
}
