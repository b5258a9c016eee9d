//! Counts heap allocations per step of a pod lifecycle (provider -> port layer -> world, in
//! process), to show where copies come from. `cargo run --release -p vcsim-lite --example
//! alloc_count`.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::vsphere::{LatencyProfile, WorldBuilder};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn allocs() -> u64 {
    dhat::HeapStats::get().total_blocks
}

fn main() {
    let profiler = dhat::Profiler::builder()
        .file_name("/tmp/dhat.json")
        .build();
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("world");
    let pl = PortLayer::create(&mut w, VchConfig::new("bench")).expect("vch");
    let shared = Shared::new(
        Stack {
            world: w,
            portlayer: pl,
            persona: Persona::new(Catalogue::builtin()),
        },
        0,
    );
    let client = InProcess::new(shared);
    provider::client::PersonaApi::pull(&client, "busybox:1.36").expect("pull");
    let p = provider::vic::VicProvider::new(client, provider::node::NodeConfig::default());
    let pod = Pod {
        metadata: ObjectMeta {
            namespace: Some("default".into()),
            name: Some("bench".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("busybox:1.36".into()),
                command: Some(vec!["sleep".into(), "3600".into()]),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    for _ in 0..100 {
        p.create_pod(&pod).expect("create");
        p.delete_pod(&pod).expect("delete");
    }
    let n = 1000;
    let a0 = allocs();
    let mut create = 0;
    for _ in 0..n {
        let c0 = allocs();
        p.create_pod(&pod).expect("create");
        create += allocs() - c0;
        p.delete_pod(&pod).expect("delete");
    }
    let total = allocs() - a0;
    println!(
        "allocations per pod lifecycle: {} (create_pod {}, delete_pod {})",
        total / n,
        create / n,
        (total - create) / n
    );
    drop(profiler);
}
