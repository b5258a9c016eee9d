//! In-process throughput of the vSphere world: one VM's full lifecycle (create, power on,
//! power off, destroy) as vSphere tasks with admission control, events and task records.

use divan::Bencher;
use vcsim_lite::vsphere::{LatencyProfile, VmSpec, World, WorldBuilder};

/// The allocator of the `vcsim-lite` binary (see BENCHMARKS.md for glibc's figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

fn world(latency: LatencyProfile) -> (World, VmSpec) {
    let w = WorldBuilder::new()
        .latency(latency)
        .build()
        .expect("default inventory");
    let pool = w.pool_by_path("DC0_C0").expect("cluster");
    let ds = w.datastore_by_name("sharedDS").expect("datastore");
    let mut spec = VmSpec::new("bench", pool, ds);
    spec.vcpus = 2;
    spec.memory_mib = 2048;
    spec.memory_alloc.reservation = 1024;
    (w, spec)
}

fn cycle(w: &mut World, spec: &VmSpec) {
    let id = w.create_vm(spec.clone()).expect("create");
    w.power_on_vm(id).expect("power on");
    w.power_off_vm(id).expect("power off");
    w.destroy_vm(id).expect("destroy");
}

/// Default (vCenter-like) latencies: each task draws its duration from the RNG.
#[divan::bench(sample_count = 200, sample_size = 100)]
fn lifecycle_cycle(b: Bencher) {
    let (mut w, spec) = world(LatencyProfile::vcenter());
    b.counter(divan::counter::ItemsCount::new(1u32))
        .bench_local(|| cycle(&mut w, &spec));
}

/// Zero latencies: the accounting and bookkeeping alone.
#[divan::bench(sample_count = 200, sample_size = 100)]
fn lifecycle_cycle_zero_latency(b: Bencher) {
    let (mut w, spec) = world(LatencyProfile::zero());
    b.counter(divan::counter::ItemsCount::new(1u32))
        .bench_local(|| cycle(&mut w, &spec));
}

/// One container lifecycle through the port layer in process: create + commit, start
/// (handle, RUNNING, commit), stop (handle, STOPPED, commit), remove.
#[divan::bench(sample_count = 200, sample_size = 50)]
fn portlayer_container_lifecycle(b: Bencher) {
    use vcsim_lite::portlayer::containers::CreateConfig;
    use vcsim_lite::portlayer::{PortLayer, VchConfig};
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("world");
    let mut pl = PortLayer::create(&mut w, VchConfig::new("bench")).expect("vch");
    b.counter(divan::counter::ItemsCount::new(1u32))
        .bench_local(|| {
            let cfg = CreateConfig {
                num_cpus: Some(1),
                memory_mb: Some(512),
                ..Default::default()
            };
            let (id, h) = pl.create_container(&mut w, cfg).expect("create");
            pl.commit(&mut w, &h, None).expect("commit");
            let h = pl.get_handle(&mut w, &id).expect("handle");
            let h = pl.change_state(&h, "RUNNING").expect("state");
            pl.commit(&mut w, &h, None).expect("start");
            let h = pl.get_handle(&mut w, &id).expect("handle");
            let h = pl.change_state(&h, "STOPPED").expect("state");
            pl.commit(&mut w, &h, None).expect("stop");
            pl.remove_container(&mut w, &id).expect("remove");
        });
}

/// One pod lifecycle through the provider, in process: create_pod (admission, image lookup,
/// create, commit, start) and delete_pod (stop, unbind, remove).
#[divan::bench(sample_count = 100, sample_size = 20)]
fn provider_pod_lifecycle(b: Bencher) {
    use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use vcsim_lite::http::{Shared, Stack};
    use vcsim_lite::inprocess::InProcess;
    use vcsim_lite::persona::{Catalogue, Persona};
    use vcsim_lite::portlayer::{PortLayer, VchConfig};

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
    b.counter(divan::counter::ItemsCount::new(1u32))
        .bench_local(|| {
            p.create_pod(&pod).expect("create");
            p.delete_pod(&pod).expect("delete");
        });
}
