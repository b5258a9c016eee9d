//! The vSphere SOAP endpoint's axum adapter: `POST /sdk` (the body read with the endpoint's
//! size limit, the `vmware_soap_session` cookie passed in and set after a login) and
//! `GET /sdk/vimServiceVersions.xml`. Everything else is [`crate::soap::Endpoint`]'s.
//!
//! A `WaitForUpdates(Ex)` with nothing to report waits here, without holding the lock, until
//! another request may have changed something or its `maxWaitSeconds` (at most
//! [`MAX_WAIT_SECS`]) pass.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;

use super::Shared;
use crate::soap::envelope::MAX_BODY_BYTES;
use crate::soap::service_content::service_versions_xml;
use crate::soap::{Endpoint, Reply, SoapConfig, SoapError, faults};

/// The longest a `WaitForUpdates(Ex)` is held: 10 minutes.
pub const MAX_WAIT_SECS: u64 = 600;

/// State of the SOAP router.
#[derive(Clone)]
struct SoapState {
    shared: Shared,
    endpoint: Arc<Mutex<Endpoint>>,
    changed: Arc<Notify>,
}

/// The SOAP router over a shared stack.
pub fn router(shared: Shared, config: SoapConfig) -> Router {
    let state = SoapState {
        shared,
        endpoint: Arc::new(Mutex::new(Endpoint::new(config))),
        changed: Arc::new(Notify::new()),
    };
    Router::new()
        .route("/sdk", post(sdk))
        .route("/sdk/vimServiceVersions.xml", get(versions))
        .with_state(state)
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    res
}

async fn versions() -> Response {
    xml(StatusCode::OK, service_versions_xml())
}

fn reply_response(reply: Reply) -> Response {
    let status = if reply.status == 200 {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    let mut res = xml(status, reply.body);
    if let Some(c) = reply.set_cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn sdk(State(st): State<SoapState>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let e = SoapError::TooLarge {
                size: headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(MAX_BODY_BYTES + 1),
                limit: MAX_BODY_BYTES,
            };
            return xml(StatusCode::INTERNAL_SERVER_ERROR, faults::envelope(&e));
        }
    };
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let started = tokio::time::Instant::now();
    let mut may_wait = true;
    loop {
        let changed = st.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let reply = {
            let mut stack = st.shared.lock();
            let mut ep = st.endpoint.lock().unwrap_or_else(|p| p.into_inner());
            ep.call(&mut stack.world, cookie.as_deref(), &bytes, may_wait)
        };
        match reply.wait {
            Some(max) if may_wait => {
                let limit = Duration::from_secs(max.unwrap_or(MAX_WAIT_SECS).min(MAX_WAIT_SECS));
                let left = limit.saturating_sub(started.elapsed());
                if tokio::time::timeout(left, changed).await.is_err() {
                    may_wait = false;
                }
            }
            _ => {
                st.changed.notify_waiters();
                return reply_response(reply);
            }
        }
    }
}
