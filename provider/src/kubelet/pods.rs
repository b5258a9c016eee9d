//! The pod loop: watches the pods bound to the node (list, then watch, re-listing when the
//! watch falls behind) and makes the provider match them. Events are handled one at a time,
//! so the operations on one pod never overlap; status writes go to the [`StatusWriter`].
//!
//! After each full listing, pod VMs whose pods are no longer in the API server (force-deleted
//! while the node was away) are removed; a pod listed and already held is only updated, so a
//! restarted node creates nothing twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};

use super::decide::{self, Action};
use super::status_writer::StatusWriter;
use super::{KubeletConfig, KubeletError, blocking};
use crate::cache::{key, pod_key};
use crate::client::{PersonaApi, PortLayerApi};
use crate::vic::VicProvider;

/// The loop's state.
pub struct PodLoop<C: PortLayerApi + PersonaApi> {
    client: kube::Client,
    provider: Arc<VicProvider<C>>,
    writer: Arc<StatusWriter>,
    cfg: KubeletConfig,
    /// Uids of pods the node failed for good (rejected by admission, unsupported).
    gave_up: BTreeSet<String>,
    /// Pods whose creation or deletion failed for a reason that may pass, tried again at
    /// resyncs with a doubling wait (as a kubelet backs off an image pull).
    retry: BTreeMap<String, Retry>,
    /// Resyncs so far: the clock of the retry waits.
    ticks: u64,
}

/// A pod to try again.
struct Retry {
    pod: Pod,
    attempts: u32,
    /// The resync at which it is due.
    due: u64,
}

/// The longest retry wait, in resyncs (2^5: about five minutes at 10 s, the kubelet's cap).
const MAX_BACKOFF_SHIFT: u32 = 5;

impl<C> PodLoop<C>
where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
{
    /// A loop over `provider` for the node `cfg.node_name`.
    pub fn new(
        client: kube::Client,
        provider: Arc<VicProvider<C>>,
        writer: Arc<StatusWriter>,
        cfg: KubeletConfig,
    ) -> Self {
        PodLoop {
            client,
            provider,
            writer,
            cfg,
            gave_up: BTreeSet::new(),
            retry: BTreeMap::new(),
            ticks: 0,
        }
    }

    /// Runs until the watch stream ends (it does not, short of the task being dropped).
    pub async fn run(mut self) {
        let api: Api<Pod> = Api::all(self.client.clone());
        let selector = format!("spec.nodeName={}", self.cfg.node_name);
        let mut events = watcher::watcher(api, watcher::Config::default().fields(&selector))
            .default_backoff()
            .boxed();
        let mut listed: BTreeSet<String> = BTreeSet::new();
        let mut resync = tokio::time::interval(self.cfg.resync_interval);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(Event::Init)) => listed.clear(),
                    Some(Ok(Event::InitApply(pod))) => {
                        let (ns, name) = pod_key(&pod);
                        listed.insert(key(&ns, &name));
                        self.apply(pod, false).await;
                    }
                    Some(Ok(Event::InitDone)) => self.remove_orphans(&listed).await,
                    Some(Ok(Event::Apply(pod))) => self.apply(pod, false).await,
                    Some(Ok(Event::Delete(pod))) => self.gone(pod).await,
                    Some(Err(e)) => tracing::warn!(error = %e, "watching pods"),
                    None => return,
                },
                _ = resync.tick() => self.resync().await,
            }
        }
    }

    /// Schedules another try for a pod whose operation failed for a reason that may pass.
    fn retry_later(&mut self, k: String, pod: Pod) {
        let attempts = self.retry.get(&k).map_or(0, |r| r.attempts) + 1;
        let due = self.ticks + (1u64 << attempts.min(MAX_BACKOFF_SHIFT));
        self.retry.insert(k, Retry { pod, attempts, due });
    }

    /// Makes the provider match one pod as the API server has it. A pod waiting for its
    /// retry is only remembered (its own status write echoes back as an event), unless it is
    /// being deleted or `due`.
    async fn apply(&mut self, pod: Pod, due: bool) {
        let (ns, name) = pod_key(&pod);
        let k = key(&ns, &name);
        let held_uid = self
            .provider
            .cache()
            .get(&ns, &name)
            .map(|c| c.pod().metadata.uid.unwrap_or_default());
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let action = decide::decide(&pod, held_uid.as_deref(), self.gave_up.contains(&uid));
        if let Some(r) = self.retry.get_mut(&k)
            && !due
            && action != Action::Terminate
            && r.pod.metadata.uid == pod.metadata.uid
        {
            r.pod = pod;
            return;
        }
        match action {
            Action::Skip => {}
            Action::Update => {
                let p = pod.clone();
                if let Ok(Err(e)) = blocking(&self.provider, move |pr| pr.update_pod(&p)).await {
                    tracing::debug!(pod = k, error = %e, "updating the held pod");
                }
            }
            Action::Create => self.create(pod, k).await,
            Action::Replace => {
                if let Some(old) = self.provider.cache().get(&ns, &name) {
                    let old = old.pod();
                    if let Err(e) = self.delete_vm(old).await {
                        tracing::warn!(pod = k, error = %e, "removing the pod VM of an older pod");
                        self.retry_later(k, pod);
                        return;
                    }
                }
                self.create(pod, k).await;
            }
            Action::Terminate => self.terminate(pod, k).await,
        }
    }

    async fn create(&mut self, pod: Pod, k: String) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let p = pod.clone();
        let result = match blocking(&self.provider, move |pr| pr.create_pod(&p)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(pod = k, error = %e, "creating the pod VM; will retry");
                self.retry_later(k, pod);
                return;
            }
        };
        let (ns, name) = pod_key(&pod);
        let held = self.provider.cache().get(&ns, &name).is_some();
        if held || result.as_ref().is_err_and(decide::is_permanent) {
            self.retry.remove(&k);
        }
        match result {
            Ok(()) => {
                tracing::info!(pod = k, "pod VM created and started");
                self.writer.clear_fixed(&k);
            }
            // The pod VM exists; its status carries the failure (a start that failed).
            Err(e) if held => {
                tracing::warn!(pod = k, error = %e, "starting the pod VM");
                self.writer.clear_fixed(&k);
            }
            Err(e) if decide::is_permanent(&e) => {
                tracing::warn!(pod = k, reason = e.reason(), error = %e, "pod rejected");
                self.gave_up.insert(uid.clone());
                self.writer
                    .set_fixed(k.clone(), uid, decide::failed_status(&e));
            }
            Err(e) => {
                tracing::warn!(pod = k, reason = e.reason(), error = %e, "creating the pod VM; will retry");
                self.writer
                    .set_fixed(k.clone(), uid, decide::waiting_status(&pod, &e));
                self.retry_later(k.clone(), pod);
            }
        }
        self.writer.mark(k);
    }

    /// Stops and removes the pod's VM, then removes the pod object (grace 0, this uid only),
    /// as a kubelet finishes a graceful deletion.
    async fn terminate(&mut self, pod: Pod, k: String) {
        if let Err(e) = self.delete_vm(pod.clone()).await {
            tracing::warn!(pod = k, error = %e, "removing the pod VM; will retry");
            self.retry_later(k, pod);
            return;
        }
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let (ns, name) = pod_key(&pod);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&name, &params).await {
            Ok(_) => tracing::info!(pod = k, "pod deleted"),
            Err(kube::Error::Api(s)) if s.is_not_found() || s.is_conflict() => {}
            Err(e) => {
                tracing::warn!(pod = k, error = %e, "removing the pod object; will retry");
                self.retry_later(k, pod);
                return;
            }
        }
        self.retry.remove(&k);
        self.gave_up.remove(&uid);
        self.writer.forget(&k);
    }

    /// The pod object is gone (deleted at once, or by us): remove its VM if one is held.
    async fn gone(&mut self, pod: Pod) {
        let (ns, name) = pod_key(&pod);
        let k = key(&ns, &name);
        let held = self.provider.cache().get(&ns, &name).map(|c| c.pod());
        let same = |h: &Pod| {
            let (a, b) = (h.metadata.uid.as_deref(), pod.metadata.uid.as_deref());
            a.is_none() || b.is_none() || a == b
        };
        if let Some(held) = held.filter(same)
            && let Err(e) = self.delete_vm(held).await
        {
            tracing::warn!(pod = k, error = %e, "removing the pod VM of a deleted pod");
            return;
        }
        if let Some(uid) = &pod.metadata.uid {
            self.gave_up.remove(uid);
        }
        self.retry.remove(&k);
        self.writer.forget(&k);
    }

    /// After a full listing: pod VMs of pods not listed belong to pods deleted while the node
    /// was away; they go.
    async fn remove_orphans(&mut self, listed: &BTreeSet<String>) {
        let orphans: Vec<Pod> = self
            .provider
            .cache()
            .list()
            .into_iter()
            .map(|c| c.pod())
            .filter(|p| {
                let (ns, name) = pod_key(p);
                !listed.contains(&key(&ns, &name))
            })
            .collect();
        for pod in orphans {
            let (ns, name) = pod_key(&pod);
            let k = key(&ns, &name);
            match self.delete_vm(pod).await {
                Ok(()) => tracing::info!(pod = k, "removed the pod VM of a pod that is gone"),
                Err(e) => tracing::warn!(pod = k, error = %e, "removing an orphaned pod VM"),
            }
            self.writer.forget(&k);
        }
        self.retry.retain(|k, _| listed.contains(k));
    }

    /// Periodically: retry what failed, and write every held pod's status (a pod VM's state
    /// changes without the API server knowing: a host fails, a guest exits).
    async fn resync(&mut self) {
        self.ticks += 1;
        let due: Vec<Pod> = self
            .retry
            .values()
            .filter(|r| r.due <= self.ticks)
            .map(|r| r.pod.clone())
            .collect();
        for pod in due {
            self.apply(pod, true).await;
        }
        for c in self.provider.cache().list() {
            let p = c.pod();
            let (ns, name) = pod_key(&p);
            self.writer.mark(key(&ns, &name));
        }
    }

    async fn delete_vm(&self, pod: Pod) -> Result<(), KubeletError> {
        blocking(&self.provider, move |pr| pr.delete_pod(&pod)).await??;
        Ok(())
    }
}
