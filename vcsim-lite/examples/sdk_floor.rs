//! The floor under the SOAP endpoint's CPU per request: a server that answers every HTTP/1.1
//! request with the same fixed response and does nothing else, on one current-thread runtime
//! like `vcsim-lite serve`. Measured with the same client as the endpoint, it shows what the
//! kernel's loopback TCP (`tcp`), TLS (`tls`, rustls as the endpoint uses it) and hyper's
//! HTTP/1.1 (`hyper`, over TLS) cost per round trip before any SOAP work.
//!
//! Usage: sdk_floor ADDR tcp|tls|hyper [RESPONSE_BYTES]   (Ctrl-C to stop)

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::pki_types::PrivatePkcs8KeyDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Tcp,
    Tls,
    Hyper,
}

fn usage() -> String {
    "usage: sdk_floor ADDR tcp|tls|hyper [RESPONSE_BYTES]".to_string()
}

fn acceptor() -> Result<TlsAcceptor, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .map_err(|e| e.to_string())?;
    let key = PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key.into())
        .map_err(|e| e.to_string())?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The length of the first complete request in `buf` (head and `Content-Length` body).
fn complete(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let body: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    (buf.len() >= end + body).then_some(end + body)
}

/// Reads requests and writes `response` for each, by hand: the kernel and TLS alone.
async fn bare<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, response: Arc<Vec<u8>>) {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut chunk = [0u8; 8192];
    loop {
        while let Some(n) = complete(&buf) {
            buf.drain(..n);
            if s.write_all(&response).await.is_err() || s.flush().await.is_err() {
                return;
            }
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let (addr, mode) = match (args.get(1), args.get(2).map(String::as_str)) {
        (Some(a), Some("tcp")) => (a, Mode::Tcp),
        (Some(a), Some("tls")) => (a, Mode::Tls),
        (Some(a), Some("hyper")) => (a, Mode::Hyper),
        _ => return Err(usage()),
    };
    let len: usize = match args.get(3) {
        Some(n) => n.parse().map_err(|_| usage())?,
        None => 1000,
    };
    let body = Bytes::from("x".repeat(len));
    let response = Arc::new(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/xml; charset=utf-8\r\ncontent-length: {len}\r\n\r\n{}",
            "x".repeat(len)
        )
        .into_bytes(),
    );
    let listener = TcpListener::bind(addr.as_str())
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let tls = if mode == Mode::Tcp {
        None
    } else {
        Some(acceptor()?)
    };
    println!("sdk_floor listening on {addr} ({})", &args[2]);
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (tls, response, body) = (tls.clone(), response.clone(), body.clone());
        tokio::spawn(async move {
            let Some(tls) = tls else {
                return bare(stream, response).await;
            };
            let Ok(stream) = tls.accept(stream).await else {
                return;
            };
            if mode == Mode::Tls {
                return bare(stream, response).await;
            }
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move {
                    let _ = req.into_body().collect().await;
                    let mut res = hyper::Response::new(Full::new(body));
                    res.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("text/xml; charset=utf-8"),
                    );
                    Ok::<_, Infallible>(res)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
