//! Scenario files: a world, a VCH and the VIC provider set up from YAML, steps run against
//! them in simulated time, and expectations checked after each step.
//!
//! - [`file`]: the YAML format, parsed and checked before anything runs ([`load`], [`parse`]).
//! - [`expect`]: what a step may expect, and how each is compared with the stack.
//! - [`runner`]: sets up the stack in process and runs the steps ([`run`]).
//! - [`report`]: the step-by-step report people read, and the event trace as JSON lines.
//! - `locate`: YAML paths to line numbers, so errors point into the file.
//!
//! A file that does not parse, names an unknown field, or holds a value that cannot be right
//! (a quantity `12Q`, a fault rule without `=`, a host the inventory lacks) is refused as a
//! whole with `FILE:LINE: PATH: MESSAGE`, and nothing runs.

pub mod expect;
pub mod file;
mod locate;
pub mod report;
pub mod runner;

use std::fmt;

pub use file::{Action, PodRef, Scenario, Step, load, parse};
pub use report::{Failure, RunReport, StepReport};
pub use runner::{RunOptions, run};

/// Why a scenario file was refused, and where: `FILE:LINE: PATH: MESSAGE`, the shape editors
/// and terminals turn into a link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileError {
    /// The file as named on the command line.
    pub file: String,
    /// 1-based line; `None` when the file could not be read at all.
    pub line: Option<usize>,
    /// The YAML path of the offending value (`steps[3].apply.spec`); empty for the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}
