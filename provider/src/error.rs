//! Provider errors, each with the Kubernetes pod reason a kubelet would report for it.

use crate::client::ApiError;

/// A failed provider operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The pod spec is malformed (no containers, bad quantities, duplicate names, ...).
    #[error("invalid pod: {0}")]
    InvalidPod(String),
    /// The pod asks for something this provider does not do.
    #[error("not supported by the VIC provider: {0}")]
    Unsupported(String),
    /// The image could not be pulled.
    #[error("failed to pull image {image}: {message}")]
    ImagePull {
        /// The image reference.
        image: String,
        /// Why.
        message: String,
    },
    /// The image is not present and the pull policy is `Never`.
    #[error("image {image} is not present and the pull policy is Never")]
    ImageNeverPull {
        /// The image reference.
        image: String,
    },
    /// A pod of that namespace and name exists already.
    #[error("pod {0} already exists")]
    AlreadyExists(String),
    /// No such pod.
    #[error("pod {0} not found")]
    NotFound(String),
    /// Kubelet-style admission refused the pod.
    #[error("{reason}: {message}")]
    Rejected {
        /// `OutOfcpu`, `OutOfmemory` or `OutOfpods`.
        reason: &'static str,
        /// The kubelet's message.
        message: String,
    },
    /// The port layer or persona refused a call.
    #[error("{step}: {source}")]
    PortLayer {
        /// The step that failed, e.g. `commit`.
        step: &'static str,
        /// The API error.
        #[source]
        source: ApiError,
    },
}

impl ProviderError {
    /// The pod status reason a kubelet reports for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            ProviderError::InvalidPod(_) => "InvalidPod",
            ProviderError::Unsupported(_) => "Unsupported",
            ProviderError::ImagePull { .. } => "ErrImagePull",
            ProviderError::ImageNeverPull { .. } => "ErrImageNeverPull",
            ProviderError::AlreadyExists(_) => "AlreadyExists",
            ProviderError::NotFound(_) => "NotFound",
            ProviderError::Rejected { reason, .. } => reason,
            ProviderError::PortLayer { .. } => "ProviderFailed",
        }
    }
}

/// Attaches the step name to a client error.
pub(crate) fn at(step: &'static str) -> impl FnOnce(ApiError) -> ProviderError {
    move |source| ProviderError::PortLayer { step, source }
}
