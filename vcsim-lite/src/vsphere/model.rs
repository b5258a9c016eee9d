//! The managed objects of the world as plain data. Operations live in `*_ops.rs`; this module
//! only holds state and the small derived figures (capacity, unreserved) every layer reads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::ids::*;
use super::spec::{AllocationSpec, Shares};
use crate::sim::SimTime;

/// A datacenter and its four top-level folders.
#[derive(Clone, Debug)]
pub struct Datacenter {
    /// Its id.
    pub id: DatacenterId,
    /// Its name.
    pub name: Arc<str>,
    /// Root of the VM and template tree (`vmFolder`).
    pub vm_folder: FolderId,
    /// Root of the host and cluster tree (`hostFolder`).
    pub host_folder: FolderId,
    /// Root of the datastore tree (`datastoreFolder`).
    pub datastore_folder: FolderId,
    /// Root of the network tree (`networkFolder`).
    pub network_folder: FolderId,
    /// Clusters and standalone compute resources, in creation order.
    pub computes: Vec<ComputeId>,
    /// Datastores, in creation order.
    pub datastores: Vec<DatastoreId>,
    /// Networks, in creation order.
    pub networks: Vec<NetworkId>,
}

/// A folder.
#[derive(Clone, Debug)]
pub struct Folder {
    /// Its id.
    pub id: FolderId,
    /// Its name.
    pub name: Arc<str>,
    /// What it holds.
    pub kind: FolderKind,
    /// The datacenter it belongs to.
    pub datacenter: DatacenterId,
    /// The parent folder; `None` for a datacenter's top-level folder.
    pub parent: Option<FolderId>,
    /// Child folders by name (names are unique within a folder).
    pub folders: BTreeMap<Arc<str>, FolderId>,
    /// VMs by name (names are unique within a folder: `DuplicateName`).
    pub vms: BTreeMap<Arc<str>, VmId>,
}

/// A cluster (`ClusterComputeResource`) or a standalone host's `ComputeResource`.
#[derive(Clone, Debug)]
pub struct ComputeResource {
    /// Its id.
    pub id: ComputeId,
    /// Its name (for a standalone host, the host's name).
    pub name: Arc<str>,
    /// The datacenter it belongs to.
    pub datacenter: DatacenterId,
    /// True for a cluster, false for a standalone host.
    pub is_cluster: bool,
    /// Whether DRS places VMs and evacuates hosts.
    pub drs: bool,
    /// Member hosts, in creation order.
    pub hosts: Vec<HostId>,
    /// The root resource pool (named `Resources`).
    pub root_pool: PoolId,
}

/// An ESXi host and its accounting.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its id.
    pub id: HostId,
    /// Its name.
    pub name: Arc<str>,
    /// The compute resource it belongs to.
    pub compute: ComputeId,
    /// CPU packages.
    pub sockets: u32,
    /// Cores per package.
    pub cores_per_socket: u32,
    /// Clock of one core.
    pub mhz_per_core: u32,
    /// Physical memory.
    pub memory_mib: u64,
    /// Memory the hypervisor keeps.
    pub overhead_mib: u64,
    /// Connection state: vCenter manages only connected hosts.
    pub connected: bool,
    /// Maintenance mode: no VM may run here.
    pub maintenance: bool,
    /// Datastores mounted.
    pub datastores: BTreeSet<DatastoreId>,
    /// VMs registered here (powered on or off).
    pub vms: BTreeSet<VmId>,
    /// CPU reserved by powered-on VMs.
    pub cpu_reserved_mhz: u64,
    /// Memory reserved by powered-on VMs, including their overhead.
    pub memory_reserved_mib: u64,
    /// CPU demand of powered-on VMs.
    pub cpu_usage_mhz: u64,
    /// Memory consumed by powered-on VMs.
    pub memory_usage_mib: u64,
}

impl Host {
    /// Logical CPUs (no hyper-threading modelled).
    pub fn logical_cpus(&self) -> u32 {
        self.sockets.saturating_mul(self.cores_per_socket)
    }

    /// Total CPU: cores x MHz.
    pub fn cpu_capacity_mhz(&self) -> u64 {
        u64::from(self.logical_cpus()) * u64::from(self.mhz_per_core)
    }

    /// Memory available to VMs: physical memory less the hypervisor's.
    pub fn memory_capacity_mib(&self) -> u64 {
        self.memory_mib.saturating_sub(self.overhead_mib)
    }

    /// Connected and not in maintenance mode: may run VMs and counts toward cluster capacity.
    pub fn is_usable(&self) -> bool {
        self.connected && !self.maintenance
    }

    /// CPU not yet reserved.
    pub fn cpu_unreserved_mhz(&self) -> u64 {
        self.cpu_capacity_mhz()
            .saturating_sub(self.cpu_reserved_mhz)
    }

    /// Memory not yet reserved.
    pub fn memory_unreserved_mib(&self) -> u64 {
        self.memory_capacity_mib()
            .saturating_sub(self.memory_reserved_mib)
    }

    /// Takes on what a powered-on VM holds (admission has been checked).
    pub(crate) fn charge(&mut self, rt: &VmRuntime) {
        self.cpu_reserved_mhz += rt.cpu_reserved_mhz;
        self.memory_reserved_mib += rt.memory_reserved_mib;
        self.cpu_usage_mhz += rt.cpu_usage_mhz;
        self.memory_usage_mib += rt.memory_usage_mib;
    }

    /// Gives back what [`Host::charge`] took.
    pub(crate) fn discharge(&mut self, rt: &VmRuntime) {
        self.cpu_reserved_mhz -= rt.cpu_reserved_mhz;
        self.memory_reserved_mib -= rt.memory_reserved_mib;
        self.cpu_usage_mhz -= rt.cpu_usage_mhz;
        self.memory_usage_mib -= rt.memory_usage_mib;
    }
}

/// An allocation in force on a pool or VM, as `ResourceAllocationInfo`.
pub type Allocation = AllocationSpec;

/// Reservation accounting of one resource (CPU in MHz or memory in MiB) in one pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolResource {
    /// The configured allocation. For a root pool: reservation = limit = usable capacity.
    pub alloc: Allocation,
    /// Reserved by child pools and powered-on VMs (vSphere's `reservationUsed`).
    pub used: u64,
    /// Demand of powered-on VMs in this pool's subtree (`overallUsage`).
    pub usage: u64,
}

impl PoolResource {
    /// What this pool takes from its parent: its reservation, or what it uses when an
    /// expandable pool has borrowed beyond it.
    pub fn demand_on_parent(&self) -> u64 {
        if self.alloc.expandable {
            self.alloc.reservation.max(self.used)
        } else {
            self.alloc.reservation
        }
    }

    /// Reservation not yet used, counting only this pool's own reservation.
    pub fn unreserved_own(&self) -> u64 {
        self.alloc.reservation.saturating_sub(self.used)
    }
}

/// A resource pool.
#[derive(Clone, Debug)]
pub struct Pool {
    /// Its id.
    pub id: PoolId,
    /// Its name (`Resources` for a root pool).
    pub name: Arc<str>,
    /// The compute resource it belongs to.
    pub compute: ComputeId,
    /// The parent pool; `None` for a root pool.
    pub parent: Option<PoolId>,
    /// Child pools.
    pub children: BTreeSet<PoolId>,
    /// VMs in this pool (powered on or off).
    pub vms: BTreeSet<VmId>,
    /// CPU, in MHz.
    pub cpu: PoolResource,
    /// Memory, in MiB.
    pub memory: PoolResource,
}

/// A datastore.
#[derive(Clone, Debug)]
pub struct Datastore {
    /// Its id.
    pub id: DatastoreId,
    /// Its name.
    pub name: Arc<str>,
    /// The datacenter it belongs to.
    pub datacenter: DatacenterId,
    /// Capacity.
    pub capacity_mib: u64,
    /// Space taken by files (disks and swap files).
    pub used_mib: u64,
    /// Hosts that mount it.
    pub hosts: BTreeSet<HostId>,
}

impl Datastore {
    /// Free space; never negative because every allocation is checked first.
    pub fn free_mib(&self) -> u64 {
        self.capacity_mib.saturating_sub(self.used_mib)
    }
}

/// A port group.
#[derive(Clone, Debug)]
pub struct Network {
    /// Its id.
    pub id: NetworkId,
    /// Its name.
    pub name: Arc<str>,
    /// The datacenter it belongs to.
    pub datacenter: DatacenterId,
}

/// A VM's power state, as `VirtualMachinePowerState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// Off: holds no reservation, usage or swap file.
    PoweredOff,
    /// On: holds its reservations, usage and swap file.
    PoweredOn,
}

impl PowerState {
    /// The vSphere enum value.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::PoweredOff => "poweredOff",
            PowerState::PoweredOn => "poweredOn",
        }
    }
}

/// A virtual disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// Device key, unique within the VM (vSphere numbers SCSI disks from 2000).
    pub key: i32,
    /// Provisioned size.
    pub capacity_mib: u64,
    /// Thin disks take space as data is written; thick disks take their full size at once.
    pub thin: bool,
    /// Space the disk takes on its datastore now.
    pub consumed_mib: u64,
    /// Where the disk file lives.
    pub datastore: DatastoreId,
    /// For a disk file that exists on its own (a volume, an image layer): its path. Such a disk
    /// is attached, not owned: its space is counted with the file, and destroying the VM
    /// detaches it rather than deleting it (vSphere's independent disks).
    pub attached: Option<Arc<str>>,
}

/// A virtual disk file created on its own (`CreateVirtualDisk_Task`), e.g. a VIC image layer
/// or volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskFile {
    /// Provisioned size.
    pub capacity_mib: u64,
    /// Space it takes (data written).
    pub used_mib: u64,
    /// VMs it is attached to; a file in use cannot be deleted.
    pub attached_to: BTreeSet<VmId>,
}

/// The kind of a non-disk virtual device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// `ParaVirtualSCSIController`.
    PvscsiController,
    /// `VirtualIDEController`.
    IdeController,
    /// `VirtualCdrom`.
    Cdrom,
    /// `VirtualSerialPort`.
    SerialPort,
    /// `VirtualVmxnet3`.
    Ethernet,
}

impl DeviceKind {
    /// The vSphere device type name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::PvscsiController => "ParaVirtualSCSIController",
            DeviceKind::IdeController => "VirtualIDEController",
            DeviceKind::Cdrom => "VirtualCdrom",
            DeviceKind::SerialPort => "VirtualSerialPort",
            DeviceKind::Ethernet => "VirtualVmxnet3",
        }
    }
}

/// A non-disk virtual device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualDevice {
    /// Device key, unique within the VM.
    pub key: i32,
    /// What it is.
    pub kind: DeviceKind,
    /// `deviceInfo.label`.
    pub label: String,
    /// Its backing, as text (an ISO path, a URI, a file, a network name).
    pub backing: String,
}

/// What a powered-on VM holds; all zero when it is off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmRuntime {
    /// CPU reserved in its pool chain and on its host.
    pub cpu_reserved_mhz: u64,
    /// Memory reserved (reservation plus overhead) in its pool chain and on its host.
    pub memory_reserved_mib: u64,
    /// CPU demand.
    pub cpu_usage_mhz: u64,
    /// Memory consumed.
    pub memory_usage_mib: u64,
    /// Swap file size on the VM's home datastore.
    pub swap_mib: u64,
}

/// A VM's reservation and limit for one resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmAllocation {
    /// Guaranteed amount, reserved at power-on through admission control.
    pub reservation: u64,
    /// Cap on usage; `None` is unlimited (`-1`).
    pub limit: Option<u64>,
}

/// A virtual machine.
#[derive(Clone, Debug)]
pub struct Vm {
    /// Its id.
    pub id: VmId,
    /// Its name.
    pub name: Arc<str>,
    /// BIOS UUID (`config.uuid`): given by the creator, or drawn from the world's RNG.
    pub uuid: String,
    /// `config.files.vmPathName`, e.g. `[sharedDS] web-0/web-0.vmx`.
    pub vm_path_name: String,
    /// Controllers, CD-ROMs, serial ports, NICs.
    pub devices: Vec<VirtualDevice>,
    /// The folder holding it.
    pub folder: FolderId,
    /// The resource pool it runs in.
    pub pool: PoolId,
    /// The host it is registered on.
    pub host: HostId,
    /// The datastore holding its configuration and swap file.
    pub datastore: DatastoreId,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Configured memory.
    pub memory_mib: u64,
    /// CPU allocation (MHz).
    pub cpu_alloc: VmAllocation,
    /// Memory allocation (MiB).
    pub memory_alloc: VmAllocation,
    /// vSphere guest id, e.g. `otherGuest64`.
    pub guest_id: String,
    /// Display name for other/other-64 guests (`alternateGuestName`).
    pub alternate_guest_name: String,
    /// `extraConfig`, e.g. `guestinfo.*` keys.
    pub extra_config: BTreeMap<Box<str>, Box<str>>,
    /// Virtual disks.
    pub disks: Vec<Disk>,
    /// Power state.
    pub power_state: PowerState,
    /// Reservations, usage and swap held while powered on.
    pub runtime: VmRuntime,
    /// Bumped by every configuration change; a reconfigure that names an older value fails
    /// with `ConcurrentAccess`, as vSphere's `changeVersion` does.
    pub change_version: u64,
    /// When the VM was created.
    pub created: SimTime,
    /// When it was last powered on, while on.
    pub boot_time: Option<SimTime>,
}

/// Shares as a number, for reports (vSphere's `SharesInfo.shares` for levels depends on the
/// object; these are the pool values).
pub fn shares_value(shares: Shares, per_level_normal: u32) -> u32 {
    match shares {
        Shares::Low => per_level_normal / 2,
        Shares::Normal => per_level_normal,
        Shares::High => per_level_normal.saturating_mul(2),
        Shares::Custom(n) => n,
    }
}
