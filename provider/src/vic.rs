//! `VicProvider`: the virtual-kubelet provider interface over the operations, the pod cache,
//! status mapping and node capacity. Create admits the pod the way a kubelet does (requests
//! against what remains allocatable), creates and starts the pod VM, and caches it; a failure
//! after the VM exists stays visible in the pod's status rather than being swallowed.

use std::sync::Mutex;

use k8s_openapi::api::core::v1::{NodeStatus, NodeSystemInfo, Pod, PodStatus};

use crate::cache::{CachedPod, PodCache, key, pod_key};
use crate::client::{PersonaApi, PortLayerApi};
use crate::error::{ProviderError, at};
use crate::node::{self, Admission, NodeConfig, Usage};
use crate::operations::{creator, deleter, starter};
use crate::sizing::pod_size;
use crate::status::status_of;

/// Default grace period when the pod names none (Kubernetes' default).
pub const DEFAULT_GRACE_SECS: i64 = 30;

type Watcher = Box<dyn Fn(&Pod) + Send + Sync>;

/// The VIC provider over a client of one VCH.
pub struct VicProvider<C: PortLayerApi + PersonaApi> {
    client: C,
    cache: PodCache,
    node: NodeConfig,
    /// What admitted pods request, kept as running totals (summing the cache per create would
    /// cost O(pods)). Held across admission, creation and caching, so concurrent creates
    /// cannot together exceed what admission allows.
    admission: Mutex<Usage>,
    /// Last failure of each pod (namespace/name), shown in its status.
    failures: Mutex<std::collections::BTreeMap<String, ProviderError>>,
    watchers: Mutex<Vec<Watcher>>,
}

impl<C: PortLayerApi + PersonaApi> VicProvider<C> {
    /// A provider with an empty cache; call [`VicProvider::rebuild`] after a restart.
    pub fn new(client: C, node: NodeConfig) -> Self {
        VicProvider {
            client,
            cache: PodCache::new(),
            node,
            admission: Mutex::new(Usage {
                cpu_request_millis: 0,
                memory_request_bytes: 0,
                pods: 0,
            }),
            failures: Mutex::new(Default::default()),
            watchers: Mutex::new(Vec::new()),
        }
    }

    /// Refills the cache from the pod VMs the port layer has; returns how many were found.
    pub fn rebuild(&self) -> Result<usize, ProviderError> {
        let list = self.client.list().map_err(at("list"))?;
        let mut usage = self.admission.lock().unwrap_or_else(|p| p.into_inner());
        let before: std::collections::BTreeSet<String> = self
            .cache
            .list()
            .iter()
            .map(|c| c.container_id.clone())
            .collect();
        let added = self.cache.rebuild(&list);
        for c in self
            .cache
            .list()
            .into_iter()
            .filter(|c| !before.contains(&c.container_id))
        {
            Self::charge(
                &mut usage,
                c.cpu_request_millis,
                c.memory_request_bytes,
                true,
            );
        }
        Ok(added)
    }

    /// Calls `f` with the pod (status filled in) whenever a pod's state changes, so callers
    /// need not poll.
    pub fn notify_pods(&self, f: impl Fn(&Pod) + Send + Sync + 'static) {
        self.watchers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(f));
    }

    fn notify(&self, namespace: &str, name: &str) {
        let watchers = || self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        // Without watchers, building the pod's status would be wasted work.
        if watchers().is_empty() {
            return;
        }
        let Some(pod) = self.get_pod(namespace, name) else {
            return;
        };
        for w in watchers().iter() {
            w(&pod);
        }
    }

    fn record_failure(&self, ns: &str, name: &str, err: &ProviderError) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        f.insert(crate::cache::key(ns, name), err.clone());
    }

    /// Adds (or gives back) one pod's `cpu` millicores and `mem` bytes of requests.
    fn charge(usage: &mut Usage, cpu: u64, mem: u64, add: bool) {
        if add {
            usage.cpu_request_millis = usage.cpu_request_millis.saturating_add(cpu);
            usage.memory_request_bytes = usage.memory_request_bytes.saturating_add(mem);
            usage.pods = usage.pods.saturating_add(1);
        } else {
            usage.cpu_request_millis = usage.cpu_request_millis.saturating_sub(cpu);
            usage.memory_request_bytes = usage.memory_request_bytes.saturating_sub(mem);
            usage.pods = usage.pods.saturating_sub(1);
        }
    }

    /// Admits, creates, caches and starts the pod.
    pub fn create_pod(&self, pod: &Pod) -> Result<(), ProviderError> {
        let (ns, name) = pod_key(pod);
        let spec = pod
            .spec
            .as_ref()
            .ok_or_else(|| ProviderError::InvalidPod("the pod has no spec".into()))?;
        let size = pod_size(spec).map_err(|e| ProviderError::InvalidPod(e.to_string()))?;
        let id = {
            let mut usage = self.admission.lock().unwrap_or_else(|p| p.into_inner());
            if self.cache.get(&ns, &name).is_some() {
                return Err(ProviderError::AlreadyExists(crate::cache::key(&ns, &name)));
            }
            let vch = self.client.vch_info().map_err(at("vch info"))?;
            let cpu = node::cpu_cores(&vch, &self.node).saturating_mul(1000);
            let mem = node::memory_bytes(&vch);
            if let Admission::Reject { reason, message } =
                node::admit(&size, &usage, cpu, mem, self.node.max_pods)
            {
                return Err(ProviderError::Rejected { reason, message });
            }
            let json = crate::cache::stored_json(pod);
            let id = creator::create_stored(&self.client, &self.client, pod, &json)?;
            self.cache.insert(pod, json, id.clone());
            let (cpu, mem) = (size.cpu_request_millis, size.memory_request_bytes);
            Self::charge(&mut usage, cpu, mem, true);
            id
        };
        let started = starter::start(&self.client, &id);
        if let Err(e) = &started {
            self.record_failure(&ns, &name, e);
        }
        self.notify(&ns, &name);
        started
    }

    /// Replaces the cached pod object, keeping the spec it was created with: VIC does not
    /// resize a pod VM, and admission charged (and delete gives back) what that spec asked.
    pub fn update_pod(&self, pod: &Pod) -> Result<(), ProviderError> {
        let (ns, name) = pod_key(pod);
        if self.cache.update(pod) {
            Ok(())
        } else {
            Err(ProviderError::NotFound(crate::cache::key(&ns, &name)))
        }
    }

    /// Stops and removes the pod VM and its volumes; deleting an unknown pod succeeds.
    pub fn delete_pod(&self, pod: &Pod) -> Result<(), ProviderError> {
        let (ns, name) = pod_key(pod);
        let Some(cached) = self.cache.get(&ns, &name) else {
            return Ok(());
        };
        // As a kubelet: the grace period of the deletion, else the pod's, else 30 s.
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| pod.spec.as_ref()?.termination_grace_period_seconds)
            .unwrap_or(DEFAULT_GRACE_SECS);
        deleter::delete(&self.client, &cached.container_id, &cached.volumes, grace)?;
        if self.cache.remove(&ns, &name).is_some() {
            let mut usage = self.admission.lock().unwrap_or_else(|p| p.into_inner());
            let (cpu, mem) = (cached.cpu_request_millis, cached.memory_request_bytes);
            Self::charge(&mut usage, cpu, mem, false);
        }
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&crate::cache::key(&ns, &name));
        let watchers = self.watchers.lock().unwrap_or_else(|p| p.into_inner());
        if !watchers.is_empty() {
            let gone = cached.pod();
            for w in watchers.iter() {
                w(&gone);
            }
        }
        Ok(())
    }

    /// The status of a cached pod: read from its pod VM, with the reason and message of a
    /// failure this provider remembers for it.
    fn status(&self, key: &str, cached: &CachedPod) -> PodStatus {
        let containers = cached.containers();
        let vm = self.client.info(&cached.container_id).ok();
        let created = None; // the cache keeps no creation time
        let mut status = status_of(containers, created, vm.as_ref(), &self.node.internal_ip);
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(err) = failures.get(key) {
            status.reason = Some(err.reason().to_string());
            status.message = Some(err.to_string());
        }
        status
    }

    fn with_status(&self, cached: &CachedPod) -> Pod {
        let mut pod = cached.pod();
        let (ns, name) = pod_key(&pod);
        let status = self.status(&key(&ns, &name), cached);
        pod.status = Some(status);
        pod
    }

    /// The pod with its current status.
    pub fn get_pod(&self, namespace: &str, name: &str) -> Option<Pod> {
        self.cache
            .get(namespace, name)
            .map(|c| self.with_status(&c))
    }

    /// Every pod, ordered by namespace/name, with status.
    pub fn get_pods(&self) -> Vec<Pod> {
        self.cache
            .list()
            .into_iter()
            .map(|c| self.with_status(&c))
            .collect()
    }

    /// The pod's status, computed without building the pod.
    pub fn get_pod_status(&self, namespace: &str, name: &str) -> Option<PodStatus> {
        let cached = self.cache.get(namespace, name)?;
        Some(self.status(&key(namespace, name), &cached))
    }

    /// Every pod's namespace, name and status, in `get_pods`' order, without building the
    /// pods: what a status sweep over all pods needs.
    pub fn pod_statuses(&self) -> Vec<(String, String, PodStatus)> {
        self.cache
            .entries()
            .into_iter()
            .map(|(k, cached)| {
                let status = self.status(&k, &cached);
                let (ns, name) = k.split_once('/').unwrap_or(("", &k));
                (ns.to_string(), name.to_string(), status)
            })
            .collect()
    }

    /// The node's capacity and memory pressure as numbers: what [`VicProvider::node_status`]
    /// reports, without building the status.
    pub fn node_figures(&self) -> Result<node::NodeFigures, ProviderError> {
        let vch = self.client.vch_info().map_err(at("vch info"))?;
        Ok(node::figures(&vch, &self.node))
    }

    /// The node's status: capacity, allocatable, conditions, addresses, endpoints, OS.
    pub fn node_status(&self) -> Result<NodeStatus, ProviderError> {
        let vch = self.client.vch_info().map_err(at("vch info"))?;
        Ok(NodeStatus {
            capacity: Some(node::capacity(&vch, &self.node)),
            allocatable: Some(node::allocatable(&vch, &self.node)),
            conditions: Some(node::conditions(&vch, None, &self.node)),
            addresses: Some(node::addresses(&self.node)),
            daemon_endpoints: Some(node::daemon_endpoints(&self.node)),
            node_info: Some(NodeSystemInfo {
                operating_system: node::OPERATING_SYSTEM.to_string(),
                architecture: "amd64".into(),
                kubelet_version: "v1.20.2-vcsim-lite".into(),
                // What runs the pods: each is a VM of VIC's Photon OS container guest.
                os_image: "Photon OS (VIC container VMs)".into(),
                container_runtime_version: "vic://".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// The pod cache (read access, e.g. for tests and the node).
    pub fn cache(&self) -> &PodCache {
        &self.cache
    }
}
