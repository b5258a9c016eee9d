//! Builder inputs that shape timing and resource figures: how long operations take and how
//! much a VM costs the hypervisor. Both are explicit so tests can pin them and runs replay.

use super::task::Latency;
use crate::sim::{Operation, SimDuration, SimRng};

/// Per-operation latencies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyProfile {
    per_op: Vec<Latency>,
}

impl LatencyProfile {
    /// Every operation takes `latency`.
    pub fn uniform(latency: Latency) -> Self {
        LatencyProfile {
            per_op: vec![latency; Operation::ALL.len()],
        }
    }

    /// Operations take no simulated time and draw nothing from the RNG.
    pub fn zero() -> Self {
        Self::uniform(Latency::ms(0, 0))
    }

    /// Figures of the order a small vCenter shows for these tasks.
    pub fn vcenter() -> Self {
        let mut p = Self::uniform(Latency::ms(50, 50));
        for (op, l) in [
            (Operation::CreateVm, Latency::ms(300, 200)),
            (Operation::PowerOnVm, Latency::ms(600, 400)),
            (Operation::PowerOffVm, Latency::ms(300, 200)),
            (Operation::DestroyVm, Latency::ms(200, 100)),
            (Operation::ReconfigVm, Latency::ms(200, 100)),
            (Operation::MigrateVm, Latency::ms(3000, 2000)),
            (Operation::EnterMaintenanceMode, Latency::ms(2000, 1000)),
            (Operation::ExitMaintenanceMode, Latency::ms(500, 250)),
            (Operation::DisconnectHost, Latency::ms(1000, 500)),
            (Operation::ReconnectHost, Latency::ms(5000, 2000)),
        ] {
            p.set(op, l);
        }
        p
    }

    /// Sets one operation's latency.
    pub fn set(&mut self, op: Operation, latency: Latency) -> &mut Self {
        self.per_op[op as usize] = latency;
        self
    }

    /// One operation's latency.
    pub fn get(&self, op: Operation) -> Latency {
        self.per_op[op as usize]
    }

    /// Draws a duration for `op`; draws from the RNG only when there is jitter.
    pub fn draw(&self, op: Operation, rng: &mut SimRng) -> SimDuration {
        let l = self.get(op);
        if l.jitter.0 == 0 {
            l.base
        } else {
            SimDuration(l.base.0.saturating_add(rng.below(l.jitter.0 + 1)))
        }
    }
}

impl Default for LatencyProfile {
    fn default() -> Self {
        Self::vcenter()
    }
}

/// What a powered-on VM costs: hypervisor memory overhead (reserved with the VM) and CPU demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageModel {
    /// Fixed part of a VM's memory overhead.
    pub overhead_base_mib: u64,
    /// Overhead per vCPU.
    pub overhead_per_vcpu_mib: u64,
    /// Overhead per GiB of configured memory, in tenths of a MiB.
    pub overhead_per_gib_tenth_mib: u64,
    /// CPU demand of a powered-on VM, in percent of its vCPUs at the host's core clock.
    pub cpu_demand_pct: u64,
}

impl UsageModel {
    /// Overhead fitted to VMware's published table of VM memory overhead (ESXi 6.x: about
    /// 26 MiB for 1 vCPU/1 GiB, 115 MiB for 8 vCPU/1 GiB, 140 MiB for 1 vCPU/16 GiB), and a
    /// light 10% CPU demand.
    pub const ESX: UsageModel = UsageModel {
        overhead_base_mib: 6,
        overhead_per_vcpu_mib: 13,
        overhead_per_gib_tenth_mib: 76,
        cpu_demand_pct: 10,
    };

    /// No memory overhead: reservations account exactly what VMs reserve. For tests that want
    /// round numbers.
    pub const NO_OVERHEAD: UsageModel = UsageModel {
        overhead_base_mib: 0,
        overhead_per_vcpu_mib: 0,
        overhead_per_gib_tenth_mib: 0,
        cpu_demand_pct: 10,
    };

    /// Memory the hypervisor reserves for running a VM of this shape (rounded up).
    pub fn overhead_mib(&self, vcpus: u32, memory_mib: u64) -> u64 {
        let per_mem = memory_mib
            .saturating_mul(self.overhead_per_gib_tenth_mib)
            .div_ceil(10 * 1024);
        self.overhead_base_mib
            .saturating_add(u64::from(vcpus).saturating_mul(self.overhead_per_vcpu_mib))
            .saturating_add(per_mem)
    }
}

impl Default for UsageModel {
    fn default() -> Self {
        Self::ESX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esx_overhead_matches_vmware_table_within_a_few_mib() {
        let m = UsageModel::ESX;
        for (vcpus, mem, table) in [
            (1, 1024, 26),
            (8, 1024, 115),
            (1, 16384, 140),
            (4, 1024, 64),
        ] {
            let got = m.overhead_mib(vcpus, mem) as i64;
            assert!(
                (got - table).abs() <= 4,
                "{vcpus} vCPU {mem} MiB: {got} vs {table}"
            );
        }
        assert_eq!(UsageModel::NO_OVERHEAD.overhead_mib(8, 65536), 0);
    }

    #[test]
    fn zero_latency_draws_nothing() {
        let mut r = SimRng::new(5);
        let p = LatencyProfile::zero();
        assert_eq!(p.draw(Operation::PowerOnVm, &mut r), SimDuration(0));
        assert_eq!(r.next_u64(), SimRng::new(5).next_u64());
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let mut r = SimRng::new(5);
        let p = LatencyProfile::vcenter();
        for _ in 0..100 {
            let d = p.draw(Operation::PowerOnVm, &mut r).as_millis();
            assert!((600..=1000).contains(&d));
        }
    }
}
