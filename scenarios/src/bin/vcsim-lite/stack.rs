//! The simulated stack `serve` and `kubelet` run: a world from an inventory, one VCH's port
//! layer and its persona. Shared so both subcommands build the same thing from the same flags.

use std::path::{Path, PathBuf};

use vcsim_lite::http::Stack;
use vcsim_lite::persona::{Catalogue, Persona, load_images};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::inventory_file::load_inventory;
use vcsim_lite::vsphere::{InventorySpec, LatencyProfile, WorldBuilder};

/// Flags that shape the world and the VCH.
#[derive(clap::Args, Debug)]
pub struct StackArgs {
    /// Seed of the world's random stream.
    #[arg(long, default_value_t = 0, env = "VCSIM_SEED")]
    pub seed: u64,
    /// Simulated seconds per wall-clock second (0 freezes simulated time).
    #[arg(long, default_value_t = 1)]
    pub speed: u64,
    /// Task latencies: `zero` (instant) or `vcenter` (realistic, drawn from the seed).
    #[arg(long, default_value = "zero", value_parser = ["zero", "vcenter"])]
    latency: String,
    /// Name of the VCH to create.
    #[arg(long, default_value = "vch-1")]
    vch: String,
    /// Cluster or standalone host (optionally `/pool/path`) the VCH runs in.
    #[arg(long, default_value = "DC0_C0")]
    compute: String,
    /// Datastore for images and container VMs.
    #[arg(long, default_value = "sharedDS")]
    datastore: String,
    /// A fault rule (repeatable).
    #[arg(long = "fault", value_name = "RULE")]
    faults: Vec<FaultRule>,
    /// Extra registry images (TOML `[[image]]` recipes) added to the built-in catalogue.
    #[arg(long, value_name = "FILE")]
    images: Option<PathBuf>,
}

/// Builds the stack over the inventory file (the built-in small vCenter when `None`).
pub fn build(inventory: Option<&Path>, args: StackArgs) -> Result<Stack, String> {
    let spec = match inventory {
        Some(path) => load_inventory(path).map_err(|e| e.to_string())?,
        None => InventorySpec::default_vcenter(),
    };
    let latency = if args.latency == "vcenter" {
        LatencyProfile::vcenter()
    } else {
        LatencyProfile::zero()
    };
    let mut catalogue = Catalogue::builtin();
    if let Some(path) = &args.images {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
        load_images(&mut catalogue, &text, &file)?;
    }
    let mut builder = WorldBuilder::new()
        .seed(args.seed)
        .inventory(spec)
        .latency(latency);
    for rule in args.faults {
        builder = builder.fault(rule);
    }
    let mut world = builder.build().map_err(|e| e.to_string())?;
    let mut vch = VchConfig::new(&args.vch);
    vch.compute = args.compute;
    vch.image_datastore = args.datastore.clone();
    vch.volume_stores = [("default".to_string(), args.datastore)].into();
    let portlayer =
        PortLayer::create(&mut world, vch).map_err(|e| format!("creating the VCH: {e}"))?;
    Ok(Stack {
        world,
        portlayer,
        persona: Persona::new(catalogue),
    })
}
