//! Drives pods through the whole stack in process (provider -> port layer -> world) and
//! reports wall time and memory:
//!
//! - `provider_load cycle N`: N full pod lifecycles (create + start, then stop + delete) of
//!   one pod, one after the other, on the built-in inventory;
//! - `provider_load resident N`: creates and starts N pods on a cluster big enough to hold
//!   them, reports the time and the process's peak RSS with all of them running, then
//!   deletes them all and checks that the world's accounting is back where it started.
#![allow(clippy::disallowed_methods)] // wall-clock timing is the point here

use std::time::Instant;

/// The allocator of the `vcsim-lite` binary (see BENCHMARKS.md for glibc's figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use provider::node::NodeConfig;
use provider::vic::VicProvider;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::vsphere::*;

fn pod(ns: &str, name: &str, small: bool) -> Pod {
    let resources = small.then(|| {
        let q = |cpu: &str, mem: &str| {
            [
                ("cpu".to_string(), Quantity(cpu.into())),
                ("memory".to_string(), Quantity(mem.into())),
            ]
            .into()
        };
        ResourceRequirements {
            requests: Some(q("10m", "128Mi")),
            ..Default::default()
        }
    });
    Pod {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("busybox:1.36".into()),
                command: Some(vec!["sleep".into(), "3600".into()]),
                resources,
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One DRS cluster of 128 hosts (2 x 8 cores, 256 GiB) and a 128 TiB datastore: room for
/// 100,000 pod VMs of 512 MB (their swap files alone take 50 TiB).
fn big_inventory() -> InventorySpec {
    let host = |i: u32| HostSpec {
        name: format!("H{i}"),
        sockets: 2,
        cores_per_socket: 8,
        mhz_per_core: 2400,
        memory_mib: 256 * 1024,
        overhead_mib: 2048,
        connected: true,
        maintenance: false,
    };
    InventorySpec {
        datacenters: vec![DatacenterSpec {
            name: "DC0".into(),
            clusters: vec![ClusterSpec {
                name: "C0".into(),
                drs: true,
                hosts: (0..128).map(host).collect(),
                pools: Vec::new(),
            }],
            standalone_hosts: Vec::new(),
            datastores: vec![DatastoreSpec {
                name: "shared".into(),
                capacity_mib: 128 * 1024 * 1024,
                hosts: Vec::new(),
            }],
            networks: vec![NetworkSpec {
                name: "VM Network".into(),
            }],
            vms: Vec::new(),
        }],
    }
}

fn provider(inventory: Option<InventorySpec>) -> Result<VicProvider<InProcess>, String> {
    let mut b = WorldBuilder::new().latency(LatencyProfile::zero());
    let mut vch = VchConfig::new("load");
    if let Some(inv) = inventory {
        b = b.inventory(inv);
        vch.compute = "C0".into();
        vch.image_datastore = "shared".into();
        vch.volume_stores = [("default".to_string(), "shared".to_string())].into();
        vch.bridge_network_width = 12;
    }
    let mut w = b.build().map_err(|e| e.to_string())?;
    let pl = PortLayer::create(&mut w, vch).map_err(|e| e.to_string())?;
    let stack = Stack {
        world: w,
        portlayer: pl,
        persona: Persona::new(Catalogue::builtin()),
    };
    let client = InProcess::new(Shared::new(stack, 0));
    provider::client::PersonaApi::pull(&client, "busybox:1.36").map_err(|e| e.to_string())?;
    let node = NodeConfig {
        max_pods: u32::MAX,
        ..NodeConfig::default()
    };
    Ok(VicProvider::new(client, node))
}

/// The process's resident set now (not the peak: the pods are what is measured).
fn rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1024)
}

fn cycle(n: u64) -> Result<(), String> {
    let p = provider(None)?;
    let pod = pod("default", "load", false);
    let started = Instant::now();
    for _ in 0..n {
        p.create_pod(&pod).map_err(|e| e.to_string())?;
        p.delete_pod(&pod).map_err(|e| e.to_string())?;
    }
    let s = started.elapsed().as_secs_f64();
    println!(
        "{n} pod lifecycles in {s:.3} s: {:.0} lifecycles/s, {:.1} us each",
        n as f64 / s,
        s * 1e6 / n as f64
    );
    Ok(())
}

fn resident(n: u64) -> Result<(), String> {
    let p = provider(Some(big_inventory()))?;
    let rss_before = rss_mib().unwrap_or(0);
    let pod_i = |i: u64| pod(&format!("ns{}", i % 10), &format!("pod-{i}"), true);
    let started = Instant::now();
    for i in 0..n {
        p.create_pod(&pod_i(i))
            .map_err(|e| format!("pod {i}: {e}"))?;
    }
    let created = started.elapsed().as_secs_f64();
    let rss = rss_mib().unwrap_or(0);
    let running = (0..n)
        .filter(|&i| {
            let pod = pod_i(i);
            let (ns, name) = provider::cache::pod_key(&pod);
            let status = p.get_pod_status(&ns, &name);
            status.and_then(|s| s.phase).as_deref() == Some("Running")
        })
        .count();
    println!(
        "{n} pods created and started in {created:.2} s ({:.0} pods/s); {running} Running; \
         RSS {rss} MiB ({rss_before} MiB before the pods, {:.1} KiB per pod)",
        n as f64 / created,
        (rss.saturating_sub(rss_before)) as f64 * 1024.0 / n as f64
    );
    let started = Instant::now();
    for i in 0..n {
        p.delete_pod(&pod_i(i)).map_err(|e| e.to_string())?;
    }
    println!(
        "deleted them in {:.2} s; {} pods left",
        started.elapsed().as_secs_f64(),
        p.get_pods().len()
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n = |i: usize, default: u64| match args.get(i).map(|a| a.parse::<u64>()) {
        None => Ok(default),
        Some(Ok(n)) => Ok(n),
        Some(Err(e)) => Err(format!("N must be a number: {e}")),
    };
    let result = match args.first().map(String::as_str) {
        Some("cycle") => n(1, 100_000).and_then(cycle),
        Some("resident") => n(1, 100_000).and_then(resident),
        _ => Err("usage: provider_load cycle N | resident N".to_string()),
    };
    if let Err(e) = result {
        eprintln!("provider_load: {e}");
        std::process::exit(1);
    }
}
