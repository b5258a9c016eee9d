use super::*;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

const CREATED: i64 = 1_700_000_000;
const STARTED: i64 = CREATED + 5;
const STOPPED: i64 = CREATED + 65;

fn pod(names: &[&str]) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: names
                .iter()
                .map(|n| Container {
                    name: n.to_string(),
                    image: Some(format!("{n}:1")),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn session(id: &str, state: &str, started: &str, exit_code: i32) -> SessionStatus {
    let ran = matches!(state, "running" | "stopped");
    SessionStatus {
        id: id.into(),
        state: state.into(),
        started: started.into(),
        exit_code,
        start_time: if ran { STARTED } else { 0 },
        stop_time: if state == "stopped" { STOPPED } else { 0 },
    }
}

fn vm(state: &str, sessions: Vec<SessionStatus>) -> ContainerStatus {
    ContainerStatus {
        id: "c0ffee".into(),
        name: "default-web".into(),
        state: state.into(),
        sessions,
        ip: Some("172.16.0.2".into()),
        create_time: CREATED,
        ..Default::default()
    }
}

fn condition_of(s: &PodStatus, type_: &str) -> String {
    s.conditions
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

/// (Initialized, Ready, ContainersReady, PodScheduled) as "True"/"False".
fn conditions_of(s: &PodStatus) -> [String; 4] {
    ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map(|t| condition_of(s, t))
}

fn states(s: &PodStatus) -> Vec<ContainerState> {
    s.container_statuses
        .iter()
        .flatten()
        .filter_map(|c| c.state.clone())
        .collect()
}

fn waiting_reason(c: &ContainerState) -> Option<&str> {
    c.waiting.as_ref().and_then(|w| w.reason.as_deref())
}

fn terminated(c: &ContainerState) -> Option<(i32, &str)> {
    let t = c.terminated.as_ref()?;
    Some((t.exit_code, t.reason.as_deref().unwrap_or_default()))
}

/// Expected conditions, as `conditions_of` returns them.
fn expect(v: [&str; 4]) -> [String; 4] {
    v.map(str::to_string)
}

#[test]
fn a_pod_without_a_vm_is_pending_scheduled_and_uninitialized() {
    let s = pod_status(&pod(&["app"]), None, "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(
        conditions_of(&s),
        expect(["False", "False", "False", "True"])
    );
    assert_eq!(waiting_reason(&states(&s)[0]), Some(REASON_CREATING));
    assert_eq!((s.pod_ip, s.start_time), (None, None));
    assert_eq!(s.host_ip.as_deref(), Some("10.0.0.5"));
}

#[test]
fn a_created_or_starting_vm_is_pending_with_containers_creating() {
    for state in ["Created", "Starting"] {
        let v = vm(state, vec![session("c0ffee", "created", "", 0)]);
        let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
        assert_eq!(s.phase.as_deref(), Some("Pending"), "{state}");
        assert_eq!(
            conditions_of(&s),
            expect(["True", "False", "False", "True"])
        );
        assert_eq!(waiting_reason(&states(&s)[0]), Some(REASON_CREATING));
        assert_eq!(s.start_time, time_from_unix(CREATED));
    }
}

#[test]
fn a_running_vm_is_running_and_ready_since_the_session_started() {
    let v = vm("Running", vec![session("c0ffee", "running", "true", 0)]);
    let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Running"));
    assert_eq!(conditions_of(&s), expect(["True", "True", "True", "True"]));
    let c = &s.container_statuses.as_ref().expect("statuses")[0];
    assert!(c.ready);
    assert_eq!(
        (c.name.as_str(), c.image.as_str(), c.image_id.as_str()),
        ("app", "app:1", "")
    );
    assert_eq!(c.restart_count, 0);
    let running = c
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .expect("running");
    assert_eq!(running.started_at, time_from_unix(STARTED));
}

#[test]
fn a_stopped_vm_that_exited_zero_succeeded() {
    let v = vm("Stopped", vec![session("c0ffee", "stopped", "true", 0)]);
    let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Succeeded"));
    assert_eq!(
        conditions_of(&s),
        expect(["True", "False", "False", "True"])
    );
    let st = states(&s);
    assert_eq!(terminated(&st[0]), Some((0, REASON_COMPLETED)));
    let t = st[0].terminated.as_ref().expect("terminated");
    assert_eq!(t.started_at, time_from_unix(STARTED));
    assert_eq!(t.finished_at, time_from_unix(STOPPED));
}

#[test]
fn a_stopped_vm_that_exited_non_zero_failed_with_error() {
    let v = vm("Stopped", vec![session("c0ffee", "stopped", "true", 137)]);
    let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Failed"));
    assert_eq!(terminated(&states(&s)[0]), Some((137, REASON_ERROR)));
}

#[test]
fn a_suspended_vm_is_unknown() {
    let v = vm("Suspended", vec![session("c0ffee", "running", "true", 0)]);
    let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Unknown"));
    assert_eq!(condition_of(&s, "Initialized"), "True");
}

#[test]
fn a_failed_start_is_terminated_with_start_error_and_the_guests_message() {
    let v = vm(
        "Stopped",
        vec![session("c0ffee", "failed", "exec: /bin/app: not found", 0)],
    );
    let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Failed"));
    let st = states(&s);
    assert_eq!(
        terminated(&st[0]),
        Some((START_ERROR_EXIT_CODE, REASON_START_ERROR))
    );
    let t = st[0].terminated.as_ref().expect("terminated");
    assert_eq!(t.message.as_deref(), Some("exec: /bin/app: not found"));
    assert_eq!(
        conditions_of(&s),
        expect(["True", "False", "False", "True"])
    );
}

#[test]
fn a_container_without_a_session_waits_and_keeps_the_pod_pending() {
    let v = vm("Running", vec![session("c0ffee", "running", "true", 0)]);
    let s = pod_status(&pod(&["app", "sidecar"]), Some(&v), "10.0.0.5");
    let st = states(&s);
    assert_eq!(st.len(), 2);
    assert!(st[0].running.is_some());
    assert_eq!(waiting_reason(&st[1]), Some(REASON_CREATING));
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    assert_eq!(condition_of(&s, "Ready"), "False");
    let ready = s.conditions.iter().flatten().find(|c| c.type_ == "Ready");
    assert_eq!(
        ready.and_then(|c| c.message.as_deref()),
        Some("containers with unready status: [sidecar]")
    );
}

#[test]
fn sessions_map_to_containers_in_order() {
    let v = vm(
        "Running",
        vec![
            session("c0ffee", "running", "true", 0),
            session("s1", "stopped", "true", 3),
        ],
    );
    let s = pod_status(&pod(&["app", "sidecar"]), Some(&v), "10.0.0.5");
    let cs = s.container_statuses.as_ref().expect("statuses");
    assert_eq!(cs[0].container_id.as_deref(), Some("vic://c0ffee"));
    assert_eq!(cs[1].container_id.as_deref(), Some("vic://s1"));
    assert_eq!(terminated(&states(&s)[1]), Some((3, REASON_ERROR)));
    assert_eq!(
        s.phase.as_deref(),
        Some("Running"),
        "running and ended is Running"
    );
}

#[test]
fn all_containers_ended_with_one_failure_is_failed() {
    let v = vm(
        "Stopped",
        vec![
            session("c0ffee", "stopped", "true", 0),
            session("s1", "stopped", "true", 1),
        ],
    );
    let s = pod_status(&pod(&["app", "sidecar"]), Some(&v), "10.0.0.5");
    assert_eq!(s.phase.as_deref(), Some("Failed"));
}

#[test]
fn a_session_the_stopped_vm_never_started_is_a_start_error() {
    let v = vm(
        "Stopped",
        vec![
            session("c0ffee", "stopped", "true", 0),
            session("s1", "created", "", 0),
        ],
    );
    let s = pod_status(&pod(&["app", "sidecar"]), Some(&v), "10.0.0.5");
    let st = states(&s);
    assert_eq!(
        terminated(&st[1]),
        Some((START_ERROR_EXIT_CODE, REASON_START_ERROR))
    );
    assert_eq!(s.phase.as_deref(), Some("Failed"));
}

#[test]
fn the_pod_ip_comes_from_the_vm_and_the_host_ip_from_the_node() {
    let v = vm("Running", vec![session("c0ffee", "running", "true", 0)]);
    let s = pod_status(&pod(&["app"]), Some(&v), "10.0.0.5");
    assert_eq!(s.pod_ip.as_deref(), Some("172.16.0.2"));
    let pod_ips: Vec<String> = s.pod_ips.iter().flatten().map(|p| p.ip.clone()).collect();
    assert_eq!(pod_ips, ["172.16.0.2"]);
    assert_eq!(s.host_ip.as_deref(), Some("10.0.0.5"));
    let host_ips: Vec<String> = s.host_ips.iter().flatten().map(|p| p.ip.clone()).collect();
    assert_eq!(host_ips, ["10.0.0.5"]);
}

#[test]
fn a_vm_without_an_address_has_no_pod_ip() {
    let mut v = vm("Starting", vec![]);
    v.ip = None;
    let s = pod_status(&pod(&["app"]), Some(&v), "");
    assert_eq!(
        (s.pod_ip, s.pod_ips, s.host_ip, s.host_ips),
        (None, None, None, None)
    );
}

#[test]
fn times_of_zero_are_absent_and_others_are_unix_seconds() {
    assert_eq!(time_from_unix(0), None);
    assert_eq!(time_from_unix(-5), None);
    let t = time_from_unix(CREATED).expect("in range");
    assert_eq!(t.0.as_second(), CREATED);
}

#[test]
fn a_container_is_started_and_ready_only_while_its_session_runs() {
    let v = vm(
        "Running",
        vec![
            session("c0ffee", "running", "true", 0),
            session("s1", "stopped", "true", 0),
            session("s2", "created", "", 0),
        ],
    );
    let s = pod_status(&pod(&["app", "done", "late"]), Some(&v), "10.0.0.5");
    let flags: Vec<(&str, Option<bool>, bool)> = s
        .container_statuses
        .iter()
        .flatten()
        .map(|c| (c.name.as_str(), c.started, c.ready))
        .collect();
    assert_eq!(
        flags,
        [
            ("app", Some(true), true),
            ("done", Some(false), false),
            ("late", Some(false), false)
        ]
    );
}

#[test]
fn a_terminated_state_names_the_session_it_ended_in() {
    let v = vm(
        "Stopped",
        vec![
            session("c0ffee", "stopped", "true", 0),
            session("s1", "failed", "no such file", 0),
        ],
    );
    let s = pod_status(&pod(&["app", "sidecar"]), Some(&v), "10.0.0.5");
    let ids: Vec<Option<String>> = states(&s)
        .iter()
        .map(|st| st.terminated.as_ref().and_then(|t| t.container_id.clone()))
        .collect();
    assert_eq!(
        ids,
        [
            Some("vic://c0ffee".to_string()),
            Some("vic://s1".to_string())
        ]
    );
}

#[test]
fn true_conditions_carry_when_they_became_true_and_false_ones_no_time() {
    let scheduled = time_from_unix(CREATED - 30).expect("in range");
    let mut p = pod(&["app", "sidecar"]);
    p.metadata.creation_timestamp = Some(scheduled.clone());
    // The sidecar started 20 s after the app: the pod is Ready from the later start.
    let mut sidecar = session("s1", "running", "true", 0);
    sidecar.start_time = STARTED + 20;
    let v = vm(
        "Running",
        vec![session("c0ffee", "running", "true", 0), sidecar],
    );
    let times = |s: &PodStatus| -> Vec<(String, Option<i64>)> {
        s.conditions
            .iter()
            .flatten()
            .map(|c| {
                let at = c.last_transition_time.as_ref().map(|t| t.0.as_second());
                (c.type_.clone(), at)
            })
            .collect()
    };
    let s = pod_status(&p, Some(&v), "10.0.0.5");
    let expected = |ready: Option<i64>| {
        vec![
            ("Initialized".to_string(), Some(CREATED)),
            ("Ready".to_string(), ready),
            ("ContainersReady".to_string(), ready),
            ("PodScheduled".to_string(), Some(CREATED - 30)),
        ]
    };
    assert_eq!(times(&s), expected(Some(STARTED + 20)));
    // Once the sidecar has stopped, Ready is false and says nothing of when.
    let v = vm(
        "Running",
        vec![
            session("c0ffee", "running", "true", 0),
            session("s1", "stopped", "true", 0),
        ],
    );
    assert_eq!(times(&pod_status(&p, Some(&v), "10.0.0.5")), expected(None));
}
