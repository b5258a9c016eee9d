//! `vcsim-lite fuzz`: the whole-stack state machine (`scenarios::machine`) outside `cargo
//! test`, for long campaigns. Each seed is a campaign of `--cases` cases of `--steps` steps,
//! drawn by proptest from that seed, so a seed replays exactly; `--seed-range A..B` runs seeds
//! A to B-1 one after the other, so a large campaign splits into shards by seed.
//!
//! A failing case is shrunk to a minimal list of steps, its proptest seed is saved in the
//! regressions file (which every run replays first), and the seed, the steps and the command
//! that replays them are printed.
#![allow(clippy::disallowed_methods)] // times the run and draws a fresh seed from the clock

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};
use proptest_state_machine::StateMachineTest;
use scenarios::machine::{StackMachine, Transition, cases, steps_applied};

/// Steps per case in `tests/stack_machine.rs`: with these, a campaign is the test's run.
const TEST_STEPS: u32 = 30;

/// Where failing cases' seeds are kept: the file `cargo test` replays for the same machine.
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/stack_machine.proptest-regressions"
);

#[derive(clap::Args, Debug)]
pub struct FuzzArgs {
    /// Seed of the campaign (proptest's; each case draws its world's seed from it). A fresh
    /// one, printed, when absent.
    #[arg(long, env = "VCSIM_SEED", conflicts_with = "seed_range")]
    seed: Option<u64>,
    /// Run the campaigns of seeds A to B-1 (a shard of a larger campaign).
    #[arg(long, value_name = "A..B")]
    seed_range: Option<SeedRange>,
    /// Cases per seed.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    cases: u32,
    /// Steps per case (30 is what `cargo test` runs, so a campaign of 30 steps is the test's
    /// run, and its persisted seeds replay there).
    #[arg(long, default_value_t = TEST_STEPS, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    steps: u32,
    /// File that keeps failing cases' seeds and is replayed first.
    #[arg(long, value_name = "FILE", default_value = REGRESSIONS)]
    regressions: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Seeds `A..B`: A included, B excluded, B greater than A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    start: u64,
    end: u64,
}

impl FromStr for SeedRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once("..")
            .ok_or_else(|| format!("`{s}` is not a seed range A..B (e.g. 0..16)"))?;
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{t}` in `{s}` is not a seed (an integer from 0)"))
        };
        let (start, end) = (num(a)?, num(b)?);
        if end <= start {
            return Err(format!(
                "the seed range {start}..{end} is empty: B must be greater than A (B is excluded)"
            ));
        }
        Ok(SeedRange { start, end })
    }
}

/// A failure: where and what.
struct Failure {
    seed: u64,
    passed: u64,
    reason: String,
    setup: String,
    steps: Vec<Transition>,
}

/// Messages of panics inside the stack and the checks, caught instead of printed, so that
/// shrinking does not flood the terminal.
fn quiet_panics() -> Arc<Mutex<String>> {
    let last = Arc::new(Mutex::new(String::new()));
    let keep = last.clone();
    panic::set_hook(Box::new(move |info| {
        let text = match info.payload().downcast_ref::<String>() {
            Some(s) => s.clone(),
            None => info
                .payload()
                .downcast_ref::<&str>()
                .map_or_else(|| info.to_string(), |s| s.to_string()),
        };
        *keep.lock().unwrap_or_else(|p| p.into_inner()) = text;
    }));
    last
}

/// Runs the campaign of `seed`; the failure, if a case failed.
fn campaign(
    args: &FuzzArgs,
    regressions: &'static str,
    seed: u64,
    bar: &ProgressBar,
) -> Result<(), Box<Failure>> {
    let config = Config {
        cases: args.cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config.clone());
    let last_panic = quiet_panics();
    let (passed, failing) = (Cell::new(0u64), Cell::new(false));
    let result = runner.run(&cases(args.steps as usize), |(model, steps, seen)| {
        let run = panic::catch_unwind(AssertUnwindSafe(|| {
            StackMachine::test_sequential(config.clone(), model, steps, seen)
        }));
        match run {
            Ok(()) if !failing.get() => {
                passed.set(passed.get() + 1);
                bar.inc(1);
                Ok(())
            }
            Ok(()) => Ok(()),
            Err(_) => {
                if !failing.replace(true) {
                    bar.set_message(format!("seed {seed}: shrinking a failure"));
                }
                let text = last_panic.lock().unwrap_or_else(|p| p.into_inner()).clone();
                Err(TestCaseError::fail(text))
            }
        }
    });
    let _ = panic::take_hook();
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, (model, steps, _))) => Err(Box::new(Failure {
            seed,
            passed: passed.get(),
            reason: reason.to_string(),
            setup: format!("{:?}", model.setup),
            steps,
        })),
        Err(TestError::Abort(reason)) => Err(Box::new(Failure {
            seed,
            passed: passed.get(),
            reason: format!("proptest aborted: {reason}"),
            setup: String::new(),
            steps: Vec::new(),
        })),
    }
}

fn report(args: &FuzzArgs, f: &Failure) {
    eprintln!(
        "fuzz: FAILED: seed {}, after {} passing cases",
        f.seed, f.passed
    );
    eprintln!("  {}", f.reason);
    eprintln!("  setup: {}", f.setup);
    eprintln!("  shrunk to {} steps:", f.steps.len());
    for (i, t) in f.steps.iter().enumerate() {
        eprintln!("    {:>3}. {t:?}", i + 1);
    }
    eprintln!(
        "  replay: vcsim-lite fuzz --seed {} --cases {} --steps {}",
        f.seed, args.cases, args.steps
    );
    if args.steps == TEST_STEPS {
        eprintln!(
            "  or: VCSIM_SEED={} PROPTEST_CASES={} cargo test -p scenarios --test stack_machine",
            f.seed, args.cases
        );
    }
    eprintln!(
        "  (the case's seed is saved in {}; every run replays it first)",
        args.regressions.display()
    );
}

fn fresh_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn run(args: FuzzArgs) -> Result<(), String> {
    let seeds = match (args.seed_range, args.seed) {
        (Some(r), _) => r.start..r.end,
        (None, Some(s)) => s..s.saturating_add(1),
        (None, None) => {
            let s = fresh_seed();
            s..s + 1
        }
    };
    let n_seeds = seeds.end - seeds.start;
    let total = n_seeds.saturating_mul(u64::from(args.cases));
    let which = if n_seeds == 1 {
        format!("seed {}", seeds.start)
    } else {
        format!("seeds {}..{} ({n_seeds} campaigns)", seeds.start, seeds.end)
    };
    eprintln!(
        "fuzz: {which}, {} cases x {} steps each",
        args.cases, args.steps
    );
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases {per_sec} eta {eta} {msg}")
            .map_err(|e| e.to_string())?,
    );
    // proptest keeps the path for the whole run: one leaked string per run.
    let regressions: &'static str =
        Box::leak(args.regressions.display().to_string().into_boxed_str());
    let (started, steps_before) = (Instant::now(), steps_applied());
    let mut done = 0u64;
    for seed in seeds {
        bar.set_message(format!("seed {seed}"));
        if let Err(f) = campaign(&args, regressions, seed, &bar) {
            bar.abandon();
            report(&args, &f);
            return Err(format!("a case of seed {} failed", f.seed));
        }
        done += u64::from(args.cases);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let steps = steps_applied() - steps_before;
    eprintln!(
        "fuzz: {done} cases passed in {secs:.1} s: {:.0} cases/s, {steps} simulated steps, {:.0} steps/s",
        done as f64 / secs,
        steps as f64 / secs
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SeedRange;

    #[test]
    fn seed_ranges_parse_and_refuse_empty_or_malformed_ones() {
        assert_eq!(
            "3..7".parse::<SeedRange>(),
            Ok(SeedRange { start: 3, end: 7 })
        );
        let empty = "5..2".parse::<SeedRange>().unwrap_err();
        assert!(empty.contains("5..2 is empty"), "{empty}");
        assert!("4..4".parse::<SeedRange>().is_err());
        assert!("7".parse::<SeedRange>().unwrap_err().contains("A..B"));
        assert!("a..3".parse::<SeedRange>().unwrap_err().contains("`a`"));
        assert!("-1..3".parse::<SeedRange>().is_err());
    }
}
