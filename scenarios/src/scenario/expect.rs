//! Expectations: what a step may assert about the pods, the node, the world's accounting, the
//! VMs, the event log and the port layer, and how each is compared with the running stack.
//!
//! Every comparison yields [`Check`]s, one per asserted figure, each with the expected and the
//! actual value as text, so the report can show exactly what differed. Figures are compared
//! exactly; `message` fields match a substring and `guest` fields a glob, because those texts
//! carry ids and versions a file should not have to spell out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use provider::quantity::{cpu_millis, memory_bytes};
use serde::Deserialize;
use vcsim_lite::sim::event::EventKind;
use vcsim_lite::vsphere::{PowerState, Resource, World};

use super::runner::Ctx;

/// One asserted figure: what was looked at, what the file expects, what the stack has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was looked at, e.g. `pod default/web phase`.
    pub subject: String,
    /// The expected value, as text.
    pub expected: String,
    /// The actual value, as text.
    pub actual: String,
    /// Whether they agree.
    pub ok: bool,
}

impl Check {
    fn eq(subject: String, expected: impl ToString, actual: impl ToString) -> Check {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        let ok = expected == actual;
        Check {
            subject,
            expected,
            actual,
            ok,
        }
    }

    fn contains(subject: String, needle: &str, haystack: &str) -> Check {
        Check {
            subject,
            expected: format!("contains {needle:?}"),
            actual: format!("{haystack:?}"),
            ok: haystack.contains(needle),
        }
    }

    fn glob(subject: String, pattern: &str, actual: &str) -> Check {
        Check {
            ok: name_matches(pattern, actual),
            subject,
            expected: pattern.to_string(),
            actual: actual.to_string(),
        }
    }
}

/// A pattern with glob characters matches as a glob, anything else exactly.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if pattern.contains(['*', '?', '[']) {
        glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
    } else {
        pattern == name
    }
}

/// `pod:` the pod as the provider reports it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PodExpect {
    /// `namespace/name` (a bare name is in `default`).
    pub name: String,
    /// Whether the provider knows the pod (default true).
    pub exists: Option<bool>,
    /// `status.phase`.
    pub phase: Option<String>,
    /// `status.reason`, exactly.
    pub reason: Option<String>,
    /// A substring of `status.message`.
    pub message: Option<String>,
    /// Whether `status.podIP` is set.
    pub ip: Option<bool>,
    /// Container statuses, by container name.
    pub containers: Option<Vec<ContainerExpect>>,
}

/// One container's status.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContainerExpect {
    /// The container's name in the pod spec.
    pub name: String,
    /// `running`, `waiting` or `terminated`.
    pub state: Option<StateName>,
    /// The waiting or terminated reason.
    pub reason: Option<String>,
    /// A substring of the waiting or terminated message.
    pub message: Option<String>,
    /// The terminated exit code.
    pub exit_code: Option<i32>,
    /// `ready`.
    pub ready: Option<bool>,
}

/// A container state's name.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    /// `state.running`.
    Running,
    /// `state.waiting`.
    Waiting,
    /// `state.terminated`.
    Terminated,
}

/// `pods:` how many pods the provider knows.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PodsExpect {
    /// The number of pods.
    pub count: usize,
}

/// `node:` the node's capacity and allocatable resources.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeExpect {
    /// `status.capacity`.
    pub capacity: Option<NodeResources>,
    /// `status.allocatable`.
    pub allocatable: Option<NodeResources>,
}

/// Node resources as Kubernetes quantities; compared by value (`4Gi` equals `4194304Ki`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeResources {
    /// CPU, e.g. `2` or `1500m`.
    pub cpu: Option<String>,
    /// Memory, e.g. `4Gi`.
    pub memory: Option<String>,
    /// Pod count.
    pub pods: Option<u64>,
}

/// `pool:` a resource pool's reservations and usage (vSphere's `reservationUsed`,
/// `unreservedForVm` and `overallUsage`), CPU in MHz, memory in MB (MiB).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PoolExpect {
    /// `CLUSTER[/POOL/...]`, e.g. `DC0_C0/vch-1`.
    pub path: String,
    /// CPU reserved by child pools and powered-on VMs.
    pub cpu_reserved_mhz: Option<u64>,
    /// Memory reserved (with VM overhead).
    pub memory_reserved_mb: Option<u64>,
    /// CPU a VM here could still reserve, borrowing through expandable pools.
    pub cpu_unreserved_mhz: Option<u64>,
    /// Memory a VM here could still reserve.
    pub memory_unreserved_mb: Option<u64>,
    /// CPU demand of the pool's powered-on VMs.
    pub cpu_usage_mhz: Option<u64>,
    /// Memory used by the pool's powered-on VMs.
    pub memory_usage_mb: Option<u64>,
}

/// `cluster:` a cluster (or standalone host's compute resource) as its root pool sees it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterExpect {
    /// The cluster's name.
    pub name: String,
    /// Usable CPU: cores x MHz of its connected hosts not in maintenance.
    pub cpu_capacity_mhz: Option<u64>,
    /// Usable memory: memory less hypervisor overhead of those hosts.
    pub memory_capacity_mb: Option<u64>,
    /// CPU reserved in the cluster.
    pub cpu_reserved_mhz: Option<u64>,
    /// Memory reserved in the cluster.
    pub memory_reserved_mb: Option<u64>,
    /// CPU demand in the cluster.
    pub cpu_usage_mhz: Option<u64>,
    /// Memory used in the cluster.
    pub memory_usage_mb: Option<u64>,
}

/// `host:` one host's state and what its powered-on VMs hold.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HostExpect {
    /// The host's name.
    pub name: String,
    /// CPU reserved by powered-on VMs.
    pub cpu_reserved_mhz: Option<u64>,
    /// Memory reserved (with overhead).
    pub memory_reserved_mb: Option<u64>,
    /// CPU demand.
    pub cpu_usage_mhz: Option<u64>,
    /// Memory used.
    pub memory_usage_mb: Option<u64>,
    /// VMs registered on the host.
    pub vms: Option<usize>,
    /// Powered-on VMs on the host.
    pub running: Option<usize>,
    /// Connection state.
    pub connected: Option<bool>,
    /// Maintenance mode.
    pub maintenance: Option<bool>,
}

/// `datastore:` space on a datastore, in MB (MiB).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DatastoreExpect {
    /// The datastore's name.
    pub name: String,
    /// Free space.
    pub free_mb: Option<u64>,
    /// Space taken by disks and swap files.
    pub used_mb: Option<u64>,
}

/// `vms:` how many VMs there are, optionally only those whose guestFullName matches.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VmsExpect {
    /// A guestFullName or glob (`Photon - Container *`); all VMs when absent.
    pub guest: Option<String>,
    /// VMs matching.
    pub count: Option<usize>,
    /// Powered-on VMs matching.
    pub powered_on: Option<usize>,
}

/// `vm:` one VM, by name or by the pod it runs.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VmExpect {
    /// The VM's name (a glob is allowed; it must match exactly one VM).
    pub name: Option<String>,
    /// The pod (`namespace/name`) whose pod VM this is.
    pub pod: Option<String>,
    /// Whether it exists (default true).
    pub exists: Option<bool>,
    /// `config.guestFullName` (exact, or a glob).
    pub guest: Option<String>,
    /// `poweredOn` or `poweredOff`.
    pub power_state: Option<String>,
    /// The host it is registered on.
    pub host: Option<String>,
    /// vCPUs.
    pub vcpus: Option<u32>,
    /// Memory, MB.
    pub memory_mb: Option<u64>,
}

/// `events:` how many vSphere events of a type the steps caused (setup excluded). As with
/// vCenter's event filters, a type matches its subtypes: `VmPoweredOnEvent` counts DRS
/// power-ons too.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EventsExpect {
    /// The vSphere event type, e.g. `DrsVmMigratedEvent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How many.
    pub count: usize,
}

/// `container_events:` how many port layer container events of a kind the steps caused.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ContainerEventsExpect {
    /// `Created`, `Started`, `Stopped`, `Removed` or `Failed`.
    pub event: String,
    /// How many.
    pub count: usize,
}

/// `portlayer:` what the port layer holds: leaks show up here.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PortLayerExpect {
    /// Committed containers.
    pub containers: Option<usize>,
    /// Bridge IPs allocated.
    pub ips: Option<usize>,
    /// Handles cached.
    pub handles: Option<usize>,
    /// Volumes.
    pub volumes: Option<usize>,
}

/// `accounting:` the world's reservations, usage and datastore space are what they were.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountingExpect {
    /// `setup`, or the number of an earlier step (as after that step).
    pub same_as: String,
}

/// An expectation, checked after its step.
#[derive(Clone, Debug, PartialEq)]
pub enum Expectation {
    /// `pod:`
    Pod(PodExpect),
    /// `pods:`
    Pods(PodsExpect),
    /// `node:`
    Node(NodeExpect),
    /// `pool:`
    Pool(PoolExpect),
    /// `cluster:`
    Cluster(ClusterExpect),
    /// `host:`
    Host(HostExpect),
    /// `datastore:`
    Datastore(DatastoreExpect),
    /// `vms:`
    Vms(VmsExpect),
    /// `vm:`
    Vm(VmExpect),
    /// `events:` (the type already checked to be a known one).
    Events(EventKind, usize),
    /// `container_events:`
    ContainerEvents(ContainerEventsExpect),
    /// `portlayer:`
    PortLayer(PortLayerExpect),
    /// `accounting:` with the snapshot index: 0 is setup, N is after step N.
    Accounting(usize),
    /// `rebuilt:` pods found by the last provider restart.
    Rebuilt(usize),
}

/// The step error a failing step is expected to give.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    /// The reason: a pod reason (`OutOfmemory`, `ErrImagePull`, `ProviderFailed`), a vSphere
    /// fault (`InvalidState`) or a port layer error (`ConcurrentAccess`, `NotFound`).
    pub reason: Option<String>,
    /// The Port Layer API status code, for port layer errors.
    pub status: Option<u16>,
    /// A substring of the message.
    pub message: Option<String>,
}

/// How a step failed: a reason, a status when the port layer or persona answered, a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    /// See [`ErrorExpect::reason`].
    pub reason: String,
    /// The API status code, if any.
    pub status: Option<u16>,
    /// The full message.
    pub message: String,
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        if let Some(s) = self.status {
            write!(f, " ({s})")?;
        }
        // Most messages already start with the reason (vSphere faults, kubelet rejections).
        let message = self
            .message
            .strip_prefix(&self.reason)
            .unwrap_or(&self.message);
        let message = message.strip_prefix(": ").unwrap_or(message);
        write!(f, ": {message}")
    }
}

/// Compares a step's outcome with its `error:` expectation (or with success, if none).
pub fn check_outcome(
    outcome: &Result<String, StepError>,
    want: Option<&ErrorExpect>,
) -> Vec<Check> {
    match (outcome, want) {
        (Ok(_), None) => Vec::new(),
        (Err(e), None) => vec![Check {
            subject: "step".into(),
            expected: "success".into(),
            actual: format!("error {e}"),
            ok: false,
        }],
        (Ok(done), Some(_)) => vec![Check {
            subject: "step".into(),
            expected: "an error".into(),
            actual: format!("success ({done})"),
            ok: false,
        }],
        (Err(e), Some(w)) => {
            let mut out = Vec::new();
            if let Some(r) = &w.reason {
                out.push(Check::eq("error reason".into(), r, &e.reason));
            }
            if let Some(s) = w.status {
                let actual = e.status.map_or("none".to_string(), |s| s.to_string());
                out.push(Check::eq("error status".into(), s, actual));
            }
            if let Some(m) = &w.message {
                out.push(Check::contains("error message".into(), m, &e.message));
            }
            out
        }
    }
}

/// Pushes a check for each figure the file asserts: `(name, expected, actual)`.
fn figures(out: &mut Vec<Check>, subject: &str, rows: &[(&str, Option<u64>, u64)]) {
    for (name, want, got) in rows {
        if let Some(want) = want {
            out.push(Check::eq(format!("{subject} {name}"), want, got));
        }
    }
}

/// The checks of one expectation against the stack.
pub(crate) fn check(e: &Expectation, ctx: &Ctx<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    match e {
        Expectation::Pod(p) => check_pod(p, ctx, &mut out),
        Expectation::Pods(p) => {
            let n = ctx.provider.get_pods().len();
            out.push(Check::eq("pods count".into(), p.count, n));
        }
        Expectation::Node(n) => check_node(n, ctx, &mut out),
        Expectation::Pool(p) => {
            let st = ctx.shared.lock();
            check_pool(p, &st.world, &mut out);
        }
        Expectation::Cluster(c) => {
            let st = ctx.shared.lock();
            check_cluster(c, &st.world, &mut out);
        }
        Expectation::Host(h) => {
            let st = ctx.shared.lock();
            check_host(h, &st.world, &mut out);
        }
        Expectation::Datastore(d) => {
            let st = ctx.shared.lock();
            let subject = format!("datastore {}", d.name);
            match st.world.datastore_by_name(&d.name) {
                Some(id) => {
                    let ds = &st.world.datastores()[&id];
                    figures(
                        &mut out,
                        &subject,
                        &[
                            ("free_mb", d.free_mb, ds.free_mib()),
                            ("used_mb", d.used_mb, ds.used_mib),
                        ],
                    );
                }
                None => out.push(Check::eq(subject, "exists", "missing")),
            }
        }
        Expectation::Vms(v) => {
            let st = ctx.shared.lock();
            let w = &st.world;
            let matching: Vec<_> = w
                .vms()
                .values()
                .filter(|vm| {
                    v.guest.as_deref().is_none_or(|g| {
                        w.guest_full_name(vm.id)
                            .is_ok_and(|name| name_matches(g, &name))
                    })
                })
                .collect();
            let subject = match &v.guest {
                Some(g) => format!("VMs with guest {g:?}"),
                None => "VMs".to_string(),
            };
            if let Some(n) = v.count {
                out.push(Check::eq(format!("{subject} count"), n, matching.len()));
            }
            if let Some(n) = v.powered_on {
                let on = matching
                    .iter()
                    .filter(|vm| vm.power_state == PowerState::PoweredOn)
                    .count();
                out.push(Check::eq(format!("{subject} powered on"), n, on));
            }
        }
        Expectation::Vm(v) => check_vm(v, ctx, &mut out),
        Expectation::Events(kind, count) => {
            let st = ctx.shared.lock();
            let n = st.world.events().events()[ctx.setup_events..]
                .iter()
                .filter(|e| e.kind.is_a(*kind))
                .count();
            out.push(Check::eq(format!("{} count", kind.as_str()), count, n));
        }
        Expectation::ContainerEvents(c) => {
            let st = ctx.shared.lock();
            let n = st.portlayer.events()[ctx.setup_container_events..]
                .iter()
                .filter(|e| e.event == c.event)
                .count();
            out.push(Check::eq(
                format!("container events {} count", c.event),
                c.count,
                n,
            ));
        }
        Expectation::PortLayer(p) => {
            let st = ctx.shared.lock();
            let pl = &st.portlayer;
            let rows = [
                ("containers", p.containers, pl.containers().len()),
                ("ips", p.ips, pl.scopes().allocated_count()),
                ("handles", p.handles, pl.handles().len()),
                ("volumes", p.volumes, pl.volumes().list("").len()),
            ];
            for (name, want, got) in rows {
                if let Some(want) = want {
                    out.push(Check::eq(format!("portlayer {name}"), want, got));
                }
            }
        }
        Expectation::Accounting(i) => {
            let st = ctx.shared.lock();
            let now = Accounting::of(&st.world);
            let then = &ctx.snapshots[*i];
            let label = if *i == 0 {
                "setup".to_string()
            } else {
                format!("step {i}")
            };
            let diffs = then.differences(&now);
            out.push(Check {
                subject: format!("accounting as after {label}"),
                expected: "no differences".into(),
                actual: if diffs.is_empty() {
                    "no differences".into()
                } else {
                    diffs.join("; ")
                },
                ok: diffs.is_empty(),
            });
        }
        Expectation::Rebuilt(n) => {
            let got = ctx
                .rebuilt
                .map_or("no restart".to_string(), |r| r.to_string());
            out.push(Check::eq("pods rebuilt".into(), n, got));
        }
    }
    out
}

fn check_pod(p: &PodExpect, ctx: &Ctx<'_>, out: &mut Vec<Check>) {
    let (ns, name) = super::file::split_pod(&p.name);
    let subject = format!("pod {ns}/{name}");
    let pod = ctx.provider.get_pod(ns, name);
    let exists = p.exists.unwrap_or(true);
    if p.exists.is_some() || pod.is_none() {
        out.push(Check::eq(
            format!("{subject} exists"),
            exists,
            pod.is_some(),
        ));
    }
    let Some(pod) = pod else { return };
    let status = pod.status.clone().unwrap_or_default();
    let text = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    if let Some(phase) = &p.phase {
        out.push(Check::eq(
            format!("{subject} phase"),
            phase,
            text(&status.phase),
        ));
    }
    if let Some(reason) = &p.reason {
        out.push(Check::eq(
            format!("{subject} reason"),
            reason,
            text(&status.reason),
        ));
    }
    if let Some(m) = &p.message {
        let msg = status.message.clone().unwrap_or_default();
        out.push(Check::contains(format!("{subject} message"), m, &msg));
    }
    if let Some(ip) = p.ip {
        let got = status.pod_ip.clone();
        out.push(Check {
            subject: format!("{subject} ip"),
            expected: if ip { "present" } else { "absent" }.into(),
            actual: got.clone().unwrap_or_else(|| "absent".into()),
            ok: got.is_some() == ip,
        });
    }
    for c in p.containers.iter().flatten() {
        check_container(&pod, c, &subject, out);
    }
}

fn check_container(pod: &Pod, c: &ContainerExpect, pod_subject: &str, out: &mut Vec<Check>) {
    let subject = format!("{pod_subject} container {}", c.name);
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let Some(cs) = statuses.iter().find(|s| s.name == c.name) else {
        out.push(Check::eq(subject, "a status", "none"));
        return;
    };
    let (state, reason, message, exit) = state_of(cs);
    if let Some(want) = c.state {
        let want = match want {
            StateName::Running => "running",
            StateName::Waiting => "waiting",
            StateName::Terminated => "terminated",
        };
        out.push(Check::eq(format!("{subject} state"), want, state));
    }
    if let Some(r) = &c.reason {
        out.push(Check::eq(
            format!("{subject} reason"),
            r,
            reason.unwrap_or_else(|| "none".into()),
        ));
    }
    if let Some(m) = &c.message {
        out.push(Check::contains(
            format!("{subject} message"),
            m,
            &message.unwrap_or_default(),
        ));
    }
    if let Some(code) = c.exit_code {
        out.push(Check::eq(
            format!("{subject} exit code"),
            code,
            exit.map_or("none".to_string(), |e| e.to_string()),
        ));
    }
    if let Some(ready) = c.ready {
        out.push(Check::eq(format!("{subject} ready"), ready, cs.ready));
    }
}

/// State name, reason, message and exit code of a container status.
fn state_of(cs: &ContainerStatus) -> (&'static str, Option<String>, Option<String>, Option<i32>) {
    let Some(s) = &cs.state else {
        return ("unknown", None, None, None);
    };
    if s.running.is_some() {
        ("running", None, None, None)
    } else if let Some(w) = &s.waiting {
        ("waiting", w.reason.clone(), w.message.clone(), None)
    } else if let Some(t) = &s.terminated {
        (
            "terminated",
            t.reason.clone(),
            t.message.clone(),
            Some(t.exit_code),
        )
    } else {
        ("unknown", None, None, None)
    }
}

fn check_node(n: &NodeExpect, ctx: &Ctx<'_>, out: &mut Vec<Check>) {
    let status = match ctx.provider.node_status() {
        Ok(s) => s,
        Err(e) => {
            out.push(Check::eq("node status".into(), "available", e));
            return;
        }
    };
    let sets = [
        ("capacity", &n.capacity, status.capacity.unwrap_or_default()),
        (
            "allocatable",
            &n.allocatable,
            status.allocatable.unwrap_or_default(),
        ),
    ];
    for (label, want, got) in sets {
        let Some(want) = want else { continue };
        let get = |k: &str| got.get(k).map(|q| q.0.clone()).unwrap_or_default();
        if let Some(cpu) = &want.cpu {
            let actual = get("cpu");
            out.push(Check {
                subject: format!("node {label} cpu"),
                ok: cpu_millis(cpu).ok() == cpu_millis(&actual).ok(),
                expected: cpu.clone(),
                actual,
            });
        }
        if let Some(mem) = &want.memory {
            let actual = get("memory");
            out.push(Check {
                subject: format!("node {label} memory"),
                ok: memory_bytes(mem).ok() == memory_bytes(&actual).ok(),
                expected: mem.clone(),
                actual,
            });
        }
        if let Some(pods) = want.pods {
            out.push(Check::eq(format!("node {label} pods"), pods, get("pods")));
        }
    }
}

fn check_pool(p: &PoolExpect, w: &World, out: &mut Vec<Check>) {
    let subject = format!("pool {}", p.path);
    let Some(id) = w.pool_by_path(&p.path) else {
        out.push(Check::eq(subject, "exists", "missing"));
        return;
    };
    let pool = &w.pools()[&id];
    figures(
        out,
        &subject,
        &[
            ("cpu_reserved_mhz", p.cpu_reserved_mhz, pool.cpu.used),
            ("memory_reserved_mb", p.memory_reserved_mb, pool.memory.used),
            (
                "cpu_unreserved_mhz",
                p.cpu_unreserved_mhz,
                w.unreserved(id, Resource::Cpu),
            ),
            (
                "memory_unreserved_mb",
                p.memory_unreserved_mb,
                w.unreserved(id, Resource::Memory),
            ),
            ("cpu_usage_mhz", p.cpu_usage_mhz, pool.cpu.usage),
            ("memory_usage_mb", p.memory_usage_mb, pool.memory.usage),
        ],
    );
}

fn check_cluster(c: &ClusterExpect, w: &World, out: &mut Vec<Check>) {
    let subject = format!("cluster {}", c.name);
    let Some(id) = w.compute_by_name(&c.name) else {
        out.push(Check::eq(subject, "exists", "missing"));
        return;
    };
    let root = &w.pools()[&w.computes()[&id].root_pool];
    figures(
        out,
        &subject,
        &[
            (
                "cpu_capacity_mhz",
                c.cpu_capacity_mhz,
                root.cpu.alloc.reservation,
            ),
            (
                "memory_capacity_mb",
                c.memory_capacity_mb,
                root.memory.alloc.reservation,
            ),
            ("cpu_reserved_mhz", c.cpu_reserved_mhz, root.cpu.used),
            ("memory_reserved_mb", c.memory_reserved_mb, root.memory.used),
            ("cpu_usage_mhz", c.cpu_usage_mhz, root.cpu.usage),
            ("memory_usage_mb", c.memory_usage_mb, root.memory.usage),
        ],
    );
}

fn check_host(h: &HostExpect, w: &World, out: &mut Vec<Check>) {
    let subject = format!("host {}", h.name);
    let Some(id) = w.host_by_name(&h.name) else {
        out.push(Check::eq(subject, "exists", "missing"));
        return;
    };
    let host = &w.hosts()[&id];
    let running = host
        .vms
        .iter()
        .filter(|v| w.vms()[v].power_state == PowerState::PoweredOn)
        .count();
    figures(
        out,
        &subject,
        &[
            (
                "cpu_reserved_mhz",
                h.cpu_reserved_mhz,
                host.cpu_reserved_mhz,
            ),
            (
                "memory_reserved_mb",
                h.memory_reserved_mb,
                host.memory_reserved_mib,
            ),
            ("cpu_usage_mhz", h.cpu_usage_mhz, host.cpu_usage_mhz),
            ("memory_usage_mb", h.memory_usage_mb, host.memory_usage_mib),
            ("vms", h.vms.map(|n| n as u64), host.vms.len() as u64),
            ("running", h.running.map(|n| n as u64), running as u64),
        ],
    );
    if let Some(c) = h.connected {
        out.push(Check::eq(format!("{subject} connected"), c, host.connected));
    }
    if let Some(m) = h.maintenance {
        out.push(Check::eq(
            format!("{subject} maintenance"),
            m,
            host.maintenance,
        ));
    }
}

fn check_vm(v: &VmExpect, ctx: &Ctx<'_>, out: &mut Vec<Check>) {
    // The pod's container id comes from the provider, so look it up before locking the stack.
    let container = v.pod.as_ref().map(|p| {
        let (ns, name) = super::file::split_pod(p);
        ctx.provider.cache().get(ns, name).map(|c| c.container_id)
    });
    let st = ctx.shared.lock();
    let w = &st.world;
    let (subject, vm) = match (&v.name, container) {
        (Some(pattern), _) => {
            let found: Vec<_> = w
                .vms()
                .values()
                .filter(|vm| name_matches(pattern, &vm.name))
                .collect();
            if found.len() > 1 {
                out.push(Check::eq(
                    format!("VMs named {pattern}"),
                    "at most one",
                    found.len(),
                ));
                return;
            }
            (format!("vm {pattern}"), found.first().copied())
        }
        (None, Some(container)) => {
            let vm = container
                .and_then(|id| st.portlayer.containers().get(&id).map(|c| c.vm))
                .and_then(|id| w.vm(id).ok());
            (
                format!("vm of pod {}", v.pod.clone().unwrap_or_default()),
                vm,
            )
        }
        (None, None) => return,
    };
    let exists = v.exists.unwrap_or(true);
    if v.exists.is_some() || vm.is_none() {
        out.push(Check::eq(format!("{subject} exists"), exists, vm.is_some()));
    }
    let Some(vm) = vm else { return };
    if let Some(g) = &v.guest {
        let name = w.guest_full_name(vm.id).unwrap_or_default();
        out.push(Check::glob(format!("{subject} guest"), g, &name));
    }
    if let Some(p) = &v.power_state {
        out.push(Check::eq(
            format!("{subject} power state"),
            p,
            vm.power_state.as_str(),
        ));
    }
    if let Some(h) = &v.host {
        let host = w
            .host(vm.host)
            .map(|h| h.name.to_string())
            .unwrap_or_default();
        out.push(Check::eq(format!("{subject} host"), h, host));
    }
    if let Some(n) = v.vcpus {
        out.push(Check::eq(format!("{subject} vcpus"), n, vm.vcpus));
    }
    if let Some(m) = v.memory_mb {
        out.push(Check::eq(format!("{subject} memory_mb"), m, vm.memory_mib));
    }
}

/// The world's accounting at one moment: every pool's, host's and datastore's figures, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounting(BTreeMap<String, u64>);

impl Accounting {
    /// Reads `w`'s accounting.
    pub fn of(w: &World) -> Accounting {
        let mut m = BTreeMap::new();
        for p in w.pools().values() {
            let path = w.pool_path(p.id);
            m.insert(format!("pool {path} cpu_reserved_mhz"), p.cpu.used);
            m.insert(format!("pool {path} memory_reserved_mb"), p.memory.used);
            m.insert(format!("pool {path} cpu_usage_mhz"), p.cpu.usage);
            m.insert(format!("pool {path} memory_usage_mb"), p.memory.usage);
        }
        for h in w.hosts().values() {
            let n = &h.name;
            m.insert(format!("host {n} cpu_reserved_mhz"), h.cpu_reserved_mhz);
            m.insert(
                format!("host {n} memory_reserved_mb"),
                h.memory_reserved_mib,
            );
            m.insert(format!("host {n} cpu_usage_mhz"), h.cpu_usage_mhz);
            m.insert(format!("host {n} memory_usage_mb"), h.memory_usage_mib);
        }
        for d in w.datastores().values() {
            m.insert(format!("datastore {} used_mb", d.name), d.used_mib);
        }
        let on = w
            .vms()
            .values()
            .filter(|v| v.power_state == PowerState::PoweredOn)
            .count();
        m.insert("vms".into(), w.vms().len() as u64);
        m.insert("vms powered on".into(), on as u64);
        Accounting(m)
    }

    /// `name: then -> now` for each figure that differs (or appeared or vanished).
    pub fn differences(&self, now: &Accounting) -> Vec<String> {
        let mut out = Vec::new();
        let show = |v: Option<&u64>| v.map_or("none".to_string(), |v| v.to_string());
        let keys: std::collections::BTreeSet<&String> = self.0.keys().chain(now.0.keys()).collect();
        for k in keys {
            let (a, b) = (self.0.get(k), now.0.get(k));
            if a != b {
                out.push(format!("{k}: {} -> {}", show(a), show(b)));
            }
        }
        out
    }
}
