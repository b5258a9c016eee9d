//! Replays the request bodies govc 0.38 and 0.24.2 sent (captured against vcsim, in
//! `../shared/peers/fixtures`) against the endpoint, in capture order with one session, as
//! consecutive govc commands would. The captured ids are vcsim's; each is mapped to the world
//! object of the same role (`datacenter-2` is DC0, `vm-63` the VCH VM, session objects the ones
//! this endpoint returned). Every response must be a success that answers the request.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Client, texts};

/// The fixtures directory, or `None` (with a message) when this checkout has none.
fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("VCSIM_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers"))
        .join("fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "\n*** SKIPPED: no govc fixtures at {} (set VCSIM_PEERS_DIR) ***\n",
            dir.display()
        );
        None
    }
}

const COMMANDS: &[&str] = &[
    "govc-about-login",
    "govc-about",
    "govc-find-vms",
    "govc-vm-info",
    "govc-vm-info-json",
    "govc-vm-create",
    "govc-vm-power-on",
    "govc-vm-power-off",
    "govc-vm-destroy",
    "govc-object-collect-guestfullname",
    "govc-host-info",
    "govc-datastore-info",
    "govc-pool-info",
    "govc-events",
];

/// Ids this endpoint handed out, by type, to stand in for the session ids in the captures.
#[derive(Default)]
struct Latest {
    by_type: BTreeMap<String, String>,
    task: Option<String>,
}

/// Rewrites every `type="T">ID<` reference in `body` with `map`.
fn map_refs(body: &str, map: impl Fn(&str, &str) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find("type=\"") {
        let after = &rest[i + 6..];
        let Some(q) = after.find('"') else { break };
        let ty = &after[..q];
        let tail = &after[q + 1..];
        if let Some(v) = tail.strip_prefix('>')
            && let Some(end) = v.find('<')
            && let Some(new) = map(ty, &v[..end])
        {
            out.push_str(&rest[..i + 6 + q + 2]);
            out.push_str(&new);
            rest = &v[end..];
            continue;
        }
        out.push_str(&rest[..i + 6]);
        rest = after;
    }
    out.push_str(rest);
    out
}

fn world_ids(c: &Client) -> BTreeMap<&'static str, String> {
    let st = c.shared.lock();
    let w = &st.world;
    let dc = w.default_datacenter().expect("dc");
    let vch = w.vm_by_name("vch-1").expect("vch");
    let other = w.vms().keys().find(|v| **v != vch).expect("container vm");
    let shared_ds = w.datastore_by_name("sharedDS").expect("ds");
    let standalone = w
        .host(w.host_by_name("DC0_H0").expect("host"))
        .expect("host")
        .compute;
    let net = *dc.networks.first().expect("network");
    let mut m = BTreeMap::new();
    m.insert("datacenter-2", dc.id.to_string());
    m.insert("group-3", dc.vm_folder.to_string());
    m.insert("group-4", dc.host_folder.to_string());
    m.insert("group-5", dc.datastore_folder.to_string());
    m.insert("group-6", dc.network_folder.to_string());
    m.insert("vm-63", vch.to_string());
    for v in ["vm-66", "vm-69", "vm-72"] {
        m.insert(v, other.to_string());
    }
    m.insert("host-22", w.host_by_name("DC0_H0").expect("h").to_string());
    m.insert("computeresource-25", standalone.to_string());
    m.insert(
        "domain-c29",
        w.compute_by_name("DC0_C0").expect("c").to_string(),
    );
    m.insert(
        "resgroup-28",
        w.pool_by_path("DC0_C0").expect("p").to_string(),
    );
    m.insert("datastore-60", shared_ds.to_string());
    m.insert("network-7", net.to_string());
    m.insert(
        "hostdatastorebrowser-61",
        format!("datastoreBrowser-{shared_ds}"),
    );
    m
}

fn rewrite(c: &Client, body: &str, latest: &Latest) -> String {
    let ids = world_ids(c);
    let fx1 = c
        .shared
        .lock()
        .world
        .vm_by_name("fx1")
        .map(|v| v.to_string());
    let body = body.replace("LocalDS_0", "sharedDS");
    map_refs(&body, |ty, id| {
        if let Some(new) = ids.get(id) {
            return Some(new.clone());
        }
        if id == "vm-76" {
            return fx1.clone();
        }
        if id.starts_with("task-") {
            return latest.task.clone();
        }
        if id.starts_with("session[") {
            return latest.by_type.get(ty).cloned();
        }
        None
    })
}

/// What the response to one request must show, beyond being a success.
fn check_answer(cmd: &str, method: &str, request: &str, body: &str) {
    let ctx = format!("{cmd} {method}");
    match method {
        "RetrievePropertiesEx" | "RetrieveProperties" => {
            let asked: Vec<String> = texts(request, "pathSet");
            let names = texts(body, "propSet")
                .iter()
                .filter_map(|p| texts(p, "name").into_iter().next())
                .collect::<Vec<_>>();
            for name in names {
                assert!(
                    asked.contains(&name) || request.contains("<all>true</all>"),
                    "{ctx}: {name} was not asked for"
                );
            }
            if asked.iter().any(|p| p == "summary") && request.contains("VirtualMachine") {
                let names = texts(body, "guestFullName");
                assert!(
                    names.iter().any(|n| n.starts_with("Photon - VCH")),
                    "{ctx}: {body}"
                );
            }
            if asked.iter().any(|p| p == "currentSession") {
                assert_eq!(texts(body, "userName"), ["user"], "{ctx}");
            }
            let runtime = asked.iter().filter(|p| p.starts_with("runtime.")).count();
            if request.contains("ResourcePool") && runtime > 0 {
                assert_eq!(
                    texts(body, "reservationUsed").len(),
                    runtime,
                    "{ctx}: {body}"
                );
            }
            if asked.iter().any(|p| p == "info") && request.contains("Datastore") {
                assert!(
                    body.contains("DatastoreInfo") && body.contains("<capacity>"),
                    "{ctx}"
                );
            }
            if request.contains("<all>true</all>") {
                assert!(
                    body.contains("<name>config</name>") && body.contains("<name>summary</name>"),
                    "{ctx}"
                );
            }
            if !request.contains("<skip>true</skip>")
                && !request.contains("DistributedVirtualSwitch")
            {
                assert!(body.contains("<obj "), "{ctx}: no object returned: {body}");
            }
        }
        "RetrieveServiceContent" => assert!(body.contains("<apiType>VirtualCenter</apiType>")),
        "Login" => assert_eq!(texts(body, "userName"), ["user"]),
        "CreateVM_Task"
        | "PowerOnVM_Task"
        | "PowerOffVM_Task"
        | "Destroy_Task"
        | "SearchDatastore_Task" => assert!(body.contains("<returnval type=\"Task\">"), "{ctx}"),
        "WaitForUpdatesEx" => {
            assert!(body.contains("<kind>enter</kind>"), "{ctx}: {body}");
            if request.contains("task") || body.contains("TaskInfo") {
                let state = texts(body, "state");
                // govc's "already exists" search finds no folder (FileNotFound), and govc
                // 0.24's vm.destroy powers off a VM that is already off; both are expected.
                let name = texts(body, "name");
                let refused = name.iter().any(|n| n == "SearchDatastore_Task")
                    || (cmd == "govc-vm-destroy" && name.iter().any(|n| n == "PowerOffVM_Task"));
                let want = if refused { "error" } else { "success" };
                assert_eq!(state, [want], "{ctx}: {body}");
            }
            if cmd.contains("object-collect") {
                assert!(
                    texts(body, "val")
                        .iter()
                        .any(|v| v.starts_with("Photon - VCH")),
                    "{ctx}: {body}"
                );
            }
            if cmd == "govc-events" {
                assert!(
                    body.contains("<name>latestPage</name>") && body.contains("VmPoweredOnEvent")
                        || body.contains("DrsVmPoweredOnEvent"),
                    "{ctx}: {body}"
                );
            }
        }
        _ => {}
    }
}

async fn replay(set: &str) {
    let Some(root) = fixtures() else { return };
    let mut c = Client::new();
    let mut latest = Latest::default();
    let mut calls = 0;
    for cmd in COMMANDS {
        let dir = if set.is_empty() {
            root.join(cmd)
        } else {
            root.join(set).join(cmd)
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        files.sort();
        for f in files {
            let raw = std::fs::read_to_string(&f).expect("fixture");
            let request = rewrite(&c, &raw, &latest);
            let method = f
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.split_once('-'))
                .map(|x| x.1.to_string())
                .expect("NNN-Method.xml");
            let (status, body) = c.raw(request.clone().into_bytes()).await;
            assert_eq!(status, 200, "{}: {body}\nrequest: {request}", f.display());
            check_answer(cmd, &method, &request, &body);
            for (ty, id) in [
                (
                    "PropertyCollector",
                    texts(&body, "returnval")
                        .first()
                        .filter(|_| method == "CreatePropertyCollector"),
                ),
                (
                    "PropertyFilter",
                    texts(&body, "returnval")
                        .first()
                        .filter(|_| method == "CreateFilter"),
                ),
                (
                    "ContainerView",
                    texts(&body, "returnval")
                        .first()
                        .filter(|_| method == "CreateContainerView"),
                ),
                (
                    "EventHistoryCollector",
                    texts(&body, "returnval")
                        .first()
                        .filter(|_| method == "CreateCollectorForEvents"),
                ),
            ] {
                if let Some(id) = id {
                    latest.by_type.insert(ty.to_string(), id.clone());
                }
            }
            if method.ends_with("_Task") {
                latest.task = texts(&body, "returnval").first().cloned();
            }
            calls += 1;
        }
    }
    assert!(calls > 100, "replayed {calls} requests");
    let st = c.shared.lock();
    assert!(
        st.world.vm_by_name("fx1").is_none(),
        "vm.destroy removed fx1"
    );
    st.world.check_invariants().expect("invariants");
}

#[tokio::test]
async fn govc_0_38_requests_get_answers() {
    replay("").await;
}

#[tokio::test]
async fn govc_0_24_requests_get_answers() {
    replay("govc-0.24.2").await;
}
