//! Writes pod statuses to the API server (`pods/status`), coalesced per pod: a pod marked many
//! times while a write is under way is written once more, with the status read at write time,
//! so a burst of changes costs one or two requests and a late write can never carry an older
//! status than an earlier one. Unchanged statuses are not sent.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use kube::api::{Api, Patch, PatchParams};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::decide::status_patch;

/// Reads a pod with its current status by namespace and name (`None`: not held).
pub type StatusSource = Arc<dyn Fn(&str, &str) -> Option<Pod> + Send + Sync>;

/// How long a failed write waits before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Default)]
struct State {
    /// Pods (namespace/name) to write.
    pending: BTreeSet<String>,
    /// Pods being written now.
    busy: BTreeSet<String>,
    /// The last patch each pod was sent.
    written: BTreeMap<String, Value>,
    /// Statuses of pods the provider does not hold (failed or waiting to be created), with
    /// the pod's uid.
    fixed: BTreeMap<String, (String, PodStatus)>,
}

/// The coalescing writer. [`StatusWriter::mark`] may be called from any thread.
pub struct StatusWriter {
    state: Mutex<State>,
    wake: Notify,
    source: StatusSource,
}

/// What one write came to.
enum Outcome {
    Done,
    Retry,
}

impl StatusWriter {
    /// A writer reading statuses from `source`.
    pub fn new(source: StatusSource) -> Arc<Self> {
        Arc::new(StatusWriter {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            source,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks for the pod's status to be written.
    pub fn mark(&self, key: String) {
        self.state().pending.insert(key);
        self.wake.notify_one();
    }

    /// Sets the status of a pod the provider does not hold, and writes it.
    pub fn set_fixed(&self, key: String, uid: String, status: PodStatus) {
        self.state().fixed.insert(key.clone(), (uid, status));
        self.mark(key);
    }

    /// Forgets a fixed status (the pod was created, or is gone).
    pub fn clear_fixed(&self, key: &str) {
        self.state().fixed.remove(key);
    }

    /// Forgets everything about a pod that no longer exists.
    pub fn forget(&self, key: &str) {
        let mut s = self.state();
        s.fixed.remove(key);
        s.written.remove(key);
    }

    /// Pods written or waiting, for tests and logs.
    pub fn pending(&self) -> usize {
        let s = self.state();
        s.pending.len() + s.busy.len()
    }

    /// Writes marked pods, up to `concurrency` at a time, until the task is dropped.
    pub async fn run(self: Arc<Self>, client: kube::Client, concurrency: usize) {
        let mut running: JoinSet<(String, Outcome)> = JoinSet::new();
        loop {
            while running.len() < concurrency.max(1) {
                let Some(key) = self.take() else { break };
                let this = self.clone();
                let client = client.clone();
                running.spawn(async move {
                    let outcome = this.write(&client, &key).await;
                    (key, outcome)
                });
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok((key, outcome)) = done {
                        self.state().busy.remove(&key);
                        if let Outcome::Retry = outcome {
                            self.mark(key);
                        }
                    }
                }
            }
        }
    }

    /// The next pending pod that is not being written, moved to busy.
    fn take(&self) -> Option<String> {
        let mut s = self.state();
        let key = s.pending.iter().find(|k| !s.busy.contains(*k)).cloned()?;
        s.pending.remove(&key);
        s.busy.insert(key.clone());
        Some(key)
    }

    async fn write(&self, client: &kube::Client, key: &str) -> Outcome {
        let Some((ns, name)) = key.split_once('/') else {
            return Outcome::Done;
        };
        let source = self.source.clone();
        let (ns_owned, name_owned) = (ns.to_string(), name.to_string());
        let held = tokio::task::spawn_blocking(move || source(&ns_owned, &name_owned))
            .await
            .ok()
            .flatten();
        let (uid, status) = match held {
            Some(pod) => (
                pod.metadata.uid.unwrap_or_default(),
                pod.status.unwrap_or_default(),
            ),
            None => match self.state().fixed.get(key) {
                Some((uid, status)) => (uid.clone(), status.clone()),
                None => return Outcome::Done,
            },
        };
        let patch = status_patch(&uid, &status);
        if self.state().written.get(key) == Some(&patch) {
            return Outcome::Done;
        }
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                self.state().written.insert(key.to_string(), patch);
                Outcome::Done
            }
            // Gone, or a newer pod of the same name (the uid precondition failed).
            Err(kube::Error::Api(s)) if s.is_not_found() || s.is_conflict() => {
                self.state().written.remove(key);
                Outcome::Done
            }
            Err(e) => {
                tracing::warn!(pod = key, error = %e, "writing the pod status; will retry");
                tokio::time::sleep(RETRY_AFTER).await;
                Outcome::Retry
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> Arc<StatusWriter> {
        StatusWriter::new(Arc::new(|_: &str, _: &str| None))
    }

    #[test]
    fn marks_coalesce_and_a_pod_is_never_written_twice_at_once() {
        let w = writer();
        w.mark("ns/a".into());
        w.mark("ns/a".into());
        w.mark("ns/b".into());
        assert_eq!(w.pending(), 2);
        assert_eq!(w.take().as_deref(), Some("ns/a"));
        // Marked again while its write is under way: waits for that write to finish.
        w.mark("ns/a".into());
        assert_eq!(w.take().as_deref(), Some("ns/b"));
        assert_eq!(w.take(), None);
        assert_eq!(w.pending(), 3);
        w.state().busy.remove("ns/a");
        assert_eq!(w.take().as_deref(), Some("ns/a"));
    }

    #[test]
    fn fixed_statuses_are_kept_until_cleared_or_forgotten() {
        let w = writer();
        let failed = PodStatus {
            phase: Some("Failed".into()),
            ..Default::default()
        };
        w.set_fixed("ns/a".into(), "u1".into(), failed.clone());
        assert_eq!(
            w.state().fixed.get("ns/a"),
            Some(&("u1".to_string(), failed))
        );
        assert_eq!(w.pending(), 1);
        w.clear_fixed("ns/a");
        assert!(w.state().fixed.is_empty());
        w.state().written.insert("ns/a".into(), Value::Null);
        w.forget("ns/a");
        assert!(w.state().written.is_empty());
    }
}
