//! `serve`'s SOAP listener itself (plain HTTP here; pyVmomi covers TLS): HTTP/1.1 requests on
//! one kept-alive socket, a login cookie carried to the next call, the version list, and the
//! statuses for other paths and methods.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use vcsim_lite::http::serve::{Listen, SdkListen, serve_all};
use vcsim_lite::soap::SoapConfig;

use super::{envelope, texts};

fn serve_plain() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stack = super::stack();
    std::thread::spawn(move || {
        rt.block_on(async move {
            let any = "127.0.0.1:0".parse().expect("address");
            let listen = Listen {
                portlayer: any,
                docker: any,
            };
            let sdk = SdkListen {
                addr: any,
                tls: false,
                config: SoapConfig::default(),
            };
            let serve = serve_all(stack, 0, listen, Some(sdk), move |b| {
                let _ = tx.send(b.sdk);
            });
            let _ = tokio::time::timeout(Duration::from_secs(60), serve).await;
        })
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("server ready")
        .expect("sdk listener")
}

/// A response: status, lower-cased headers, body.
struct Res {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Res {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request on `conn` and reads its response (framed by `Content-Length`).
fn exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Res {
    conn.get_mut().write_all(request).expect("write");
    let mut line = String::new();
    conn.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = Vec::new();
    loop {
        line.clear();
        conn.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').expect("header line");
        headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("length"));
    let mut body = vec![0; len];
    conn.read_exact(&mut body).expect("body");
    Res {
        status,
        headers,
        body: String::from_utf8(body).expect("utf-8"),
    }
}

fn post(cookie: Option<&str>, inner: &str) -> Vec<u8> {
    let body = envelope(inner);
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /sdk HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: urn:vim25/8.0.3.0\r\n{cookie}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn sdk_listener_keeps_the_connection_and_the_session_and_refuses_other_paths() {
    let addr = serve_plain();
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut conn = BufReader::new(stream);

    let versions = exchange(
        &mut conn,
        b"GET /sdk/vimServiceVersions.xml HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(versions.status, 200);
    assert_eq!(
        versions.header("content-type"),
        Some("text/xml; charset=utf-8")
    );
    assert_eq!(texts(&versions.body, "version")[0], "8.0.3.0");

    let denied = exchange(
        &mut conn,
        &post(
            None,
            "<CurrentTime xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></CurrentTime>",
        ),
    );
    assert_eq!(denied.status, 500);
    assert!(denied.body.contains("NotAuthenticated"), "{}", denied.body);

    let login = exchange(
        &mut conn,
        &post(
            None,
            "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>u</userName><password>p</password></Login>",
        ),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login.header("set-cookie").expect("session cookie");
    assert!(cookie.starts_with("vmware_soap_session="), "{cookie}");
    let cookie = cookie.split(';').next().expect("cookie pair").to_string();
    assert_eq!(texts(&login.body, "userName"), ["u"]);

    let time = exchange(
        &mut conn,
        &post(
            Some(&cookie),
            "<CurrentTime xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></CurrentTime>",
        ),
    );
    assert_eq!(time.status, 200, "{}", time.body);
    assert_eq!(texts(&time.body, "returnval").len(), 1, "{}", time.body);

    let wrong_method = exchange(&mut conn, b"GET /sdk HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    let no_post = exchange(
        &mut conn,
        b"POST /sdk/vimServiceVersions.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(no_post.status, 405);
    assert_eq!(no_post.header("allow"), Some("GET,HEAD"));
    let missing = exchange(&mut conn, b"GET /mob HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(missing.status, 404);

    // Still the same connection, and the session is still the one the cookie names.
    let key = cookie
        .trim_start_matches("vmware_soap_session=")
        .trim_matches('"');
    let again = exchange(
        &mut conn,
        &post(
            Some(&cookie),
            &format!(
                "<SessionIsActive xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><sessionID>{key}</sessionID><userName>u</userName></SessionIsActive>"
            ),
        ),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(texts(&again.body, "returnval"), ["true"], "{}", again.body);
}
