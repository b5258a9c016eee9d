//! PodStarter: bind the network, `RUNNING`, commit. A failure is returned (and shows in the pod
//! status); the binding is undone so no IP is held by a VM that is not running.

use crate::client::PortLayerApi;
use crate::error::{ProviderError, at};

/// Starts the pod VM `id`.
pub fn start(pl: &(impl PortLayerApi + ?Sized), id: &str) -> Result<(), ProviderError> {
    let h = pl.handle(id).map_err(at("handle"))?;
    let h = pl.scopes_bind(&h).map_err(at("scopes bind"))?;
    let started = pl
        .change_state(&h, "RUNNING")
        .and_then(|h| pl.commit(&h, None))
        .map_err(at("start commit"));
    if started.is_err()
        && let Ok(h) = pl.handle(id)
    {
        let _ = pl.scopes_unbind(&h);
    }
    started
}
