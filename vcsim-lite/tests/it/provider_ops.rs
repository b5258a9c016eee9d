//! The provider's pod operations through the in-process client, with each creator step failed
//! in turn (client-level fault injection) and vSphere faults (fault rules): every failure rolls
//! back completely.

use std::sync::Mutex;

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, Pod, PodSpec, ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use provider::client::{
    ApiError, ApiResult, ContainerSpec, ContainerStatus, ImageRef, PortLayerApi, TaskSpec,
    VchCapacity,
};
use provider::error::ProviderError;
use provider::operations::{creator, deleter, starter, stopper};
use vcsim_lite::http::Shared;
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::portlayer::VchConfig;

fn stack(faults: &[&str]) -> (InProcess, Shared) {
    let shared = Shared::new(crate::support::stack_with(VchConfig::new("vk"), faults), 0);
    (InProcess::new(shared.clone()), shared)
}

fn pod(ns: &str, name: &str, containers: Vec<Container>, volumes: Vec<Volume>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers,
            volumes: (!volumes.is_empty()).then_some(volumes),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn busybox(name: &str, cpu: &str, memory: &str) -> Container {
    let req = [
        ("cpu".to_string(), Quantity(cpu.into())),
        ("memory".to_string(), Quantity(memory.into())),
    ]
    .into();
    Container {
        name: name.into(),
        image: Some("busybox:1.36".into()),
        command: Some(vec!["sleep".into(), "3600".into()]),
        resources: Some(ResourceRequirements {
            requests: Some(req),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "scratch".into(),
            mount_path: "/scratch".into(),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn scratch() -> Volume {
    Volume {
        name: "scratch".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity("256Mi".into())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container VMs (all but the VCH appliance), volumes and IPs in use.
fn footprint(shared: &Shared) -> (usize, usize, usize) {
    let st = shared.lock();
    st.world.check_invariants().expect("invariants");
    (
        st.world.vms().len() - 1,
        st.portlayer.volumes().list("").len(),
        st.portlayer.scopes().allocated_count(),
    )
}

#[test]
fn a_pod_vm_is_sized_from_requests_and_goes_through_its_lifecycle() {
    let (c, shared) = stack(&[]);
    let p = pod(
        "default",
        "web",
        vec![
            busybox("main", "1500m", "700Mi"),
            busybox("side", "250m", "100Mi"),
        ],
        vec![scratch()],
    );
    let id = creator::create(&c, &c, &p).unwrap();
    {
        let st = shared.lock();
        let info = st.portlayer.containers().get(&id).expect("container");
        let vm = st.world.vm(info.vm).unwrap();
        assert_eq!(&*vm.name, format!("default-web-{}", &id[..12]));
        assert_eq!(
            (vm.vcpus, vm.memory_mib),
            (2, 896),
            "1750m -> 2 vCPUs; 800Mi -> 896 MB (multiple of 128)"
        );
        assert_eq!(info.spec.sessions.len(), 2);
        assert_eq!(
            info.spec
                .annotations
                .get("virtual-kubelet.io/pod-name")
                .map(String::as_str),
            Some("web")
        );
        assert!(st.portlayer.volumes().get("default-web-scratch").is_ok());
    }
    starter::start(&c, &id).unwrap();
    let s = c.info(&id).unwrap();
    assert_eq!(s.state, "Running");
    assert!(s.ip.is_some());
    stopper::stop(&c, &id, 30).unwrap();
    assert_eq!(c.info(&id).unwrap().state, "Stopped");
    deleter::delete(&c, &id, &["default-web-scratch".to_string()], 30).unwrap();
    assert_eq!(footprint(&shared), (0, 0, 0));
    // Deleting again is not an error.
    deleter::delete(&c, &id, &["default-web-scratch".to_string()], 30).unwrap();
}

#[test]
fn same_named_pods_in_two_namespaces_get_their_own_pod_vms() {
    let (c, shared) = stack(&[]);
    let a = creator::create(
        &c,
        &c,
        &pod(
            "a",
            "web",
            vec![busybox("m", "1", "512Mi")],
            vec![scratch()],
        ),
    )
    .unwrap();
    let b = creator::create(
        &c,
        &c,
        &pod(
            "b",
            "web",
            vec![busybox("m", "1", "512Mi")],
            vec![scratch()],
        ),
    )
    .unwrap();
    assert_ne!(a, b);
    assert_eq!(footprint(&shared), (2, 2, 0));
}

/// A client that fails one named call, to make each step of an operation fail in turn.
struct FailOne<'a> {
    inner: &'a InProcess,
    step: &'static str,
    calls: Mutex<u32>,
}

impl FailOne<'_> {
    fn check(&self, step: &str) -> ApiResult<()> {
        if step == self.step {
            *self.calls.lock().unwrap() += 1;
            return Err(ApiError::new(503, format!("injected failure of {step}")));
        }
        Ok(())
    }
}

impl PortLayerApi for FailOne<'_> {
    fn create(&self, s: &ContainerSpec) -> ApiResult<(String, String)> {
        self.check("create")?;
        self.inner.create(s)
    }
    fn handle(&self, id: &str) -> ApiResult<String> {
        self.check("handle")?;
        self.inner.handle(id)
    }
    fn image_join(&self, h: &str, i: &ImageRef, d: &str) -> ApiResult<String> {
        self.check("image_join")?;
        self.inner.image_join(h, i, d)
    }
    fn task_join(&self, h: &str, t: &TaskSpec) -> ApiResult<(String, String)> {
        self.check("task_join")?;
        self.inner.task_join(h, t)
    }
    fn task_bind(&self, h: &str, id: &str) -> ApiResult<String> {
        self.check("task_bind")?;
        self.inner.task_bind(h, id)
    }
    fn scopes_add(&self, h: &str, s: &str) -> ApiResult<String> {
        self.check("scopes_add")?;
        self.inner.scopes_add(h, s)
    }
    fn scopes_bind(&self, h: &str) -> ApiResult<String> {
        self.check("scopes_bind")?;
        self.inner.scopes_bind(h)
    }
    fn scopes_unbind(&self, h: &str) -> ApiResult<String> {
        self.check("scopes_unbind")?;
        self.inner.scopes_unbind(h)
    }
    fn io_join(&self, h: &str) -> ApiResult<String> {
        self.check("io_join")?;
        self.inner.io_join(h)
    }
    fn volume_create(&self, n: &str, c: u64) -> ApiResult<()> {
        self.check("volume_create")?;
        self.inner.volume_create(n, c)
    }
    fn volume_join(&self, h: &str, v: &str, m: &str) -> ApiResult<String> {
        self.check("volume_join")?;
        self.inner.volume_join(h, v, m)
    }
    fn volume_delete(&self, n: &str) -> ApiResult<()> {
        self.check("volume_delete")?;
        self.inner.volume_delete(n)
    }
    fn change_state(&self, h: &str, s: &str) -> ApiResult<String> {
        self.check("change_state")?;
        self.inner.change_state(h, s)
    }
    fn commit(&self, h: &str, w: Option<i64>) -> ApiResult<()> {
        self.check("commit")?;
        self.inner.commit(h, w)
    }
    fn remove(&self, id: &str) -> ApiResult<()> {
        self.check("remove")?;
        self.inner.remove(id)
    }
    fn signal(&self, id: &str, s: i64) -> ApiResult<()> {
        self.check("signal")?;
        self.inner.signal(id, s)
    }
    fn info(&self, id: &str) -> ApiResult<ContainerStatus> {
        self.check("info")?;
        self.inner.info(id)
    }
    fn list(&self) -> ApiResult<Vec<ContainerStatus>> {
        self.check("list")?;
        self.inner.list()
    }
    fn vch_info(&self) -> ApiResult<VchCapacity> {
        self.check("vch_info")?;
        self.inner.vch_info()
    }
}

#[test]
fn each_creator_step_failing_in_turn_rolls_back_everything() {
    let steps = [
        "volume_create",
        "create",
        "image_join",
        "task_join",
        "task_bind",
        "scopes_add",
        "io_join",
        "volume_join",
        "commit",
    ];
    for step in steps {
        let (c, shared) = stack(&[]);
        let failing = FailOne {
            inner: &c,
            step,
            calls: Mutex::new(0),
        };
        let p = pod(
            "default",
            "web",
            vec![busybox("main", "1", "512Mi"), busybox("side", "1", "512Mi")],
            vec![scratch()],
        );
        let err = creator::create(&failing, &c, &p).unwrap_err();
        assert!(
            matches!(err, ProviderError::PortLayer { .. }),
            "{step}: {err}"
        );
        assert!(*failing.calls.lock().unwrap() >= 1, "{step} was called");
        assert_eq!(
            footprint(&shared),
            (0, 0, 0),
            "{step} left something behind"
        );
        // The same pod can then be created for real.
        creator::create(&c, &c, &p).unwrap();
        assert_eq!(footprint(&shared), (1, 1, 0));
    }
}

#[test]
fn a_vsphere_fault_at_commit_or_start_is_reported_and_rolled_back() {
    let (c, shared) = stack(&["CreateVM_Task:vm/default-bad-*=InsufficientResourcesFault"]);
    let err = creator::create(
        &c,
        &c,
        &pod(
            "default",
            "bad",
            vec![busybox("m", "1", "512Mi")],
            vec![scratch()],
        ),
    )
    .unwrap_err();
    assert_eq!(err.reason(), "ProviderFailed");
    assert!(err.to_string().contains("commit"), "{err}");
    assert_eq!(footprint(&shared), (0, 0, 0));

    let (c, shared) = stack(&["PowerOnVM_Task:vm/default-nostart-*=InsufficientResourcesFault"]);
    let id = creator::create(
        &c,
        &c,
        &pod(
            "default",
            "nostart",
            vec![busybox("m", "1", "512Mi")],
            vec![],
        ),
    )
    .unwrap();
    let err = starter::start(&c, &id).unwrap_err();
    assert!(
        err.to_string().contains("InsufficientResourcesFault"),
        "{err}"
    );
    assert_eq!(c.info(&id).unwrap().state, "Created");
    assert_eq!(
        footprint(&shared),
        (1, 0, 0),
        "no IP is held by a VM that did not start"
    );
}

#[test]
fn images_follow_the_pull_policy_and_unsupported_pods_are_refused() {
    let (c, shared) = stack(&[]);
    let mut never = busybox("m", "1", "512Mi");
    never.image_pull_policy = Some("Never".into());
    let p = pod("default", "never", vec![never.clone()], vec![]);
    assert_eq!(
        creator::create(&c, &c, &p).unwrap_err().reason(),
        "ErrImageNeverPull"
    );
    let mut nosuch = busybox("m", "1", "512Mi");
    nosuch.image = Some("nosuch:1".into());
    let err = creator::create(&c, &c, &pod("default", "nosuch", vec![nosuch], vec![])).unwrap_err();
    assert_eq!(err.reason(), "ErrImagePull");
    assert!(err.to_string().contains("pull access denied"), "{err}");
    // Once pulled, Never finds it.
    creator::create(
        &c,
        &c,
        &pod("default", "pulls", vec![busybox("m", "1", "512Mi")], vec![]),
    )
    .unwrap();
    creator::create(&c, &c, &p).unwrap();

    let host_path = Volume {
        name: "h".into(),
        host_path: Some(Default::default()),
        ..Default::default()
    };
    assert_eq!(
        creator::create(
            &c,
            &c,
            &pod(
                "default",
                "hp",
                vec![busybox("m", "1", "512Mi")],
                vec![host_path]
            )
        )
        .unwrap_err()
        .reason(),
        "Unsupported"
    );
    let mut bad = busybox("m", "1", "512Mi");
    bad.resources = Some(ResourceRequirements {
        requests: Some([("cpu".to_string(), Quantity("lots".into()))].into()),
        ..Default::default()
    });
    assert_eq!(
        creator::create(&c, &c, &pod("default", "bad", vec![bad], vec![]))
            .unwrap_err()
            .reason(),
        "InvalidPod"
    );
    assert_eq!(
        creator::create(&c, &c, &pod("default", "empty", vec![], vec![]))
            .unwrap_err()
            .reason(),
        "InvalidPod"
    );
    assert_eq!(footprint(&shared), (2, 0, 0));
}

#[test]
fn a_container_without_command_runs_the_images_command() {
    let (c, shared) = stack(&[]);
    let mut plain = busybox("m", "1", "512Mi");
    plain.command = None;
    plain.volume_mounts = None;
    let id = creator::create(&c, &c, &pod("default", "plain", vec![plain], vec![])).unwrap();
    let st = shared.lock();
    let s = &st.portlayer.containers()[&id].spec.sessions[&id];
    assert!(!s.path.is_empty(), "the image's Cmd becomes the task");
}

#[test]
fn each_starter_step_failing_leaves_the_pod_vm_off_without_an_ip() {
    for step in ["handle", "scopes_bind", "change_state", "commit"] {
        let (c, shared) = stack(&[]);
        let id = creator::create(
            &c,
            &c,
            &pod("default", "web", vec![busybox("m", "1", "512Mi")], vec![]),
        )
        .unwrap();
        let failing = FailOne {
            inner: &c,
            step,
            calls: Mutex::new(0),
        };
        let err = starter::start(&failing, &id).unwrap_err();
        assert!(err.to_string().contains("injected"), "{step}: {err}");
        assert_eq!(c.info(&id).unwrap().state, "Created", "{step}");
        assert_eq!(
            footprint(&shared),
            (1, 0, 0),
            "{step}: no IP is held by a pod VM that is off"
        );
        starter::start(&c, &id).unwrap();
        assert_eq!(c.info(&id).unwrap().state, "Running");
    }
}

#[test]
fn each_deleter_step_failing_is_reported_and_a_retry_finishes_the_job() {
    let volumes = ["default-web-scratch".to_string()];
    for step in [
        "info",
        "handle",
        "change_state",
        "commit",
        "remove",
        "volume_delete",
    ] {
        let (c, shared) = stack(&[]);
        let p = pod(
            "default",
            "web",
            vec![busybox("m", "1", "512Mi")],
            vec![scratch()],
        );
        let id = creator::create(&c, &c, &p).unwrap();
        starter::start(&c, &id).unwrap();
        let failing = FailOne {
            inner: &c,
            step,
            calls: Mutex::new(0),
        };
        let err = deleter::delete(&failing, &id, &volumes, 30).unwrap_err();
        assert!(err.to_string().contains("injected"), "{step}: {err}");
        deleter::delete(&c, &id, &volumes, 30).unwrap();
        assert_eq!(footprint(&shared), (0, 0, 0), "{step}");
    }
}

/// Containers with different images: the pod VM gets a read-write layer (a scratch disk) per
/// distinct image, each image layer is referenced while the pod exists (so it cannot be
/// deleted), and every reference and disk goes with the pod.
#[test]
fn a_pod_with_two_images_gets_a_layer_for_each() {
    let (c, shared) = stack(&[]);
    let mut sidecar = busybox("side", "1", "512Mi");
    sidecar.image = Some("alpine:3.18".into());
    let mut second = busybox("second", "1", "512Mi");
    second.image = Some("alpine:3.18".into());
    let mixed = pod(
        "default",
        "mixed",
        vec![busybox("main", "1", "512Mi"), sidecar, second],
        vec![],
    );
    let id = creator::create(&c, &c, &mixed).unwrap();
    starter::start(&c, &id).unwrap();
    let (busybox_top, alpine_top, store) = {
        let st = shared.lock();
        let info = st.portlayer.containers()[&id].clone();
        let main = info.spec.image.clone().expect("the primary layer");
        assert_eq!(main.repo, "busybox:1.36");
        let extra: Vec<(&String, &str)> = info
            .spec
            .extra_images
            .iter()
            .map(|(d, i)| (d, i.repo.as_str()))
            .collect();
        assert_eq!(
            extra,
            [(&"side".to_string(), "alpine:3.18")],
            "one layer per image"
        );
        let vm = st.world.vm(info.vm).unwrap();
        let scratch = vm
            .disks
            .iter()
            .filter(|d| d.capacity_mib == 8 * 1024)
            .count();
        assert_eq!(scratch, 2, "two read-write layers");
        assert_eq!(
            vm.extra_config
                .get("guestinfo.vice./layers|side/repo")
                .map(|v| &**v),
            Some("alpine:3.18")
        );
        assert_eq!(info.spec.sessions.len(), 3, "a task per container");
        let alpine = info.spec.extra_images.get("side").unwrap().clone();
        (main.layer, alpine.layer, main.store)
    };
    for top in [&busybox_top, &alpine_top] {
        let mut st = shared.lock();
        let st = &mut *st;
        let err = st
            .portlayer
            .delete_image(&mut st.world, &store, top, &[])
            .unwrap_err();
        assert_eq!(err.status(), 423, "{top} is in use (Locked): {err}");
    }
    deleter::delete(&c, &id, &[], 0).unwrap();
    let mut st = shared.lock();
    let st = &mut *st;
    assert!(st.portlayer.containers().is_empty());
    st.portlayer
        .delete_image(&mut st.world, &store, &alpine_top, &[])
        .expect("no container references alpine any more");
    st.world.check_invariants().unwrap();
}

/// The stop honours the grace period on the simulated clock: a guest that exits within it
/// ends with 0 after its own delay; one that needs longer, or ignores the signal, is killed
/// (137) when the grace period ends; one without a delay dies of the signal at once (143).
#[test]
fn graceful_stop_waits_on_the_simulated_clock_then_kills() {
    let (c, shared) = stack(&[]);
    let cases: [(Option<&str>, i64, i32, u64); 5] = [
        (None, 30, 143, 0),
        (Some("12"), 30, 0, 12),
        (Some("45"), 30, 137, 30),
        (Some("never"), 5, 137, 5),
        (Some("never"), 0, 137, 0),
    ];
    for (i, (delay, grace, exit_code, took_secs)) in cases.into_iter().enumerate() {
        let mut p = pod(
            "default",
            &format!("g{i}"),
            vec![busybox("m", "1", "512Mi")],
            vec![],
        );
        if let Some(d) = delay {
            p.metadata.annotations = Some(
                [(
                    "vcsim-lite.io/stop-delay-seconds".to_string(),
                    d.to_string(),
                )]
                .into(),
            );
        }
        let id = creator::create(&c, &c, &p).unwrap();
        starter::start(&c, &id).unwrap();
        let before = shared.lock().world.now();
        stopper::stop(&c, &id, grace).unwrap();
        let took = shared.lock().world.now().since(before);
        let s = c.info(&id).unwrap();
        assert_eq!(s.state, "Stopped", "case {i}");
        assert_eq!(
            s.sessions[0].exit_code, exit_code,
            "case {i}: {delay:?} grace {grace}"
        );
        assert_eq!(
            took.as_millis(),
            took_secs * 1000,
            "case {i}: simulated time taken"
        );
        deleter::delete(&c, &id, &[], grace).unwrap();
    }
    let mut bad = pod("default", "bad", vec![busybox("m", "1", "512Mi")], vec![]);
    bad.metadata.annotations = Some(
        [(
            "vcsim-lite.io/stop-delay-seconds".to_string(),
            "soon".to_string(),
        )]
        .into(),
    );
    let err = creator::create(&c, &c, &bad).unwrap_err();
    assert!(err.to_string().contains("not a number of seconds"), "{err}");
    assert_eq!(
        footprint(&shared),
        (0, 0, 0),
        "a refused pod leaves nothing"
    );
}
