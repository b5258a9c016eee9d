//! The Node and Lease objects the node keeps in the API server, built from the provider's
//! node status. Times are passed in: the caller owns the clock.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeSpec, NodeStatus, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};

/// The taint virtual-kubelet puts on its nodes, so only pods that tolerate it land there.
pub const TAINT_KEY: &str = "virtual-kubelet.io/provider";
/// The taint's value: this provider.
pub const TAINT_VALUE: &str = "vic";
/// Where node leases live.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";
/// How long a lease holds without renewal (the kubelet's default).
pub const LEASE_DURATION_SECS: i32 = 40;

/// The node's labels, as virtual-kubelet sets them (plus the well-known OS and role labels
/// tools select on).
pub fn labels(name: &str) -> BTreeMap<String, String> {
    [
        ("type", "virtual-kubelet"),
        ("kubernetes.io/role", "agent"),
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", crate::node::OPERATING_SYSTEM),
        ("beta.kubernetes.io/os", crate::node::OPERATING_SYSTEM),
        (
            "node.kubernetes.io/exclude-from-external-load-balancers",
            "true",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The node's taints.
pub fn taints() -> Vec<Taint> {
    vec![Taint {
        key: TAINT_KEY.to_string(),
        value: Some(TAINT_VALUE.to_string()),
        effect: "NoSchedule".to_string(),
        time_added: None,
    }]
}

/// The Node to register.
pub fn node(name: &str, status: NodeStatus) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels(name)),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            taints: Some(taints()),
            ..Default::default()
        }),
        status: Some(status),
    }
}

/// Stamps `conditions` with `now` as their heartbeat, keeping the transition time of each one
/// whose status is what it was in `before` (a condition's transition time says when its
/// status last changed, which tools read as "NotReady since ...").
pub fn stamp(conditions: &mut [NodeCondition], before: &[NodeCondition], now: &Time) {
    for c in conditions.iter_mut() {
        let prior = before.iter().find(|b| b.type_ == c.type_);
        c.last_heartbeat_time = Some(now.clone());
        c.last_transition_time = match prior {
            Some(p) if p.status == c.status && p.last_transition_time.is_some() => {
                p.last_transition_time.clone()
            }
            _ => Some(now.clone()),
        };
    }
}

/// Conditions when the VCH cannot be asked: only Ready, False, with why.
pub fn not_ready(message: String) -> Vec<NodeCondition> {
    vec![NodeCondition {
        type_: "Ready".to_string(),
        status: "False".to_string(),
        reason: Some("KubeletNotReady".to_string()),
        message: Some(message),
        ..Default::default()
    }]
}

/// The node's lease, owned by the Node (so it goes when the node does), renewed at `now`.
pub fn lease(name: &str, node_uid: Option<&str>, now: MicroTime) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(LEASE_NAMESPACE.to_string()),
            owner_references: node_uid.map(|uid| {
                vec![OwnerReference {
                    api_version: "v1".to_string(),
                    kind: "Node".to_string(),
                    name: name.to_string(),
                    uid: uid.to_string(),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.to_string()),
            lease_duration_seconds: Some(LEASE_DURATION_SECS),
            renew_time: Some(now),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    fn cond(type_: &str, status: &str) -> NodeCondition {
        NodeCondition {
            type_: type_.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_node_carries_the_provider_taint_and_labels() {
        let n = node("vcsim-vk", NodeStatus::default());
        let t = &n.spec.unwrap().taints.unwrap()[0];
        assert_eq!(
            (t.key.as_str(), t.value.as_deref(), t.effect.as_str()),
            ("virtual-kubelet.io/provider", Some("vic"), "NoSchedule")
        );
        let l = n.metadata.labels.unwrap();
        assert_eq!(l["type"], "virtual-kubelet");
        assert_eq!(l["kubernetes.io/hostname"], "vcsim-vk");
        assert_eq!(l["kubernetes.io/os"], "linux");
    }

    #[test]
    fn transition_times_move_only_when_a_status_changes() {
        let mut before = vec![cond("Ready", "True"), cond("MemoryPressure", "False")];
        stamp(&mut before, &[], &at(100));
        assert_eq!(before[0].last_transition_time, Some(at(100)));
        let mut now = vec![cond("Ready", "True"), cond("MemoryPressure", "True")];
        stamp(&mut now, &before, &at(110));
        assert_eq!(now[0].last_heartbeat_time, Some(at(110)));
        assert_eq!(now[0].last_transition_time, Some(at(100)));
        assert_eq!(now[1].last_transition_time, Some(at(110)));
    }

    #[test]
    fn the_lease_is_held_by_the_node_and_owned_by_it() {
        let l = lease(
            "vcsim-vk",
            Some("n-uid"),
            MicroTime(Timestamp::from_second(5).unwrap()),
        );
        assert_eq!(l.metadata.namespace.as_deref(), Some("kube-node-lease"));
        assert_eq!(l.metadata.owner_references.unwrap()[0].uid, "n-uid");
        let spec = l.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("vcsim-vk"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
    }
}
