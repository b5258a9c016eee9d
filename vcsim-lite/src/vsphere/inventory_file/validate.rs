//! The second pass: values that deserialized fine but describe an impossible or inconsistent
//! inventory.
//!
//! Checked here rather than left to the world builder so that the user learns about them with
//! a line number, and so that absurd sizes (which would overflow the world's MiB/MHz
//! arithmetic or exhaust memory when expanding `count`) never reach it. Limits are generous
//! real-world maxima: anything beyond them is a typo, not a lab.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use toml::Spanned;

use super::raw::{RawDatacenter, RawDatastore, RawFile, RawHost};
use super::{InventoryFileError, Source, expanded_name};
use crate::vsphere::spec::{
    ClusterSpec, DatacenterSpec, DatastoreSpec, HostSpec, InventorySpec, NetworkSpec,
};

pub(super) type Result<T> = std::result::Result<T, InventoryFileError>;

const MIB_PER_GIB: u64 = 1024;
const TIB_IN_MIB: u64 = 1024 * 1024;
const DEFAULT_OVERHEAD_MIB: u64 = 2048;
const MAX_HOST_MEMORY_MIB: u64 = 64 * TIB_IN_MIB;
const MAX_HOST_CORES: u64 = 1024;
const MAX_MHZ_PER_CORE: u32 = 10_000;
const MAX_DATASTORE_MIB: u64 = 1024 * 1024 * TIB_IN_MIB;
/// The world refuses longer VM and pool names (vSphere's own limit).
pub(super) use crate::vsphere::vm_ops::MAX_NAME_LEN;
/// vCenter's configuration maximum for hosts; also keeps `count` from exhausting memory.
const MAX_HOSTS: u64 = 2_500;
/// vCenter's configuration maximum for registered VMs; bounds the name-collision check.
const MAX_VMS: u64 = 45_000;

pub(super) fn inventory(src: &Source<'_>, raw: RawFile) -> Result<InventorySpec> {
    let Some(list) = raw.datacenter else {
        return Err(src.error(
            0,
            "datacenter",
            "no datacenter: an inventory needs at least one [[datacenter]] table",
        ));
    };
    if list.get_ref().is_empty() {
        return Err(src.at(
            list.span(),
            "datacenter",
            "no datacenter: an inventory needs at least one [[datacenter]] table",
        ));
    }
    let mut checker = Checker {
        src,
        hosts_total: 0,
        vms_total: 0,
    };
    let mut names = Names::default();
    let mut datacenters = Vec::new();
    for (d, dc) in list.into_inner().iter().enumerate() {
        let key = format!("datacenter[{d}]");
        let name = checker.name(&dc.name, &key, "datacenter", false)?;
        names.claim(
            src,
            name,
            name,
            dc.name.span(),
            &format!("{key}.name"),
            "datacenter",
        )?;
        datacenters.push(checker.datacenter(dc, &key)?);
    }
    Ok(InventorySpec { datacenters })
}

/// Names taken in one namespace, each with the key that took it, so a duplicate can say where
/// the first one is.
#[derive(Default)]
pub(super) struct Names(BTreeMap<String, String>);

impl Names {
    pub(super) fn claim(
        &mut self,
        src: &Source<'_>,
        name: &str,
        template: &str,
        span: Range<usize>,
        key: &str,
        what: &str,
    ) -> Result<()> {
        if let Some(first) = self.0.get(name) {
            let shown = if name == template {
                format!("`{name}`")
            } else {
                format!("`{name}` (from `{template}`)")
            };
            return Err(src.at(
                span,
                key,
                format!("duplicate {what} name {shown}: already defined at {first}"),
            ));
        }
        self.0.insert(name.to_owned(), key.to_owned());
        Ok(())
    }

    fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Which inventory-wide total a `count` is charged to.
#[derive(Clone, Copy)]
pub(super) enum Budget {
    Hosts,
    Vms,
}

pub(super) struct Checker<'s, 'a> {
    pub(super) src: &'s Source<'a>,
    hosts_total: u64,
    vms_total: u64,
}

impl Checker<'_, '_> {
    fn datacenter(&mut self, dc: &RawDatacenter, key: &str) -> Result<DatacenterSpec> {
        let mut hosts = Names::default();
        // Clusters and standalone hosts share the datacenter's host folder.
        let mut computes = Names::default();
        let mut clusters = Vec::new();
        for (c, raw) in dc.cluster.iter().enumerate() {
            let key = format!("{key}.cluster[{c}]");
            let name = self.name(&raw.name, &key, "cluster", false)?;
            let name_key = format!("{key}.name");
            let what = "cluster or standalone host";
            computes.claim(self.src, name, name, raw.name.span(), &name_key, what)?;
            let mut members = Vec::new();
            for (h, host) in raw.host.iter().enumerate() {
                let key = format!("{key}.host[{h}]");
                members.extend(self.hosts(host, &key, &mut hosts, None)?);
            }
            clusters.push(ClusterSpec {
                name: name.to_owned(),
                drs: raw.drs.unwrap_or(true),
                hosts: members,
                pools: self.pools(&raw.pool, &key)?,
            });
        }
        let mut standalone_hosts = Vec::new();
        for (h, host) in dc.host.iter().enumerate() {
            let key = format!("{key}.host[{h}]");
            standalone_hosts.extend(self.hosts(host, &key, &mut hosts, Some(&mut computes))?);
        }
        let mut datastores = Vec::new();
        let mut datastore_names = Names::default();
        for (s, raw) in dc.datastore.iter().enumerate() {
            let key = format!("{key}.datastore[{s}]");
            let name = self.name(&raw.name, &key, "datastore", true)?;
            let name_key = format!("{key}.name");
            datastore_names.claim(
                self.src,
                name,
                name,
                raw.name.span(),
                &name_key,
                "datastore",
            )?;
            datastores.push(self.datastore(raw, name, &key, &hosts)?);
        }
        let mut networks = Vec::new();
        let mut network_names = Names::default();
        for (n, raw) in dc.network.iter().enumerate() {
            let key = format!("{key}.network[{n}]");
            let name = self.name(&raw.name, &key, "network", true)?;
            let name_key = format!("{key}.name");
            network_names.claim(self.src, name, name, raw.name.span(), &name_key, "network")?;
            networks.push(NetworkSpec {
                name: name.to_owned(),
            });
        }
        let vms = self.vms(&dc.vm, key, &clusters, &standalone_hosts, &datastores)?;
        Ok(DatacenterSpec {
            name: dc.name.get_ref().clone(),
            clusters,
            standalone_hosts,
            datastores,
            networks,
            vms,
        })
    }

    /// Checks a name and returns it; `/` is refused where a name becomes a segment of an
    /// inventory or pool path.
    pub(super) fn name<'n>(
        &self,
        name: &'n Spanned<String>,
        key: &str,
        what: &str,
        slash_ok: bool,
    ) -> Result<&'n str> {
        let key = format!("{key}.name");
        let text = name.get_ref().as_str();
        if text.trim().is_empty() {
            return Err(self
                .src
                .at(name.span(), key, format!("{what} name is empty")));
        }
        if !slash_ok && text.contains('/') {
            let message = format!("{what} name `{text}` contains `/`, which separates paths");
            return Err(self.src.at(name.span(), key, message));
        }
        Ok(text)
    }

    pub(super) fn at_least_one(&self, value: &Spanned<u32>, key: &str) -> Result<u32> {
        match *value.get_ref() {
            0 => Err(self.src.at(value.span(), key, "must be at least 1")),
            n => Ok(n),
        }
    }

    /// Converts GiB to MiB without overflowing, and refuses sizes beyond `max_mib`.
    pub(super) fn gib_to_mib(
        &self,
        value: &Spanned<u64>,
        key: &str,
        max_mib: u64,
        max: &str,
    ) -> Result<u64> {
        let gib = *value.get_ref();
        let too_large = || {
            self.src
                .at(value.span(), key, format!("{gib} GiB is more than {max}"))
        };
        let mib = gib.checked_mul(MIB_PER_GIB).ok_or_else(too_large)?;
        if mib > max_mib {
            return Err(too_large());
        }
        Ok(mib)
    }

    /// Reads a group's `count` (default 1) and charges it to the inventory-wide budget.
    pub(super) fn count(
        &mut self,
        count: Option<&Spanned<u32>>,
        name: &Spanned<String>,
        key: &str,
        budget: Budget,
    ) -> Result<u32> {
        let (n, span, key) = match count {
            Some(count) => {
                let key = format!("{key}.count");
                (self.at_least_one(count, &key)?, count.span(), key)
            }
            None => (1, name.span(), format!("{key}.name")),
        };
        let (used, max, what) = match budget {
            Budget::Hosts => (&mut self.hosts_total, MAX_HOSTS, "hosts"),
            Budget::Vms => (&mut self.vms_total, MAX_VMS, "VMs"),
        };
        *used += u64::from(n);
        if *used > max {
            let message = format!("this makes {used} {what}; one vCenter manages at most {max}");
            return Err(self.src.at(span, key, message));
        }
        Ok(n)
    }

    /// Expands one host table into its `count` hosts, claiming each name in the datacenter
    /// (and, for standalone hosts, in the host folder shared with clusters).
    fn hosts(
        &mut self,
        raw: &RawHost,
        key: &str,
        hosts: &mut Names,
        mut computes: Option<&mut Names>,
    ) -> Result<Vec<HostSpec>> {
        let template = self.name(&raw.name, key, "host", false)?;
        let count = self.count(raw.count.as_ref(), &raw.name, key, Budget::Hosts)?;
        let sockets = self.at_least_one(&raw.sockets, &format!("{key}.sockets"))?;
        let cores_key = format!("{key}.cores_per_socket");
        let cores_per_socket = self.at_least_one(&raw.cores_per_socket, &cores_key)?;
        let cores = u64::from(sockets) * u64::from(cores_per_socket);
        if cores > MAX_HOST_CORES {
            let message = format!(
                "{sockets} sockets x {cores_per_socket} cores is {cores} cores; \
                 a host has at most {MAX_HOST_CORES}"
            );
            return Err(self.src.at(raw.cores_per_socket.span(), cores_key, message));
        }
        let mhz_key = format!("{key}.mhz_per_core");
        let mhz_per_core = self.at_least_one(&raw.mhz_per_core, &mhz_key)?;
        if mhz_per_core > MAX_MHZ_PER_CORE {
            let message =
                format!("{mhz_per_core} MHz is more than {MAX_MHZ_PER_CORE} MHz per core");
            return Err(self.src.at(raw.mhz_per_core.span(), mhz_key, message));
        }
        let memory_key = format!("{key}.memory_gib");
        if *raw.memory_gib.get_ref() == 0 {
            return Err(self
                .src
                .at(raw.memory_gib.span(), memory_key, "must be at least 1"));
        }
        let memory_mib =
            self.gib_to_mib(&raw.memory_gib, &memory_key, MAX_HOST_MEMORY_MIB, "64 TiB")?;
        let overhead_mib = raw
            .overhead_mib
            .as_ref()
            .map_or(DEFAULT_OVERHEAD_MIB, |overhead| *overhead.get_ref());
        if overhead_mib >= memory_mib {
            return Err(match &raw.overhead_mib {
                Some(overhead) => self.src.at(
                    overhead.span(),
                    format!("{key}.overhead_mib"),
                    format!(
                        "{overhead_mib} MiB leaves no memory for VMs: must be less than \
                         memory_gib ({memory_mib} MiB)"
                    ),
                ),
                None => self.src.at(
                    raw.memory_gib.span(),
                    memory_key,
                    format!(
                        "{} GiB leaves no memory for VMs after the default hypervisor \
                         overhead of {DEFAULT_OVERHEAD_MIB} MiB (see overhead_mib)",
                        raw.memory_gib.get_ref()
                    ),
                ),
            });
        }
        let name_key = format!("{key}.name");
        let mut expanded = Vec::new();
        for index in 0..count {
            let name = expanded_name(template, count, index);
            hosts.claim(
                self.src,
                &name,
                template,
                raw.name.span(),
                &name_key,
                "host",
            )?;
            if let Some(computes) = computes.as_deref_mut() {
                let what = "cluster or standalone host";
                computes.claim(self.src, &name, template, raw.name.span(), &name_key, what)?;
            }
            expanded.push(HostSpec {
                name,
                sockets,
                cores_per_socket,
                mhz_per_core,
                memory_mib,
                overhead_mib,
                connected: raw.connected.unwrap_or(true),
                maintenance: raw.maintenance.unwrap_or(false),
            });
        }
        Ok(expanded)
    }

    fn datastore(
        &self,
        raw: &RawDatastore,
        name: &str,
        key: &str,
        hosts: &Names,
    ) -> Result<DatastoreSpec> {
        let capacity_key = format!("{key}.capacity_gib");
        if *raw.capacity_gib.get_ref() == 0 {
            let span = raw.capacity_gib.span();
            return Err(self.src.at(span, capacity_key, "must be at least 1"));
        }
        let capacity_mib =
            self.gib_to_mib(&raw.capacity_gib, &capacity_key, MAX_DATASTORE_MIB, "1 EiB")?;
        let mut mounted = Vec::new();
        if let Some(list) = &raw.hosts {
            if list.get_ref().is_empty() {
                let message = "names no host; leave `hosts` out to mount on every host";
                return Err(self.src.at(list.span(), format!("{key}.hosts"), message));
            }
            let mut seen = BTreeSet::new();
            for (i, host) in list.get_ref().iter().enumerate() {
                let host_key = format!("{key}.hosts[{i}]");
                let host_name = host.get_ref().as_str();
                if !hosts.contains(host_name) {
                    let message = format!("unknown host `{host_name}`");
                    return Err(self.src.at(host.span(), host_key, message));
                }
                if !seen.insert(host_name) {
                    let message = format!("host `{host_name}` is listed twice");
                    return Err(self.src.at(host.span(), host_key, message));
                }
                mounted.push(host_name.to_owned());
            }
        }
        Ok(DatastoreSpec {
            name: name.to_owned(),
            capacity_mib,
            hosts: mounted,
        })
    }
}
