//! What must hold after every step, and the teardown that must leave nothing behind.

use super::*;

impl Stack {
    // ----- checks -------------------------------------------------------------------------

    /// The port layer's invariants, checked after every step.
    pub(super) fn check(&mut self, context: &str) -> Result<(), TestCaseError> {
        if let Err(v) = self.w.check_invariants() {
            return Err(TestCaseError::fail(format!("{context}: {v}")));
        }
        let vch = self.pl.vch().clone();
        let indexes = self.pl.check_indexes();
        prop_assert!(indexes.is_ok(), "{}: {:?}", context, indexes);
        let list = self.pl.list_containers(&self.w, true);
        prop_assert_eq!(list.len(), self.pl.containers().len(), "{}", context);
        prop_assert!(
            list.len() <= CONTAINER_LIMIT as usize,
            "{context}: {} containers, over the limit of {CONTAINER_LIMIT}",
            list.len()
        );
        let names: Vec<&str> = list
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        let unique: BTreeSet<&str> = names.iter().copied().collect();
        prop_assert_eq!(
            names.len(),
            unique.len(),
            "{}: container names repeat: {:?}",
            context,
            names
        );

        // Exactly one container VM per container, in the VCH's pool, and no other.
        let container_vms: BTreeSet<VmId> = self
            .w
            .vms()
            .keys()
            .copied()
            .filter(|v| {
                self.w
                    .guest_full_name(*v)
                    .ok()
                    .and_then(|g| vic_role(&g))
                    .is_some_and(|(r, _)| r == VicRole::Container)
            })
            .collect();
        let listed_vms: BTreeSet<VmId> = list.iter().map(|c| c.vm).collect();
        prop_assert_eq!(
            listed_vms.len(),
            list.len(),
            "{}: two containers share a VM",
            context
        );
        prop_assert_eq!(
            &container_vms,
            &listed_vms,
            "{}: container VMs in the world and listed containers differ",
            context
        );

        let mut bound = 0usize;
        let mut addresses = BTreeSet::new();
        for c in &list {
            let vm = self.w.vm(c.vm).map_err(|e| {
                TestCaseError::fail(format!("{context}: container {} has no VM: {e}", c.id))
            })?;
            prop_assert_eq!(
                vm.pool,
                vch.pool,
                "{}: {} is outside the VCH pool",
                context,
                &c.id
            );
            prop_assert_eq!(
                vm.extra_config
                    .get("guestinfo.vice./common/id")
                    .map(|v| &**v),
                Some(c.id.as_str()),
                "{}: the VM of {} names another container",
                context,
                &c.id
            );
            let on = vm.power_state == PowerState::PoweredOn;
            if c.state == ContainerState::Running {
                prop_assert!(on, "{context}: {} is Running with its VM off", c.id);
            }
            // A process that ran in a VM now off has stopped.
            if let Some(p) = c.process.as_ref().filter(|p| !on && p.started == "true") {
                prop_assert!(
                    p.stop_time.is_some(),
                    "{context}: {} is off but its process never stopped: {p:?}",
                    c.id
                );
            }
            let held: Vec<&String> = c
                .endpoints
                .iter()
                .filter_map(|e| e.address.as_ref())
                .collect();
            // VIC's network context unbinds a container whenever its VM powers off, whoever
            // powered it off (port layer network.go, handleEvent on ContainerPoweredOff).
            prop_assert!(
                on || held.is_empty(),
                "{context}: {} is {:?} with its VM off and still holds {held:?}",
                c.id,
                c.state
            );
            for a in held {
                prop_assert!(
                    addresses.insert(a.clone()),
                    "{context}: {a} is given out twice"
                );
                bound += 1;
            }
            // Its events: Created first, then Started and Stopped alternating, the last one
            // matching the VM's power state.
            let events: Vec<&str> = self
                .pl
                .events()
                .iter()
                .filter(|e| e.container == c.id && e.event != "Failed")
                .map(|e| e.event)
                .collect();
            prop_assert_eq!(
                events.first().copied(),
                Some("Created"),
                "{}: events of {}",
                context,
                &c.id
            );
            let power: Vec<&str> = events[1..].to_vec();
            let alternating = power
                .iter()
                .enumerate()
                .all(|(k, e)| *e == if k % 2 == 0 { "Started" } else { "Stopped" });
            prop_assert!(
                alternating && (power.len() % 2 == 1) == on,
                "{context}: events of {} {events:?} with its VM {}",
                c.id,
                if on { "on" } else { "off" }
            );
        }
        prop_assert_eq!(
            self.pl.scopes().allocated_count(),
            bound,
            "{}: allocated IPs differ from the bound endpoints of existing containers",
            context
        );
        // Scope membership is the containers': VIC's scopes add only edits the handle (the
        // network context learns of a container at bind), so a create whose commit is refused
        // leaves no endpoint behind.
        for scope in self.pl.scopes().list() {
            for e in &scope.endpoints {
                prop_assert!(
                    self.pl.containers().contains_key(&e.container),
                    "{context}: scope {} has an endpoint of {}, which is not a container",
                    scope.name,
                    e.container
                );
            }
        }

        // Volumes: joins name existing containers, each container's volumes are joined, and
        // their disks are attached to its VM (and to no other VM).
        let containers = self.pl.containers().clone();
        for v in self.pl.volumes().list("") {
            let mut joined: Vec<String> = containers
                .values()
                .filter(|c| c.spec.volumes.contains_key(&v.name))
                .map(|c| c.id.clone())
                .collect();
            joined.sort();
            prop_assert_eq!(
                &v.joined_by,
                &joined,
                "{}: joins of volume {}",
                context,
                &v.name
            );
            let ds = vch.volume_stores[&v.store];
            let path = format!("volumes/{0}/{0}.vmdk", v.name);
            let file = self.w.disk_file(ds, &path).ok_or_else(|| {
                TestCaseError::fail(format!("{context}: volume {} has no disk", v.name))
            })?;
            let attached: BTreeSet<VmId> = joined.iter().map(|id| containers[id].vm).collect();
            prop_assert_eq!(
                &file.attached_to,
                &attached,
                "{}: VMs holding volume {}",
                context,
                &v.name
            );
        }
        for c in containers.values() {
            for name in c.spec.volumes.keys() {
                prop_assert!(
                    self.pl.volumes().get(name).is_ok(),
                    "{context}: {} mounts missing volume {name}",
                    c.id
                );
            }
        }

        // Handles: a commit closes its handle and removing a container drops all of its
        // handles; nothing else drops one (the cache holds 1000).
        prop_assert_eq!(
            self.pl.handles().len(),
            self.open.len(),
            "{}: handles cached",
            context
        );
        for (h, c) in self.open.clone() {
            let got = self.pl.handle_container(&h);
            prop_assert_eq!(got, Ok(c), "{}: handle {}", context, h);
        }
        Ok(())
    }

    /// Stops and removes every container, deletes every volume and the test's KV keys, without
    /// fault rules, and checks that the VCH is back to its state after the pulls.
    pub(super) fn teardown(&mut self) -> Result<(), TestCaseError> {
        self.w.clear_fault_rules();
        // Every teardown call must succeed, so there is no refusal to compare state around.
        self.checks = false;
        for id in self.container_ids() {
            let vm = self.pl.containers()[&id].vm;
            if self
                .w
                .vm(vm)
                .is_ok_and(|v| v.power_state == PowerState::PoweredOn)
            {
                let r = self.docker_stop_unbound(&id)?;
                prop_assert!(r.is_ok(), "stop {id} during teardown: {r:?}");
            }
            let h = self.get_handle(&id)?;
            let h = h.map_err(|e| TestCaseError::fail(format!("teardown handle: {e:?}")))?;
            let r = self.call_pl("unbind", |pl| pl.scopes_unbind(&h))?;
            prop_assert!(r.is_ok(), "unbind {id} during teardown: {r:?}");
            let r = self.remove(&id)?;
            prop_assert!(r.is_ok(), "remove {id} during teardown: {r:?}");
        }
        for v in self.volume_names() {
            let r = self.call("delete volume", |w, pl, _| pl.delete_volume(w, &v))?;
            prop_assert!(r.is_ok(), "delete volume {v} during teardown: {r:?}");
        }
        for key in self.kv_keys.clone() {
            if self.pl.kv().contains_key(&key) {
                let r = self.call_pl("kv delete", |pl| pl.kv_delete(&key))?;
                prop_assert!(r.is_ok(), "kv delete {key} during teardown: {r:?}");
            }
        }
        self.checks = true;
        self.check("after teardown")?;

        let vms: Vec<VmId> = self.w.vms().keys().copied().collect();
        prop_assert_eq!(
            vms,
            vec![self.pl.vch().vm],
            "only the VCH appliance is left"
        );
        prop_assert!(self.pl.containers().is_empty());
        prop_assert_eq!(self.pl.scopes().allocated_count(), 0, "IPs left allocated");
        prop_assert!(self.pl.volumes().list("").is_empty(), "volumes left");
        let free = self
            .w
            .datastore(self.pl.vch().datastore)
            .expect("datastore")
            .free_mib();
        prop_assert_eq!(
            free,
            self.free_mib,
            "image datastore free space differs from after the pulls (images stay)"
        );
        let keys: Vec<&str> = self.pl.kv().keys().map(String::as_str).collect();
        prop_assert_eq!(keys, PERSONA_KEYS.to_vec(), "KV keys after teardown");
        // VIC drops a container's handles when it is removed; left are only the handles of
        // creates whose commit was refused, each naming a container that never existed.
        let left: BTreeSet<String> = self.open.keys().cloned().collect();
        prop_assert_eq!(&left, &self.uncommitted, "handles left after teardown");
        prop_assert_eq!(self.pl.handles().len(), self.uncommitted.len());
        // Every container that was created was removed exactly once, last.
        let mut by_container = BTreeMap::<&str, Vec<&str>>::new();
        for e in self.pl.events() {
            by_container.entry(&e.container).or_default().push(e.event);
        }
        for (c, events) in by_container {
            let removed = events.iter().filter(|e| **e == "Removed").count();
            prop_assert!(
                events.first() == Some(&"Created")
                    && events.last() == Some(&"Removed")
                    && removed == 1,
                "events of {c}: {events:?}"
            );
        }
        Ok(())
    }

    /// `docker stop` in the persona's order, unbinding first.
    pub(super) fn docker_stop_unbound(&mut self, id: &str) -> Result<Call<()>, TestCaseError> {
        let h = ok!(self.get_handle(id));
        let (h, _) = step_pl!(self, "scopes unbind", |pl| pl.scopes_unbind(&h));
        let h = step_pl!(self, "state STOPPED", |pl| pl.change_state(&h, "STOPPED"));
        ok!(self.commit("stop commit", &h, Some(5)));
        Ok(Ok(()))
    }
}
