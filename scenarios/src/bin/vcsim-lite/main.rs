//! The `vcsim-lite` command line. Thin: each subcommand parses its flags and calls the libraries.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod fuzz;
mod inventory;
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
    /// Serve the Port Layer API and the Docker API of one VCH over HTTP until Ctrl-C.
    Serve(serve::ServeArgs),
    /// Build the world and print it as a tree with capacity, reservations and usage.
    Inventory(inventory::InventoryArgs),
    /// Fuzz the whole stack with the state machine: random pod lifecycles and infrastructure
    /// events checked against a reference model, failures shrunk and replayable by seed.
    Fuzz(fuzz::FuzzArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inventory(args) => inventory::run(args),
        Command::Serve(args) => serve::run(args),
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
