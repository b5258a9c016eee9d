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
mod kubelet;
mod scenario;
mod serve;
mod stack;

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
    /// Run the VIC provider as a virtual-kubelet node of a Kubernetes cluster, over a VCH
    /// served elsewhere (`--config`, PORTLAYER_ADDR) or a world in this process.
    Kubelet(Box<kubelet::KubeletArgs>),
    /// Build the world and print it as a tree with capacity, reservations and usage.
    Inventory(inventory::InventoryArgs),
    /// Scenario files: `scenario run FILE...` runs them and prints a step-by-step report.
    Scenario(scenario::ScenarioArgs),
    /// Fuzz the whole stack with the state machine: random pod lifecycles and infrastructure
    /// events checked against a reference model, failures shrunk and replayable by seed.
    Fuzz(fuzz::FuzzArgs),
}

/// Logs to stderr at `info` unless RUST_LOG says otherwise.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Serve(args) => serve::run(*args),
        Command::Kubelet(args) => kubelet::run(*args),
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
