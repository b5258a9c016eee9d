//! The pod cache: pods by `namespace/name` (not by name alone, the 2018 provider's bug), each
//! with the id of its pod VM. Safe under concurrent calls: inserting checks and inserts in one
//! step, so two creates of one pod cannot both win. After a provider restart the cache is
//! rebuilt from the port layer's containers, whose annotations carry the pod's identity.

use std::collections::BTreeMap;
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::client::ContainerStatus;

/// Annotation on the pod VM: the pod's namespace.
pub const POD_NAMESPACE: &str = "virtual-kubelet.io/pod-namespace";
/// Annotation on the pod VM: the pod's name.
pub const POD_NAME: &str = "virtual-kubelet.io/pod-name";
/// Annotation on the pod VM: the pod's uid.
pub const POD_UID: &str = "virtual-kubelet.io/pod-uid";
/// Annotation on the pod VM: the pod's spec as JSON, so a rebuilt cache knows its containers
/// (for status) and volumes (for delete).
pub const POD_SPEC: &str = "virtual-kubelet.io/pod-spec";

/// A cached pod and its pod VM.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedPod {
    /// The pod as last given to the provider (after a rebuild: identity and spec); shared,
    /// so reading the cache copies no pod.
    pub pod: Arc<Pod>,
    /// The pod VM's container id.
    pub container_id: String,
}

/// The cache key of a pod.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The pod's namespace (`default` when unset) and name.
pub fn pod_key(pod: &Pod) -> (String, String) {
    let ns = pod
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    (ns, pod.metadata.name.clone().unwrap_or_default())
}

/// The annotations that let a rebuilt cache find the pod of a pod VM.
pub fn identity_annotations(pod: &Pod) -> BTreeMap<String, String> {
    let (ns, name) = pod_key(pod);
    let mut a = BTreeMap::from([
        (POD_NAMESPACE.to_string(), ns),
        (POD_NAME.to_string(), name),
    ]);
    if let Some(uid) = &pod.metadata.uid {
        a.insert(POD_UID.to_string(), uid.clone());
    }
    if let Some(spec) = pod
        .spec
        .as_ref()
        .and_then(|s| serde_json::to_string(s).ok())
    {
        a.insert(POD_SPEC.to_string(), spec);
    }
    a
}

/// The pod cache.
#[derive(Debug, Default)]
pub struct PodCache {
    pods: DashMap<String, CachedPod>,
}

impl PodCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pod; `false` (and no change) if a pod of that namespace and name is cached.
    pub fn insert(&self, pod: Pod, container_id: String) -> bool {
        let (ns, name) = pod_key(&pod);
        match self.pods.entry(key(&ns, &name)) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert(CachedPod {
                    pod: Arc::new(pod),
                    container_id,
                });
                true
            }
        }
    }

    /// Replaces the pod object of a cached pod (status updates); `false` if it is not cached.
    pub fn update(&self, pod: Pod) -> bool {
        let (ns, name) = pod_key(&pod);
        match self.pods.get_mut(&key(&ns, &name)) {
            Some(mut e) => {
                e.pod = Arc::new(pod);
                true
            }
            None => false,
        }
    }

    /// A cached pod.
    pub fn get(&self, namespace: &str, name: &str) -> Option<CachedPod> {
        self.pods.get(&key(namespace, name)).map(|e| e.clone())
    }

    /// Removes and returns a cached pod.
    pub fn remove(&self, namespace: &str, name: &str) -> Option<CachedPod> {
        self.pods.remove(&key(namespace, name)).map(|(_, v)| v)
    }

    /// Every cached pod, ordered by namespace/name (DashMap's own order is not stable).
    pub fn list(&self) -> Vec<CachedPod> {
        let mut all: Vec<(String, CachedPod)> = self
            .pods
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.into_iter().map(|(_, v)| v).collect()
    }

    /// Number of cached pods.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// True when no pod is cached.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Adds a pod for every pod VM whose annotations name one and that is not cached yet;
    /// returns how many were added. Pod VMs of other origins are left alone.
    pub fn rebuild(&self, containers: &[ContainerStatus]) -> usize {
        let mut added = 0;
        for c in containers {
            let (Some(ns), Some(name)) = (
                c.annotations.get(POD_NAMESPACE),
                c.annotations.get(POD_NAME),
            ) else {
                continue;
            };
            let pod = Pod {
                metadata: ObjectMeta {
                    namespace: Some(ns.clone()),
                    name: Some(name.clone()),
                    uid: c.annotations.get(POD_UID).cloned(),
                    ..Default::default()
                },
                spec: c
                    .annotations
                    .get(POD_SPEC)
                    .and_then(|s| serde_json::from_str(s).ok()),
                ..Default::default()
            };
            if self.insert(pod, c.id.clone()) {
                added += 1;
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                uid: Some(format!("uid-{ns}-{name}")),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn same_named_pods_in_two_namespaces_are_two_entries() {
        let c = PodCache::new();
        assert!(c.insert(pod("a", "web"), "id-a".into()));
        assert!(c.insert(pod("b", "web"), "id-b".into()));
        assert!(
            !c.insert(pod("a", "web"), "id-x".into()),
            "a duplicate is refused"
        );
        assert_eq!(c.get("a", "web").unwrap().container_id, "id-a");
        assert_eq!(c.get("b", "web").unwrap().container_id, "id-b");
        assert_eq!(c.remove("a", "web").unwrap().container_id, "id-a");
        assert!(c.get("a", "web").is_none());
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn concurrent_inserts_of_one_pod_have_exactly_one_winner() {
        let c = std::sync::Arc::new(PodCache::new());
        let winners: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let c = c.clone();
                    s.spawn(move || usize::from(c.insert(pod("ns", "p"), format!("id-{i}"))))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(winners, 1);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn list_is_ordered_and_rebuild_uses_the_annotations() {
        let c = PodCache::new();
        let statuses = vec![
            ContainerStatus {
                id: "c2".into(),
                annotations: identity_annotations(&pod("z", "b")),
                ..Default::default()
            },
            ContainerStatus {
                id: "c1".into(),
                annotations: identity_annotations(&pod("a", "b")),
                ..Default::default()
            },
            ContainerStatus {
                id: "other".into(),
                ..Default::default()
            },
        ];
        assert_eq!(c.rebuild(&statuses), 2);
        assert_eq!(
            c.rebuild(&statuses),
            0,
            "rebuilding twice duplicates nothing"
        );
        let ids: Vec<String> = c.list().into_iter().map(|p| p.container_id).collect();
        assert_eq!(ids, ["c1", "c2"]);
        assert_eq!(
            c.get("a", "b").unwrap().pod.metadata.uid.as_deref(),
            Some("uid-a-b")
        );
        assert!(c.update(pod("a", "b")));
        assert!(!c.update(pod("q", "q")));
    }
}
