//! In-process throughput of the vSphere world: one VM's full lifecycle (create, power on,
//! power off, destroy) as vSphere tasks with admission control, events and task records.

use divan::Bencher;
use vcsim_lite::vsphere::{LatencyProfile, VmSpec, World, WorldBuilder};

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
