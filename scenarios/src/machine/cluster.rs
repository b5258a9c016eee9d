//! The model of the cluster the VCH runs in: its hosts' states, the VMs in the VCH's pool
//! (the appliance and the pod VMs) with what they reserve when powered on, and the world's
//! documented rules for admitting and placing them.
//!
//! A pod VM reserves no CPU and no memory of its own: only its hypervisor overhead (the
//! world's usage model, an input like the inventory). So the VCH pool's `used` memory is the
//! overhead of its running VMs, its CPU `used` is 0, and a power-on fits the pool when that
//! sum stays within the VCH's memory limit and the cluster's usable capacity.
//!
//! Placement follows the rule ARCHITECTURE.md documents for DRS (of the usable hosts where the
//! VM fits, the one with the most unreserved memory, ties to the lowest id; an evacuation
//! plans its VMs in id order, counting earlier moves), so the model knows where each VM runs
//! and the checks compare every host's reservations exactly. The rule is the simulator's
//! deliberate choice, not vSphere's: should it change, this mirror changes with it.

use std::collections::BTreeMap;

use vcsim_lite::vsphere::UsageModel;

use super::setup::{HostShape, Limits};

/// Why the world refuses something, as the text its error message carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Admission control at the VCH pool (its limit, or the cluster behind it).
    PoolMemory,
    /// No usable host has the memory.
    HostMemory,
    /// No usable host has that many logical CPUs.
    LogicalCpus,
    /// No host is usable at all.
    NoUsableHost,
    /// Taking a host out of service would leave less than the cluster has reserved.
    ClusterCapacity,
    /// The datastore cannot hold the file.
    DiskSpace,
    /// The host is not connected.
    NotConnected,
    /// The host's state forbids it (already in or out of maintenance, VMs running on it).
    HostState,
    /// A fault rule injected this fault.
    Injected(&'static str),
}

impl Refusal {
    /// Text the world's error message contains for this refusal.
    pub fn text(&self) -> String {
        match self {
            Refusal::PoolMemory => "InsufficientResourcesFault: pool ".into(),
            Refusal::HostMemory => "InsufficientResourcesFault: host ".into(),
            Refusal::LogicalCpus => "NotEnoughLogicalCpus: ".into(),
            Refusal::NoUsableHost | Refusal::HostState => "InvalidState: ".into(),
            Refusal::ClusterCapacity => "InsufficientResourcesFault: cluster ".into(),
            Refusal::DiskSpace => "NoDiskSpace: ".into(),
            Refusal::NotConnected => "InvalidHostConnectionState: ".into(),
            Refusal::Injected(fault) => format!("{fault}: injected by a fault rule"),
        }
    }

    /// How telling a host's refusal is, as DRS ranks them when no host fits.
    fn rank(&self) -> u8 {
        match self {
            Refusal::HostMemory => 3,
            Refusal::LogicalCpus => 2,
            _ => 0,
        }
    }
}

/// A host's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostState {
    /// Its shape.
    pub shape: HostShape,
    /// Connected to vCenter.
    pub connected: bool,
    /// In maintenance mode.
    pub maintenance: bool,
}

impl HostState {
    /// Connected and out of maintenance.
    pub fn usable(&self) -> bool {
        self.connected && !self.maintenance
    }
}

/// A VM in the VCH's pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmState {
    /// vCPUs.
    pub vcpus: u32,
    /// Memory, MB.
    pub memory_mb: u64,
    /// What it reserves while powered on: its overhead, MiB.
    pub overhead_mib: u64,
    /// The host it runs on, while powered on.
    pub host: Option<usize>,
}

/// Hosts and the VCH's VMs, keyed by creation order (which is id order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Hosts in id order.
    pub hosts: Vec<HostState>,
    /// VMs by creation sequence; 0 is the appliance.
    pub vms: BTreeMap<u64, VmState>,
}

/// A VM's overhead under the world's usage model.
pub fn overhead_mib(vcpus: u32, memory_mb: u64) -> u64 {
    UsageModel::ESX.overhead_mib(vcpus, memory_mb)
}

impl Cluster {
    /// Memory reserved on host `h`, MiB.
    pub fn host_reserved_mib(&self, h: usize) -> u64 {
        self.vms
            .values()
            .filter(|v| v.host == Some(h))
            .map(|v| v.overhead_mib)
            .sum()
    }

    /// The VCH pool's `used` memory: what its running VMs reserve, MiB.
    pub fn pool_used_mib(&self) -> u64 {
        self.vms
            .values()
            .filter(|v| v.host.is_some())
            .map(|v| v.overhead_mib)
            .sum()
    }

    /// Usable CPU (MHz) and memory (MiB) of the cluster, leaving out `without`: the root
    /// pool's reservation and limit.
    pub fn capacity(&self, without: Option<usize>) -> (u64, u64) {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(i, h)| Some(*i) != without && h.usable())
            .fold((0, 0), |(c, m), (_, h)| {
                (c + h.shape.cpu_mhz(), m + h.shape.memory_capacity_mib())
            })
    }

    /// Why `h` cannot take a VM of `vcpus` reserving `need` MiB, with `planned` MiB of moves
    /// already headed there.
    fn host_refusal(&self, h: usize, vcpus: u32, need: u64, planned: u64) -> Option<Refusal> {
        let host = &self.hosts[h];
        if !host.connected {
            return Some(Refusal::NotConnected);
        }
        if host.maintenance {
            return Some(Refusal::HostState);
        }
        if vcpus > host.shape.logical_cpus() {
            return Some(Refusal::LogicalCpus);
        }
        let free = self.free_mib(h).saturating_sub(planned);
        (need > free).then_some(Refusal::HostMemory)
    }

    fn free_mib(&self, h: usize) -> u64 {
        self.hosts[h]
            .shape
            .memory_capacity_mib()
            .saturating_sub(self.host_reserved_mib(h))
    }

    /// DRS placement: the host for a VM, or why there is none.
    pub fn pick_host(
        &self,
        vcpus: u32,
        need: u64,
        exclude: Option<usize>,
        planned: &BTreeMap<usize, u64>,
    ) -> Result<usize, Refusal> {
        let mut best: Option<(u64, usize)> = None;
        let mut worst: Option<Refusal> = None;
        for h in (0..self.hosts.len()).filter(|h| Some(*h) != exclude) {
            let p = planned.get(&h).copied().unwrap_or(0);
            match self.host_refusal(h, vcpus, need, p) {
                None => {
                    let free = self.free_mib(h).saturating_sub(p);
                    if best.is_none_or(|(b, _)| free > b) {
                        best = Some((free, h));
                    }
                }
                Some(r) => {
                    if worst.as_ref().is_none_or(|w| r.rank() > w.rank()) {
                        worst = Some(r);
                    }
                }
            }
        }
        match (best, worst) {
            (Some((_, h)), _) => Ok(h),
            (None, Some(r)) if r.rank() > 0 => Err(r),
            _ => Err(Refusal::NoUsableHost),
        }
    }

    /// Where VM `seq` would power on, or why it cannot: the pool first (its limit, then the
    /// cluster behind the expandable VCH pool), then a host.
    pub fn plan_power_on(&self, seq: u64, limits: &Limits) -> Result<usize, Refusal> {
        let vm = &self.vms[&seq];
        let used = self.pool_used_mib() + vm.overhead_mib;
        let (_, cluster_mib) = self.capacity(None);
        if limits.memory_mb.is_some_and(|l| used > l) || used > cluster_mib {
            return Err(Refusal::PoolMemory);
        }
        self.pick_host(vm.vcpus, vm.overhead_mib, None, &BTreeMap::new())
    }

    /// The moves that evacuate host `h`, or why it cannot go into maintenance.
    pub fn plan_evacuation(&self, h: usize) -> Result<Vec<(u64, usize)>, Refusal> {
        let host = &self.hosts[h];
        if !host.connected {
            return Err(Refusal::NotConnected);
        }
        if host.maintenance {
            return Err(Refusal::HostState);
        }
        self.check_capacity_without(h)?;
        let mut planned = BTreeMap::new();
        let mut moves = Vec::new();
        for (seq, vm) in self.vms.iter().filter(|(_, v)| v.host == Some(h)) {
            let to = self.pick_host(vm.vcpus, vm.overhead_mib, Some(h), &planned)?;
            *planned.entry(to).or_insert(0) += vm.overhead_mib;
            moves.push((*seq, to));
        }
        Ok(moves)
    }

    /// Why host `h` cannot be disconnected, if it cannot.
    pub fn disconnect_refusal(&self, h: usize) -> Option<Refusal> {
        if !self.hosts[h].connected {
            return Some(Refusal::NotConnected);
        }
        if self.vms.values().any(|v| v.host == Some(h)) {
            return Some(Refusal::HostState);
        }
        self.check_capacity_without(h).err()
    }

    fn check_capacity_without(&self, h: usize) -> Result<(), Refusal> {
        let (_, mem) = self.capacity(Some(h));
        if self.pool_used_mib() > mem {
            return Err(Refusal::ClusterCapacity);
        }
        Ok(())
    }
}
