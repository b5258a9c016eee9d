//! What the node does with a pod the API server shows it: the decisions of the pod loop, kept
//! free of I/O so they can be tested on their own.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateWaiting, ContainerStatus, Pod, PodStatus,
};
use serde_json::{Value, json};

use crate::error::ProviderError;

/// What to do with a pod bound to the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing: a finished pod the provider does not hold, or one the node gave up on.
    Skip,
    /// Admit it and create and start its pod VM.
    Create,
    /// Refresh the provider's copy of the pod object.
    Update,
    /// The provider holds a pod VM for an older pod of the same name (deleted while the node
    /// was down): remove that VM, then create this one.
    Replace,
    /// The pod is being deleted: stop and remove its pod VM, if any, then remove the object.
    Terminate,
}

/// Decides for `pod`, given the uid of the pod the provider holds under its name (`None`:
/// none; `Some("")`: one whose uid is unknown) and whether the node already gave up on this
/// pod (rejected it for good).
pub fn decide(pod: &Pod, held_uid: Option<&str>, gave_up: bool) -> Action {
    if pod.metadata.deletion_timestamp.is_some() {
        return Action::Terminate;
    }
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    match held_uid {
        Some(held) if held.is_empty() || uid.is_empty() || held == uid => Action::Update,
        Some(_) => Action::Replace,
        None if gave_up || is_finished(pod) => Action::Skip,
        None => Action::Create,
    }
}

/// A pod in phase Succeeded or Failed, which a kubelet never runs again.
pub fn is_finished(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Succeeded" | "Failed"))
}

/// Errors retrying cannot cure: the node fails the pod, as a kubelet does when admission
/// rejects it. Anything else (image pulls, the VCH not answering) leaves it Pending and is
/// retried.
pub fn is_permanent(err: &ProviderError) -> bool {
    matches!(
        err,
        ProviderError::Rejected { .. }
            | ProviderError::InvalidPod(_)
            | ProviderError::Unsupported(_)
    )
}

/// The status of a pod the node failed for good: phase Failed with the error's reason; an
/// admission message reads as the kubelet's (`Pod Node didn't have enough resource: ...`).
pub fn failed_status(err: &ProviderError) -> PodStatus {
    let message = match err {
        ProviderError::Rejected { message, .. } => format!("Pod {message}"),
        other => other.to_string(),
    };
    PodStatus {
        phase: Some("Failed".to_string()),
        reason: Some(err.reason().to_string()),
        message: Some(message),
        ..Default::default()
    }
}

/// The status of a pod whose creation failed and will be retried: Pending, each container
/// waiting with the error's reason (`ErrImagePull`, ...), as `kubectl get pods` shows it.
pub fn waiting_status(pod: &Pod, err: &ProviderError) -> PodStatus {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or(&[]);
    let statuses = containers
        .iter()
        .map(|c| ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            state: Some(ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(err.reason().to_string()),
                    message: Some(err.to_string()),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    PodStatus {
        phase: Some("Pending".to_string()),
        container_statuses: Some(statuses),
        ..Default::default()
    }
}

/// Fields a status may drop (a cleared failure, an IP given back); a merge patch leaves out
/// what is absent, so these are sent as null to clear them.
const CLEARABLE: [&str; 7] = [
    "reason",
    "message",
    "podIP",
    "podIPs",
    "hostIP",
    "hostIPs",
    "startTime",
];

/// The merge patch that makes a pod's status `status`. The uid makes the API server refuse it
/// for a newer pod of the same name.
pub fn status_patch(uid: &str, status: &PodStatus) -> Value {
    let mut body = serde_json::to_value(status).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut body {
        for field in CLEARABLE {
            map.entry(field).or_insert(Value::Null);
        }
    }
    json!({ "metadata": { "uid": uid }, "status": body })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn pod(uid: &str, phase: Option<&str>, deleting: bool) -> Pod {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": uid},
            "spec": {"containers": [{"name": "c", "image": "nginx"}, {"name": "d", "image": "redis"}]},
        }))
        .unwrap();
        p.status = phase.map(|ph| PodStatus {
            phase: Some(ph.to_string()),
            ..Default::default()
        });
        if deleting {
            p.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        }
        p
    }

    #[test]
    fn new_pods_are_created_and_held_ones_updated() {
        assert_eq!(decide(&pod("u1", None, false), None, false), Action::Create);
        let pending = pod("u1", Some("Pending"), false);
        assert_eq!(decide(&pending, None, false), Action::Create);
        assert_eq!(decide(&pending, Some("u1"), false), Action::Update);
        assert_eq!(decide(&pending, Some(""), false), Action::Update);
        assert_eq!(decide(&pending, Some("u0"), false), Action::Replace);
    }

    #[test]
    fn finished_or_given_up_pods_are_not_created_again() {
        for phase in ["Failed", "Succeeded"] {
            let p = pod("u1", Some(phase), false);
            assert_eq!(decide(&p, None, false), Action::Skip, "{phase}");
            // A held pod that finished is still the provider's to report.
            assert_eq!(decide(&p, Some("u1"), false), Action::Update, "{phase}");
        }
        assert_eq!(decide(&pod("u1", None, false), None, true), Action::Skip);
    }

    #[test]
    fn deletion_terminates_whatever_is_held() {
        let p = pod("u1", Some("Running"), true);
        assert_eq!(decide(&p, Some("u1"), false), Action::Terminate);
        assert_eq!(decide(&p, None, false), Action::Terminate);
        assert_eq!(decide(&p, None, true), Action::Terminate);
    }

    #[test]
    fn rejections_fail_the_pod_with_the_kubelet_reason_and_message() {
        let err = ProviderError::Rejected {
            reason: "OutOfmemory",
            message: "Node didn't have enough resource: memory, requested: 8, used: 0, capacity: 4"
                .to_string(),
        };
        assert!(is_permanent(&err));
        let s = failed_status(&err);
        assert_eq!(s.phase.as_deref(), Some("Failed"));
        assert_eq!(s.reason.as_deref(), Some("OutOfmemory"));
        assert_eq!(
            s.message.as_deref(),
            Some(
                "Pod Node didn't have enough resource: memory, requested: 8, used: 0, capacity: 4"
            )
        );
        let unsupported = ProviderError::Unsupported("hostNetwork".into());
        assert!(is_permanent(&unsupported));
        assert_eq!(
            failed_status(&unsupported).reason.as_deref(),
            Some("Unsupported")
        );
    }

    #[test]
    fn pull_failures_leave_the_pod_pending_with_waiting_containers() {
        let err = ProviderError::ImagePull {
            image: "nosuch".into(),
            message: "not found".into(),
        };
        assert!(!is_permanent(&err));
        let s = waiting_status(&pod("u1", None, false), &err);
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        let cs = s.container_statuses.unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[1].name, "d");
        let waiting = cs[1].state.as_ref().unwrap().waiting.as_ref().unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("ErrImagePull"));
        assert_eq!(
            waiting.message.as_deref(),
            Some("failed to pull image nosuch: not found")
        );
    }

    #[test]
    fn status_patches_carry_the_uid_and_clear_what_is_gone() {
        let status = PodStatus {
            phase: Some("Running".into()),
            pod_ip: Some("172.16.0.2".into()),
            ..Default::default()
        };
        let patch = status_patch("u1", &status);
        assert_eq!(patch["metadata"]["uid"], "u1");
        assert_eq!(patch["status"]["phase"], "Running");
        assert_eq!(patch["status"]["podIP"], "172.16.0.2");
        assert_eq!(patch["status"]["reason"], Value::Null);
        assert!(patch["status"].as_object().unwrap().contains_key("reason"));
        assert!(
            patch["status"]
                .as_object()
                .unwrap()
                .contains_key("startTime")
        );
    }
}
