//! Builds a large world (4 DRS clusters of 16 hosts, N VMs powered on through admission
//! control) and prints the build time and the process's peak RSS. `make bench` runs it with
//! N = 10,000, the size at which govmomi's vcsim needs minutes.
#![allow(clippy::disallowed_methods)] // wall-clock timing is the point here

use std::time::Instant;

use vcsim_lite::vsphere::*;

fn spec(n_vms: u32) -> InventorySpec {
    let host = |name: String| HostSpec {
        name,
        sockets: 2,
        cores_per_socket: 8,
        mhz_per_core: 2400,
        memory_mib: 256 * 1024,
        overhead_mib: 2048,
        connected: true,
        maintenance: false,
    };
    let clusters: Vec<ClusterSpec> = (0..4)
        .map(|c| ClusterSpec {
            name: format!("C{c}"),
            drs: true,
            hosts: (0..16).map(|h| host(format!("C{c}_H{h}"))).collect(),
            pools: Vec::new(),
        })
        .collect();
    let per_cluster = n_vms / 4;
    let vms = (0..4)
        .map(|c| VmGroupSpec {
            name: format!("C{c}_VM{{n}}"),
            count: per_cluster + u32::from(c < n_vms % 4),
            pool: format!("C{c}"),
            datastore: "shared".into(),
            vcpus: 1,
            memory_mib: 1024,
            disk_mib: 8 * 1024,
            thin: true,
            power_on: true,
            guest_id: "otherGuest64".into(),
        })
        .collect();
    InventorySpec {
        datacenters: vec![DatacenterSpec {
            name: "DC0".into(),
            clusters,
            standalone_hosts: Vec::new(),
            datastores: vec![DatastoreSpec {
                name: "shared".into(),
                capacity_mib: 64 * 1024 * 1024,
                hosts: Vec::new(),
            }],
            networks: vec![NetworkSpec {
                name: "VM Network".into(),
            }],
            vms,
        }],
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let n: u32 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("build_large: N must be a number of VMs: {e}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let world = match WorldBuilder::new().inventory(spec(n)).build() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("build_large: {e}");
            std::process::exit(1);
        }
    };
    let elapsed = started.elapsed();
    let on = world
        .vms()
        .values()
        .filter(|v| v.power_state == PowerState::PoweredOn)
        .count();
    world
        .check_invariants()
        .expect("invariants hold in the built world");
    println!(
        "built {} hosts, {} VMs ({} powered on), {} events in {:.3} s; peak RSS {} MiB",
        world.hosts().len(),
        world.vms().len(),
        on,
        world.events().len(),
        elapsed.as_secs_f64(),
        peak_rss_kib().map_or_else(|| "?".into(), |k| (k / 1024).to_string())
    );
}
