//! Disk files, attachment, folders and guest-side guestinfo.

use crate::sim::FaultKind;
use crate::vsphere::test_support::*;
use crate::vsphere::*;

#[test]
fn disk_files_take_space_and_are_locked_while_attached() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    w.create_virtual_disk(ds, "volumes/v1/v1.vmdk", 10 * GIB, 4 * GIB)
        .unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 96 * GIB);
    assert_refused(&mut w, FaultKind::FileAlreadyExists, |w| {
        w.create_virtual_disk(ds, "volumes/v1/v1.vmdk", GIB, 0)
    });
    assert_refused(&mut w, FaultKind::NoDiskSpace, |w| {
        w.create_virtual_disk(ds, "big.vmdk", 200 * GIB, 97 * GIB)
    });
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.create_virtual_disk(ds, "x.txt", GIB, 0)
    });

    let vm = w.create_vm(vm("c", root, ds, 1, GIB, 0)).unwrap();
    let attach = VmConfigChange {
        attach_disks: vec![(ds, "volumes/v1/v1.vmdk".into())],
        ..Default::default()
    };
    w.reconfigure_vm(vm, attach).unwrap();
    assert_eq!(
        w.datastore(ds).unwrap().free_mib(),
        96 * GIB,
        "attaching takes no more space"
    );
    assert_refused(&mut w, FaultKind::FileLocked, |w| {
        w.delete_virtual_disk(ds, "volumes/v1/v1.vmdk")
    });
    w.check_invariants().unwrap();

    // Destroying the VM detaches the file and keeps it, like an independent disk.
    w.destroy_vm(vm).unwrap();
    assert!(
        w.disk_file(ds, "volumes/v1/v1.vmdk")
            .unwrap()
            .attached_to
            .is_empty()
    );
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 96 * GIB);
    w.delete_virtual_disk(ds, "volumes/v1/v1.vmdk").unwrap();
    assert_eq!(w.datastore(ds).unwrap().free_mib(), 100 * GIB);
    assert_refused(&mut w, FaultKind::FileNotFound, |w| {
        w.delete_virtual_disk(ds, "volumes/v1/v1.vmdk")
    });
    w.check_invariants().unwrap();
}

#[test]
fn attached_disks_can_be_detached_and_not_attached_twice() {
    let mut w = standalone_world(100);
    let (root, ds) = (
        w.pool_by_path("DC0_H0").unwrap(),
        w.datastore_by_name("ds").unwrap(),
    );
    w.create_virtual_disk(ds, "a.vmdk", GIB, 0).unwrap();
    let vm = w.create_vm(vm("c", root, ds, 1, GIB, 0)).unwrap();
    let attach = VmConfigChange {
        attach_disks: vec![(ds, "a.vmdk".into())],
        ..Default::default()
    };
    w.reconfigure_vm(vm, attach.clone()).unwrap();
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.reconfigure_vm(vm, attach)
    });
    let missing = VmConfigChange {
        attach_disks: vec![(ds, "nope.vmdk".into())],
        ..Default::default()
    };
    assert_refused(&mut w, FaultKind::FileNotFound, |w| {
        w.reconfigure_vm(vm, missing)
    });
    let key = w.vm(vm).unwrap().disks[0].key;
    w.reconfigure_vm(
        vm,
        VmConfigChange {
            remove_disks: vec![key],
            ..Default::default()
        },
    )
    .unwrap();
    w.delete_virtual_disk(ds, "a.vmdk").unwrap();
    w.check_invariants().unwrap();
}

#[test]
fn devices_get_keys_and_can_be_removed() {
    let mut w = default_world();
    let mut spec = vm("c", cluster_root(&w), shared_ds(&w), 1, GIB, 0);
    spec.devices.push(DeviceSpec {
        kind: DeviceKind::PvscsiController,
        label: "SCSI controller 0".into(),
        backing: String::new(),
    });
    spec.uuid = Some("0c3a2d2e-0000-5000-8000-000000000001".into());
    spec.vm_path_name = Some("[sharedDS] abc/abc.vmx".into());
    let id = w.create_vm(spec).unwrap();
    let v = w.vm(id).unwrap();
    assert_eq!(v.uuid, "0c3a2d2e-0000-5000-8000-000000000001");
    assert_eq!(v.vm_path_name, "[sharedDS] abc/abc.vmx");
    assert_eq!(v.devices[0].key, 100);
    let add = DeviceSpec {
        kind: DeviceKind::SerialPort,
        label: "Serial port 1".into(),
        backing: "tether.debug".into(),
    };
    w.reconfigure_vm(
        id,
        VmConfigChange {
            add_devices: vec![add],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(w.vm(id).unwrap().devices[1].key, 101);
    w.reconfigure_vm(
        id,
        VmConfigChange {
            remove_devices: vec![100],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(w.vm(id).unwrap().devices.len(), 1);
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.reconfigure_vm(
            id,
            VmConfigChange {
                remove_devices: vec![100],
                ..Default::default()
            },
        )
    });
}

#[test]
fn vm_folders_are_created_unique_and_destroyed_when_empty() {
    let mut w = default_world();
    let top = w.default_datacenter().unwrap().vm_folder;
    let f = w.create_folder(top, "vch-1").unwrap();
    assert_eq!(f.to_string().chars().take(7).collect::<String>(), "group-v");
    assert_refused(&mut w, FaultKind::DuplicateName, |w| {
        w.create_folder(top, "vch-1")
    });
    let mut spec = vm("c", cluster_root(&w), shared_ds(&w), 1, GIB, 0);
    spec.folder = Some(f);
    let id = w.create_vm(spec).unwrap();
    assert_refused(&mut w, FaultKind::ResourceInUse, |w| w.destroy_folder(f));
    w.destroy_vm(id).unwrap();
    w.destroy_folder(f).unwrap();
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.destroy_folder(top)
    });
    w.check_invariants().unwrap();
}

#[test]
fn guest_info_needs_a_running_guest_and_keeps_the_change_version() {
    let mut w = default_world();
    let id = w
        .create_vm(vm("c", cluster_root(&w), shared_ds(&w), 1, GIB, 0))
        .unwrap();
    assert_refused(&mut w, FaultKind::InvalidPowerState, |w| {
        w.guest_set_info(id, "guestinfo.x", "1")
    });
    w.power_on_vm(id).unwrap();
    let cv = w.vm(id).unwrap().change_version;
    w.guest_set_info(id, "guestinfo.vice./sessions/abc/started", "true")
        .unwrap();
    assert_eq!(w.vm(id).unwrap().change_version, cv);
    assert_eq!(
        w.vm(id).unwrap().extra_config["guestinfo.vice./sessions/abc/started"].as_ref(),
        "true"
    );
    assert_refused(&mut w, FaultKind::InvalidArgument, |w| {
        w.guest_set_info(id, "disk.EnableUUID", "x")
    });
}
