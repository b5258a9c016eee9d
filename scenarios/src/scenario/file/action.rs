//! What a step does, and how the report names it.

use std::fmt;

use k8s_openapi::api::core::v1::Pod;
use vcsim_lite::sim::SimDuration;
use vcsim_lite::sim::fault::FaultRule;

use super::{PodRef, manifest_key};

/// What a step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Nothing: the step only checks its expectations.
    Check,
    /// Create the pod, or update it if the provider has it.
    Apply(Box<Pod>),
    /// Delete the pod.
    Delete(PodRef),
    /// Move simulated time forward.
    Advance(SimDuration),
    /// Put a fault rule in force.
    AddFault(FaultRule),
    /// Take a fault rule out of force.
    RemoveFault(FaultRule),
    /// `EnterMaintenanceMode_Task` on the host.
    EnterMaintenance(String),
    /// `ExitMaintenanceMode_Task`.
    ExitMaintenance(String),
    /// `DisconnectHost_Task`: the host fails.
    DisconnectHost(String),
    /// `ReconnectHost_Task`.
    ReconnectHost(String),
    /// Drop the provider, build a new one over the same stack, `rebuild()` it.
    RestartProvider,
    /// Change the VCH's container limit (`None`: unlimited).
    ContainerLimit(Option<u32>),
    /// Pull an image through the persona.
    Pull(String),
    /// Port layer: a fresh handle on the pod's VM, kept under a name.
    TakeHandle {
        /// Whose pod VM.
        pod: PodRef,
        /// The name later steps use.
        name: String,
    },
    /// Port layer: set the handle's target state.
    ChangeState {
        /// The handle's name.
        handle: String,
        /// `RUNNING`, `STOPPED` or `CREATED`.
        state: &'static str,
    },
    /// Port layer: allocate the handle's container IPs (`scopes bind`).
    Bind(String),
    /// Port layer: rename the handle's container.
    Rename {
        /// The handle's name.
        handle: String,
        /// The new container name.
        to: String,
    },
    /// Port layer: commit the handle.
    Commit(String),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Check => write!(f, "check"),
            Action::Apply(p) => {
                let (ns, name) = manifest_key(p);
                write!(f, "apply {ns}/{name}")
            }
            Action::Delete(p) => write!(f, "delete {p}"),
            Action::Advance(d) => write!(f, "advance {}", show_duration(*d)),
            Action::AddFault(r) => write!(f, "add fault {r}"),
            Action::RemoveFault(r) => write!(f, "remove fault {r}"),
            Action::EnterMaintenance(h) => write!(f, "enter maintenance {h}"),
            Action::ExitMaintenance(h) => write!(f, "exit maintenance {h}"),
            Action::DisconnectHost(h) => write!(f, "disconnect host {h}"),
            Action::ReconnectHost(h) => write!(f, "reconnect host {h}"),
            Action::RestartProvider => write!(f, "restart provider"),
            Action::ContainerLimit(Some(n)) => write!(f, "container limit {n}"),
            Action::ContainerLimit(None) => write!(f, "container limit unlimited"),
            Action::Pull(r) => write!(f, "pull {r}"),
            Action::TakeHandle { pod, name } => write!(f, "take handle {name} on {pod}"),
            Action::ChangeState { handle, state } => write!(f, "handle {handle}: state {state}"),
            Action::Bind(h) => write!(f, "handle {h}: bind"),
            Action::Rename { handle, to } => write!(f, "handle {handle}: rename to {to}"),
            Action::Commit(h) => write!(f, "commit handle {h}"),
        }
    }
}

/// The duration in its largest exact unit, as a file would write it.
fn show_duration(d: SimDuration) -> String {
    let ms = d.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    for (per, unit) in units {
        if ms >= per && ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_in_their_largest_exact_unit() {
        assert_eq!(show_duration(SimDuration::from_secs(600)), "10m");
        assert_eq!(show_duration(SimDuration::from_secs(90)), "90s");
        assert_eq!(show_duration(SimDuration::from_millis(1500)), "1500ms");
        assert_eq!(show_duration(SimDuration::from_secs(7200)), "2h");
    }
}
