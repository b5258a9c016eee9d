//! The operations a Docker client drives, each in the persona's call order, and bad input.

use super::*;

impl Stack {
    // ----- operations ---------------------------------------------------------------------

    pub(super) fn container_ids(&self) -> Vec<String> {
        self.pl.containers().keys().cloned().collect()
    }

    pub(super) fn state(&mut self, id: &str) -> ContainerState {
        self.pl
            .container_info(&self.w, id)
            .map(|i| i.state)
            .expect("listed container")
    }

    pub(super) fn apply(&mut self, op: &Op, n: usize) -> Result<Outcome, TestCaseError> {
        let (name, res) = match op {
            Op::Ps => ("ps", self.docker_ps()?),
            Op::Create(a) => ("create", self.docker_create(*a)?),
            Op::CreatePair(a, b) => ("create pair", self.docker_create_pair(*a, *b)?),
            Op::Start(i) => ("start", self.docker_start(*i)?),
            Op::Stop { container, unbind } => ("stop", self.docker_stop(*container, *unbind)?),
            Op::Rm(i) => ("rm", self.docker_rm(*i)?),
            Op::Kill { container, signal } => {
                let signal = SIGNALS[usize::from(*signal) % SIGNALS.len()];
                let res = match pick(&self.container_ids(), *container) {
                    None => Ok(false),
                    Some(id) => self
                        .call("signal", |w, pl, _| pl.signal(w, &id, signal))?
                        .map(|()| true),
                };
                ("kill", res)
            }
            Op::CreateVolume { name, capacity } => {
                let mut req = VolumeRequest::new(&format!("v{}", name % 5));
                req.capacity_mb = VOLUME_MB[usize::from(*capacity) % VOLUME_MB.len()];
                let res = self.call("create volume", |w, pl, _| pl.create_volume(w, req))?;
                ("volume create", res.map(|_| true))
            }
            Op::DeleteVolume(i) => {
                let names = self.volume_names();
                let res = match pick(&names, *i) {
                    None => Ok(false),
                    Some(v) => self
                        .call("delete volume", |w, pl, _| pl.delete_volume(w, &v))?
                        .map(|()| true),
                };
                ("volume rm", res)
            }
            Op::KvPut(i) => {
                let key = format!("test.k{}", i % KV_KEYS);
                self.kv_keys.insert(key.clone());
                let value = format!("v{n}");
                let res = self.call_pl("kv put", |pl| pl.kv_put(&key, &value))?;
                ("kv put", res.map(|()| true))
            }
            Op::KvDelete(i) => {
                let key = format!("test.k{}", i % KV_KEYS);
                let res = self.call_pl("kv delete", |pl| pl.kv_delete(&key))?;
                ("kv delete", res.map(|()| true))
            }
            Op::Pull(i) => {
                let image = PULLS[usize::from(*i) % PULLS.len()];
                let ds = self.pl.vch().datastore;
                let before = self.w.datastore(ds).expect("datastore").free_mib();
                let res = self.call("pull", |w, pl, persona| persona.pull(w, pl, image))?;
                let after = self.w.datastore(ds).expect("datastore").free_mib();
                // Layers written stay even when a later one fails, as in Docker.
                self.free_mib -= before - after;
                ("pull", res.map(|_| true))
            }
            Op::Stale(i) => ("stale", self.stale_handle(*i, n)?),
            Op::Garbage { kind, pick } => ("garbage", self.garbage(*kind, *pick)?),
        };
        Ok(match res {
            Ok(ran) => Outcome {
                op: name,
                refused: None,
                skipped: !ran,
            },
            Err(e) => Outcome {
                op: name,
                refused: Some(e),
                skipped: false,
            },
        })
    }

    pub(super) fn volume_names(&self) -> Vec<String> {
        let volumes = self.pl.volumes().list("");
        volumes.into_iter().map(|v| v.name).collect()
    }

    pub(super) fn docker_ps(&mut self) -> Result<Call<bool>, TestCaseError> {
        let list = self.pl.list_containers(&self.w, true);
        for c in &list {
            let info = step!(self, "inspect", |w, pl, _| pl.container_info(w, &c.id));
            prop_assert_eq!(&info, c, "inspect and ps -a disagree");
        }
        Ok(Ok(true))
    }

    /// Resolves the image and volume a create names; `None` when there is no image.
    pub(super) fn prepare(&self, a: CreateArgs) -> Option<Prepared> {
        let images: Vec<(String, String, String)> = self
            .persona
            .images()
            .values()
            .map(|r| {
                let repo = r.repo_tags.iter().next().cloned().unwrap_or_default();
                (r.top_layer.clone(), r.image_id.clone(), repo)
            })
            .collect();
        let (layer, image_id, repo) = pick(&images, a.image)?;
        let name = match a.name % NAMES {
            0 => String::new(),
            k => format!("c{}", k - 1),
        };
        let cfg = CreateConfig {
            name,
            num_cpus: Some(CPUS[usize::from(a.cpus) % CPUS.len()]),
            memory_mb: Some(MEMORY_MB[usize::from(a.memory) % MEMORY_MB.len()]),
            ..Default::default()
        };
        let volume = a.volume.and_then(|v| pick(&self.volume_names(), v));
        Some(Prepared {
            cfg,
            layer,
            image_id,
            repo,
            volume,
        })
    }

    /// `docker create` in the persona's order.
    pub(super) fn docker_create(&mut self, a: CreateArgs) -> Result<Call<bool>, TestCaseError> {
        let Some(p) = self.prepare(a) else {
            return Ok(Ok(false));
        };
        let (id, h) = ok!(self.create_container(p.cfg.clone()));
        self.finish_create(&id, &h, &p).map(|r| r.map(|()| true))
    }

    /// Two creates whose handles both exist before either commits.
    pub(super) fn docker_create_pair(
        &mut self,
        a: CreateArgs,
        b: CreateArgs,
    ) -> Result<Call<bool>, TestCaseError> {
        let (Some(pa), Some(pb)) = (self.prepare(a), self.prepare(b)) else {
            return Ok(Ok(false));
        };
        let first = self.create_container(pa.cfg.clone())?;
        let second = self.create_container(pb.cfg.clone())?;
        let mut res = Ok(true);
        for (created, p) in [(first, &pa), (second, &pb)] {
            let r = match created {
                Ok((id, h)) => self.finish_create(&id, &h, p)?,
                Err(e) => Err(e),
            };
            if let (Ok(_), Err(e)) = (&res, r) {
                res = Err(e);
            }
        }
        Ok(res)
    }

    /// The rest of `docker create` after `POST /containers`; a refused create leaves its
    /// handle behind.
    pub(super) fn finish_create(
        &mut self,
        id: &str,
        h: &str,
        p: &Prepared,
    ) -> Result<Call<()>, TestCaseError> {
        let res = self.create_steps(id, h, p)?;
        if res.is_err() {
            self.uncommitted.insert(h.to_string());
        }
        Ok(res)
    }

    pub(super) fn create_steps(
        &mut self,
        id: &str,
        h: &str,
        p: &Prepared,
    ) -> Result<Call<()>, TestCaseError> {
        let store = Persona::store(&self.pl);
        let h = step_pl!(self, "image join", |pl| pl.image_join(
            h,
            &store,
            &p.layer,
            &p.image_id,
            &p.repo
        ));
        let (h, tid) = step_pl!(self, "task join", |pl| pl
            .task_join(&h, task(None, "/bin/sh")));
        prop_assert_eq!(&tid, id, "the primary session's id is the container's");
        let h = step_pl!(self, "task bind", |pl| pl.task_bind(&h, &tid));
        let h = step_pl!(self, "scopes add", |pl| pl.scopes_add(&h, "default", net()));
        let h = step_pl!(self, "interaction", |pl| pl.interaction_join(&h));
        let h = step_pl!(self, "logging", |pl| pl.logging_join(&h));
        let h = match &p.volume {
            Some(v) => step_pl!(self, "volume join", |pl| pl
                .volume_join(&h, v, "/data", "rw")),
            None => h,
        };
        ok!(self.commit("create commit", &h, Some(-1)));
        Ok(Ok(()))
    }

    pub(super) fn docker_start(&mut self, i: u8) -> Result<Call<bool>, TestCaseError> {
        let Some(id) = pick(&self.container_ids(), i) else {
            return Ok(Ok(false));
        };
        let was_running = self.state(&id) == ContainerState::Running;
        let h = ok!(self.get_handle(&id));
        let (h, _) = step_pl!(self, "scopes bind", |pl| pl.scopes_bind(&h));
        let h = step_pl!(self, "state RUNNING", |pl| pl.change_state(&h, "RUNNING"));
        match self.commit("start commit", &h, None)? {
            Ok(()) => Ok(Ok(true)),
            Err(e) => {
                // The persona unbinds what it bound when the start fails.
                if !was_running {
                    let unbound =
                        self.call_pl("unbind after failed start", |pl| pl.scopes_unbind(&h))?;
                    prop_assert!(unbound.is_ok(), "unbind after a failed start: {unbound:?}");
                }
                Ok(Err(e))
            }
        }
    }

    pub(super) fn docker_stop(&mut self, i: u8, unbind: bool) -> Result<Call<bool>, TestCaseError> {
        let Some(id) = pick(&self.container_ids(), i) else {
            return Ok(Ok(false));
        };
        let h = ok!(self.get_handle(&id));
        let h = if unbind {
            step_pl!(self, "scopes unbind", |pl| pl.scopes_unbind(&h)).0
        } else {
            h
        };
        let h = step_pl!(self, "state STOPPED", |pl| pl.change_state(&h, "STOPPED"));
        ok!(self.commit("stop commit", &h, Some(5)));
        Ok(Ok(true))
    }

    pub(super) fn docker_rm(&mut self, i: u8) -> Result<Call<bool>, TestCaseError> {
        let Some(id) = pick(&self.container_ids(), i) else {
            return Ok(Ok(false));
        };
        if matches!(
            self.state(&id),
            ContainerState::Running | ContainerState::Starting
        ) {
            // The persona refuses before any call; the port layer must refuse too.
            let r = self.refused("remove running", 409, |w, pl, _| {
                pl.remove_container(w, &id)
            })?;
            return Ok(r.map(|()| true));
        }
        let h = ok!(self.get_handle(&id));
        step_pl!(self, "scopes unbind", |pl| pl.scopes_unbind(&h));
        ok!(self.remove(&id));
        Ok(Ok(true))
    }

    pub(super) fn stale_handle(&mut self, i: u8, n: usize) -> Result<Call<bool>, TestCaseError> {
        let Some(id) = pick(&self.container_ids(), i) else {
            return Ok(Ok(false));
        };
        let old = ok!(self.get_handle(&id));
        let new = ok!(self.get_handle(&id));
        let (new, _) = step_pl!(self, "task join new", |pl| pl
            .task_join(&new, task(Some(format!("s{n}")), "/bin/true")));
        ok!(self.commit("commit new", &new, None));
        let (old, _) = step_pl!(self, "task join old", |pl| pl
            .task_join(&old, task(Some(format!("t{n}")), "/bin/false")));
        let old = step_pl!(self, "state old", |pl| pl.change_state(&old, "RUNNING"));
        let res = self.commit("stale commit", &old, None)?;
        match &res {
            Err(e) if e.status == 409 && e.fault == "ConcurrentAccess" => {}
            other => {
                return Err(TestCaseError::fail(format!(
                    "committing a stale handle: expected 409 ConcurrentAccess, got {other:?}"
                )));
            }
        }
        Ok(res.map(|()| true))
    }

    /// Bad input of every kind; each must get its documented status and change nothing.
    pub(super) fn garbage(&mut self, kind: u8, i: u8) -> Result<Call<bool>, TestCaseError> {
        let id = pick(&self.container_ids(), i);
        let bad_create = |name: &str, cpus: u32, memory: u64| CreateConfig {
            name: name.into(),
            num_cpus: Some(cpus),
            memory_mb: Some(memory),
            ..Default::default()
        };
        let res = match (kind % 16, id) {
            (0, _) => self.refused("commit unknown handle", 404, |w, pl, _| {
                pl.commit(w, UNKNOWN, None)
            }),
            (1, _) => self.refused("get handle of unknown container", 404, |w, pl, _| {
                pl.get_handle(w, UNKNOWN)
            }),
            (2, _) => self.refused("remove unknown container", 404, |w, pl, _| {
                pl.remove_container(w, UNKNOWN)
            }),
            (3, _) => self.refused_pl("state of unknown handle", 404, |pl| {
                pl.change_state(UNKNOWN, "RUNNING")
            }),
            (4, Some(id)) => {
                let h = ok!(self.get_handle(&id));
                let state = ["DANCING", "running", ""][usize::from(i) % 3];
                self.refused_pl("bad state", 400, |pl| pl.change_state(&h, state))
            }
            (5, Some(id)) => {
                let signal = [0, 65, -9][usize::from(i) % 3];
                self.refused("bad signal", 400, |w, pl, _| pl.signal(w, &id, signal))
            }
            (5, None) => self.refused("signal unknown container", 404, |w, pl, _| {
                pl.signal(w, UNKNOWN, 9)
            }),
            (6, _) => {
                let name = ["-bad", "bad name", "x/y", "ünï"][usize::from(i) % 4];
                self.refused("bad container name", 400, |w, pl, _| {
                    pl.create_container(w, bad_create(name, 1, 512))
                })
            }
            (7, _) => {
                let (cpus, memory) = [
                    (1, MAX_VM_MEMORY_MIB + 4),
                    (1, u64::MAX - 3),
                    (1, 6),
                    (1, 0),
                    (0, 512),
                    (100_000, 512),
                ][usize::from(i) % 6];
                self.refused("bad container shape", 400, |w, pl, _| {
                    pl.create_container(w, bad_create("", cpus, memory))
                })
            }
            (8, _) => {
                let mut req = VolumeRequest::new("good");
                let status = match i % 4 {
                    0 => {
                        req.name = "../etc".into();
                        400
                    }
                    1 => {
                        req.capacity_mb = -7;
                        400
                    }
                    2 => {
                        req.driver = "nfs".into();
                        400
                    }
                    _ => {
                        req.store = "nosuch".into();
                        404
                    }
                };
                self.refused("bad volume", status, |w, pl, _| pl.create_volume(w, req))
            }
            (9, _) => self.refused("delete unknown volume", 404, |w, pl, _| {
                pl.delete_volume(w, "nosuch")
            }),
            (10, _) if i.is_multiple_of(2) => {
                self.refused_pl("kv put empty key", 400, |pl| pl.kv_put("", "x"))
            }
            (10, _) => self.refused_pl("kv delete unknown key", 404, |pl| {
                pl.kv_delete("test.nosuch")
            }),
            (11, _) => {
                let (image, status) = [("Busybox", 400), ("nosuch", 404), ("busybox:nosuch", 404)]
                    [usize::from(i) % 3];
                self.refused("bad pull", status, |w, pl, persona| {
                    persona.pull(w, pl, image)
                })
            }
            (12, Some(id)) => {
                let h = ok!(self.get_handle(&id));
                let store = Persona::store(&self.pl);
                match i % 5 {
                    0 => self.refused_pl("image join unknown layer", 404, |pl| {
                        pl.image_join(&h, &store, UNKNOWN, UNKNOWN, "nosuch:latest")
                    }),
                    1 => self.refused_pl("volume join unknown volume", 404, |pl| {
                        pl.volume_join(&h, "nosuch", "/data", "rw")
                    }),
                    2 => {
                        let Some(v) = self.volume_names().into_iter().next() else {
                            return Ok(Ok(false));
                        };
                        self.refused_pl("volume join relative path", 400, |pl| {
                            pl.volume_join(&h, &v, "data", "rw")
                        })
                    }
                    3 => self.refused_pl("scopes add unknown scope", 404, |pl| {
                        pl.scopes_add(&h, "nosuch", net())
                    }),
                    _ => self.refused_pl("task bind unknown task", 404, |pl| {
                        pl.task_bind(&h, "nosuch")
                    }),
                }
            }
            (13, _) => self.refused_pl("bind unknown handle", 404, |pl| pl.scopes_bind(UNKNOWN)),
            (14, _) => self.refused_pl("logging join on unknown handle", 404, |pl| {
                pl.logging_join(UNKNOWN)
            }),
            (_, Some(id)) => {
                // A name in use is a conflict.
                let name = self.pl.containers()[&id].spec.name.clone();
                if name.is_empty() {
                    return Ok(Ok(false));
                }
                self.refused("duplicate name", 409, |w, pl, _| {
                    pl.create_container(w, bad_create(&name, 1, 512))
                })
            }
            (_, None) => return Ok(Ok(false)),
        };
        Ok(res?.map(|()| true))
    }
}
