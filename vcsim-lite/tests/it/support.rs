//! Shared test setup: a stack with a VCH, and serving one on loopback.

use std::net::SocketAddr;

use vcsim_lite::http::Stack;
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::{LatencyProfile, WorldBuilder};

/// The default inventory with no latency, `faults` applied, and a VCH made from `vch`.
pub fn stack_with(vch: VchConfig, faults: &[&str]) -> Stack {
    let mut b = WorldBuilder::new().latency(LatencyProfile::zero());
    for f in faults {
        b = b.fault(f.parse::<FaultRule>().expect("fault rule"));
    }
    let mut world = b.build().expect("world");
    let portlayer = PortLayer::create(&mut world, vch).expect("vch");
    Stack {
        world,
        portlayer,
        persona: Persona::new(Catalogue::builtin()),
    }
}

/// Serves `stack` on loopback (ports chosen by the OS) for at most 30 s from a background
/// thread; returns the Port Layer and Docker addresses once both listen.
pub fn serve(stack: Stack) -> (SocketAddr, SocketAddr) {
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    std::thread::spawn(move || {
        rt.block_on(async move {
            let any = "127.0.0.1:0".parse().expect("address");
            let listen = vcsim_lite::http::serve::Listen {
                portlayer: any,
                docker: any,
            };
            let serve = vcsim_lite::http::serve::serve(stack, 0, listen, move |pl, docker| {
                let _ = tx.send((pl, docker));
            });
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), serve).await;
        })
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("server ready")
}
