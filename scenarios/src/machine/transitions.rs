//! The steps of the state machine and how they are drawn. Pod steps mostly name pods that
//! exist (so sequences do things), sometimes any pod (so unknown pods are exercised too);
//! every step is defined whatever the state, so shrinking may drop any of them.

use proptest::prelude::*;

use super::images::{KNOWN, UNKNOWN};
use super::model::Model;
use super::pod::{Amount, CPU, ContainerShape, MEMORY, NAMES, NAMESPACES, PodKey, PodShape};
use super::setup::{Limits, limits};

/// Fault rules a step can switch on; each fires on every matching call, so the model knows
/// exactly what fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `PowerOnVM_Task:vm/*=InsufficientResourcesFault`: pods cannot start.
    PowerOn,
    /// `CreateVM_Task:vm/*=SystemError`: pod VMs cannot be created.
    CreateVm,
    /// `PowerOffVM_Task:vm/*=Timeout`: pods cannot stop (nor be deleted while running).
    PowerOff,
    /// `Destroy_Task:vm/*=SystemError`: pod VMs cannot be removed.
    Destroy,
}

impl Fault {
    /// The rule, in the fault rule grammar.
    pub fn rule(self) -> &'static str {
        match self {
            Fault::PowerOn => "PowerOnVM_Task:vm/*=InsufficientResourcesFault",
            Fault::CreateVm => "CreateVM_Task:vm/*=SystemError",
            Fault::PowerOff => "PowerOffVM_Task:vm/*=Timeout",
            Fault::Destroy => "Destroy_Task:vm/*=SystemError",
        }
    }

    /// The fault it injects.
    pub fn kind(self) -> &'static str {
        match self {
            Fault::PowerOn => "InsufficientResourcesFault",
            Fault::CreateVm | Fault::Destroy => "SystemError",
            Fault::PowerOff => "Timeout",
        }
    }
}

/// One step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// `VicProvider::create_pod`: admission, image, pod VM, start.
    Create(PodKey, PodShape),
    /// Start the pod's VM again (the provider's starter, as a kubelet restarting a pod).
    Start(PodKey),
    /// Stop the pod's VM (the provider's stopper) with this grace period.
    Stop(PodKey, i64),
    /// `VicProvider::delete_pod`, with this grace period on the pod object.
    Delete(PodKey, Option<i64>),
    /// `VicProvider::update_pod` with the label `app=<value>`; with `resize`, the pod object
    /// also asks for other resources (which VIC cannot apply to a pod VM, so nothing else
    /// changes, and admission keeps charging what it admitted).
    Update(PodKey, &'static str, bool),
    /// A new `VicProvider` over the same stack, then `rebuild()`.
    RestartProvider,
    /// `EnterMaintenanceMode_Task` on host `h`.
    EnterMaintenance(usize),
    /// `ExitMaintenanceMode_Task`.
    ExitMaintenance(usize),
    /// `DisconnectHost_Task` (a host failure, as far as the simulator goes).
    Disconnect(usize),
    /// `ReconnectHost_Task`.
    Reconnect(usize),
    /// The VCH pool's limits change (`ResourcePool.UpdateConfig`).
    SetLimits(Limits),
    /// A fault rule is switched on.
    FaultOn(Fault),
    /// Every fault rule is switched off.
    FaultsOff,
    /// Simulated time moves on this many seconds.
    Advance(u32),
}

/// Label values updates set.
pub const LABELS: [&str; 3] = ["a", "b", "c"];

fn amount(len: usize) -> impl Strategy<Value = Option<Amount>> {
    prop_oneof![
        1 => Just(None),
        3 => (0..len, prop::bool::weighted(0.2))
            .prop_map(|(idx, limit_only)| Some(Amount { idx, limit_only })),
    ]
}

fn container() -> impl Strategy<Value = ContainerShape> {
    (amount(CPU.len()), amount(MEMORY.len()))
        .prop_map(|(cpu, memory)| ContainerShape { cpu, memory })
}

/// A pod to create: mostly known images, sometimes an unknown one or a bad quantity.
pub fn pod_shape() -> impl Strategy<Value = PodShape> {
    let image = prop_oneof![
        8 => prop::sample::select(&KNOWN[..]),
        1 => prop::sample::select(&UNKNOWN[..]),
    ];
    let policy =
        prop::sample::select(&[None, Some("Always"), Some("IfNotPresent"), Some("Never")][..]);
    let grace = prop::sample::select(&[None, Some(0i64), Some(5), Some(30)][..]);
    (
        prop_oneof![6 => Just(1usize), 3 => Just(2), 1 => Just(3)]
            .prop_flat_map(|n| prop::collection::vec(container(), n)),
        image,
        policy,
        grace,
        prop::bool::weighted(0.03),
    )
        .prop_map(
            |(containers, image, pull_policy, grace_secs, bad_quantity)| PodShape {
                containers,
                image,
                pull_policy,
                grace_secs,
                bad_quantity,
            },
        )
}

fn any_pod() -> impl Strategy<Value = PodKey> {
    (
        prop::sample::select(&NAMESPACES[..]),
        prop::sample::select(&NAMES[..]),
    )
}

/// A pod that exists if there is one (mostly), else any.
fn some_pod(model: &Model) -> BoxedStrategy<PodKey> {
    let existing: Vec<PodKey> = model.pods.keys().copied().collect();
    if existing.is_empty() {
        any_pod().boxed()
    } else {
        prop_oneof![4 => prop::sample::select(existing), 1 => any_pod()].boxed()
    }
}

/// The steps possible from `model`, weighted towards pod lifecycles.
pub fn transitions(model: &Model) -> BoxedStrategy<Transition> {
    let hosts = model.cluster.hosts.len();
    let pod = || some_pod(model);
    prop_oneof![
        10 => (any_pod(), pod_shape()).prop_map(|(k, s)| Transition::Create(k, s)),
        3 => pod().prop_map(Transition::Start),
        3 => (pod(), prop::sample::select(&[0i64, 10][..]))
            .prop_map(|(k, g)| Transition::Stop(k, g)),
        5 => (pod(), prop::sample::select(&[None, Some(0i64), Some(30)][..]))
            .prop_map(|(k, g)| Transition::Delete(k, g)),
        1 => (pod(), prop::sample::select(&LABELS[..]), any::<bool>())
            .prop_map(|(k, v, resize)| Transition::Update(k, v, resize)),
        1 => Just(Transition::RestartProvider),
        1 => (0..hosts).prop_map(Transition::EnterMaintenance),
        1 => (0..hosts).prop_map(Transition::ExitMaintenance),
        1 => (0..hosts).prop_map(Transition::Disconnect),
        1 => (0..hosts).prop_map(Transition::Reconnect),
        1 => limits().prop_map(Transition::SetLimits),
        1 => prop::sample::select(&[Fault::PowerOn, Fault::CreateVm, Fault::PowerOff, Fault::Destroy][..])
            .prop_map(Transition::FaultOn),
        1 => Just(Transition::FaultsOff),
        1 => (1u32..=3600).prop_map(Transition::Advance),
    ]
    .boxed()
}
