//! `vcsim-lite scenario run FILE...`: run scenario files and print their step-by-step reports.

use std::io::Write as _;
use std::path::PathBuf;

use scenarios::scenario::{self, RunOptions};

#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    command: ScenarioCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ScenarioCommand {
    /// Run scenario files (YAML); exits non-zero if any expectation fails or a file is invalid.
    Run(RunArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Scenario files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write the world's event trace as JSON lines (one event per line, with its scenario
    /// file and step) to this file.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

pub fn run(args: ScenarioArgs) -> Result<(), String> {
    let ScenarioCommand::Run(args) = args.command;
    let mut trace = match &args.trace {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => None,
    };
    let opts = RunOptions {
        trace: trace.is_some(),
    };
    let mut failed = Vec::new();
    for file in &args.files {
        let report = scenario::load(file).and_then(|sc| scenario::run(&sc, opts));
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{e}");
                failed.push(file.display().to_string());
                continue;
            }
        };
        print!("{}", report.render());
        if let Some(out) = trace.as_mut() {
            for line in &report.trace {
                writeln!(out, "{line}").map_err(|e| format!("writing the trace: {e}"))?;
            }
        }
        if !report.passed() {
            for f in report.failures() {
                eprintln!("{f}");
            }
            if let Some(why) = &report.aborted {
                eprintln!("{}: {why}", report.file);
            }
            failed.push(report.file.clone());
        }
    }
    if let Some(mut out) = trace {
        out.flush().map_err(|e| format!("writing the trace: {e}"))?;
    }
    match failed.len() {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} scenario files failed: {}",
            args.files.len(),
            failed.join(", ")
        )),
    }
}
