//! The catalogue of names fault rules and errors speak: vSphere fault types, the kinds of
//! managed object an operation acts on, and the operations (by WSDL method name) that can fail.

use std::fmt;
use std::str::FromStr;

macro_rules! name_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name as vSphere spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownName {
                        what: stringify!($name),
                        given: s.to_string(),
                        known: $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    }),
                }
            }
        }
    };
}

/// A name that is not in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}` (known: {known})")]
pub struct UnknownName {
    /// Which catalogue was searched.
    pub what: &'static str,
    /// The name given.
    pub given: String,
    /// The names that exist.
    pub known: String,
}

name_enum! {
    /// A vSphere fault type (the `vim.fault.*` / `vmodl.fault.*` name a client sees).
    FaultKind {
        /// Admission control refused a reservation.
        InsufficientResourcesFault => "InsufficientResourcesFault",
        /// The object is in the wrong state (e.g. host in maintenance mode).
        InvalidState => "InvalidState",
        /// The VM's power state does not allow the operation.
        InvalidPowerState => "InvalidPowerState",
        /// The host is not connected.
        InvalidHostConnectionState => "InvalidHostConnectionState",
        /// Another task holds the object.
        TaskInProgress => "TaskInProgress",
        /// The object changed since the caller read it (stale ChangeVersion).
        ConcurrentAccess => "ConcurrentAccess",
        /// vCenter could not reach the host.
        HostCommunication => "HostCommunication",
        /// The session is not logged in.
        NotAuthenticated => "NotAuthenticated",
        /// The operation timed out.
        Timeout => "Timeout",
        /// The datastore lacks space for a disk or swap file.
        NoDiskSpace => "NoDiskSpace",
        /// An object of that name already exists in the container.
        DuplicateName => "DuplicateName",
        /// The managed object reference is unknown.
        ManagedObjectNotFound => "ManagedObjectNotFound",
        /// An argument is out of range or malformed.
        InvalidArgument => "InvalidArgument",
        /// The VM has more vCPUs than the host has logical CPUs.
        NotEnoughLogicalCpus => "NotEnoughLogicalCpus",
        /// The object is in use (e.g. a pool that still holds VMs).
        ResourceInUse => "ResourceInUse",
        /// The datastore is not reachable from the host.
        InvalidDatastore => "InvalidDatastore",
        /// The request is not valid in this context.
        InvalidRequest => "InvalidRequest",
        /// A file of that name exists already.
        FileAlreadyExists => "FileAlreadyExists",
        /// No file of that name exists.
        FileNotFound => "FileNotFound",
        /// The file is locked by a VM that uses it.
        FileLocked => "FileLocked",
        /// The operation is not supported by the simulator.
        NotImplemented => "NotImplemented",
        /// A generic server error.
        SystemError => "SystemError",
    }
}

name_enum! {
    /// The kind of managed object an operation targets, as fault rules name it.
    ObjectKind {
        /// A virtual machine.
        Vm => "vm",
        /// An ESXi host.
        Host => "host",
        /// A resource pool.
        Pool => "pool",
        /// A cluster.
        Cluster => "cluster",
        /// A datastore.
        Datastore => "datastore",
        /// A datacenter.
        Datacenter => "datacenter",
        /// A folder.
        Folder => "folder",
        /// A network or port group.
        Network => "network",
    }
}

name_enum! {
    /// An operation that can fail, by its vSphere WSDL method name.
    Operation {
        /// `Folder.CreateVM_Task`.
        CreateVm => "CreateVM_Task",
        /// `VirtualMachine.ReconfigVM_Task`.
        ReconfigVm => "ReconfigVM_Task",
        /// `VirtualMachine.PowerOnVM_Task`.
        PowerOnVm => "PowerOnVM_Task",
        /// `VirtualMachine.PowerOffVM_Task`.
        PowerOffVm => "PowerOffVM_Task",
        /// `ManagedEntity.Destroy_Task` on a VM.
        DestroyVm => "Destroy_Task",
        /// `VirtualMachine.MigrateVM_Task`.
        MigrateVm => "MigrateVM_Task",
        /// `ResourcePool.CreateResourcePool`.
        CreatePool => "CreateResourcePool",
        /// `ResourcePool.UpdateConfig`.
        UpdatePool => "UpdateConfig",
        /// `ResourcePool.Destroy_Task`.
        DestroyPool => "DestroyResourcePool_Task",
        /// `Folder.CreateFolder`.
        CreateFolder => "CreateFolder",
        /// `Folder.Destroy_Task`.
        DestroyFolder => "DestroyFolder_Task",
        /// `VirtualDiskManager.CreateVirtualDisk_Task`.
        CreateVirtualDisk => "CreateVirtualDisk_Task",
        /// `VirtualDiskManager.DeleteVirtualDisk_Task`.
        DeleteVirtualDisk => "DeleteVirtualDisk_Task",
        /// `HostSystem.EnterMaintenanceMode_Task`.
        EnterMaintenanceMode => "EnterMaintenanceMode_Task",
        /// `HostSystem.ExitMaintenanceMode_Task`.
        ExitMaintenanceMode => "ExitMaintenanceMode_Task",
        /// `HostSystem.DisconnectHost_Task`.
        DisconnectHost => "DisconnectHost_Task",
        /// `HostSystem.ReconnectHost_Task`.
        ReconnectHost => "ReconnectHost_Task",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in FaultKind::ALL {
            assert_eq!(k.as_str().parse::<FaultKind>(), Ok(*k));
        }
        for o in Operation::ALL {
            assert_eq!(o.as_str().parse::<Operation>(), Ok(*o));
        }
    }

    #[test]
    fn unknown_name_lists_known_ones() {
        let e = "PowerOnVm".parse::<Operation>().unwrap_err();
        assert!(e.to_string().contains("unknown Operation `PowerOnVm`"));
        assert!(e.to_string().contains("PowerOnVM_Task"));
    }
}
