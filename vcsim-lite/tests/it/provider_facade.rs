//! `VicProvider` over the in-process client: pod lifecycle, notifier, admission at the boundary
//! derived from the VCH's limits, rebuild after a restart, failures visible in pod status.

use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use provider::error::ProviderError;
use provider::node::NodeConfig;
use provider::vic::VicProvider;
use vcsim_lite::http::Shared;
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::portlayer::VchConfig;

/// A VCH limited to 4800 MHz (2 cores at 2400 MHz) and 4096 MB, plus optional fault rules.
fn stack(faults: &[&str]) -> (InProcess, Shared) {
    let mut cfg = VchConfig::new("vk");
    cfg.cpu_limit_mhz = Some(4800);
    cfg.memory_limit_mb = Some(4096);
    let shared = Shared::new(crate::support::stack_with(cfg, faults), 0);
    (InProcess::new(shared.clone()), shared)
}

fn provider(c: InProcess) -> VicProvider<InProcess> {
    VicProvider::new(
        c,
        NodeConfig {
            internal_ip: "10.0.0.5".into(),
            ..Default::default()
        },
    )
}

fn pod(ns: &str, name: &str, cpu: &str, memory: &str) -> Pod {
    let req = [
        ("cpu".to_string(), Quantity(cpu.into())),
        ("memory".to_string(), Quantity(memory.into())),
    ]
    .into();
    Pod {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{ns}-{name}")),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("busybox:1.36".into()),
                command: Some(vec!["sleep".into(), "3600".into()]),
                resources: Some(ResourceRequirements {
                    requests: Some(req),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container_vms(shared: &Shared) -> usize {
    let st = shared.lock();
    st.world.check_invariants().expect("invariants");
    st.world.vms().len() - 1
}

#[test]
fn a_pod_runs_is_reported_and_is_deleted_with_notifications() {
    let (c, shared) = stack(&[]);
    let p = provider(c);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    p.notify_pods(move |pod| {
        s.lock().unwrap().push(
            pod.status
                .as_ref()
                .and_then(|st| st.phase.clone())
                .unwrap_or_default(),
        )
    });
    p.create_pod(&pod("default", "web", "500m", "512Mi"))
        .unwrap();
    let status = p.get_pod_status("default", "web").unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.pod_ip.as_deref(), Some("172.16.0.2"));
    assert_eq!(status.host_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(p.get_pods().len(), 1);
    assert_eq!(
        p.create_pod(&pod("default", "web", "500m", "512Mi"))
            .unwrap_err()
            .reason(),
        "AlreadyExists"
    );
    assert_eq!(container_vms(&shared), 1);
    p.delete_pod(&pod("default", "web", "500m", "512Mi"))
        .unwrap();
    p.delete_pod(&pod("default", "web", "500m", "512Mi"))
        .unwrap();
    assert!(p.get_pod("default", "web").is_none());
    assert_eq!(container_vms(&shared), 0);
    assert_eq!(shared.lock().portlayer.scopes().allocated_count(), 0);
    assert_eq!(
        seen.lock().unwrap().first().map(String::as_str),
        Some("Running")
    );
}

#[test]
fn admission_stops_exactly_at_the_vch_limits() {
    let (c, shared) = stack(&[]);
    let p = provider(c);
    let node = p.node_status().unwrap();
    let cap = node.capacity.unwrap();
    assert_eq!(cap["cpu"].0, "2", "4800 MHz at 2400 MHz per core");
    assert_eq!(cap["memory"].0, format!("{}Ki", 4096 * 1024));
    // CPU: 1500m + 500m fill the 2 cores exactly; one more millicore does not fit.
    p.create_pod(&pod("a", "p1", "1500m", "1Gi")).unwrap();
    p.create_pod(&pod("a", "p2", "500m", "1Gi")).unwrap();
    let err = p.create_pod(&pod("a", "p3", "1m", "1Mi")).unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Rejected {
                reason: "OutOfcpu",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(container_vms(&shared), 2, "a rejected pod creates no VM");
    // Memory: 2Gi used of 4Gi; 2Gi more fits exactly (no CPU asked), one byte more does not.
    let err = p.create_pod(&pod("a", "p4", "0", "2049Mi")).unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Rejected {
                reason: "OutOfmemory",
                ..
            }
        ),
        "{err}"
    );
    p.create_pod(&pod("a", "p5", "0", "2Gi")).unwrap();
    assert_eq!(container_vms(&shared), 3);
}

#[test]
fn a_restarted_provider_rebuilds_its_cache_without_duplicating_vms() {
    let (c, shared) = stack(&[]);
    let first = provider(c.clone());
    first.create_pod(&pod("a", "web", "100m", "128Mi")).unwrap();
    first.create_pod(&pod("b", "web", "100m", "128Mi")).unwrap();
    drop(first);
    let second = provider(c);
    assert_eq!(second.rebuild().unwrap(), 2);
    assert_eq!(second.rebuild().unwrap(), 0);
    assert_eq!(
        second.get_pod_status("b", "web").unwrap().phase.as_deref(),
        Some("Running")
    );
    assert_eq!(
        second
            .create_pod(&pod("a", "web", "100m", "128Mi"))
            .unwrap_err()
            .reason(),
        "AlreadyExists"
    );
    second
        .delete_pod(&pod("a", "web", "100m", "128Mi"))
        .unwrap();
    assert_eq!(container_vms(&shared), 1);
}

#[test]
fn a_start_failure_is_returned_and_shown_in_the_pod_status() {
    let (c, shared) = stack(&["PowerOnVM_Task:vm/default-flaky-*=InsufficientResourcesFault"]);
    let p = provider(c);
    let err = p
        .create_pod(&pod("default", "flaky", "100m", "128Mi"))
        .unwrap_err();
    assert!(
        err.to_string().contains("InsufficientResourcesFault"),
        "{err}"
    );
    let status = p
        .get_pod_status("default", "flaky")
        .expect("the pod stays known");
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.reason.as_deref(), Some("ProviderFailed"));
    assert!(
        status
            .message
            .unwrap_or_default()
            .contains("InsufficientResourcesFault")
    );
    p.delete_pod(&pod("default", "flaky", "100m", "128Mi"))
        .unwrap();
    assert_eq!(container_vms(&shared), 0);
}

/// The provider end to end over HTTP: `VicProvider<HttpClient>` against `serve` on a socket.
#[test]
fn the_provider_runs_pods_over_http_against_a_served_world() {
    let (pl, docker) = crate::support::serve(crate::support::stack_with(VchConfig::new("vk"), &[]));
    let http = provider::http_client::HttpClient::new(
        &format!("http://{pl}"),
        &format!("http://{docker}"),
        std::time::Duration::from_secs(5),
    );
    let p = VicProvider::new(http.clone(), NodeConfig::default());
    p.create_pod(&pod("a", "web", "500m", "256Mi")).unwrap();
    p.create_pod(&pod("b", "web", "500m", "256Mi")).unwrap();
    let status = p.get_pod_status("a", "web").unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert!(status.pod_ip.is_some());
    assert_eq!(p.node_status().unwrap().capacity.unwrap()["cpu"].0, "48");
    // A restarted provider finds both pods through the API and deletes one.
    let again = VicProvider::new(http, NodeConfig::default());
    assert_eq!(again.rebuild().unwrap(), 2);
    again.delete_pod(&pod("a", "web", "500m", "256Mi")).unwrap();
    assert_eq!(again.get_pods().len(), 1);
    assert!(again.get_pod("a", "web").is_none());
}

/// A pod of two containers reads the same over HTTP as in process: the second container's
/// session is a task, which the HTTP client inspects through a handle.
#[test]
fn a_multi_container_pod_reads_the_same_over_http_as_in_process() {
    let mut two = pod("a", "pair", "500m", "256Mi");
    if let Some(spec) = two.spec.as_mut() {
        let mut side = spec.containers[0].clone();
        side.name = "side".into();
        spec.containers.push(side);
    }
    let (c, _shared) = stack(&[]);
    let local = provider(c);
    local.create_pod(&two).unwrap();
    let (pl, docker) = crate::support::serve(crate::support::stack_with(VchConfig::new("vk"), &[]));
    let http = provider::http_client::HttpClient::new(
        &format!("http://{pl}"),
        &format!("http://{docker}"),
        std::time::Duration::from_secs(5),
    );
    let remote = VicProvider::new(http, NodeConfig::default());
    remote.create_pod(&two).unwrap();
    let running = |p: &Pod| {
        let s = p.status.as_ref().unwrap();
        let states: Vec<bool> = s
            .container_statuses
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.state.as_ref().is_some_and(|st| st.running.is_some()))
            .collect();
        (s.phase.clone(), states)
    };
    let want = (Some("Running".to_string()), vec![true, true]);
    assert_eq!(running(&local.get_pod("a", "pair").unwrap()), want);
    assert_eq!(running(&remote.get_pod("a", "pair").unwrap()), want);
}

/// Deleting waits as a kubelet does: the deletion's grace period, else the pod's
/// terminationGracePeriodSeconds, else 30 s (for a guest that ignores its stop signal).
#[test]
fn delete_waits_the_deletion_grace_then_the_pod_grace_then_30s() {
    let (c, shared) = stack(&[]);
    let p = provider(c);
    let cases = [
        (Some(3), Some(20), 3),
        (None, Some(20), 20),
        (None, None, 30),
    ];
    for (i, (deletion, termination, waited)) in cases.into_iter().enumerate() {
        let mut pod = pod("default", &format!("d{i}"), "1", "512Mi");
        pod.metadata.annotations = Some(
            [(
                "vcsim-lite.io/stop-delay-seconds".to_string(),
                "never".to_string(),
            )]
            .into(),
        );
        pod.spec.as_mut().unwrap().termination_grace_period_seconds = termination;
        p.create_pod(&pod).unwrap();
        pod.metadata.deletion_grace_period_seconds = deletion;
        let before = shared.lock().world.now();
        p.delete_pod(&pod).unwrap();
        let took = shared.lock().world.now().since(before).as_millis();
        assert_eq!(took, waited * 1000, "case {i}");
    }
}

#[test]
fn an_update_asking_for_other_resources_changes_no_admission_charge() {
    // Found by the whole-stack state machine: delete gave back what the updated pod asked,
    // not what admission had charged, so the node later admitted more than it has.
    let (c, _shared) = stack(&[]);
    let p = provider(c);
    p.create_pod(&pod("a", "big", "1500m", "1Gi")).unwrap();
    p.create_pod(&pod("a", "small", "100m", "1Gi")).unwrap();
    p.update_pod(&pod("a", "small", "2", "3Gi")).unwrap();
    p.delete_pod(&pod("a", "small", "2", "3Gi")).unwrap();
    // 1500m of 2 cores are still charged: 600m more does not fit, 500m does.
    let err = p.create_pod(&pod("a", "p", "600m", "1Mi")).unwrap_err();
    assert_eq!(err.reason(), "OutOfcpu", "{err}");
    p.create_pod(&pod("a", "p", "500m", "1Mi")).unwrap();
}

/// Statuses read without the pod (`get_pod_status`, `pod_statuses`) are the statuses of the
/// pods `get_pod` and `get_pods` return: containers in spec order, failures included.
#[test]
fn statuses_without_the_pod_equal_the_statuses_of_the_pods() {
    let (c, _shared) = stack(&["PowerOnVM_Task:vm/b-flaky-*=InsufficientResourcesFault"]);
    let p = provider(c);
    let mut trio = pod("team-a", "web", "500m", "256Mi");
    if let Some(spec) = trio.spec.as_mut() {
        for name in ["log", "proxy"] {
            let mut c = spec.containers[0].clone();
            c.name = name.into();
            c.image = Some("nginx:1.25".into());
            spec.containers.push(c);
        }
    }
    p.create_pod(&trio).unwrap();
    p.create_pod(&pod("team", "a-web", "100m", "128Mi"))
        .unwrap();
    p.create_pod(&pod("b", "flaky", "100m", "128Mi"))
        .unwrap_err();
    let pods = p.get_pods();
    let statuses = p.pod_statuses();
    assert_eq!(pods.len(), 3);
    assert_eq!(statuses.len(), 3);
    for (pod, (ns, name, status)) in pods.iter().zip(&statuses) {
        assert_eq!(pod.metadata.namespace.as_deref(), Some(ns.as_str()));
        assert_eq!(pod.metadata.name.as_deref(), Some(name.as_str()));
        assert_eq!(pod.status.as_ref(), Some(status), "{ns}/{name}");
        assert_eq!(
            p.get_pod_status(ns, name).as_ref(),
            Some(status),
            "{ns}/{name}"
        );
    }
    // Ordered by `namespace/name` text: `team-a/` sorts before `team/`.
    let order: Vec<&str> = statuses.iter().map(|(ns, _, _)| ns.as_str()).collect();
    assert_eq!(order, ["b", "team-a", "team"]);
    let (_, _, web) = &statuses[1];
    let names: Vec<(&str, &str)> = web
        .container_statuses
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| (c.name.as_str(), c.image.as_str()))
        .collect();
    assert_eq!(names[1..], [("log", "nginx:1.25"), ("proxy", "nginx:1.25")]);
    assert_eq!(statuses[0].2.reason.as_deref(), Some("ProviderFailed"));
    assert!(p.get_pod_status("team", "nosuch").is_none());
    // An update that changes an image is what both reads show afterwards.
    if let Some(spec) = trio.spec.as_mut() {
        spec.containers[2].image = Some("redis:7.2".into());
    }
    p.update_pod(&trio).unwrap();
    let status = p.get_pod_status("team-a", "web").unwrap();
    let images: Vec<&str> = status
        .container_statuses
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| c.image.as_str())
        .collect();
    assert_eq!(images[1..], ["nginx:1.25", "redis:7.2"]);
    assert_eq!(p.get_pod("team-a", "web").unwrap().status, Some(status));
}
