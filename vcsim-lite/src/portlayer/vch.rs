//! The Virtual Container Host: what vic-machine creates in vSphere, and the VCH info the port
//! layer reports.
//!
//! A VCH is a resource pool named after it (under a DRS cluster or a standalone host; a
//! cluster without DRS uses its root pool), a VM folder of the same name, and the appliance VM,
//! powered on. Its container-count limit and storage quota are the port layer's to enforce.

use std::collections::BTreeMap;

use super::error::{PortLayerError, Result};
use crate::vsphere::guest::{GuestOs, VicBuild, vch_guest_name};
use crate::vsphere::spec::{AllocationSpec, Shares};
use crate::vsphere::{
    DatastoreId, DeviceKind, DeviceSpec, FolderId, PoolId, VmAllocation, VmId, VmSpec, World,
};

/// What `vic-machine create` is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VchConfig {
    /// The VCH's name (pool, folder and appliance VM).
    pub name: String,
    /// Where it runs: a cluster or standalone host name, optionally with a pool path.
    pub compute: String,
    /// `--cpu`: CPU limit in MHz; `None` is unlimited.
    pub cpu_limit_mhz: Option<u64>,
    /// `--memory`: memory limit in MB; `None` is unlimited.
    pub memory_limit_mb: Option<u64>,
    /// `--cpu-reservation` in MHz.
    pub cpu_reservation_mhz: u64,
    /// `--memory-reservation` in MB.
    pub memory_reservation_mb: u64,
    /// `--cpu-shares`.
    pub cpu_shares: Shares,
    /// `--memory-shares`.
    pub memory_shares: Shares,
    /// `--containers`: the most containers; `None` is unlimited.
    pub container_limit: Option<u32>,
    /// `--storage-quota` in GB; `None` is unlimited.
    pub storage_quota_gb: Option<u64>,
    /// `--image-store`: the datastore for images and container VMs.
    pub image_datastore: String,
    /// `--volume-store`: label -> datastore.
    pub volume_stores: BTreeMap<String, String>,
    /// `--bridge-network-width`: prefix length of the bridge networks taken from the bridge
    /// range 172.16.0.0/12 (16 by default: 65,533 container addresses; 12 gives the default
    /// bridge the whole range, about a million).
    pub bridge_network_width: u8,
    /// `--endpoint-cpu`.
    pub endpoint_cpus: u32,
    /// `--endpoint-memory` in MB.
    pub endpoint_memory_mb: u64,
    /// The VIC build whose names the VMs carry.
    pub build: VicBuild,
}

impl VchConfig {
    /// A VCH named `name` on the built-in inventory's cluster and shared datastore, with
    /// vic-machine's defaults.
    pub fn new(name: &str) -> Self {
        VchConfig {
            name: name.to_string(),
            compute: "DC0_C0".into(),
            cpu_limit_mhz: None,
            memory_limit_mb: None,
            cpu_reservation_mhz: 0,
            memory_reservation_mb: 0,
            cpu_shares: Shares::Normal,
            memory_shares: Shares::Normal,
            container_limit: None,
            storage_quota_gb: None,
            image_datastore: "sharedDS".into(),
            volume_stores: BTreeMap::from([("default".to_string(), "sharedDS".to_string())]),
            bridge_network_width: 16,
            endpoint_cpus: 1,
            endpoint_memory_mb: 2048,
            build: VicBuild::from_build_env(),
        }
    }
}

/// A created VCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vch {
    /// What it was created from.
    pub config: VchConfig,
    /// Its resource pool.
    pub pool: PoolId,
    /// Its VM folder.
    pub folder: FolderId,
    /// The appliance VM.
    pub vm: VmId,
    /// The appliance's BIOS UUID: names the image store and namespaces container VM UUIDs.
    pub uuid: String,
    /// Datastore of images and container VMs.
    pub datastore: DatastoreId,
    /// Volume store label -> datastore.
    pub volume_stores: BTreeMap<String, DatastoreId>,
}

/// What `GET /vch/info` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VchInfo {
    /// CPU limit in MHz (the parent's when the VCH's is unlimited).
    pub cpu_mhz: i64,
    /// Memory limit in MB (likewise).
    pub memory_mb: i64,
    /// CPU usage in MHz.
    pub cpu_usage_mhz: i64,
    /// Memory usage in MB.
    pub memory_usage_mb: i64,
    /// `about.name` of the vSphere endpoint.
    pub host_product_name: String,
    /// `about.osType`.
    pub host_os: String,
    /// `about.version`.
    pub host_os_version: String,
}

fn alloc(reservation: u64, limit: Option<u64>, shares: Shares) -> AllocationSpec {
    AllocationSpec {
        reservation,
        // vic-machine turns a limit of 0 into -1 (unlimited).
        limit: limit.filter(|l| *l > 0),
        expandable: true,
        shares,
    }
}

/// Creates the VCH as vic-machine does: pool, folder, appliance VM powered on.
pub fn create_vch(w: &mut World, config: VchConfig) -> Result<Vch> {
    let bad = |m: String| PortLayerError::BadRequest(m);
    let parent = w
        .pool_by_path(&config.compute)
        .ok_or_else(|| PortLayerError::not_found("compute resource", config.compute.clone()))?;
    let datastore = w
        .datastore_by_name(&config.image_datastore)
        .ok_or_else(|| PortLayerError::not_found("datastore", config.image_datastore.clone()))?;
    let mut volume_stores = BTreeMap::new();
    for (label, ds) in &config.volume_stores {
        let id = w
            .datastore_by_name(ds)
            .ok_or_else(|| PortLayerError::not_found("datastore", ds.clone()))?;
        volume_stores.insert(label.clone(), id);
    }
    if config.endpoint_cpus == 0 || config.endpoint_memory_mb < 512 {
        return Err(bad(
            "the endpoint VM needs at least 1 vCPU and 512 MB".into()
        ));
    }
    let compute = w.pool(parent)?.compute;
    let drs = w.compute(compute).map(|c| c.drs || !c.is_cluster)?;
    let pool = if drs {
        let cpu = alloc(
            config.cpu_reservation_mhz,
            config.cpu_limit_mhz,
            config.cpu_shares,
        );
        let memory = alloc(
            config.memory_reservation_mb,
            config.memory_limit_mb,
            config.memory_shares,
        );
        w.create_pool(parent, &config.name, cpu, memory)?
    } else {
        parent
    };
    let top = match w
        .datacenters()
        .values()
        .find(|d| d.computes.contains(&compute))
    {
        Some(dc) => dc.vm_folder,
        None => {
            return Err(PortLayerError::not_found(
                "datacenter",
                config.compute.clone(),
            ));
        }
    };
    let folder = match w.create_folder(top, &config.name) {
        Ok(f) => f,
        Err(e) => {
            if pool != parent {
                let _ = w.destroy_pool(pool);
            }
            return Err(e.into());
        }
    };
    let mut spec = VmSpec::new(config.name.clone(), pool, datastore);
    spec.folder = Some(folder);
    spec.vcpus = config.endpoint_cpus;
    spec.memory_mib = config.endpoint_memory_mb;
    spec.cpu_alloc = VmAllocation::default();
    spec.alternate_guest_name = vch_guest_name(GuestOs::Photon, &config.build);
    spec.devices = vec![
        DeviceSpec {
            kind: DeviceKind::IdeController,
            label: "IDE 0".into(),
            backing: String::new(),
        },
        DeviceSpec {
            kind: DeviceKind::Cdrom,
            label: "CD/DVD drive 1".into(),
            backing: "appliance.iso".into(),
        },
        DeviceSpec {
            kind: DeviceKind::PvscsiController,
            label: "SCSI controller 0".into(),
            backing: String::new(),
        },
        DeviceSpec {
            kind: DeviceKind::Ethernet,
            label: "Network adapter 1".into(),
            backing: "VM Network".into(),
        },
    ];
    let created = w.create_vm(spec).and_then(|vm| {
        // ExecutorConfig.ID = the appliance's own moref marks it as a VCH.
        let change = crate::vsphere::VmConfigChange {
            extra_config: vec![
                ("guestinfo.vice./common/id".into(), vm.to_string()),
                ("guestinfo.vice./common/name".into(), config.name.clone()),
                (
                    "guestinfo.vice./version".into(),
                    config.build.version.clone(),
                ),
            ],
            ..Default::default()
        };
        w.reconfigure_vm(vm, change)?;
        w.power_on_vm(vm)?;
        Ok(vm)
    });
    let vm = match created {
        Ok(vm) => vm,
        Err(e) => {
            // Undo what was made, so a failed create leaves nothing behind.
            if let Some(vm) = w
                .folder(folder)
                .ok()
                .and_then(|f| f.vms.values().next().copied())
            {
                let _ = w.destroy_vm(vm);
            }
            let _ = w.destroy_folder(folder);
            if pool != parent {
                let _ = w.destroy_pool(pool);
            }
            return Err(e.into());
        }
    };
    let uuid = w.vm(vm)?.uuid.clone();
    Ok(Vch {
        config,
        pool,
        folder,
        vm,
        uuid,
        datastore,
        volume_stores,
    })
}

/// VCH info as VIC computes it: the pool's limits and usage, and, if either limit is unlimited,
/// the parent pool's figures instead, recursively (VIC's `GetVCHstats`; kept for fidelity).
pub fn vch_info(w: &World, vch: &Vch) -> Result<VchInfo> {
    let mut pool = w.pool(vch.pool)?;
    while pool.cpu.alloc.limit.is_none() || pool.memory.alloc.limit.is_none() {
        match pool.parent {
            Some(parent) => pool = w.pool(parent)?,
            None => break,
        }
    }
    let about = w.about();
    let limit = |l: Option<u64>| l.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX));
    Ok(VchInfo {
        cpu_mhz: limit(pool.cpu.alloc.limit),
        memory_mb: limit(pool.memory.alloc.limit),
        cpu_usage_mhz: i64::try_from(pool.cpu.usage).unwrap_or(i64::MAX),
        memory_usage_mb: i64::try_from(pool.memory.usage).unwrap_or(i64::MAX),
        host_product_name: about.name.to_string(),
        host_os: about.os_type.to_string(),
        host_os_version: about.version.to_string(),
    })
}
