//! The VIC virtual-kubelet provider: pods as VIC container VMs.
//!
//! - [`client`]: what the provider asks of VIC (port layer and persona calls) as traits with
//!   data types of its own; vcsim-lite implements them in process.
//! - [`http_client`]: the same traits over the Port Layer and Docker APIs.
//! - [`quantity`], [`sizing`]: Kubernetes quantities, and the pod VM's size from the pod.
//! - [`cache`]: pods by namespace/name with their pod VMs, rebuilt from annotations.
//!
//! - [`operations`]: create (with rollback), start, stop, delete of a pod VM.
//! - [`status`], [`node`]: pod status from the pod VM; node capacity, conditions, admission.
//! - [`vic`]: [`vic::VicProvider`], the virtual-kubelet provider interface over all of these.
//! - [`error`]: errors with the pod reasons a kubelet reports.

pub mod cache;
pub mod client;
pub mod error;
pub mod http_client;
pub mod kubelet;
pub mod node;
pub mod operations;
pub mod quantity;
pub mod sizing;
pub mod status;
pub mod vic;
