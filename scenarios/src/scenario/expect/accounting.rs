//! The world's accounting at one moment, so a later step can check that it came back.

use std::collections::BTreeMap;

use vcsim_lite::vsphere::{PowerState, World};

/// The world's accounting at one moment: every pool's, host's and datastore's figures, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounting(BTreeMap<String, u64>);

impl Accounting {
    /// Reads `w`'s accounting.
    pub fn of(w: &World) -> Accounting {
        let mut m = BTreeMap::new();
        for p in w.pools().values() {
            let path = w.pool_path(p.id);
            m.insert(format!("pool {path} cpu_reserved_mhz"), p.cpu.used);
            m.insert(format!("pool {path} memory_reserved_mb"), p.memory.used);
            m.insert(format!("pool {path} cpu_usage_mhz"), p.cpu.usage);
            m.insert(format!("pool {path} memory_usage_mb"), p.memory.usage);
        }
        for h in w.hosts().values() {
            let n = &h.name;
            m.insert(format!("host {n} cpu_reserved_mhz"), h.cpu_reserved_mhz);
            m.insert(
                format!("host {n} memory_reserved_mb"),
                h.memory_reserved_mib,
            );
            m.insert(format!("host {n} cpu_usage_mhz"), h.cpu_usage_mhz);
            m.insert(format!("host {n} memory_usage_mb"), h.memory_usage_mib);
        }
        for d in w.datastores().values() {
            m.insert(format!("datastore {} used_mb", d.name), d.used_mib);
        }
        let on = w
            .vms()
            .values()
            .filter(|v| v.power_state == PowerState::PoweredOn)
            .count();
        m.insert("vms".into(), w.vms().len() as u64);
        m.insert("vms powered on".into(), on as u64);
        Accounting(m)
    }

    /// `name: then -> now` for each figure that differs (or appeared or vanished).
    pub fn differences(&self, now: &Accounting) -> Vec<String> {
        let mut out = Vec::new();
        let show = |v: Option<&u64>| v.map_or("none".to_string(), |v| v.to_string());
        let keys: std::collections::BTreeSet<&String> = self.0.keys().chain(now.0.keys()).collect();
        for k in keys {
            let (a, b) = (self.0.get(k), now.0.get(k));
            if a != b {
                out.push(format!("{k}: {} -> {}", show(a), show(b)));
            }
        }
        out
    }
}
