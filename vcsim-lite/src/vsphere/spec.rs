//! The shape of an inventory as plain data: what a world is built from.
//!
//! Both the built-in default and inventory files produce an [`InventorySpec`]; the world
//! validates references (host names, pool paths) when it is built, so a spec can be written by
//! hand in tests without going through a file. Units: memory and storage in MiB, CPU in MHz.

/// A whole inventory: one vCenter's datacenters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventorySpec {
    /// Datacenters in creation order (ids are assigned in this order).
    pub datacenters: Vec<DatacenterSpec>,
}

/// A datacenter and everything inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatacenterSpec {
    /// Name, unique among datacenters.
    pub name: String,
    /// Clusters (each a `ClusterComputeResource` with a root resource pool).
    pub clusters: Vec<ClusterSpec>,
    /// Hosts outside any cluster; each gets its own `ComputeResource` and root pool.
    pub standalone_hosts: Vec<HostSpec>,
    /// Datastores, with the hosts that mount them.
    pub datastores: Vec<DatastoreSpec>,
    /// Port groups, present on every host of the datacenter.
    pub networks: Vec<NetworkSpec>,
    /// VMs to create when the world is built.
    pub vms: Vec<VmGroupSpec>,
}

/// A cluster of hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Name, unique within the datacenter's host folder.
    pub name: String,
    /// Whether DRS places VMs at power-on and evacuates hosts entering maintenance mode.
    pub drs: bool,
    /// The cluster's hosts.
    pub hosts: Vec<HostSpec>,
    /// Child resource pools of the cluster's root pool.
    pub pools: Vec<PoolSpec>,
}

/// An ESXi host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// Name (vCenter shows the host's DNS name or IP), unique within the datacenter.
    pub name: String,
    /// CPU packages.
    pub sockets: u32,
    /// Cores per package; logical CPUs = sockets x cores (no hyper-threading modelled).
    pub cores_per_socket: u32,
    /// Clock of one core.
    pub mhz_per_core: u32,
    /// Physical memory.
    pub memory_mib: u64,
    /// Memory the hypervisor keeps for itself; not available to VMs.
    pub overhead_mib: u64,
    /// Connection state at start.
    pub connected: bool,
    /// Maintenance mode at start.
    pub maintenance: bool,
}

/// A datastore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatastoreSpec {
    /// Name, unique within the datacenter.
    pub name: String,
    /// Capacity.
    pub capacity_mib: u64,
    /// Names of the hosts that mount it; empty means every host in the datacenter.
    pub hosts: Vec<String>,
}

/// A port group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    /// Name, unique within the datacenter.
    pub name: String,
}

/// A resource pool and its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    /// Name, unique among its siblings.
    pub name: String,
    /// CPU allocation in MHz.
    pub cpu: AllocationSpec,
    /// Memory allocation in MiB.
    pub memory: AllocationSpec,
    /// Child pools.
    pub children: Vec<PoolSpec>,
}

/// A resource allocation, as vSphere's `ResourceAllocationInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationSpec {
    /// Guaranteed amount.
    pub reservation: u64,
    /// Upper bound; `None` is vSphere's `-1` (unlimited).
    pub limit: Option<u64>,
    /// Whether the pool may borrow unreserved capacity from its parent.
    pub expandable: bool,
    /// Relative priority under contention.
    pub shares: Shares,
}

impl AllocationSpec {
    /// vSphere's default for a new pool: no reservation, unlimited, expandable, normal shares.
    pub const DEFAULT: AllocationSpec = AllocationSpec {
        reservation: 0,
        limit: None,
        expandable: true,
        shares: Shares::Normal,
    };
}

impl Default for AllocationSpec {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Shares, as vSphere's `SharesInfo` (level or custom number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shares {
    /// Low priority (half of normal).
    Low,
    /// The default.
    Normal,
    /// High priority (double normal).
    High,
    /// An explicit number of shares.
    Custom(u32),
}

impl Shares {
    /// The level's name as vSphere's `SharesLevel`.
    pub fn level(self) -> &'static str {
        match self {
            Shares::Low => "low",
            Shares::Normal => "normal",
            Shares::High => "high",
            Shares::Custom(_) => "custom",
        }
    }
}

/// A group of identical VMs created at build time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmGroupSpec {
    /// VM name; with `count > 1`, `{n}` is replaced by 0, 1, ... (or `-{n}` is appended).
    pub name: String,
    /// How many VMs.
    pub count: u32,
    /// Where the VMs run: a cluster or standalone host name, optionally followed by
    /// `/pool/child` resource pool names, e.g. `cluster-1/web`.
    pub pool: String,
    /// Datastore holding the VMs' files.
    pub datastore: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Configured memory.
    pub memory_mib: u64,
    /// One disk of this size; 0 means no disk.
    pub disk_mib: u64,
    /// Thin-provisioned disk (consumes nothing until written) or thick (consumes its size).
    pub thin: bool,
    /// Power the VMs on after creating them (through admission control).
    pub power_on: bool,
    /// vSphere guest id, e.g. `otherGuest64`.
    pub guest_id: String,
}

/// Names member `index` of a group of `count` (hosts or VMs): `{n}` becomes the index, and a
/// template without `{n}` gets `-{index}` appended when there are several.
pub fn member_name(template: &str, count: u32, index: u32) -> String {
    if template.contains("{n}") {
        template.replace("{n}", &index.to_string())
    } else if count > 1 {
        format!("{template}-{index}")
    } else {
        template.to_owned()
    }
}

const GIB: u64 = 1024;
const TIB: u64 = 1024 * 1024;

impl InventorySpec {
    /// The built-in inventory, shaped like a small real vCenter: one datacenter; one DRS cluster
    /// of three hosts (2 sockets x 8 cores at 2.4 GHz, 256 GiB each); one standalone host; a
    /// 2 TiB datastore shared by every host and a 500 GiB local one on the standalone host; one
    /// port group; no VMs.
    pub fn default_vcenter() -> InventorySpec {
        let host = |name: &str| HostSpec {
            name: name.to_string(),
            sockets: 2,
            cores_per_socket: 8,
            mhz_per_core: 2400,
            memory_mib: 256 * GIB,
            overhead_mib: 2 * GIB,
            connected: true,
            maintenance: false,
        };
        InventorySpec {
            datacenters: vec![DatacenterSpec {
                name: "DC0".to_string(),
                clusters: vec![ClusterSpec {
                    name: "DC0_C0".to_string(),
                    drs: true,
                    hosts: (0..3).map(|i| host(&format!("DC0_C0_H{i}"))).collect(),
                    pools: Vec::new(),
                }],
                standalone_hosts: vec![host("DC0_H0")],
                datastores: vec![
                    DatastoreSpec {
                        name: "sharedDS".to_string(),
                        capacity_mib: 2 * TIB,
                        hosts: Vec::new(),
                    },
                    DatastoreSpec {
                        name: "LocalDS_0".to_string(),
                        capacity_mib: 500 * GIB,
                        hosts: vec!["DC0_H0".to_string()],
                    },
                ],
                networks: vec![NetworkSpec {
                    name: "VM Network".to_string(),
                }],
                vms: Vec::new(),
            }],
        }
    }
}
