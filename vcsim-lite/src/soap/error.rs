//! Errors of the SOAP layer. Each becomes a SOAP fault carrying a vim fault type (see
//! [`super::faults`]); none is ever a panic or a change to the world.

use crate::vsphere::VsphereError;

/// A request the endpoint refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// The body is not a well-formed SOAP envelope (`InvalidRequest`).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is larger than the documented limit (`InvalidRequest`).
    #[error("request body of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// Bytes accepted.
        limit: usize,
    },
    /// The request is well-formed but not valid here (`InvalidRequest`).
    #[error("{0}")]
    InvalidRequest(String),
    /// A method this endpoint does not implement (`NotImplemented`).
    #[error("method {method} is not implemented by vcsim-lite")]
    NotImplemented {
        /// The method's name.
        method: String,
    },
    /// The call needs a session (`NotAuthenticated`).
    #[error("the session is not authenticated")]
    NotAuthenticated {
        /// The object the call was made on, as (type, value).
        object: (String, String),
    },
    /// Wrong user name or password (`InvalidLogin`).
    #[error("Cannot complete login due to an incorrect user name or password.")]
    InvalidLogin,
    /// An unknown managed object reference (`ManagedObjectNotFound`).
    #[error("The object '{kind}:{id}' has already been deleted or has not been completely created")]
    NotFound {
        /// The reference's type.
        kind: String,
        /// The reference's value.
        id: String,
    },
    /// An argument is missing or has the wrong type or value (`InvalidArgument`).
    #[error("A specified parameter was not correct: {property}: {reason}")]
    InvalidArgument {
        /// The argument or property path.
        property: String,
        /// What is wrong.
        reason: String,
    },
    /// A property path that the object's type does not have (`InvalidProperty`).
    #[error("invalid property `{0}`")]
    InvalidProperty(String),
    /// A fault from the world (the vSphere operation refused).
    #[error(transparent)]
    Vsphere(#[from] VsphereError),
}

impl SoapError {
    /// `InvalidArgument` for `property`.
    pub fn invalid(property: impl Into<String>, reason: impl Into<String>) -> Self {
        SoapError::InvalidArgument {
            property: property.into(),
            reason: reason.into(),
        }
    }

    /// `ManagedObjectNotFound` for a reference.
    pub fn not_found(kind: &str, id: &str) -> Self {
        SoapError::NotFound {
            kind: kind.to_string(),
            id: id.to_string(),
        }
    }
}
