//! `vcsim-lite serve`: builds the world and a VCH, then serves the Port Layer API, the
//! Docker API and (optionally) the vSphere SOAP endpoint until Ctrl-C. The SOAP endpoint
//! speaks TLS with a self-signed certificate generated at start, or plain HTTP on request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::pki_types::PrivatePkcs8KeyDer;
use tokio_rustls::TlsAcceptor;

use super::soap::SoapService;
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

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long Ctrl-C waits for SOAP requests in flight (a `WaitForUpdates` may be held for
/// minutes) before the listener returns anyway.
const SDK_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A TLS acceptor with a fresh self-signed certificate, speaking HTTP/1.1 (ALPN), as vSphere
/// clients do.
fn tls_acceptor() -> std::io::Result<TlsAcceptor> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| std::io::Error::other(format!("generating a certificate: {e}")))?;
    let key = PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der());
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key.into())
        .map_err(|e| std::io::Error::other(format!("TLS configuration: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves one connection's HTTP/1.1 requests with `service` until the client closes it or
/// shutdown begins.
async fn serve_connection<I>(io: I, service: SoapService, watcher: Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // No timer, so no header read timeout: an idle client's kept-alive connection stays open
    // (pyVmomi does not retry a request on a connection the server closed).
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(
        TokioIo::new(io),
        service_fn(move |req| service.clone().serve(req)),
    );
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "sdk connection ended");
    }
}

/// The SOAP listener: hyper's HTTP/1.1 connections straight onto [`SoapService`] (over TLS
/// unless `tls` is false), until Ctrl-C.
async fn serve_sdk(
    service: SoapService,
    tls: bool,
    listener: std::net::TcpListener,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let acceptor = if tls { Some(tls_acceptor()?) } else { None };
    let graceful = GracefulShutdown::new();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "sdk accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let (service, watcher) = (service.clone(), graceful.watcher());
        match acceptor.clone() {
            Some(acceptor) => {
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve_connection(tls, service, watcher).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "sdk TLS handshake"),
                        Err(_) => tracing::debug!("sdk TLS handshake timed out"),
                    }
                });
            }
            None => {
                tokio::spawn(serve_connection(stream, service, watcher));
            }
        }
    }
    let _ = tokio::time::timeout(SDK_SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
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
    serve_shared(Shared::new(stack, speed), listen, sdk, ready).await
}

/// [`serve_all`] over a stack that is already shared, so other users in this process (such
/// as an in-process provider) see the same world as the APIs.
pub async fn serve_shared(
    shared: Shared,
    listen: Listen,
    sdk: Option<SdkListen>,
    ready: impl FnOnce(Bound),
) -> std::io::Result<()> {
    let sdk_service = sdk
        .as_ref()
        .map(|s| SoapService::new(shared.clone(), s.config.clone()));
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
        match (sdk_service, &sdk, sdk_listener) {
            (Some(service), Some(s), Some(l)) => serve_sdk(service, s.tls, l).await,
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
