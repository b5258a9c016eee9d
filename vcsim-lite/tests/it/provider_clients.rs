//! The provider's client traits, in process and over HTTP, drive a pod VM through its lifecycle.

use provider::client::{ContainerSpec, PersonaApi, PortLayerApi, TaskSpec};
use vcsim_lite::http::Shared;
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::portlayer::VchConfig;

fn client() -> (InProcess, Shared) {
    let shared = Shared::new(crate::support::stack_with(VchConfig::new("vk"), &[]), 0);
    (InProcess::new(shared.clone()), shared)
}

#[test]
fn a_pod_vm_is_created_started_stopped_and_removed_through_the_traits() {
    let (c, shared) = client();
    lifecycle(&c, &c);
    let st = shared.lock();
    st.world.check_invariants().unwrap();
    assert_eq!(st.portlayer.scopes().allocated_count(), 0);
}

/// The same lifecycle over HTTP against `serve` on a real socket.
#[test]
fn the_http_client_drives_the_same_lifecycle_against_serve() {
    let (pl, docker) = crate::support::serve(crate::support::stack_with(VchConfig::new("vk"), &[]));
    let http = provider::http_client::HttpClient::new(
        &format!("http://{pl}"),
        &format!("http://{docker}"),
        std::time::Duration::from_secs(5),
    );
    lifecycle(&http, &http);
}

fn lifecycle(pl: &dyn PortLayerApi, persona: &dyn PersonaApi) {
    assert_eq!(persona.lookup("busybox").unwrap(), None);
    let image = persona.pull("busybox:latest").unwrap();
    assert_eq!(persona.lookup("busybox").unwrap().as_ref(), Some(&image));
    assert_eq!(persona.pull("nosuch").unwrap_err().status, 404);

    let spec = ContainerSpec {
        name: "default-web".into(),
        num_cpus: 1,
        memory_mb: 512,
        annotations: [("vic.vmware.com/pod".to_string(), "default/web".to_string())].into(),
    };
    let (id, h) = pl.create(&spec).unwrap();
    let h = pl.image_join(&h, &image, "").unwrap();
    let task = TaskSpec {
        path: "/bin/sh".into(),
        args: vec!["-c".into(), "sleep 1d".into()],
        ..Default::default()
    };
    let (h, sid) = pl.task_join(&h, &task).unwrap();
    assert_eq!(sid, id);
    let h = pl.task_bind(&h, &sid).unwrap();
    let h = pl.scopes_add(&h, "default").unwrap();
    let h = pl.io_join(&h).unwrap();
    pl.commit(&h, Some(-1)).unwrap();
    assert_eq!(pl.info(&id).unwrap().state, "Created");

    let h = pl.handle(&id).unwrap();
    let h = pl.scopes_bind(&h).unwrap();
    let h = pl.change_state(&h, "RUNNING").unwrap();
    pl.commit(&h, None).unwrap();
    let st = pl.info(&id).unwrap();
    assert_eq!(st.state, "Running");
    assert_eq!(st.ip.as_deref(), Some("172.16.0.2"));
    assert_eq!(st.sessions[0].id, id);
    assert_eq!(st.sessions[0].state, "running");
    assert_eq!(st.annotations["vic.vmware.com/pod"], "default/web");
    assert_eq!(
        pl.list().unwrap(),
        std::slice::from_ref(&st),
        "list shows info"
    );
    assert_eq!(pl.remove(&id).unwrap_err().status, 409);

    pl.signal(&id, 15).unwrap();
    let st = pl.info(&id).unwrap();
    assert_eq!(
        (st.state.as_str(), st.sessions[0].exit_code),
        ("Stopped", 143)
    );
    let h = pl.handle(&id).unwrap();
    pl.scopes_unbind(&h).unwrap();
    assert_eq!(
        pl.info(&id).unwrap().ip,
        None,
        "an unbound container has no IP"
    );
    pl.remove(&id).unwrap();
    assert_eq!(pl.info(&id).unwrap_err().status, 404);
    assert!(pl.vch_info().unwrap().cpu_mhz > 0);
}

#[test]
fn volumes_and_errors_keep_their_status_codes() {
    let (c, _) = client();
    let pl: &dyn PortLayerApi = &c;
    pl.volume_create("scratch-1", 256).unwrap();
    assert_eq!(pl.volume_create("scratch-1", 256).unwrap_err().status, 409);
    let (_, h) = pl
        .create(&ContainerSpec {
            name: "v".into(),
            num_cpus: 1,
            memory_mb: 512,
            ..Default::default()
        })
        .unwrap();
    let h = pl.volume_join(&h, "scratch-1", "/scratch").unwrap();
    pl.commit(&h, None).unwrap();
    assert_eq!(pl.volume_delete("scratch-1").unwrap_err().status, 409);
    assert!(pl.commit("nope", None).unwrap_err().is_not_found());
    assert!(
        pl.change_state("nope", "RUNNING")
            .unwrap_err()
            .is_not_found()
    );
    let bad = pl.create(&ContainerSpec {
        name: "x".into(),
        num_cpus: 0,
        memory_mb: 512,
        ..Default::default()
    });
    assert_eq!(bad.unwrap_err().status, 400);
}
