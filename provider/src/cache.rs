//! The pod cache: pods by `namespace/name` (not by name alone, the 2018 provider's bug), each
//! with the id of its pod VM. Safe under concurrent calls: inserting checks and inserts in one
//! step, so two creates of one pod cannot both win. After a provider restart the cache is
//! rebuilt from the port layer's containers, whose annotations carry the pod's identity.

use std::collections::BTreeMap;
use std::sync::Arc;

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::client::ContainerStatus;
use crate::operations::creator::pod_volumes;
use crate::sizing::pod_size;
use crate::status::{ContainerRef, container_refs};

/// Annotation on the pod VM: the pod's namespace.
pub const POD_NAMESPACE: &str = "virtual-kubelet.io/pod-namespace";
/// Annotation on the pod VM: the pod's name.
pub const POD_NAME: &str = "virtual-kubelet.io/pod-name";
/// Annotation on the pod VM: the pod as the provider keeps it (see [`stored_json`]), so a
/// rebuilt cache knows its labels, annotations, containers (for status) and volumes.
pub const POD_OBJECT: &str = "virtual-kubelet.io/pod";

/// A cached pod and its pod VM. The pod is kept as JSON (its identity, labels, annotations and
/// spec): about a tenth of the memory of a `Pod` value, which matters at 100,000 pods.
/// What delete needs (requests, volumes) is kept beside it, so only reads of the whole pod
/// parse it.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedPod {
    json: Arc<str>,
    /// The pod VM's container id.
    pub container_id: String,
    /// CPU the pod requests, millicores (what admission charged).
    pub cpu_request_millis: u64,
    /// Memory the pod requests, bytes (what admission charged).
    pub memory_request_bytes: u64,
    /// The port layer volumes of the pod's emptyDirs.
    pub volumes: Vec<String>,
    /// Its containers' names and images, kept so that statuses (read far more often than
    /// whole pods) need not parse the JSON: a few dozen bytes a pod.
    containers: Box<[ContainerRef]>,
}

impl CachedPod {
    /// `json` is `pod` as [`stored_json`] gives it.
    fn new(pod: &Pod, json: Arc<str>, container_id: String) -> Self {
        let size = pod.spec.as_ref().and_then(|s| pod_size(s).ok());
        let volumes = pod_volumes(pod).unwrap_or_default();
        CachedPod {
            json,
            container_id,
            cpu_request_millis: size.as_ref().map_or(0, |s| s.cpu_request_millis),
            memory_request_bytes: size.as_ref().map_or(0, |s| s.memory_request_bytes),
            volumes: volumes.into_iter().map(|v| v.name).collect(),
            containers: container_refs(pod).into(),
        }
    }

    /// The pod (without status).
    pub fn pod(&self) -> Pod {
        parse(&self.json)
    }

    /// The pod's containers (name and image), in spec order: all a status needs of the pod.
    pub fn containers(&self) -> &[ContainerRef] {
        &self.containers
    }
}

/// The JSON was written by [`stored_json`], so it parses; an empty pod is the fallback that
/// cannot happen rather than a panic.
fn parse(json: &str) -> Pod {
    serde_json::from_str(json).unwrap_or_default()
}

/// What the provider keeps of a pod: identity, labels, annotations and spec (no status, no
/// managed fields), as JSON: the text `Pod`'s own serializer gives for a pod trimmed to those
/// fields, written from borrows (a trimmed copy cloned the whole spec on every create).
pub fn stored_json(pod: &Pod) -> String {
    /// `Pod`'s fields in its serializer's order: `apiVersion`, `kind`, `metadata`, `spec`.
    #[derive(serde::Serialize)]
    struct Kept<'a> {
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        kind: &'static str,
        metadata: KeptMeta<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        spec: Option<&'a PodSpec>,
    }
    /// The kept `ObjectMeta` fields, in its serializer's (alphabetical) order.
    #[derive(serde::Serialize)]
    struct KeptMeta<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        annotations: Option<&'a BTreeMap<String, String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        labels: Option<&'a BTreeMap<String, String>>,
        name: &'a str,
        namespace: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        uid: Option<&'a str>,
    }
    let m = &pod.metadata;
    let kept = Kept {
        api_version: "v1",
        kind: "Pod",
        metadata: KeptMeta {
            annotations: m.annotations.as_ref(),
            labels: m.labels.as_ref(),
            name: m.name.as_deref().unwrap_or_default(),
            namespace: m.namespace.as_deref().unwrap_or("default"),
            uid: m.uid.as_deref(),
        },
        spec: pod.spec.as_ref(),
    };
    serde_json::to_string(&kept).unwrap_or_default()
}

/// The task ids of a pod VM's containers after the first (the first runs as the VM's own
/// process), read from the pod object in its annotations; empty when there is none.
pub fn task_ids(annotations: &BTreeMap<String, String>) -> Vec<String> {
    let Some(pod) = annotations
        .get(POD_OBJECT)
        .and_then(|s| serde_json::from_str::<Pod>(s).ok())
    else {
        return Vec::new();
    };
    let containers = pod.spec.map(|s| s.containers).unwrap_or_default();
    containers.into_iter().skip(1).map(|c| c.name).collect()
}

/// The cache key of a pod.
pub fn key(namespace: &str, name: &str) -> String {
    [namespace, "/", name].concat()
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

/// The annotations that let a rebuilt cache find the pod of a pod VM: namespace and name,
/// and the pod itself as [`stored_json`] gives it (`json`).
pub fn identity_annotations(pod: &Pod, json: &str) -> BTreeMap<String, String> {
    let (ns, name) = pod_key(pod);
    BTreeMap::from([
        (POD_NAMESPACE.to_string(), ns),
        (POD_NAME.to_string(), name),
        (POD_OBJECT.to_string(), json.to_string()),
    ])
}

/// The pod cache.
#[derive(Debug, Default)]
pub struct PodCache {
    /// Shared, so that reads (a status sweep reads every pod) copy a pointer, not the pod.
    pods: DashMap<String, Arc<CachedPod>>,
}

impl PodCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pod given as [`stored_json`]; `false` (and no change) if a pod of that namespace
    /// and name is cached.
    pub fn insert(&self, pod: &Pod, json: String, container_id: String) -> bool {
        let (ns, name) = pod_key(pod);
        match self.pods.entry(key(&ns, &name)) {
            Entry::Occupied(_) => false,
            Entry::Vacant(v) => {
                v.insert(Arc::new(CachedPod::new(pod, json.into(), container_id)));
                true
            }
        }
    }

    /// Replaces the pod object of a cached pod; `false` if it is not cached. What admission
    /// charged stays as it was (VIC does not resize a pod VM).
    pub fn update(&self, pod: &Pod) -> bool {
        let (ns, name) = pod_key(pod);
        match self.pods.get_mut(&key(&ns, &name)) {
            Some(mut e) => {
                let cached = Arc::make_mut(&mut e);
                cached.json = stored_json(pod).into();
                cached.containers = container_refs(pod).into();
                true
            }
            None => false,
        }
    }

    /// A cached pod.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<CachedPod>> {
        self.pods.get(&key(namespace, name)).map(|e| e.clone())
    }

    /// Removes and returns a cached pod.
    pub fn remove(&self, namespace: &str, name: &str) -> Option<Arc<CachedPod>> {
        self.pods.remove(&key(namespace, name)).map(|(_, v)| v)
    }

    /// Every cached pod, ordered by namespace/name (DashMap's own order is not stable).
    pub fn list(&self) -> Vec<Arc<CachedPod>> {
        self.entries().into_iter().map(|(_, v)| v).collect()
    }

    /// Every cached pod with its key (`namespace/name`, see [`key`]), ordered by key.
    pub fn entries(&self) -> Vec<(String, Arc<CachedPod>)> {
        let mut all: Vec<(String, Arc<CachedPod>)> = self
            .pods
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
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
            // A pod VM without a readable pod object still gets an entry with its identity,
            // so it can be deleted.
            let stored: Option<Pod> = c
                .annotations
                .get(POD_OBJECT)
                .and_then(|s| serde_json::from_str(s).ok());
            let pod = stored.unwrap_or_else(|| Pod {
                metadata: ObjectMeta {
                    namespace: Some(ns.clone()),
                    name: Some(name.clone()),
                    ..Default::default()
                },
                ..Default::default()
            });
            if self.insert(&pod, stored_json(&pod), c.id.clone()) {
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
        let ins = |ns, name, id: &str| {
            let p = pod(ns, name);
            c.insert(&p, stored_json(&p), id.into())
        };
        assert!(ins("a", "web", "id-a"));
        assert!(ins("b", "web", "id-b"));
        assert!(!ins("a", "web", "id-x"), "a duplicate is refused");
        assert_eq!(c.get("a", "web").unwrap().container_id, "id-a");
        assert_eq!(c.get("b", "web").unwrap().container_id, "id-b");
        assert_eq!(c.remove("a", "web").unwrap().container_id, "id-a");
        assert!(c.get("a", "web").is_none());
        assert_eq!(c.len(), 1);
    }

    /// What `stored_json` must equal: `Pod`'s own serialization of the pod trimmed to the
    /// kept fields.
    fn trimmed_json(pod: &Pod) -> String {
        let (ns, name) = pod_key(pod);
        let m = &pod.metadata;
        let kept = Pod {
            metadata: ObjectMeta {
                namespace: Some(ns),
                name: Some(name),
                uid: m.uid.clone(),
                labels: m.labels.clone(),
                annotations: m.annotations.clone(),
                ..Default::default()
            },
            spec: pod.spec.clone(),
            status: None,
        };
        serde_json::to_string(&kept).unwrap()
    }

    #[test]
    fn stored_json_is_the_trimmed_pod_as_pod_serializes_it() {
        let full: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "web", "namespace": "team", "uid": "u-1",
                "labels": {"app": "web", "tier": "front"},
                "annotations": {"note": "x\"y"},
                "resourceVersion": "7", "generation": 2,
                "creationTimestamp": "2024-01-01T00:00:00Z",
                "finalizers": ["f"]
            },
            "spec": {
                "containers": [{"name": "c", "image": "busybox",
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}],
                "terminationGracePeriodSeconds": 5,
                "volumes": [{"name": "v", "emptyDir": {}}]
            },
            "status": {"phase": "Running"}
        }))
        .unwrap();
        let mut no_namespace = pod("", "p");
        no_namespace.metadata.namespace = None;
        let mut empty_maps = pod("a", "b");
        empty_maps.metadata.labels = Some(BTreeMap::new());
        empty_maps.metadata.annotations = Some(BTreeMap::new());
        for p in [
            full,
            pod("a", "b"),
            no_namespace,
            empty_maps,
            Pod::default(),
        ] {
            assert_eq!(stored_json(&p), trimmed_json(&p));
        }
    }

    #[test]
    fn an_update_leaves_a_pod_read_before_it_as_it_was() {
        let c = PodCache::new();
        let p = pod("a", "web");
        c.insert(&p, stored_json(&p), "id".into());
        let before = c.get("a", "web").unwrap();
        let mut labelled = p.clone();
        labelled.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
        assert!(c.update(&labelled));
        assert_eq!(before.pod().metadata.labels, None);
        let after = c.get("a", "web").unwrap().pod().metadata.labels;
        assert_eq!(after, labelled.metadata.labels);
        assert_eq!(c.get("a", "web").unwrap().container_id, "id");
    }

    #[test]
    fn concurrent_inserts_of_one_pod_have_exactly_one_winner() {
        let c = std::sync::Arc::new(PodCache::new());
        let winners: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let c = c.clone();
                    s.spawn(move || {
                        let p = pod("ns", "p");
                        usize::from(c.insert(&p, stored_json(&p), format!("id-{i}")))
                    })
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
                annotations: identity_annotations(&pod("z", "b"), &stored_json(&pod("z", "b"))),
                ..Default::default()
            },
            ContainerStatus {
                id: "c1".into(),
                annotations: identity_annotations(&pod("a", "b"), &stored_json(&pod("a", "b"))),
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
        let ids: Vec<String> = c.list().iter().map(|p| p.container_id.clone()).collect();
        assert_eq!(ids, ["c1", "c2"]);
        assert_eq!(
            c.get("a", "b").unwrap().pod().metadata.uid.as_deref(),
            Some("uid-a-b")
        );
        assert!(c.update(&pod("a", "b")));
        assert!(!c.update(&pod("q", "q")));
    }
}
