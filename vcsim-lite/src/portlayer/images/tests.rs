//! Image stores over a real world: every layer is a disk file, so each step is checked against
//! the datastore's free space and the world's invariants.

use std::fmt::Write as _;

use super::*;
use crate::sim::FaultKind;
use crate::vsphere::{InventorySpec, LatencyProfile, VmConfigChange, VmSpec, WorldBuilder};

const STORE: &str = "564d0000-aaaa-bbbb-cccc-000000000001";

fn world_with_shared_ds(capacity_mib: Option<u64>) -> (World, DatastoreId) {
    let mut spec = InventorySpec::default_vcenter();
    if let Some(c) = capacity_mib {
        spec.datacenters[0].datastores[0].capacity_mib = c;
    }
    let w = WorldBuilder::new()
        .inventory(spec)
        .latency(LatencyProfile::zero())
        .build()
        .expect("inventory builds");
    let ds = w.datastore_by_name("sharedDS").expect("sharedDS");
    (w, ds)
}

/// A world and a store on `sharedDS`, with the free space left after the store was made.
fn setup() -> (World, DatastoreId, ImageStores, u64) {
    let (mut w, ds) = world_with_shared_ds(None);
    let mut st = ImageStores::new(ds);
    st.create_store(&mut w, STORE).expect("store");
    let free = free(&w, ds);
    (w, ds, st, free)
}

fn free(w: &World, ds: DatastoreId) -> u64 {
    w.datastore(ds).expect("datastore").free_mib()
}

fn ok(w: &World) {
    w.check_invariants().expect("world invariants hold");
}

fn sum(body: &[u8]) -> String {
    let mut s = String::from("sha256:");
    for b in Sha256::digest(body) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn write(st: &mut ImageStores, w: &mut World, id: &str, parent: &str) -> Result<ImageInfo> {
    let body = format!("tar of {id}");
    st.write_image(
        w,
        &LayerWrite {
            store: STORE,
            image_id: id,
            parent_id: parent,
            sum: &sum(body.as_bytes()),
            metadata: None,
            body: LayerBody::Raw(body.as_bytes()),
        },
    )
}

/// scratch <- l1 <- l2 <- l3, each layer one MiB on the datastore.
fn chain(st: &mut ImageStores, w: &mut World) {
    for (id, parent) in [("l1", SCRATCH), ("l2", "l1"), ("l3", "l2")] {
        write(st, w, id, parent).expect("layer");
    }
}

fn ids(list: &[ImageInfo]) -> Vec<&str> {
    list.iter().map(|i| i.id.as_str()).collect()
}

fn meta<'a>(key: &'a str, value: &'a str) -> Option<(&'a str, &'a str)> {
    Some((key, value))
}

#[test]
fn create_store_makes_scratch_and_refuses_duplicates() {
    let (mut w, ds) = world_with_shared_ds(None);
    let start = free(&w, ds);
    let mut st = ImageStores::new(ds);
    assert_eq!(
        st.create_store(&mut w, STORE),
        Ok(format!("/storage/{STORE}"))
    );
    ok(&w);
    assert_eq!(free(&w, ds), start - SCRATCH_USED_MIB);
    let path = format!("VIC/{STORE}/images/scratch/scratch.vmdk");
    let disk = w.disk_file(ds, &path).expect("scratch disk");
    assert_eq!((disk.capacity_mib, disk.used_mib), (8192, 16));
    assert_eq!(st.layer_disk(STORE, SCRATCH), Ok((ds, path)));

    let e = st.create_store(&mut w, STORE).unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(free(&w, ds), start - SCRATCH_USED_MIB);
    for bad in ["", "a/b", "..", "sp ace", &"x".repeat(129)] {
        assert_eq!(
            st.create_store(&mut w, bad).unwrap_err().status(),
            400,
            "{bad:?}"
        );
    }
    ok(&w);
    assert_eq!(st.stores(), vec![STORE.to_string()]);

    let scratch = st.get(STORE, SCRATCH).expect("scratch");
    assert_eq!(scratch.parent, "");
    assert_eq!(scratch.size_bytes, 0);
    assert_eq!(
        st.list(STORE, &[]),
        Ok(vec![]),
        "the full list leaves scratch out"
    );
    assert_eq!(st.usage_bytes(STORE), Ok(0));
    let e = st.get("other", SCRATCH).unwrap_err();
    assert_eq!(e, PortLayerError::not_found("image store", "other"));
}

#[test]
fn a_chain_of_three_layers_takes_space_and_lists_in_creation_order() {
    let (mut w, ds, mut st, start) = setup();
    chain(&mut st, &mut w);
    ok(&w);
    assert_eq!(free(&w, ds), start - 3);
    let list = st.list(STORE, &[]).expect("list");
    assert_eq!(ids(&list), ["l1", "l2", "l3"]);
    let l2 = &list[1];
    assert_eq!(l2.parent, "l1");
    assert_eq!(l2.store, STORE);
    assert_eq!(l2.self_link, format!("/storage/{STORE}/info/l2"));
    assert_eq!(l2.size_bytes, "tar of l2".len() as u64);
    assert_eq!(list[0].parent, SCRATCH);
    let (d, path) = st.layer_disk(STORE, "l3").expect("disk");
    assert_eq!(path, format!("VIC/{STORE}/images/l3/l3.vmdk"));
    let disk = w.disk_file(d, &path).expect("layer disk");
    assert_eq!((disk.capacity_mib, disk.used_mib), (8192, 1));
    assert_eq!(st.get(STORE, "l3"), Ok(list[2].clone()));
}

#[test]
fn a_checksum_mismatch_writes_nothing() {
    let (mut w, ds, mut st, start) = setup();
    write(&mut st, &mut w, "l1", SCRATCH).expect("l1");
    let before = st.list(STORE, &[]).expect("list");
    let body = b"the real tar";
    let wrong = sum(b"another tar");
    let e = st
        .write_image(
            &mut w,
            &LayerWrite {
                store: STORE,
                image_id: "l2",
                parent_id: "l1",
                sum: &wrong,
                metadata: None,
                body: LayerBody::Raw(body),
            },
        )
        .unwrap_err();
    assert_eq!(e.status(), 400);
    let msg = e.to_string();
    assert!(
        msg.contains("checksum mismatch") && msg.contains(&wrong),
        "{msg}"
    );
    assert!(msg.contains(&sum(body)), "{msg}");
    let short = "sha256:abcd".to_string();
    let no_prefix = sum(body).replace("sha256:", "md5:");
    for bad in [short, no_prefix, String::new()] {
        let e = st.write_image(
            &mut w,
            &LayerWrite {
                store: STORE,
                image_id: "l2",
                parent_id: "l1",
                sum: &bad,
                metadata: None,
                body: LayerBody::Raw(body),
            },
        );
        assert_eq!(e.unwrap_err().status(), 400, "{bad:?}");
    }
    ok(&w);
    assert_eq!(free(&w, ds), start - 1);
    assert_eq!(st.list(STORE, &[]), Ok(before));
    assert!(
        w.disk_file(ds, &format!("VIC/{STORE}/images/l2/l2.vmdk"))
            .is_none()
    );
    // An upper-case digest is the same digest.
    let upper = format!("sha256:{}", sum(body)["sha256:".len()..].to_uppercase());
    st.write_image(
        &mut w,
        &LayerWrite {
            store: STORE,
            image_id: "l2",
            parent_id: "l1",
            sum: &upper,
            metadata: None,
            body: LayerBody::Raw(body),
        },
    )
    .expect("upper-case hex");
}

#[test]
fn a_hashed_tar_is_checked_against_the_sum_as_raw_bytes_are() {
    let (mut w, _, mut st, _) = setup();
    let tar = HashedTar::new(b"a layer tar".to_vec());
    assert_eq!(
        tar.sum(),
        sum(tar.bytes()),
        "the digest is the bytes' digest"
    );
    let mut req = LayerWrite {
        store: STORE,
        image_id: "l1",
        parent_id: SCRATCH,
        sum: &sum(b"another tar"),
        metadata: None,
        body: LayerBody::Hashed(&tar),
    };
    let e = st.write_image(&mut w, &req).unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains(&tar.sum()), "{e}");
    assert!(st.list(STORE, &[]).expect("store").is_empty());
    let right = tar.sum();
    req.sum = &right;
    let info = st.write_image(&mut w, &req).expect("the right sum");
    assert_eq!(info.size_bytes, tar.bytes().len() as u64);
    ok(&w);
}

#[test]
fn unknown_parents_duplicates_and_bad_ids_are_refused() {
    let (mut w, ds, mut st, start) = setup();
    write(&mut st, &mut w, "l1", SCRATCH).expect("l1");
    let e = write(&mut st, &mut w, "l2", "nope").unwrap_err();
    assert_eq!(e, PortLayerError::not_found("image", "nope"));
    assert_eq!(e.status(), 404);
    assert_eq!(
        write(&mut st, &mut w, "l1", SCRATCH).unwrap_err().status(),
        409
    );
    for bad in [SCRATCH, "", "a/b", "..", &"f".repeat(129)] {
        let e = write(&mut st, &mut w, bad, SCRATCH).unwrap_err();
        assert_eq!(e.status(), 400, "{bad:?}");
    }
    let body = b"x";
    let e = st.write_image(
        &mut w,
        &LayerWrite {
            store: "nostore",
            image_id: "l9",
            parent_id: SCRATCH,
            sum: &sum(body),
            metadata: None,
            body: LayerBody::Raw(body),
        },
    );
    assert_eq!(e, Err(PortLayerError::not_found("image store", "nostore")));
    ok(&w);
    assert_eq!(free(&w, ds), start - 1);
    assert_eq!(ids(&st.list(STORE, &[]).expect("list")), ["l1"]);
    write(&mut st, &mut w, &"f".repeat(64), "l1").expect("a 64-hex v1 id");
}

#[test]
fn a_declared_size_in_docker_metadata_consumes_space() {
    let (mut w, ds, mut st, start) = setup();
    let body = b"small stand-in tar";
    let v1 = r#"{"id":"l1","parent":"","Size":52428800}"#;
    let l1 = st
        .write_image(
            &mut w,
            &LayerWrite {
                store: STORE,
                image_id: "l1",
                parent_id: SCRATCH,
                sum: &sum(body),
                metadata: meta("metaData", v1),
                body: LayerBody::Raw(body),
            },
        )
        .expect("l1");
    assert_eq!(l1.size_bytes, 50 * MIB);
    assert_eq!(l1.metadata.get("metaData").map(String::as_str), Some(v1));
    assert_eq!(free(&w, ds), start - 50);
    ok(&w);

    // A layer larger than the base image size gets a disk that holds it.
    let big = r#"{"Size":10737418241}"#;
    st.write_image(
        &mut w,
        &LayerWrite {
            store: STORE,
            image_id: "l2",
            parent_id: "l1",
            sum: &sum(body),
            metadata: meta("metaData", big),
            body: LayerBody::Raw(body),
        },
    )
    .expect("l2");
    let (_, path) = st.layer_disk(STORE, "l2").expect("disk");
    let disk = w.disk_file(ds, &path).expect("l2 disk");
    assert_eq!((disk.capacity_mib, disk.used_mib), (10241, 10241));
    assert_eq!(free(&w, ds), start - 50 - 10241);

    // Invalid JSON, another key, or a non-numeric size: only the body counts.
    let cases = [
        ("l3", meta("metaData", "{not json")),
        ("l4", meta("other", r#"{"Size":52428800}"#)),
        ("l5", meta("metaData", r#"{"Size":"big"}"#)),
        ("l6", meta("metaData", r#"{"Size":-5}"#)),
    ];
    for (id, m) in cases {
        let i = st
            .write_image(
                &mut w,
                &LayerWrite {
                    store: STORE,
                    image_id: id,
                    parent_id: SCRATCH,
                    sum: &sum(body),
                    metadata: m,
                    body: LayerBody::Raw(body),
                },
            )
            .expect("layer");
        assert_eq!(i.size_bytes, body.len() as u64, "{id}");
        let owned = m.map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(i.metadata, owned.into_iter().collect::<BTreeMap<_, _>>());
    }
    assert_eq!(free(&w, ds), start - 50 - 10241 - 4);

    // A size no disk can hold is the caller's error, not vSphere's.
    let huge = format!(r#"{{"Size":{}}}"#, u64::MAX);
    let e = st.write_image(
        &mut w,
        &LayerWrite {
            store: STORE,
            image_id: "l7",
            parent_id: SCRATCH,
            sum: &sum(body),
            metadata: meta("metaData", &huge),
            body: LayerBody::Raw(body),
        },
    );
    assert_eq!(e.unwrap_err().status(), 400);
    ok(&w);
}

#[test]
fn usage_counts_layers_but_not_scratch() {
    let (mut w, ds, mut st, _) = setup();
    chain(&mut st, &mut w);
    let expected: u64 = ["l1", "l2", "l3"]
        .iter()
        .map(|i| format!("tar of {i}").len() as u64)
        .sum();
    assert_eq!(st.usage_bytes(STORE), Ok(expected));
    assert_eq!(st.total_bytes(), expected);
    st.create_store(&mut w, "second").expect("second store");
    let body = b"second store layer";
    st.write_image(
        &mut w,
        &LayerWrite {
            store: "second",
            image_id: "s1",
            parent_id: SCRATCH,
            sum: &sum(body),
            metadata: None,
            body: LayerBody::Raw(body),
        },
    )
    .expect("s1");
    assert_eq!(st.usage_bytes("second"), Ok(body.len() as u64));
    assert_eq!(st.total_bytes(), expected + body.len() as u64);
    assert_eq!(st.stores(), vec![STORE.to_string(), "second".to_string()]);
    assert_eq!(st.usage_bytes("nostore").unwrap_err().status(), 404);
    assert_eq!(st.datastore(), ds);
    ok(&w);
}

#[test]
fn list_by_ids_keeps_creation_order_and_skips_unknown_ids() {
    let (mut w, _, mut st, _) = setup();
    chain(&mut st, &mut w);
    let want = ["l3".to_string(), "nope".to_string(), "l1".to_string()];
    assert_eq!(ids(&st.list(STORE, &want).expect("list")), ["l1", "l3"]);
    let by_url = [format!("/storage/{STORE}/info/l2"), SCRATCH.to_string()];
    assert_eq!(
        ids(&st.list(STORE, &by_url).expect("list")),
        [SCRATCH, "l2"]
    );
    assert_eq!(st.list("nostore", &[]).unwrap_err().status(), 404);
}

#[test]
fn delete_with_keep_nodes_stops_at_the_kept_layer() {
    let (mut w, ds, mut st, start) = setup();
    chain(&mut st, &mut w);
    let keep = [format!("/storage/{STORE}/info/l2")];
    let deleted = st.delete(&mut w, STORE, "l3", &keep).expect("delete l3");
    assert_eq!(ids(&deleted), ["l3"]);
    ok(&w);
    assert_eq!(free(&w, ds), start - 2);
    assert_eq!(ids(&st.list(STORE, &[]).expect("list")), ["l1", "l2"]);

    // Without keepNodes the rest of the branch goes too, child first.
    let deleted = st.delete(&mut w, STORE, "l2", &[]).expect("delete l2");
    assert_eq!(ids(&deleted), ["l2", "l1"]);
    assert_eq!(deleted[1].parent, SCRATCH);
    ok(&w);
    assert_eq!(free(&w, ds), start);
}

#[test]
fn layers_with_children_scratch_and_kept_layers_are_in_use() {
    let (mut w, ds, mut st, start) = setup();
    chain(&mut st, &mut w);
    let e = st.delete(&mut w, STORE, "l2", &[]).unwrap_err();
    assert_eq!(e.status(), 423);
    assert!(e.to_string().contains("has 1 children"), "{e}");
    assert_eq!(
        st.delete(&mut w, STORE, SCRATCH, &[]).unwrap_err().status(),
        423
    );
    let keep = ["l3".to_string()];
    assert_eq!(
        st.delete(&mut w, STORE, "l3", &keep).unwrap_err().status(),
        423
    );
    let e = st.delete(&mut w, STORE, "nope", &[]).unwrap_err();
    assert_eq!(e, PortLayerError::not_found("image", "nope"));
    assert_eq!(
        st.delete(&mut w, "nostore", "l1", &[])
            .unwrap_err()
            .status(),
        404
    );
    ok(&w);
    assert_eq!(free(&w, ds), start - 3);
    assert_eq!(ids(&st.list(STORE, &[]).expect("list")), ["l1", "l2", "l3"]);
}

#[test]
fn container_references_hold_layers_until_removed() {
    let (mut w, ds, mut st, start) = setup();
    chain(&mut st, &mut w);
    st.add_ref(STORE, "l3", "c1").expect("ref l3");
    st.add_ref(STORE, "l1", "c2").expect("ref l1");
    let e = st.delete(&mut w, STORE, "l3", &[]).unwrap_err();
    assert_eq!(e.status(), 423);
    assert!(e.to_string().contains("in use by 1 containers"), "{e}");
    assert_eq!(st.add_ref(STORE, "nope", "c1").unwrap_err().status(), 404);
    assert_eq!(st.add_ref("nostore", "l1", "c1").unwrap_err().status(), 404);

    st.remove_ref(STORE, "l3", "c1");
    st.remove_ref(STORE, "l3", "never-joined");
    st.remove_ref("nostore", "nope", "c1");
    // l1 is still referenced by c2, so the walk stops below it.
    let deleted = st.delete(&mut w, STORE, "l3", &[]).expect("delete l3");
    assert_eq!(ids(&deleted), ["l3", "l2"]);
    assert_eq!(
        st.delete(&mut w, STORE, "l1", &[]).unwrap_err().status(),
        423
    );
    st.remove_ref(STORE, "l1", "c2");
    assert_eq!(
        ids(&st.delete(&mut w, STORE, "l1", &[]).expect("l1")),
        ["l1"]
    );
    ok(&w);
    assert_eq!(free(&w, ds), start);
}

#[test]
fn deleting_the_whole_chain_returns_the_space() {
    let (mut w, ds, mut st, start) = setup();
    chain(&mut st, &mut w);
    let body = b"fat layer";
    let v1 = r#"{"Size":104857600}"#;
    st.write_image(
        &mut w,
        &LayerWrite {
            store: STORE,
            image_id: "l4",
            parent_id: "l3",
            sum: &sum(body),
            metadata: meta("metaData", v1),
            body: LayerBody::Raw(body),
        },
    )
    .expect("l4");
    assert_eq!(free(&w, ds), start - 103);
    let deleted = st.delete(&mut w, STORE, "l4", &[]).expect("delete");
    assert_eq!(ids(&deleted), ["l4", "l3", "l2", "l1"]);
    ok(&w);
    assert_eq!(free(&w, ds), start);
    assert_eq!(st.usage_bytes(STORE), Ok(0));
    assert_eq!(st.list(STORE, &[]), Ok(vec![]));
    assert!(st.get(STORE, SCRATCH).is_ok(), "scratch stays");
}

#[test]
fn a_branch_point_stops_the_walk_until_its_last_child_goes() {
    let (mut w, ds, mut st, start) = setup();
    write(&mut st, &mut w, "base", SCRATCH).expect("base");
    write(&mut st, &mut w, "a", "base").expect("a");
    write(&mut st, &mut w, "b", "base").expect("b");
    assert_eq!(ids(&st.delete(&mut w, STORE, "a", &[]).expect("a")), ["a"]);
    assert_eq!(
        ids(&st.delete(&mut w, STORE, "b", &[]).expect("b")),
        ["b", "base"]
    );
    ok(&w);
    assert_eq!(free(&w, ds), start);
}

#[test]
fn a_layer_disk_attached_to_a_vm_is_in_use() {
    let (mut w, ds, mut st, _) = setup();
    chain(&mut st, &mut w);
    let pool = w.pool_by_path("DC0_C0").expect("cluster");
    let vm = w.create_vm(VmSpec::new("holder", pool, ds)).expect("vm");
    let (_, l2) = st.layer_disk(STORE, "l2").expect("disk");
    let attach = VmConfigChange {
        attach_disks: vec![(ds, l2)],
        ..Default::default()
    };
    w.reconfigure_vm(vm, attach).expect("attach");
    ok(&w);
    // The walk leaves the attached l2 (and so l1) alone.
    assert_eq!(
        ids(&st.delete(&mut w, STORE, "l3", &[]).expect("l3")),
        ["l3"]
    );
    let e = st.delete(&mut w, STORE, "l2", &[]).unwrap_err();
    assert_eq!(e.status(), 423);
    assert!(e.to_string().contains("attached"), "{e}");
    assert_eq!(ids(&st.list(STORE, &[]).expect("list")), ["l1", "l2"]);
    ok(&w);
}

#[test]
fn no_disk_space_surfaces_as_vsphere_503_and_records_nothing() {
    let (mut w, ds) = world_with_shared_ds(Some(100));
    let mut st = ImageStores::new(ds);
    st.create_store(&mut w, STORE).expect("store");
    write(&mut st, &mut w, "l1", SCRATCH).expect("l1");
    let start = free(&w, ds);
    assert_eq!(start, 100 - 16 - 1);
    let body = b"layer";
    let v1 = r#"{"Size":209715200}"#;
    let e = st
        .write_image(
            &mut w,
            &LayerWrite {
                store: STORE,
                image_id: "l2",
                parent_id: "l1",
                sum: &sum(body),
                metadata: meta("metaData", v1),
                body: LayerBody::Raw(body),
            },
        )
        .unwrap_err();
    assert_eq!(e.status(), 503);
    let PortLayerError::Vsphere(v) = &e else {
        panic!("expected a vSphere error, got {e:?}");
    };
    assert_eq!(v.fault(), FaultKind::NoDiskSpace);
    ok(&w);
    assert_eq!(free(&w, ds), start);
    assert_eq!(ids(&st.list(STORE, &[]).expect("list")), ["l1"]);
    assert_eq!(st.get(STORE, "l2").unwrap_err().status(), 404);
    assert!(
        w.disk_file(ds, &format!("VIC/{STORE}/images/l2/l2.vmdk"))
            .is_none()
    );
    // The id is free to be written once there is room.
    let body = b"smaller";
    st.write_image(
        &mut w,
        &LayerWrite {
            store: STORE,
            image_id: "l2",
            parent_id: "l1",
            sum: &sum(body),
            metadata: None,
            body: LayerBody::Raw(body),
        },
    )
    .expect("fits");

    // A datastore too small for scratch: no store at all.
    let (mut w, ds) = world_with_shared_ds(Some(10));
    let mut st = ImageStores::new(ds);
    let e = st.create_store(&mut w, STORE).unwrap_err();
    assert_eq!(e.status(), 503);
    assert!(st.stores().is_empty());
    assert_eq!(free(&w, ds), 10);
    ok(&w);
}
