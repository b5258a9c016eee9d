//! `vcsim-lite serve`: builds the world and a VCH, then serves the Port Layer API and the
//! Docker API until Ctrl-C.

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

/// The Port Layer and Docker routers over one shared stack, with request logging.
pub fn routers(shared: Shared) -> (Router, Router) {
    let pl = super::portlayer::router(shared.clone()).layer(middleware::from_fn(log_requests));
    let docker = super::docker::router(shared).layer(middleware::from_fn(log_requests));
    (pl, docker)
}

/// Serves until Ctrl-C. `ready` is called with the bound addresses once both listen.
pub async fn serve(
    stack: Stack,
    speed: u64,
    listen: Listen,
    ready: impl FnOnce(SocketAddr, SocketAddr),
) -> std::io::Result<()> {
    let shared = Shared::new(stack, speed);
    let (pl, docker) = routers(shared);
    let pl_listener = tokio::net::TcpListener::bind(listen.portlayer)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {} (port layer): {e}", listen.portlayer),
            )
        })?;
    let docker_listener = tokio::net::TcpListener::bind(listen.docker)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {} (docker): {e}", listen.docker),
            )
        })?;
    ready(pl_listener.local_addr()?, docker_listener.local_addr()?);
    let shutdown = || async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let a = axum::serve(pl_listener, pl).with_graceful_shutdown(shutdown());
    let b = axum::serve(docker_listener, docker).with_graceful_shutdown(shutdown());
    let (ra, rb) = tokio::join!(a, b);
    ra.and(rb)
}
