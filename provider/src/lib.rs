//! The VIC virtual-kubelet provider: pods as VIC container VMs.
//!
//! Not implemented yet. This crate will hold the pod cache, pod lifecycle operations, node
//! capacity and guest naming, speaking to the port layer through its own traits.
