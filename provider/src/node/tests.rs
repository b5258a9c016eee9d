use super::*;

/// The VCH the tests size against: 48 cores of 2400 MHz, 762 GiB.
fn vch() -> VchCapacity {
    VchCapacity {
        cpu_mhz: 115_200,
        memory_mb: 780_288,
        cpu_usage_mhz: 30_000,
        memory_usage_mb: 400_000,
        host_product_name: "VMware ESXi".into(),
    }
}

fn q(m: &BTreeMap<String, Quantity>, k: &str) -> String {
    m.get(k).map(|q| q.0.clone()).unwrap_or_default()
}

fn status_of<'a>(cs: &'a [NodeCondition], type_: &str) -> (&'a str, &'a str) {
    cs.iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.as_str(), c.reason.as_deref().unwrap_or_default()))
        .unwrap_or_default()
}

fn pod(cpu_millis: u64, mem_bytes: u64) -> PodSize {
    PodSize {
        vcpus: 1,
        memory_mb: 512,
        cpu_request_millis: cpu_millis,
        memory_request_bytes: mem_bytes,
    }
}

const CPU_MILLIS: u64 = 115_200 / 2400 * 1000;
const MEM_BYTES: u64 = 780_288 * 1024 * 1024;

fn used(cpu: u64, mem: u64, pods: u32) -> Usage {
    Usage {
        cpu_request_millis: cpu,
        memory_request_bytes: mem,
        pods,
    }
}

fn admit_into(p: &PodSize, u: &Usage) -> Admission {
    admit(p, u, CPU_MILLIS, MEM_BYTES, 110)
}

fn reason(a: &Admission) -> Option<&'static str> {
    match a {
        Admission::Admit => None,
        Admission::Reject { reason, .. } => Some(reason),
    }
}

#[test]
fn per_core_capacity_divides_mhz_by_the_core_clock() {
    let c = capacity(&vch(), &NodeConfig::default());
    assert_eq!(q(&c, "cpu"), (115_200 / 2400).to_string());
    assert_eq!(q(&c, "cpu"), "48");
    assert_eq!(q(&c, "memory"), format!("{}Ki", 780_288 * 1024));
    assert_eq!(q(&c, "pods"), "110");
}

#[test]
fn the_2018_rule_counts_a_core_per_ghz_rounding_down() {
    let cfg = NodeConfig {
        cpu_rule: CpuRule::Mhz1000,
        ..Default::default()
    };
    let c = capacity(&vch(), &cfg);
    assert_eq!(q(&c, "cpu"), "115");
    assert_eq!(q(&c, "memory"), "799014912Ki");
}

#[test]
fn allocatable_is_the_whole_capacity() {
    let cfg = NodeConfig::default();
    assert_eq!(allocatable(&vch(), &cfg), capacity(&vch(), &cfg));
}

#[test]
fn negative_or_unlimited_figures_count_as_nothing() {
    let v = VchCapacity {
        cpu_mhz: -1,
        memory_mb: -1,
        ..Default::default()
    };
    let c = capacity(&v, &NodeConfig::default());
    assert_eq!((q(&c, "cpu"), q(&c, "memory")), ("0".into(), "0Ki".into()));
    let zero_clock = NodeConfig {
        mhz_per_core: 0,
        ..Default::default()
    };
    assert_eq!(cpu_cores(&vch(), &zero_clock), 0);
}

#[test]
fn a_pod_asking_exactly_for_what_remains_is_admitted() {
    let u = used(40_000, MEM_BYTES - (8 << 30), 109);
    assert_eq!(admit_into(&pod(8_000, 8 << 30), &u), Admission::Admit);
}

#[test]
fn one_millicore_more_than_remains_is_out_of_cpu() {
    let u = used(CPU_MILLIS - 2000, 0, 0);
    assert_eq!(
        admit_into(&pod(2001, 1), &u),
        Admission::Reject {
            reason: "OutOfcpu",
            message: "Node didn't have enough resource: cpu, requested: 2001, used: 46000, \
                      capacity: 48000"
                .into()
        }
    );
}

#[test]
fn one_byte_more_than_remains_is_out_of_memory() {
    let u = used(0, MEM_BYTES - 1024, 0);
    assert_eq!(admit_into(&pod(1, 1024), &u), Admission::Admit);
    let a = admit_into(&pod(1, 1025), &u);
    assert_eq!(reason(&a), Some("OutOfmemory"));
    let Admission::Reject { message, .. } = a else {
        unreachable!("rejected above")
    };
    assert_eq!(
        message,
        format!(
            "Node didn't have enough resource: memory, requested: 1025, used: {}, capacity: {}",
            MEM_BYTES - 1024,
            MEM_BYTES
        )
    );
}

#[test]
fn the_pod_past_max_pods_is_out_of_pods() {
    assert_eq!(admit_into(&pod(0, 0), &used(0, 0, 109)), Admission::Admit);
    let a = admit_into(&pod(0, 0), &used(0, 0, 110));
    assert_eq!(
        a,
        Admission::Reject {
            reason: "OutOfpods",
            message: "Node didn't have enough resource: pods, requested: 1, used: 110, \
                      capacity: 110"
                .into()
        }
    );
}

#[test]
fn pods_are_checked_before_cpu_and_cpu_before_memory() {
    let full = used(CPU_MILLIS, MEM_BYTES, 110);
    assert_eq!(reason(&admit_into(&pod(1, 1), &full)), Some("OutOfpods"));
    let full = used(CPU_MILLIS, MEM_BYTES, 0);
    assert_eq!(reason(&admit_into(&pod(1, 1), &full)), Some("OutOfcpu"));
    assert_eq!(reason(&admit_into(&pod(0, 1), &full)), Some("OutOfmemory"));
}

#[test]
fn a_resource_the_pod_does_not_request_is_not_checked() {
    let over = used(CPU_MILLIS + 1, MEM_BYTES + 1, 0);
    assert_eq!(admit_into(&pod(0, 0), &over), Admission::Admit);
}

#[test]
fn a_vch_with_room_has_no_pressure_and_is_ready() {
    let cs = conditions(&vch(), Some(50), &NodeConfig::default());
    let types: Vec<&str> = cs.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(
        types,
        ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
    );
    assert_eq!(status_of(&cs, "Ready"), ("True", "KubeletReady"));
    assert_eq!(cs[0].message.as_deref(), Some("VIC provider is ready"));
    assert_eq!(
        status_of(&cs, "MemoryPressure"),
        ("False", "KubeletHasSufficientMemory")
    );
    assert_eq!(
        status_of(&cs, "DiskPressure"),
        ("False", "KubeletHasNoDiskPressure")
    );
    assert_eq!(
        status_of(&cs, "PIDPressure"),
        ("False", "KubeletHasSufficientPID")
    );
}

#[test]
fn memory_use_above_95_percent_of_the_limit_is_pressure() {
    let at_95 = 780_288 * 95 / 100;
    let mut v = vch();
    v.memory_usage_mb = at_95;
    assert!(!memory_pressure(&v), "{at_95} MB is not above 95%");
    v.memory_usage_mb = at_95 + 1;
    let cs = conditions(&v, None, &NodeConfig::default());
    assert_eq!(
        status_of(&cs, "MemoryPressure"),
        ("True", "KubeletHasInsufficientMemory")
    );
}

#[test]
fn an_image_datastore_below_the_free_threshold_is_disk_pressure() {
    let cfg = NodeConfig::default();
    let pressure = |free| status_of(&conditions(&vch(), free, &cfg), "DiskPressure").0 == "True";
    assert!(pressure(Some(9)));
    assert!(!pressure(Some(10)), "exactly the threshold is not pressure");
    assert!(!pressure(None), "an unknown datastore is not pressure");
}

#[test]
fn the_node_reports_its_internal_ip_and_kubelet_port() {
    let cfg = NodeConfig {
        internal_ip: "10.0.0.5".into(),
        ..Default::default()
    };
    let a = addresses(&cfg);
    assert_eq!(
        a.iter()
            .map(|a| (a.type_.as_str(), a.address.as_str()))
            .collect::<Vec<_>>(),
        [("InternalIP", "10.0.0.5")]
    );
    assert!(addresses(&NodeConfig::default()).is_empty());
    let port = daemon_endpoints(&cfg).kubelet_endpoint.map(|e| e.port);
    assert_eq!(port, Some(10250));
    assert_eq!(OPERATING_SYSTEM, "linux");
}

#[test]
fn exactly_95_percent_of_the_memory_limit_is_not_pressure() {
    let with = |usage, limit| VchCapacity {
        memory_usage_mb: usage,
        memory_mb: limit,
        ..vch()
    };
    assert!(!memory_pressure(&with(950, 1000)));
    assert!(memory_pressure(&with(951, 1000)));
    // No limit figure (0, or vSphere's -1): no pressure, however much is in use.
    assert!(!memory_pressure(&with(10, 0)));
    assert!(!memory_pressure(&with(10, -1)));
}

#[test]
fn the_figures_are_what_capacity_and_conditions_write() {
    for (cfg, usage_mb) in [
        (NodeConfig::default(), 400_000),
        (
            NodeConfig {
                cpu_rule: CpuRule::Mhz1000,
                max_pods: 7,
                ..Default::default()
            },
            780_000,
        ),
    ] {
        let v = VchCapacity {
            memory_usage_mb: usage_mb,
            ..vch()
        };
        let f = figures(&v, &cfg);
        let c = capacity(&v, &cfg);
        assert_eq!(q(&c, "cpu"), f.cpu_cores.to_string());
        assert_eq!(q(&c, "memory"), format!("{}Ki", f.memory_bytes / 1024));
        assert_eq!(q(&c, "pods"), f.pods.to_string());
        let pressure = status_of(&conditions(&v, None, &cfg), "MemoryPressure").0 == "True";
        assert_eq!(pressure, f.memory_pressure);
    }
    let busy = figures(
        &VchCapacity {
            memory_usage_mb: 780_000,
            ..vch()
        },
        &NodeConfig::default(),
    );
    assert_eq!((busy.cpu_cores, busy.memory_pressure), (48, true));
}
