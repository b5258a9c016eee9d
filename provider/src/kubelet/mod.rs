//! The provider as a virtual-kubelet node of a real cluster: it registers a Node with the
//! VCH's capacity and the provider taint, keeps it alive (node status and a Lease), watches
//! the pods bound to it, drives them through [`VicProvider`], writes their statuses back, and
//! finishes their deletions.
//!
//! - [`config`]: the provider configuration file and environment.
//! - [`decide`]: what to do with a pod (pure).
//! - [`node_object`]: the Node and Lease objects (pure).
//! - `heartbeat`, `pods`, [`status_writer`]: the loops that talk to the API server.
//!
//! The provider's calls block (HTTP or the in-process stack's lock), so they run on tokio's
//! blocking pool; the API server calls are async.

pub mod config;
pub mod decide;
mod heartbeat;
pub mod node_object;
mod pods;
pub mod status_writer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::cache::{key, pod_key};
use crate::client::{PersonaApi, PortLayerApi};
use crate::error::ProviderError;
use crate::vic::VicProvider;
use status_writer::StatusWriter;

/// How the node runs.
#[derive(Clone, Debug)]
pub struct KubeletConfig {
    /// The Node's name.
    pub node_name: String,
    /// How often the node status is written (the kubelet's default is 10 s).
    pub node_status_interval: Duration,
    /// How often the Lease is renewed (the kubelet's: a quarter of its 40 s duration).
    pub lease_renew_interval: Duration,
    /// How often failed operations are retried and every held pod's status is checked.
    pub resync_interval: Duration,
    /// Pod status writes in flight at once.
    pub status_writers: usize,
}

impl KubeletConfig {
    /// The kubelet's timings for a node of this name.
    pub fn new(node_name: &str) -> Self {
        KubeletConfig {
            node_name: node_name.to_string(),
            node_status_interval: Duration::from_secs(10),
            lease_renew_interval: Duration::from_secs(10),
            resync_interval: Duration::from_secs(10),
            status_writers: 8,
        }
    }
}

/// Why the node stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// The API server refused or did not answer.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The provider failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// A provider call panicked or was cancelled on its worker thread.
    #[error("a provider call did not complete: {0}")]
    Worker(String),
}

/// Runs `f` on the provider on tokio's blocking pool.
pub(crate) async fn blocking<C, T>(
    provider: &Arc<VicProvider<C>>,
    f: impl FnOnce(&VicProvider<C>) -> T + Send + 'static,
) -> Result<T, KubeletError>
where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
    T: Send + 'static,
{
    let p = provider.clone();
    tokio::task::spawn_blocking(move || f(&p))
        .await
        .map_err(|e| KubeletError::Worker(e.to_string()))
}

/// Wall-clock time for the API server's objects (heartbeats, lease renewals). The node talks
/// to a real cluster in real time; the simulated world is not involved.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_now() -> Timestamp {
    Timestamp::now()
}

/// Runs the node until `shutdown` completes: takes back the pod VMs the VCH holds, registers
/// the Node, then runs the heartbeat, lease, status and pod loops. The Node is left
/// registered at shutdown, as a kubelet leaves it; its lease then expires.
pub async fn run<C>(
    client: kube::Client,
    provider: Arc<VicProvider<C>>,
    cfg: KubeletConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), KubeletError>
where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
{
    let found = blocking(&provider, |p| p.rebuild()).await??;
    tracing::info!(pod_vms = found, "took back the pod VMs of the VCH");
    let (node_uid, conditions) = heartbeat::register(&client, &provider, &cfg).await?;
    tracing::info!(node = cfg.node_name, "node registered");

    let source = provider.clone();
    let writer = StatusWriter::new(Arc::new(move |ns, name| source.get_pod(ns, name)));
    let marks = writer.clone();
    provider.notify_pods(move |pod| {
        let (ns, name) = pod_key(pod);
        marks.mark(key(&ns, &name));
    });

    let pods = pods::PodLoop::new(
        client.clone(),
        provider.clone(),
        writer.clone(),
        cfg.clone(),
    );
    tokio::select! {
        _ = heartbeat::status_loop(client.clone(), provider.clone(), cfg.clone(), conditions) => {}
        _ = heartbeat::lease_loop(client.clone(), cfg.clone(), node_uid) => {}
        _ = writer.run(client.clone(), cfg.status_writers) => {}
        _ = pods.run() => {}
        _ = shutdown => tracing::info!("node stopping"),
    }
    Ok(())
}
