//! Misc and key-value routes: VCH info and the KV store.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::*;

pub(super) async fn vch_info(State(s): State<Shared>) -> ApiResult {
    let st = s.lock();
    let i = st.portlayer.vch_info(&st.world)?;
    ok_json(json!({
        "cpuMhz": i.cpu_mhz, "memory": i.memory_mb, "cpuUsage": i.cpu_usage_mhz,
        "memUsage": i.memory_usage_mb, "hostProductName": i.host_product_name,
        "hostOS": i.host_os, "hostOSVersion": i.host_os_version,
    }))
}

pub(super) async fn kv_get(State(s): State<Shared>, ApiPath(key): ApiPath<String>) -> ApiResult {
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

pub(super) async fn kv_put(
    State(s): State<Shared>,
    ApiPath(key): ApiPath<String>,
    b: Bytes,
) -> ApiResult {
    let kv: KeyValue = body(&b)?;
    if kv.key.as_deref().is_some_and(|k| k != key) {
        return Err(bad("the body's Key differs from the path's key"));
    }
    s.lock().portlayer.kv_put(&key, &kv.value)?;
    ok_json(json!({"Key": key, "Value": kv.value}))
}

pub(super) async fn kv_delete(State(s): State<Shared>, ApiPath(key): ApiPath<String>) -> ApiResult {
    s.lock().portlayer.kv_delete(&key)?;
    Ok(StatusCode::OK.into_response())
}
