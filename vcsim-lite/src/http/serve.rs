//! `vcsim-lite serve`: builds the world and a VCH, then serves the Port Layer API, the
//! Docker API and (optionally) the vSphere SOAP endpoint until Ctrl-C. The SOAP endpoint
//! speaks TLS with a self-signed certificate generated at start, or plain HTTP on request.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;

use super::{Shared, Stack};

/// Where to listen.
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    /// Port Layer API (VIC's default 2377).
    pub portlayer: SocketAddr,
    /// Docker API (VIC's default 2375).
    pub docker: SocketAddr,
}

/// Logs each request with its status and wall-clock duration.
async fn log_requests(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    tracing::info!(%method, %path, status = res.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    res
}

/// Logs each SOAP request like [`log_requests`], at debug level: a vSphere client polls (a
/// task wait is about nine requests), and an info line per request cost more server CPU
/// than answering it (`RUST_LOG=vcsim_lite::http::serve=debug` shows them).
async fn log_sdk_requests(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    tracing::debug!(%method, %path, status = res.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    res
}

/// The Port Layer and Docker routers over one shared stack, with request logging.
pub fn routers(shared: Shared) -> (Router, Router) {
    let pl = super::portlayer::router(shared.clone()).layer(middleware::from_fn(log_requests));
    let docker = super::docker::router(shared).layer(middleware::from_fn(log_requests));
    (pl, docker)
}

/// The vSphere SOAP listener.
#[derive(Clone, Debug)]
pub struct SdkListen {
    /// Address (VIC's tools expect 8989 for the simulator; vCenter uses 443).
    pub addr: SocketAddr,
    /// TLS with a self-signed certificate (`https://ADDR/sdk`); plain HTTP when false.
    pub tls: bool,
    /// Credentials and paging.
    pub config: crate::soap::SoapConfig,
}

/// Where each listener ended up.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// Port Layer API.
    pub portlayer: SocketAddr,
    /// Docker API.
    pub docker: SocketAddr,
    /// SOAP endpoint, if served.
    pub sdk: Option<SocketAddr>,
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, as (certificate PEM, key PEM).
pub fn self_signed() -> std::io::Result<(String, String)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| std::io::Error::other(format!("generating a certificate: {e}")))?;
    Ok((ck.cert.pem(), ck.signing_key.serialize_pem()))
}

async fn serve_sdk(
    router: Router,
    listen: &SdkListen,
    listener: std::net::TcpListener,
) -> std::io::Result<()> {
    if !listen.tls {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        return axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (cert, key) = self_signed()?;
    let config =
        axum_server::tls_rustls::RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes())
            .await?;
    let handle = axum_server::Handle::new();
    let stop = handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.graceful_shutdown(None);
    });
    axum_server::from_tcp_rustls(listener, config)
        .handle(handle)
        .serve(router.into_make_service())
        .await
}

/// Serves the Port Layer and Docker APIs and, with `sdk`, the SOAP endpoint, until Ctrl-C.
/// `ready` is called with the bound addresses once all listen.
pub async fn serve_all(
    stack: Stack,
    speed: u64,
    listen: Listen,
    sdk: Option<SdkListen>,
    ready: impl FnOnce(Bound),
) -> std::io::Result<()> {
    let shared = Shared::new(stack, speed);
    let sdk_router = sdk.as_ref().map(|s| {
        super::soap::router(shared.clone(), s.config.clone())
            .layer(middleware::from_fn(log_sdk_requests))
    });
    let (pl, docker) = routers(shared);
    let bind = |addr: SocketAddr, what: &str| {
        let what = what.to_string();
        async move {
            tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {addr} ({what}): {e}"))
            })
        }
    };
    let pl_listener = bind(listen.portlayer, "port layer").await?;
    let docker_listener = bind(listen.docker, "docker").await?;
    let sdk_listener = match &sdk {
        Some(s) => {
            let l = std::net::TcpListener::bind(s.addr).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on {} (sdk): {e}", s.addr))
            })?;
            l.set_nonblocking(true)?;
            Some(l)
        }
        None => None,
    };
    ready(Bound {
        portlayer: pl_listener.local_addr()?,
        docker: docker_listener.local_addr()?,
        sdk: sdk_listener.as_ref().map(|l| l.local_addr()).transpose()?,
    });
    let shutdown = || async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let a = axum::serve(pl_listener, pl).with_graceful_shutdown(shutdown());
    let b = axum::serve(docker_listener, docker).with_graceful_shutdown(shutdown());
    let c = async {
        match (sdk_router, &sdk, sdk_listener) {
            (Some(r), Some(s), Some(l)) => serve_sdk(r, s, l).await,
            _ => Ok(()),
        }
    };
    let (ra, rb, rc) = tokio::join!(a, b, c);
    ra.and(rb).and(rc)
}

/// Serves the Port Layer and Docker APIs until Ctrl-C. `ready` is called with the bound
/// addresses once both listen.
pub async fn serve(
    stack: Stack,
    speed: u64,
    listen: Listen,
    ready: impl FnOnce(SocketAddr, SocketAddr),
) -> std::io::Result<()> {
    serve_all(stack, speed, listen, None, |b| ready(b.portlayer, b.docker)).await
}
