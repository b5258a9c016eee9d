//! The `vcsim-lite` command line. Thin: each subcommand parses its flags and calls the libraries.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc rather than glibc's malloc: a long fuzz or serve run keeps a growing event log
/// among short-lived objects, and glibc's free lists then cost more than the simulation
/// (BENCHMARKS.md has both figures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod fuzz;
mod inventory;
mod scenario;
mod serve;

/// An in-process fake vSphere with real admission control.
#[derive(Parser, Debug)]
#[command(name = "vcsim-lite", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the Port Layer API, the Docker API and the vSphere SOAP endpoint of one VCH
    /// until Ctrl-C.
    Serve(Box<serve::ServeArgs>),
    /// Build the world and print it as a tree with capacity, reservations and usage.
    Inventory(inventory::InventoryArgs),
    /// Scenario files: `scenario run FILE...` runs them and prints a step-by-step report.
    Scenario(scenario::ScenarioArgs),
    /// Fuzz the whole stack with the state machine: random pod lifecycles and infrastructure
    /// events checked against a reference model, failures shrunk and replayable by seed.
    Fuzz(fuzz::FuzzArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Scenario(args) => scenario::run(args),
        Command::Fuzz(args) => fuzz::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vcsim-lite: {e}");
            ExitCode::FAILURE
        }
    }
}
