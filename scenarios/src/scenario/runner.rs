//! Runs a scenario in process: `WorldBuilder` -> `PortLayer::create` (the VCH) -> `Persona` ->
//! `Stack` in `Shared` (simulated time frozen: only `advance` steps move it) -> `InProcess` ->
//! `VicProvider`, the same wiring as the provider's own tests and benchmarks.
//!
//! Steps run one after another on that stack. After each, the world's invariants are checked
//! (a broken one ends the run: nothing after it could be trusted), then the step's outcome and
//! expectations. A failed expectation does not end the run, so one report shows every
//! difference.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use provider::error::ProviderError;
use provider::vic::VicProvider;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::persona::{Catalogue, CatalogueError, Persona, PersonaError};
use vcsim_lite::portlayer::{PortLayer, PortLayerError};
use vcsim_lite::vsphere::{InvariantViolation, VsphereError, World, WorldBuilder};

use super::FileError;
use super::expect::{self, Accounting, Check, Expectation, StepError, check_outcome};
use super::file::{Action, PodRef, Scenario, Step, manifest_key};
use super::report::{RunReport, StepReport, trace_line};

/// How to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Keep the world's event trace (JSON lines) in the report.
    pub trace: bool,
}

/// What expectations read: the stack, the provider and the run's history.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub provider: &'a VicProvider<InProcess>,
    /// World events before the first step.
    pub setup_events: usize,
    /// Port layer container events before the first step.
    pub setup_container_events: usize,
    /// Accounting after setup (0) and after each step so far.
    pub snapshots: &'a [Accounting],
    /// Pods the last provider restart found.
    pub rebuilt: Option<usize>,
}

/// The stack and provider a scenario runs against, and what the run has seen so far.
struct Run {
    shared: Shared,
    client: InProcess,
    provider: VicProvider<InProcess>,
    /// The manifest each pod was last applied with, for deletes.
    manifests: BTreeMap<String, Pod>,
    /// Port layer handles by the names steps gave them.
    handles: BTreeMap<String, String>,
    /// Pods the last provider restart found.
    rebuilt: Option<usize>,
    /// World events before the first step.
    setup_events: usize,
    /// Port layer container events before the first step.
    setup_container_events: usize,
    /// World events already in the trace.
    traced: usize,
    /// Accounting after setup (0) and after each step so far.
    snapshots: Vec<Accounting>,
}

/// Runs `sc`. Setup problems the file's checks could not see without a world (a host or
/// datastore the inventory lacks, a VCH that cannot be created) are a [`FileError`] and no step
/// runs; everything after that is in the report.
pub fn run(sc: &Scenario, opts: RunOptions) -> Result<RunReport, FileError> {
    let (mut run, mut report) = setup(sc, opts)?;
    for (i, step) in sc.steps.iter().enumerate() {
        let (done, broken) = run.step(sc, i + 1, step, opts, &mut report.trace);
        report.steps.push(done);
        if let Some(v) = broken {
            report.aborted = Some(format!("world invariants broken after step {}: {v}", i + 1));
            break;
        }
    }
    Ok(report)
}

/// Builds the world, checks the file's names against it, creates the VCH, puts the fault rules
/// in force and starts the provider.
fn setup(sc: &Scenario, opts: RunOptions) -> Result<(Run, RunReport), FileError> {
    let mut world = WorldBuilder::new()
        .seed(sc.seed)
        .inventory(sc.inventory.clone())
        .latency(sc.latency.clone())
        .usage_model(sc.usage)
        .build()
        .map_err(|e| sc.error_at("inventory", e.to_string()))?;
    check_names(sc, &world)?;
    let portlayer = PortLayer::create(&mut world, sc.vch.clone())
        .map_err(|e| sc.error_at("vch", format!("creating the VCH: {e}")))?;
    for rule in &sc.faults {
        world.add_fault_rule(rule.clone());
    }
    let trace = if opts.trace {
        let events = world.events().events();
        events.iter().map(|e| trace_line(&sc.file, 0, e)).collect()
    } else {
        Vec::new()
    };
    let report = RunReport {
        file: sc.file.clone(),
        description: sc.description.clone(),
        seed: sc.seed,
        setup: setup_summary(sc, &world, &portlayer),
        steps: Vec::with_capacity(sc.steps.len()),
        aborted: None,
        trace,
    };
    let (setup_events, setup_container_events) = (world.events().len(), portlayer.events().len());
    let snapshots = vec![Accounting::of(&world)];
    let shared = Shared::new(
        Stack {
            world,
            portlayer,
            persona: Persona::new(Catalogue::builtin()),
        },
        0,
    );
    let client = InProcess::new(shared.clone());
    let run = Run {
        provider: VicProvider::new(client.clone(), sc.node.clone()),
        shared,
        client,
        manifests: BTreeMap::new(),
        handles: BTreeMap::new(),
        rebuilt: None,
        setup_events,
        setup_container_events,
        traced: setup_events,
        snapshots,
    };
    Ok((run, report))
}

/// Names in steps and expectations that the inventory must have.
fn check_names(sc: &Scenario, w: &World) -> Result<(), FileError> {
    let host = |path: String, name: &str| match w.host_by_name(name) {
        Some(_) => Ok(()),
        None => Err(sc.error_at(&path, format!("the inventory has no host `{name}`"))),
    };
    for s in &sc.steps {
        match &s.action {
            Action::EnterMaintenance(h) => host(format!("{}.enter_maintenance", s.path), h)?,
            Action::ExitMaintenance(h) => host(format!("{}.exit_maintenance", s.path), h)?,
            Action::DisconnectHost(h) => host(format!("{}.disconnect_host", s.path), h)?,
            Action::ReconnectHost(h) => host(format!("{}.reconnect_host", s.path), h)?,
            _ => {}
        }
        for e in &s.expect {
            match &e.what {
                Expectation::Host(h) => host(format!("{}.host.name", e.path), &h.name)?,
                Expectation::Datastore(d) if w.datastore_by_name(&d.name).is_none() => {
                    return Err(sc.error_at(
                        &format!("{}.datastore.name", e.path),
                        format!("the inventory has no datastore `{}`", d.name),
                    ));
                }
                Expectation::Cluster(c) if w.compute_by_name(&c.name).is_none() => {
                    return Err(sc.error_at(
                        &format!("{}.cluster.name", e.path),
                        format!("the inventory has no cluster or host `{}`", c.name),
                    ));
                }
                Expectation::Pool(p) => {
                    // The VCH's pool appears at setup, so only the first segment is checked.
                    let cluster = p.path.split('/').next().unwrap_or("");
                    if w.compute_by_name(cluster).is_none() {
                        return Err(sc.error_at(
                            &format!("{}.pool.path", e.path),
                            format!("the inventory has no cluster or host `{cluster}`"),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// What setup built, in one line of the report.
fn setup_summary(sc: &Scenario, w: &World, pl: &PortLayer) -> String {
    let v = &pl.vch().config;
    let limit =
        |l: Option<u64>, unit: &str| l.map_or("unlimited".to_string(), |l| format!("{l} {unit}"));
    format!(
        "{} inventory ({}, {}); VCH {} in {} on {} (CPU {}, memory {}, containers {}); {}",
        sc.inventory_source,
        count(w.hosts().len(), "host"),
        count(w.datastores().len(), "datastore"),
        v.name,
        v.compute,
        v.image_datastore,
        limit(v.cpu_limit_mhz, "MHz"),
        limit(v.memory_limit_mb, "MB"),
        v.container_limit
            .map_or("unlimited".to_string(), |n| n.to_string()),
        count(sc.faults.len(), "fault rule"),
    )
}

/// `1 host`, `3 hosts`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn provider_error(e: &ProviderError) -> StepError {
    let status = match e {
        ProviderError::PortLayer { source, .. } => Some(source.status),
        _ => None,
    };
    StepError {
        reason: e.reason().to_string(),
        status,
        message: e.to_string(),
    }
}

fn vsphere_error(e: &VsphereError) -> StepError {
    StepError {
        reason: e.fault().to_string(),
        status: None,
        message: e.to_string(),
    }
}

fn portlayer_error(e: &PortLayerError) -> StepError {
    let reason = match e {
        PortLayerError::NotFound { .. } => "NotFound".to_string(),
        PortLayerError::Conflict(_) => "Conflict".into(),
        PortLayerError::ConcurrentAccess(_) => "ConcurrentAccess".into(),
        PortLayerError::DevicesInUse(_) => "DevicesInUse".into(),
        PortLayerError::InUse(_) => "InUse".into(),
        PortLayerError::BadRequest(_) => "BadRequest".into(),
        PortLayerError::LimitExceeded(_) => "LimitExceeded".into(),
        PortLayerError::PreconditionRequired(_) => "PreconditionRequired".into(),
        PortLayerError::Vsphere(v) => v.fault().to_string(),
        PortLayerError::NotImplemented(_) => "NotImplemented".into(),
    };
    StepError {
        reason,
        status: Some(e.status()),
        message: e.to_string(),
    }
}

fn persona_error(e: &PersonaError) -> StepError {
    let reason = match e {
        PersonaError::PortLayer(p) => return portlayer_error(p),
        PersonaError::Catalogue(c) => match c {
            CatalogueError::NotFound { .. } => "NotFound",
            CatalogueError::ManifestUnknown { .. } => "ManifestUnknown",
            CatalogueError::InvalidReference { .. } => "InvalidReference",
            CatalogueError::InvalidRecipe { .. } => "InvalidRecipe",
        },
        PersonaError::NoSuchImage(_) => "NoSuchImage",
    };
    StepError {
        reason: reason.into(),
        status: Some(e.status()),
        message: e.to_string(),
    }
}

fn not_found(what: String) -> StepError {
    StepError {
        reason: "NotFound".into(),
        status: None,
        message: what,
    }
}

impl Run {
    /// Runs step `number`: its action, then the invariants (returned when broken: the run
    /// cannot go on), the outcome against `error:`, and the expectations.
    fn step(
        &mut self,
        sc: &Scenario,
        number: usize,
        step: &Step,
        opts: RunOptions,
        trace: &mut Vec<String>,
    ) -> (StepReport, Option<InvariantViolation>) {
        let outcome = self.act(sc, &step.action);
        let mut checks = check_outcome(&outcome, step.error.as_ref());
        let broken = {
            let st = self.shared.lock();
            self.snapshots.push(Accounting::of(&st.world));
            if opts.trace {
                let new = &st.world.events().events()[self.traced..];
                trace.extend(new.iter().map(|e| trace_line(&sc.file, number, e)));
                self.traced = st.world.events().len();
            }
            st.world.check_invariants().err()
        };
        match &broken {
            Some(v) => checks.push(Check {
                subject: "world invariants".into(),
                expected: "hold".into(),
                actual: v.to_string(),
                ok: false,
            }),
            None => {
                let ctx = Ctx {
                    shared: &self.shared,
                    provider: &self.provider,
                    setup_events: self.setup_events,
                    setup_container_events: self.setup_container_events,
                    snapshots: &self.snapshots,
                    rebuilt: self.rebuilt,
                };
                for e in &step.expect {
                    checks.extend(expect::check(&e.what, &ctx));
                }
            }
        }
        let done = StepReport {
            number,
            line: step.line,
            title: step.action.to_string(),
            note: step.note.clone(),
            outcome,
            checks,
        };
        (done, broken)
    }

    /// Does one action; `Ok` carries a short description of what happened.
    fn act(&mut self, sc: &Scenario, action: &Action) -> Result<String, StepError> {
        match action {
            Action::Check => Ok("checked".into()),
            Action::Apply(pod) => self.apply(pod),
            Action::Delete(r) => {
                let pod = self.pod_for(r);
                self.provider
                    .delete_pod(&pod)
                    .map_err(|e| provider_error(&e))?;
                self.manifests.remove(&r.to_string());
                Ok("deleted".into())
            }
            Action::Advance(d) => {
                let mut st = self.shared.lock();
                let t = st.world.now().plus(*d);
                st.world.advance_to(t);
                Ok(format!("time is {t}"))
            }
            Action::AddFault(r) => {
                self.shared.lock().world.add_fault_rule(r.clone());
                Ok("in force".into())
            }
            Action::RemoveFault(r) => {
                if self.shared.lock().world.remove_fault_rule(r) {
                    Ok("removed".into())
                } else {
                    Err(not_found(format!("fault rule `{r}` is not in force")))
                }
            }
            Action::EnterMaintenance(h)
            | Action::ExitMaintenance(h)
            | Action::DisconnectHost(h)
            | Action::ReconnectHost(h) => self.host_op(action, h),
            Action::RestartProvider => {
                self.provider = VicProvider::new(self.client.clone(), sc.node.clone());
                let n = self.provider.rebuild().map_err(|e| provider_error(&e))?;
                self.rebuilt = Some(n);
                Ok(format!("rebuilt {n} pods"))
            }
            Action::ContainerLimit(l) => {
                self.shared.lock().portlayer.set_container_limit(*l);
                Ok("set".into())
            }
            Action::Pull(reference) => {
                let mut st = self.shared.lock();
                let st = &mut *st;
                let r = st
                    .persona
                    .pull(&mut st.world, &mut st.portlayer, reference)
                    .map_err(|e| persona_error(&e))?;
                Ok(format!(
                    "{} ({} layers written, {} present)",
                    r.reference,
                    r.written.len(),
                    r.existing.len()
                ))
            }
            Action::TakeHandle { pod, name } => {
                let cached = self
                    .provider
                    .cache()
                    .get(&pod.namespace, &pod.name)
                    .ok_or_else(|| not_found(format!("the provider has no pod {pod}")))?;
                let mut st = self.shared.lock();
                let st = &mut *st;
                let key = st
                    .portlayer
                    .get_handle(&mut st.world, &cached.container_id)
                    .map_err(|e| portlayer_error(&e))?;
                self.handles.insert(name.clone(), key);
                Ok(format!(
                    "handle on container {}",
                    short(&cached.container_id)
                ))
            }
            Action::ChangeState { handle, state } => {
                let key = self.handle(handle)?;
                let mut st = self.shared.lock();
                let new = st
                    .portlayer
                    .change_state(&key, state)
                    .map_err(|e| portlayer_error(&e))?;
                self.handles.insert(handle.clone(), new);
                Ok("changed".into())
            }
            Action::Bind(handle) => {
                let key = self.handle(handle)?;
                let mut st = self.shared.lock();
                let (new, eps) = st
                    .portlayer
                    .scopes_bind(&key)
                    .map_err(|e| portlayer_error(&e))?;
                self.handles.insert(handle.clone(), new);
                let ips: Vec<String> = eps.iter().filter_map(|e| e.address.clone()).collect();
                Ok(format!("bound {}", ips.join(", ")))
            }
            Action::Rename { handle, to } => {
                let key = self.handle(handle)?;
                let mut st = self.shared.lock();
                let new = st
                    .portlayer
                    .rename(&key, to)
                    .map_err(|e| portlayer_error(&e))?;
                self.handles.insert(handle.clone(), new);
                Ok("renamed".into())
            }
            Action::Commit(handle) => {
                let key = self.handle(handle)?;
                let mut st = self.shared.lock();
                let st = &mut *st;
                st.portlayer
                    .commit(&mut st.world, &key, None)
                    .map_err(|e| portlayer_error(&e))?;
                Ok("committed".into())
            }
        }
    }

    fn apply(&mut self, pod: &Pod) -> Result<String, StepError> {
        let (ns, name) = manifest_key(pod);
        let key = format!("{ns}/{name}");
        self.manifests.insert(key, pod.clone());
        if self.provider.get_pod(&ns, &name).is_some() {
            self.provider
                .update_pod(pod)
                .map_err(|e| provider_error(&e))?;
            Ok("updated".into())
        } else {
            self.provider
                .create_pod(pod)
                .map_err(|e| provider_error(&e))?;
            Ok("created".into())
        }
    }

    /// The pod to hand to `delete_pod`: as last applied, else as the provider has it (after a
    /// restart), else just its name (deleting an unknown pod succeeds).
    fn pod_for(&self, r: &PodRef) -> Pod {
        if let Some(p) = self.manifests.get(&r.to_string()) {
            return p.clone();
        }
        if let Some(p) = self.provider.get_pod(&r.namespace, &r.name) {
            return p;
        }
        Pod {
            metadata: ObjectMeta {
                namespace: Some(r.namespace.clone()),
                name: Some(r.name.clone()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn handle(&self, name: &str) -> Result<String, StepError> {
        self.handles
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(format!("no handle named `{name}`")))
    }

    fn host_op(&mut self, action: &Action, name: &str) -> Result<String, StepError> {
        let mut st = self.shared.lock();
        let w = &mut st.world;
        let id = w
            .host_by_name(name)
            .ok_or_else(|| not_found(format!("no host `{name}`")))?;
        let done = match action {
            Action::EnterMaintenance(_) => w.enter_maintenance_mode(id).map(|_| "in maintenance"),
            Action::ExitMaintenance(_) => w.exit_maintenance_mode(id).map(|_| "out of maintenance"),
            Action::DisconnectHost(_) => w.disconnect_host(id).map(|_| "disconnected"),
            _ => w.reconnect_host(id).map(|_| "connected"),
        };
        done.map(str::to_string).map_err(|e| vsphere_error(&e))
    }
}

/// The first 12 characters of an id, as docker shows them.
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
