//! The Port Layer API over HTTP: every route through `oneshot`, and the persona's call order
//! end to end over a real socket.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::persona::Persona;
use vcsim_lite::portlayer::VchConfig;

pub(super) fn stack() -> Stack {
    crate::support::stack_with(VchConfig::new("vch-1"), &[])
}

pub(super) fn app() -> (Router, Shared) {
    let shared = Shared::new(stack(), 0);
    (vcsim_lite::http::portlayer::router(shared.clone()), shared)
}

pub(super) async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

pub(super) async fn status(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> StatusCode {
    call(app, method, uri, body).await.0
}

pub(super) async fn value(app: &Router, method: &str, uri: &str, body: Option<Value>) -> Value {
    call(app, method, uri, body).await.1
}

/// A handle from a JSON string value.
pub(super) fn handle_of(v: &Value) -> String {
    v.as_str().expect("a handle string").to_string()
}

/// Pulls busybox in process and returns (store, top layer, image id).
pub(super) fn pull(shared: &Shared) -> (String, String, String) {
    let mut st = shared.lock();
    let st = &mut *st;
    let r = st
        .persona
        .pull(&mut st.world, &mut st.portlayer, "busybox")
        .expect("pull");
    (
        Persona::store(&st.portlayer),
        r.image.top_layer,
        r.image.image_id,
    )
}

mod containers;
mod resources;
