//! Typed managed-object ids. Each wraps a number from the world's one id counter (as vCenter
//! numbers all its objects from one sequence) and renders with vCenter's prefix.

use crate::sim::event::Moref;
use std::fmt;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            /// vCenter's id prefix for this type, with its separator.
            pub const PREFIX: &'static str = $prefix;

            /// The managed object reference.
            pub fn moref(self) -> Moref {
                Moref { prefix: $prefix, n: self.0 }
            }

            /// Parses `prefix-N` back into an id.
            pub fn parse(s: &str) -> Option<Self> {
                s.strip_prefix($prefix)?.parse().ok().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

id_type!(
    /// A datacenter (`datacenter-N`).
    DatacenterId, "datacenter-"
);
id_type!(
    /// A host (`host-N`).
    HostId, "host-"
);
id_type!(
    /// A resource pool, including a cluster's root pool (`resgroup-N`).
    PoolId, "resgroup-"
);
id_type!(
    /// A datastore (`datastore-N`).
    DatastoreId, "datastore-"
);
id_type!(
    /// A port group (`network-N`).
    NetworkId, "network-"
);
id_type!(
    /// A virtual machine (`vm-N`).
    VmId, "vm-"
);

/// What a folder may hold (vCenter's `childType`), which also fixes its id prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FolderKind {
    /// The root folder, which holds datacenters (`group-d`).
    Datacenter,
    /// VMs and VM folders (`group-v`).
    Vm,
    /// Clusters and hosts (`group-h`).
    Host,
    /// Datastores (`group-s`).
    Datastore,
    /// Networks (`group-n`).
    Network,
}

impl FolderKind {
    fn prefix(self) -> &'static str {
        match self {
            FolderKind::Datacenter => "group-d",
            FolderKind::Vm => "group-v",
            FolderKind::Host => "group-h",
            FolderKind::Datastore => "group-s",
            FolderKind::Network => "group-n",
        }
    }
}

/// A folder. Its kind is part of the id because vCenter's id says it (`group-v4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FolderId {
    /// The number from the id counter (compared first, so ids sort by creation).
    pub n: u64,
    /// What the folder holds.
    pub kind: FolderKind,
}

impl FolderId {
    /// The managed object reference.
    pub fn moref(self) -> Moref {
        Moref {
            prefix: self.kind.prefix(),
            n: self.n,
        }
    }
}

impl fmt::Display for FolderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.moref().fmt(f)
    }
}

/// A cluster (`domain-cN`) or a standalone host's compute resource (`domain-sN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComputeId {
    /// The number from the id counter.
    pub n: u64,
    /// True for a cluster.
    pub cluster: bool,
}

impl ComputeId {
    /// The managed object reference.
    pub fn moref(self) -> Moref {
        Moref {
            prefix: if self.cluster { "domain-c" } else { "domain-s" },
            n: self.n,
        }
    }
}

impl fmt::Display for ComputeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.moref().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_and_parse_like_vcenter() {
        assert_eq!(VmId(42).to_string(), "vm-42");
        assert_eq!(VmId::parse("vm-42"), Some(VmId(42)));
        assert_eq!(VmId::parse("host-42"), None);
        assert_eq!(PoolId::parse("resgroup-x"), None);
        assert_eq!(PoolId(8).moref().to_string(), "resgroup-8");
        let f = FolderId {
            n: 3,
            kind: FolderKind::Vm,
        };
        assert_eq!(f.to_string(), "group-v3");
        let c = ComputeId {
            n: 7,
            cluster: true,
        };
        assert_eq!(c.to_string(), "domain-c7");
    }
}
