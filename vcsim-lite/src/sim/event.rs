//! The append-only event log, in vSphere's event vocabulary.
//!
//! Events are stored as small structured values (ids and shared names, no formatted text) so
//! that logging costs no allocation on the hot path; the message vCenter would show is rendered
//! on demand. The log's rendering is the artefact determinism is judged by: the same builder and
//! commands must give byte-identical renderings.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::clock::SimTime;

/// A managed object reference: vCenter's `type-N` id, e.g. `vm-17` or `domain-c7`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Moref {
    /// The id's prefix with its separator, as vCenter spells it (`vm-`, `resgroup-`, `domain-c`).
    pub prefix: &'static str,
    /// The number from vCenter's one id counter.
    pub n: u64,
}

impl fmt::Display for Moref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix, self.n)
    }
}

/// An object as an event names it: reference plus the name it had at the time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRef {
    /// The object's id.
    pub moref: Moref,
    /// The object's name when the event happened (events outlive renames and deletions).
    pub name: Arc<str>,
}

/// vSphere event types this simulator emits (the names of `vim.event.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A VM was created.
    VmCreatedEvent,
    /// Power-on began.
    VmStartingEvent,
    /// A VM is powered on (standalone host or non-DRS cluster).
    VmPoweredOnEvent,
    /// DRS placed and powered on a VM.
    DrsVmPoweredOnEvent,
    /// Power-off began.
    VmStoppingEvent,
    /// A VM is powered off.
    VmPoweredOffEvent,
    /// A VM's configuration changed.
    VmReconfiguredEvent,
    /// A VM was destroyed.
    VmRemovedEvent,
    /// A VM moved to another host.
    VmMigratedEvent,
    /// DRS moved a VM to another host.
    DrsVmMigratedEvent,
    /// A resource pool was created.
    ResourcePoolCreatedEvent,
    /// A resource pool's allocation changed.
    ResourcePoolReconfiguredEvent,
    /// A resource pool was destroyed.
    ResourcePoolDestroyedEvent,
    /// A host began entering maintenance mode.
    EnteringMaintenanceModeEvent,
    /// A host is in maintenance mode.
    EnteredMaintenanceModeEvent,
    /// A host left maintenance mode.
    ExitMaintenanceModeEvent,
    /// A host was disconnected.
    HostDisconnectedEvent,
    /// A host was (re)connected.
    HostConnectedEvent,
}

impl EventKind {
    /// Every event type, in declaration order: what a name is looked up in.
    pub const ALL: [EventKind; 18] = {
        use EventKind::*;
        [
            VmCreatedEvent,
            VmStartingEvent,
            VmPoweredOnEvent,
            DrsVmPoweredOnEvent,
            VmStoppingEvent,
            VmPoweredOffEvent,
            VmReconfiguredEvent,
            VmRemovedEvent,
            VmMigratedEvent,
            DrsVmMigratedEvent,
            ResourcePoolCreatedEvent,
            ResourcePoolReconfiguredEvent,
            ResourcePoolDestroyedEvent,
            EnteringMaintenanceModeEvent,
            EnteredMaintenanceModeEvent,
            ExitMaintenanceModeEvent,
            HostDisconnectedEvent,
            HostConnectedEvent,
        ]
    };

    /// The event type named `name` (vSphere's type name, e.g. `DrsVmMigratedEvent`).
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// True if this type is `other` or derives from it in the vSphere API, so a query for
    /// `VmMigratedEvent` also finds DRS migrations, as vCenter's event filters do.
    pub fn is_a(self, other: EventKind) -> bool {
        use EventKind::*;
        self == other
            || matches!(
                (self, other),
                (DrsVmMigratedEvent, VmMigratedEvent) | (DrsVmPoweredOnEvent, VmPoweredOnEvent)
            )
    }

    /// The vSphere type name.
    pub fn as_str(self) -> &'static str {
        use EventKind::*;
        match self {
            VmCreatedEvent => "VmCreatedEvent",
            VmStartingEvent => "VmStartingEvent",
            VmPoweredOnEvent => "VmPoweredOnEvent",
            DrsVmPoweredOnEvent => "DrsVmPoweredOnEvent",
            VmStoppingEvent => "VmStoppingEvent",
            VmPoweredOffEvent => "VmPoweredOffEvent",
            VmReconfiguredEvent => "VmReconfiguredEvent",
            VmRemovedEvent => "VmRemovedEvent",
            VmMigratedEvent => "VmMigratedEvent",
            DrsVmMigratedEvent => "DrsVmMigratedEvent",
            ResourcePoolCreatedEvent => "ResourcePoolCreatedEvent",
            ResourcePoolReconfiguredEvent => "ResourcePoolReconfiguredEvent",
            ResourcePoolDestroyedEvent => "ResourcePoolDestroyedEvent",
            EnteringMaintenanceModeEvent => "EnteringMaintenanceModeEvent",
            EnteredMaintenanceModeEvent => "EnteredMaintenanceModeEvent",
            ExitMaintenanceModeEvent => "ExitMaintenanceModeEvent",
            HostDisconnectedEvent => "HostDisconnectedEvent",
            HostConnectedEvent => "HostConnectedEvent",
        }
    }
}

/// One event, with the references vSphere's `Event` base type carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unique, increasing key.
    pub key: u64,
    /// Key of the first event of the operation that caused this one (vSphere's `chainId`).
    pub chain_id: u64,
    /// Simulated creation time.
    pub created: SimTime,
    /// The event type.
    pub kind: EventKind,
    /// The datacenter involved.
    pub datacenter: Option<EntityRef>,
    /// The cluster or standalone compute resource involved.
    pub compute_resource: Option<EntityRef>,
    /// The host involved (for a migration: the destination).
    pub host: Option<EntityRef>,
    /// The VM involved.
    pub vm: Option<EntityRef>,
    /// For a migration: the host the VM left. For pool events: the pool.
    pub other: Option<EntityRef>,
}

impl Event {
    /// The text vCenter shows as `fullFormattedMessage`.
    pub fn message(&self) -> String {
        let name = |r: &Option<EntityRef>| r.as_ref().map_or("", |r| &*r.name).to_string();
        let (vm, host, other) = (name(&self.vm), name(&self.host), name(&self.other));
        use EventKind::*;
        match self.kind {
            VmCreatedEvent => format!("Created virtual machine {vm} on {host}"),
            VmStartingEvent => format!("{vm} on {host} is starting"),
            VmPoweredOnEvent => format!("{vm} on {host} is powered on"),
            DrsVmPoweredOnEvent => format!("DRS powered on {vm} on {host}"),
            VmStoppingEvent => format!("{vm} on {host} is stopping"),
            VmPoweredOffEvent => format!("{vm} on {host} is powered off"),
            VmReconfiguredEvent => format!("Reconfigured {vm} on {host}"),
            VmRemovedEvent => format!("Removed {vm} on {host}"),
            VmMigratedEvent => format!("Migration of {vm} from {other} to {host} completed"),
            DrsVmMigratedEvent => format!("DRS migrated {vm} from {other} to {host}"),
            ResourcePoolCreatedEvent => format!("Created resource pool {other}"),
            ResourcePoolReconfiguredEvent => format!("Updated configuration for {other}"),
            ResourcePoolDestroyedEvent => format!("Removed resource pool {other}"),
            EnteringMaintenanceModeEvent => format!("Host {host} is entering maintenance mode"),
            EnteredMaintenanceModeEvent => format!("Host {host} has entered maintenance mode"),
            ExitMaintenanceModeEvent => format!("Host {host} has exited maintenance mode"),
            HostDisconnectedEvent => format!("Host {host} disconnected"),
            HostConnectedEvent => format!("Connected to {host}"),
        }
    }

    /// One line of the log's canonical rendering: key, chain, time, type, then `role=moref`
    /// references, then the message in quotes.
    pub fn render_into(&self, out: &mut String) {
        let _ = write!(
            out,
            "{} {} {} {}",
            self.key,
            self.chain_id,
            self.created,
            self.kind.as_str()
        );
        let refs = [
            ("dc", &self.datacenter),
            ("cr", &self.compute_resource),
            ("host", &self.host),
            ("vm", &self.vm),
            ("other", &self.other),
        ];
        for (role, r) in refs {
            if let Some(r) = r {
                let _ = write!(out, " {role}={}", r.moref);
            }
        }
        let _ = writeln!(out, " {:?}", self.message());
    }
}

/// The event log: append-only, keys from 1.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    events: Vec<Event>,
}

impl EventLog {
    /// The key the next event will get.
    pub fn next_key(&self) -> u64 {
        self.events.len() as u64 + 1
    }

    /// Appends an event, filling in its key; returns the key.
    pub fn push(&mut self, mut event: Event) -> u64 {
        event.key = self.next_key();
        let key = event.key;
        self.events.push(event);
        key
    }

    /// All events, oldest first.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Number of events logged.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True before anything happened.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The whole log, one line per event (see [`Event::render_into`]).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.events.len() * 96);
        for e in &self.events {
            e.render_into(&mut out);
        }
        out
    }

    /// SHA-256 of [`EventLog::render`], hex: a short fingerprint two runs can compare.
    pub fn digest(&self) -> String {
        hex_sha256(self.render().as_bytes())
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn hex_sha256(bytes: &[u8]) -> String {
    super::rng::to_hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm_ref(n: u64, name: &str) -> Option<EntityRef> {
        Some(EntityRef {
            moref: Moref { prefix: "vm-", n },
            name: name.into(),
        })
    }

    #[test]
    fn morefs_render_like_vcenter() {
        let m = |prefix, n| Moref { prefix, n }.to_string();
        assert_eq!(m("vm-", 17), "vm-17");
        assert_eq!(m("domain-c", 7), "domain-c7");
        assert_eq!(m("group-v", 3), "group-v3");
    }

    #[test]
    fn drs_events_are_kinds_of_their_base_events() {
        use EventKind::*;
        assert!(DrsVmMigratedEvent.is_a(VmMigratedEvent));
        assert!(DrsVmPoweredOnEvent.is_a(VmPoweredOnEvent));
        assert!(VmPoweredOnEvent.is_a(VmPoweredOnEvent));
        assert!(!VmPoweredOnEvent.is_a(DrsVmPoweredOnEvent));
        assert!(!VmCreatedEvent.is_a(VmRemovedEvent));
    }

    #[test]
    fn every_event_type_is_found_by_its_name_once() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_name(k.as_str()), Some(k));
            assert_eq!(EventKind::ALL.iter().filter(|o| **o == k).count(), 1);
        }
        assert_eq!(EventKind::from_name("VmPoweredOn"), None);
    }

    #[test]
    fn keys_increase_and_render_is_stable() {
        let mut log = EventLog::default();
        let e = Event {
            key: 0,
            chain_id: 1,
            created: SimTime::DEFAULT_EPOCH,
            kind: EventKind::VmCreatedEvent,
            datacenter: None,
            compute_resource: None,
            host: None,
            vm: vm_ref(5, "web-0"),
            other: None,
        };
        assert_eq!(log.push(e.clone()), 1);
        assert_eq!(log.push(e), 2);
        let text = log.render();
        assert!(text.starts_with("1 1 2024-01-01T00:00:00.000000Z VmCreatedEvent vm=vm-5"));
        assert_eq!(text.lines().count(), 2);
        assert_eq!(log.digest(), log.clone().digest());
        assert_eq!(log.digest().len(), 64);
    }
}
