//! The vSphere Web Services (SOAP, vim25) endpoint over the world: enough of vCenter's API for
//! govc and pyVmomi to log in, read the inventory and guest names, create, power and destroy
//! VMs with tasks, and read events.
//!
//! The endpoint is sans-IO: [`Endpoint::call`] takes a request body and the session cookie and
//! returns the response body; `http::soap` is the axum adapter. State that vCenter keeps per
//! session (property collectors and filters, views, event collectors, result pages) lives in
//! [`Endpoint`]; everything else is read from, or done to, the [`World`].
//!
//! - [`envelope`]: request parsing (limits: [`envelope::MAX_BODY_BYTES`]) and envelopes.
//! - [`dispatch`]: method name to handler; the session check.
//! - [`session`], [`service_content`]: login, cookies, `ServiceContent`.
//! - [`property_collector`] (+ [`traversal`]): `RetrieveProperties(Ex)`, filters, updates.
//! - [`views`], [`search_index`], [`tasks`], [`events`]: the other managed objects.
//! - [`types`]: property values of each managed object type, as vim data.
//! - [`faults`], [`error`]: errors as vim faults.

pub mod dispatch;
pub mod envelope;
pub mod error;
pub mod events;
pub mod faults;
pub mod objects;
pub mod property_collector;
pub mod search_index;
pub mod service_content;
pub mod session;
pub mod tasks;
pub mod traversal;
pub mod types;
pub mod views;

use std::collections::BTreeMap;

pub use error::SoapError;
pub use session::Credentials;

use crate::vsphere::World;
use objects::Obj;
use session::Session;

/// How the endpoint behaves.
#[derive(Clone, Debug)]
pub struct SoapConfig {
    /// Who may log in.
    pub credentials: Credentials,
    /// Most objects `RetrievePropertiesEx` returns per page when the client sets no
    /// `maxObjects`.
    pub page_size: usize,
}

impl Default for SoapConfig {
    fn default() -> Self {
        SoapConfig {
            credentials: Credentials::AnyNonEmpty,
            page_size: 1000,
        }
    }
}

/// A response: HTTP status (200, or 500 for a fault), body, and a cookie to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// 200 or 500.
    pub status: u16,
    /// The SOAP envelope.
    pub body: String,
    /// `Set-Cookie` value after a login.
    pub set_cookie: Option<String>,
    /// A `WaitForUpdates(Ex)` found nothing new and may wait: the most seconds to wait
    /// (`None`: no limit given) before calling again with `may_wait = false`.
    pub wait: Option<Option<u64>>,
}

/// The endpoint's state: configuration, sessions, and datastore searches.
#[derive(Debug, Default)]
pub struct Endpoint {
    config: SoapConfig,
    pub(crate) sessions: BTreeMap<String, Session>,
    sessions_made: u64,
    pub(crate) searches: BTreeMap<u64, tasks::SearchTask>,
    next_search: u64,
}

/// What a handler sees: the world, the endpoint, the caller's session and its reply options.
pub struct Ctx<'a> {
    /// The world.
    pub world: &'a mut World,
    /// The endpoint's state.
    pub ep: &'a mut Endpoint,
    /// The caller's session key, if it has a live one.
    pub session: Option<String>,
    /// Whether a `WaitForUpdates` with nothing to report may ask to wait.
    pub may_wait: bool,
    /// Set by `Login`.
    pub set_cookie: Option<String>,
    /// Set by a `WaitForUpdates` that wants to wait.
    pub wait: Option<Option<u64>>,
}

impl Ctx<'_> {
    /// The caller's session.
    pub fn session(&mut self) -> Result<&mut Session, SoapError> {
        let key = self.session.as_deref().unwrap_or_default();
        self.ep
            .sessions
            .get_mut(key)
            .ok_or(SoapError::NotAuthenticated {
                object: (String::new(), String::new()),
            })
    }

    /// The caller's session, read-only.
    pub fn session_ref(&self) -> Option<&Session> {
        self.ep.sessions.get(self.session.as_deref()?)
    }

    /// The caller's user name.
    pub fn user(&self) -> String {
        self.session_ref()
            .map_or_else(String::new, |s| s.user.clone())
    }

    /// Resolves a reference (type attribute, value) to an object this caller may use.
    pub fn resolve(&self, ty: &str, value: &str) -> Result<Obj, SoapError> {
        let value = value.trim();
        if let Some(o) = objects::resolve_singleton(value) {
            return Ok(o);
        }
        if value.starts_with("session[") {
            let s = self
                .session_ref()
                .filter(|s| s.owns(value))
                .ok_or_else(|| objects::not_found(ty, value))?;
            let kind = if s.collectors.contains_key(value) {
                objects::SessionKind::Collector
            } else if s.filters.contains_key(value) {
                objects::SessionKind::Filter
            } else if let Some(v) = s.views.get(value) {
                v.kind
            } else if s.event_collectors.contains_key(value) {
                objects::SessionKind::EventCollector
            } else {
                return Err(objects::not_found(ty, value));
            };
            return Ok(Obj::Session(kind, value.to_string()));
        }
        match objects::resolve_world(self.world, value) {
            Some(Obj::SearchTask(n)) if !self.ep.searches.contains_key(&n) => {
                Err(objects::not_found(ty, value))
            }
            Some(o) => Ok(o),
            None => Err(objects::not_found(ty, value)),
        }
    }

    /// Resolves a reference element.
    pub fn resolve_el(&self, el: &envelope::Element) -> Result<Obj, SoapError> {
        self.resolve(el.type_attr.as_deref().unwrap_or(""), &el.text)
    }
}

impl Endpoint {
    /// An endpoint with `config`.
    pub fn new(config: SoapConfig) -> Self {
        Endpoint {
            config,
            ..Endpoint::default()
        }
    }

    /// Answers one request. `cookie` is the request's `Cookie` header. Never panics on input;
    /// a refused request changes neither the world nor the endpoint.
    pub fn call(
        &mut self,
        world: &mut World,
        cookie: Option<&str>,
        body: &[u8],
        may_wait: bool,
    ) -> Reply {
        let session = cookie
            .and_then(session::key_from_cookie)
            .filter(|k| self.sessions.contains_key(*k))
            .map(str::to_string);
        let mut ctx = Ctx {
            world,
            ep: self,
            session,
            may_wait,
            set_cookie: None,
            wait: None,
        };
        let result = envelope::parse_request(body).and_then(|req| {
            let inner = dispatch::dispatch(&mut ctx, &req)?;
            Ok(envelope::response(&req.method, &inner))
        });
        let (set_cookie, wait) = (ctx.set_cookie.take(), ctx.wait.take());
        match result {
            Ok(body) => Reply {
                status: 200,
                body,
                set_cookie,
                wait,
            },
            Err(e) => Reply {
                status: 500,
                body: faults::envelope(&e),
                set_cookie: None,
                wait: None,
            },
        }
    }

    /// Sessions currently logged in.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }
}
