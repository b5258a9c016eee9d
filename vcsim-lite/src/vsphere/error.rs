//! Errors of the vSphere layer. Each variant is one vSphere fault with the details a caller
//! (a test, the SOAP adapter, the port layer) needs to act on it; [`VsphereError::fault`] gives
//! the fault's vSphere type name.

use crate::sim::{FaultKind, ObjectKind, Operation};

/// CPU or memory, for admission errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// CPU, in MHz.
    Cpu,
    /// Memory, in MiB.
    Memory,
}

impl Resource {
    /// The unit amounts of this resource are given in.
    pub fn unit(self) -> &'static str {
        match self {
            Resource::Cpu => "MHz",
            Resource::Memory => "MiB",
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        })
    }
}

/// A failed vSphere operation. A failed operation leaves the inventory and its accounting
/// exactly as they were.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VsphereError {
    /// `ManagedObjectNotFound`: the id names nothing.
    #[error("ManagedObjectNotFound: no {kind} `{id}`")]
    NotFound {
        /// The kind looked for.
        kind: ObjectKind,
        /// The id or name given.
        id: String,
    },
    /// `DuplicateName`: the container already holds an object of that name.
    #[error("DuplicateName: `{name}` already exists in {container}")]
    DuplicateName {
        /// The name.
        name: String,
        /// The folder or pool that holds the other object.
        container: String,
    },
    /// `InvalidArgument`: a value is out of range or inconsistent.
    #[error("InvalidArgument: {property}: {reason}")]
    InvalidArgument {
        /// The offending property, as a vSphere property path.
        property: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `InvalidPowerState`: the VM is in the wrong power state.
    #[error("InvalidPowerState: {vm} is {existing}, {operation} needs it {required}")]
    InvalidPowerState {
        /// The VM's name.
        vm: String,
        /// Its power state.
        existing: &'static str,
        /// The state the operation needs.
        required: &'static str,
        /// The operation.
        operation: Operation,
    },
    /// `InvalidState`: the object's state forbids the operation.
    #[error("InvalidState: {object}: {reason}")]
    InvalidState {
        /// The object's name.
        object: String,
        /// Why.
        reason: String,
    },
    /// `InvalidHostConnectionState`: the host is not connected.
    #[error("InvalidHostConnectionState: host {host} is not connected")]
    HostNotConnected {
        /// The host's name.
        host: String,
    },
    /// `InsufficientResourcesFault`: admission control refused a reservation.
    #[error(
        "InsufficientResourcesFault: {scope} has {available} {unit} of {resource} unreserved, {requested} {unit} needed",
        unit = resource.unit()
    )]
    InsufficientResources {
        /// Where it did not fit: `pool NAME` or `host NAME` or `cluster NAME`.
        scope: String,
        /// CPU or memory.
        resource: Resource,
        /// How much was asked for.
        requested: u64,
        /// How much was available there.
        available: u64,
    },
    /// `NotEnoughLogicalCpus`: more vCPUs than the host has logical CPUs.
    #[error(
        "NotEnoughLogicalCpus: {vm} has {vcpus} vCPUs, host {host} has {host_cpus} logical CPUs"
    )]
    NotEnoughLogicalCpus {
        /// The VM's name.
        vm: String,
        /// Its vCPUs.
        vcpus: u32,
        /// The host's name.
        host: String,
        /// The host's logical CPUs.
        host_cpus: u32,
    },
    /// `NoDiskSpace`: the datastore cannot hold a disk or swap file.
    #[error(
        "NoDiskSpace: datastore {datastore} has {free_mib} MiB free, {requested_mib} MiB needed"
    )]
    NoDiskSpace {
        /// The datastore's name.
        datastore: String,
        /// Space asked for.
        requested_mib: u64,
        /// Space free.
        free_mib: u64,
    },
    /// `InvalidDatastore`: the datastore is not mounted where it is needed.
    #[error("InvalidDatastore: datastore {datastore} is not accessible from host {host}")]
    InvalidDatastore {
        /// The datastore's name.
        datastore: String,
        /// The host's name.
        host: String,
    },
    /// `ConcurrentAccess`: the VM changed since the caller read it.
    #[error("ConcurrentAccess: {vm} is at changeVersion {actual}, request expected {expected}")]
    ConcurrentAccess {
        /// The VM's name.
        vm: String,
        /// The version the caller read.
        expected: u64,
        /// The version now.
        actual: u64,
    },
    /// `ResourceInUse`: the object still holds others.
    #[error("ResourceInUse: {object}: {reason}")]
    ResourceInUse {
        /// The object's name.
        object: String,
        /// What still uses it.
        reason: String,
    },
    /// `FileAlreadyExists`.
    #[error("FileAlreadyExists: {path}")]
    FileAlreadyExists {
        /// The datastore path, `[ds] dir/file.vmdk`.
        path: String,
    },
    /// `FileNotFound`.
    #[error("FileNotFound: {path}")]
    FileNotFound {
        /// The datastore path.
        path: String,
    },
    /// `FileLocked`: a VM has the file attached.
    #[error("FileLocked: {path} is attached to {vm}")]
    FileLocked {
        /// The datastore path.
        path: String,
        /// The VM holding it.
        vm: String,
    },
    /// A fault raised by a fault rule.
    #[error("{fault}: injected by a fault rule on {operation} of {kind} {object}")]
    Injected {
        /// The fault raised.
        fault: FaultKind,
        /// The operation.
        operation: Operation,
        /// The kind of object.
        kind: ObjectKind,
        /// The object's name.
        object: String,
    },
}

impl VsphereError {
    /// The vSphere fault type this error is reported as.
    pub fn fault(&self) -> FaultKind {
        match self {
            VsphereError::NotFound { .. } => FaultKind::ManagedObjectNotFound,
            VsphereError::DuplicateName { .. } => FaultKind::DuplicateName,
            VsphereError::InvalidArgument { .. } => FaultKind::InvalidArgument,
            VsphereError::InvalidPowerState { .. } => FaultKind::InvalidPowerState,
            VsphereError::InvalidState { .. } => FaultKind::InvalidState,
            VsphereError::HostNotConnected { .. } => FaultKind::InvalidHostConnectionState,
            VsphereError::InsufficientResources { .. } => FaultKind::InsufficientResourcesFault,
            VsphereError::NotEnoughLogicalCpus { .. } => FaultKind::NotEnoughLogicalCpus,
            VsphereError::NoDiskSpace { .. } => FaultKind::NoDiskSpace,
            VsphereError::InvalidDatastore { .. } => FaultKind::InvalidDatastore,
            VsphereError::ConcurrentAccess { .. } => FaultKind::ConcurrentAccess,
            VsphereError::ResourceInUse { .. } => FaultKind::ResourceInUse,
            VsphereError::FileAlreadyExists { .. } => FaultKind::FileAlreadyExists,
            VsphereError::FileNotFound { .. } => FaultKind::FileNotFound,
            VsphereError::FileLocked { .. } => FaultKind::FileLocked,
            VsphereError::Injected { fault, .. } => *fault,
        }
    }

    pub(crate) fn invalid(property: &'static str, reason: impl Into<String>) -> Self {
        VsphereError::InvalidArgument {
            property,
            reason: reason.into(),
        }
    }
}
