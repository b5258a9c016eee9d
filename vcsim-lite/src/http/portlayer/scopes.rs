//! Scope (network) routes: scopes, endpoints, binding.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

pub(super) fn endpoint_json(e: &EndpointInfo) -> Value {
    json!({
        "id": e.id, "name": e.name, "scope": e.scope, "address": e.address.clone().unwrap_or_default(),
        "gateway": e.gateway, "container": e.container, "ports": e.ports, "aliases": e.aliases,
        "nameservers": e.nameservers, "trust": e.trust, "direct": e.direct, "macaddress": e.mac_address,
    })
}

pub(super) fn scope_json(s: &ScopeInfo) -> Value {
    json!({
        "id": s.id, "name": s.name, "scopeType": s.scope_type, "subnet": s.subnet, "gateway": s.gateway,
        "dns": s.dns, "ipam": s.ip_ranges, "annotations": s.annotations, "internal": s.internal,
        "endpoints": s.endpoints.iter().map(endpoint_json).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeBody {
    name: String,
    scope_type: String,
    subnet: Option<String>,
    gateway: Option<String>,
    #[serde(default)]
    dns: Vec<String>,
    #[serde(default)]
    ipam: Vec<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    internal: bool,
}

pub(super) async fn create_scope(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let c: ScopeBody = body(&b)?;
    let cfg = ScopeConfig {
        name: c.name,
        scope_type: c.scope_type,
        subnet: c.subnet,
        gateway: c.gateway,
        dns: c.dns,
        ip_ranges: c.ipam,
        annotations: c.annotations,
        internal: c.internal,
    };
    let info = s.lock().portlayer.create_scope(cfg)?;
    created(scope_json(&info))
}

pub(super) async fn list_scopes(State(s): State<Shared>) -> ApiResult {
    ok_json(
        s.lock()
            .portlayer
            .scopes()
            .list()
            .iter()
            .map(scope_json)
            .collect(),
    )
}

pub(super) async fn get_scope(
    State(s): State<Shared>,
    ApiPath(scope): ApiPath<String>,
) -> ApiResult {
    let info = s.lock().portlayer.scopes().get(&scope)?;
    ok_json(json!([scope_json(&info)]))
}

pub(super) async fn delete_scope(
    State(s): State<Shared>,
    ApiPath(scope): ApiPath<String>,
) -> ApiResult {
    s.lock().portlayer.delete_scope(&scope)?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkBody {
    network_name: String,
    address: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    nameservers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopesAddBody {
    handle: String,
    network_config: NetworkBody,
}

pub(super) async fn scopes_add(
    State(s): State<Shared>,
    ApiPath(scope): ApiPath<String>,
    b: Bytes,
) -> ApiResult {
    let req: ScopesAddBody = body(&b)?;
    let n = req.network_config;
    let cfg = NetworkConfig {
        network_name: n.network_name,
        address: n.address,
        aliases: n.aliases,
        ports: n.ports,
        nameservers: n.nameservers,
    };
    let h = s.lock().portlayer.scopes_add(&req.handle, &scope, cfg)?;
    ok_json(json!(h))
}

pub(super) async fn scopes_remove(
    State(s): State<Shared>,
    ApiPath((scope, handle)): ApiPath<(String, String)>,
) -> ApiResult {
    let h = s.lock().portlayer.scopes_remove(&handle, &scope)?;
    ok_json(json!(h))
}

pub(super) async fn container_endpoints(
    State(s): State<Shared>,
    ApiPath(x): ApiPath<String>,
) -> ApiResult {
    let eps = s.lock().portlayer.container_endpoints(&x)?;
    ok_json(eps.iter().map(endpoint_json).collect())
}

pub(super) async fn bind(State(s): State<Shared>, ApiPath(handle): ApiPath<String>) -> ApiResult {
    let (h, eps) = s.lock().portlayer.scopes_bind(&handle)?;
    ok_json(json!({"handle": h, "endpoints": eps.iter().map(endpoint_json).collect::<Vec<_>>()}))
}

pub(super) async fn unbind(State(s): State<Shared>, ApiPath(handle): ApiPath<String>) -> ApiResult {
    let (h, eps) = s.lock().portlayer.scopes_unbind(&handle)?;
    ok_json(json!({"handle": h, "endpoints": eps.iter().map(endpoint_json).collect::<Vec<_>>()}))
}
