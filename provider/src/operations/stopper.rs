//! PodStopper: a graceful stop (`STOPPED` with the pod's grace period as the wait time), retried
//! with a fresh handle on 409, then a kill if the pod VM still runs.

use super::CONFLICT_RETRIES;
use crate::client::PortLayerApi;
use crate::error::{ProviderError, at};

/// Stops the pod VM `id`, allowing `grace_secs` for a graceful stop.
pub fn stop(
    pl: &(impl PortLayerApi + ?Sized),
    id: &str,
    grace_secs: i64,
) -> Result<(), ProviderError> {
    let running = || {
        pl.info(id)
            .map(|s| s.state == "Running" || s.state == "Starting")
    };
    for _ in 0..CONFLICT_RETRIES {
        if !running().map_err(at("info"))? {
            return Ok(());
        }
        let h = pl.handle(id).map_err(at("handle"))?;
        match pl
            .change_state(&h, "STOPPED")
            .and_then(|h| pl.commit(&h, Some(grace_secs)))
        {
            Ok(()) => return Ok(()),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(at("stop commit")(e)),
        }
    }
    // Graceful stop kept losing to concurrent changes: kill.
    if running().map_err(at("info"))? {
        pl.signal(id, 9).map_err(at("kill"))?;
    }
    Ok(())
}
