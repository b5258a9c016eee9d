//! Each expectation compared with the stack: one [`Check`] per asserted figure. World figures are
//! read under the stack's lock; pod and node figures through the provider, which takes the lock
//! itself, so those are read without holding it.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use provider::quantity::{cpu_millis, memory_bytes};
use vcsim_lite::vsphere::{PowerState, Resource, World};

use super::{
    Accounting, Check, ClusterExpect, ContainerExpect, Expectation, HostExpect, NodeExpect,
    PodExpect, PoolExpect, StateName, VmExpect, name_matches,
};
use crate::scenario::file::split_pod;
use crate::scenario::runner::Ctx;

/// Pushes a check for each figure the file asserts: `(name, expected, actual)`.
fn figures(out: &mut Vec<Check>, subject: &str, rows: &[(&str, Option<u64>, u64)]) {
    for (name, want, got) in rows {
        if let Some(want) = want {
            out.push(Check::eq(format!("{subject} {name}"), want, got));
        }
    }
}

/// The checks of one expectation against the stack.
pub(crate) fn check(e: &Expectation, ctx: &Ctx<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    match e {
        Expectation::Pod(p) => check_pod(p, ctx, &mut out),
        Expectation::Pods(p) => {
            let n = ctx.provider.get_pods().len();
            out.push(Check::eq("pods count".into(), p.count, n));
        }
        Expectation::Node(n) => check_node(n, ctx, &mut out),
        Expectation::Pool(p) => {
            let st = ctx.shared.lock();
            check_pool(p, &st.world, &mut out);
        }
        Expectation::Cluster(c) => {
            let st = ctx.shared.lock();
            check_cluster(c, &st.world, &mut out);
        }
        Expectation::Host(h) => {
            let st = ctx.shared.lock();
            check_host(h, &st.world, &mut out);
        }
        Expectation::Datastore(d) => {
            let st = ctx.shared.lock();
            let subject = format!("datastore {}", d.name);
            match st.world.datastore_by_name(&d.name) {
                Some(id) => {
                    let ds = &st.world.datastores()[&id];
                    figures(
                        &mut out,
                        &subject,
                        &[
                            ("free_mb", d.free_mb, ds.free_mib()),
                            ("used_mb", d.used_mb, ds.used_mib),
                        ],
                    );
                }
                None => out.push(Check::eq(subject, "exists", "missing")),
            }
        }
        Expectation::Vms(v) => {
            let st = ctx.shared.lock();
            let w = &st.world;
            let matching: Vec<_> = w
                .vms()
                .values()
                .filter(|vm| {
                    v.guest.as_deref().is_none_or(|g| {
                        w.guest_full_name(vm.id)
                            .is_ok_and(|name| name_matches(g, &name))
                    })
                })
                .collect();
            let subject = match &v.guest {
                Some(g) => format!("VMs with guest {g:?}"),
                None => "VMs".to_string(),
            };
            if let Some(n) = v.count {
                out.push(Check::eq(format!("{subject} count"), n, matching.len()));
            }
            if let Some(n) = v.powered_on {
                let on = matching
                    .iter()
                    .filter(|vm| vm.power_state == PowerState::PoweredOn)
                    .count();
                out.push(Check::eq(format!("{subject} powered on"), n, on));
            }
        }
        Expectation::Vm(v) => check_vm(v, ctx, &mut out),
        Expectation::Events(kind, count) => {
            let st = ctx.shared.lock();
            let n = st.world.events().events()[ctx.setup_events..]
                .iter()
                .filter(|e| e.kind.is_a(*kind))
                .count();
            out.push(Check::eq(format!("{} count", kind.as_str()), count, n));
        }
        Expectation::ContainerEvents(c) => {
            let st = ctx.shared.lock();
            let n = st.portlayer.events()[ctx.setup_container_events..]
                .iter()
                .filter(|e| e.event == c.event)
                .count();
            out.push(Check::eq(
                format!("container events {} count", c.event),
                c.count,
                n,
            ));
        }
        Expectation::PortLayer(p) => {
            let st = ctx.shared.lock();
            let pl = &st.portlayer;
            let rows = [
                ("containers", p.containers, pl.containers().len()),
                ("ips", p.ips, pl.scopes().allocated_count()),
                ("handles", p.handles, pl.handles().len()),
                ("volumes", p.volumes, pl.volumes().list("").len()),
            ];
            for (name, want, got) in rows {
                if let Some(want) = want {
                    out.push(Check::eq(format!("portlayer {name}"), want, got));
                }
            }
        }
        Expectation::Accounting(i) => {
            let st = ctx.shared.lock();
            let now = Accounting::of(&st.world);
            let then = &ctx.snapshots[*i];
            let label = if *i == 0 {
                "setup".to_string()
            } else {
                format!("step {i}")
            };
            let diffs = then.differences(&now);
            out.push(Check {
                subject: format!("accounting as after {label}"),
                expected: "no differences".into(),
                actual: if diffs.is_empty() {
                    "no differences".into()
                } else {
                    diffs.join("; ")
                },
                ok: diffs.is_empty(),
            });
        }
        Expectation::Rebuilt(n) => {
            let got = ctx
                .rebuilt
                .map_or("no restart".to_string(), |r| r.to_string());
            out.push(Check::eq("pods rebuilt".into(), n, got));
        }
    }
    out
}

fn check_pod(p: &PodExpect, ctx: &Ctx<'_>, out: &mut Vec<Check>) {
    let (ns, name) = split_pod(&p.name);
    let subject = format!("pod {ns}/{name}");
    let pod = ctx.provider.get_pod(ns, name);
    let exists = p.exists.unwrap_or(true);
    if p.exists.is_some() || pod.is_none() {
        out.push(Check::eq(
            format!("{subject} exists"),
            exists,
            pod.is_some(),
        ));
    }
    let Some(pod) = pod else { return };
    let status = pod.status.clone().unwrap_or_default();
    let text = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    if let Some(phase) = &p.phase {
        out.push(Check::eq(
            format!("{subject} phase"),
            phase,
            text(&status.phase),
        ));
    }
    if let Some(reason) = &p.reason {
        out.push(Check::eq(
            format!("{subject} reason"),
            reason,
            text(&status.reason),
        ));
    }
    if let Some(m) = &p.message {
        let msg = status.message.clone().unwrap_or_default();
        out.push(Check::contains(format!("{subject} message"), m, &msg));
    }
    if let Some(ip) = p.ip {
        let got = status.pod_ip.clone();
        out.push(Check {
            subject: format!("{subject} ip"),
            expected: if ip { "present" } else { "absent" }.into(),
            actual: got.clone().unwrap_or_else(|| "absent".into()),
            ok: got.is_some() == ip,
        });
    }
    for c in p.containers.iter().flatten() {
        check_container(&pod, c, &subject, out);
    }
}

fn check_container(pod: &Pod, c: &ContainerExpect, pod_subject: &str, out: &mut Vec<Check>) {
    let subject = format!("{pod_subject} container {}", c.name);
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let Some(cs) = statuses.iter().find(|s| s.name == c.name) else {
        out.push(Check::eq(subject, "a status", "none"));
        return;
    };
    let (state, reason, message, exit) = state_of(cs);
    if let Some(want) = c.state {
        let want = match want {
            StateName::Running => "running",
            StateName::Waiting => "waiting",
            StateName::Terminated => "terminated",
        };
        out.push(Check::eq(format!("{subject} state"), want, state));
    }
    if let Some(r) = &c.reason {
        out.push(Check::eq(
            format!("{subject} reason"),
            r,
            reason.unwrap_or_else(|| "none".into()),
        ));
    }
    if let Some(m) = &c.message {
        out.push(Check::contains(
            format!("{subject} message"),
            m,
            &message.unwrap_or_default(),
        ));
    }
    if let Some(code) = c.exit_code {
        out.push(Check::eq(
            format!("{subject} exit code"),
            code,
            exit.map_or("none".to_string(), |e| e.to_string()),
        ));
    }
    if let Some(ready) = c.ready {
        out.push(Check::eq(format!("{subject} ready"), ready, cs.ready));
    }
}

/// State name, reason, message and exit code of a container status.
fn state_of(cs: &ContainerStatus) -> (&'static str, Option<String>, Option<String>, Option<i32>) {
    let Some(s) = &cs.state else {
        return ("unknown", None, None, None);
    };
    if s.running.is_some() {
        ("running", None, None, None)
    } else if let Some(w) = &s.waiting {
        ("waiting", w.reason.clone(), w.message.clone(), None)
    } else if let Some(t) = &s.terminated {
        (
            "terminated",
            t.reason.clone(),
            t.message.clone(),
            Some(t.exit_code),
        )
    } else {
        ("unknown", None, None, None)
    }
}

fn check_node(n: &NodeExpect, ctx: &Ctx<'_>, out: &mut Vec<Check>) {
    let status = match ctx.provider.node_status() {
        Ok(s) => s,
        Err(e) => {
            out.push(Check::eq("node status".into(), "available", e));
            return;
        }
    };
    let sets = [
        ("capacity", &n.capacity, status.capacity.unwrap_or_default()),
        (
            "allocatable",
            &n.allocatable,
            status.allocatable.unwrap_or_default(),
        ),
    ];
    for (label, want, got) in sets {
        let Some(want) = want else { continue };
        let get = |k: &str| got.get(k).map(|q| q.0.clone()).unwrap_or_default();
        if let Some(cpu) = &want.cpu {
            let actual = get("cpu");
            out.push(Check {
                subject: format!("node {label} cpu"),
                ok: cpu_millis(cpu).ok() == cpu_millis(&actual).ok(),
                expected: cpu.clone(),
                actual,
            });
        }
        if let Some(mem) = &want.memory {
            let actual = get("memory");
            out.push(Check {
                subject: format!("node {label} memory"),
                ok: memory_bytes(mem).ok() == memory_bytes(&actual).ok(),
                expected: mem.clone(),
                actual,
            });
        }
        if let Some(pods) = want.pods {
            out.push(Check::eq(format!("node {label} pods"), pods, get("pods")));
        }
    }
}

fn check_pool(p: &PoolExpect, w: &World, out: &mut Vec<Check>) {
    let subject = format!("pool {}", p.path);
    let Some(id) = w.pool_by_path(&p.path) else {
        out.push(Check::eq(subject, "exists", "missing"));
        return;
    };
    let pool = &w.pools()[&id];
    figures(
        out,
        &subject,
        &[
            ("cpu_reserved_mhz", p.cpu_reserved_mhz, pool.cpu.used),
            ("memory_reserved_mb", p.memory_reserved_mb, pool.memory.used),
            (
                "cpu_unreserved_mhz",
                p.cpu_unreserved_mhz,
                w.unreserved(id, Resource::Cpu),
            ),
            (
                "memory_unreserved_mb",
                p.memory_unreserved_mb,
                w.unreserved(id, Resource::Memory),
            ),
            ("cpu_usage_mhz", p.cpu_usage_mhz, pool.cpu.usage),
            ("memory_usage_mb", p.memory_usage_mb, pool.memory.usage),
        ],
    );
}

fn check_cluster(c: &ClusterExpect, w: &World, out: &mut Vec<Check>) {
    let subject = format!("cluster {}", c.name);
    let Some(id) = w.compute_by_name(&c.name) else {
        out.push(Check::eq(subject, "exists", "missing"));
        return;
    };
    let root = &w.pools()[&w.computes()[&id].root_pool];
    figures(
        out,
        &subject,
        &[
            (
                "cpu_capacity_mhz",
                c.cpu_capacity_mhz,
                root.cpu.alloc.reservation,
            ),
            (
                "memory_capacity_mb",
                c.memory_capacity_mb,
                root.memory.alloc.reservation,
            ),
            ("cpu_reserved_mhz", c.cpu_reserved_mhz, root.cpu.used),
            ("memory_reserved_mb", c.memory_reserved_mb, root.memory.used),
            ("cpu_usage_mhz", c.cpu_usage_mhz, root.cpu.usage),
            ("memory_usage_mb", c.memory_usage_mb, root.memory.usage),
        ],
    );
}

fn check_host(h: &HostExpect, w: &World, out: &mut Vec<Check>) {
    let subject = format!("host {}", h.name);
    let Some(id) = w.host_by_name(&h.name) else {
        out.push(Check::eq(subject, "exists", "missing"));
        return;
    };
    let host = &w.hosts()[&id];
    let running = host
        .vms
        .iter()
        .filter(|v| w.vms()[v].power_state == PowerState::PoweredOn)
        .count();
    figures(
        out,
        &subject,
        &[
            (
                "cpu_reserved_mhz",
                h.cpu_reserved_mhz,
                host.cpu_reserved_mhz,
            ),
            (
                "memory_reserved_mb",
                h.memory_reserved_mb,
                host.memory_reserved_mib,
            ),
            ("cpu_usage_mhz", h.cpu_usage_mhz, host.cpu_usage_mhz),
            ("memory_usage_mb", h.memory_usage_mb, host.memory_usage_mib),
            ("vms", h.vms.map(|n| n as u64), host.vms.len() as u64),
            ("running", h.running.map(|n| n as u64), running as u64),
        ],
    );
    if let Some(c) = h.connected {
        out.push(Check::eq(format!("{subject} connected"), c, host.connected));
    }
    if let Some(m) = h.maintenance {
        out.push(Check::eq(
            format!("{subject} maintenance"),
            m,
            host.maintenance,
        ));
    }
}

fn check_vm(v: &VmExpect, ctx: &Ctx<'_>, out: &mut Vec<Check>) {
    // The pod's container id comes from the provider, so look it up before locking the stack.
    let container = v.pod.as_ref().map(|p| {
        let (ns, name) = split_pod(p);
        let id = ctx
            .provider
            .cache()
            .get(ns, name)
            .map(|c| c.container_id.clone());
        (format!("{ns}/{name}"), id)
    });
    let st = ctx.shared.lock();
    let w = &st.world;
    let (subject, vm) = match (&v.name, container) {
        (Some(pattern), _) => {
            let found: Vec<_> = w
                .vms()
                .values()
                .filter(|vm| name_matches(pattern, &vm.name))
                .collect();
            if found.len() > 1 {
                out.push(Check::eq(
                    format!("VMs named {pattern}"),
                    "at most one",
                    found.len(),
                ));
                return;
            }
            (format!("vm {pattern}"), found.first().copied())
        }
        (None, Some((pod, container))) => {
            let vm = container
                .and_then(|id| st.portlayer.containers().get(&id).map(|c| c.vm))
                .and_then(|id| w.vm(id).ok());
            (format!("vm of pod {pod}"), vm)
        }
        (None, None) => return,
    };
    let exists = v.exists.unwrap_or(true);
    if v.exists.is_some() || vm.is_none() {
        out.push(Check::eq(format!("{subject} exists"), exists, vm.is_some()));
    }
    let Some(vm) = vm else { return };
    if let Some(g) = &v.guest {
        let name = w.guest_full_name(vm.id).unwrap_or_default();
        out.push(Check::glob(format!("{subject} guest"), g, &name));
    }
    if let Some(p) = &v.power_state {
        out.push(Check::eq(
            format!("{subject} power state"),
            p,
            vm.power_state.as_str(),
        ));
    }
    if let Some(h) = &v.host {
        let host = w
            .host(vm.host)
            .map(|h| h.name.to_string())
            .unwrap_or_default();
        out.push(Check::eq(format!("{subject} host"), h, host));
    }
    if let Some(n) = v.vcpus {
        out.push(Check::eq(format!("{subject} vcpus"), n, vm.vcpus));
    }
    if let Some(m) = v.memory_mb {
        out.push(Check::eq(format!("{subject} memory_mb"), m, vm.memory_mib));
    }
}
