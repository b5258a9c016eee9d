//! A pod's status from its pod VM, as the port layer reports it.
//!
//! The 2018 provider reported every container Ready and Running whatever the VM was doing, never
//! produced `Failed`, and left a created-but-unstarted VM `Unknown`. Here each Kubernetes
//! container is read from its own session (container i is session i; the primary session is the
//! first), so a pod that exits, fails to start, or has not started yet says so. Everything here
//! is pure: the caller fetches the VM and passes it in.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus as K8sContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::client::{ContainerStatus, SessionStatus};

/// Waiting reason for a container whose session has not started (or does not exist yet).
pub const REASON_CREATING: &str = "ContainerCreating";
/// Terminated reason for a session that exited 0.
pub const REASON_COMPLETED: &str = "Completed";
/// Terminated reason for a session that exited non-zero. The port layer reports no signal or
/// OOM cause, so `OOMKilled` and the like cannot be told apart from any other failure.
pub const REASON_ERROR: &str = "Error";
/// Terminated reason for a session the guest could not start (its `started` text says why).
pub const REASON_START_ERROR: &str = "StartError";
/// Exit code given to a container that never ran. Container runtimes report 128 for a start
/// error; a zero would read as success to anything that looks only at the code.
pub const START_ERROR_EXIT_CODE: i32 = 128;

/// A Kubernetes time from unix seconds; `None` for 0 (the port layer's "never") or anything out
/// of range, so a missing time is absent rather than 1970.
pub fn time_from_unix(secs: i64) -> Option<Time> {
    if secs <= 0 {
        return None;
    }
    Timestamp::from_second(secs).ok().map(Time)
}

/// A container as its status needs it: the name and image from the pod spec.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerRef {
    /// The container's name.
    pub name: String,
    /// Its image reference (empty when the spec gives none).
    pub image: Option<String>,
}

/// The containers of a pod spec, in order.
pub fn container_refs(pod: &Pod) -> Vec<ContainerRef> {
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice());
    containers
        .unwrap_or_default()
        .iter()
        .map(|c| ContainerRef {
            name: c.name.clone(),
            image: c.image.clone(),
        })
        .collect()
}

/// The pod's status, given its pod VM (`None`: not created yet) and the node's address.
pub fn pod_status(pod: &Pod, vm: Option<&ContainerStatus>, host_ip: &str) -> PodStatus {
    let created = pod.metadata.creation_timestamp.as_ref();
    status_of(&container_refs(pod), created, vm, host_ip)
}

/// A pod's status from its containers (in spec order) and creation time: all a status needs
/// of the pod, so a cached pod's status is computed without parsing the whole pod.
pub fn status_of(
    containers: &[ContainerRef],
    created: Option<&Time>,
    vm: Option<&ContainerStatus>,
    host_ip: &str,
) -> PodStatus {
    let statuses = statuses_of(containers, vm);
    let ip = vm.and_then(|v| v.ip.clone()).filter(|ip| !ip.is_empty());
    let host = (!host_ip.is_empty()).then(|| host_ip.to_string());
    PodStatus {
        phase: Some(phase_of(vm, &statuses).to_string()),
        conditions: Some(conditions(created, vm, &statuses)),
        pod_ips: ip.clone().map(|ip| vec![PodIP { ip }]),
        pod_ip: ip,
        host_ips: host.clone().map(|ip| vec![HostIP { ip }]),
        host_ip: host,
        start_time: vm.and_then(|v| time_from_unix(v.create_time)),
        container_statuses: Some(statuses),
        ..Default::default()
    }
}

/// One status per container of the pod spec, in order; container i reads session i.
fn statuses_of(
    containers: &[ContainerRef],
    vm: Option<&ContainerStatus>,
) -> Vec<K8sContainerStatus> {
    containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let session = vm.and_then(|v| v.sessions.get(i));
            let vm_state = vm.map_or("", |v| v.state.as_str());
            let state = container_state(session, vm_state);
            let running = state.running.is_some();
            K8sContainerStatus {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                image_id: String::new(),
                container_id: session.map(|s| format!("vic://{}", s.id)),
                ready: running,
                started: Some(running),
                restart_count: 0,
                state: Some(state),
                ..Default::default()
            }
        })
        .collect()
}

/// One container's state from its session (`None`: the session does not exist yet) and the
/// pod VM's state.
pub fn container_state(session: Option<&SessionStatus>, vm_state: &str) -> ContainerState {
    let Some(s) = session else {
        return waiting(REASON_CREATING, None);
    };
    match s.state.as_str() {
        "running" => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: time_from_unix(s.start_time),
            }),
            ..Default::default()
        },
        "stopped" => {
            let reason = if s.exit_code == 0 {
                REASON_COMPLETED
            } else {
                REASON_ERROR
            };
            terminated(s, s.exit_code, reason, None)
        }
        "failed" => start_error(s, s.started.clone()),
        // Not started: it still may be, unless the VM has already stopped without starting it.
        "created" if vm_state == "Stopped" => start_error(
            s,
            "the pod VM stopped before the container started".to_string(),
        ),
        "created" => waiting(REASON_CREATING, None),
        other => waiting(
            "Unknown",
            Some(format!("the port layer reports session state `{other}`")),
        ),
    }
}

fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message,
        }),
        ..Default::default()
    }
}

fn terminated(s: &SessionStatus, code: i32, reason: &str, msg: Option<String>) -> ContainerState {
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            reason: Some(reason.to_string()),
            message: msg,
            started_at: time_from_unix(s.start_time),
            finished_at: time_from_unix(s.stop_time),
            container_id: Some(format!("vic://{}", s.id)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn start_error(s: &SessionStatus, message: String) -> ContainerState {
    let code = if s.exit_code == 0 {
        START_ERROR_EXIT_CODE
    } else {
        s.exit_code
    };
    let message = (!message.is_empty()).then_some(message);
    terminated(s, code, REASON_START_ERROR, message)
}

/// True when the container state is terminated with exit 0 and reason `Completed`.
fn succeeded(state: &ContainerState) -> bool {
    state
        .terminated
        .as_ref()
        .is_some_and(|t| t.exit_code == 0 && t.reason.as_deref() == Some(REASON_COMPLETED))
}

/// The pod phase. No VM, or a VM still being created or powered on, is `Pending`; a suspended
/// VM is `Unknown` (its processes neither run nor have ended). Otherwise the containers decide,
/// as the kubelet's rules do: any container not started yet keeps the pod `Pending`, any running
/// one makes it `Running`, and once all have ended it is `Succeeded` if every one completed with
/// 0, else `Failed`. Restart policy is not consulted: the provider never restarts a session, so
/// an ended container stays ended.
pub fn phase_of(vm: Option<&ContainerStatus>, statuses: &[K8sContainerStatus]) -> &'static str {
    let Some(vm) = vm else { return "Pending" };
    match vm.state.as_str() {
        "Created" | "Starting" => return "Pending",
        "Suspended" => return "Unknown",
        "Running" | "Stopped" => {}
        _ => return "Unknown",
    }
    let states: Vec<&ContainerState> = statuses.iter().filter_map(|c| c.state.as_ref()).collect();
    if states.is_empty() || states.iter().any(|s| s.waiting.is_some()) {
        "Pending"
    } else if states.iter().any(|s| s.running.is_some()) {
        "Running"
    } else if states.iter().all(|s| succeeded(s)) {
        "Succeeded"
    } else {
        "Failed"
    }
}

fn condition(type_: &str, ok: bool, at: Option<Time>) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        last_transition_time: if ok { at } else { None },
        ..Default::default()
    }
}

/// The pod's conditions, in the kubelet's order: Initialized, Ready, ContainersReady,
/// PodScheduled. A condition's transition time is given only when it is true and the time is
/// known (the VM's creation, the last session start, the pod's creation); the port layer
/// keeps no history from which to tell when something became false.
pub fn conditions(
    created: Option<&Time>,
    vm: Option<&ContainerStatus>,
    statuses: &[K8sContainerStatus],
) -> Vec<PodCondition> {
    let all_running = !statuses.is_empty() && statuses.iter().all(|c| c.ready);
    let last_start = vm
        .and_then(|v| v.sessions.iter().map(|s| s.start_time).max())
        .and_then(time_from_unix);
    let mut ready = condition("Ready", all_running, last_start.clone());
    let mut containers_ready = condition("ContainersReady", all_running, last_start);
    if !all_running {
        let unready: Vec<&str> = statuses
            .iter()
            .filter(|c| !c.ready)
            .map(|c| c.name.as_str())
            .collect();
        let message = format!("containers with unready status: [{}]", unready.join(" "));
        for c in [&mut ready, &mut containers_ready] {
            c.reason = Some("ContainersNotReady".to_string());
            c.message = Some(message.clone());
        }
    }
    vec![
        condition(
            "Initialized",
            vm.is_some(),
            vm.and_then(|v| time_from_unix(v.create_time)),
        ),
        ready,
        containers_ready,
        condition("PodScheduled", true, created.cloned()),
    ]
}

#[cfg(test)]
mod tests;
