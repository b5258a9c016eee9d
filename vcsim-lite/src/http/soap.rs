//! The vSphere SOAP endpoint's HTTP adapter: `POST /sdk` (the body read with the endpoint's
//! size limit, the `vmware_soap_session` cookie passed in and set after a login) and
//! `GET /sdk/vimServiceVersions.xml`. Everything else is [`crate::soap::Endpoint`]'s.
//!
//! [`SoapService::handle`] answers one request whatever its body type: `serve` runs it
//! directly on hyper's HTTP/1.1 connections, because a vSphere client polls (about nine
//! requests per task wait) and a router's layers cost as much server CPU per request as the
//! SOAP work; [`router`] wraps the same function in axum for in-process callers and tests.
//!
//! A `WaitForUpdates(Ex)` with nothing to report waits here, without holding the lock, until
//! another request may have changed something or its `maxWaitSeconds` (at most
//! [`MAX_WAIT_SECS`]) pass.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::HttpBody;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use tokio::sync::Notify;

use super::Shared;
use crate::soap::envelope::MAX_BODY_BYTES;
use crate::soap::service_content::service_versions_xml;
use crate::soap::{Endpoint, Reply, SoapConfig, SoapError, faults};

/// The longest a `WaitForUpdates(Ex)` is held: 10 minutes.
pub const MAX_WAIT_SECS: u64 = 600;

/// The SOAP endpoint over a shared stack, cheap to clone (one per connection).
#[derive(Clone)]
pub struct SoapService {
    shared: Shared,
    endpoint: Arc<Mutex<Endpoint>>,
    changed: Arc<Notify>,
}

/// The SOAP router over a shared stack: [`SoapService::handle`] for every request.
pub fn router(shared: Shared, config: SoapConfig) -> Router {
    let service = SoapService::new(shared, config);
    Router::new().fallback(move |req: Request<axum::body::Body>| {
        let service = service.clone();
        async move { service.handle(req).await }
    })
}

fn xml(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    res
}

/// An empty response, with `Allow` for a method the path does not take.
fn empty(status: StatusCode, allow: Option<&'static str>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    if let Some(allow) = allow {
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    res
}

fn reply_response(reply: Reply) -> Response<Full<Bytes>> {
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

impl SoapService {
    /// A fresh endpoint (no sessions) over `shared`.
    pub fn new(shared: Shared, config: SoapConfig) -> Self {
        SoapService {
            shared,
            endpoint: Arc::new(Mutex::new(Endpoint::new(config))),
            changed: Arc::new(Notify::new()),
        }
    }

    /// Answers one HTTP request: `POST /sdk`, `GET /sdk/vimServiceVersions.xml`, 405 for
    /// another method on those paths, 404 elsewhere. Request lines are logged at debug level
    /// (`RUST_LOG=vcsim_lite::http::soap=debug`).
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: HttpBody<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let log = tracing::enabled!(tracing::Level::DEBUG)
            .then(|| (req.method().clone(), std::time::Instant::now()));
        let method = req.method();
        let res = match req.uri().path() {
            "/sdk" if method == Method::POST => self.sdk(req).await,
            "/sdk" => empty(StatusCode::METHOD_NOT_ALLOWED, Some("POST")),
            "/sdk/vimServiceVersions.xml" if matches!(*method, Method::GET | Method::HEAD) => {
                xml(StatusCode::OK, service_versions_xml())
            }
            "/sdk/vimServiceVersions.xml" => {
                empty(StatusCode::METHOD_NOT_ALLOWED, Some("GET,HEAD"))
            }
            _ => empty(StatusCode::NOT_FOUND, None),
        };
        if let Some((method, started)) = log {
            tracing::debug!(%method, status = res.status().as_u16(), micros = started.elapsed().as_micros() as u64, "sdk request");
        }
        res
    }

    /// [`SoapService::handle`] as hyper's service function wants it.
    pub async fn serve<B>(self, req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible>
    where
        B: HttpBody<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        Ok(self.handle(req).await)
    }

    async fn sdk<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: HttpBody<Data = Bytes>,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (parts, body) = req.into_parts();
        let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                let e = SoapError::TooLarge {
                    size: parts
                        .headers
                        .get(header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok()?.parse().ok())
                        .unwrap_or(MAX_BODY_BYTES + 1),
                    limit: MAX_BODY_BYTES,
                };
                return xml(StatusCode::INTERNAL_SERVER_ERROR, faults::envelope(&e));
            }
        };
        let cookie = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok());
        let started = tokio::time::Instant::now();
        let mut may_wait = true;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let reply = {
                let mut stack = self.shared.lock();
                let mut ep = self.endpoint.lock().unwrap_or_else(|p| p.into_inner());
                ep.call(&mut stack.world, cookie, &bytes, may_wait)
            };
            match reply.wait {
                Some(max) if may_wait => {
                    let limit =
                        Duration::from_secs(max.unwrap_or(MAX_WAIT_SECS).min(MAX_WAIT_SECS));
                    let left = limit.saturating_sub(started.elapsed());
                    if tokio::time::timeout(left, changed).await.is_err() {
                        may_wait = false;
                    }
                }
                _ => {
                    self.changed.notify_waiters();
                    return reply_response(reply);
                }
            }
        }
    }
}
