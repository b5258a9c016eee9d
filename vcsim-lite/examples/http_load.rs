//! Load client for the Port Layer API: N concurrent workers run full container lifecycles
//! (create, commit, start, stop, remove: 9 requests each) over keep-alive HTTP/1.1 for a fixed
//! time, then print lifecycles/s and requests/s. Used by `make bench` against `vcsim-lite serve`.
//!
//! Usage: http_load ADDR CONCURRENCY SECONDS
#![allow(clippy::disallowed_methods)] // wall-clock timing is the point here

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Conn {
    stream: BufReader<TcpStream>,
    addr: String,
}

impl Conn {
    async fn new(addr: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::new(s),
            addr: addr.to_string(),
        })
    }

    /// One request; returns (status, body).
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.stream.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf).await?;
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }
}

fn field(body: &str, key: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v[key].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn unquote(body: &str) -> String {
    serde_json::from_str::<String>(body).unwrap_or_default()
}

async fn expect_ok(c: &mut Conn, method: &str, path: &str, body: &str) -> Result<String, String> {
    match c.call(method, path, body).await {
        Ok((200 | 201, b)) => Ok(b),
        Ok((s, b)) => Err(format!("{method} {path}: {s} {b}")),
        Err(e) => Err(format!("{method} {path}: {e}")),
    }
}

async fn lifecycle(c: &mut Conn) -> Result<(), String> {
    let created = expect_ok(c, "POST", "/containers", r#"{"numCPUs":1,"memoryMB":512}"#).await?;
    let (id, h) = (field(&created, "id"), field(&created, "handle"));
    expect_ok(c, "PUT", &format!("/containers/{h}"), "").await?;
    let h = unquote(&expect_ok(c, "GET", &format!("/containers/{id}"), "").await?);
    let h = unquote(&expect_ok(c, "PUT", &format!("/containers/{h}/state"), "\"RUNNING\"").await?);
    expect_ok(c, "PUT", &format!("/containers/{h}"), "").await?;
    let h = unquote(&expect_ok(c, "GET", &format!("/containers/{id}"), "").await?);
    let h = unquote(&expect_ok(c, "PUT", &format!("/containers/{h}/state"), "\"STOPPED\"").await?);
    expect_ok(c, "PUT", &format!("/containers/{h}"), "").await?;
    expect_ok(c, "DELETE", &format!("/containers/{id}"), "").await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:2377".into());
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let addr = addr.clone();
        workers.push(tokio::spawn(async move {
            let mut c = match Conn::new(&addr).await {
                Ok(c) => c,
                Err(e) => return Err(format!("connect {addr}: {e}")),
            };
            let mut n = 0u64;
            while Instant::now() < deadline {
                lifecycle(&mut c).await?;
                n += 1;
            }
            Ok(n)
        }));
    }
    let mut total = 0u64;
    for w in workers {
        match w.await {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => {
                eprintln!("http_load: {e}");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("http_load: worker failed: {e}");
                std::process::exit(1);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{total} lifecycles in {secs:.2} s with {concurrency} connections: {:.0} lifecycles/s, {:.0} requests/s",
        total as f64 / secs,
        total as f64 * 9.0 / secs
    );
}
