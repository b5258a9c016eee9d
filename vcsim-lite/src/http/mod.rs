//! HTTP adapters: thin axum routers that turn requests into calls on the port layer and the
//! persona, and errors into the APIs' status codes. No logic lives here.
//!
//! The simulation is one [`Stack`] behind one lock: each request takes the lock, advances
//! simulated time to follow wall time, makes its calls and releases it, so the core sees one
//! sequence of calls (concurrency stays at the edge).
//!
//! - [`portlayer`]: the Port Layer REST API (port 2377).
//! - [`docker`]: the Docker Engine API subset of the persona (port 2375).
//! - [`soap`]: the vSphere Web Services (SOAP) endpoint `/sdk` (port 8989).
#![allow(clippy::disallowed_methods)] // the edge maps wall time to simulated time

pub mod docker;
pub mod portlayer;
pub mod serve;
pub mod soap;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::persona::Persona;
use crate::portlayer::PortLayer;
use crate::sim::{SimDuration, SimTime};
use crate::vsphere::World;

/// Everything a server serves: the world, one VCH's port layer and its persona.
#[derive(Debug)]
pub struct Stack {
    /// The vSphere world.
    pub world: World,
    /// The VCH's port layer.
    pub portlayer: PortLayer,
    /// The VCH's persona.
    pub persona: Persona,
}

/// How simulated time follows wall time.
#[derive(Clone, Copy, Debug)]
pub struct TimeMap {
    wall_start: Instant,
    sim_start: SimTime,
    /// Simulated seconds per wall second; 0 freezes simulated time (tests).
    speed: u64,
}

impl TimeMap {
    /// Starts now at the world's current time.
    pub fn new(sim_start: SimTime, speed: u64) -> Self {
        TimeMap {
            wall_start: Instant::now(),
            sim_start,
            speed,
        }
    }

    /// Simulated time corresponding to now.
    pub fn now(&self) -> SimTime {
        let elapsed = self.wall_start.elapsed().as_micros() as u64;
        self.sim_start
            .plus(SimDuration(elapsed.saturating_mul(self.speed)))
    }
}

/// The state handlers share: the stack behind one lock, and the time map.
#[derive(Clone, Debug)]
pub struct Shared {
    stack: Arc<Mutex<Stack>>,
    time: TimeMap,
}

impl Shared {
    /// Shares `stack`, with simulated time running `speed` times wall time (0 = frozen).
    pub fn new(stack: Stack, speed: u64) -> Self {
        let time = TimeMap::new(stack.world.now(), speed);
        Shared {
            stack: Arc::new(Mutex::new(stack)),
            time,
        }
    }

    /// Locks the stack after moving simulated time up to wall time. A poisoned lock (a panic
    /// in another request) is recovered: the core has no invariants that a panic mid-call
    /// could leave half-done without failing its own checks.
    pub fn lock(&self) -> MutexGuard<'_, Stack> {
        let mut guard = self.stack.lock().unwrap_or_else(|p| p.into_inner());
        if self.time.speed > 0 {
            let t = self.time.now();
            guard.world.advance_to(t);
        }
        guard
    }
}
