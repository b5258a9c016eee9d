//! The Port Layer REST API (VIC's swagger: paths, bodies, status codes) over [`PortLayer`].
//! Handlers parse, call one port layer method under the lock, and render; errors map to
//! status codes through [`PortLayerError::status`] with a JSON `{code, message}` body.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Shared;

mod containers;
mod events;
mod kv;
mod scopes;
mod storage;
mod tasks;

use crate::portlayer::containers::{ContainerInfo, CreateConfig};
use crate::portlayer::images::{ImageInfo, LayerWrite};
use crate::portlayer::scopes::{EndpointInfo, NetworkConfig, ScopeConfig, ScopeInfo};
use crate::portlayer::tasks::TaskJoinConfig;
use crate::portlayer::volumes::{VolumeInfo, VolumeRequest};
use crate::portlayer::{ContainerState, PortLayerError};
pub use containers::container_json;
use containers::*;
use events::*;
use kv::*;
use scopes::*;
use storage::*;
use tasks::*;

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

pub(super) type ApiResult<T = Response> = Result<T, ApiError>;

pub(super) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(PortLayerError::BadRequest(msg.into()))
}

/// Parses a JSON body, answering 400 with the parser's message for malformed input.
pub(super) fn body<T: DeserializeOwned>(bytes: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("malformed JSON body: {e}")))
}

pub(super) fn ok_json(v: Value) -> ApiResult {
    Ok(axum::Json(v).into_response())
}

pub(super) fn created(v: Value) -> ApiResult {
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

pub(super) fn not_implemented(what: &'static str) -> ApiError {
    ApiError(PortLayerError::NotImplemented(what))
}

/// `Path`, with axum's plain-text rejection (e.g. invalid UTF-8 in a segment) turned into the
/// API's JSON 400.
pub(super) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(t)) => Ok(ApiPath(t)),
            Err(e) => Err(bad(e.body_text())),
        }
    }
}

/// `Query`, with a malformed query string answered by the API's JSON 400.
pub(super) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(t)) => Ok(ApiQuery(t)),
            Err(e) => Err(bad(e.body_text())),
        }
    }
}
