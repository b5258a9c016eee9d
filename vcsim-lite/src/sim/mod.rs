//! The deterministic kernel: simulated clock, seeded RNG, fault rules and the event log.
//!
//! Architecture invariant: nothing here reads the wall clock, OS randomness or the iteration
//! order of a hash map. Everything that varies between runs is an input of the builder.

pub mod clock;
pub mod event;
pub mod fault;
pub mod fault_kind;
pub mod rng;

pub use clock::{Clock, SimDuration, SimTime};
pub use fault_kind::{FaultKind, ObjectKind, Operation, UnknownName};
pub use rng::SimRng;
