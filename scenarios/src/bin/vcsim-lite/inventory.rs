//! `vcsim-lite inventory`: build the world and print it.

use std::path::PathBuf;

use vcsim_lite::report;
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::inventory_file::load_inventory;
use vcsim_lite::vsphere::{InventorySpec, WorldBuilder};

#[derive(clap::Args, Debug)]
pub struct InventoryArgs {
    /// Inventory file (TOML); the built-in small vCenter when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print JSON instead of a tree.
    #[arg(long)]
    json: bool,
    /// Seed of the world's random stream (ids, UUIDs, latencies, faults).
    #[arg(long, default_value_t = 0, env = "VCSIM_SEED")]
    seed: u64,
    /// A fault rule, e.g. `PowerOnVM_Task:vm/web-*=25%3*InsufficientResourcesFault`
    /// (repeatable; applies to operations after the inventory is built).
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
}

pub fn run(args: InventoryArgs) -> Result<(), String> {
    let spec = match &args.config {
        Some(path) => load_inventory(path).map_err(|e| e.to_string())?,
        None => InventorySpec::default_vcenter(),
    };
    let mut builder = WorldBuilder::new().seed(args.seed).inventory(spec);
    for rule in args.faults {
        builder = builder.fault(rule);
    }
    let world = builder.build().map_err(|e| e.to_string())?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&report::world_json(&world)).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", report::tree(&world));
    }
    Ok(())
}
