//! The whole-stack state machine: random pod lifecycles and infrastructure events driven
//! through the real provider, port layer, persona and world, each step checked against a
//! small reference model (proptest-state-machine).
//!
//! - [`setup`]: the options of a case (hosts, datastore, VCH limits, node), drawn per case.
//! - [`pod`]: pod shapes, their sizing, and the Kubernetes pods made from them.
//! - [`images`]: the layers of each image and the space they take.
//! - [`cluster`]: hosts and VMs, pool admission and DRS placement, in the model.
//! - [`model`]: the reference state machine and the outcome of every step.
//! - [`transitions`]: the steps and how they are drawn.
//! - [`sut`]: the stack under test and how steps reach it.
//! - [`checks`]: the postconditions.
//!
//! After the last step of a case, a teardown (fault rules off, every pod deleted, hosts back,
//! the VCH's limits restored) runs through the same checks, and the world's accounting must
//! then equal its accounting at the start, plus the image layers pulled.

pub mod checks;
pub mod cluster;
pub mod images;
pub mod model;
pub mod pod;
pub mod setup;
pub mod sut;
pub mod transitions;

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, Sequential, StateMachineTest};

pub use model::{Expect, Model, Reference};
pub use sut::Sut;
pub use transitions::Transition;

/// Steps applied in this process so far (the fuzz runner's steps/s).
static STEPS: AtomicU64 = AtomicU64::new(0);

/// Steps applied in this process so far, teardown steps included.
pub fn steps_applied() -> u64 {
    STEPS.load(Ordering::Relaxed)
}

/// The state machine test over the whole stack.
pub struct StackMachine;

/// Applies a step to the model and the stack and checks everything; the message on failure.
pub fn step(sut: &mut Sut, model: &mut Model, t: &Transition) -> checks::Check {
    model.step(t);
    sut.apply(t, model);
    STEPS.fetch_add(1, Ordering::Relaxed);
    checks::outcome(sut, &model.expect)?;
    touched(sut, model, t)?;
    checks::state(sut, model)
}

/// Checks what only the step's own pod can show: its labels after an update (a create's
/// labels are the pod's own; the end of each case checks every pod's).
fn touched(sut: &Sut, model: &Model, t: &Transition) -> checks::Check {
    match t {
        Transition::Update(key, _, _) => checks::labels(sut, model, *key),
        _ => Ok(()),
    }
}

/// The steps that take a case back to where it started.
pub fn teardown_steps(model: &Model) -> Vec<Transition> {
    let mut steps = vec![Transition::FaultsOff];
    steps.extend(model.pods.keys().map(|k| Transition::Delete(*k, Some(0))));
    for (i, h) in model.cluster.hosts.iter().enumerate() {
        if !h.connected {
            steps.push(Transition::Reconnect(i));
        }
        if h.maintenance {
            steps.push(Transition::ExitMaintenance(i));
        }
    }
    steps.push(Transition::SetLimits(model.setup.limits));
    steps
}

/// Runs the teardown through the same checks, then compares the world with `start`.
pub fn teardown(sut: &mut Sut, model: &mut Model, start: &checks::Accounting) -> checks::Check {
    checks::listing(sut, model).map_err(|e| format!("before the teardown: {e}"))?;
    for t in teardown_steps(model) {
        step(sut, model, &t).map_err(|e| format!("teardown {t:?}: {e}"))?;
    }
    checks::back_to_start(sut, model, start)
}

/// A stack with its accounting at the start, for the teardown's comparison.
pub struct Case {
    /// The stack.
    pub sut: Sut,
    /// Its accounting right after it was built.
    pub start: checks::Accounting,
    /// The step applied last, to name it when the state checks after it fail.
    pub last: Option<Transition>,
}

impl StateMachineTest for StackMachine {
    type SystemUnderTest = Case;
    type Reference = Reference;

    fn init_test(model: &Model) -> Case {
        let sut = Sut::new(&model.setup);
        let start = checks::accounting_of(&sut.shared.lock().world);
        Case {
            sut,
            start,
            last: None,
        }
    }

    fn apply(mut case: Case, model: &Model, t: Transition) -> Case {
        // The model has applied `t` already; mirror what `step` does for the stack. The
        // state checks follow in `check_invariants`, which the runner calls after every step.
        case.sut.apply(&t, model);
        STEPS.fetch_add(1, Ordering::Relaxed);
        let checked =
            checks::outcome(&case.sut, &model.expect).and_then(|()| touched(&case.sut, model, &t));
        if let Err(e) = checked {
            panic!("step {t:?}: {e}");
        }
        case.last = Some(t);
        case
    }

    fn check_invariants(case: &Case, model: &Model) {
        if let Err(e) = checks::state(&case.sut, model) {
            match &case.last {
                Some(t) => panic!("step {t:?}: {e}"),
                None => panic!("initial state: {e}"),
            }
        }
    }

    fn teardown(mut case: Case, mut model: Model) {
        if let Err(e) = teardown(&mut case.sut, &mut model, &case.start) {
            panic!("{e}");
        }
    }
}

/// The strategy of a case: its setup and exactly `steps` steps (a fixed length, so that a
/// persisted seed regenerates the same case whatever runs it with the same length).
pub fn cases(
    steps: usize,
) -> Sequential<Model, Transition, BoxedStrategy<Model>, BoxedStrategy<Transition>> {
    Reference::sequential_strategy(steps..=steps)
}

/// What a case left in the world's event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// SHA-256 of the event log's rendering.
    pub digest: String,
    /// Events logged.
    pub events: usize,
}

/// Runs one case (setup and steps) with every check, teardown included; the trace of the
/// steps (before the teardown), or the first failure.
pub fn run_case(model: &Model, steps: &[Transition]) -> Result<Trace, String> {
    let mut model = model.clone();
    let mut sut = Sut::new(&model.setup);
    let start = checks::accounting_of(&sut.shared.lock().world);
    checks::state(&sut, &model).map_err(|e| format!("initial state: {e}"))?;
    for (i, t) in steps.iter().enumerate() {
        step(&mut sut, &mut model, t).map_err(|e| format!("step {i} {t:?}: {e}"))?;
    }
    let trace = {
        let st = sut.shared.lock();
        Trace {
            digest: st.world.events().digest(),
            events: st.world.events().len(),
        }
    };
    teardown(&mut sut, &mut model, &start)?;
    Ok(trace)
}

/// A long case drawn from `seed` (the same seed gives the same case).
pub fn long_case(seed: u64, steps: usize) -> (Model, Vec<Transition>) {
    let config = Config {
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let (model, transitions, _) = cases(steps)
        .new_tree(&mut runner)
        .expect("the state machine's strategies do not reject")
        .current();
    (model, transitions)
}
