//! Real pyVmomi (installed by `../shared/peers/install.sh` into `.peers/`, as `.ci/run` does)
//! against `serve`'s SOAP listener over TLS: `tests/pyvmomi/lifecycle.py` connects, lists VMs
//! with guest names, runs a VM lifecycle with pyVim's `WaitForTask`, meets an admission
//! failure and reads events. Skips, loudly, only when pyVmomi cannot be installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use vcsim_lite::http::serve::{Listen, SdkListen, serve_all};
use vcsim_lite::soap::SoapConfig;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn has_pyvmomi(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import pyVmomi"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Python with pyVmomi: `VCSIM_PYTHON`, or `.peers/venv` (installed now if missing).
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VCSIM_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let peers = repo().join(".peers");
    let py = peers.join("venv/bin/python");
    if has_pyvmomi(&py) {
        return Some(py);
    }
    let install = std::env::var_os("VCSIM_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/peers"))
        .join("install.sh");
    let ran = Command::new("bash").arg(&install).arg(&peers).status();
    if has_pyvmomi(&py) {
        return Some(py);
    }
    eprintln!(
        "\n*** SKIPPED: pyVmomi is not installed and {} failed ({ran:?}) ***\n",
        install.display()
    );
    None
}

fn serve_sdk() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stack = super::stack();
    std::thread::spawn(move || {
        rt.block_on(async move {
            let any = "127.0.0.1:0".parse().expect("address");
            let listen = Listen {
                portlayer: any,
                docker: any,
            };
            let sdk = SdkListen {
                addr: any,
                tls: true,
                config: SoapConfig::default(),
            };
            let serve = serve_all(stack, 0, listen, Some(sdk), move |b| {
                let _ = tx.send(b.sdk);
            });
            let _ = tokio::time::timeout(std::time::Duration::from_secs(120), serve).await;
        })
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("server ready")
        .expect("sdk listener")
}

#[test]
fn pyvmomi_lists_guest_names_runs_a_lifecycle_and_meets_admission_control() {
    let Some(py) = python() else { return };
    let addr = serve_sdk();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pyvmomi/lifecycle.py");
    let out = Command::new(&py)
        .arg(&script)
        .args(["--port", &addr.port().to_string()])
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pyVmomi script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(v["apiType"], "VirtualCenter");
    let vms = v["vms"].as_array().expect("vms");
    assert_eq!(vms.len(), 2, "{vms:?}");
    for vm in vms {
        let (config, summary) = (vm[1].as_str().expect("name"), vm[2].as_str().expect("name"));
        assert_eq!(config, summary);
        assert!(
            config.starts_with("Photon - Container ") || config.starts_with("Photon - VCH "),
            "{config}"
        );
    }
    for step in ["create", "power_on", "power_off", "destroy"] {
        assert_eq!(v[step], "success", "{step}: {v}");
    }
    assert_eq!(v["task_name"], "CreateVM_Task");
    assert_eq!(
        v["created_guest"],
        "Photon - Container v1.5.0, 12345, 9d146bc"
    );
    assert_eq!(v["on_state"], "poweredOn");
    assert!(v["on_host"].as_str().expect("host").starts_with("DC0_C0_H"));
    assert_eq!(v["admission"], "vim.fault.InsufficientResourcesFault");
    let py_events: Vec<&str> = v["py_vm_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.as_str()?.strip_prefix("vim.event."))
        .collect();
    assert_eq!(
        py_events,
        [
            "VmCreatedEvent",
            "VmStartingEvent",
            "DrsVmPoweredOnEvent",
            "VmStoppingEvent",
            "VmPoweredOffEvent",
            "VmRemovedEvent"
        ]
    );
    assert_eq!(v["latest_page"], 3);
}
