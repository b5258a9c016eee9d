//! The Port Layer REST API (VIC's swagger: paths, bodies, status codes) over [`PortLayer`].
//! Handlers parse, call one port layer method under the lock, and render; errors map to
//! status codes through [`PortLayerError::status`] with a JSON `{code, message}` body.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Shared;
use crate::portlayer::containers::{ContainerInfo, CreateConfig};
use crate::portlayer::images::ImageInfo;
use crate::portlayer::scopes::{EndpointInfo, NetworkConfig, ScopeConfig, ScopeInfo};
use crate::portlayer::tasks::TaskJoinConfig;
use crate::portlayer::volumes::{VolumeInfo, VolumeRequest};
use crate::portlayer::{ContainerState, PortLayerError};

/// An error response of the Port Layer API.
#[derive(Debug)]
pub struct ApiError(pub PortLayerError);

impl From<PortLayerError> for ApiError {
    fn from(e: PortLayerError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.status();
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        (
            status,
            axum::Json(json!({"code": code, "message": self.0.to_string()})),
        )
            .into_response()
    }
}

type ApiResult<T = Response> = Result<T, ApiError>;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(PortLayerError::BadRequest(msg.into()))
}

/// Parses a JSON body, answering 400 with the parser's message for malformed input.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("malformed JSON body: {e}")))
}

fn ok_json(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

fn created(v: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// The router. Paths as in VIC's swagger.
pub fn router(shared: Shared) -> Router {
    Router::new()
        .route("/_ping", get(|| async { "OK" }))
        .route("/vch/info", get(vch_info))
        .route("/kv/{key}", get(kv_get).put(kv_put).delete(kv_delete))
        .route("/storage", post(create_store))
        .route("/storage/volumestores", get(volume_stores))
        .route("/storage/volumes", get(list_volumes).post(create_volume))
        .route(
            "/storage/volumes/{name}",
            get(get_volume).delete(delete_volume).post(volume_join),
        )
        .route("/storage/{store}", get(list_images).post(write_image))
        .route("/storage/{store}/usage", get(store_usage))
        .route(
            "/storage/{store}/info/{id}",
            get(get_image).post(image_join).delete(delete_image),
        )
        .route("/scopes", get(list_scopes).post(create_scope))
        .route(
            "/scopes/containers/{handle_or_id}",
            get(container_endpoints),
        )
        .route(
            "/scopes/containers/{handle}/binding",
            post(bind).delete(unbind),
        )
        .route("/scopes/{scope}", get(get_scope).delete(delete_scope))
        .route("/scopes/{scope}/containers", post(scopes_add))
        .route(
            "/scopes/{scope}/containers/{handle}",
            axum::routing::delete(scopes_remove),
        )
        .route("/containers", post(create_container))
        .route("/containers/list", get(list_containers))
        .route("/containers/info/{id}", get(container_info))
        .route(
            "/containers/{id}",
            get(get_handle).put(commit).delete(remove_container),
        )
        .route(
            "/containers/{handle}/state",
            put(change_state).get(get_state),
        )
        .route("/containers/{handle}/name", axum::routing::patch(rename))
        .route("/containers/{id}/signal", post(signal))
        .route("/containers/{id}/wait", get(wait))
        .route(
            "/containers/{id}/logs",
            get(|| async { not_implemented("container logs") }),
        )
        .route(
            "/containers/{id}/stats",
            get(|| async { not_implemented("container stats") }),
        )
        .route(
            "/tasks",
            post(task_join).delete(task_remove).get(task_inspect),
        )
        .route("/tasks/binding", post(task_bind).delete(task_unbind))
        .route("/tasks/wait", get(task_wait))
        .route("/interaction", post(interaction_join))
        .route(
            "/interaction/binding",
            post(handle_echo).delete(handle_echo),
        )
        .route("/logging", post(logging_join))
        .route("/logging/binding", post(handle_echo).delete(handle_echo))
        .route("/events", get(events))
        .fallback(|| async {
            ApiError(PortLayerError::not_found(
                "path",
                "no such Port Layer API path",
            ))
        })
        .with_state(shared)
}

fn not_implemented(what: &'static str) -> ApiError {
    ApiError(PortLayerError::NotImplemented(what))
}

// ----- misc and kv ---------------------------------------------------------------------------

async fn vch_info(State(s): State<Shared>) -> ApiResult {
    let st = s.lock();
    let i = st.portlayer.vch_info(&st.world)?;
    ok_json(json!({
        "cpuMhz": i.cpu_mhz, "memory": i.memory_mb, "cpuUsage": i.cpu_usage_mhz,
        "memUsage": i.memory_usage_mb, "hostProductName": i.host_product_name,
        "hostOS": i.host_os, "hostOSVersion": i.host_os_version,
    }))
}

async fn kv_get(State(s): State<Shared>, Path(key): Path<String>) -> ApiResult {
    let value = s.lock().portlayer.kv_get(&key)?;
    ok_json(json!({"Key": key, "Value": value}))
}

#[derive(Deserialize)]
struct KeyValue {
    #[serde(rename = "Key", default)]
    key: Option<String>,
    #[serde(rename = "Value")]
    value: String,
}

async fn kv_put(State(s): State<Shared>, Path(key): Path<String>, b: Bytes) -> ApiResult {
    let kv: KeyValue = body(&b)?;
    if kv.key.as_deref().is_some_and(|k| k != key) {
        return Err(bad("the body's Key differs from the path's key"));
    }
    s.lock().portlayer.kv_put(&key, &kv.value)?;
    ok_json(json!({"Key": key, "Value": kv.value}))
}

async fn kv_delete(State(s): State<Shared>, Path(key): Path<String>) -> ApiResult {
    s.lock().portlayer.kv_delete(&key)?;
    Ok(StatusCode::OK.into_response())
}

// ----- storage -------------------------------------------------------------------------------

fn image_json(i: &ImageInfo) -> Value {
    json!({
        "ID": i.id, "Store": format!("/storage/{}", i.store), "SelfLink": i.self_link,
        "Parent": if i.parent.is_empty() { String::new() } else { format!("/storage/{}/info/{}", i.store, i.parent) },
        "Metadata": i.metadata,
    })
}

fn volume_json(v: &VolumeInfo) -> Value {
    json!({"Name": v.name, "Label": v.label, "Driver": v.driver, "Store": v.store, "Metadata": v.metadata})
}

#[derive(Deserialize)]
struct ImageStoreBody {
    name: String,
}

async fn create_store(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let req: ImageStoreBody = body(&b)?;
    let mut st = s.lock();
    let st = &mut *st;
    let url = st.portlayer.create_image_store(&mut st.world, &req.name)?;
    created(json!({"url": url}))
}

fn csv(q: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    q.get(key)
        .map(|v| {
            v.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

async fn list_images(
    State(s): State<Shared>,
    Path(store): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let list = s.lock().portlayer.images().list(&store, &csv(&q, "ids"))?;
    ok_json(list.iter().map(image_json).collect())
}

fn required<'a>(q: &'a BTreeMap<String, String>, key: &str) -> ApiResult<&'a str> {
    q.get(key)
        .map(String::as_str)
        .ok_or_else(|| bad(format!("query parameter `{key}` is required")))
}

async fn write_image(
    State(s): State<Shared>,
    Path(store): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let (id, parent, sum) = (
        required(&q, "image_id")?,
        required(&q, "parent_id")?,
        required(&q, "sum")?,
    );
    let meta = q
        .get("metadatakey")
        .map(|k| (k.clone(), q.get("metadataval").cloned().unwrap_or_default()));
    let mut st = s.lock();
    let st = &mut *st;
    let info = st
        .portlayer
        .write_image(&mut st.world, &store, id, parent, sum, meta, &b)?;
    created(image_json(&info))
}

async fn get_image(
    State(s): State<Shared>,
    Path((store, id)): Path<(String, String)>,
) -> ApiResult {
    let info = s.lock().portlayer.images().get(&store, &id)?;
    ok_json(image_json(&info))
}

async fn delete_image(
    State(s): State<Shared>,
    Path((store, id)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let deleted = st
        .portlayer
        .delete_image(&mut st.world, &store, &id, &csv(&q, "keepNodes"))?;
    ok_json(deleted.iter().map(image_json).collect())
}

async fn store_usage(State(s): State<Shared>, Path(store): Path<String>) -> ApiResult {
    let bytes = s.lock().portlayer.images().usage_bytes(&store)?;
    ok_json(json!(bytes))
}

#[derive(Deserialize)]
struct ImageJoinBody {
    handle: String,
    #[serde(rename = "deltaID", default)]
    _delta_id: String,
    #[serde(rename = "imageID", default)]
    image_id: String,
    #[serde(rename = "repoName", default)]
    repo_name: String,
}

async fn image_join(
    State(s): State<Shared>,
    Path((store, id)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let req: ImageJoinBody = body(&b)?;
    let h =
        s.lock()
            .portlayer
            .image_join(&req.handle, &store, &id, &req.image_id, &req.repo_name)?;
    ok_json(json!({"handle": h}))
}

async fn volume_stores(State(s): State<Shared>) -> ApiResult {
    ok_json(json!({"Stores": s.lock().portlayer.volumes().stores()}))
}

async fn list_volumes(
    State(s): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let filter = q.get("filterString").map(String::as_str).unwrap_or("");
    let list = s.lock().portlayer.volumes().list(filter);
    ok_json(list.iter().map(volume_json).collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VolumeBody {
    name: String,
    driver: String,
    #[serde(default)]
    driver_args: BTreeMap<String, String>,
    store: String,
    capacity: i64,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

async fn create_volume(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let v: VolumeBody = body(&b)?;
    let req = VolumeRequest {
        name: v.name,
        driver: v.driver,
        driver_args: v.driver_args,
        store: v.store,
        capacity_mb: v.capacity,
        metadata: v.metadata,
    };
    let mut st = s.lock();
    let st = &mut *st;
    let info = st.portlayer.create_volume(&mut st.world, req)?;
    created(volume_json(&info))
}

async fn get_volume(State(s): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let v = s.lock().portlayer.volumes().get(&name)?;
    ok_json(volume_json(&v))
}

async fn delete_volume(State(s): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.delete_volume(&mut st.world, &name)?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VolumeJoinBody {
    handle: String,
    mount_path: String,
    #[serde(default)]
    flags: BTreeMap<String, String>,
}

async fn volume_join(State(s): State<Shared>, Path(name): Path<String>, b: Bytes) -> ApiResult {
    let req: VolumeJoinBody = body(&b)?;
    let flags = req
        .flags
        .get("Mode")
        .cloned()
        .unwrap_or_else(|| "rw".into());
    let h = s
        .lock()
        .portlayer
        .volume_join(&req.handle, &name, &req.mount_path, &flags)?;
    ok_json(json!(h))
}

// ----- scopes --------------------------------------------------------------------------------

fn endpoint_json(e: &EndpointInfo) -> Value {
    json!({
        "id": e.id, "name": e.name, "scope": e.scope, "address": e.address.clone().unwrap_or_default(),
        "gateway": e.gateway, "container": e.container, "ports": e.ports, "aliases": e.aliases,
        "nameservers": e.nameservers, "trust": e.trust, "direct": e.direct, "macaddress": e.mac_address,
    })
}

fn scope_json(s: &ScopeInfo) -> Value {
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

async fn create_scope(State(s): State<Shared>, b: Bytes) -> ApiResult {
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

async fn list_scopes(State(s): State<Shared>) -> ApiResult {
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

async fn get_scope(State(s): State<Shared>, Path(scope): Path<String>) -> ApiResult {
    let info = s.lock().portlayer.scopes().get(&scope)?;
    ok_json(json!([scope_json(&info)]))
}

async fn delete_scope(State(s): State<Shared>, Path(scope): Path<String>) -> ApiResult {
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

async fn scopes_add(State(s): State<Shared>, Path(scope): Path<String>, b: Bytes) -> ApiResult {
    let req: ScopesAddBody = body(&b)?;
    let n = req.network_config;
    let cfg = NetworkConfig {
        network_name: n.network_name,
        address: n.address,
        aliases: n.aliases,
        ports: n.ports,
        nameservers: n.nameservers,
    };
    let (h, _) = s.lock().portlayer.scopes_add(&req.handle, &scope, cfg)?;
    ok_json(json!(h))
}

async fn scopes_remove(
    State(s): State<Shared>,
    Path((scope, handle)): Path<(String, String)>,
) -> ApiResult {
    let h = s.lock().portlayer.scopes_remove(&handle, &scope)?;
    ok_json(json!(h))
}

async fn container_endpoints(State(s): State<Shared>, Path(x): Path<String>) -> ApiResult {
    let eps = s.lock().portlayer.container_endpoints(&x)?;
    ok_json(eps.iter().map(endpoint_json).collect())
}

async fn bind(State(s): State<Shared>, Path(handle): Path<String>) -> ApiResult {
    let (h, eps) = s.lock().portlayer.scopes_bind(&handle)?;
    ok_json(json!({"handle": h, "endpoints": eps.iter().map(endpoint_json).collect::<Vec<_>>()}))
}

async fn unbind(State(s): State<Shared>, Path(handle): Path<String>) -> ApiResult {
    let (h, eps) = s.lock().portlayer.scopes_unbind(&handle)?;
    ok_json(json!({"handle": h, "endpoints": eps.iter().map(endpoint_json).collect::<Vec<_>>()}))
}

// ----- containers ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    #[serde(default)]
    name: String,
    #[serde(rename = "numCPUs")]
    num_cpus: Option<i64>,
    #[serde(rename = "memoryMB")]
    memory_mb: Option<i64>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    hostname: String,
    #[serde(default)]
    domainname: String,
    #[serde(default)]
    network_disabled: bool,
}

fn non_negative(v: Option<i64>, what: &str) -> ApiResult<Option<u64>> {
    v.map(|n| u64::try_from(n).map_err(|_| bad(format!("{what} must not be negative"))))
        .transpose()
}

async fn create_container(
    State(s): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let c: CreateBody = if b.is_empty() {
        CreateBody::default()
    } else {
        body(&b)?
    };
    let num_cpus =
        non_negative(c.num_cpus, "numCPUs")?.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let cfg = CreateConfig {
        name: q.get("name").cloned().unwrap_or(c.name),
        num_cpus,
        memory_mb: non_negative(c.memory_mb, "memoryMB")?,
        annotations: c.annotations,
        hostname: c.hostname,
        domainname: c.domainname,
        network_disabled: c.network_disabled,
    };
    let mut st = s.lock();
    let st = &mut *st;
    let (id, handle) = st.portlayer.create_container(&mut st.world, cfg)?;
    ok_json(json!({"id": id, "handle": handle}))
}

async fn get_handle(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let h = st.portlayer.get_handle(&mut st.world, &id)?;
    ok_json(json!(h))
}

async fn commit(
    State(s): State<Shared>,
    Path(handle): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let wait = match q.get("wait_time") {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| bad(format!("wait_time `{v}` is not a number")))?,
        ),
        None => None,
    };
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.commit(&mut st.world, &handle, wait)?;
    Ok(StatusCode::OK.into_response())
}

async fn change_state(State(s): State<Shared>, Path(handle): Path<String>, b: Bytes) -> ApiResult {
    // The persona sends the state as a JSON string; accept a bare word too.
    let state: String = serde_json::from_slice(&b)
        .unwrap_or_else(|_| String::from_utf8_lossy(&b).trim().to_string());
    let h = s.lock().portlayer.change_state(&handle, &state)?;
    ok_json(json!(h))
}

async fn get_state(State(s): State<Shared>, Path(handle): Path<String>) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let state = st.portlayer.handle_state(&st.world, &handle)?;
    ok_json(json!({"handle": handle, "state": state.as_str()}))
}

async fn rename(
    State(s): State<Shared>,
    Path(handle): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let h = s.lock().portlayer.rename(&handle, required(&q, "name")?)?;
    ok_json(json!(h))
}

fn secs(t: Option<crate::sim::SimTime>) -> i64 {
    t.map_or(0, |t| (t.0 / 1_000_000) as i64)
}

/// `ContainerInfo` as the swagger shapes it.
pub fn container_json(c: &ContainerInfo) -> Value {
    let p = c.process.clone();
    let img = c.spec.image.clone();
    json!({
        "containerConfig": {
            "containerId": c.id, "names": [c.name], "state": c.state.as_str(), "createTime": secs(Some(c.create_time)),
            "annotations": c.spec.annotations, "hostName": c.spec.hostname, "storageSize": c.storage_size,
            "layerId": img.as_ref().map(|i| i.layer.clone()), "imageId": img.as_ref().map(|i| i.image_id.clone()),
            "repoName": img.as_ref().map(|i| i.repo.clone()), "restartCount": 0,
            "tty": p.as_ref().map(|p| p.tty), "openStdin": p.as_ref().map(|p| p.open_stdin),
            "attachStdin": p.as_ref().map(|p| p.attach), "attachStdout": p.as_ref().map(|p| p.attach),
            "attachStderr": p.as_ref().map(|p| p.attach),
            "memorySizeMB": c.spec.memory_mb, "numCpu": c.spec.num_cpus, "vm": c.vm.to_string(),
        },
        "processConfig": p.as_ref().map(|p| json!({
            "execPath": p.path, "execArgs": p.args, "workingDir": p.working_dir, "env": p.env,
            "status": p.started, "startTime": secs(p.start_time), "stopTime": secs(p.stop_time),
            "exitCode": p.exit_code, "user": p.user,
        })),
        "volumeConfig": c.spec.volumes.iter().map(|(n, m)| json!({"name": n, "mountPoint": m.mount_path, "readWrite": m.flags != "ro"})).collect::<Vec<_>>(),
        "endpoints": c.endpoints.iter().map(endpoint_json).collect::<Vec<_>>(),
        "dataVersion": 1,
    })
}

async fn container_info(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let info = st.portlayer.container_info(&st.world, &id)?;
    ok_json(container_json(&info))
}

async fn list_containers(
    State(s): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let all = matches!(q.get("all").map(String::as_str), Some("true" | "1"));
    let mut st = s.lock();
    let st = &mut *st;
    let list = st.portlayer.list_containers(&st.world, all);
    ok_json(list.iter().map(container_json).collect())
}

async fn remove_container(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.remove_container(&mut st.world, &id)?;
    Ok(StatusCode::OK.into_response())
}

async fn signal(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let sig = required(&q, "signal")?;
    let sig: i64 = sig
        .parse()
        .map_err(|_| bad(format!("signal `{sig}` is not a number")))?;
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.signal(&mut st.world, &id, sig)?;
    Ok(StatusCode::OK.into_response())
}

/// Waits (in wall time, at most `timeout` seconds, 60 by default) for the container to stop.
async fn wait(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> ApiResult {
    let timeout: u64 = match q.get("timeout") {
        Some(t) => t
            .parse()
            .map_err(|_| bad(format!("timeout `{t}` is not a number")))?,
        None => 60,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let info = {
            let mut st = s.lock();
            let st = &mut *st;
            st.portlayer.container_info(&st.world, &id)?
        };
        if !matches!(
            info.state,
            ContainerState::Running | ContainerState::Starting
        ) {
            return ok_json(container_json(&info));
        }
        if std::time::Instant::now() >= deadline {
            return Ok((
                StatusCode::REQUEST_TIMEOUT,
                axum::Json(json!({"code": 408, "message": "container is still running"})),
            )
                .into_response());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ----- tasks, interaction, logging -----------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskBody {
    handle: String,
    id: Option<String>,
    #[serde(default)]
    path: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    working_dir: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    attach: bool,
    #[serde(default)]
    open_stdin: bool,
    #[serde(default)]
    tty: bool,
    #[serde(default)]
    stop_signal: String,
}

async fn task_join(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let t: TaskBody = body(&b)?;
    let cfg = TaskJoinConfig {
        id: t.id,
        path: t.path,
        args: t.args,
        env: t.env,
        working_dir: t.working_dir,
        user: t.user,
        attach: t.attach,
        open_stdin: t.open_stdin,
        tty: t.tty,
        stop_signal: t.stop_signal,
    };
    let (h, id) = s.lock().portlayer.task_join(&t.handle, cfg)?;
    ok_json(json!({"handle": h, "id": id}))
}

#[derive(Deserialize)]
struct HandleId {
    handle: String,
    id: String,
}

/// `GET /tasks` and `/tasks/wait` carry a body in VIC's client; query parameters work too.
fn handle_id(b: &Bytes, q: &BTreeMap<String, String>) -> ApiResult<HandleId> {
    if b.is_empty() {
        Ok(HandleId {
            handle: required(q, "handle")?.to_string(),
            id: required(q, "id")?.to_string(),
        })
    } else {
        body(b)
    }
}

async fn task_remove(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleId = body(&b)?;
    let h = s.lock().portlayer.task_remove(&r.handle, &r.id)?;
    ok_json(json!(h))
}

async fn task_bind(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleId = body(&b)?;
    let h = s.lock().portlayer.task_bind(&r.handle, &r.id)?;
    ok_json(json!({"handle": h}))
}

async fn task_unbind(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleId = body(&b)?;
    let h = s.lock().portlayer.task_unbind(&r.handle, &r.id)?;
    ok_json(json!({"handle": h}))
}

async fn task_inspect(
    State(s): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let r = handle_id(&b, &q)?;
    let mut st = s.lock();
    let st = &mut *st;
    let (t, state) = st.portlayer.task_inspect(&st.world, &r.handle, &r.id)?;
    ok_json(json!({
        "id": t.id, "state": state, "exitCode": t.exit_code, "tty": t.tty, "openStdin": t.open_stdin,
        "processConfig": {"execPath": t.path, "execArgs": t.args, "env": t.env, "workingDir": t.working_dir},
        "startTime": secs(t.start_time), "stopTime": secs(t.stop_time), "status": t.started,
    }))
}

async fn task_wait(
    State(s): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let r = handle_id(&b, &q)?;
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.task_wait(&st.world, &r.handle, &r.id)?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
struct HandleBody {
    handle: String,
}

async fn interaction_join(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleBody = body(&b)?;
    let h = s.lock().portlayer.interaction_join(&r.handle)?;
    ok_json(json!({"handle": h}))
}

async fn logging_join(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleBody = body(&b)?;
    let h = s.lock().portlayer.logging_join(&r.handle)?;
    ok_json(json!({"handle": h}))
}

/// Interaction and logging binds only flip connection state VIC keeps in the guest; the
/// handle must exist.
async fn handle_echo(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleBody = body(&b)?;
    s.lock().portlayer.handle_container(&r.handle)?;
    ok_json(json!({"handle": r.handle}))
}

// ----- events --------------------------------------------------------------------------------

/// `GET /events`: an endless stream of JSON objects, one per container event from now on.
async fn events(State(s): State<Shared>) -> Response {
    let start = s.lock().portlayer.events().len();
    let stream = futures_util::stream::unfold((s, start), |(s, mut next)| async move {
        loop {
            let batch: Vec<u8> = {
                let st = s.lock();
                let evs = st.portlayer.events();
                let mut out = Vec::new();
                for e in evs.iter().skip(next) {
                    let line = json!({
                        "Type": "events.ContainerEvent", "Event": e.event, "ID": e.id.to_string(),
                        "Detail": format!("Container {} {}", e.container, e.event), "Ref": e.container,
                        "CreatedTime": e.created.to_string(),
                    });
                    out.extend_from_slice(line.to_string().as_bytes());
                    out.push(b'\n');
                }
                next = evs.len();
                out
            };
            if !batch.is_empty() {
                return Some((
                    Ok::<_, std::convert::Infallible>(Bytes::from(batch)),
                    (s, next),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
