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
