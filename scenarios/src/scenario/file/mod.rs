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
//!
//! - `raw`: the file as written (serde types) and the settings it gives.
//! - `steps`: steps and expectations checked and turned into [`Step`]s.
//! - `manifest`: pod manifest checks.
//! - `action`: [`Action`], what a step does.

mod action;
mod manifest;
mod raw;
mod steps;

use std::fmt;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use provider::node::NodeConfig;
use vcsim_lite::portlayer::VchConfig;
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::{InventorySpec, LatencyProfile, UsageModel};

pub use action::Action;
use manifest::manifests_doc;
use raw::{LatencyName, RawFile, UsageName, inventory, node, vch};
use steps::step;

use super::FileError;
use super::expect::{ErrorExpect, Expectation};
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

/// The pod's namespace (`default` when unset) and name.
pub fn manifest_key(pod: &Pod) -> (String, String) {
    provider::cache::pod_key(pod)
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
    if raw.steps.is_empty() {
        return Err(cx.err("steps", "a scenario needs at least one step"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
