//! Errors of the port layer, each mapped to the status code the Port Layer API answers with.

use crate::vsphere::VsphereError;

/// A failed port layer call. A failed call leaves the port layer and the world unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortLayerError {
    /// 404: no such container, handle, image, volume, scope, key or task.
    #[error("{kind} `{id}` not found")]
    NotFound {
        /// What was looked for (`container`, `handle`, `image`, ...).
        kind: &'static str,
        /// The id given.
        id: String,
    },
    /// 409: the object exists already, or its state forbids the call.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 409: the VM changed since the handle was taken; get a new handle.
    #[error("concurrent access: {0}; get a new handle and retry")]
    ConcurrentAccess(String),
    /// 409: a device the call needs is in use by another container.
    #[error("devices in use: {0}")]
    DevicesInUse(String),
    /// 423: the object is in use (an image layer a container or another layer needs).
    #[error("in use: {0}")]
    InUse(String),
    /// 400: malformed or out-of-range input.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: a VCH limit (container count, storage quota) would be exceeded.
    #[error("forbidden: {0}")]
    LimitExceeded(String),
    /// 428: the call needs the container running (e.g. waiting on a task of a stopped VM).
    #[error("precondition required: {0}")]
    PreconditionRequired(String),
    /// 503: vSphere refused an operation.
    #[error("vSphere: {0}")]
    Vsphere(#[from] VsphereError),
    /// 501: the port layer does not implement this call.
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
}

impl PortLayerError {
    /// The HTTP status code of the Port Layer API for this error.
    pub fn status(&self) -> u16 {
        match self {
            PortLayerError::NotFound { .. } => 404,
            PortLayerError::Conflict(_)
            | PortLayerError::ConcurrentAccess(_)
            | PortLayerError::DevicesInUse(_) => 409,
            PortLayerError::InUse(_) => 423,
            PortLayerError::BadRequest(_) => 400,
            PortLayerError::LimitExceeded(_) => 403,
            PortLayerError::PreconditionRequired(_) => 428,
            PortLayerError::Vsphere(e) if e.fault() == crate::sim::FaultKind::ConcurrentAccess => {
                409
            }
            PortLayerError::Vsphere(_) => 503,
            PortLayerError::NotImplemented(_) => 501,
        }
    }

    pub(crate) fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        PortLayerError::NotFound {
            kind,
            id: id.into(),
        }
    }
}

/// Result of a port layer call.
pub type Result<T, E = PortLayerError> = std::result::Result<T, E>;
