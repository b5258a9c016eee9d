//! The port layer driven in the persona's exact call order, in process, with the world checked
//! after every step.

use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::containers::CreateConfig;
use vcsim_lite::portlayer::scopes::NetworkConfig;
use vcsim_lite::portlayer::tasks::TaskJoinConfig;
use vcsim_lite::portlayer::{ContainerState, PortLayer, PortLayerError, VchConfig};
use vcsim_lite::vsphere::guest::{VicRole, vic_role};
use vcsim_lite::vsphere::{LatencyProfile, PowerState, World, WorldBuilder};

fn setup() -> (World, PortLayer, Persona) {
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("world");
    let pl = PortLayer::create(&mut w, VchConfig::new("vch-1")).expect("vch");
    (w, pl, Persona::new(Catalogue::builtin()))
}

fn net() -> NetworkConfig {
    NetworkConfig {
        network_name: "default".into(),
        address: None,
        aliases: vec![],
        ports: vec![],
        nameservers: vec![],
    }
}

/// docker create: Create -> ImageJoin -> tasks Join + Bind -> scopes Add -> interaction Join ->
/// logging Join -> Commit.
fn docker_create(w: &mut World, pl: &mut PortLayer, persona: &mut Persona, name: &str) -> String {
    let pulled = persona.pull(w, pl, "busybox").expect("pull");
    let (id, h) = pl
        .create_container(
            w,
            CreateConfig {
                name: name.into(),
                num_cpus: Some(1),
                memory_mb: Some(512),
                ..Default::default()
            },
        )
        .expect("create");
    let store = Persona::store(pl);
    let h = pl
        .image_join(
            &h,
            &store,
            &pulled.image.top_layer,
            &pulled.image.image_id,
            "busybox:latest",
        )
        .expect("image join");
    let task = TaskJoinConfig {
        path: "/bin/sh".into(),
        args: vec!["-c".into(), "sleep 1d".into()],
        attach: true,
        ..Default::default()
    };
    let (h, tid) = pl.task_join(&h, task).expect("task join");
    assert_eq!(tid, id, "the primary session's id is the container's");
    let h = pl.task_bind(&h, &tid).expect("task bind");
    let h = pl.scopes_add(&h, "default", net()).expect("scopes add");
    let h = pl.interaction_join(&h).expect("interaction");
    let h = pl.logging_join(&h).expect("logging");
    pl.commit(w, &h, Some(-1)).expect("create commit");
    id
}

#[test]
fn persona_call_order_creates_starts_stops_and_removes_a_container_vm() {
    let (mut w, mut pl, mut persona) = setup();
    let vch_vm = pl.vch().vm;
    assert_eq!(
        vic_role(&w.guest_full_name(vch_vm).unwrap()).map(|r| r.0),
        Some(VicRole::Vch)
    );
    let pool = pl.vch().pool;
    let ds = pl.vch().datastore;
    let free_start = w.datastore(ds).unwrap().free_mib();

    let id = docker_create(&mut w, &mut pl, &mut persona, "web");
    w.check_invariants().unwrap();
    let info = pl.container_info(&w, &id).unwrap();
    assert_eq!(info.state, ContainerState::Created);
    let vm = w.vm(info.vm).unwrap();
    assert_eq!(&*vm.name, format!("web-{}", &id[..12]));
    assert_eq!(vm.vm_path_name, format!("[sharedDS] {id}/{id}.vmx"));
    assert_eq!(vm.pool, pool);
    assert_eq!(
        vm.memory_alloc.reservation, 0,
        "container VMs have no reservations"
    );
    assert_eq!(
        vic_role(&w.guest_full_name(info.vm).unwrap()).map(|r| r.0),
        Some(VicRole::Container)
    );
    assert_eq!(&*vm.extra_config["guestinfo.vice./common/id"], id);
    assert_eq!(
        vm.devices
            .iter()
            .filter(|d| d.kind == vcsim_lite::vsphere::DeviceKind::SerialPort)
            .count(),
        3
    );
    assert!(
        w.datastore(ds).unwrap().free_mib() < free_start,
        "image layers take space"
    );
    assert!(
        pl.container_endpoints(&id).unwrap()[0].address.is_none(),
        "no IP before bind"
    );

    // docker start: get handle -> scopes bind -> RUNNING -> commit.
    let h = pl.get_handle(&mut w, &id).unwrap();
    let (h, eps) = pl.scopes_bind(&h).unwrap();
    assert_eq!(eps[0].address.as_deref(), Some("172.16.0.2/16"));
    let h = pl.change_state(&h, "RUNNING").unwrap();
    let pool_usage_before = w.pool(pool).unwrap().memory.usage;
    pl.commit(&mut w, &h, None).unwrap();
    w.check_invariants().unwrap();
    let info = pl.container_info(&w, &id).unwrap();
    assert_eq!(info.state, ContainerState::Running);
    assert_eq!(info.process.as_ref().unwrap().started, "true");
    assert_eq!(w.vm(info.vm).unwrap().power_state, PowerState::PoweredOn);
    assert_eq!(w.pool(pool).unwrap().memory.usage, pool_usage_before + 512);
    assert_eq!(
        w.vm(info.vm).unwrap().extra_config["guestinfo.vice./networks|bridge/assigned/IP"].as_ref(),
        "172.16.0.2/16"
    );
    assert_eq!(pl.list_containers(&w, false).len(), 1);

    // docker stop: STOPPED -> commit.
    let h = pl.get_handle(&mut w, &id).unwrap();
    let h = pl.change_state(&h, "STOPPED").unwrap();
    pl.commit(&mut w, &h, Some(5)).unwrap();
    let info = pl.container_info(&w, &id).unwrap();
    assert_eq!(info.state, ContainerState::Stopped);
    assert_eq!(w.pool(pool).unwrap().memory.usage, pool_usage_before);
    assert!(pl.list_containers(&w, false).is_empty());
    assert_eq!(pl.list_containers(&w, true).len(), 1);

    // docker rm: unbind -> DELETE.
    let h = pl.get_handle(&mut w, &id).unwrap();
    pl.scopes_unbind(&h).unwrap();
    pl.remove_container(&mut w, &id).unwrap();
    w.check_invariants().unwrap();
    assert!(pl.containers().is_empty());
    assert_eq!(pl.scopes().allocated_count(), 0);
    assert!(w.vm(info.vm).is_err());
    let events: Vec<&str> = pl.events().iter().map(|e| e.event).collect();
    assert_eq!(events, vec!["Created", "Started", "Stopped", "Removed"]);
}

#[test]
fn stale_handle_is_409_and_changes_nothing() {
    let (mut w, mut pl, mut persona) = setup();
    let id = docker_create(&mut w, &mut pl, &mut persona, "a");
    let old = pl.get_handle(&mut w, &id).unwrap();
    let new = pl.get_handle(&mut w, &id).unwrap();
    let new = pl.logging_join(&new).unwrap();
    let (new, _) = pl.scopes_bind(&new).unwrap();
    pl.commit(&mut w, &new, None).unwrap();
    let (old, _) = pl.scopes_bind(&old).unwrap();
    let old = pl.change_state(&old, "RUNNING").unwrap();
    let before = vcsim_lite::report::state_json(&w);
    let err = pl.commit(&mut w, &old, None).unwrap_err();
    assert!(matches!(err, PortLayerError::ConcurrentAccess(_)), "{err}");
    assert_eq!(err.status(), 409);
    assert_eq!(vcsim_lite::report::state_json(&w), before);
}

#[test]
fn unknown_ids_and_wrong_states_get_the_api_codes() {
    let (mut w, mut pl, mut persona) = setup();
    assert_eq!(pl.commit(&mut w, "nope", None).unwrap_err().status(), 404);
    assert_eq!(pl.get_handle(&mut w, "nope").unwrap_err().status(), 404);
    assert_eq!(
        pl.remove_container(&mut w, "nope").unwrap_err().status(),
        404
    );
    assert_eq!(
        pl.change_state("nope", "RUNNING").unwrap_err().status(),
        404
    );
    let id = docker_create(&mut w, &mut pl, &mut persona, "b");
    let h = pl.get_handle(&mut w, &id).unwrap();
    assert_eq!(pl.change_state(&h, "DANCING").unwrap_err().status(), 400);
    let h = pl.change_state(&h, "RUNNING").unwrap();
    pl.commit(&mut w, &h, None).unwrap();
    assert_eq!(pl.remove_container(&mut w, &id).unwrap_err().status(), 409);
    assert_eq!(pl.signal(&mut w, &id, 0).unwrap_err().status(), 400);
    pl.signal(&mut w, &id, 9).unwrap();
    let info = pl.container_info(&w, &id).unwrap();
    assert_eq!(info.state, ContainerState::Stopped);
    assert_eq!(info.process.unwrap().exit_code, 137);
    assert_eq!(pl.signal(&mut w, &id, 9).unwrap_err().status(), 409);
    let dup = pl.create_container(
        &mut w,
        CreateConfig {
            name: "b".into(),
            ..Default::default()
        },
    );
    assert_eq!(dup.unwrap_err().status(), 409);
    let bad = pl.create_container(
        &mut w,
        CreateConfig {
            name: "-bad name".into(),
            ..Default::default()
        },
    );
    assert_eq!(bad.unwrap_err().status(), 400);
    w.check_invariants().unwrap();
}

#[test]
fn container_limit_and_storage_quota_are_enforced() {
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .unwrap();
    let mut cfg = VchConfig::new("small");
    cfg.container_limit = Some(1);
    let mut pl = PortLayer::create(&mut w, cfg).unwrap();
    let mut persona = Persona::new(Catalogue::builtin());
    docker_create(&mut w, &mut pl, &mut persona, "one");
    let err = pl
        .create_container(&mut w, CreateConfig::default())
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(err.to_string().contains("limit of 1 containers"), "{err}");

    let mut cfg = VchConfig::new("tight");
    cfg.storage_quota_gb = Some(9);
    let mut pl = PortLayer::create(&mut w, cfg).unwrap();
    docker_create(&mut w, &mut pl, &mut persona, "fits");
    let (_, h) = pl
        .create_container(
            &mut w,
            CreateConfig {
                memory_mb: Some(1024),
                ..Default::default()
            },
        )
        .unwrap();
    let err = pl.commit(&mut w, &h, None).unwrap_err();
    assert_eq!(err.status(), 403, "{err}");
    w.check_invariants().unwrap();
}

#[test]
fn a_changed_container_limit_applies_to_the_next_create_only() {
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .unwrap();
    let mut pl = PortLayer::create(&mut w, VchConfig::new("grow")).unwrap();
    let mut persona = Persona::new(Catalogue::builtin());
    docker_create(&mut w, &mut pl, &mut persona, "one");
    docker_create(&mut w, &mut pl, &mut persona, "two");
    pl.set_container_limit(Some(1));
    assert_eq!(pl.vch().config.container_limit, Some(1));
    let err = pl
        .create_container(&mut w, CreateConfig::default())
        .unwrap_err();
    assert_eq!(err.status(), 403, "{err}");
    assert_eq!(pl.containers().len(), 2, "the two above the limit stay");
    pl.set_container_limit(Some(3));
    docker_create(&mut w, &mut pl, &mut persona, "three");
    pl.set_container_limit(None);
    docker_create(&mut w, &mut pl, &mut persona, "four");
    assert_eq!(pl.containers().len(), 4);
    w.check_invariants().unwrap();
}

#[test]
fn vch_info_walks_to_the_parent_when_unlimited() {
    let (w, pl, _) = setup();
    let info = pl.vch_info(&w).unwrap();
    // Unlimited VCH pool: VIC reports the cluster root pool's limits (3 hosts x 16 x 2400).
    assert_eq!(info.cpu_mhz, 115_200);
    assert_eq!(info.host_product_name, "VMware vCenter Server");
    let mut w2 = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .unwrap();
    let mut cfg = VchConfig::new("limited");
    cfg.cpu_limit_mhz = Some(4000);
    cfg.memory_limit_mb = Some(8192);
    let pl2 = PortLayer::create(&mut w2, cfg).unwrap();
    let info = pl2.vch_info(&w2).unwrap();
    assert_eq!((info.cpu_mhz, info.memory_mb), (4000, 8192));
    assert_eq!(
        info.memory_usage_mb, 2048,
        "the appliance VM uses its memory"
    );
}

#[test]
fn volumes_are_kept_when_a_container_is_removed_and_in_use_while_joined() {
    let (mut w, mut pl, mut persona) = setup();
    let req = vcsim_lite::portlayer::volumes::VolumeRequest {
        name: "data".into(),
        driver: "vsphere".into(),
        driver_args: Default::default(),
        store: "default".into(),
        capacity_mb: -1,
        metadata: Default::default(),
    };
    pl.create_volume(&mut w, req).unwrap();
    persona.pull(&mut w, &mut pl, "alpine").unwrap();
    let (id, h) = pl
        .create_container(&mut w, CreateConfig::default())
        .unwrap();
    let h = pl.volume_join(&h, "data", "/data", "rw").unwrap();
    pl.commit(&mut w, &h, None).unwrap();
    w.check_invariants().unwrap();
    assert_eq!(pl.delete_volume(&mut w, "data").unwrap_err().status(), 409);
    pl.remove_container(&mut w, &id).unwrap();
    assert!(pl.volumes().get("data").is_ok());
    pl.delete_volume(&mut w, "data").unwrap();
    w.check_invariants().unwrap();
}

#[test]
fn vm_changes_made_behind_the_port_layers_back_are_republished_as_container_events() {
    let (mut w, mut pl, mut persona) = setup();
    let id = docker_create(&mut w, &mut pl, &mut persona, "ext");
    let h = pl.get_handle(&mut w, &id).unwrap();
    let h = pl.change_state(&h, "RUNNING").unwrap();
    pl.commit(&mut w, &h, None).unwrap();
    let vm = pl.container_info(&w, &id).unwrap().vm;
    // Someone powers the VM off in vSphere directly.
    w.power_off_vm(vm).unwrap();
    let info = pl.container_info(&w, &id).unwrap();
    assert_eq!(info.state, ContainerState::Stopped);
    assert_eq!(info.process.unwrap().exit_code, 143);
    assert_eq!(pl.events().last().map(|e| e.event), Some("Stopped"));
    // ... and destroys it: the container is dropped and its IPs released.
    let h = pl.get_handle(&mut w, &id).unwrap();
    pl.scopes_bind(&h).unwrap();
    assert_eq!(pl.scopes().allocated_count(), 1);
    w.destroy_vm(vm).unwrap();
    assert_eq!(pl.container_info(&w, &id).unwrap_err().status(), 404);
    assert_eq!(pl.events().last().map(|e| e.event), Some("Removed"));
    assert_eq!(pl.scopes().allocated_count(), 0);
    assert!(pl.handles().is_empty());
}

#[test]
fn rename_sessions_endpoints_and_scope_removal() {
    let (mut w, mut pl, mut persona) = setup();
    let id = docker_create(&mut w, &mut pl, &mut persona, "old");
    let other = docker_create(&mut w, &mut pl, &mut persona, "taken");
    let h = pl.get_handle(&mut w, &id).unwrap();
    assert_eq!(pl.rename(&h, "taken").unwrap_err().status(), 409);
    assert_eq!(pl.rename(&h, "bad name").unwrap_err().status(), 400);
    let h = pl.rename(&h, "new").unwrap();
    pl.commit(&mut w, &h, None).unwrap();
    let info = pl.container_info(&w, &id).unwrap();
    assert_eq!(info.name, "new");
    assert_eq!(&*w.vm(info.vm).unwrap().name, format!("new-{}", &id[..12]));

    // A second session: join, bind, inspect, unbind, remove.
    let h = pl.get_handle(&mut w, &id).unwrap();
    let task = TaskJoinConfig {
        id: Some("exec1".into()),
        path: "/bin/ls".into(),
        ..Default::default()
    };
    let (h, sid) = pl.task_join(&h, task).unwrap();
    assert_eq!(sid, "exec1");
    let h = pl.task_bind(&h, "exec1").unwrap();
    let (s, state) = pl.task_inspect(&w, &h, "exec1").unwrap();
    assert_eq!((s.active, state), (true, "created"));
    assert_eq!(pl.task_wait(&w, &h, "exec1").unwrap_err().status(), 428);
    let h = pl.task_unbind(&h, "exec1").unwrap();
    let h = pl.task_remove(&h, "exec1").unwrap();
    assert_eq!(pl.task_remove(&h, "exec1").unwrap_err().status(), 404);
    assert_eq!(pl.task_inspect(&w, &h, "exec1").unwrap_err().status(), 404);

    // Endpoints by handle and by id; removal from the scope.
    assert_eq!(pl.container_endpoints(&id).unwrap().len(), 1);
    assert_eq!(pl.container_endpoints(&h).unwrap()[0].scope, "bridge");
    assert_eq!(pl.container_endpoints("nope").unwrap_err().status(), 404);
    let h = pl.scopes_remove(&h, "default").unwrap();
    assert_eq!(
        pl.container_endpoints(&id).unwrap().len(),
        1,
        "the scope changes at commit"
    );
    assert_eq!(pl.scopes_remove(&h, "default").unwrap_err().status(), 404);
    assert_eq!(pl.handle_state(&w, &h).unwrap(), ContainerState::Created);
    pl.commit(&mut w, &h, None).unwrap();
    assert!(pl.container_endpoints(&id).unwrap().is_empty());
    w.check_invariants().unwrap();
    assert_ne!(id, other);
}

#[test]
fn running_sessions_report_started_and_wait_returns() {
    let (mut w, mut pl, mut persona) = setup();
    let id = docker_create(&mut w, &mut pl, &mut persona, "run");
    let h = pl.get_handle(&mut w, &id).unwrap();
    let h = pl.change_state(&h, "RUNNING").unwrap();
    pl.commit(&mut w, &h, None).unwrap();
    let h = pl.get_handle(&mut w, &id).unwrap();
    let (s, state) = pl.task_inspect(&w, &h, &id).unwrap();
    assert_eq!((s.started.as_str(), state), ("true", "running"));
    assert_eq!(pl.task_wait(&w, &h, &id).unwrap().id, id);
    let vm = pl.container_info(&w, &id).unwrap().vm;
    assert_eq!(
        w.vm(vm).unwrap().extra_config[format!("guestinfo.vice./sessions/{id}/started").as_str()]
            .as_ref(),
        "true"
    );
    // An exec session committed while running starts at once.
    let task = TaskJoinConfig {
        id: Some("exec".into()),
        path: "/bin/date".into(),
        ..Default::default()
    };
    let (h, _) = pl.task_join(&h, task).unwrap();
    let h = pl.task_bind(&h, "exec").unwrap();
    pl.commit(&mut w, &h, None).unwrap();
    let h = pl.get_handle(&mut w, &id).unwrap();
    assert_eq!(pl.task_inspect(&w, &h, "exec").unwrap().1, "running");
}

#[test]
fn injected_power_on_fault_is_a_503_and_publishes_failed() {
    let rule: vcsim_lite::sim::fault::FaultRule =
        "PowerOnVM_Task:vm/flaky-*=InsufficientResourcesFault"
            .parse()
            .unwrap();
    let mut w = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .fault(rule)
        .build()
        .unwrap();
    let mut pl = PortLayer::create(&mut w, VchConfig::new("vch-f")).unwrap();
    let mut persona = Persona::new(Catalogue::builtin());
    let id = docker_create(&mut w, &mut pl, &mut persona, "flaky");
    let h = pl.get_handle(&mut w, &id).unwrap();
    let h = pl.change_state(&h, "RUNNING").unwrap();
    let err = pl.commit(&mut w, &h, None).unwrap_err();
    assert_eq!(err.status(), 503, "{err}");
    assert_eq!(pl.events().last().map(|e| e.event), Some("Failed"));
    assert_eq!(
        pl.container_info(&w, &id).unwrap().state,
        ContainerState::Created
    );
    w.check_invariants().unwrap();
}

#[test]
fn pulls_keep_the_image_caches_in_the_kv_store_and_a_repeat_pull_writes_nothing() {
    let (mut w, mut pl, mut persona) = setup();
    let busybox = persona.pull(&mut w, &mut pl, "busybox").expect("pull");
    let alpine = persona.pull(&mut w, &mut pl, "alpine:3.18").expect("pull");
    let store = Persona::store(&pl);
    // What VIC's persona keeps: the images (fields in sorted order) and the repositories.
    let record = |r: &vcsim_lite::persona::ImageRecord| {
        serde_json::json!({"ID": r.image_id, "Store": store, "TopLayer": r.top_layer,
            "RepoTags": r.repo_tags, "Layers": r.layers, "Size": r.size_bytes,
            "Created": r.created, "Cmd": r.cmd})
    };
    let mut images = [&alpine.image, &busybox.image];
    images.sort_by_key(|r| &r.image_id);
    let want_images = serde_json::Value::from(images.map(record).to_vec()).to_string();
    assert_eq!(pl.kv_get("docker.images").expect("images"), want_images);
    let repos: serde_json::Value =
        serde_json::from_str(&pl.kv_get("docker.repositories").expect("repos")).expect("JSON");
    for (reference, r) in [
        ("busybox:latest", &busybox.image),
        ("alpine:3.18", &alpine.image),
        (
            format!("busybox@{}", busybox.digest).as_str(),
            &busybox.image,
        ),
    ] {
        assert_eq!(
            repos[reference]["ImageID"],
            r.image_id.as_str(),
            "{reference}"
        );
        assert_eq!(
            repos[reference]["Layer"],
            r.top_layer.as_str(),
            "{reference}"
        );
    }
    // Pulling busybox again changes nothing, so the caches are not rewritten: a value put
    // in their place stays.
    pl.kv_put("docker.images", "sentinel").expect("put");
    let again = persona.pull(&mut w, &mut pl, "busybox").expect("pull");
    assert_eq!(again.image, busybox.image);
    assert_eq!(
        (again.written.len(), again.existing.len()),
        (0, busybox.image.layers.len())
    );
    assert_eq!(pl.kv_get("docker.images").expect("images"), "sentinel");
    // A pull that adds a tag (busybox:1.36 is the same image) writes them again.
    persona.pull(&mut w, &mut pl, "busybox:1.36").expect("pull");
    assert_ne!(pl.kv_get("docker.images").expect("images"), "sentinel");
}
