//! The provider as a node of a real Kubernetes control plane (kube-apiserver 1.20 with etcd and
//! kube-scheduler): `vcsim-lite serve` holds the world, `vcsim-lite kubelet` joins the cluster
//! over the Port Layer and Docker APIs, and kubectl drives it as a user would.
//!
//! Needs the control plane: run `make e2e`, which starts it and sets KUBECONFIG and KUBECTL.
//! Ignored otherwise, so `cargo test` never needs an API server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provider::cache::{POD_NAME, POD_NAMESPACE};
use provider::client::{ContainerStatus, PortLayerApi};
use provider::http_client::HttpClient;
use serde_json::Value;

const NODE: &str = "vcsim-e2e";
const NS: &str = "vcsim-e2e";
const WAIT: Duration = Duration::from_secs(60);

/// A child process killed (and reaped) when dropped, so a failing test stops what it started.
struct Proc(Child);

impl Proc {
    /// SIGKILL: the process gets no chance to clean up, as when a node crashes.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set; run `make e2e`"))
}

/// Runs kubectl; returns its stdout, panicking with stderr when it fails.
fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new(env("KUBECTL"));
    cmd.args(args)
        .env("KUBECONFIG", env("KUBECONFIG"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("kubectl reads stdin");
    }
    let out = child.wait_with_output().expect("kubectl finishes");
    assert!(
        out.status.success(),
        "kubectl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("kubectl prints JSON")
}

/// The pods of the test namespace, by name.
fn pods() -> std::collections::BTreeMap<String, Value> {
    let list = json(&kubectl(&["get", "pods", "-n", NS, "-o", "json"], None));
    list["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p["metadata"]["name"].as_str().unwrap_or("").to_string(), p))
        .collect()
}

/// Polls `f` until it gives `Ok`, or panics naming `what` (with the last state seen). Real
/// time: the control plane is a real one.
#[allow(clippy::disallowed_methods)]
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if start.elapsed() > WAIT => panic!("timed out waiting for {what}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vcsim-lite")
}

/// Starts `serve` on free ports; returns it with the Port Layer, Docker and SOAP addresses.
fn start_world(dir: &Path) -> (Proc, String, String, String) {
    let log = std::fs::File::create(dir.join("serve.log")).expect("log file");
    let mut child = Command::new(bin())
        .args(["serve", "--speed", "1", "--sdk-plain-http"])
        .args([
            "--listen-portlayer",
            "127.0.0.1:0",
            "--listen-docker",
            "127.0.0.1:0",
        ])
        .args(["--listen-sdk", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let (mut pl, mut docker, mut sdk) = (String::new(), String::new(), String::new());
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("serve prints");
        let word = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string)
        };
        if let Some(a) = word("port layer: ") {
            pl = a;
        } else if let Some(a) = word("docker:     tcp://") {
            docker = format!("http://{a}");
        } else if let Some(a) = word("vSphere:    ") {
            sdk = a;
        } else if line.starts_with("vcsim-lite ready") {
            break;
        }
    }
    assert!(
        !pl.is_empty() && !docker.is_empty() && !sdk.is_empty(),
        "serve printed its addresses"
    );
    (proc, pl, docker, sdk)
}

/// Starts the node against the served world, logging to `log`.
fn start_node(pl: &str, docker: &str, log: &Path) -> Proc {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Proc(
        Command::new(bin())
            .args(["kubelet", "--node-name", NODE])
            .env("KUBECONFIG", env("KUBECONFIG"))
            .env("PORTLAYER_ADDR", pl)
            .env("PERSONA_ADDR", docker)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kubelet starts"),
    )
}

/// The pod VMs of the test namespace, by pod name (several per name would be duplicates).
fn pod_vms(world: &HttpClient) -> Vec<(String, ContainerStatus)> {
    let mut vms: Vec<(String, ContainerStatus)> = world
        .list()
        .expect("the port layer lists containers")
        .into_iter()
        .filter(|c| c.annotations.get(POD_NAMESPACE).map(String::as_str) == Some(NS))
        .map(|c| (c.annotations.get(POD_NAME).cloned().unwrap_or_default(), c))
        .collect();
    vms.sort_by(|a, b| a.0.cmp(&b.0));
    vms
}

fn vm_names(world: &HttpClient) -> Vec<String> {
    pod_vms(world).into_iter().map(|(n, _)| n).collect()
}

/// Name and `config.guestFullName` of every VM, read over the SOAP endpoint as a vSphere
/// client would (login, a container view of VirtualMachines, RetrievePropertiesEx).
fn guest_names(sdk: &str) -> Vec<(String, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let call = |body: &str, cookie: &str| -> (String, String) {
        let envelope = format!(
            "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        );
        let mut res = agent
            .post(sdk)
            .header("Content-Type", "text/xml")
            .header("SOAPAction", "urn:vim25/8.0.3.0")
            .header("Cookie", cookie)
            .send(envelope.as_bytes())
            .expect("the SOAP endpoint answers");
        let set = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or(cookie)
            .to_string();
        (res.body_mut().read_to_string().expect("a body"), set)
    };
    let (_, cookie) = call(
        "<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>e2e</userName><password>e2e</password></Login>",
        "",
    );
    let (view, _) = call(
        "<CreateContainerView xmlns=\"urn:vim25\"><_this type=\"ViewManager\">ViewManager</_this><container type=\"Folder\">group-d1</container><type>VirtualMachine</type><recursive>true</recursive></CreateContainerView>",
        &cookie,
    );
    let view_id = between(&view, "<returnval type=\"ContainerView\">", "<").expect("a view");
    let (props, _) = call(
        &format!(
            "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>config.guestFullName</pathSet></propSet><objectSet><obj type=\"ContainerView\">{view_id}</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><name>v</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options/></RetrievePropertiesEx>"
        ),
        &cookie,
    );
    props
        .split("<objects>")
        .skip(1)
        .map(|obj| {
            let mut name = String::new();
            let mut guest = String::new();
            for prop in obj.split("<propSet>").skip(1) {
                let key = between(prop, "<name>", "<").unwrap_or_default();
                let val = prop
                    .split_once("<val")
                    .and_then(|(_, v)| between(v, ">", "<"))
                    .unwrap_or_default();
                match key.as_str() {
                    "name" => name = val,
                    "config.guestFullName" => guest = val,
                    _ => {}
                }
            }
            (name, guest)
        })
        .collect()
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(rest[..rest.find(end)?].to_string())
}

fn pod_yaml(name: &str, node_name: Option<&str>, containers: &str) -> String {
    let node = node_name.map_or(String::new(), |n| format!("  nodeName: {n}\n"));
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n{node}  \
         tolerations: [{{key: virtual-kubelet.io/provider, operator: Exists}}]\n  \
         terminationGracePeriodSeconds: 5\n  containers:\n{containers}"
    )
}

fn running_with_ip(p: &Value) -> Result<(), String> {
    let phase = p["status"]["phase"].as_str().unwrap_or("");
    let ip = p["status"]["podIP"].as_str().unwrap_or("");
    if phase == "Running" && !ip.is_empty() {
        Ok(())
    } else {
        Err(format!("phase {phase:?}, podIP {ip:?}"))
    }
}

#[test]
#[ignore = "needs a Kubernetes API server: make e2e"]
fn pods_run_as_pod_vms_on_a_node_of_a_real_cluster() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-k8s");
    std::fs::create_dir_all(&dir).expect("work dir");
    let node_log = dir.join("kubelet.log");
    let _ = std::fs::remove_file(&node_log);
    // Leftovers of an earlier run go first (namespaces cannot be deleted without a
    // controller-manager, so the namespace stays).
    if !kubectl(&["get", "namespaces", "-o", "name"], None).contains(&format!("namespace/{NS}")) {
        kubectl(&["create", "namespace", NS], None);
    }
    kubectl(
        &[
            "delete",
            "pods",
            "--all",
            "-n",
            NS,
            "--grace-period=0",
            "--force",
        ],
        None,
    );

    let (_world_proc, pl, docker, sdk) = start_world(&dir);
    let world = HttpClient::new(&pl, &docker, Duration::from_secs(10));
    let mut node = start_node(&pl, &docker, &node_log);

    // The node registers Ready, with the provider taint and the VCH's capacity.
    let n = wait_for("the node to be Ready", || {
        let out = Command::new(env("KUBECTL"))
            .args(["get", "node", NODE, "-o", "json"])
            .env("KUBECONFIG", env("KUBECONFIG"))
            .output()
            .map_err(|e| e.to_string())?;
        let n: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let ready = n["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if ready {
            Ok(n)
        } else {
            Err(format!("{}", n["status"]))
        }
    });
    assert_eq!(n["spec"]["taints"][0]["key"], "virtual-kubelet.io/provider");
    assert_eq!(n["metadata"]["labels"]["type"], "virtual-kubelet");
    assert_eq!(
        n["status"]["addresses"][0],
        serde_json::json!({"type": "Hostname", "address": NODE})
    );
    let vch = world.vch_info().expect("VCH info");
    let cores = (vch.cpu_mhz / 2400).to_string();
    assert_eq!(
        n["status"]["allocatable"]["cpu"].as_str(),
        Some(cores.as_str())
    );
    let lease = json(&kubectl(
        &["get", "lease", NODE, "-n", "kube-node-lease", "-o", "json"],
        None,
    ));
    assert_eq!(lease["spec"]["holderIdentity"], NODE);

    // Three pods without nodeName: the scheduler binds them here and they run.
    let busybox = "  - {name: main, image: busybox, command: [sleep, \"3600\"]}\n";
    let apply = [
        pod_yaml(
            "web",
            None,
            "  - name: nginx\n    image: nginx\n    resources: {requests: {cpu: 500m, memory: 256Mi}}\n",
        ),
        pod_yaml("pair", None, "  - {name: redis, image: redis}\n  - {name: side, image: busybox, command: [sleep, \"3600\"]}\n"),
        pod_yaml("plain", None, busybox),
    ]
    .join("---\n");
    kubectl(&["apply", "-f", "-"], Some(&apply));
    wait_for("three pods Running with IPs", || {
        let pods = pods();
        for name in ["web", "pair", "plain"] {
            let p = pods.get(name).ok_or(format!("{name} missing"))?;
            if p["spec"]["nodeName"] != NODE {
                return Err(format!(
                    "{name} not bound to {NODE}: {}",
                    p["spec"]["nodeName"]
                ));
            }
            running_with_ip(p).map_err(|e| format!("{name}: {e}"))?;
        }
        let pair = &pods["pair"]["status"]["containerStatuses"];
        let ready = pair
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["ready"] == true)
            .count();
        if ready == 2 {
            Ok(())
        } else {
            Err(format!("pair has {ready} ready containers"))
        }
    });
    let ips: std::collections::BTreeSet<String> = pods()
        .values()
        .map(|p| p["status"]["podIP"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ips.len(), 3, "each pod has its own IP: {ips:?}");

    // The world holds exactly one pod VM per pod, named as the telemetry expects.
    assert_eq!(vm_names(&world), ["pair", "plain", "web"]);
    let guests = guest_names(&sdk);
    for (_, vm) in pod_vms(&world) {
        let (_, guest) = guests
            .iter()
            .find(|(name, _)| name.starts_with(&vm.name))
            .unwrap_or_else(|| panic!("no VM named {}* in {guests:?}", vm.name));
        assert!(
            guest.starts_with("Photon - Container "),
            "{} reads {guest:?}",
            vm.name
        );
    }
    assert!(
        guests.iter().any(|(_, g)| g.starts_with("Photon - VCH ")),
        "the VCH VM reads as a VCH: {guests:?}"
    );

    // A pod that does not fit (bound directly, past the scheduler) fails as a kubelet fails it.
    kubectl(
        &["apply", "-f", "-"],
        Some(&pod_yaml(
            "huge",
            Some(NODE),
            "  - name: big\n    image: nginx\n    resources: {requests: {memory: 100Ti}}\n",
        )),
    );
    let huge = wait_for("the huge pod to fail", || {
        let p = pods().get("huge").cloned().ok_or("missing")?;
        if p["status"]["phase"] == "Failed" {
            Ok(p)
        } else {
            Err(format!("{}", p["status"]))
        }
    });
    assert_eq!(huge["status"]["reason"], "OutOfmemory");
    let message = huge["status"]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with(
            "Pod Node didn't have enough resource: memory, requested: 109951162777600,"
        ),
        "{message}"
    );
    assert_eq!(vm_names(&world), ["pair", "plain", "web"]);

    // kubectl delete: the node stops the pod VM, removes it, then the pod object.
    kubectl(&["delete", "pod", "web", "-n", NS, "--timeout=60s"], None);
    assert!(!pods().contains_key("web"));
    assert_eq!(vm_names(&world), ["pair", "plain"]);

    // The node dies. Meanwhile a pod is created, one is force-deleted and one is deleted
    // gracefully (it waits for the node to finish it).
    node.kill();
    kubectl(
        &["apply", "-f", "-"],
        Some(&pod_yaml("late", None, busybox)),
    );
    kubectl(
        &[
            "delete",
            "pod",
            "plain",
            "-n",
            NS,
            "--grace-period=0",
            "--force",
        ],
        None,
    );
    kubectl(&["delete", "pod", "pair", "-n", NS, "--wait=false"], None);
    assert!(pods()["pair"]["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(vm_names(&world), ["pair", "plain"]);

    // Restarted, it takes back its pod VMs and catches up; nothing is lost or doubled.
    let _node = start_node(&pl, &docker, &node_log);
    wait_for("the node to catch up", || {
        let pods = pods();
        let names: Vec<&String> = pods.keys().collect();
        if names != ["huge", "late"] {
            return Err(format!("pods {names:?}"));
        }
        running_with_ip(&pods["late"])?;
        let vms = vm_names(&world);
        if vms == ["late"] {
            Ok(())
        } else {
            Err(format!("pod VMs {vms:?}"))
        }
    });
    assert_eq!(pods()["huge"]["status"]["reason"], "OutOfmemory");

    kubectl(
        &["delete", "pods", "--all", "-n", NS, "--timeout=60s"],
        None,
    );
    wait_for("all pod VMs gone", || {
        let vms = vm_names(&world);
        if vms.is_empty() {
            Ok(())
        } else {
            Err(format!("pod VMs {vms:?}"))
        }
    });
    let log = std::fs::read_to_string(&node_log).unwrap_or_default();
    assert!(
        log.contains("took back the pod VMs of the VCH pod_vms=2"),
        "{log}"
    );
}
