//! The file as written: serde types with `deny_unknown_fields`, the values checked as they are
//! read (fault rules, durations, limits), and the settings they turn into.

use std::fmt;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use provider::node::{CpuRule, NodeConfig};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use vcsim_lite::portlayer::VchConfig;
use vcsim_lite::sim::SimDuration;
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::InventorySpec;
use vcsim_lite::vsphere::guest::VicBuild;
use vcsim_lite::vsphere::inventory_file::{load_inventory, parse_inventory};

use super::Cx;
use crate::scenario::FileError;
use crate::scenario::expect::{
    AccountingExpect, ClusterExpect, ContainerEventsExpect, DatastoreExpect, ErrorExpect,
    EventsExpect, HostExpect, NodeExpect, PodExpect, PodsExpect, PoolExpect, PortLayerExpect,
    VmExpect, VmsExpect,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a scenario: a mapping with `steps`")]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) seed: u64,
    pub(super) inventory: Option<RawInventory>,
    #[serde(default)]
    pub(super) latency: LatencyName,
    #[serde(default)]
    pub(super) usage: UsageName,
    #[serde(default)]
    pub(super) vch: RawVch,
    #[serde(default)]
    pub(super) node: RawNode,
    #[serde(default)]
    pub(super) faults: Vec<Rule>,
    pub(super) steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an inventory: `{file: PATH}` or `{toml: TEXT}`"
)]
pub(super) struct RawInventory {
    pub(super) file: Option<String>,
    pub(super) toml: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum LatencyName {
    #[default]
    Zero,
    Vcenter,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum UsageName {
    #[default]
    Esx,
    NoOverhead,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "VCH settings (a mapping)")]
pub(super) struct RawVch {
    pub(super) name: Option<String>,
    pub(super) compute: Option<String>,
    pub(super) datastore: Option<String>,
    pub(super) container_limit: Option<u32>,
    pub(super) storage_quota_gb: Option<u64>,
    pub(super) cpu_limit_mhz: Option<u64>,
    pub(super) memory_limit_mb: Option<u64>,
    pub(super) cpu_reservation_mhz: Option<u64>,
    pub(super) memory_reservation_mb: Option<u64>,
    pub(super) endpoint_cpus: Option<u32>,
    pub(super) endpoint_memory_mb: Option<u64>,
    pub(super) build: Option<RawBuild>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a VIC build: `{version, build, commit}`"
)]
pub(super) struct RawBuild {
    pub(super) version: String,
    pub(super) build: String,
    pub(super) commit: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "node settings (a mapping)")]
pub(super) struct RawNode {
    pub(super) max_pods: Option<u32>,
    pub(super) cpu_rule: Option<CpuRuleName>,
    pub(super) mhz_per_core: Option<u32>,
    pub(super) internal_ip: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum CpuRuleName {
    PerCore,
    Mhz1000,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a step: a mapping with one action and optional `expect`, `error`, `note`"
)]
pub(super) struct RawStep {
    pub(super) note: Option<String>,
    pub(super) apply: Option<Box<Pod>>,
    pub(super) delete: Option<String>,
    pub(super) advance: Option<Duration>,
    pub(super) add_fault: Option<Rule>,
    pub(super) remove_fault: Option<Rule>,
    pub(super) enter_maintenance: Option<String>,
    pub(super) exit_maintenance: Option<String>,
    pub(super) disconnect_host: Option<String>,
    pub(super) reconnect_host: Option<String>,
    pub(super) restart_provider: Option<Empty>,
    pub(super) container_limit: Option<Limit>,
    pub(super) pull: Option<String>,
    pub(super) take_handle: Option<RawTakeHandle>,
    pub(super) change_state: Option<RawChangeState>,
    pub(super) bind: Option<String>,
    pub(super) rename: Option<RawRename>,
    pub(super) commit: Option<String>,
    pub(super) error: Option<ErrorExpect>,
    #[serde(default)]
    pub(super) expect: Vec<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an empty mapping `{}`")]
pub(super) struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "`{pod: NAMESPACE/NAME, as: HANDLE}`")]
pub(super) struct RawTakeHandle {
    pub(super) pod: String,
    #[serde(rename = "as")]
    pub(super) name: String,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "`{handle: HANDLE, to: RUNNING|STOPPED|CREATED}`"
)]
pub(super) struct RawChangeState {
    pub(super) handle: String,
    pub(super) to: StateName,
}

#[derive(Deserialize, Clone, Copy)]
pub(super) enum StateName {
    #[serde(rename = "RUNNING")]
    Running,
    #[serde(rename = "STOPPED")]
    Stopped,
    #[serde(rename = "CREATED")]
    Created,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "`{handle: HANDLE, to: NAME}`")]
pub(super) struct RawRename {
    pub(super) handle: String,
    pub(super) to: String,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an expectation: a mapping with one of pod, pods, node, pool, cluster, host, datastore, vms, vm, events, container_events, portlayer, accounting, rebuilt"
)]
pub(super) struct RawExpect {
    pub(super) pod: Option<PodExpect>,
    pub(super) pods: Option<PodsExpect>,
    pub(super) node: Option<NodeExpect>,
    pub(super) pool: Option<PoolExpect>,
    pub(super) cluster: Option<ClusterExpect>,
    pub(super) host: Option<HostExpect>,
    pub(super) datastore: Option<DatastoreExpect>,
    pub(super) vms: Option<VmsExpect>,
    pub(super) vm: Option<VmExpect>,
    pub(super) events: Option<EventsExpect>,
    pub(super) container_events: Option<ContainerEventsExpect>,
    pub(super) portlayer: Option<PortLayerExpect>,
    pub(super) accounting: Option<AccountingExpect>,
    pub(super) rebuilt: Option<usize>,
}

/// A fault rule in its text form, checked as it is read (so serde reports its line).
pub(super) struct Rule(pub(super) FaultRule);

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rule;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fault rule `OP:KIND/NAME=[SKIP>][PROB%][MAX*]FAULT`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Rule, E> {
                s.parse().map(Rule).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A simulated duration: whole seconds, or a number with `ms`, `s`, `m`, `h` or `d`.
pub(super) struct Duration(pub(super) SimDuration);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `30s`, `1500ms`, `5m`, `2h` or `1d`")
            }
            fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Duration, E> {
                secs.checked_mul(1000)
                    .map(|ms| Duration(SimDuration::from_millis(ms)))
                    .ok_or_else(|| E::custom(format!("duration of {secs} s is too long")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
                parse_duration(s).map(Duration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(digits);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as `30s`, `1500ms`, `5m`, `2h`"))?;
    let ms_per = match unit {
        "ms" => 1,
        "s" | "" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}`; use ms, s, m, h or d"
            ));
        }
    };
    n.checked_mul(ms_per)
        .and_then(|ms| ms.checked_mul(1000).map(|_| ms))
        .map(SimDuration::from_millis)
        .ok_or_else(|| format!("duration `{s}` is too long"))
}

/// A container limit: a count, or `unlimited`.
pub(super) struct Limit(pub(super) Option<u32>);

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Limit;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a container count or `unlimited`")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Limit, E> {
                u32::try_from(n)
                    .map(|n| Limit(Some(n)))
                    .map_err(|_| E::custom(format!("container limit {n} is too large")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Limit, E> {
                u64::try_from(n)
                    .map_err(|_| E::custom(format!("container limit {n} is negative")))
                    .and_then(|n| self.visit_u64(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Limit, E> {
                match s {
                    "unlimited" => Ok(Limit(None)),
                    _ => Err(E::custom(format!(
                        "`{s}` is not a container count or `unlimited`"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

// ----- settings ------------------------------------------------------------------------------

pub(super) fn inventory(
    cx: &Cx<'_>,
    raw: Option<&RawInventory>,
    base: &Path,
) -> Result<(InventorySpec, String), FileError> {
    match raw {
        None => Ok((InventorySpec::default_vcenter(), "built-in".into())),
        Some(RawInventory {
            file: Some(f),
            toml: None,
        }) => {
            let path = base.join(f);
            let spec =
                load_inventory(&path).map_err(|e| cx.err("inventory.file", e.to_string()))?;
            Ok((spec, f.clone()))
        }
        Some(RawInventory {
            file: None,
            toml: Some(text),
        }) => {
            let spec = parse_inventory(text, "inline").map_err(|e| {
                // A block scalar (`toml: |`) starts on the line after its key.
                let mut err = cx.err("inventory.toml", format!("{}: {}", e.key(), e.message()));
                err.line = err.line.map(|l| l + e.line().unwrap_or(0));
                err
            })?;
            Ok((spec, "inline".into()))
        }
        Some(_) => Err(cx.err(
            "inventory",
            "give either `file` (a TOML inventory file) or `toml` (inline TOML)",
        )),
    }
}

pub(super) fn vch(cx: &Cx<'_>, raw: RawVch) -> Result<VchConfig, FileError> {
    let mut v = VchConfig::new(raw.name.as_deref().unwrap_or("vch-1"));
    if v.name.is_empty() {
        return Err(cx.err("vch.name", "the VCH needs a name"));
    }
    if let Some(c) = raw.compute {
        v.compute = c;
    }
    if let Some(ds) = raw.datastore {
        v.volume_stores = [("default".to_string(), ds.clone())].into();
        v.image_datastore = ds;
    }
    v.container_limit = raw.container_limit;
    v.storage_quota_gb = raw.storage_quota_gb;
    v.cpu_limit_mhz = raw.cpu_limit_mhz;
    v.memory_limit_mb = raw.memory_limit_mb;
    v.cpu_reservation_mhz = raw.cpu_reservation_mhz.unwrap_or(0);
    v.memory_reservation_mb = raw.memory_reservation_mb.unwrap_or(0);
    if let Some(n) = raw.endpoint_cpus {
        v.endpoint_cpus = n;
    }
    if let Some(m) = raw.endpoint_memory_mb {
        v.endpoint_memory_mb = m;
    }
    if let Some(b) = raw.build {
        v.build = VicBuild::new(&b.version, &b.build, &b.commit);
    }
    Ok(v)
}

pub(super) fn node(raw: RawNode) -> NodeConfig {
    let mut n = NodeConfig::default();
    if let Some(p) = raw.max_pods {
        n.max_pods = p;
    }
    if let Some(r) = raw.cpu_rule {
        n.cpu_rule = match r {
            CpuRuleName::PerCore => CpuRule::PerCore,
            CpuRuleName::Mhz1000 => CpuRule::Mhz1000,
        };
    }
    if let Some(m) = raw.mhz_per_core {
        n.mhz_per_core = m;
    }
    if let Some(ip) = raw.internal_ip {
        n.internal_ip = ip;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_units() {
        assert_eq!(parse_duration("30s"), Ok(SimDuration::from_secs(30)));
        assert_eq!(parse_duration("1500ms"), Ok(SimDuration::from_millis(1500)));
        assert_eq!(parse_duration("5m"), Ok(SimDuration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(SimDuration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(SimDuration::from_secs(86_400)));
        assert!(
            parse_duration("5y")
                .unwrap_err()
                .contains("unknown unit `y`")
        );
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(parse_duration("18446744073709551615d").is_err());
    }
}
