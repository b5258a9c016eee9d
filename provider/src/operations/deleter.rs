//! PodDeleter: stop if running, release the network, remove the pod VM (retrying a 409 with
//! bounded backoff), delete the pod's emptyDir volumes. Idempotent: a VM or volume that is
//! already gone counts as deleted.

use super::{CONFLICT_RETRIES, stopper};
use crate::client::PortLayerApi;
use crate::error::{ProviderError, at};

/// Deletes the pod VM `id` and the port layer volumes named in `volumes`.
pub fn delete(
    pl: &(impl PortLayerApi + ?Sized),
    id: &str,
    volumes: &[String],
    grace_secs: i64,
) -> Result<(), ProviderError> {
    match pl.info(id) {
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(at("info")(e)),
        Ok(status) => {
            stopper::stop_known(pl, id, grace_secs, stopper::is_running(&status))?;
            if let Ok(h) = pl.handle(id) {
                let _ = pl.scopes_unbind(&h);
            }
            let mut attempt = 0;
            loop {
                match pl.remove(id) {
                    Ok(()) => break,
                    Err(e) if e.is_not_found() => break,
                    Err(e) if e.is_conflict() && attempt + 1 < CONFLICT_RETRIES => {
                        attempt += 1;
                        // The VM may have been started again meanwhile: stop it and retry.
                        stopper::stop(pl, id, 0)?;
                    }
                    Err(e) => return Err(at("remove")(e)),
                }
            }
        }
    }
    for v in volumes {
        match pl.volume_delete(v) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(at("volume delete")(e)),
        }
    }
    Ok(())
}
