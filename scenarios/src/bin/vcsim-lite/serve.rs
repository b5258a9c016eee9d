//! `vcsim-lite serve`: one VCH over the default (or a TOML) inventory, served over HTTP.

use std::path::PathBuf;

use vcsim_lite::http::Shared;
use vcsim_lite::http::serve::{Bound, Listen, SdkListen, serve_shared};
use vcsim_lite::soap::{Credentials, SoapConfig};

use crate::stack::{self, StackArgs};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Inventory file (TOML); the built-in small vCenter when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    stack: StackArgs,
    #[command(flatten)]
    listen: ListenArgs,
}

/// Where the APIs listen; shared with `kubelet --serve`.
#[derive(clap::Args, Debug)]
pub struct ListenArgs {
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
}

impl ListenArgs {
    /// Serves the APIs over `shared` until Ctrl-C, printing where they listen once they do.
    pub async fn serve(self, shared: Shared, seed: u64) -> Result<(), String> {
        let listen = Listen {
            portlayer: self.listen_portlayer,
            docker: self.listen_docker,
        };
        let sdk = (!self.no_sdk).then(|| SdkListen {
            addr: self.listen_sdk,
            tls: !self.sdk_plain_http,
            config: SoapConfig {
                credentials: match (self.sdk_user, self.sdk_password) {
                    (Some(user), Some(password)) => Credentials::Exactly { user, password },
                    _ => Credentials::AnyNonEmpty,
                },
                ..SoapConfig::default()
            },
        });
        let scheme = if self.sdk_plain_http { "http" } else { "https" };
        serve_shared(shared, listen, sdk, |b: Bound| {
            println!("port layer: http://{}", b.portlayer);
            println!("docker:     tcp://{0}   (docker -H tcp://{0} info)", b.docker);
            if let Some(sdk) = b.sdk {
                println!("vSphere:    {scheme}://{sdk}/sdk   (GOVC_URL={scheme}://user:pass@{sdk}/sdk GOVC_INSECURE=1)");
            }
            println!("vcsim-lite ready (seed {seed}, Ctrl-C to stop)");
        })
        .await
        .map_err(|e| e.to_string())
    }
}

pub fn run(args: ServeArgs) -> Result<(), String> {
    crate::init_logging();
    let seed = args.stack.seed;
    let speed = args.stack.speed;
    let stack = stack::build(args.config.as_deref(), args.stack)?;
    // One thread: every request takes the one stack lock anyway, and a second worker only
    // added futex hand-offs and cross-thread wake-ups to each request (about a fifth of the
    // server's CPU per pyVmomi task wait).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(args.listen.serve(Shared::new(stack, speed), seed))
}
