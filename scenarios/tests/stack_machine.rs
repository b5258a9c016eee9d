//! The whole-stack state machine (see `scenarios::machine`): random pod lifecycles, provider
//! restarts, host maintenance and failures, VCH limit changes, fault rules and time, each step
//! checked against the reference model, then a teardown back to the starting accounting.
//!
//! Seeds: `VCSIM_SEED` (default fixed, printed) seeds proptest; each case draws its own setup
//! (world seed included) from it, so `VCSIM_SEED=<n> cargo test -p scenarios --test
//! stack_machine` replays a run. `PROPTEST_CASES` sets the number of cases (default 256).
//! Failing cases are shrunk to a minimal step list and their seeds saved in
//! `stack_machine.proptest-regressions`, replayed first by every run.

use std::collections::BTreeSet;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use proptest_state_machine::prop_state_machine;
use scenarios::machine::pod::{Amount, ContainerShape, PodShape};
use scenarios::machine::setup::{HostShape, Limits, Setup};
use scenarios::machine::{Expect, Model, StackMachine, Transition, cases, long_case, run_case};

/// Steps per case: the length `vcsim-lite fuzz` uses by default, so a seed it persists
/// replays here.
const STEPS: usize = 30;

prop_state_machine! {
    #![proptest_config(scenarios::proptest_config("stack_machine", 256))]

    #[test]
    fn the_stack_agrees_with_the_model_step_by_step(sequential STEPS..=STEPS => StackMachine);
}

fn seed() -> u64 {
    let seed = std::env::var("VCSIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    eprintln!("determinism: VCSIM_SEED={seed}");
    seed
}

/// A failure the state machine found and shrank while it was written (a pod that cannot fit,
/// a resized update, a delete, then a create), kept as its steps: a persisted seed names a
/// case of the generator that drew it, and the generator has changed since.
#[test]
fn regression_create_after_a_resized_pod_was_deleted() {
    let host = |cores_per_socket| HostShape {
        cores_per_socket,
        memory_mib: 832,
    };
    let unlimited = Limits {
        cpu_mhz: None,
        memory_mb: None,
    };
    let model = Model::new(Setup {
        seed: 0,
        hosts: vec![host(4), host(2), host(4)],
        datastore_mib: 2560,
        limits: unlimited,
        container_limit: None,
        max_pods: 3,
    });
    let cpu = |idx| ContainerShape {
        cpu: Some(Amount {
            idx,
            limit_only: false,
        }),
        memory: None,
    };
    let pod = |containers| PodShape {
        containers,
        image: "busybox:1.36",
        pull_policy: None,
        grace_secs: None,
        bad_quantity: false,
    };
    let none = ContainerShape {
        cpu: None,
        memory: None,
    };
    let steps = [
        Transition::Create(("team-a", "web"), pod(vec![cpu(5), cpu(5), cpu(5)])),
        Transition::Create(("team", "a-web"), pod(vec![none])),
        Transition::Update(("team", "a-web"), "a", true),
        Transition::Delete(("team", "a-web"), None),
        Transition::Create(("default", "web"), pod(vec![cpu(4)])),
    ];
    run_case(&model, &steps).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_long_random_run_replays_to_the_same_event_digest() {
    let (model, steps) = long_case(seed(), 2_000);
    let a = run_case(&model, &steps).unwrap_or_else(|e| panic!("first run: {e}"));
    let b = run_case(&model, &steps).unwrap_or_else(|e| panic!("second run: {e}"));
    assert!(a.events > 1_000, "the run did little: {} events", a.events);
    assert_eq!(a, b, "the same seed and steps gave different event logs");
}

/// The fault name of a refusal's text, with the scope of an InsufficientResourcesFault
/// (`pool`, `host`, `cluster`, or `injected` by a rule).
fn short(text: &str) -> String {
    let mut words = text.split(&[':', ' '][..]).filter(|w| !w.is_empty());
    let fault = words.next().unwrap_or("");
    match (fault, words.next()) {
        ("InsufficientResourcesFault", Some(scope)) => format!("{fault} {scope}"),
        _ => fault.to_string(),
    }
}

/// A name for each kind of outcome, to count which ones the generator reaches.
fn kind(e: &Expect) -> String {
    match e {
        Expect::Ok => "Ok".into(),
        Expect::Rebuilt(_) => "Rebuilt".into(),
        Expect::Provider { reason, text } => match text {
            Some(t) => format!("{reason}({})", short(t)),
            None => reason.to_string(),
        },
        Expect::World(r) => format!("World({})", short(&r.text())),
    }
}

#[test]
fn random_cases_reach_every_kind_of_outcome() {
    // Guards the generator: if it stopped reaching a refusal, the property above would pass
    // without testing it. The model alone is enough to count.
    const CASES: usize = 600;
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..CASES {
        let (mut model, steps, _) = cases(STEPS)
            .new_tree(&mut runner)
            .expect("no rejection")
            .current();
        for t in &steps {
            model.step(t);
            seen.insert(kind(&model.expect));
        }
    }
    eprintln!("{seen:?}");
    let want = [
        "Ok",
        "Rebuilt",
        "AlreadyExists",
        "NotFound",
        "InvalidPod",
        "OutOfpods",
        "OutOfcpu",
        "OutOfmemory",
        "ErrImagePull",
        "ErrImagePull(NoDiskSpace)",
        "ErrImageNeverPull",
        "ProviderFailed(403)",
        "ProviderFailed(InsufficientResourcesFault pool)",
        "ProviderFailed(InsufficientResourcesFault host)",
        "ProviderFailed(InsufficientResourcesFault injected)",
        "ProviderFailed(NotEnoughLogicalCpus)",
        "ProviderFailed(NoDiskSpace)",
        "ProviderFailed(SystemError)",
        "ProviderFailed(Timeout)",
        "World(InsufficientResourcesFault pool)",
        "World(InsufficientResourcesFault cluster)",
        "World(NotEnoughLogicalCpus)",
        "World(InvalidState)",
        "World(InvalidHostConnectionState)",
    ];
    for w in want {
        assert!(seen.contains(w), "no {w} in {CASES} random cases: {seen:?}");
    }
}
