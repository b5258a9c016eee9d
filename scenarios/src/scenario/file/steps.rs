//! Steps and expectations as read, checked and turned into [`Step`]s: one action per step,
//! handles taken before they are used, one kind per expectation, event names that exist.

use provider::quantity::{cpu_millis, memory_bytes};
use vcsim_lite::sim::event::EventKind;

use super::action::Action;
use super::manifest::check_manifest;
use super::raw::{RawExpect, RawStep, StateName};
use super::{Cx, Expect, Step, pod_ref};
use crate::scenario::FileError;
use crate::scenario::expect::{Expectation, NodeResources};

pub(super) fn step(
    cx: &Cx<'_>,
    path: &str,
    index: usize,
    mut s: RawStep,
    raw_manifest: Option<&Option<serde_json::Value>>,
    handles: &mut Vec<String>,
) -> Result<Step, FileError> {
    let mut actions = actions(cx, path, &mut s, raw_manifest, handles)?;
    let action = match actions.len() {
        0 if s.expect.is_empty() => {
            return Err(cx.err(
                path,
                "a step needs an action (apply, delete, advance, ...) or expectations",
            ));
        }
        0 => Action::Check,
        1 => actions.pop().map(|(_, a)| a).unwrap_or(Action::Check),
        _ => {
            let keys: Vec<&str> = actions.iter().map(|(k, _)| *k).collect();
            return Err(cx.err(
                path,
                format!("a step has one action; this one has {}", keys.join(" and ")),
            ));
        }
    };
    if let Some(e) = &s.error
        && e.reason.is_none()
        && e.status.is_none()
        && e.message.is_none()
    {
        return Err(cx.err(
            &format!("{path}.error"),
            "say what error: `reason`, `status` or `message`",
        ));
    }
    if s.error.is_some() && matches!(action, Action::Check) {
        return Err(cx.err(
            &format!("{path}.error"),
            "a step without an action cannot fail",
        ));
    }
    let restart = matches!(action, Action::RestartProvider);
    let mut expect = Vec::with_capacity(s.expect.len());
    for (j, e) in s.expect.into_iter().enumerate() {
        let p = format!("{path}.expect[{j}]");
        let what = expectation(cx, &p, e, index, restart)?;
        expect.push(Expect { path: p, what });
    }
    Ok(Step {
        path: path.to_string(),
        line: cx.lines.line_of(path),
        note: s.note,
        action,
        error: s.error,
        expect,
    })
}

/// The actions a step names, each checked, with the key it was given under.
fn actions(
    cx: &Cx<'_>,
    path: &str,
    s: &mut RawStep,
    raw_manifest: Option<&Option<serde_json::Value>>,
    handles: &mut Vec<String>,
) -> Result<Vec<(&'static str, Action)>, FileError> {
    let mut actions: Vec<(&'static str, Action)> = Vec::new();
    let known_handle = |key: &str, h: &str, handles: &[String]| {
        if handles.iter().any(|k| k == h) {
            Ok(h.to_string())
        } else {
            Err(cx.err(
                &format!("{path}.{key}"),
                format!(
                    "handle `{h}` is not taken by an earlier step (`take_handle: {{as: {h}}}`)"
                ),
            ))
        }
    };
    if let Some(pod) = s.apply.take() {
        let p = format!("{path}.apply");
        check_manifest(cx, &p, &pod, raw_manifest.and_then(|m| m.as_ref()))?;
        actions.push(("apply", Action::Apply(pod)));
    }
    if let Some(d) = s.delete.take() {
        let r = pod_ref(&d).map_err(|m| cx.err(&format!("{path}.delete"), m))?;
        actions.push(("delete", Action::Delete(r)));
    }
    if let Some(d) = s.advance.take() {
        actions.push(("advance", Action::Advance(d.0)));
    }
    if let Some(r) = s.add_fault.take() {
        actions.push(("add_fault", Action::AddFault(r.0)));
    }
    if let Some(r) = s.remove_fault.take() {
        actions.push(("remove_fault", Action::RemoveFault(r.0)));
    }
    let hosts = [
        (
            "enter_maintenance",
            s.enter_maintenance.take(),
            Action::EnterMaintenance as fn(String) -> Action,
        ),
        (
            "exit_maintenance",
            s.exit_maintenance.take(),
            Action::ExitMaintenance,
        ),
        (
            "disconnect_host",
            s.disconnect_host.take(),
            Action::DisconnectHost,
        ),
        (
            "reconnect_host",
            s.reconnect_host.take(),
            Action::ReconnectHost,
        ),
    ];
    for (key, host, make) in hosts {
        if let Some(h) = host {
            actions.push((key, make(h)));
        }
    }
    if s.restart_provider.take().is_some() {
        actions.push(("restart_provider", Action::RestartProvider));
    }
    if let Some(l) = s.container_limit.take() {
        actions.push(("container_limit", Action::ContainerLimit(l.0)));
    }
    if let Some(r) = s.pull.take() {
        if r.is_empty() {
            return Err(cx.err(
                &format!("{path}.pull"),
                "name an image, e.g. `busybox:1.36`",
            ));
        }
        actions.push(("pull", Action::Pull(r)));
    }
    if let Some(t) = s.take_handle.take() {
        let pod = pod_ref(&t.pod).map_err(|m| cx.err(&format!("{path}.take_handle.pod"), m))?;
        if t.name.is_empty() {
            return Err(cx.err(&format!("{path}.take_handle.as"), "name the handle"));
        }
        handles.push(t.name.clone());
        actions.push(("take_handle", Action::TakeHandle { pod, name: t.name }));
    }
    if let Some(c) = s.change_state.take() {
        let handle = known_handle("change_state.handle", &c.handle, handles)?;
        let state = match c.to {
            StateName::Running => "RUNNING",
            StateName::Stopped => "STOPPED",
            StateName::Created => "CREATED",
        };
        actions.push(("change_state", Action::ChangeState { handle, state }));
    }
    if let Some(h) = s.bind.take() {
        actions.push(("bind", Action::Bind(known_handle("bind", &h, handles)?)));
    }
    if let Some(r) = s.rename.take() {
        let handle = known_handle("rename.handle", &r.handle, handles)?;
        actions.push(("rename", Action::Rename { handle, to: r.to }));
    }
    if let Some(h) = s.commit.take() {
        actions.push((
            "commit",
            Action::Commit(known_handle("commit", &h, handles)?),
        ));
    }
    Ok(actions)
}

fn expectation(
    cx: &Cx<'_>,
    path: &str,
    e: RawExpect,
    step_index: usize,
    restart: bool,
) -> Result<Expectation, FileError> {
    let mut kinds: Vec<(&str, Expectation)> = Vec::new();
    if let Some(p) = e.pod {
        pod_ref(&p.name).map_err(|m| cx.err(&format!("{path}.pod.name"), m))?;
        kinds.push(("pod", Expectation::Pod(p)));
    }
    if let Some(p) = e.pods {
        kinds.push(("pods", Expectation::Pods(p)));
    }
    if let Some(n) = e.node {
        for (set, r) in [("capacity", &n.capacity), ("allocatable", &n.allocatable)] {
            if let Some(r) = r {
                check_node_resources(cx, &format!("{path}.node.{set}"), r)?;
            }
        }
        kinds.push(("node", Expectation::Node(n)));
    }
    if let Some(p) = e.pool {
        kinds.push(("pool", Expectation::Pool(p)));
    }
    if let Some(c) = e.cluster {
        kinds.push(("cluster", Expectation::Cluster(c)));
    }
    if let Some(h) = e.host {
        kinds.push(("host", Expectation::Host(h)));
    }
    if let Some(d) = e.datastore {
        kinds.push(("datastore", Expectation::Datastore(d)));
    }
    if let Some(v) = e.vms {
        if v.count.is_none() && v.powered_on.is_none() {
            return Err(cx.err(&format!("{path}.vms"), "give `count` or `powered_on`"));
        }
        kinds.push(("vms", Expectation::Vms(v)));
    }
    if let Some(v) = e.vm {
        match (&v.name, &v.pod) {
            (Some(_), None) => {}
            (None, Some(p)) => {
                pod_ref(p).map_err(|m| cx.err(&format!("{path}.vm.pod"), m))?;
            }
            _ => {
                return Err(cx.err(
                    &format!("{path}.vm"),
                    "name the VM by `name` or by `pod`, not both",
                ));
            }
        }
        kinds.push(("vm", Expectation::Vm(v)));
    }
    if let Some(ev) = e.events {
        let Some(kind) = EventKind::from_name(&ev.kind) else {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(cx.err(
                &format!("{path}.events.type"),
                format!(
                    "unknown event type `{}`; known: {}",
                    ev.kind,
                    known.join(", ")
                ),
            ));
        };
        kinds.push(("events", Expectation::Events(kind, ev.count)));
    }
    if let Some(c) = e.container_events {
        const KNOWN: [&str; 5] = ["Created", "Started", "Stopped", "Removed", "Failed"];
        if !KNOWN.contains(&c.event.as_str()) {
            return Err(cx.err(
                &format!("{path}.container_events.event"),
                format!(
                    "unknown container event `{}`; known: {}",
                    c.event,
                    KNOWN.join(", ")
                ),
            ));
        }
        kinds.push(("container_events", Expectation::ContainerEvents(c)));
    }
    if let Some(p) = e.portlayer {
        kinds.push(("portlayer", Expectation::PortLayer(p)));
    }
    if let Some(a) = e.accounting {
        let at = format!("{path}.accounting.same_as");
        let snapshot = match a.same_as.as_str() {
            "setup" => 0,
            n => match n.parse::<usize>() {
                // Step N (1-based) is snapshot N; this step is step_index + 1.
                Ok(n) if n >= 1 && n <= step_index => n,
                _ => {
                    return Err(cx.err(
                        &at,
                        format!("`{n}` is neither `setup` nor the number of an earlier step"),
                    ));
                }
            },
        };
        kinds.push(("accounting", Expectation::Accounting(snapshot)));
    }
    if let Some(n) = e.rebuilt {
        if !restart {
            return Err(cx.err(
                &format!("{path}.rebuilt"),
                "`rebuilt` is checked only on a `restart_provider` step",
            ));
        }
        kinds.push(("rebuilt", Expectation::Rebuilt(n)));
    }
    if kinds.len() > 1 {
        let keys: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        return Err(cx.err(
            path,
            format!(
                "one check per list item; this one has {}",
                keys.join(" and ")
            ),
        ));
    }
    kinds.pop().map(|(_, k)| k).ok_or_else(|| {
        cx.err(
            path,
            "an expectation names what it checks: pod, node, pool, ...",
        )
    })
}

fn check_node_resources(cx: &Cx<'_>, path: &str, r: &NodeResources) -> Result<(), FileError> {
    if let Some(c) = &r.cpu {
        cpu_millis(c).map_err(|e| cx.err(&format!("{path}.cpu"), e.to_string()))?;
    }
    if let Some(m) = &r.memory {
        memory_bytes(m).map_err(|e| cx.err(&format!("{path}.memory"), e.to_string()))?;
    }
    Ok(())
}
