//! One test per admission rule, with the figures a vSphere administrator would expect.

use crate::sim::FaultKind;
use crate::vsphere::test_support::*;
use crate::vsphere::*;

#[test]
fn non_expandable_pool_of_8_gib_admits_two_4_gib_vms_and_refuses_the_third() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let pool = mem_pool(&mut w, root, "fixed", 8 * GIB, false);
    let ids: Vec<VmId> = (0..3)
        .map(|i| {
            w.create_vm(vm(&format!("r{i}"), pool, ds, 1, 4 * GIB, 4 * GIB))
                .unwrap()
        })
        .collect();
    w.power_on_vm(ids[0]).unwrap();
    w.power_on_vm(ids[1]).unwrap();
    assert_eq!(w.pool(pool).unwrap().memory.used, 8 * GIB);
    let err = assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(ids[2])
    });
    assert_eq!(
        err,
        VsphereError::InsufficientResources {
            scope: "pool DC0_C0/fixed".into(),
            resource: Resource::Memory,
            requested: 4 * GIB,
            available: 0
        }
    );
    w.power_off_vm(ids[0]).unwrap();
    w.power_on_vm(ids[2]).unwrap();
    w.check_invariants().unwrap();
}

#[test]
fn vm_memory_overhead_is_reserved_with_the_vm() {
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .unwrap();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let pool = mem_pool(&mut w, root, "fixed", 8 * GIB, false);
    let a = w.create_vm(vm("a", pool, ds, 1, 4 * GIB, 4 * GIB)).unwrap();
    let b = w.create_vm(vm("b", pool, ds, 1, 4 * GIB, 4 * GIB)).unwrap();
    w.power_on_vm(a).unwrap();
    let overhead = w.usage_model().overhead_mib(1, 4 * GIB);
    assert!(overhead > 0);
    assert_eq!(w.pool(pool).unwrap().memory.used, 4 * GIB + overhead);
    // The second VM's reservation alone would fit; with its overhead it does not.
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(b)
    });
}

#[test]
fn expandable_child_borrows_from_its_parent_and_a_fixed_child_does_not() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let parent = mem_pool(&mut w, root, "parent", 8 * GIB, false);
    let child = mem_pool(&mut w, parent, "elastic", 2 * GIB, true);
    let fixed = mem_pool(&mut w, parent, "fixed", 2 * GIB, false);
    assert_eq!(w.pool(parent).unwrap().memory.used, 4 * GIB);

    let big = w
        .create_vm(vm("big", child, ds, 1, 6 * GIB, 6 * GIB))
        .unwrap();
    w.power_on_vm(big).unwrap();
    // The child uses 6 GiB: its own 2 plus 4 borrowed, so the parent has given out all 8.
    assert_eq!(w.pool(child).unwrap().memory.used, 6 * GIB);
    assert_eq!(w.pool(parent).unwrap().memory.used, 8 * GIB);
    assert_eq!(w.unreserved(child, Resource::Memory), 0);

    let more = w.create_vm(vm("more", child, ds, 1, GIB, GIB)).unwrap();
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(more)
    });
    let three = w
        .create_vm(vm("three", fixed, ds, 1, 3 * GIB, 3 * GIB))
        .unwrap();
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(three)
    });

    // Powering off returns the borrowed memory to the parent.
    w.power_off_vm(big).unwrap();
    assert_eq!(w.pool(parent).unwrap().memory.used, 4 * GIB);
    w.check_invariants().unwrap();
}

#[test]
fn limit_caps_an_expandable_pool() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let capped = Allocation {
        limit: Some(3 * GIB),
        ..mem_alloc(0, true)
    };
    let pool = w
        .create_pool(root, "capped", Allocation::DEFAULT, capped)
        .unwrap();
    let a = w.create_vm(vm("a", pool, ds, 1, 2 * GIB, 2 * GIB)).unwrap();
    let b = w.create_vm(vm("b", pool, ds, 1, 2 * GIB, 2 * GIB)).unwrap();
    w.power_on_vm(a).unwrap();
    assert_eq!(w.unreserved(pool, Resource::Memory), GIB);
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(b)
    });
    // What is left under the limit can still be reserved, up to the limit exactly.
    let c = w.create_vm(vm("c", pool, ds, 1, GIB, GIB)).unwrap();
    w.power_on_vm(c).unwrap();
    assert_eq!(w.pool(pool).unwrap().memory.used, 3 * GIB);
    assert_eq!(w.unreserved(pool, Resource::Memory), 0);
    w.check_invariants().unwrap();
}

#[test]
fn vm_without_reservation_overcommits_memory() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    // Three hosts of 254 GiB for VMs; five 200 GiB VMs with no reservation all power on.
    for i in 0..5 {
        let id = w
            .create_vm(vm(&format!("big{i}"), root, ds, 8, 200 * GIB, 0))
            .unwrap();
        w.power_on_vm(id).unwrap();
    }
    let usage: u64 = w.hosts().values().map(|h| h.memory_usage_mib).sum();
    assert_eq!(usage, 1000 * GIB);
    assert_eq!(w.pool(root).unwrap().memory.used, 0);
    w.check_invariants().unwrap();
}

#[test]
fn twenty_four_vcpus_are_refused_on_a_sixteen_core_host() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    let id = w.create_vm(vm("wide", root, ds, 24, 4 * GIB, 0)).unwrap();
    let err = assert_refused(&mut w, FaultKind::NotEnoughLogicalCpus, |w| {
        w.power_on_vm(id)
    });
    assert!(matches!(
        err,
        VsphereError::NotEnoughLogicalCpus {
            vcpus: 24,
            host_cpus: 16,
            ..
        }
    ));
    // In the DRS cluster too: no host has 24 logical CPUs.
    let mut w = default_world();
    let id = w
        .create_vm(vm("wide", cluster_root(&w), shared_ds(&w), 24, 4 * GIB, 0))
        .unwrap();
    assert_refused(&mut w, FaultKind::NotEnoughLogicalCpus, |w| {
        w.power_on_vm(id)
    });
}

#[test]
fn swap_file_is_refused_on_a_datastore_with_1_gib_free() {
    let mut w = standalone_world(10);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    let mut spec = vm("swapper", root, ds, 1, 2 * GIB, 0);
    spec.disks.push(DiskSpec {
        capacity_mib: 9 * GIB,
        thin: false,
        datastore: None,
    });
    let id = w.create_vm(spec).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), GIB);
    let err = assert_refused(&mut w, FaultKind::NoDiskSpace, |w| w.power_on_vm(id));
    assert!(matches!(
        err,
        VsphereError::NoDiskSpace {
            requested_mib: 2048,
            free_mib: 1024,
            ..
        }
    ));
    // Reserving 1 GiB of memory shrinks the swap file to 1 GiB, which fits.
    let change = VmConfigChange {
        memory_alloc: Some(VmAllocation {
            reservation: GIB,
            limit: None,
        }),
        ..Default::default()
    };
    w.reconfigure_vm(id, change).unwrap();
    w.power_on_vm(id).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 0);
    w.power_off_vm(id).unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), GIB);
}

#[test]
fn hosts_in_maintenance_or_disconnected_refuse_power_on() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    let host = w.host_by_name("DC0_H0").unwrap();
    let id = w.create_vm(vm("v", root, ds, 1, GIB, 0)).unwrap();
    w.enter_maintenance_mode(host).unwrap();
    assert_eq!(
        w.pool(root).unwrap().memory.alloc.reservation,
        0,
        "a host in maintenance adds no capacity"
    );
    assert_refused(&mut w, FaultKind::InvalidState, |w| w.power_on_vm(id));
    w.exit_maintenance_mode(host).unwrap();
    w.disconnect_host(host).unwrap();
    assert_refused(&mut w, FaultKind::InvalidHostConnectionState, |w| {
        w.power_on_vm(id)
    });
    w.reconnect_host(host).unwrap();
    w.power_on_vm(id).unwrap();
}

#[test]
fn maintenance_mode_is_refused_while_vms_run_without_drs() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    let host = w.host_by_name("DC0_H0").unwrap();
    let id = w.create_vm(vm("v", root, ds, 1, GIB, 0)).unwrap();
    w.power_on_vm(id).unwrap();
    assert_refused(&mut w, FaultKind::InvalidState, |w| {
        w.enter_maintenance_mode(host)
    });
    assert_refused(&mut w, FaultKind::InvalidState, |w| w.disconnect_host(host));
}

#[test]
fn drs_evacuates_a_host_entering_maintenance_mode() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let ids: Vec<VmId> = (0..3)
        .map(|i| {
            w.create_vm(vm(&format!("v{i}"), root, ds, 2, 8 * GIB, 8 * GIB))
                .unwrap()
        })
        .collect();
    for id in &ids {
        w.power_on_vm(*id).unwrap();
    }
    let h0 = w.host_by_name("DC0_C0_H0").unwrap();
    let on_h0: Vec<VmId> = w.host(h0).unwrap().vms.iter().copied().collect();
    assert_eq!(on_h0.len(), 1, "placement spreads by unreserved memory");
    w.enter_maintenance_mode(h0).unwrap();
    assert!(w.host(h0).unwrap().vms.is_empty());
    assert_eq!(w.host(h0).unwrap().memory_reserved_mib, 0);
    let migrated = w
        .events()
        .events()
        .iter()
        .filter(|e| e.kind == crate::sim::event::EventKind::DrsVmMigratedEvent)
        .count();
    assert_eq!(migrated, 1);
    assert_eq!(
        w.pool(root).unwrap().memory.alloc.reservation,
        2 * 254 * GIB
    );
    w.check_invariants().unwrap();
}

#[test]
fn evacuation_that_does_not_fit_is_refused_and_nothing_moves() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    // One 200 GiB reservation per host: no host can take a second one.
    for i in 0..3 {
        let id = w
            .create_vm(vm(&format!("big{i}"), root, ds, 4, 200 * GIB, 200 * GIB))
            .unwrap();
        w.power_on_vm(id).unwrap();
    }
    let h1 = w.host_by_name("DC0_C0_H1").unwrap();
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.enter_maintenance_mode(h1)
    });
}

#[test]
fn drs_places_on_the_host_with_most_unreserved_memory_ties_by_lowest_id() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let hosts: Vec<HostId> = (0..3)
        .map(|i| w.host_by_name(&format!("DC0_C0_H{i}")).unwrap())
        .collect();
    let mut placed = Vec::new();
    for (i, res) in [10, 20, 5, 1].into_iter().enumerate() {
        let id = w
            .create_vm(vm(&format!("p{i}"), root, ds, 1, res * GIB, res * GIB))
            .unwrap();
        placed.push(w.power_on_vm(id).unwrap());
    }
    // All equal -> H0; then H1 and H2 tie -> H1; then H2 (most free); then H2 again (254-5 > 254-10).
    assert_eq!(placed, vec![hosts[0], hosts[1], hosts[2], hosts[2]]);
    let events = w.events().events();
    assert!(
        events
            .iter()
            .any(|e| e.kind == crate::sim::event::EventKind::DrsVmPoweredOnEvent)
    );
}

#[test]
fn child_pool_reservation_must_fit_the_parent() {
    let mut w = default_world();
    let root = cluster_root(&w);
    let parent = mem_pool(&mut w, root, "parent", 8 * GIB, false);
    mem_pool(&mut w, parent, "a", 6 * GIB, false);
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.create_pool(parent, "b", Allocation::DEFAULT, mem_alloc(3 * GIB, false))
    });
    // The cluster itself has 762 GiB for VMs; a 1 TiB pool cannot be carved out of it.
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.create_pool(
            root,
            "huge",
            Allocation::DEFAULT,
            mem_alloc(1024 * GIB, false),
        )
    });
    let bad = Allocation {
        limit: Some(GIB),
        ..mem_alloc(2 * GIB, false)
    };
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.create_pool(root, "bad", Allocation::DEFAULT, bad)
    });
    assert_refused(&mut w, FaultKind::DuplicateName, |w| {
        w.create_pool(root, "parent", Allocation::DEFAULT, Allocation::DEFAULT)
    });
}

#[test]
fn pool_update_cannot_drop_below_what_is_used() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let pool = mem_pool(&mut w, root, "p", 8 * GIB, false);
    let id = w.create_vm(vm("v", pool, ds, 1, 6 * GIB, 6 * GIB)).unwrap();
    w.power_on_vm(id).unwrap();
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.update_pool(pool, Allocation::DEFAULT, mem_alloc(4 * GIB, false))
    });
    // Growing the reservation takes more from the root; making it expandable is fine too.
    w.update_pool(pool, Allocation::DEFAULT, mem_alloc(12 * GIB, true))
        .unwrap();
    assert_eq!(w.pool(root).unwrap().memory.used, 12 * GIB);
    w.check_invariants().unwrap();
}

#[test]
fn pool_with_vms_cannot_be_destroyed_and_an_empty_one_returns_its_reservation() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let pool = mem_pool(&mut w, root, "p", 8 * GIB, false);
    let id = w.create_vm(vm("v", pool, ds, 1, GIB, 0)).unwrap();
    assert_refused(&mut w, FaultKind::ResourceInUse, |w| w.destroy_pool(pool));
    w.destroy_vm(id).unwrap();
    w.destroy_pool(pool).unwrap();
    assert_eq!(w.pool(root).unwrap().memory.used, 0);
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| w.destroy_pool(root));
}

#[test]
fn raising_a_running_vms_reservation_is_admitted_again() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    let pool = mem_pool(&mut w, root, "p", 4 * GIB, false);
    let id = w.create_vm(vm("v", pool, ds, 1, 8 * GIB, GIB)).unwrap();
    w.power_on_vm(id).unwrap();
    let too_much = VmConfigChange {
        memory_alloc: Some(VmAllocation {
            reservation: 5 * GIB,
            limit: None,
        }),
        ..Default::default()
    };
    assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.reconfigure_vm(id, too_much)
    });
    let fits = VmConfigChange {
        memory_alloc: Some(VmAllocation {
            reservation: 4 * GIB,
            limit: None,
        }),
        ..Default::default()
    };
    w.reconfigure_vm(id, fits).unwrap();
    assert_eq!(w.vm(id).unwrap().runtime.swap_mib, 4 * GIB);
    assert_eq!(w.pool(pool).unwrap().memory.used, 4 * GIB);
    let grow = VmConfigChange {
        memory_mib: Some(16 * GIB),
        ..Default::default()
    };
    assert_refused(&mut w, FaultKind::InvalidPowerState, |w| {
        w.reconfigure_vm(id, grow)
    });
    w.check_invariants().unwrap();
}

#[test]
fn a_vm_may_have_as_many_vcpus_as_the_host_has_logical_cpus() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    let host = w.host_by_name("DC0_H0").unwrap();
    assert_eq!(w.host(host).unwrap().logical_cpus(), 16);
    let id = w
        .create_vm(vm("full-width", root, ds, 16, 4 * GIB, 0))
        .unwrap();
    assert_eq!(w.power_on_vm(id).unwrap(), host);
}

#[test]
fn drs_refuses_a_reservation_no_single_host_can_hold_though_the_cluster_could() {
    let mut w = default_world();
    let (root, ds) = (cluster_root(&w), shared_ds(&w));
    // Each host has 254 GiB for VMs; the cluster 762 GiB.
    let too_big = w
        .create_vm(vm("too-big", root, ds, 1, 254 * GIB + 4, 254 * GIB + 4))
        .unwrap();
    let err = assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(too_big)
    });
    assert_eq!(
        err,
        VsphereError::InsufficientResources {
            scope: "host DC0_C0_H0".into(),
            resource: Resource::Memory,
            requested: 254 * GIB + 4,
            available: 254 * GIB,
        }
    );
    // A whole host's worth fits, exactly.
    let whole = w
        .create_vm(vm("whole", root, ds, 1, 254 * GIB, 254 * GIB))
        .unwrap();
    let h0 = w.host_by_name("DC0_C0_H0").unwrap();
    assert_eq!(w.power_on_vm(whole).unwrap(), h0);
    assert_eq!(w.host(h0).unwrap().memory_unreserved_mib(), 0);
    w.check_invariants().unwrap();
}

/// A DRS cluster whose hosts each refuse a VM for a different reason: `maint` is in
/// maintenance mode, `small` has 4 logical CPUs, `nosan` does not mount `san`, and `full` has
/// 62 GiB for VMs. Only `maint` and `full` mount `san`.
fn mixed_cluster() -> World {
    let host = |name: &str, cores: u32, memory_mib: u64, maintenance: bool| HostSpec {
        name: name.into(),
        sockets: 1,
        cores_per_socket: cores,
        mhz_per_core: 2400,
        memory_mib,
        overhead_mib: 2 * GIB,
        connected: true,
        maintenance,
    };
    let mut spec = InventorySpec::default_vcenter();
    let dc = &mut spec.datacenters[0];
    dc.standalone_hosts.clear();
    dc.clusters[0].hosts = vec![
        host("maint", 16, 64 * GIB, true),
        host("small", 4, 256 * GIB, false),
        host("nosan", 16, 256 * GIB, false),
        host("full", 16, 64 * GIB, false),
    ];
    dc.datastores = vec![
        DatastoreSpec {
            name: "san".into(),
            capacity_mib: 1024 * GIB,
            hosts: vec!["maint".into(), "full".into()],
        },
        DatastoreSpec {
            name: "shared".into(),
            capacity_mib: 1024 * GIB,
            hosts: vec![],
        },
    ];
    WorldBuilder::new()
        .inventory(spec)
        .latency(LatencyProfile::zero())
        .usage_model(UsageModel::NO_OVERHEAD)
        .build()
        .expect("mixed cluster builds")
}

#[test]
fn drs_reports_the_most_telling_refusal_resources_then_vcpus_then_datastore_access() {
    let mut w = mixed_cluster();
    let root = cluster_root(&w);
    let san = w.datastore_by_name("san").unwrap();

    // Too wide for every host: the vCPU refusal of the first host that gives one, not the
    // maintenance host's, which says nothing about whether the VM could ever run.
    let wide = w.create_vm(vm("wide", root, san, 24, 4 * GIB, 0)).unwrap();
    let err = assert_refused(&mut w, FaultKind::NotEnoughLogicalCpus, |w| {
        w.power_on_vm(wide)
    });
    assert_eq!(
        err,
        VsphereError::NotEnoughLogicalCpus {
            vm: "wide".into(),
            vcpus: 24,
            host: "small".into(),
            host_cpus: 4,
        }
    );

    // 8 vCPUs reserving 100 GiB: `small` is too narrow, `nosan` cannot see the datastore,
    // `full` has only 62 GiB. The shortage is what an administrator can act on.
    let big = w
        .create_vm(vm("big", root, san, 8, 100 * GIB, 100 * GIB))
        .unwrap();
    let err = assert_refused(&mut w, FaultKind::InsufficientResourcesFault, |w| {
        w.power_on_vm(big)
    });
    assert_eq!(
        err,
        VsphereError::InsufficientResources {
            scope: "host full".into(),
            resource: Resource::Memory,
            requested: 100 * GIB,
            available: 62 * GIB,
        }
    );

    // With `full` in maintenance too, no usable host mounts `san`.
    let small = w.create_vm(vm("small-vm", root, san, 2, GIB, 0)).unwrap();
    let full = w.host_by_name("full").unwrap();
    w.enter_maintenance_mode(full).unwrap();
    let err = assert_refused(&mut w, FaultKind::InvalidDatastore, |w| {
        w.power_on_vm(small)
    });
    assert_eq!(
        err,
        VsphereError::InvalidDatastore {
            datastore: "san".into(),
            host: "small".into(),
        }
    );
}
