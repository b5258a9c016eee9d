//! Expectations: what a step may assert about the pods, the node, the world's accounting, the
//! VMs, the event log and the port layer, and how each is compared with the running stack.
//!
//! Every comparison yields [`Check`]s, one per asserted figure, each with the expected and the
//! actual value as text, so the report can show exactly what differed. Figures are compared
//! exactly; `message` fields match a substring and `guest` fields a glob, because those texts
//! carry ids and versions a file should not have to spell out.
//!
//! - `kinds`: each expectation as the file writes it.
//! - `compare`: each compared with the stack.
//! - `accounting`: the world's figures, snapshot and compared as a whole.

mod accounting;
mod compare;
mod kinds;

use serde::Deserialize;
use vcsim_lite::sim::event::EventKind;

pub use accounting::Accounting;
pub(crate) use compare::check;
pub use kinds::*;

/// One asserted figure: what was looked at, what the file expects, what the stack has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was looked at, e.g. `pod default/web phase`.
    pub subject: String,
    /// The expected value, as text.
    pub expected: String,
    /// The actual value, as text.
    pub actual: String,
    /// Whether they agree.
    pub ok: bool,
}

impl Check {
    pub(super) fn eq(subject: String, expected: impl ToString, actual: impl ToString) -> Check {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        let ok = expected == actual;
        Check {
            subject,
            expected,
            actual,
            ok,
        }
    }

    pub(super) fn contains(subject: String, needle: &str, haystack: &str) -> Check {
        Check {
            subject,
            expected: format!("contains {needle:?}"),
            actual: format!("{haystack:?}"),
            ok: haystack.contains(needle),
        }
    }

    pub(super) fn glob(subject: String, pattern: &str, actual: &str) -> Check {
        Check {
            ok: name_matches(pattern, actual),
            subject,
            expected: pattern.to_string(),
            actual: actual.to_string(),
        }
    }
}

/// A pattern with glob characters matches as a glob, anything else exactly.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern.contains(['*', '?', '[']) {
        glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
    } else {
        pattern == name
    }
}

/// An expectation, checked after its step.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// `pod:`
    Pod(PodExpect),
    /// `pods:`
    Pods(PodsExpect),
    /// `node:`
    Node(NodeExpect),
    /// `pool:`
    Pool(PoolExpect),
    /// `cluster:`
    Cluster(ClusterExpect),
    /// `host:`
    Host(HostExpect),
    /// `datastore:`
    Datastore(DatastoreExpect),
    /// `vms:`
    Vms(VmsExpect),
    /// `vm:`
    Vm(VmExpect),
    /// `events:` (the type already checked to be a known one).
    Events(EventKind, usize),
    /// `container_events:`
    ContainerEvents(ContainerEventsExpect),
    /// `portlayer:`
    PortLayer(PortLayerExpect),
    /// `accounting:` with the snapshot index: 0 is setup, N is after step N.
    Accounting(usize),
    /// `rebuilt:` pods found by the last provider restart.
    Rebuilt(usize),
}

/// The step error a failing step is expected to give.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(
    deny_unknown_fields,
    expecting = "an expected error: `{reason, status, message}`"
)]
pub struct ErrorExpect {
    /// The reason: a pod reason (`OutOfmemory`, `ErrImagePull`, `ProviderFailed`), a vSphere
    /// fault (`InvalidState`) or a port layer error (`ConcurrentAccess`, `NotFound`).
    pub reason: Option<String>,
    /// The Port Layer API status code, for port layer errors.
    pub status: Option<u16>,
    /// A substring of the message.
    pub message: Option<String>,
}

/// How a step failed: a reason, a status when the port layer or persona answered, a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    /// See [`ErrorExpect::reason`].
    pub reason: String,
    /// The API status code, if any.
    pub status: Option<u16>,
    /// The full message.
    pub message: String,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        if let Some(s) = self.status {
            write!(f, " ({s})")?;
        }
        // Most messages already start with the reason (vSphere faults, kubelet rejections).
        let message = self
            .message
            .strip_prefix(&self.reason)
            .unwrap_or(&self.message);
        let message = message.strip_prefix(": ").unwrap_or(message);
        write!(f, ": {message}")
    }
}

/// Compares a step's outcome with its `error:` expectation (or with success, if none).
pub fn check_outcome(
    outcome: &Result<String, StepError>,
    want: Option<&ErrorExpect>,
) -> Vec<Check> {
    match (outcome, want) {
        (Ok(_), None) => Vec::new(),
        (Err(e), None) => vec![Check {
            subject: "step".into(),
            expected: "success".into(),
            actual: format!("error {e}"),
            ok: false,
        }],
        (Ok(done), Some(_)) => vec![Check {
            subject: "step".into(),
            expected: "an error".into(),
            actual: format!("success ({done})"),
            ok: false,
        }],
        (Err(e), Some(w)) => {
            let mut out = Vec::new();
            if let Some(r) = &w.reason {
                out.push(Check::eq("error reason".into(), r, &e.reason));
            }
            if let Some(s) = w.status {
                let actual = e.status.map_or("none".to_string(), |s| s.to_string());
                out.push(Check::eq("error status".into(), s, actual));
            }
            if let Some(m) = &w.message {
                out.push(Check::contains("error message".into(), m, &e.message));
            }
            out
        }
    }
}
