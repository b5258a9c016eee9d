//! The scenario file format (YAML) and its checks. README.md's "Scenario files" section is the
//! reference; in short:
//!
//! ```yaml
//! description: what the scenario shows
//! seed: 7                         # the world's RNG seed
//! inventory: {file: lab.toml}     # or {toml: "..."}; the built-in inventory when absent
//! latency: zero                   # or vcenter
//! usage: esx                      # or no_overhead (VMs reserve no memory overhead)
//! vch: {name: vch-1, compute: DC0_C0, datastore: sharedDS, container_limit: 3}
//! node: {max_pods: 110, cpu_rule: per_core}
//! faults: ["PowerOnVM_Task:vm/default-web-*=1*InsufficientResourcesFault"]
//! steps:
//!   - apply: {apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {...}}
//!     expect:
//!       - pod: {name: default/web, phase: Running, ip: true}
//!   - delete: default/web
//! ```
//!
//! Parsing is two passes: serde (serde_yaml_ng) rejects unknown fields and wrong types with the
//! line it stopped at; then the checks here reject values that are well-typed but wrong, using
//! [`Lines`] to turn the value's path into a line. Pod manifests are real Kubernetes YAML read
//! into `k8s_openapi`'s `Pod`, which ignores unknown fields as the API server does by default;
//! a file is stricter (a typo in a manifest would silently change what a scenario tests), so
//! every manifest key must survive a round trip through `Pod`.

use std::fmt;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use provider::node::{CpuRule, NodeConfig};
use provider::quantity::{cpu_millis, memory_bytes};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use vcsim_lite::portlayer::VchConfig;
use vcsim_lite::sim::SimDuration;
use vcsim_lite::sim::event::EventKind;
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::guest::VicBuild;
use vcsim_lite::vsphere::inventory_file::{load_inventory, parse_inventory};
use vcsim_lite::vsphere::{InventorySpec, LatencyProfile, UsageModel};

use super::FileError;
use super::expect::{
    AccountingExpect, ClusterExpect, ContainerEventsExpect, DatastoreExpect, ErrorExpect,
    EventsExpect, Expectation, HostExpect, NodeExpect, NodeResources, PodExpect, PodsExpect,
    PoolExpect, PortLayerExpect, VmExpect, VmsExpect,
};
use super::locate::Lines;

/// A checked scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file, as named when loaded.
    pub file: String,
    /// What the scenario shows.
    pub description: String,
    /// The world's RNG seed.
    pub seed: u64,
    /// The inventory.
    pub inventory: InventorySpec,
    /// Where the inventory came from (`built-in`, a file, `inline`).
    pub inventory_source: String,
    /// Task latencies.
    pub latency: LatencyProfile,
    /// VM overhead and CPU demand.
    pub usage: UsageModel,
    /// The VCH, as vic-machine is told.
    pub vch: VchConfig,
    /// The provider's node settings.
    pub node: NodeConfig,
    /// Fault rules in force from the first step (not during setup).
    pub faults: Vec<FaultRule>,
    /// The steps.
    pub steps: Vec<Step>,
    pub(crate) lines: Lines,
}

impl Scenario {
    /// The error for a value at `path` that setup (which knows the world) rejects.
    pub(crate) fn error_at(&self, path: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: self.file.clone(),
            line: self.lines.line_of(path),
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// One step: an action (or none: a step of expectations only), then expectations.
#[derive(Clone, Debug)]
pub struct Step {
    /// `steps[i]`.
    pub path: String,
    /// The step's line.
    pub line: Option<usize>,
    /// A note shown in the report.
    pub note: Option<String>,
    /// What the step does.
    pub action: Action,
    /// The error the action should fail with; `None`: it should succeed.
    pub error: Option<ErrorExpect>,
    /// What must hold after the step.
    pub expect: Vec<Expect>,
}

/// An expectation with its place in the file.
#[derive(Clone, Debug)]
pub struct Expect {
    /// `steps[i].expect[j]`.
    pub path: String,
    /// What is expected.
    pub what: Expectation,
}

/// A pod by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodRef {
    /// The namespace (`default` when the file gives a bare name).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl fmt::Display for PodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// `namespace/name`, or a bare name in `default`.
pub fn split_pod(s: &str) -> (&str, &str) {
    s.split_once('/').unwrap_or(("default", s))
}

fn pod_ref(s: &str) -> Result<PodRef, String> {
    let (ns, name) = split_pod(s);
    if ns.is_empty() || name.is_empty() || name.contains('/') {
        return Err(format!(
            "`{s}` is not a pod reference; write `namespace/name` or `name`"
        ));
    }
    Ok(PodRef {
        namespace: ns.into(),
        name: name.into(),
    })
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Nothing: the step only checks its expectations.
    Check,
    /// Create the pod, or update it if the provider has it.
    Apply(Box<Pod>),
    /// Delete the pod.
    Delete(PodRef),
    /// Move simulated time forward.
    Advance(SimDuration),
    /// Put a fault rule in force.
    AddFault(FaultRule),
    /// Take a fault rule out of force.
    RemoveFault(FaultRule),
    /// `EnterMaintenanceMode_Task` on the host.
    EnterMaintenance(String),
    /// `ExitMaintenanceMode_Task`.
    ExitMaintenance(String),
    /// `DisconnectHost_Task`: the host fails.
    DisconnectHost(String),
    /// `ReconnectHost_Task`.
    ReconnectHost(String),
    /// Drop the provider, build a new one over the same stack, `rebuild()` it.
    RestartProvider,
    /// Change the VCH's container limit (`None`: unlimited).
    ContainerLimit(Option<u32>),
    /// Pull an image through the persona.
    Pull(String),
    /// Port layer: a fresh handle on the pod's VM, kept under a name.
    TakeHandle {
        /// Whose pod VM.
        pod: PodRef,
        /// The name later steps use.
        name: String,
    },
    /// Port layer: set the handle's target state.
    ChangeState {
        /// The handle's name.
        handle: String,
        /// `RUNNING`, `STOPPED` or `CREATED`.
        state: &'static str,
    },
    /// Port layer: allocate the handle's container IPs (`scopes bind`).
    Bind(String),
    /// Port layer: rename the handle's container.
    Rename {
        /// The handle's name.
        handle: String,
        /// The new container name.
        to: String,
    },
    /// Port layer: commit the handle.
    Commit(String),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Check => write!(f, "check"),
            Action::Apply(p) => {
                let (ns, name) = manifest_key(p);
                write!(f, "apply {ns}/{name}")
            }
            Action::Delete(p) => write!(f, "delete {p}"),
            Action::Advance(d) => write!(f, "advance {}", show_duration(*d)),
            Action::AddFault(r) => write!(f, "add fault {r}"),
            Action::RemoveFault(r) => write!(f, "remove fault {r}"),
            Action::EnterMaintenance(h) => write!(f, "enter maintenance {h}"),
            Action::ExitMaintenance(h) => write!(f, "exit maintenance {h}"),
            Action::DisconnectHost(h) => write!(f, "disconnect host {h}"),
            Action::ReconnectHost(h) => write!(f, "reconnect host {h}"),
            Action::RestartProvider => write!(f, "restart provider"),
            Action::ContainerLimit(Some(n)) => write!(f, "container limit {n}"),
            Action::ContainerLimit(None) => write!(f, "container limit unlimited"),
            Action::Pull(r) => write!(f, "pull {r}"),
            Action::TakeHandle { pod, name } => write!(f, "take handle {name} on {pod}"),
            Action::ChangeState { handle, state } => write!(f, "handle {handle}: state {state}"),
            Action::Bind(h) => write!(f, "handle {h}: bind"),
            Action::Rename { handle, to } => write!(f, "handle {handle}: rename to {to}"),
            Action::Commit(h) => write!(f, "commit handle {h}"),
        }
    }
}

/// The duration in its largest exact unit, as a file would write it.
fn show_duration(d: SimDuration) -> String {
    let ms = d.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    for (per, unit) in units {
        if ms >= per && ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

/// The pod's namespace (`default` when unset) and name.
pub fn manifest_key(pod: &Pod) -> (String, String) {
    provider::cache::pod_key(pod)
}

// ----- the file as written ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    inventory: Option<RawInventory>,
    #[serde(default)]
    latency: LatencyName,
    #[serde(default)]
    usage: UsageName,
    #[serde(default)]
    vch: RawVch,
    #[serde(default)]
    node: RawNode,
    #[serde(default)]
    faults: Vec<Rule>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInventory {
    file: Option<String>,
    toml: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum LatencyName {
    #[default]
    Zero,
    Vcenter,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum UsageName {
    #[default]
    Esx,
    NoOverhead,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVch {
    name: Option<String>,
    compute: Option<String>,
    datastore: Option<String>,
    container_limit: Option<u32>,
    storage_quota_gb: Option<u64>,
    cpu_limit_mhz: Option<u64>,
    memory_limit_mb: Option<u64>,
    cpu_reservation_mhz: Option<u64>,
    memory_reservation_mb: Option<u64>,
    endpoint_cpus: Option<u32>,
    endpoint_memory_mb: Option<u64>,
    build: Option<RawBuild>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuild {
    version: String,
    build: String,
    commit: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNode {
    max_pods: Option<u32>,
    cpu_rule: Option<CpuRuleName>,
    mhz_per_core: Option<u32>,
    internal_ip: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum CpuRuleName {
    PerCore,
    Mhz1000,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    note: Option<String>,
    apply: Option<Box<Pod>>,
    delete: Option<String>,
    advance: Option<Duration>,
    add_fault: Option<Rule>,
    remove_fault: Option<Rule>,
    enter_maintenance: Option<String>,
    exit_maintenance: Option<String>,
    disconnect_host: Option<String>,
    reconnect_host: Option<String>,
    restart_provider: Option<Empty>,
    container_limit: Option<Limit>,
    pull: Option<String>,
    take_handle: Option<RawTakeHandle>,
    change_state: Option<RawChangeState>,
    bind: Option<String>,
    rename: Option<RawRename>,
    commit: Option<String>,
    error: Option<ErrorExpect>,
    #[serde(default)]
    expect: Vec<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTakeHandle {
    pod: String,
    #[serde(rename = "as")]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChangeState {
    handle: String,
    to: StateName,
}

#[derive(Deserialize, Clone, Copy)]
enum StateName {
    #[serde(rename = "RUNNING")]
    Running,
    #[serde(rename = "STOPPED")]
    Stopped,
    #[serde(rename = "CREATED")]
    Created,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRename {
    handle: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    pod: Option<PodExpect>,
    pods: Option<PodsExpect>,
    node: Option<NodeExpect>,
    pool: Option<PoolExpect>,
    cluster: Option<ClusterExpect>,
    host: Option<HostExpect>,
    datastore: Option<DatastoreExpect>,
    vms: Option<VmsExpect>,
    vm: Option<VmExpect>,
    events: Option<EventsExpect>,
    container_events: Option<ContainerEventsExpect>,
    portlayer: Option<PortLayerExpect>,
    accounting: Option<AccountingExpect>,
    rebuilt: Option<usize>,
}

/// A fault rule in its text form, checked as it is read (so serde reports its line).
struct Rule(FaultRule);

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
struct Duration(SimDuration);

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
struct Limit(Option<u32>);

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

// ----- loading and checking -----------------------------------------------------------------

/// Reads and checks the scenario file at `path`; inventory files are found relative to it.
pub fn load(path: &Path) -> Result<Scenario, FileError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        file: file.clone(),
        line: None,
        path: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, base)
}

/// Parses and checks scenario text; `file` names it in errors and `base` is the directory
/// inventory files are relative to.
pub fn parse(text: &str, file: &str, base: &Path) -> Result<Scenario, FileError> {
    let lines = Lines::index(text);
    let raw: RawFile = serde_yaml_ng::from_str(text).map_err(|e| serde_error(file, &e))?;
    let cx = Cx {
        file,
        lines: &lines,
    };
    let (inventory, inventory_source) = inventory(&cx, raw.inventory.as_ref(), base)?;
    let doc = manifests_doc(text);
    let mut steps = Vec::with_capacity(raw.steps.len());
    let mut handles: Vec<String> = Vec::new();
    for (i, s) in raw.steps.into_iter().enumerate() {
        let path = format!("steps[{i}]");
        let raw_manifest = doc.as_ref().and_then(|d| d.get(i));
        steps.push(step(&cx, &path, i, s, raw_manifest, &mut handles)?);
    }
    Ok(Scenario {
        file: file.to_string(),
        description: raw.description,
        seed: raw.seed,
        inventory,
        inventory_source,
        latency: match raw.latency {
            LatencyName::Zero => LatencyProfile::zero(),
            LatencyName::Vcenter => LatencyProfile::vcenter(),
        },
        usage: match raw.usage {
            UsageName::Esx => UsageModel::ESX,
            UsageName::NoOverhead => UsageModel::NO_OVERHEAD,
        },
        vch: vch(&cx, raw.vch)?,
        node: node(raw.node),
        faults: raw.faults.into_iter().map(|r| r.0).collect(),
        steps,
        lines,
    })
}

/// What the checks need to name a place in the file.
struct Cx<'a> {
    file: &'a str,
    lines: &'a Lines,
}

impl Cx<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> FileError {
        FileError {
            file: self.file.to_string(),
            line: self.lines.line_of(path),
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// serde_yaml_ng's message already starts with the path; its location goes into the line.
fn serde_error(file: &str, e: &serde_yaml_ng::Error) -> FileError {
    let mut message = e.to_string();
    let line = e.location().map(|l| {
        let at = format!(" at line {} column {}", l.line(), l.column());
        message = message.replacen(&at, "", 1);
        l.line()
    });
    FileError {
        file: file.to_string(),
        line,
        path: String::new(),
        message,
    }
}

fn inventory(
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

fn vch(cx: &Cx<'_>, raw: RawVch) -> Result<VchConfig, FileError> {
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

fn node(raw: RawNode) -> NodeConfig {
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

/// The raw `apply:` value of each step as JSON (`None` for other steps), to find manifest keys
/// `Pod` does not know. `None` if the text cannot be read as plain YAML values.
fn manifests_doc(text: &str) -> Option<Vec<Option<serde_json::Value>>> {
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
    doc.apply_merge().ok()?;
    let steps = doc.get("steps")?.as_sequence()?;
    Some(
        steps
            .iter()
            .map(|s| s.get("apply").and_then(|m| serde_json::to_value(m).ok()))
            .collect(),
    )
}

fn step(
    cx: &Cx<'_>,
    path: &str,
    index: usize,
    s: RawStep,
    raw_manifest: Option<&Option<serde_json::Value>>,
    handles: &mut Vec<String>,
) -> Result<Step, FileError> {
    let mut actions: Vec<(&str, Action)> = Vec::new();
    let known_handle = |key: &str, h: &str, handles: &[String]| {
        if handles.iter().any(|k| k == h) {
            Ok(h.to_string())
        } else {
            Err(cx.err(
                &format!("{path}.{key}"),
                format!(
                    "handle `{h}` is not taken by an earlier step (`take_handle: {{as: {h}}}`)"
                ),
            ))
        }
    };
    if let Some(pod) = s.apply {
        let p = format!("{path}.apply");
        check_manifest(cx, &p, &pod, raw_manifest.and_then(|m| m.as_ref()))?;
        actions.push(("apply", Action::Apply(pod)));
    }
    if let Some(d) = s.delete {
        let r = pod_ref(&d).map_err(|m| cx.err(&format!("{path}.delete"), m))?;
        actions.push(("delete", Action::Delete(r)));
    }
    if let Some(d) = s.advance {
        actions.push(("advance", Action::Advance(d.0)));
    }
    if let Some(r) = s.add_fault {
        actions.push(("add_fault", Action::AddFault(r.0)));
    }
    if let Some(r) = s.remove_fault {
        actions.push(("remove_fault", Action::RemoveFault(r.0)));
    }
    let hosts = [
        (
            "enter_maintenance",
            s.enter_maintenance,
            Action::EnterMaintenance as fn(String) -> Action,
        ),
        (
            "exit_maintenance",
            s.exit_maintenance,
            Action::ExitMaintenance,
        ),
        ("disconnect_host", s.disconnect_host, Action::DisconnectHost),
        ("reconnect_host", s.reconnect_host, Action::ReconnectHost),
    ];
    for (key, host, make) in hosts {
        if let Some(h) = host {
            actions.push((key, make(h)));
        }
    }
    if s.restart_provider.is_some() {
        actions.push(("restart_provider", Action::RestartProvider));
    }
    if let Some(l) = s.container_limit {
        actions.push(("container_limit", Action::ContainerLimit(l.0)));
    }
    if let Some(r) = s.pull {
        if r.is_empty() {
            return Err(cx.err(
                &format!("{path}.pull"),
                "name an image, e.g. `busybox:1.36`",
            ));
        }
        actions.push(("pull", Action::Pull(r)));
    }
    if let Some(t) = s.take_handle {
        let pod = pod_ref(&t.pod).map_err(|m| cx.err(&format!("{path}.take_handle.pod"), m))?;
        if t.name.is_empty() {
            return Err(cx.err(&format!("{path}.take_handle.as"), "name the handle"));
        }
        handles.push(t.name.clone());
        actions.push(("take_handle", Action::TakeHandle { pod, name: t.name }));
    }
    if let Some(c) = s.change_state {
        let handle = known_handle("change_state.handle", &c.handle, handles)?;
        let state = match c.to {
            StateName::Running => "RUNNING",
            StateName::Stopped => "STOPPED",
            StateName::Created => "CREATED",
        };
        actions.push(("change_state", Action::ChangeState { handle, state }));
    }
    if let Some(h) = s.bind {
        actions.push(("bind", Action::Bind(known_handle("bind", &h, handles)?)));
    }
    if let Some(r) = s.rename {
        let handle = known_handle("rename.handle", &r.handle, handles)?;
        actions.push(("rename", Action::Rename { handle, to: r.to }));
    }
    if let Some(h) = s.commit {
        actions.push((
            "commit",
            Action::Commit(known_handle("commit", &h, handles)?),
        ));
    }
    let action = match actions.len() {
        0 if s.expect.is_empty() => {
            return Err(cx.err(
                path,
                "a step needs an action (apply, delete, advance, ...) or expectations",
            ));
        }
        0 => Action::Check,
        1 => actions.pop().map(|(_, a)| a).unwrap_or(Action::Check),
        _ => {
            let keys: Vec<&str> = actions.iter().map(|(k, _)| *k).collect();
            return Err(cx.err(
                path,
                format!("a step has one action; this one has {}", keys.join(" and ")),
            ));
        }
    };
    if let Some(e) = &s.error
        && e.reason.is_none()
        && e.status.is_none()
        && e.message.is_none()
    {
        return Err(cx.err(
            &format!("{path}.error"),
            "say what error: `reason`, `status` or `message`",
        ));
    }
    if s.error.is_some() && matches!(action, Action::Check) {
        return Err(cx.err(
            &format!("{path}.error"),
            "a step without an action cannot fail",
        ));
    }
    let restart = matches!(action, Action::RestartProvider);
    let mut expect = Vec::with_capacity(s.expect.len());
    for (j, e) in s.expect.into_iter().enumerate() {
        let p = format!("{path}.expect[{j}]");
        let what = expectation(cx, &p, e, index, restart)?;
        expect.push(Expect { path: p, what });
    }
    Ok(Step {
        path: path.to_string(),
        line: cx.lines.line_of(path),
        note: s.note,
        action,
        error: s.error,
        expect,
    })
}

fn expectation(
    cx: &Cx<'_>,
    path: &str,
    e: RawExpect,
    step_index: usize,
    restart: bool,
) -> Result<Expectation, FileError> {
    let mut kinds: Vec<(&str, Expectation)> = Vec::new();
    if let Some(p) = e.pod {
        pod_ref(&p.name).map_err(|m| cx.err(&format!("{path}.pod.name"), m))?;
        kinds.push(("pod", Expectation::Pod(p)));
    }
    if let Some(p) = e.pods {
        kinds.push(("pods", Expectation::Pods(p)));
    }
    if let Some(n) = e.node {
        for (set, r) in [("capacity", &n.capacity), ("allocatable", &n.allocatable)] {
            if let Some(r) = r {
                check_node_resources(cx, &format!("{path}.node.{set}"), r)?;
            }
        }
        kinds.push(("node", Expectation::Node(n)));
    }
    if let Some(p) = e.pool {
        kinds.push(("pool", Expectation::Pool(p)));
    }
    if let Some(c) = e.cluster {
        kinds.push(("cluster", Expectation::Cluster(c)));
    }
    if let Some(h) = e.host {
        kinds.push(("host", Expectation::Host(h)));
    }
    if let Some(d) = e.datastore {
        kinds.push(("datastore", Expectation::Datastore(d)));
    }
    if let Some(v) = e.vms {
        if v.count.is_none() && v.powered_on.is_none() {
            return Err(cx.err(&format!("{path}.vms"), "give `count` or `powered_on`"));
        }
        kinds.push(("vms", Expectation::Vms(v)));
    }
    if let Some(v) = e.vm {
        match (&v.name, &v.pod) {
            (Some(_), None) => {}
            (None, Some(p)) => {
                pod_ref(p).map_err(|m| cx.err(&format!("{path}.vm.pod"), m))?;
            }
            _ => {
                return Err(cx.err(
                    &format!("{path}.vm"),
                    "name the VM by `name` or by `pod`, not both",
                ));
            }
        }
        kinds.push(("vm", Expectation::Vm(v)));
    }
    if let Some(ev) = e.events {
        let Some(kind) = EventKind::from_name(&ev.kind) else {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(cx.err(
                &format!("{path}.events.type"),
                format!(
                    "unknown event type `{}`; known: {}",
                    ev.kind,
                    known.join(", ")
                ),
            ));
        };
        kinds.push(("events", Expectation::Events(kind, ev.count)));
    }
    if let Some(c) = e.container_events {
        const KNOWN: [&str; 5] = ["Created", "Started", "Stopped", "Removed", "Failed"];
        if !KNOWN.contains(&c.event.as_str()) {
            return Err(cx.err(
                &format!("{path}.container_events.event"),
                format!(
                    "unknown container event `{}`; known: {}",
                    c.event,
                    KNOWN.join(", ")
                ),
            ));
        }
        kinds.push(("container_events", Expectation::ContainerEvents(c)));
    }
    if let Some(p) = e.portlayer {
        kinds.push(("portlayer", Expectation::PortLayer(p)));
    }
    if let Some(a) = e.accounting {
        let at = format!("{path}.accounting.same_as");
        let snapshot = match a.same_as.as_str() {
            "setup" => 0,
            n => match n.parse::<usize>() {
                // Step N (1-based) is snapshot N; this step is step_index + 1.
                Ok(n) if n >= 1 && n <= step_index => n,
                _ => {
                    return Err(cx.err(
                        &at,
                        format!("`{n}` is neither `setup` nor the number of an earlier step"),
                    ));
                }
            },
        };
        kinds.push(("accounting", Expectation::Accounting(snapshot)));
    }
    if let Some(n) = e.rebuilt {
        if !restart {
            return Err(cx.err(
                &format!("{path}.rebuilt"),
                "`rebuilt` is checked only on a `restart_provider` step",
            ));
        }
        kinds.push(("rebuilt", Expectation::Rebuilt(n)));
    }
    if kinds.len() > 1 {
        let keys: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        return Err(cx.err(
            path,
            format!(
                "one check per list item; this one has {}",
                keys.join(" and ")
            ),
        ));
    }
    kinds.pop().map(|(_, k)| k).ok_or_else(|| {
        cx.err(
            path,
            "an expectation names what it checks: pod, node, pool, ...",
        )
    })
}

fn check_node_resources(cx: &Cx<'_>, path: &str, r: &NodeResources) -> Result<(), FileError> {
    if let Some(c) = &r.cpu {
        cpu_millis(c).map_err(|e| cx.err(&format!("{path}.cpu"), e.to_string()))?;
    }
    if let Some(m) = &r.memory {
        memory_bytes(m).map_err(|e| cx.err(&format!("{path}.memory"), e.to_string()))?;
    }
    Ok(())
}

/// What the provider will read from the manifest must be readable, and every key the file
/// gives must be one `Pod` knows.
fn check_manifest(
    cx: &Cx<'_>,
    path: &str,
    pod: &Pod,
    raw: Option<&serde_json::Value>,
) -> Result<(), FileError> {
    if let (Some(raw), Ok(known)) = (raw, serde_json::to_value(pod))
        && let Some(unknown) = unknown_key(raw, &known, path)
    {
        let (parent, key) = unknown.rsplit_once('.').unwrap_or(("", &unknown));
        let message = if key == "<<" {
            "YAML merge keys (`<<`) are not supported; repeat the manifest, or reuse a whole \
             one with an alias (`apply: *web`)"
                .to_string()
        } else {
            format!(
                "unknown field `{key}` in {} (not part of a Kubernetes Pod)",
                short(parent)
            )
        };
        return Err(cx.err(&unknown, message));
    }
    if pod.metadata.name.as_deref().unwrap_or("").is_empty() {
        return Err(cx.err(&format!("{path}.metadata"), "a pod needs `metadata.name`"));
    }
    let Some(spec) = &pod.spec else {
        return Err(cx.err(path, "a pod needs a `spec`"));
    };
    for (i, c) in spec.containers.iter().enumerate() {
        let Some(res) = &c.resources else { continue };
        for (set, map) in [("requests", &res.requests), ("limits", &res.limits)] {
            for (name, q) in map.iter().flatten() {
                let parsed = match name.as_str() {
                    "cpu" => cpu_millis(&q.0).map(|_| ()),
                    "memory" => memory_bytes(&q.0).map(|_| ()),
                    _ => Ok(()),
                };
                parsed.map_err(|e| {
                    cx.err(
                        &format!("{path}.spec.containers[{i}].resources.{set}.{name}"),
                        e.to_string(),
                    )
                })?;
            }
        }
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        if let Some(q) = v.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()) {
            memory_bytes(&q.0).map_err(|e| {
                cx.err(
                    &format!("{path}.spec.volumes[{i}].emptyDir.sizeLimit"),
                    e.to_string(),
                )
            })?;
        }
    }
    Ok(())
}

/// The last segment of a path, for messages.
fn short(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The path of the first key of `raw` (with a non-null value) that `known` lacks.
fn unknown_key(raw: &serde_json::Value, known: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (raw, known) {
        (Value::Object(r), Value::Object(k)) => r.iter().find_map(|(key, v)| {
            let p = format!("{path}.{key}");
            match k.get(key) {
                Some(kv) => unknown_key(v, kv, &p),
                None if v.is_null() => None,
                None => Some(p),
            }
        }),
        (Value::Array(r), Value::Array(k)) => r
            .iter()
            .zip(k)
            .enumerate()
            .find_map(|(i, (rv, kv))| unknown_key(rv, kv, &format!("{path}[{i}]"))),
        _ => None,
    }
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
        assert_eq!(show_duration(SimDuration::from_secs(600)), "10m");
        assert_eq!(show_duration(SimDuration::from_secs(90)), "90s");
        assert_eq!(show_duration(SimDuration::from_millis(1500)), "1500ms");
        assert_eq!(show_duration(SimDuration::from_secs(7200)), "2h");
    }

    #[test]
    fn pod_references_default_to_the_default_namespace() {
        assert_eq!(
            pod_ref("web").map(|r| r.to_string()),
            Ok("default/web".into())
        );
        assert_eq!(pod_ref("a/web").map(|r| r.to_string()), Ok("a/web".into()));
        assert!(pod_ref("a/b/c").is_err());
        assert!(pod_ref("/web").is_err());
        assert!(pod_ref("").is_err());
    }
}
