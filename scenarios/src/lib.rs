//! Scenario files, proptest regressions and whole-stack property tests for vcsim-lite.
//!
//! - [`scenario`]: scenario files (YAML) and their runner, used by `vcsim-lite scenario run`
//!   and `tests/scenario_files.rs`.
//! - [`machine`]: the whole-stack state machine (reference model, stack, checks), shared by
//!   `tests/stack_machine.rs` and `vcsim-lite fuzz`.
//!
//! The property tests live in `tests/`; this library holds what they share.

pub mod machine;
pub mod scenario;

use proptest::test_runner::{Config, RngSeed};

/// The proptest configuration every property test here uses: proptest's seed from
/// `VCSIM_SEED` (a fixed default, so CI is reproducible) and the case count from
/// `PROPTEST_CASES`; both are printed, so a failure's output says how to replay it.
pub fn proptest_config(test: &str, default_cases: u32) -> Config {
    let seed = std::env::var("VCSIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_cases);
    eprintln!("{test}: VCSIM_SEED={seed} PROPTEST_CASES={cases}");
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}
