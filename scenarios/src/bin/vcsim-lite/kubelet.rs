//! `vcsim-lite kubelet`: the VIC provider as a virtual-kubelet node of a Kubernetes cluster,
//! over a VCH served elsewhere (the Port Layer and Docker APIs) or a world in this process.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use provider::client::{PersonaApi, PortLayerApi};
use provider::http_client::HttpClient;
use provider::kubelet::config::ProviderConfig;
use provider::kubelet::{self, KubeletConfig};
use provider::node::NodeConfig;
use provider::vic::VicProvider;
use vcsim_lite::http::Shared;
use vcsim_lite::inprocess::InProcess;

use crate::serve::ListenArgs;
use crate::stack::{self, StackArgs};

/// How long a remote VCH may take to answer at start-up (the 2018 provider waited too).
const VCH_WAIT: Duration = Duration::from_secs(60);
/// Per-request timeout of the HTTP client.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct KubeletArgs {
    /// Kubeconfig of the cluster to join.
    #[arg(long, value_name = "FILE", env = "KUBECONFIG")]
    kubeconfig: PathBuf,
    /// The Node's name.
    #[arg(long, default_value = "vcsim-vk")]
    node_name: String,
    /// Provider configuration (YAML: portlayer-server, persona-server, max-pods, cpu-rule,
    /// mhz-per-core, internal-ip). Without it the servers come from PORTLAYER_ADDR and
    /// PERSONA_ADDR; without those, the node runs a world in this process.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Inventory file (TOML) of the in-process world; the built-in small vCenter when absent.
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    #[command(flatten)]
    stack: StackArgs,
    /// Also serve the in-process world's APIs (port layer, Docker, SOAP), as `serve` does.
    #[arg(long)]
    serve: bool,
    #[command(flatten)]
    listen: ListenArgs,
}

pub fn run(args: KubeletArgs) -> Result<(), String> {
    crate::init_logging();
    let config = match &args.config {
        Some(path) => ProviderConfig::load(path).map_err(|e| e.to_string())?,
        None => ProviderConfig::from_env(|k| std::env::var(k).ok()),
    };
    let file = args
        .config
        .as_ref()
        .map_or("environment".to_string(), |p| p.display().to_string());
    let node = config.node(&file).map_err(|e| e.to_string())?;
    let servers = config.servers().map_err(|e| format!("{file}: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async move {
        let kube = kube_client(&args.kubeconfig).await?;
        let cfg = KubeletConfig::new(&args.node_name);
        match servers {
            Some((portlayer, persona)) => {
                if args.serve {
                    return Err(
                        "--serve needs the in-process world (no VCH servers configured)"
                            .to_string(),
                    );
                }
                let client = HttpClient::new(&portlayer, &persona, REQUEST_TIMEOUT);
                wait_for_vch(&client, &portlayer).await?;
                tracing::info!(portlayer, persona, "VCH servers");
                node_until_stopped(kube, client, node, cfg).await
            }
            None => {
                let seed = args.stack.seed;
                let speed = args.stack.speed;
                let stack = stack::build(args.inventory.as_deref(), args.stack)?;
                let shared = Shared::new(stack, speed);
                tracing::info!(seed, "world in process");
                let client = InProcess::new(shared.clone());
                if args.serve {
                    // The node stops at SIGTERM as well as Ctrl-C; the APIs go with it.
                    tokio::select! {
                        r = args.listen.serve(shared, seed) => r,
                        r = node_until_stopped(kube, client, node, cfg) => r,
                    }
                } else {
                    node_until_stopped(kube, client, node, cfg).await
                }
            }
        }
    })
}

async fn kube_client(path: &std::path::Path) -> Result<kube::Client, String> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let file = path.display();
    let kubeconfig = Kubeconfig::read_from(path).map_err(|e| format!("{file}: {e}"))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("{file}: {e}"))?;
    kube::Client::try_from(config).map_err(|e| format!("{file}: {e}"))
}

/// Waits for the Port Layer to answer, with growing pauses, up to [`VCH_WAIT`].
async fn wait_for_vch(client: &HttpClient, portlayer: &str) -> Result<(), String> {
    let mut pause = Duration::from_millis(200);
    let mut waited = Duration::ZERO;
    loop {
        let c = client.clone();
        let answer = tokio::task::spawn_blocking(move || c.vch_info())
            .await
            .map_err(|e| e.to_string())?;
        match answer {
            Ok(_) => return Ok(()),
            Err(e) if waited >= VCH_WAIT => {
                return Err(format!(
                    "the VCH at {portlayer} did not answer in {VCH_WAIT:?}: {e}"
                ));
            }
            Err(e) => tracing::info!(error = %e, "waiting for the VCH"),
        }
        tokio::time::sleep(pause).await;
        waited += pause;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// Runs the node until Ctrl-C or SIGTERM.
async fn node_until_stopped<C>(
    kube: kube::Client,
    client: C,
    node: NodeConfig,
    cfg: KubeletConfig,
) -> Result<(), String>
where
    C: PortLayerApi + PersonaApi + Send + Sync + 'static,
{
    let provider = Arc::new(VicProvider::new(client, node));
    kubelet::run(kube, provider, cfg, stopped())
        .await
        .map_err(|e| e.to_string())
}

/// Completes at Ctrl-C or SIGTERM (what `kubectl`-managed processes and service managers send).
async fn stopped() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
