//! Container routes: create, handles, commit, state, info, list, remove, signal, wait.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

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

pub(super) fn non_negative(v: Option<i64>, what: &str) -> ApiResult<Option<u64>> {
    v.map(|n| u64::try_from(n).map_err(|_| bad(format!("{what} must not be negative"))))
        .transpose()
}

pub(super) async fn create_container(
    State(s): State<Shared>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
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

pub(super) async fn get_handle(State(s): State<Shared>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let h = st.portlayer.get_handle(&mut st.world, &id)?;
    ok_json(json!(h))
}

pub(super) async fn commit(
    State(s): State<Shared>,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
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

pub(super) async fn change_state(
    State(s): State<Shared>,
    ApiPath(handle): ApiPath<String>,
    b: Bytes,
) -> ApiResult {
    // The persona sends the state as a JSON string; accept a bare word too.
    let state: String = serde_json::from_slice(&b)
        .unwrap_or_else(|_| String::from_utf8_lossy(&b).trim().to_string());
    let h = s.lock().portlayer.change_state(&handle, &state)?;
    ok_json(json!(h))
}

pub(super) async fn get_state(
    State(s): State<Shared>,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let state = st.portlayer.handle_state(&st.world, &handle)?;
    ok_json(json!({"handle": handle, "state": state.as_str()}))
}

pub(super) async fn rename(
    State(s): State<Shared>,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
) -> ApiResult {
    let h = s.lock().portlayer.rename(&handle, required(&q, "name")?)?;
    ok_json(json!(h))
}

pub(super) fn secs(t: Option<crate::sim::SimTime>) -> i64 {
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

pub(super) async fn container_info(
    State(s): State<Shared>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let info = st.portlayer.container_info(&st.world, &id)?;
    ok_json(container_json(&info))
}

pub(super) async fn list_containers(
    State(s): State<Shared>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
) -> ApiResult {
    let all = matches!(q.get("all").map(String::as_str), Some("true" | "1"));
    let mut st = s.lock();
    let st = &mut *st;
    let list = st.portlayer.list_containers(&st.world, all);
    ok_json(list.iter().map(container_json).collect())
}

pub(super) async fn remove_container(
    State(s): State<Shared>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.remove_container(&mut st.world, &id)?;
    Ok(StatusCode::OK.into_response())
}

pub(super) async fn signal(
    State(s): State<Shared>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
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
pub(super) async fn wait(
    State(s): State<Shared>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
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
