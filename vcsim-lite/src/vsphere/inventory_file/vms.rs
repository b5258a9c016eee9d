//! VM groups: where they run, what they are stored on, and the names they will get.

use std::collections::BTreeMap;

use super::expanded_name;
use super::raw::RawVm;
use super::validate::{Budget, Checker, MAX_NAME_LEN, Names, Result};
use crate::vsphere::spec::{ClusterSpec, DatastoreSpec, HostSpec, PoolSpec, VmGroupSpec};

const DEFAULT_VM_MEMORY_MIB: u64 = 1024;
const DEFAULT_GUEST_ID: &str = "otherGuest64";
use crate::vsphere::vm_ops::{MAX_DISK_MIB, MAX_VCPUS, MAX_VM_MEMORY_MIB};

/// Where a VM group may run: a cluster or a standalone host's compute resource.
struct Compute<'a> {
    kind: &'static str,
    hosts: Vec<&'a str>,
    pools: &'a [PoolSpec],
}

impl Checker<'_, '_> {
    pub(super) fn vms(
        &mut self,
        raw: &[RawVm],
        key: &str,
        clusters: &[ClusterSpec],
        standalone_hosts: &[HostSpec],
        datastores: &[DatastoreSpec],
    ) -> Result<Vec<VmGroupSpec>> {
        let mut computes: BTreeMap<&str, Compute<'_>> = BTreeMap::new();
        for cluster in clusters {
            let compute = Compute {
                kind: "cluster",
                hosts: cluster.hosts.iter().map(|h| h.name.as_str()).collect(),
                pools: &cluster.pools,
            };
            computes.insert(&cluster.name, compute);
        }
        for host in standalone_hosts {
            let compute = Compute {
                kind: "standalone host",
                hosts: vec![host.name.as_str()],
                pools: &[],
            };
            computes.insert(&host.name, compute);
        }
        let datastores: BTreeMap<&str, &DatastoreSpec> =
            datastores.iter().map(|ds| (ds.name.as_str(), ds)).collect();
        let mut names = Names::default();
        let mut groups = Vec::new();
        for (v, vm) in raw.iter().enumerate() {
            let key = format!("{key}.vm[{v}]");
            let template = self.name(&vm.name, &key, "VM", false)?;
            let count = self.count(vm.count.as_ref(), &vm.name, &key, Budget::Vms)?;
            let compute = self.placement(vm, &key, &computes)?;
            self.storage(vm, &key, compute, &datastores)?;
            let vcpus = match &vm.vcpus {
                None => 1,
                Some(vcpus) => {
                    let vcpus_key = format!("{key}.vcpus");
                    let n = self.at_least_one(vcpus, &vcpus_key)?;
                    if n > MAX_VCPUS {
                        let message = format!("{n} vCPUs is more than a VM can have ({MAX_VCPUS})");
                        return Err(self.src.at(vcpus.span(), vcpus_key, message));
                    }
                    n
                }
            };
            let memory_mib = match &vm.memory_mib {
                None => DEFAULT_VM_MEMORY_MIB,
                Some(memory) => {
                    let memory_key = format!("{key}.memory_mib");
                    let mib = *memory.get_ref();
                    if mib < 4 || !mib.is_multiple_of(4) {
                        let message = format!("{mib} MiB is not a multiple of 4 MiB (at least 4)");
                        return Err(self.src.at(memory.span(), memory_key, message));
                    }
                    if mib > MAX_VM_MEMORY_MIB {
                        let message = format!("{mib} MiB is more than a VM can have (24 TiB)");
                        return Err(self.src.at(memory.span(), memory_key, message));
                    }
                    mib
                }
            };
            let disk_mib = match &vm.disk_gib {
                None => 0,
                Some(disk) => {
                    let disk_key = format!("{key}.disk_gib");
                    self.gib_to_mib(
                        disk,
                        &disk_key,
                        MAX_DISK_MIB,
                        "a virtual disk can hold (62 TiB)",
                    )?
                }
            };
            let guest_id = match &vm.guest_id {
                None => DEFAULT_GUEST_ID.to_owned(),
                Some(guest) if guest.get_ref().trim().is_empty() => {
                    let guest_key = format!("{key}.guest_id");
                    return Err(self.src.at(guest.span(), guest_key, "guest_id is empty"));
                }
                Some(guest) => guest.get_ref().clone(),
            };
            let name_key = format!("{key}.name");
            for index in 0..count {
                let name = expanded_name(template, count, index);
                if name.chars().count() > MAX_NAME_LEN {
                    let message =
                        format!("VM name `{name}` is longer than {MAX_NAME_LEN} characters");
                    return Err(self.src.at(vm.name.span(), name_key, message));
                }
                names.claim(self.src, &name, template, vm.name.span(), &name_key, "VM")?;
            }
            groups.push(VmGroupSpec {
                name: template.to_owned(),
                count,
                pool: vm.pool.get_ref().clone(),
                datastore: vm.datastore.get_ref().clone(),
                vcpus,
                memory_mib,
                disk_mib,
                thin: vm.thin.unwrap_or(true),
                power_on: vm.power_on.unwrap_or(false),
                guest_id,
            });
        }
        Ok(groups)
    }

    /// Resolves `pool = "compute/pool/child"` to the compute resource it names, checking every
    /// pool on the way exists.
    fn placement<'c>(
        &self,
        vm: &RawVm,
        key: &str,
        computes: &'c BTreeMap<&str, Compute<'_>>,
    ) -> Result<&'c Compute<'c>> {
        let path = vm.pool.get_ref().as_str();
        let error = |message: String| self.src.at(vm.pool.span(), format!("{key}.pool"), message);
        let mut segments = path.split('/');
        let first = segments.next().unwrap_or_default();
        let Some(compute) = computes.get(first) else {
            return Err(error(format!(
                "unknown cluster or standalone host `{first}`"
            )));
        };
        let mut level = compute.pools;
        let mut walked = first.to_owned();
        for segment in segments {
            walked.push('/');
            walked.push_str(segment);
            if segment.is_empty() {
                return Err(error(format!("pool path `{path}` has an empty segment")));
            }
            let Some(pool) = level.iter().find(|pool| pool.name == segment) else {
                return Err(error(format!("unknown resource pool `{walked}`")));
            };
            level = &pool.children;
        }
        Ok(compute)
    }

    fn storage(
        &self,
        vm: &RawVm,
        key: &str,
        compute: &Compute<'_>,
        datastores: &BTreeMap<&str, &DatastoreSpec>,
    ) -> Result<()> {
        let name = vm.datastore.get_ref().as_str();
        let error = |message: String| {
            let key = format!("{key}.datastore");
            self.src.at(vm.datastore.span(), key, message)
        };
        let Some(datastore) = datastores.get(name) else {
            return Err(error(format!("unknown datastore `{name}`")));
        };
        let mounted = if datastore.hosts.is_empty() {
            !compute.hosts.is_empty()
        } else {
            compute
                .hosts
                .iter()
                .any(|host| datastore.hosts.iter().any(|m| m == host))
        };
        if !mounted {
            let pool = vm.pool.get_ref().split('/').next().unwrap_or_default();
            let kind = compute.kind;
            let message =
                format!("datastore `{name}` is not mounted by any host of {kind} `{pool}`");
            return Err(error(message));
        }
        Ok(())
    }
}
