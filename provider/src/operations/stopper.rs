//! PodStopper: a graceful stop (`STOPPED` with the pod's grace period as the wait time), retried
//! with a fresh handle on 409, then a kill if the pod VM still runs.

use super::CONFLICT_RETRIES;
use crate::client::{ContainerStatus, PortLayerApi};
use crate::error::{ProviderError, at};

/// Stops the pod VM `id`, allowing `grace_secs` for a graceful stop.
pub fn stop(
    pl: &(impl PortLayerApi + ?Sized),
    id: &str,
    grace_secs: i64,
) -> Result<(), ProviderError> {
    let running = is_running(&pl.info(id).map_err(at("info"))?);
    stop_known(pl, id, grace_secs, running)
}

/// A pod VM in these states has a guest to stop.
pub fn is_running(s: &ContainerStatus) -> bool {
    s.state == "Running" || s.state == "Starting"
}

/// [`stop`] for a caller that has just read the state (saves a port layer call).
pub fn stop_known(
    pl: &(impl PortLayerApi + ?Sized),
    id: &str,
    grace_secs: i64,
    mut running: bool,
) -> Result<(), ProviderError> {
    let running_now = || pl.info(id).map(|s| is_running(&s)).map_err(at("info"));
    for _ in 0..CONFLICT_RETRIES {
        if !running {
            return Ok(());
        }
        let h = pl.handle(id).map_err(at("handle"))?;
        match pl
            .change_state(&h, "STOPPED")
            .and_then(|h| pl.commit(&h, Some(grace_secs)))
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_conflict() => running = running_now()?,
            Err(e) => return Err(at("stop commit")(e)),
        }
    }
    if running {
        pl.signal(id, 9).map_err(at("kill"))?;
    }
    Ok(())
}
