//! Volumes over a real world: each volume is a disk file, so every step is checked against the
//! datastore's free space and the world's invariants.

use super::*;
use crate::sim::FaultKind;
use crate::vsphere::{InventorySpec, LatencyProfile, WorldBuilder};

fn world_with_shared_ds(capacity_mib: Option<u64>) -> World {
    let mut spec = InventorySpec::default_vcenter();
    if let Some(c) = capacity_mib {
        spec.datacenters[0].datastores[0].capacity_mib = c;
    }
    WorldBuilder::new()
        .inventory(spec)
        .latency(LatencyProfile::zero())
        .build()
        .expect("inventory builds")
}

/// A world with the VCH's usual stores: `default` on sharedDS and `local` on LocalDS_0.
fn setup() -> (World, DatastoreId, Volumes, u64) {
    let w = world_with_shared_ds(None);
    let ds = w.datastore_by_name("sharedDS").expect("sharedDS");
    let local = w.datastore_by_name("LocalDS_0").expect("LocalDS_0");
    let stores = BTreeMap::from([(DEFAULT_STORE.to_string(), ds), ("fast".to_string(), local)]);
    let free = free(&w, ds);
    (w, ds, Volumes::new(stores), free)
}

fn free(w: &World, ds: DatastoreId) -> u64 {
    w.datastore(ds).expect("datastore").free_mib()
}

fn ok(w: &World) {
    w.check_invariants().expect("world invariants hold");
}

fn names(list: &[VolumeInfo]) -> Vec<&str> {
    list.iter().map(|v| v.name.as_str()).collect()
}

#[test]
fn create_defaults_to_1024_mb_on_the_default_store() {
    let (mut w, ds, mut vols, start) = setup();
    let mut req = VolumeRequest::new("data");
    req.metadata.insert("label".into(), "x".into());
    let v = vols.create(&mut w, req).expect("create");
    ok(&w);
    assert_eq!(v.capacity_mb, DEFAULT_CAPACITY_MB);
    assert_eq!(
        (v.store.as_str(), v.driver.as_str()),
        (DEFAULT_STORE, DRIVER)
    );
    assert_eq!(v.label.len(), 16);
    assert!(v.label.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(v.metadata.get("label").map(String::as_str), Some("x"));
    assert!(v.joined_by.is_empty());
    assert_eq!(free(&w, ds), start - 11, "1% of 1024 MiB, rounded up");
    let disk = w.disk_file(ds, "volumes/data/data.vmdk").expect("disk");
    assert_eq!((disk.capacity_mib, disk.used_mib), (1024, 11));
    assert_eq!(vols.get("data"), Ok(v));

    // The `local` alias, capacity 0, and an explicit store and capacity.
    let mut req = VolumeRequest::new("aliased");
    req.driver = "local".into();
    req.capacity_mb = 0;
    let v = vols.create(&mut w, req).expect("local alias");
    assert_eq!((v.driver.as_str(), v.capacity_mb), (DRIVER, 1024));
    let mut req = VolumeRequest::new("sized");
    req.store = "fast".into();
    req.capacity_mb = 2048;
    let local = w.datastore_by_name("LocalDS_0").expect("local");
    let local_free = free(&w, local);
    let v = vols.create(&mut w, req).expect("on fast");
    assert_eq!((v.store.as_str(), v.capacity_mb), ("fast", 2048));
    assert_eq!(free(&w, local), local_free - 21);
    assert_eq!(vols.total_mb(), 1024 + 1024 + 2048);
    assert_eq!(
        vols.stores(),
        vec![DEFAULT_STORE.to_string(), "fast".to_string()]
    );
    ok(&w);
}

#[test]
fn a_duplicate_name_is_409_and_takes_no_space() {
    let (mut w, ds, mut vols, start) = setup();
    vols.create(&mut w, VolumeRequest::new("data"))
        .expect("create");
    let mut again = VolumeRequest::new("data");
    again.store = "fast".into();
    let e = vols.create(&mut w, again).unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(free(&w, ds), start - 11);
    assert_eq!(vols.list("").len(), 1);
    ok(&w);
}

#[test]
fn bad_names_drivers_and_capacities_are_400() {
    let (mut w, ds, mut vols, start) = setup();
    let long = "v".repeat(129);
    for bad in ["", "-x", ".x", "a/b", "a b", "ü", long.as_str()] {
        let e = vols.create(&mut w, VolumeRequest::new(bad)).unwrap_err();
        assert_eq!(e.status(), 400, "{bad:?}");
    }
    for driver in ["", "nfs", "VSPHERE"] {
        let mut req = VolumeRequest::new("v");
        req.driver = driver.into();
        assert_eq!(
            vols.create(&mut w, req).unwrap_err().status(),
            400,
            "{driver:?}"
        );
    }
    let too_big = i64::try_from(MAX_DISK_MIB).expect("fits") + 1;
    for capacity in [-2, i64::MIN, too_big, i64::MAX] {
        let mut req = VolumeRequest::new("v");
        req.capacity_mb = capacity;
        assert_eq!(
            vols.create(&mut w, req).unwrap_err().status(),
            400,
            "{capacity}"
        );
    }
    ok(&w);
    assert_eq!(free(&w, ds), start);
    assert!(vols.list("").is_empty());

    // The limits themselves are fine.
    let edge = "v".repeat(128);
    vols.create(&mut w, VolumeRequest::new(&edge))
        .expect("128 chars");
    vols.create(&mut w, VolumeRequest::new("a_b.c-1"))
        .expect("punctuation");
    let mut req = VolumeRequest::new("huge");
    req.capacity_mb = i64::try_from(MAX_DISK_MIB).expect("fits");
    let v = vols.create(&mut w, req).expect("62 TiB");
    assert_eq!(v.capacity_mb, MAX_DISK_MIB);
    vols.delete(&mut w, "huge").expect("delete huge");
    ok(&w);
}

#[test]
fn an_unknown_store_is_404() {
    let (mut w, ds, mut vols, start) = setup();
    let mut req = VolumeRequest::new("v");
    req.store = "nowhere".into();
    let e = vols.create(&mut w, req).unwrap_err();
    assert_eq!(e, PortLayerError::not_found("volume store", "nowhere"));
    // A VCH without a `default` store refuses a request naming no store.
    let mut bare = Volumes::new(BTreeMap::from([("fast".to_string(), ds)]));
    let e = bare.create(&mut w, VolumeRequest::new("v")).unwrap_err();
    assert_eq!(e, PortLayerError::not_found("volume store", DEFAULT_STORE));
    assert_eq!(free(&w, ds), start);
    assert!(vols.get("v").is_err());
    ok(&w);
}

#[test]
fn a_joined_volume_cannot_be_deleted_until_left() {
    let (mut w, ds, mut vols, start) = setup();
    vols.create(&mut w, VolumeRequest::new("data"))
        .expect("create");
    let (d, path) = vols.join("data", "c2").expect("join");
    assert_eq!((d, path.as_str()), (ds, "volumes/data/data.vmdk"));
    vols.join("data", "c1").expect("join");
    vols.join("data", "c1").expect("joining twice is harmless");
    assert_eq!(vols.get("data").expect("get").joined_by, ["c1", "c2"]);
    assert_eq!(vols.join("nope", "c1").unwrap_err().status(), 404);

    let e = vols.delete(&mut w, "data").unwrap_err();
    assert_eq!(e.status(), 409);
    assert!(e.to_string().contains("c1, c2"), "{e}");
    assert_eq!(free(&w, ds), start - 11);
    vols.leave("data", "c1");
    vols.leave("data", "never");
    vols.leave("nope", "c1");
    assert_eq!(vols.delete(&mut w, "data").unwrap_err().status(), 409);
    vols.leave("data", "c2");
    vols.delete(&mut w, "data").expect("delete");
    ok(&w);
    assert_eq!(free(&w, ds), start);
    assert!(w.disk_file(ds, "volumes/data/data.vmdk").is_none());
    assert_eq!(vols.get("data").unwrap_err().status(), 404);
    assert_eq!(vols.delete(&mut w, "data").unwrap_err().status(), 404);
    assert_eq!(vols.total_mb(), 0);
}

#[test]
fn list_filters_by_substring_and_sorts_by_name() {
    let (mut w, _, mut vols, _) = setup();
    for name in ["beta", "alphabet", "alpha"] {
        vols.create(&mut w, VolumeRequest::new(name))
            .expect("create");
    }
    assert_eq!(names(&vols.list("")), ["alpha", "alphabet", "beta"]);
    assert_eq!(names(&vols.list("alpha")), ["alpha", "alphabet"]);
    assert_eq!(names(&vols.list("bet")), ["alphabet", "beta"]);
    assert!(vols.list("zzz").is_empty());
    ok(&w);
}

#[test]
fn no_disk_space_is_503_and_records_nothing() {
    let mut w = world_with_shared_ds(Some(50));
    let ds = w.datastore_by_name("sharedDS").expect("sharedDS");
    let mut vols = Volumes::new(BTreeMap::from([(DEFAULT_STORE.to_string(), ds)]));
    let mut req = VolumeRequest::new("big");
    req.capacity_mb = 10_000;
    let e = vols.create(&mut w, req).unwrap_err();
    assert_eq!(e.status(), 503);
    let PortLayerError::Vsphere(v) = &e else {
        panic!("expected a vSphere error, got {e:?}");
    };
    assert_eq!(v.fault(), FaultKind::NoDiskSpace);
    assert_eq!(free(&w, ds), 50);
    assert!(vols.list("").is_empty());
    assert_eq!(vols.total_mb(), 0);
    ok(&w);
    vols.create(&mut w, VolumeRequest::new("big"))
        .expect("a default volume fits");
}
