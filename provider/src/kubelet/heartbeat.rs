//! The node's presence in the API server: registering the Node, renewing its Lease in
//! `kube-node-lease`, and updating its status (capacity from the VCH, conditions with their
//! heartbeat and transition times). A VCH that does not answer makes the node NotReady rather
//! than stopping the loop.

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeCondition, NodeStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::node_object::{self, LEASE_NAMESPACE};
use super::{KubeletConfig, KubeletError, blocking, wall_now};
use crate::client::{PersonaApi, PortLayerApi};
use crate::vic::VicProvider;

/// The node's status now, its conditions stamped against `before`; its addresses include its
/// name as Hostname, as a kubelet reports it.
async fn current_status<C>(
    provider: &Arc<VicProvider<C>>,
    name: &str,
    before: &[NodeCondition],
) -> NodeStatus
where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
{
    let mut status = match blocking(provider, |p| p.node_status()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => NodeStatus {
            conditions: Some(node_object::not_ready(format!(
                "the VCH does not answer: {e}"
            ))),
            ..Default::default()
        },
        Err(e) => NodeStatus {
            conditions: Some(node_object::not_ready(e.to_string())),
            ..Default::default()
        },
    };
    status.addresses.get_or_insert_default().push(NodeAddress {
        type_: "Hostname".to_string(),
        address: name.to_string(),
    });
    let now = Time(wall_now());
    if let Some(conditions) = status.conditions.as_mut() {
        node_object::stamp(conditions, before, &now);
    }
    status
}

fn api_err(what: &str, node: &str) -> impl FnOnce(kube::Error) -> KubeletError {
    let what = format!("{what} {node}");
    move |source| KubeletError::Api { what, source }
}

/// Creates the Node, or takes over the one a previous run left (labels and taints made
/// ours again), and writes its status; returns the Node's uid and its conditions.
pub async fn register<C>(
    client: &kube::Client,
    provider: &Arc<VicProvider<C>>,
    cfg: &KubeletConfig,
) -> Result<(String, Vec<NodeCondition>), KubeletError>
where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
{
    let name = cfg.node_name.as_str();
    let nodes: Api<Node> = Api::all(client.clone());
    let before = match nodes
        .get_opt(name)
        .await
        .map_err(api_err("reading node", name))?
    {
        Some(existing) => existing
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let status = current_status(provider, name, &before).await;
    let wanted = node_object::node(name, status.clone());
    match nodes.create(&PostParams::default(), &wanted).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_already_exists() => {
            let patch = json!({
                "metadata": { "labels": wanted.metadata.labels },
                "spec": { "taints": node_object::taints() },
            });
            nodes
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(api_err("updating node", name))?;
        }
        Err(e) => return Err(api_err("registering node", name)(e)),
    }
    let written = nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "status": status })),
        )
        .await
        .map_err(api_err("writing the status of node", name))?;
    let uid = written.metadata.uid.unwrap_or_default();
    Ok((uid, status.conditions.unwrap_or_default()))
}

/// Updates the node status every `cfg.node_status_interval`, forever. Failed writes are
/// logged and tried again at the next tick: the API server may be restarting.
pub async fn status_loop<C>(
    client: kube::Client,
    provider: Arc<VicProvider<C>>,
    cfg: KubeletConfig,
    mut conditions: Vec<NodeCondition>,
) where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
{
    let nodes: Api<Node> = Api::all(client);
    let mut tick = tokio::time::interval(cfg.node_status_interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        let status = current_status(&provider, &cfg.node_name, &conditions).await;
        let patch = json!({ "status": status });
        match nodes
            .patch_status(
                &cfg.node_name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => conditions = status.conditions.unwrap_or_default(),
            Err(e) => tracing::warn!(node = cfg.node_name, error = %e, "updating the node status"),
        }
    }
}

/// Renews the node's Lease every `cfg.lease_renew_interval`, creating it when missing.
pub async fn lease_loop(client: kube::Client, cfg: KubeletConfig, node_uid: String) {
    let leases: Api<Lease> = Api::namespaced(client, LEASE_NAMESPACE);
    let mut tick = tokio::time::interval(cfg.lease_renew_interval);
    loop {
        tick.tick().await;
        if let Err(e) = renew(&leases, &cfg.node_name, &node_uid).await {
            tracing::warn!(node = cfg.node_name, error = %e, "renewing the node lease");
        }
    }
}

async fn renew(leases: &Api<Lease>, name: &str, node_uid: &str) -> Result<(), kube::Error> {
    let now = MicroTime(wall_now());
    let patch = json!({ "spec": {
        "holderIdentity": name,
        "leaseDurationSeconds": node_object::LEASE_DURATION_SECS,
        "renewTime": now,
    }});
    match leases
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() => {
            let uid = (!node_uid.is_empty()).then_some(node_uid);
            leases
                .create(&PostParams::default(), &node_object::lease(name, uid, now))
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    }
}
