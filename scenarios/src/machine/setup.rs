//! The options one case runs under, drawn once per case (swarm testing): the hosts of the
//! cluster, the image datastore's size, the VCH's limits and the node's pod count. Small and
//! uneven values are chosen on purpose so that every kind of refusal is reachable in a few
//! steps: a host with 64, 256 or 512 MiB for VMs fills after one to a dozen pod VMs, a 12 GiB datastore after a few swap
//! files (a 2.5 GiB one leaves room for hardly any image), a 256 MB VCH after a few
//! overheads.

use proptest::prelude::*;
use vcsim_lite::portlayer::VchConfig;
use vcsim_lite::sim::SimTime;
use vcsim_lite::vsphere::{
    ClusterSpec, DatacenterSpec, DatastoreSpec, HostSpec, InventorySpec, NetworkSpec,
};

/// The one cluster (DRS on) that the VCH runs in.
pub const CLUSTER: &str = "C0";
/// The image datastore, mounted on every host.
pub const DATASTORE: &str = "ds0";
/// The VCH's name: its pool, folder and appliance VM.
pub const VCH: &str = "vch";
/// Sockets of every host.
pub const SOCKETS: u32 = 2;
/// Core clock of every host; also the node's MHz per core, so a core of the node is a core
/// of a host.
pub const MHZ_PER_CORE: u32 = 2400;
/// Memory each host keeps for its hypervisor.
pub const HOST_OVERHEAD_MIB: u64 = 768;
/// The VCH appliance's vCPUs and memory (vic-machine's defaults, stated so the model need not
/// assume them).
pub const APPLIANCE_VCPUS: u32 = 1;
/// See [`APPLIANCE_VCPUS`].
pub const APPLIANCE_MEMORY_MB: u64 = 2048;
/// Simulated time at the start of every case.
pub const START: SimTime = SimTime::DEFAULT_EPOCH;

/// CPU limits the VCH may have (MHz); `None` is unlimited.
pub const CPU_LIMITS: [Option<u64>; 4] = [None, Some(4800), Some(12_000), Some(24_000)];
/// Memory limits the VCH may have (MB); `None` is unlimited.
pub const MEMORY_LIMITS: [Option<u64>; 5] = [None, Some(64), Some(256), Some(2048), Some(16_384)];

/// One host of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostShape {
    /// Cores per socket (logical CPUs = [`SOCKETS`] x this).
    pub cores_per_socket: u32,
    /// Physical memory; [`HOST_OVERHEAD_MIB`] of it is the hypervisor's.
    pub memory_mib: u64,
}

impl HostShape {
    /// Logical CPUs.
    pub fn logical_cpus(&self) -> u32 {
        SOCKETS * self.cores_per_socket
    }

    /// CPU capacity, MHz.
    pub fn cpu_mhz(&self) -> u64 {
        u64::from(self.logical_cpus()) * u64::from(MHZ_PER_CORE)
    }

    /// Memory VMs can reserve, MiB.
    pub fn memory_capacity_mib(&self) -> u64 {
        self.memory_mib - HOST_OVERHEAD_MIB
    }
}

/// The VCH pool's CPU (MHz) and memory (MB) limits; `None` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// CPU limit, MHz.
    pub cpu_mhz: Option<u64>,
    /// Memory limit, MB.
    pub memory_mb: Option<u64>,
}

/// Everything a case is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The world's seed (ids, UUIDs).
    pub seed: u64,
    /// The cluster's hosts, in inventory (and id) order.
    pub hosts: Vec<HostShape>,
    /// Capacity of the image datastore, MiB.
    pub datastore_mib: u64,
    /// The VCH pool's limits at creation.
    pub limits: Limits,
    /// `vic-machine create --containers`.
    pub container_limit: Option<u32>,
    /// The node's `max_pods`.
    pub max_pods: u32,
}

/// Host names, by index.
pub fn host_name(i: usize) -> String {
    format!("h{i}")
}

impl Setup {
    /// The inventory: one datacenter, one DRS cluster of the hosts, one shared datastore.
    pub fn inventory(&self) -> InventorySpec {
        let hosts = self
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| HostSpec {
                name: host_name(i),
                sockets: SOCKETS,
                cores_per_socket: h.cores_per_socket,
                mhz_per_core: MHZ_PER_CORE,
                memory_mib: h.memory_mib,
                overhead_mib: HOST_OVERHEAD_MIB,
                connected: true,
                maintenance: false,
            })
            .collect();
        InventorySpec {
            datacenters: vec![DatacenterSpec {
                name: "DC0".into(),
                clusters: vec![ClusterSpec {
                    name: CLUSTER.into(),
                    drs: true,
                    hosts,
                    pools: Vec::new(),
                }],
                standalone_hosts: Vec::new(),
                datastores: vec![DatastoreSpec {
                    name: DATASTORE.into(),
                    capacity_mib: self.datastore_mib,
                    hosts: Vec::new(),
                }],
                networks: vec![NetworkSpec {
                    name: "VM Network".into(),
                }],
                vms: Vec::new(),
            }],
        }
    }

    /// What `vic-machine create` is told.
    pub fn vch_config(&self) -> VchConfig {
        let mut c = VchConfig::new(VCH);
        c.compute = CLUSTER.into();
        c.image_datastore = DATASTORE.into();
        c.volume_stores = [("default".to_string(), DATASTORE.to_string())].into();
        c.cpu_limit_mhz = self.limits.cpu_mhz;
        c.memory_limit_mb = self.limits.memory_mb;
        c.container_limit = self.container_limit;
        c.endpoint_cpus = APPLIANCE_VCPUS;
        c.endpoint_memory_mb = APPLIANCE_MEMORY_MB;
        c
    }
}

/// Any VCH limits from [`CPU_LIMITS`] and [`MEMORY_LIMITS`].
pub fn limits() -> impl Strategy<Value = Limits> {
    (
        prop::sample::select(&CPU_LIMITS[..]),
        prop::sample::select(&MEMORY_LIMITS[..]),
    )
        .prop_map(|(cpu_mhz, memory_mb)| Limits { cpu_mhz, memory_mb })
}

fn host() -> impl Strategy<Value = HostShape> {
    (
        prop_oneof![Just(2u32), Just(4u32)],
        prop_oneof![Just(832u64), Just(1024u64), Just(1280u64), Just(16_384u64)],
    )
        .prop_map(|(cores_per_socket, memory_mib)| HostShape {
            cores_per_socket,
            memory_mib,
        })
}

/// The options of a case.
pub fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<u64>(),
        prop::collection::vec(host(), 1..=3),
        prop_oneof![
            1 => Just(2560u64),
            2 => Just(12 * 1024u64),
            2 => Just(48 * 1024u64),
            2 => Just(1024 * 1024u64)
        ],
        limits(),
        prop_oneof![Just(None), Just(Some(4u32))],
        prop_oneof![Just(3u32), Just(5u32), Just(110u32)],
    )
        .prop_map(
            |(seed, hosts, datastore_mib, limits, container_limit, max_pods)| Setup {
                seed,
                hosts,
                datastore_mib,
                limits,
                container_limit,
                max_pods,
            },
        )
}
