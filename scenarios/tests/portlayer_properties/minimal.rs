use super::*;

const CASE: Case = Case {
    seed: 0,
    fault: None,
    memory_limit_mb: None,
};

/// `docker create --name c<name - 1>` of busybox, 1 vCPU, 512 MB, optionally with the
/// first volume.
fn create(name: u8, volume: bool) -> CreateArgs {
    CreateArgs {
        name,
        image: 0,
        cpus: 0,
        memory: 0,
        volume: volume.then_some(0),
    }
}

fn replay(ops: &[Op]) {
    replay_with(CASE, ops);
}

fn replay_with(case: Case, ops: &[Op]) {
    if let Err(e) = run(case, ops) {
        panic!("{e}");
    }
}

#[test]
fn a_killed_container_gives_back_its_ip() {
    // VIC unbinds a container's scopes on its VM's power-off event: a stopped container
    // holds no address (vcsim-lite keeps 172.16.0.2 bound after the kill).
    let kill = Op::Kill {
        container: 0,
        signal: 0,
    };
    replay(&[Op::Create(create(1, false)), Op::Start(0), kill]);
}

#[test]
fn a_container_stopped_without_the_persona_unbind_gives_back_its_ip() {
    // `docker stop` as get handle, STOPPED, commit: VIC's persona also unbinds first, but
    // the port layer unbinds on the power-off event whoever stopped the VM.
    let stop = Op::Stop {
        container: 0,
        unbind: false,
    };
    replay(&[Op::Create(create(1, false)), Op::Start(0), stop]);
}

#[test]
fn a_refused_create_leaves_no_endpoint_in_its_scope() {
    // The second create joins the volume the running first container holds: its commit is
    // refused (409 DevicesInUse) after `scopes add`, whose endpoint stays in the bridge
    // scope for a container that never existed.
    let volume = Op::CreateVolume {
        name: 0,
        capacity: 0,
    };
    replay(&[
        volume,
        Op::Create(create(1, true)),
        Op::Start(0),
        Op::Create(create(2, true)),
    ]);
}

#[test]
fn two_creates_in_flight_cannot_take_the_same_name() {
    // Two clients' `docker create --name c0`, interleaved: the name is checked only against
    // committed containers, so both commit (VIC issue 6261, fixed in VIC by pull request
    // 6561, which reserves the name at create).
    replay(&[Op::CreatePair(create(1, false), create(1, false))]);
}

#[test]
fn a_create_refused_by_vsphere_leaves_no_container_vm() {
    // Every VM call after the first on a container VM fails: the container's VM is
    // created, attaching the volume's disk (a second call, ReconfigVM_Task) fails, and so
    // does the cleanup (Destroy_Task, whose error commit ignores). A container VM that no
    // container owns stays in the VCH pool, holding the volume's disk, so the volume can
    // never be deleted. VIC creates the VM with its disks in one CreateVM_Task.
    let case = Case {
        fault: Some("*:vm/[!v]*=1>SystemError"),
        ..CASE
    };
    let volume = Op::CreateVolume {
        name: 0,
        capacity: 0,
    };
    replay_with(case, &[volume, Op::Create(create(1, true))]);
}
