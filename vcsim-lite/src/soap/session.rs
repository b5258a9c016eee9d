//! Sessions: `SessionManager.Login`, `Logout`, `SessionIsActive` and `currentSession`, the
//! `vmware_soap_session` cookie, and the objects each session owns.
//!
//! Session keys are derived from the world's seed and a counter (SHA-256), not from OS
//! randomness, so a replayed run hands out the same keys; the simulator is not a security
//! boundary.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::error::SoapError;
use super::events::EventCollector;
use super::property_collector::Collector;
use super::views::View;
use crate::sim::SimTime;

/// The cookie that carries the session key.
pub const COOKIE: &str = "vmware_soap_session";

/// Who may log in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Any non-empty user name and password (the default, like vcsim).
    #[default]
    AnyNonEmpty,
    /// Exactly this user name and password.
    Exactly {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

impl Credentials {
    /// Checks a login.
    pub fn check(&self, user: &str, password: &str) -> Result<(), SoapError> {
        let ok = match self {
            Credentials::AnyNonEmpty => !user.is_empty() && !password.is_empty(),
            Credentials::Exactly {
                user: u,
                password: p,
            } => user == u && password == p,
        };
        if ok {
            Ok(())
        } else {
            Err(SoapError::InvalidLogin)
        }
    }
}

/// One logged-in session and what it owns.
#[derive(Debug)]
pub struct Session {
    /// The key (a UUID), also the cookie value.
    pub key: String,
    /// Who logged in.
    pub user: String,
    /// The locale asked for at login.
    pub locale: String,
    /// When (simulated time).
    pub login_time: SimTime,
    /// Last call (simulated time).
    pub last_active: SimTime,
    /// Calls made.
    pub call_count: u64,
    /// Counter for ids of objects this session creates.
    pub next_object: u64,
    /// Property collectors by id; the default `propertyCollector` is under that name.
    pub collectors: BTreeMap<String, Collector>,
    /// Filter id to the id of the collector holding it.
    pub filters: BTreeMap<String, String>,
    /// Views by id.
    pub views: BTreeMap<String, View>,
    /// Event history collectors by id.
    pub event_collectors: BTreeMap<String, EventCollector>,
    /// Remaining pages of `RetrievePropertiesEx` results by token: the written
    /// `ObjectContent` elements.
    pub pages: BTreeMap<String, Vec<String>>,
}

impl Session {
    /// A new session.
    pub fn new(key: String, user: String, locale: String, now: SimTime) -> Self {
        Session {
            key,
            user,
            locale,
            login_time: now,
            last_active: now,
            call_count: 0,
            next_object: 1,
            collectors: BTreeMap::new(),
            filters: BTreeMap::new(),
            views: BTreeMap::new(),
            event_collectors: BTreeMap::new(),
            pages: BTreeMap::new(),
        }
    }

    /// A fresh session-scoped id: `session[KEY]N`.
    pub fn new_id(&mut self) -> String {
        let n = self.next_object;
        self.next_object += 1;
        format!("session[{}]{n:08x}", self.key)
    }

    /// True if `id` was issued by this session.
    pub fn owns(&self, id: &str) -> bool {
        id.strip_prefix("session[")
            .and_then(|r| r.strip_prefix(self.key.as_str()))
            .is_some_and(|r| r.starts_with(']'))
    }
}

/// A session key as a UUID, from the seed and the session's number.
pub fn session_key(seed: u64, n: u64) -> String {
    let mut h = Sha256::new();
    h.update(b"vcsim-lite soap session");
    h.update(seed.to_le_bytes());
    h.update(n.to_le_bytes());
    let d = h.finalize();
    let hex = crate::sim::rng::to_hex(&d[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The session key in a `Cookie` header, if any. Clients send either the bare pair or, like
/// pyVmomi, the whole `Set-Cookie` value back; the value may be quoted.
pub fn key_from_cookie(header: &str) -> Option<&str> {
    header.split(';').find_map(|part| {
        let (name, value) = part.trim().split_once('=')?;
        (name.trim() == COOKIE).then(|| value.trim().trim_matches('"'))
    })
}

/// The `Set-Cookie` value for a session.
pub fn set_cookie(key: &str) -> String {
    format!("{COOKIE}=\"{key}\"; Path=/; HttpOnly")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_in_both_client_spellings() {
        assert_eq!(key_from_cookie("vmware_soap_session=\"abc\""), Some("abc"));
        assert_eq!(
            key_from_cookie("vmware_soap_session=\"abc\"; Path=/; HttpOnly"),
            Some("abc")
        );
        assert_eq!(
            key_from_cookie("other=1; vmware_soap_session=xyz"),
            Some("xyz")
        );
        assert_eq!(key_from_cookie("other=1"), None);
        let k = set_cookie("k1");
        assert_eq!(key_from_cookie(&k), Some("k1"));
    }

    #[test]
    fn session_keys_are_uuids_and_differ_per_session() {
        let a = session_key(1, 1);
        assert_eq!(a.len(), 36);
        assert_eq!(a, session_key(1, 1));
        assert_ne!(a, session_key(1, 2));
        assert_ne!(a, session_key(2, 1));
    }

    #[test]
    fn default_credentials_accept_any_non_empty_pair() {
        let any = Credentials::AnyNonEmpty;
        assert!(any.check("u", "p").is_ok());
        assert_eq!(any.check("", "p"), Err(SoapError::InvalidLogin));
        assert_eq!(any.check("u", ""), Err(SoapError::InvalidLogin));
        let exact = Credentials::Exactly {
            user: "admin".into(),
            password: "pw".into(),
        };
        assert!(exact.check("admin", "pw").is_ok());
        assert_eq!(exact.check("admin", "x"), Err(SoapError::InvalidLogin));
    }
}

/// Handlers of `SessionManager` and its `currentSession` property.
pub mod handlers {
    use super::*;
    use crate::soap::Ctx;
    use crate::soap::envelope::Request;
    use crate::soap::types::value::{Data, Value, long, s};

    /// `UserSession` of a session.
    pub fn user_session(sess: &Session) -> Data {
        Data::new("UserSession")
            .with("key", s(&sess.key))
            .with("userName", s(&sess.user))
            .with("fullName", s(&sess.user))
            .with("loginTime", Value::Time(sess.login_time))
            .with("lastActiveTime", Value::Time(sess.last_active))
            .with("locale", s(&sess.locale))
            .with("messageLocale", s(&sess.locale))
            .with("extensionSession", Value::Bool(false))
            .with("ipAddress", s("127.0.0.1"))
            .with("userAgent", s(""))
            .with("callCount", long(sess.call_count))
    }

    /// `Login(userName, password, locale)`: a new session and its cookie.
    pub fn login(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
        let user = req.body.text_of("userName").unwrap_or_default();
        let password = req
            .arg("password")
            .map(|p| p.text.as_str())
            .unwrap_or_default();
        ctx.ep.config.credentials.check(user, password)?;
        let locale = req.body.text_of("locale").unwrap_or("en").to_string();
        ctx.ep.sessions_made += 1;
        let key = session_key(ctx.world.seed(), ctx.ep.sessions_made);
        let sess = Session::new(key.clone(), user.to_string(), locale, ctx.world.now());
        let mut out = String::new();
        Value::Obj(user_session(&sess)).write_field(&mut out, "returnval");
        ctx.ep.sessions.insert(key.clone(), sess);
        ctx.set_cookie = Some(set_cookie(&key));
        ctx.session = Some(key);
        Ok(out)
    }

    /// `Logout`: ends the caller's session and everything it owns.
    pub fn logout(ctx: &mut Ctx<'_>) -> Result<String, SoapError> {
        if let Some(key) = ctx.session.take() {
            ctx.ep.sessions.remove(&key);
        }
        Ok(String::new())
    }

    /// `SessionIsActive(sessionID, userName)`.
    pub fn is_active(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
        let id = req.body.text_of("sessionID").unwrap_or_default();
        let user = req.body.text_of("userName").unwrap_or_default();
        let active = ctx.ep.sessions.get(id).is_some_and(|s| s.user == user);
        let mut out = String::new();
        Value::Bool(active).write_field(&mut out, "returnval");
        Ok(out)
    }

    /// A `SessionManager` property.
    pub fn property(ctx: &Ctx<'_>, name: &str) -> Result<Option<Value>, SoapError> {
        Ok(match name {
            "currentSession" => ctx.session_ref().map(|s| user_session(s).into()),
            "defaultLocale" => Some(s("en")),
            "supportedLocaleList" => Some(Value::List("string", vec![s("en")])),
            "sessionList" => Some(Value::List(
                "UserSession",
                ctx.ep
                    .sessions
                    .values()
                    .map(|s| user_session(s).into())
                    .collect(),
            )),
            "message" => None,
            n => return Err(SoapError::InvalidProperty(n.to_string())),
        })
    }
}
