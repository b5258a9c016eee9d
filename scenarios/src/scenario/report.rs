//! What a run produced: the step-by-step report people read, the failures a CI log needs (file,
//! step, what differed), and the world's event trace as JSON lines.

use std::fmt::Write as _;

use vcsim_lite::sim::event::Event;

use super::expect::{Check, StepError};

/// The result of running one scenario.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The scenario file.
    pub file: String,
    /// Its description.
    pub description: String,
    /// Its seed.
    pub seed: u64,
    /// What setup built, in one line.
    pub setup: String,
    /// The steps run, in order.
    pub steps: Vec<StepReport>,
    /// Why the run stopped early (broken world invariants), if it did.
    pub aborted: Option<String>,
    /// The world's events as JSON lines (step 0 is setup), when asked for.
    pub trace: Vec<String>,
}

/// One step's outcome and checks.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// 1-based.
    pub number: usize,
    /// The step's line in the file.
    pub line: Option<usize>,
    /// What was done, e.g. `apply default/web`.
    pub title: String,
    /// The step's note.
    pub note: Option<String>,
    /// What the action did, or how it failed.
    pub outcome: Result<String, StepError>,
    /// Every check: the outcome against `error:`, invariants, and each expectation.
    pub checks: Vec<Check>,
}

/// One failed check, with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The scenario file.
    pub file: String,
    /// The step number (1-based).
    pub step: usize,
    /// The step's line.
    pub line: Option<usize>,
    /// What the step did.
    pub title: String,
    /// The check that failed.
    pub check: Check,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(
            f,
            ": step {} ({}): {}: expected {}, got {}",
            self.step, self.title, self.check.subject, self.check.expected, self.check.actual
        )
    }
}

impl RunReport {
    /// True when every check passed and the run was not cut short.
    pub fn passed(&self) -> bool {
        self.aborted.is_none() && self.steps.iter().all(|s| s.checks.iter().all(|c| c.ok))
    }

    /// Every failed check, in step order.
    pub fn failures(&self) -> Vec<Failure> {
        self.steps
            .iter()
            .flat_map(|s| {
                s.checks.iter().filter(|c| !c.ok).map(|c| Failure {
                    file: self.file.clone(),
                    step: s.number,
                    line: s.line,
                    title: s.title.clone(),
                    check: c.clone(),
                })
            })
            .collect()
    }

    /// Number of checks made.
    pub fn checks(&self) -> usize {
        self.steps.iter().map(|s| s.checks.len()).sum()
    }

    /// The readable report: the scenario, its setup, then each step with what it did and each
    /// check as `ok` or `FAILED` with expected and actual values; a summary line last.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} (seed {})", self.file, self.seed);
        if !self.description.is_empty() {
            for line in self.description.trim().lines() {
                let _ = writeln!(out, "  {}", line.trim());
            }
        }
        let _ = writeln!(out, "  setup: {}", self.setup);
        for s in &self.steps {
            let at = s.line.map_or(String::new(), |l| format!(" (line {l})"));
            let done = match &s.outcome {
                Ok(d) => d.clone(),
                Err(e) => format!("error {e}"),
            };
            let _ = writeln!(out, "  step {}{at}: {}: {done}", s.number, s.title);
            if let Some(n) = &s.note {
                let _ = writeln!(out, "    # {}", n.trim());
            }
            for c in &s.checks {
                if c.ok {
                    let _ = writeln!(out, "    ok      {}: {}", c.subject, c.actual);
                } else {
                    let _ = writeln!(
                        out,
                        "    FAILED  {}: expected {}, got {}",
                        c.subject, c.expected, c.actual
                    );
                }
            }
        }
        if let Some(why) = &self.aborted {
            let _ = writeln!(out, "  ABORTED: {why}");
        }
        let failed = self.failures().len();
        let summary = if self.passed() {
            format!(
                "passed: {} checks in {} steps",
                self.checks(),
                self.steps.len()
            )
        } else {
            format!(
                "FAILED: {failed} of {} checks in {} steps",
                self.checks(),
                self.steps.len()
            )
        };
        let _ = writeln!(out, "  {summary}");
        out
    }
}

/// One trace line: the event as `vcsim_lite::report::event_json` renders it, with the file and
/// the step that caused it (0: setup).
pub fn trace_line(file: &str, step: usize, e: &Event) -> String {
    let mut v = vcsim_lite::report::event_json(e);
    v["scenario"] = serde_json::Value::String(file.to_string());
    v["step"] = serde_json::Value::from(step);
    v.to_string()
}
