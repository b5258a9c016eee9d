//! In-process cost of the vSphere SOAP endpoint for the requests pyVmomi sends per VM task:
//! the `*_Task` call, then pyVim's `WaitForTask` (`Fetch` of `ServiceInstance.content`,
//! `CreateFilter` on `Task[all]`, `WaitForUpdates`, `Fetch` of `Task.info` twice,
//! `DestroyPropertyFilter`) and the caller's last `Fetch` of `info`, as captured in
//! `../shared/peers/fixtures/pyvmomi-bench-lifecycle-1vm`. One iteration is one VM's create,
//! power on, power off and destroy (33 requests); divide by 4 for one operation of
//! `bench_pyvmomi.py`.
//!
//! - `endpoint`: [`Endpoint::call`] alone: parsing, the handlers and the world, the response.
//! - `router`: the same requests through the axum router `serve` runs (headers, body, the
//!   cookie, the stack lock), without sockets or TLS.

use axum::body::Body;
use axum::http::Request;
use divan::Bencher;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::soap::{Endpoint, SoapConfig};
use vcsim_lite::vsphere::{LatencyProfile, WorldBuilder};

fn main() {
    divan::main();
}

fn stack() -> Stack {
    let mut world = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("default inventory");
    let portlayer = PortLayer::create(&mut world, VchConfig::new("vch-1")).expect("vch");
    Stack {
        world,
        portlayer,
        persona: Persona::new(Catalogue::builtin()),
    }
}

/// pyVmomi's envelope (its namespaces and `versionId` attributes) around a method element.
fn envelope(method: &str, this: (&str, &str), args: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n<soapenv:Body><{method} xmlns=\"urn:vim25\"><_this versionId=\"6.5\" type=\"{}\">{}</_this>{args}</{method}></soapenv:Body>\n</soapenv:Envelope>",
        this.0, this.1
    )
    .into_bytes()
}

/// The text of the first `<returnval>` of a response.
fn returnval(body: &str) -> String {
    let start = body.find("<returnval").expect("returnval") + "<returnval".len();
    let start = start + body[start..].find('>').expect("tag end") + 1;
    let end = start + body[start..].find("</returnval>").expect("returnval end");
    body[start..end].to_string()
}

/// The text of the first `<result ...>` element (the created VM of a task).
fn result(body: &str) -> String {
    let start = body.find("<result ").expect("result") + "<result ".len();
    let start = start + body[start..].find('>').expect("tag end") + 1;
    let end = start + body[start..].find("</result>").expect("result end");
    body[start..end].to_string()
}

/// Something that answers a request body with a response body.
trait Server {
    fn call(&mut self, body: Vec<u8>) -> String;
}

/// One VM task and pyVim's wait for it, as pyVmomi sends them; returns the final task info.
fn task_op(s: &mut impl Server, method: &str, this: (&str, &str), args: &str) -> String {
    let task = returnval(&s.call(envelope(method, this, args)));
    let fetch_info = || {
        envelope(
            "Fetch",
            ("Task", &task),
            "<prop versionId=\"6.5\">info</prop>",
        )
    };
    s.call(envelope(
        "Fetch",
        ("ServiceInstance", "ServiceInstance"),
        "<prop versionId=\"6.5\">content</prop>",
    ));
    let filter = returnval(&s.call(envelope(
        "CreateFilter",
        ("PropertyCollector", "propertyCollector"),
        &format!("<spec versionId=\"6.5\"><propSet><type>Task</type><all>true</all></propSet><objectSet><obj type=\"Task\">{task}</obj></objectSet></spec><partialUpdates versionId=\"6.5\">true</partialUpdates>"),
    )));
    let update = s.call(envelope(
        "WaitForUpdates",
        ("PropertyCollector", "propertyCollector"),
        "",
    ));
    assert!(update.contains("success"), "{update}");
    s.call(fetch_info());
    s.call(fetch_info());
    s.call(envelope(
        "DestroyPropertyFilter",
        ("PropertyFilter", &filter),
        "",
    ));
    s.call(fetch_info())
}

/// Create, power on, power off and destroy one VM.
fn cycle(s: &mut impl Server, folder: &str, pool: &str, n: u64) {
    let info = task_op(
        s,
        "CreateVM_Task",
        ("Folder", folder),
        &format!(
            "<config versionId=\"6.5\"><name>bench-{n}</name><guestId>otherGuest64</guestId><files><vmPathName>[sharedDS]</vmPathName></files><numCPUs>1</numCPUs><memoryMB>128</memoryMB></config><pool versionId=\"6.5\" type=\"ResourcePool\">{pool}</pool>"
        ),
    );
    let vm = result(&info);
    for method in ["PowerOnVM_Task", "PowerOffVM_Task", "Destroy_Task"] {
        task_op(s, method, ("VirtualMachine", &vm), "");
    }
}

fn folder_and_pool(st: &Stack) -> (String, String) {
    let w = &st.world;
    let dc = w.default_datacenter().expect("datacenter");
    (
        dc.vm_folder.to_string(),
        w.pool_by_path("DC0_C0").expect("cluster").to_string(),
    )
}

fn login(s: &mut impl Server) {
    s.call(envelope(
        "Login",
        ("SessionManager", "SessionManager"),
        "<userName>user</userName><password>pass</password>",
    ));
}

/// [`Endpoint::call`] over a world, with the session cookie a client keeps.
struct Direct {
    stack: Stack,
    ep: Endpoint,
    cookie: Option<String>,
}

impl Server for Direct {
    fn call(&mut self, body: Vec<u8>) -> String {
        let reply = self
            .ep
            .call(&mut self.stack.world, self.cookie.as_deref(), &body, false);
        if let Some(c) = reply.set_cookie {
            self.cookie = Some(c);
        }
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }
}

/// The axum router `serve` runs, called in process.
struct Routed {
    app: axum::Router,
    rt: tokio::runtime::Runtime,
    cookie: Option<String>,
}

impl Server for Routed {
    fn call(&mut self, body: Vec<u8>) -> String {
        let mut req = Request::builder()
            .method("POST")
            .uri("/sdk")
            .header("content-type", "text/xml; charset=UTF-8")
            .header("soapaction", "urn:vim25/8.0.3.0")
            .header("user-agent", "pyvmomi 9.1.1.0")
            .header("content-length", body.len());
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let req = req.body(Body::from(body)).expect("request");
        let app = self.app.clone();
        let (cookie, status, bytes) = self.rt.block_on(async move {
            let res = app.oneshot(req).await.expect("response");
            let cookie = res
                .headers()
                .get("set-cookie")
                .and_then(|c| c.to_str().ok())
                .map(str::to_string);
            let status = res.status();
            let bytes = res.into_body().collect().await.expect("body").to_bytes();
            (cookie, status, bytes)
        });
        if cookie.is_some() {
            self.cookie = cookie;
        }
        let body = String::from_utf8_lossy(&bytes).into_owned();
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// The SOAP work alone for one VM's four task operations (33 requests).
#[divan::bench(sample_count = 100, sample_size = 20)]
fn endpoint(b: Bencher) {
    let stack = stack();
    let (folder, pool) = folder_and_pool(&stack);
    let mut s = Direct {
        stack,
        ep: Endpoint::new(SoapConfig::default()),
        cookie: None,
    };
    login(&mut s);
    let mut n = 0;
    b.counter(divan::counter::ItemsCount::new(4u32))
        .bench_local(|| {
            n += 1;
            cycle(&mut s, &folder, &pool, n);
        });
}

/// The same through the axum router (no sockets, no TLS).
#[divan::bench(sample_count = 100, sample_size = 20)]
fn router(b: Bencher) {
    let stack = stack();
    let (folder, pool) = folder_and_pool(&stack);
    let shared = Shared::new(stack, 0);
    let mut s = Routed {
        app: vcsim_lite::http::soap::router(shared, SoapConfig::default()),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
        cookie: None,
    };
    login(&mut s);
    let mut n = 0;
    b.counter(divan::counter::ItemsCount::new(4u32))
        .bench_local(|| {
            n += 1;
            cycle(&mut s, &folder, &pool, n);
        });
}
