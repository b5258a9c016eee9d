//! The steps of the state machine and how they are drawn. Pod steps mostly name pods that
//! exist (so sequences do things), sometimes any pod (so unknown pods are exercised too);
//! every step is defined whatever the state, so shrinking may drop any of them.
//!
//! Steps are drawn by hand from the runner's random numbers rather than composed from
//! proptest's combinators: a union of fourteen boxed strategies, each with its own value tree,
//! cost more than the step it drew through the whole stack. Shrinking stays: each step offers
//! simpler versions of itself ([`Transition::simpler`]), and proptest-state-machine drops
//! steps first.

use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use proptest::test_runner::{TestRng, TestRunner};

use super::images::{KNOWN, UNKNOWN};
use super::model::Model;
use super::pod::{Amount, CPU, ContainerShape, MEMORY, NAMES, NAMESPACES, PodKey, PodShape};
use super::setup::{CPU_LIMITS, Limits, MEMORY_LIMITS};

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

/// Every fault rule, simplest (for shrinking) first.
const FAULTS: [Fault; 4] = [
    Fault::PowerOn,
    Fault::CreateVm,
    Fault::PowerOff,
    Fault::Destroy,
];
/// `imagePullPolicy` values; `None` leaves Kubernetes' default.
const PULL_POLICIES: [Option<&str>; 4] =
    [None, Some("Always"), Some("IfNotPresent"), Some("Never")];
/// `terminationGracePeriodSeconds` values of created pods.
const POD_GRACES: [Option<i64>; 4] = [None, Some(0), Some(5), Some(30)];
/// Grace periods of stops.
const STOP_GRACES: [i64; 2] = [0, 10];
/// Grace periods of deletes; `None` leaves the pod's own.
const DELETE_GRACES: [Option<i64>; 3] = [None, Some(0), Some(30)];
/// Longest time advance, seconds.
const MAX_ADVANCE_SECS: u32 = 3600;

/// Kinds of steps and their weights: mostly pod lifecycles.
#[derive(Clone, Copy)]
enum Kind {
    Create,
    Start,
    Stop,
    Delete,
    Update,
    RestartProvider,
    EnterMaintenance,
    ExitMaintenance,
    Disconnect,
    Reconnect,
    SetLimits,
    FaultOn,
    FaultsOff,
    Advance,
}

const KINDS: [(u32, Kind); 14] = [
    (10, Kind::Create),
    (3, Kind::Start),
    (3, Kind::Stop),
    (5, Kind::Delete),
    (1, Kind::Update),
    (1, Kind::RestartProvider),
    (1, Kind::EnterMaintenance),
    (1, Kind::ExitMaintenance),
    (1, Kind::Disconnect),
    (1, Kind::Reconnect),
    (1, Kind::SetLimits),
    (1, Kind::FaultOn),
    (1, Kind::FaultsOff),
    (1, Kind::Advance),
];

/// One of `items`, uniformly.
fn pick<T: Copy>(rng: &mut TestRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// The first of `weighted` whose weight covers a draw over their sum.
fn pick_weighted<T: Copy>(rng: &mut TestRng, weighted: &[(u32, T)]) -> T {
    let total: u32 = weighted.iter().map(|(w, _)| w).sum();
    let mut draw = rng.random_range(0..total);
    for &(w, item) in weighted {
        if draw < w {
            return item;
        }
        draw -= w;
    }
    weighted[weighted.len() - 1].1
}

/// A stated quantity three times in four; a limit without a request one time in five.
fn amount(rng: &mut TestRng, len: usize) -> Option<Amount> {
    rng.random_ratio(3, 4).then(|| Amount {
        idx: rng.random_range(0..len),
        limit_only: rng.random_bool(0.2),
    })
}

/// A pod to create: mostly one container, mostly known images, sometimes an unknown image or
/// a bad quantity.
fn pod_shape(rng: &mut TestRng) -> PodShape {
    let n = pick_weighted(rng, &[(6, 1usize), (3, 2), (1, 3)]);
    let containers = (0..n)
        .map(|_| ContainerShape {
            cpu: amount(rng, CPU.len()),
            memory: amount(rng, MEMORY.len()),
        })
        .collect();
    let image = if rng.random_ratio(8, 9) {
        pick(rng, &KNOWN)
    } else {
        pick(rng, &UNKNOWN)
    };
    PodShape {
        containers,
        image,
        pull_policy: pick(rng, &PULL_POLICIES),
        grace_secs: pick(rng, &POD_GRACES),
        bad_quantity: rng.random_bool(0.03),
    }
}

fn any_pod(rng: &mut TestRng) -> PodKey {
    (pick(rng, &NAMESPACES), pick(rng, &NAMES))
}

/// What steps are drawn from: the hosts and the pods of the model at that point.
#[derive(Clone, Debug)]
struct Steps {
    hosts: usize,
    existing: Vec<PodKey>,
}

impl Steps {
    /// A pod that exists four times in five if there is one, else any.
    fn pod(&self, rng: &mut TestRng) -> PodKey {
        if !self.existing.is_empty() && rng.random_ratio(4, 5) {
            pick(rng, &self.existing)
        } else {
            any_pod(rng)
        }
    }

    fn draw(&self, rng: &mut TestRng) -> Transition {
        let host = |rng: &mut TestRng| rng.random_range(0..self.hosts.max(1));
        match pick_weighted(rng, &KINDS) {
            Kind::Create => Transition::Create(any_pod(rng), pod_shape(rng)),
            Kind::Start => Transition::Start(self.pod(rng)),
            Kind::Stop => Transition::Stop(self.pod(rng), pick(rng, &STOP_GRACES)),
            Kind::Delete => Transition::Delete(self.pod(rng), pick(rng, &DELETE_GRACES)),
            Kind::Update => {
                Transition::Update(self.pod(rng), pick(rng, &LABELS), rng.random_bool(0.5))
            }
            Kind::RestartProvider => Transition::RestartProvider,
            Kind::EnterMaintenance => Transition::EnterMaintenance(host(rng)),
            Kind::ExitMaintenance => Transition::ExitMaintenance(host(rng)),
            Kind::Disconnect => Transition::Disconnect(host(rng)),
            Kind::Reconnect => Transition::Reconnect(host(rng)),
            Kind::SetLimits => Transition::SetLimits(Limits {
                cpu_mhz: pick(rng, &CPU_LIMITS),
                memory_mb: pick(rng, &MEMORY_LIMITS),
            }),
            Kind::FaultOn => Transition::FaultOn(pick(rng, &FAULTS)),
            Kind::FaultsOff => Transition::FaultsOff,
            Kind::Advance => Transition::Advance(rng.random_range(1..=MAX_ADVANCE_SECS)),
        }
    }
}

impl Strategy for Steps {
    type Tree = StepTree;
    type Value = Transition;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(StepTree::new(self.draw(runner.rng())))
    }
}

/// A drawn step and how it shrinks: to each of its simpler versions in turn, keeping the
/// first with which the case still fails and going on from there.
#[derive(Clone, Debug)]
pub struct StepTree {
    /// The simplest version known to fail (at first: the step drawn).
    accepted: Transition,
    /// The version being tried.
    current: Transition,
    /// Simpler versions of `accepted` not tried yet; computed on the first shrink only.
    candidates: Option<std::vec::IntoIter<Transition>>,
}

impl StepTree {
    fn new(t: Transition) -> Self {
        StepTree {
            accepted: t.clone(),
            current: t,
            candidates: None,
        }
    }
}

impl ValueTree for StepTree {
    type Value = Transition;

    fn current(&self) -> Transition {
        self.current.clone()
    }

    fn simplify(&mut self) -> bool {
        if self.current != self.accepted {
            // The case still failed with the version tried: it is the new starting point.
            self.accepted = self.current.clone();
            self.candidates = None;
        }
        let accepted = &self.accepted;
        let next = self
            .candidates
            .get_or_insert_with(|| accepted.simpler().into_iter())
            .next();
        match next {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }

    fn complicate(&mut self) -> bool {
        if self.current == self.accepted {
            return false;
        }
        self.current = self.accepted.clone();
        true
    }
}

impl Transition {
    /// Simpler versions of this step, simplest first: smaller pods, shorter waits, the first
    /// host, fault and limits. Pod names stay, so a shrunk step acts on the same pod.
    pub fn simpler(&self) -> Vec<Transition> {
        match self {
            Transition::Create(k, shape) => shape
                .simpler()
                .into_iter()
                .map(|s| Transition::Create(*k, s))
                .collect(),
            Transition::Stop(k, g) if *g != STOP_GRACES[0] => {
                vec![Transition::Stop(*k, STOP_GRACES[0])]
            }
            Transition::Delete(k, g) => DELETE_GRACES
                .iter()
                .take_while(|d| *d != g)
                .map(|d| Transition::Delete(*k, *d))
                .collect(),
            Transition::Update(k, v, resize) => {
                let mut out = Vec::new();
                if *resize {
                    out.push(Transition::Update(*k, v, false));
                }
                if *v != LABELS[0] {
                    out.push(Transition::Update(*k, LABELS[0], *resize));
                }
                out
            }
            Transition::EnterMaintenance(h)
            | Transition::ExitMaintenance(h)
            | Transition::Disconnect(h)
            | Transition::Reconnect(h)
                if *h != 0 =>
            {
                let mut first = self.clone();
                if let Transition::EnterMaintenance(h)
                | Transition::ExitMaintenance(h)
                | Transition::Disconnect(h)
                | Transition::Reconnect(h) = &mut first
                {
                    *h = 0;
                }
                vec![first]
            }
            Transition::SetLimits(l) => {
                let mut out = Vec::new();
                if l.cpu_mhz != CPU_LIMITS[0] {
                    out.push(Limits {
                        cpu_mhz: CPU_LIMITS[0],
                        ..*l
                    });
                }
                if l.memory_mb != MEMORY_LIMITS[0] {
                    out.push(Limits {
                        memory_mb: MEMORY_LIMITS[0],
                        ..*l
                    });
                }
                out.into_iter().map(Transition::SetLimits).collect()
            }
            Transition::FaultOn(f) if *f != FAULTS[0] => vec![Transition::FaultOn(FAULTS[0])],
            Transition::Advance(secs) if *secs > 1 => {
                let mut out = vec![Transition::Advance(1)];
                if *secs > 2 {
                    out.push(Transition::Advance(secs / 2));
                }
                out
            }
            _ => Vec::new(),
        }
    }
}

impl PodShape {
    /// Simpler pods, simplest first: a valid quantity, fewer containers, stated defaults left
    /// out, the first known image, then each container's quantities dropped or made the least.
    pub fn simpler(&self) -> Vec<PodShape> {
        let mut out = Vec::new();
        let mut with = |f: &dyn Fn(&mut PodShape)| {
            let mut s = self.clone();
            f(&mut s);
            if s != *self {
                out.push(s);
            }
        };
        with(&|s| s.bad_quantity = false);
        with(&|s| s.containers.truncate(1));
        with(&|s| {
            if s.containers.len() > 1 {
                s.containers.pop();
            }
        });
        with(&|s| s.pull_policy = None);
        with(&|s| s.grace_secs = None);
        with(&|s| s.image = KNOWN[0]);
        for i in 0..self.containers.len() {
            with(&|s| s.containers[i].cpu = None);
            with(&|s| s.containers[i].memory = None);
            let least = |a: Option<Amount>| {
                a.map(|_| Amount {
                    idx: 0,
                    limit_only: false,
                })
            };
            with(&|s| s.containers[i].cpu = least(s.containers[i].cpu));
            with(&|s| s.containers[i].memory = least(s.containers[i].memory));
        }
        out.dedup();
        out
    }
}

/// The steps possible from `model`, weighted towards pod lifecycles.
pub fn transitions(model: &Model) -> BoxedStrategy<Transition> {
    Steps {
        hosts: model.cluster.hosts.len(),
        existing: model.pods.keys().copied().collect(),
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{Config, RngSeed};

    fn runner(seed: u64) -> TestRunner {
        TestRunner::new(Config {
            rng_seed: RngSeed::Fixed(seed),
            ..Config::default()
        })
    }

    fn steps(existing: Vec<PodKey>) -> Steps {
        Steps { hosts: 3, existing }
    }

    /// Shrinks `tree` as proptest's runner does, with a case that fails when `fails` says
    /// so; the last version that failed.
    fn shrink(mut tree: StepTree, fails: impl Fn(&Transition) -> bool) -> Transition {
        let mut last_failure = tree.current();
        assert!(fails(&last_failure));
        let mut failing = true;
        loop {
            let moved = if failing {
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !moved {
                return last_failure;
            }
            failing = fails(&tree.current());
            if failing {
                last_failure = tree.current();
            }
        }
    }

    fn big_pod() -> Transition {
        let heavy = ContainerShape {
            cpu: Some(Amount {
                idx: 5,
                limit_only: true,
            }),
            memory: Some(Amount {
                idx: 4,
                limit_only: false,
            }),
        };
        Transition::Create(
            ("team", "db"),
            PodShape {
                containers: vec![heavy; 3],
                image: "postgres:16",
                pull_policy: Some("Never"),
                grace_secs: Some(30),
                bad_quantity: true,
            },
        )
    }

    #[test]
    fn a_pod_shrinks_to_what_the_failure_needs() {
        // The "failure": a pod asking for any memory at all with two or more containers.
        let fails = |t: &Transition| match t {
            Transition::Create(_, s) => {
                s.containers.len() >= 2 && s.containers.iter().any(|c| c.memory.is_some())
            }
            _ => false,
        };
        let Transition::Create(key, shape) = shrink(StepTree::new(big_pod()), fails) else {
            panic!("a create stays a create");
        };
        assert_eq!(key, ("team", "db"), "the pod's name stays");
        let least_memory = Some(Amount {
            idx: 0,
            limit_only: false,
        });
        assert_eq!(shape.containers.len(), 2, "{shape:?}");
        assert!(
            shape.containers.iter().all(|c| c.cpu.is_none()),
            "{shape:?}"
        );
        let memories: Vec<_> = shape.containers.iter().filter_map(|c| c.memory).collect();
        assert_eq!(memories.len(), 1, "{shape:?}");
        assert_eq!(Some(memories[0]), least_memory);
        assert_eq!(
            (
                shape.image,
                shape.pull_policy,
                shape.grace_secs,
                shape.bad_quantity
            ),
            (KNOWN[0], None, None, false)
        );
    }

    #[test]
    fn complicate_returns_to_the_last_failing_version() {
        let mut tree = StepTree::new(Transition::Advance(3000));
        assert!(!tree.complicate(), "nothing simpler was tried yet");
        assert!(tree.simplify());
        assert_eq!(tree.current(), Transition::Advance(1));
        assert!(tree.complicate());
        assert_eq!(tree.current(), Transition::Advance(3000));
        assert!(tree.simplify());
        assert_eq!(tree.current(), Transition::Advance(1500));
        // 1500 still fails: it becomes the starting point.
        assert!(tree.simplify());
        assert_eq!(tree.current(), Transition::Advance(1));
        assert!(tree.complicate());
        assert_eq!(tree.current(), Transition::Advance(1500));
    }

    #[test]
    fn simpler_versions_differ_and_keep_a_container() {
        let mut rng = runner(7);
        let from = steps(vec![("default", "web")]);
        for _ in 0..2_000 {
            let t = from.draw(rng.rng());
            for s in t.simpler() {
                assert_ne!(s, t);
                if let Transition::Create(_, shape) = &s {
                    assert!(!shape.containers.is_empty(), "{s:?}");
                }
            }
        }
        assert!(Transition::RestartProvider.simpler().is_empty());
        assert!(Transition::Advance(1).simpler().is_empty());
    }

    #[test]
    fn draws_follow_the_weights_and_the_seed() {
        let existing = vec![("team", "db")];
        let draw_all = |seed| {
            let mut rng = runner(seed);
            let from = steps(existing.clone());
            (0..31_000)
                .map(|_| from.draw(rng.rng()))
                .collect::<Vec<_>>()
        };
        let all = draw_all(3);
        assert_eq!(all, draw_all(3), "the same seed draws the same steps");
        assert_ne!(all, draw_all(4));
        let count = |f: fn(&Transition) -> bool| all.iter().filter(|t| f(t)).count();
        // Weights 10, 5 and 1 of 31: about 10,000, 5,000 and 1,000 of 31,000.
        let creates = count(|t| matches!(t, Transition::Create(..)));
        let deletes = count(|t| matches!(t, Transition::Delete(..)));
        let advances = count(|t| matches!(t, Transition::Advance(_)));
        assert!((9_400..10_600).contains(&creates), "{creates}");
        assert!((4_600..5_400).contains(&deletes), "{deletes}");
        assert!((850..1_150).contains(&advances), "{advances}");
        // Pod steps name the existing pod four times in five.
        let named: Vec<PodKey> = all
            .iter()
            .filter_map(|t| match t {
                Transition::Start(k) | Transition::Stop(k, _) | Transition::Delete(k, _) => {
                    Some(*k)
                }
                _ => None,
            })
            .collect();
        let existing_share =
            named.iter().filter(|k| **k == existing[0]).count() * 100 / named.len();
        assert!((78..=85).contains(&existing_share), "{existing_share}%");
        // Every host index, fault and image is reachable.
        for h in 0..3 {
            assert!(all.contains(&Transition::Disconnect(h)), "host {h}");
        }
        for f in FAULTS {
            assert!(all.contains(&Transition::FaultOn(f)), "{f:?}");
        }
        for image in KNOWN.iter().chain(&UNKNOWN) {
            assert!(
                all.iter()
                    .any(|t| matches!(t, Transition::Create(_, s) if s.image == *image)),
                "{image}"
            );
        }
    }
}
