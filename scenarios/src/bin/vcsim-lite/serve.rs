//! `vcsim-lite serve`: one VCH over the default (or a TOML) inventory, served over HTTP.

use std::path::PathBuf;

use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::inventory_file::load_inventory;
use vcsim_lite::vsphere::{InventorySpec, WorldBuilder};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Inventory file (TOML); the built-in small vCenter when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seed of the world's random stream.
    #[arg(long, default_value_t = 0, env = "VCSIM_SEED")]
    seed: u64,
    /// Simulated seconds per wall-clock second (0 freezes simulated time).
    #[arg(long, default_value_t = 1)]
    speed: u64,
    /// Task latencies: `zero` (instant) or `vcenter` (realistic, drawn from the seed).
    #[arg(long, default_value = "zero", value_parser = ["zero", "vcenter"])]
    latency: String,
    /// Port Layer API address.
    #[arg(long, default_value = "127.0.0.1:2377")]
    listen_portlayer: std::net::SocketAddr,
    /// Docker API address.
    #[arg(long, default_value = "127.0.0.1:2375")]
    listen_docker: std::net::SocketAddr,
    /// vSphere SOAP endpoint (`/sdk`) address.
    #[arg(long, default_value = "127.0.0.1:8989")]
    listen_sdk: std::net::SocketAddr,
    /// Serve the SOAP endpoint over plain HTTP instead of TLS.
    #[arg(long)]
    sdk_plain_http: bool,
    /// Do not serve the SOAP endpoint.
    #[arg(long)]
    no_sdk: bool,
    /// SOAP user name; with --sdk-password, only this pair may log in (default: any non-empty
    /// user name and password).
    #[arg(long, env = "VCSIM_SDK_USER", requires = "sdk_password")]
    sdk_user: Option<String>,
    /// SOAP password (see --sdk-user).
    #[arg(long, env = "VCSIM_SDK_PASSWORD", requires = "sdk_user")]
    sdk_password: Option<String>,
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

pub fn run(args: ServeArgs) -> Result<(), String> {
    use vcsim_lite::http::Stack;
    use vcsim_lite::http::serve::{Listen, SdkListen, serve_all};
    use vcsim_lite::persona::{Catalogue, Persona};
    use vcsim_lite::portlayer::{PortLayer, VchConfig};
    use vcsim_lite::soap::{Credentials, SoapConfig};
    use vcsim_lite::vsphere::LatencyProfile;

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let spec = match &args.config {
        Some(path) => load_inventory(path).map_err(|e| e.to_string())?,
        None => InventorySpec::default_vcenter(),
    };
    let latency = if args.latency == "vcenter" {
        LatencyProfile::vcenter()
    } else {
        LatencyProfile::zero()
    };
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
    let stack = Stack {
        world,
        portlayer,
        persona: Persona::new(Catalogue::builtin()),
    };
    let listen = Listen {
        portlayer: args.listen_portlayer,
        docker: args.listen_docker,
    };
    let sdk = (!args.no_sdk).then(|| SdkListen {
        addr: args.listen_sdk,
        tls: !args.sdk_plain_http,
        config: SoapConfig {
            credentials: match (args.sdk_user, args.sdk_password) {
                (Some(user), Some(password)) => Credentials::Exactly { user, password },
                _ => Credentials::AnyNonEmpty,
            },
            ..SoapConfig::default()
        },
    });
    let scheme = if args.sdk_plain_http { "http" } else { "https" };
    // One thread: every request takes the one stack lock anyway, and a second worker only
    // added futex hand-offs and cross-thread wake-ups to each request (about a fifth of the
    // server's CPU per pyVmomi task wait).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime
        .block_on(serve_all(stack, args.speed, listen, sdk, |b| {
            println!("port layer: http://{}", b.portlayer);
            println!("docker:     tcp://{0}   (docker -H tcp://{0} info)", b.docker);
            if let Some(sdk) = b.sdk {
                println!("vSphere:    {scheme}://{sdk}/sdk   (GOVC_URL={scheme}://user:pass@{sdk}/sdk GOVC_INSECURE=1)");
            }
            println!("vcsim-lite ready (seed {}, Ctrl-C to stop)", args.seed);
        }))
        .map_err(|e| e.to_string())
}
