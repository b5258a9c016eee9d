//! The vSphere SOAP endpoint: each method through the router (`oneshot`), the captured govc
//! requests replayed, real pyVmomi scripts against `serve`, and random bodies.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::portlayer::VchConfig;
use vcsim_lite::portlayer::containers::CreateConfig;
use vcsim_lite::soap::SoapConfig;

mod govc_replay;
mod listener;
mod methods;
mod pyvmomi;

/// The default inventory with a VCH and one committed container VM.
pub(super) fn stack() -> Stack {
    let mut st = crate::support::stack_with(VchConfig::new("vch-1"), &[]);
    let (_, h) = st
        .portlayer
        .create_container(&mut st.world, CreateConfig::default())
        .expect("create container");
    st.portlayer
        .commit(&mut st.world, &h, None)
        .expect("commit container");
    st
}

/// A client of one router: keeps the session cookie as a real client does.
pub(super) struct Client {
    pub app: Router,
    pub shared: Shared,
    pub cookie: Option<String>,
}

/// pyVmomi's envelope around a method element.
pub(super) fn envelope(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<soapenv:Body>{inner}</soapenv:Body>\n</soapenv:Envelope>"
    )
}

impl Client {
    pub fn new() -> Self {
        Self::with(stack(), SoapConfig::default())
    }

    pub fn with(stack: Stack, config: SoapConfig) -> Self {
        let shared = Shared::new(stack, 0);
        Client {
            app: vcsim_lite::http::soap::router(shared.clone(), config),
            shared,
            cookie: None,
        }
    }

    /// POSTs a raw body to `/sdk`.
    pub async fn raw(&mut self, body: Vec<u8>) -> (StatusCode, String) {
        let mut req = Request::builder()
            .method("POST")
            .uri("/sdk")
            .header("content-type", "text/xml")
            .header("soapaction", "urn:vim25/8.0.3.0");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).expect("request"))
            .await
            .expect("response");
        if let Some(c) = res.headers().get("set-cookie") {
            self.cookie = Some(c.to_str().expect("cookie").to_string());
        }
        let status = res.status();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Calls a method (its element, `xmlns="urn:vim25"` added).
    pub async fn call(
        &mut self,
        method: &str,
        this: (&str, &str),
        args: &str,
    ) -> (StatusCode, String) {
        let inner = format!(
            "<{method} xmlns=\"urn:vim25\"><_this type=\"{}\">{}</_this>{args}</{method}>",
            this.0, this.1
        );
        self.raw(envelope(&inner).into_bytes()).await
    }

    /// Calls a method that must succeed; returns the body.
    pub async fn ok(&mut self, method: &str, this: (&str, &str), args: &str) -> String {
        let (status, body) = self.call(method, this, args).await;
        assert_eq!(status, StatusCode::OK, "{method}: {body}");
        body
    }

    pub async fn login(&mut self) {
        self.ok(
            "Login",
            ("SessionManager", "SessionManager"),
            "<userName>user</userName><password>pass</password>",
        )
        .await;
    }

    /// `RetrievePropertiesEx` of `paths` on one object.
    pub async fn props(&mut self, ty: &str, id: &str, paths: &[&str]) -> String {
        let path_set: String = paths
            .iter()
            .map(|p| format!("<pathSet>{p}</pathSet>"))
            .collect();
        self.ok(
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            &format!(
                "<specSet><propSet><type>{ty}</type>{path_set}</propSet><objectSet><obj type=\"{ty}\">{id}</obj></objectSet></specSet><options/>"
            ),
        )
        .await
    }

    /// Fetches one property.
    pub async fn fetch(&mut self, ty: &str, id: &str, prop: &str) -> String {
        self.ok("Fetch", (ty, id), &format!("<prop>{prop}</prop>"))
            .await
    }

    /// The world's event digest, task count and VM count: what a refused call must not change.
    pub fn fingerprint(&self) -> (String, u64, usize) {
        let st = self.shared.lock();
        (
            st.world.events().digest(),
            st.world.tasks().count(),
            st.world.vms().len(),
        )
    }
}

/// The text of every `<tag>` element in `xml`.
pub(super) fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if !after.starts_with('>') && !after.starts_with(' ') {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(body[..end].to_string());
        rest = &body[end..];
    }
    out
}

/// The fault type of a fault response.
pub(super) fn fault_type(body: &str) -> Option<String> {
    let i = body.find("<detail><")? + "<detail><".len();
    let end = body[i..].find("Fault ")?;
    Some(body[i..i + end].to_string())
}
