//! Storage routes: image stores, layers (WriteImage, ImageJoin) and volumes.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::portlayer::images::LayerBody;

pub(super) fn image_json(i: &ImageInfo) -> Value {
    json!({
        "ID": i.id, "Store": format!("/storage/{}", i.store), "SelfLink": i.self_link,
        "Parent": if i.parent.is_empty() { String::new() } else { format!("/storage/{}/info/{}", i.store, i.parent) },
        "Metadata": i.metadata,
    })
}

pub(super) fn volume_json(v: &VolumeInfo) -> Value {
    json!({"Name": v.name, "Label": v.label, "Driver": v.driver, "Store": v.store, "Metadata": v.metadata})
}

#[derive(Deserialize)]
struct ImageStoreBody {
    name: String,
}

pub(super) async fn create_store(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let req: ImageStoreBody = body(&b)?;
    let mut st = s.lock();
    let st = &mut *st;
    let url = st.portlayer.create_image_store(&mut st.world, &req.name)?;
    created(json!({"url": url}))
}

pub(super) fn csv(q: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    q.get(key)
        .map(|v| {
            v.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn list_images(
    State(s): State<Shared>,
    ApiPath(store): ApiPath<String>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
) -> ApiResult {
    let list = s.lock().portlayer.images().list(&store, &csv(&q, "ids"))?;
    ok_json(list.iter().map(image_json).collect())
}

pub(super) fn required<'a>(q: &'a BTreeMap<String, String>, key: &str) -> ApiResult<&'a str> {
    q.get(key)
        .map(String::as_str)
        .ok_or_else(|| bad(format!("query parameter `{key}` is required")))
}

pub(super) async fn write_image(
    State(s): State<Shared>,
    ApiPath(store): ApiPath<String>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let (id, parent, sum) = (
        required(&q, "image_id")?,
        required(&q, "parent_id")?,
        required(&q, "sum")?,
    );
    let meta = q
        .get("metadatakey")
        .map(|k| (k.as_str(), q.get("metadataval").map_or("", String::as_str)));
    let mut st = s.lock();
    let st = &mut *st;
    let info = st.portlayer.write_image(
        &mut st.world,
        &LayerWrite {
            store: &store,
            image_id: id,
            parent_id: parent,
            sum,
            metadata: meta,
            body: LayerBody::Raw(&b),
        },
    )?;
    created(image_json(&info))
}

pub(super) async fn get_image(
    State(s): State<Shared>,
    ApiPath((store, id)): ApiPath<(String, String)>,
) -> ApiResult {
    let info = s.lock().portlayer.images().get(&store, &id)?;
    ok_json(image_json(&info))
}

pub(super) async fn delete_image(
    State(s): State<Shared>,
    ApiPath((store, id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
) -> ApiResult {
    let mut st = s.lock();
    let st = &mut *st;
    let deleted = st
        .portlayer
        .delete_image(&mut st.world, &store, &id, &csv(&q, "keepNodes"))?;
    ok_json(deleted.iter().map(image_json).collect())
}

pub(super) async fn store_usage(
    State(s): State<Shared>,
    ApiPath(store): ApiPath<String>,
) -> ApiResult {
    let bytes = s.lock().portlayer.images().usage_bytes(&store)?;
    ok_json(json!(bytes))
}

#[derive(Deserialize)]
struct ImageJoinBody {
    handle: String,
    #[serde(rename = "deltaID", default)]
    delta_id: String,
    #[serde(rename = "imageID", default)]
    image_id: String,
    #[serde(rename = "repoName", default)]
    repo_name: String,
}

pub(super) async fn image_join(
    State(s): State<Shared>,
    ApiPath((store, id)): ApiPath<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let req: ImageJoinBody = body(&b)?;
    let h = s.lock().portlayer.image_join_delta(
        &req.handle,
        &req.delta_id,
        &store,
        &id,
        &req.image_id,
        &req.repo_name,
    )?;
    ok_json(json!({"handle": h}))
}

pub(super) async fn volume_stores(State(s): State<Shared>) -> ApiResult {
    ok_json(json!({"Stores": s.lock().portlayer.volumes().stores()}))
}

pub(super) async fn list_volumes(
    State(s): State<Shared>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
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

pub(super) async fn create_volume(State(s): State<Shared>, b: Bytes) -> ApiResult {
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

pub(super) async fn get_volume(
    State(s): State<Shared>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult {
    let v = s.lock().portlayer.volumes().get(&name)?;
    ok_json(volume_json(&v))
}

pub(super) async fn delete_volume(
    State(s): State<Shared>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult {
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

pub(super) async fn volume_join(
    State(s): State<Shared>,
    ApiPath(name): ApiPath<String>,
    b: Bytes,
) -> ApiResult {
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
