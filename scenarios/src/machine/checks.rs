//! Postconditions: after every step, what the stack did and what it holds are compared with
//! the model, and the world's own invariants are checked; after the teardown, the world's
//! accounting is compared with what it was at the start.
//!
//! Each check returns a message naming what differed, with both values; the state machine
//! turns a message into a test failure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use k8s_openapi::api::core::v1::{ContainerStatus, PodStatus};
use provider::quantity::memory_bytes;
use vcsim_lite::vsphere::{PoolId, PowerState, World};

use super::images::facts;
use super::model::{Expect, Model, Phase, PodState};
use super::pod::PodKey;
use super::sut::{NODE_IP, Outcome, Sut};

/// A failed check's message.
pub type Check = Result<(), String>;

fn eq<T: PartialEq + Debug>(what: impl std::fmt::Display, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: the stack has {got:?}, the model {want:?}"))
    }
}

/// A check's name, written only when the check fails: every step runs every check.
struct Named<F>(F);

fn named<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result>(f: F) -> Named<F> {
    Named(f)
}

impl<F: Fn(&mut std::fmt::Formatter<'_>) -> std::fmt::Result> std::fmt::Display for Named<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (self.0)(f)
    }
}

/// The step's outcome is the one the model expects.
pub fn outcome(sut: &Sut, expect: &Expect) -> Check {
    let ok = match (expect, &sut.outcome) {
        (Expect::Ok, Outcome::Provider(Ok(())) | Outcome::World(Ok(()))) => true,
        (Expect::Provider { reason, text }, Outcome::Provider(Err(e))) => {
            e.reason() == *reason
                && text
                    .as_ref()
                    .is_none_or(|t| e.to_string().contains(t.as_str()))
        }
        (Expect::World(r), Outcome::World(Err(e))) => e.to_string().contains(&r.text()),
        (Expect::Rebuilt(n), Outcome::Rebuilt(Ok(m))) => n == m,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "outcome: the stack gave {:?}, the model expects {expect:?}",
            sut.outcome
        ))
    }
}

/// Everything the stack holds agrees with the model, and the world's invariants hold.
pub fn state(sut: &Sut, model: &Model) -> Check {
    {
        let st = sut.shared.lock();
        st.world
            .check_invariants()
            .map_err(|v| format!("world invariant: {v}"))?;
    }
    pods(sut, model)?;
    accounting(sut, model)?;
    node(sut, model)?;
    storage(sut, model)
}

fn pods(sut: &Sut, model: &Model) -> Check {
    // Statuses as a kubelet reads them, pod by pod; whole pods only where labels are checked.
    let listed = sut.provider.pod_statuses();
    let mut statuses: Vec<(PodKey, &PodStatus)> = Vec::with_capacity(listed.len());
    for (ns, name, status) in &listed {
        // Keys the model knows; any other pod fails the comparison below.
        let key = model
            .pods
            .keys()
            .find(|(n, m)| n == ns && m == name)
            .copied()
            .unwrap_or(("?", "?"));
        statuses.push((key, status));
    }
    // The provider orders by `namespace/name` text, where `team-a/` sorts before `team/`.
    statuses.sort_unstable_by_key(|(k, _)| *k);
    if !statuses.iter().map(|(k, _)| k).eq(model.pods.keys()) {
        let listed: Vec<_> = listed.iter().map(|(ns, name, _)| (ns, name)).collect();
        return Err(format!(
            "pods: the stack has {listed:?}, the model {:?}",
            model.pods.keys().collect::<Vec<_>>()
        ));
    }
    for ((key, status), want) in statuses.iter().zip(model.pods.values()) {
        pod_status(*key, status, want)?;
    }
    Ok(())
}

/// The pod's labels are the model's, where the model knows them (a restarted provider
/// restores pods without labels). Updates check the pod they named, and the end of each case
/// checks every pod.
pub fn labels(sut: &Sut, model: &Model, key: PodKey) -> Check {
    let Some(want) = model.pods.get(&key).and_then(|p| p.labels.as_ref()) else {
        return Ok(());
    };
    let pod = sut.provider.get_pod(key.0, key.1);
    let got = pod.and_then(|p| p.metadata.labels).unwrap_or_default();
    let at = At {
        key,
        container: None,
        what: "labels",
    };
    eq(at, &got, want)
}

/// Once per case: every pod's labels, the whole pods (`get_pods`) carry the statuses the
/// per-pod reads give, and the node's status writes out the figures the per-step checks read.
pub fn listing(sut: &Sut, model: &Model) -> Check {
    for key in model.pods.keys() {
        labels(sut, model, *key)?;
    }
    node_status(sut, model)?;
    let pods = sut.provider.get_pods();
    let statuses = sut.provider.pod_statuses();
    let whole: Vec<_> = pods
        .iter()
        .map(|p| {
            let m = &p.metadata;
            (m.namespace.as_deref(), m.name.as_deref(), p.status.as_ref())
        })
        .collect();
    let read: Vec<_> = statuses
        .iter()
        .map(|(ns, name, s)| (Some(ns.as_str()), Some(name.as_str()), Some(s)))
        .collect();
    eq(
        "pods and their statuses (get_pods, pod_statuses)",
        whole,
        read,
    )
}

/// What a pod check looks at, named only when the check fails (a step checks every pod, so
/// formatting names up front was a large part of a step's cost).
struct At<'a> {
    key: PodKey,
    container: Option<&'a str>,
    what: &'a str,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pod {}/{}", self.key.0, self.key.1)?;
        if let Some(c) = self.container {
            write!(f, " container {c}")?;
        }
        write!(f, " {}", self.what)
    }
}

fn pod_status(key: PodKey, status: &PodStatus, want: &PodState) -> Check {
    let at = |what| At {
        key,
        container: None,
        what,
    };
    eq(
        at("phase"),
        status.phase.as_deref(),
        Some(want.phase.as_str()),
    )?;
    eq(at("host IP"), status.host_ip.as_deref(), Some(NODE_IP))?;
    let reason = want.failed.then_some("ProviderFailed");
    eq(at("reason"), status.reason.as_deref(), reason)?;
    eq(
        at("has an IP"),
        status.pod_ip.is_some(),
        want.phase == Phase::Running,
    )?;
    let containers = status.container_statuses.as_deref().unwrap_or_default();
    eq(
        at("container statuses"),
        containers.len(),
        want.shape.containers.len(),
    )?;
    for c in containers {
        let at = |what| At {
            key,
            container: Some(&c.name),
            what,
        };
        container_status(at, c, want)?;
    }
    Ok(())
}

fn container_status<'a>(
    at: impl Fn(&'a str) -> At<'a>,
    c: &ContainerStatus,
    want: &PodState,
) -> Check {
    let state = c.state.as_ref();
    match want.phase {
        Phase::Running => {
            let started = state
                .and_then(|s| s.running.as_ref())
                .and_then(|r| r.started_at.as_ref())
                .map(|t| t.0.as_second());
            let want_started = want.started_at.and_then(|s| i64::try_from(s).ok());
            eq(at("started at"), started, want_started)
        }
        Phase::Failed => {
            let t = state.and_then(|s| s.terminated.as_ref());
            eq(
                at("exit"),
                t.map(|t| (t.exit_code, t.reason.as_deref())),
                Some((143, Some("Error"))),
            )
        }
        Phase::Pending => eq(
            at("waiting"),
            state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref()),
            Some("ContainerCreating"),
        ),
    }
}

fn accounting(sut: &Sut, model: &Model) -> Check {
    let st = sut.shared.lock();
    let w = &st.world;
    let node = model.node();
    let pool = w.pool(sut.vch_pool).map_err(|e| e.to_string())?;
    eq(
        "VCH pool memory reserved",
        pool.memory.used,
        model.cluster.pool_used_mib(),
    )?;
    eq("VCH pool CPU reserved", pool.cpu.used, 0)?;
    eq(
        "VCH pool usage (CPU MHz, memory MB)",
        (pool.cpu.usage, pool.memory.usage),
        (node.cpu_usage_mhz, node.memory_usage_mb),
    )?;
    eq(
        "VCH pool limits",
        (pool.cpu.alloc.limit, pool.memory.alloc.limit),
        (model.limits.cpu_mhz, model.limits.memory_mb),
    )?;
    let root = pool
        .parent
        .and_then(|p| w.pool(p).ok())
        .ok_or("the VCH pool has no parent")?;
    let (cpu, mem) = model.cluster.capacity(None);
    eq(
        "cluster capacity (reservation and limit, CPU and memory)",
        (
            root.cpu.alloc.reservation,
            root.cpu.alloc.limit,
            root.memory.alloc.reservation,
            root.memory.alloc.limit,
        ),
        (cpu, Some(cpu), mem, Some(mem)),
    )?;
    for (i, id) in sut.hosts.iter().enumerate() {
        let h = w.host(*id).map_err(|e| e.to_string())?;
        let m = &model.cluster.hosts[i];
        let running = h
            .vms
            .iter()
            .filter(|v| {
                w.vm(**v)
                    .is_ok_and(|v| v.power_state == PowerState::PoweredOn)
            })
            .count();
        let want_running = model
            .cluster
            .vms
            .values()
            .filter(|v| v.host == Some(i))
            .count();
        eq(
            named(|f| {
                write!(
                    f,
                    "host {} (connected, maintenance, memory reserved, running VMs)",
                    h.name
                )
            }),
            (h.connected, h.maintenance, h.memory_reserved_mib, running),
            (
                m.connected,
                m.maintenance,
                model.cluster.host_reserved_mib(i),
                want_running,
            ),
        )?;
    }
    let ds = w.datastore(sut.datastore).map_err(|e| e.to_string())?;
    eq(
        "datastore used MiB",
        ds.used_mib,
        model.datastore_used_mib(),
    )?;
    let on = w
        .vms()
        .values()
        .filter(|v| v.power_state == PowerState::PoweredOn)
        .count();
    let want_on = model
        .cluster
        .vms
        .values()
        .filter(|v| v.host.is_some())
        .count();
    eq(
        "VMs (all, powered on)",
        (w.vms().len(), on),
        (model.cluster.vms.len(), want_on),
    )?;
    let running_pods = model
        .pods
        .values()
        .filter(|p| p.phase == Phase::Running)
        .count();
    eq(
        "IPs allocated",
        st.portlayer.scopes().allocated_count(),
        running_pods,
    )?;
    eq("simulated time", w.now().0, model.now_us)
}

/// The node's figures (what it offers, and memory pressure) are the model's. The status that
/// writes them out as Kubernetes quantities is compared once per case, in [`listing`].
fn node(sut: &Sut, model: &Model) -> Check {
    let got = sut.provider.node_figures().map_err(|e| e.to_string())?;
    let want = model.node();
    eq(
        "node (cores, memory bytes, pods, memory pressure)",
        (
            got.cpu_cores,
            got.memory_bytes,
            got.pods,
            got.memory_pressure,
        ),
        (
            want.cores(),
            want.memory_bytes(),
            model.setup.max_pods,
            want.memory_pressure(),
        ),
    )
}

/// The node's status, as a kubelet reports it, says what the model expects.
fn node_status(sut: &Sut, model: &Model) -> Check {
    let status = sut.provider.node_status().map_err(|e| e.to_string())?;
    let want = model.node();
    for (what, list) in [
        ("capacity", status.capacity.unwrap_or_default()),
        ("allocatable", status.allocatable.unwrap_or_default()),
    ] {
        let get = |k: &str| list.get(k).map_or("", |q| q.0.as_str());
        let memory = memory_bytes(get("memory")).map_err(|e| e.to_string())?;
        eq(
            named(|f| write!(f, "node {what} (cpu, memory bytes, pods)")),
            (get("cpu"), memory, get("pods")),
            (
                want.cores().to_string().as_str(),
                want.memory_bytes(),
                model.setup.max_pods.to_string().as_str(),
            ),
        )?;
    }
    let pressure = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "MemoryPressure")
        .map(|c| c.status == "True");
    eq(
        "node memory pressure",
        pressure,
        Some(want.memory_pressure()),
    )
}

fn storage(sut: &Sut, model: &Model) -> Check {
    let st = sut.shared.lock();
    let layers = st
        .portlayer
        .images()
        .layer_ids(&sut.store)
        .map_err(|e| e.to_string())?;
    same_set("image layers", layers, &model.layers)?;
    let tags = st
        .persona
        .images()
        .values()
        .flat_map(|r| r.repo_tags.iter().map(String::as_str));
    same_set("image tags", tags, &model.tags)
}

/// The stack's names (in any order, each once) are the model's set.
fn same_set<'a>(what: &str, got: impl Iterator<Item = &'a str>, want: &BTreeSet<String>) -> Check {
    let mut got: Vec<&str> = got.collect();
    got.sort_unstable();
    if got.iter().copied().eq(want.iter().map(String::as_str)) {
        Ok(())
    } else {
        Err(format!("{what}: the stack has {got:?}, the model {want:?}"))
    }
}

/// One resource of a pool: reservation, limit, used, usage.
pub type PoolFigures = (u64, Option<u64>, u64, u64);

/// The world's accounting: pools, hosts and datastores, without ids that move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounting {
    /// Per pool: CPU and memory (reservation, limit, used, usage).
    pub pools: BTreeMap<PoolId, [PoolFigures; 2]>,
    /// Over all hosts: CPU and memory reserved, CPU and memory usage.
    pub hosts: (u64, u64, u64, u64),
    /// Per host: connected, maintenance.
    pub host_states: Vec<(bool, bool)>,
    /// Per datastore: MiB used.
    pub datastores: Vec<u64>,
}

/// The world's accounting now. Hosts are summed: the appliance may have moved.
pub fn accounting_of(w: &World) -> Accounting {
    let r = |p: &vcsim_lite::vsphere::PoolResource| {
        (p.alloc.reservation, p.alloc.limit, p.used, p.usage)
    };
    Accounting {
        pools: w
            .pools()
            .iter()
            .map(|(id, p)| (*id, [r(&p.cpu), r(&p.memory)]))
            .collect(),
        hosts: w.hosts().values().fold((0, 0, 0, 0), |a, h| {
            (
                a.0 + h.cpu_reserved_mhz,
                a.1 + h.memory_reserved_mib,
                a.2 + h.cpu_usage_mhz,
                a.3 + h.memory_usage_mib,
            )
        }),
        host_states: w
            .hosts()
            .values()
            .map(|h| (h.connected, h.maintenance))
            .collect(),
        datastores: w.datastores().values().map(|d| d.used_mib).collect(),
    }
}

/// After the teardown: the world's accounting is what it was at the start, plus the image
/// layers pulled (images outlive pods, as in VIC), and nothing of the pods is left.
pub fn back_to_start(sut: &Sut, model: &Model, start: &Accounting) -> Check {
    let mut want = start.clone();
    let layers: u64 = model.layers.iter().map(|l| facts().layer_mib[l]).sum();
    let st = sut.shared.lock();
    let w = &st.world;
    for (id, used) in w.datastores().keys().zip(want.datastores.iter_mut()) {
        if *id == sut.datastore {
            *used += layers;
        }
    }
    eq("accounting after teardown", &accounting_of(w), &want)?;
    eq("VMs after teardown", w.vms().len(), 1)?;
    eq(
        "containers, IPs, handles after teardown",
        (
            st.portlayer.containers().len(),
            st.portlayer.scopes().allocated_count(),
            st.portlayer.handles().len(),
        ),
        (0, 0, 0),
    )?;
    drop(st);
    eq("pods after teardown", sut.provider.cache().len(), 0)
}
