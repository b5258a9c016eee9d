//! VM lifecycle, reconfiguration, tasks, events and injected faults.

use crate::sim::FaultKind;
use crate::sim::event::EventKind;
use crate::vsphere::test_support::*;
use crate::vsphere::*;

#[test]
fn create_power_cycle_destroy_logs_vsphere_events_and_tasks() {
    let mut w = WorldBuilder::new()
        .usage_model(UsageModel::NO_OVERHEAD)
        .build()
        .unwrap();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let t0 = w.now();
    let id = w.create_vm(vm("web-0", root, ds, 2, 4 * GIB, 0)).unwrap();
    w.power_on_vm(id).unwrap();
    w.power_off_vm(id).unwrap();
    w.destroy_vm(id).unwrap();
    let kinds: Vec<EventKind> = w.events().events().iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(
        kinds,
        vec![
            VmCreatedEvent,
            VmStartingEvent,
            DrsVmPoweredOnEvent,
            VmStoppingEvent,
            VmPoweredOffEvent,
            VmRemovedEvent
        ]
    );
    let names: Vec<&str> = w.tasks().recent().map(|t| t.operation.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "CreateVM_Task",
            "PowerOnVM_Task",
            "PowerOffVM_Task",
            "Destroy_Task"
        ]
    );
    assert!(w.tasks().recent().all(|t| t.state() == "success"));
    // Events of one task share its chain; the starting event opens it.
    let ev = w.events().events();
    assert_eq!(ev[1].chain_id, ev[1].key);
    assert_eq!(ev[2].chain_id, ev[1].key);
    assert!(
        ev[2].created > ev[1].created,
        "power-on completes after it starts"
    );
    assert!(w.now() > t0, "tasks take simulated time");
    assert!(w.vms().is_empty());
    w.check_invariants().unwrap();
}

#[test]
fn vm_names_are_unique_within_a_folder() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    w.create_vm(vm("dup", root, ds, 1, GIB, 0)).unwrap();
    let err = assert_refused(&mut w, FaultKind::DuplicateName, |w| {
        w.create_vm(vm("dup", root, ds, 1, GIB, 0))
    });
    assert!(err.to_string().contains("`dup` already exists"));
    assert_eq!(w.tasks().last().unwrap().state(), "error");
}

#[test]
fn thick_disk_larger_than_free_space_creates_nothing_and_thin_disk_takes_nothing() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    let mut thick = vm("thick", root, ds, 1, GIB, 0);
    thick.disks.push(DiskSpec {
        capacity_mib: 101 * GIB,
        thin: false,
        datastore: None,
    });
    assert_refused(&mut w, FaultKind::NoDiskSpace, |w| w.create_vm(thick));
    let mut thin = vm("thin", root, ds, 1, GIB, 0);
    thin.disks.push(DiskSpec {
        capacity_mib: 500 * GIB,
        thin: true,
        datastore: None,
    });
    w.create_vm(thin).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 100 * GIB);
    let mut fits = vm("fits", root, ds, 1, GIB, 0);
    fits.disks.push(DiskSpec {
        capacity_mib: 60 * GIB,
        thin: false,
        datastore: None,
    });
    let id = w.create_vm(fits).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 40 * GIB);
    w.destroy_vm(id).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 100 * GIB);
}

#[test]
fn bad_shapes_are_invalid_arguments() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    for spec in [
        vm("zero-cpu", root, ds, 0, GIB, 0),
        vm("huge-cpu", root, ds, 10_000, GIB, 0),
        vm("odd-mem", root, ds, 1, 1023, 0),
        vm("huge-mem", root, ds, 1, u64::MAX - 3, 0),
        vm("res-over-mem", root, ds, 1, GIB, 2 * GIB),
        vm("", root, ds, 1, GIB, 0),
        vm("a/b", root, ds, 1, GIB, 0),
    ] {
        assert_refused(&mut w, FaultKind::InvalidArgument, |w| w.create_vm(spec));
    }
    assert_refused(&mut w, FaultKind::ManagedObjectNotFound, |w| {
        w.create_vm(vm("x", PoolId(9999), ds, 1, GIB, 0))
    });
    assert_refused(&mut w, FaultKind::ManagedObjectNotFound, |w| {
        w.power_on_vm(VmId(9999))
    });
}

#[test]
fn destroy_refuses_a_powered_on_vm_and_power_ops_check_state() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let id = w.create_vm(vm("v", root, ds, 1, GIB, 0)).unwrap();
    assert_refused(&mut w, FaultKind::InvalidPowerState, |w| w.power_off_vm(id));
    w.power_on_vm(id).unwrap();
    assert_refused(&mut w, FaultKind::InvalidPowerState, |w| w.power_on_vm(id));
    assert_refused(&mut w, FaultKind::InvalidPowerState, |w| w.destroy_vm(id));
}

#[test]
fn stale_change_version_is_concurrent_access() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let id = w.create_vm(vm("v", root, ds, 1, GIB, 0)).unwrap();
    let read = w.vm(id).unwrap().change_version;
    let first = VmConfigChange {
        expected_change_version: Some(read),
        extra_config: vec![("guestinfo.vice./common/id".into(), "abc".into())],
        ..Default::default()
    };
    w.reconfigure_vm(id, first).unwrap();
    let second = VmConfigChange {
        expected_change_version: Some(read),
        vcpus: Some(2),
        ..Default::default()
    };
    let err = assert_refused(&mut w, FaultKind::ConcurrentAccess, |w| {
        w.reconfigure_vm(id, second)
    });
    assert_eq!(
        err,
        VsphereError::ConcurrentAccess {
            vm: "v".into(),
            expected: read,
            actual: read + 1
        }
    );
    assert_eq!(
        w.vm(id)
            .unwrap()
            .extra_config
            .get("guestinfo.vice./common/id")
            .map(|v| &**v),
        Some("abc")
    );
}

#[test]
fn reconfigure_sets_guest_names_extra_config_disks_and_name() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let id = w.create_vm(vm("v", root, ds, 1, GIB, 0)).unwrap();
    assert_eq!(w.guest_full_name(id).unwrap(), "Other (64-bit)");
    let alt = "Photon - Container v1.5.0, 12345, 9d146bc";
    let change = VmConfigChange {
        name: Some("renamed".into()),
        alternate_guest_name: Some(alt.into()),
        extra_config: vec![
            ("guestinfo.a".into(), "1".into()),
            ("guestinfo.b".into(), "2".into()),
        ],
        add_disks: vec![DiskSpec {
            capacity_mib: 8 * GIB,
            thin: false,
            datastore: None,
        }],
        ..Default::default()
    };
    let free = w.datastore(ds).unwrap().free_mib();
    w.reconfigure_vm(id, change).unwrap();
    assert_eq!(w.guest_full_name(id).unwrap(), alt);
    assert_eq!(w.vm_by_name("renamed"), Some(id));
    assert_eq!(w.datastore(ds).unwrap().free_mib(), free - 8 * GIB);
    let key = w.vm(id).unwrap().disks[0].key;
    assert_eq!(key, 2000);
    let change = VmConfigChange {
        extra_config: vec![("guestinfo.a".into(), String::new())],
        grow_disks: vec![(key, 10 * GIB)],
        ..Default::default()
    };
    w.reconfigure_vm(id, change).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), free - 10 * GIB);
    assert!(!w.vm(id).unwrap().extra_config.contains_key("guestinfo.a"));
    let shrink = VmConfigChange {
        grow_disks: vec![(key, GIB)],
        ..Default::default()
    };
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.reconfigure_vm(id, shrink)
    });
    w.reconfigure_vm(
        id,
        VmConfigChange {
            remove_disks: vec![key],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), free);
    w.check_invariants().unwrap();
}

#[test]
fn fault_rule_injects_its_fault_and_replays_from_the_seed() {
    let rule: crate::sim::fault::FaultRule =
        "PowerOnVM_Task:vm/web-*=1>50%2*InsufficientResourcesFault"
            .parse()
            .unwrap();
    let run = |seed: u64| {
        let mut w = WorldBuilder::new()
            .seed(seed)
            .fault(rule.clone())
            .build()
            .unwrap();
        let (root, ds) = (cluster_root(&w), shared_ds(&w));
        let mut outcomes = Vec::new();
        for i in 0..12 {
            let name = if i % 3 == 0 {
                format!("db-{i}")
            } else {
                format!("web-{i}")
            };
            let id = w.create_vm(vm(&name, root, ds, 1, GIB, 0)).unwrap();
            outcomes.push(w.power_on_vm(id).map(|_| ()).map_err(|e| e.fault()));
        }
        (outcomes, w.events().digest())
    };
    let (a, digest_a) = run(7);
    let (b, digest_b) = run(7);
    assert_eq!(a, b);
    assert_eq!(digest_a, digest_b);
    let failures = a.iter().filter(|o| o.is_err()).count();
    assert!(
        (1..=2).contains(&failures),
        "at most 2 fires, and 7 draws at 50% fired none: {a:?}"
    );
    assert!(
        a.iter()
            .all(|o| o.is_ok() || *o == Err(FaultKind::InsufficientResourcesFault))
    );
    assert!(a[0].is_ok() && a[3].is_ok(), "db-* VMs are never matched");
    assert!(a[1].is_ok(), "the first matching call is skipped");
}

#[test]
fn default_inventory_looks_like_a_small_vcenter() {
    let w = default_world();
    assert_eq!(w.datacenters().len(), 1);
    assert_eq!(w.hosts().len(), 4);
    let cluster = w.compute(w.compute_by_name("DC0_C0").unwrap()).unwrap();
    assert!(cluster.is_cluster && cluster.drs);
    assert_eq!(cluster.hosts.len(), 3);
    let root = w.pool(cluster.root_pool).unwrap();
    assert_eq!(root.cpu.alloc.reservation, 3 * 16 * 2400);
    assert_eq!(root.memory.alloc.reservation, 3 * 254 * GIB);
    assert_eq!(w.datastore(shared_ds(&w)).unwrap().hosts.len(), 4);
    let local = w
        .datastore(w.datastore_by_name("LocalDS_0").unwrap())
        .unwrap();
    assert_eq!(local.capacity_mib, 500 * GIB);
    assert_eq!(local.hosts.len(), 1);
    assert_eq!(w.networks().len(), 1);
    let ids: Vec<String> = w.hosts().keys().map(|h| h.to_string()).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|i| i.starts_with("host-")));
    assert_eq!(
        cluster.id.to_string().chars().take(8).collect::<String>(),
        "domain-c"
    );
}

#[test]
fn a_running_vm_demands_a_tenth_of_its_cores_clock_capped_by_its_cpu_limit() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    assert_eq!(w.usage_model().cpu_demand_pct, 10);
    // 2 vCPUs on 2400 MHz cores at 10%: 480 MHz; the second VM is capped at 300 MHz.
    let free = w.create_vm(vm("free", root, ds, 2, 4 * GIB, 0)).unwrap();
    let mut capped = vm("capped", root, ds, 2, 4 * GIB, 0);
    capped.cpu_alloc = VmAllocation {
        reservation: 0,
        limit: Some(300),
    };
    capped.memory_alloc.limit = Some(GIB);
    let capped = w.create_vm(capped).unwrap();
    let on_free = w.power_on_vm(free).unwrap();
    let on_capped = w.power_on_vm(capped).unwrap();
    let rt = |w: &World, id| w.vm(id).unwrap().runtime;
    assert_eq!(
        (rt(&w, free).cpu_usage_mhz, rt(&w, free).memory_usage_mib),
        (480, 4 * GIB)
    );
    assert_eq!(
        (
            rt(&w, capped).cpu_usage_mhz,
            rt(&w, capped).memory_usage_mib
        ),
        (300, GIB)
    );
    // Neither reserves anything, so DRS places both on the first host.
    assert_eq!(on_free, on_capped);
    let host = w.host(on_free).unwrap();
    assert_eq!((host.cpu_usage_mhz, host.memory_usage_mib), (780, 5 * GIB));
    let pool = w.pool(root).unwrap();
    assert_eq!((pool.cpu.usage, pool.memory.usage), (780, 5 * GIB));
    w.power_off_vm(free).unwrap();
    w.power_off_vm(capped).unwrap();
    let pool = w.pool(root).unwrap();
    assert_eq!((pool.cpu.usage, pool.memory.usage), (0, 0));
    assert_eq!(w.host(on_free).unwrap().cpu_usage_mhz, 0);
    w.check_invariants().unwrap();
}

#[test]
fn a_cluster_without_drs_runs_a_vm_on_the_host_it_is_registered_on() {
    let mut spec = InventorySpec::default_vcenter();
    spec.datacenters[0].clusters[0].drs = false;
    let mut w = WorldBuilder::new()
        .inventory(spec)
        .latency(LatencyProfile::zero())
        .usage_model(UsageModel::NO_OVERHEAD)
        .build()
        .unwrap();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let h2 = w.host_by_name("DC0_C0_H2").unwrap();
    let mut spec = vm("pinned", root, ds, 1, GIB, GIB);
    spec.host = Some(h2);
    let id = w.create_vm(spec).unwrap();
    assert_eq!(w.power_on_vm(id).unwrap(), h2);
    let last = w.events().events().last().map(|e| e.kind);
    assert_eq!(last, Some(EventKind::VmPoweredOnEvent));
    // A host outside the pool's cluster cannot be asked for.
    let mut elsewhere = vm("elsewhere", root, ds, 1, GIB, 0);
    elsewhere.host = w.host_by_name("DC0_H0");
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.create_vm(elsewhere)
    });
}

#[test]
fn disks_are_keyed_from_2000_own_ones_first_and_attached_files_must_be_reachable() {
    let mut w = default_world();
    let (root, shared) = (cluster_root(&w), shared_ds(&w));
    let local = w.datastore_by_name("LocalDS_0").unwrap();
    w.create_virtual_disk(local, "vols/data.vmdk", 10 * GIB, GIB)
        .unwrap();
    // No host of the cluster mounts the standalone host's local datastore.
    let mut clustered = vm("clustered", root, shared, 1, GIB, 0);
    clustered.attach_disks = vec![(local, "vols/data.vmdk".into())];
    let err = assert_refused(&mut w, FaultKind::InvalidDatastore, |w| {
        w.create_vm(clustered)
    });
    assert!(err.to_string().contains("LocalDS_0"), "{err}");

    let standalone = w.pool_by_path("DC0_H0").unwrap();
    let mut spec = vm("standalone", standalone, local, 1, GIB, 0);
    for gib in [2, 3] {
        spec.disks.push(DiskSpec {
            capacity_mib: gib * GIB,
            thin: true,
            datastore: None,
        });
    }
    spec.attach_disks = vec![(local, "vols/data.vmdk".into())];
    let id = w.create_vm(spec).unwrap();
    let disks: Vec<(i32, u64, bool)> = w
        .vm(id)
        .unwrap()
        .disks
        .iter()
        .map(|d| (d.key, d.capacity_mib, d.attached.is_some()))
        .collect();
    assert_eq!(
        disks,
        [
            (2000, 2 * GIB, false),
            (2001, 3 * GIB, false),
            (2002, 10 * GIB, true)
        ]
    );
    w.check_invariants().unwrap();
}

#[test]
fn a_vm_is_created_only_in_a_vm_folder_and_without_empty_extra_config() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let dc = w.default_datacenter().unwrap();
    let (vm_folder, host_folder) = (dc.vm_folder, dc.host_folder);
    let mut misplaced = vm("misplaced", root, ds, 1, GIB, 0);
    misplaced.folder = Some(host_folder);
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.create_vm(misplaced)
    });

    let mut spec = vm("configured", root, ds, 1, GIB, 0);
    spec.folder = Some(vm_folder);
    spec.extra_config = vec![
        ("guestinfo.set".into(), "1".into()),
        ("guestinfo.unset".into(), String::new()),
    ];
    let id = w.create_vm(spec).unwrap();
    let keys: Vec<&str> = w
        .vm(id)
        .unwrap()
        .extra_config
        .keys()
        .map(|k| &**k)
        .collect();
    assert_eq!(keys, ["guestinfo.set"]);
}

#[test]
fn vsphere_8_maximums_are_accepted_and_one_past_them_refused() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let with_disk = |name: &str, capacity_mib| {
        let mut s = vm(name, root, ds, 1, GIB, 0);
        s.disks.push(DiskSpec {
            capacity_mib,
            thin: true,
            datastore: None,
        });
        s
    };
    let with_limit = |name: &str, reservation, limit| {
        let mut s = vm(name, root, ds, 1, 4 * GIB, 0);
        s.cpu_alloc = VmAllocation {
            reservation,
            limit: Some(limit),
        };
        s
    };
    let tib = 1024 * GIB;
    for ok in [
        vm(&"n".repeat(80), root, ds, 1, GIB, 0),
        vm("mem-24t", root, ds, 1, 24 * tib, 0),
        with_disk("disk-62t", 62 * tib),
        with_limit("limit-at-reservation", 1000, 1000),
        with_limit("limit-above-reservation", 1000, 1001),
    ] {
        let name = ok.name.clone();
        w.create_vm(ok)
            .unwrap_or_else(|e| panic!("{name} should be valid: {e}"));
    }
    for bad in [
        vm(&"n".repeat(81), root, ds, 1, GIB, 0),
        vm("mem-over-24t", root, ds, 1, 24 * tib + 4, 0),
        with_disk("disk-over-62t", 62 * tib + 1),
        with_disk("disk-empty", 0),
        with_limit("limit-below-reservation", 1000, 999),
    ] {
        assert_refused(&mut w, FaultKind::InvalidArgument, |w| w.create_vm(bad));
    }
}

#[test]
fn bios_uuids_have_the_random_uuid_layout() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..16 {
        let id = w
            .create_vm(vm(&format!("u{i}"), root, ds, 1, GIB, 0))
            .unwrap();
        let uuid = w.vm(id).unwrap().uuid.clone();
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
        assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        // RFC 4122: version 4 (random), variant 10xx.
        assert_eq!(&uuid[14..15], "4", "{uuid}");
        assert!("89ab".contains(&uuid[19..20]), "{uuid}");
        assert!(seen.insert(uuid), "uuids are unique");
    }
}
