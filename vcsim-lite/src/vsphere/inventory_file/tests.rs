use super::*;
use crate::vsphere::spec::{AllocationSpec, Shares};

const EXAMPLE: &str = include_str!("../../../inventories/example.toml");
const DEFAULT: &str = include_str!("../../../inventories/default.toml");

/// A valid lab small enough to count lines in; error tests replace one line or append tables,
/// so the expected line numbers can be read off this listing.
const LAB: &str = r#"[[datacenter]]
name = "DC0"

[[datacenter.cluster]]
name = "C0"

[[datacenter.cluster.host]]
name = "H{n}"
sockets = 2
cores_per_socket = 8
mhz_per_core = 2400
memory_gib = 64
count = 2

[[datacenter.cluster.pool]]
path = "web"
cpu_limit_mhz = 10000

[[datacenter.host]]
name = "E0"
sockets = 1
cores_per_socket = 4
mhz_per_core = 2000
memory_gib = 32

[[datacenter.datastore]]
name = "shared"
capacity_gib = 1024

[[datacenter.datastore]]
name = "local"
capacity_gib = 100
hosts = ["E0"]

[[datacenter.network]]
name = "VM Network"

[[datacenter.vm]]
name = "web-{n}"
count = 3
pool = "C0/web"
datastore = "shared"
memory_mib = 2048
"#;

/// The first line of text appended to [`LAB`].
const APPENDED: usize = 44;

fn parse(text: &str) -> Result<InventorySpec, InventoryFileError> {
    parse_inventory(text, "lab.toml")
}

/// [`LAB`] with its 1-based line `n` replaced.
fn replaced(n: usize, with: &str) -> String {
    let mut lines: Vec<&str> = LAB.lines().collect();
    lines[n - 1] = with;
    lines.join("\n") + "\n"
}

fn appended(extra: &str) -> String {
    format!("{LAB}{extra}")
}

#[track_caller]
fn assert_error(text: &str, line: usize, key: &str, fragment: &str) {
    let err = match parse(text) {
        Ok(_) => panic!("expected an error at line {line}, key {key}"),
        Err(err) => err,
    };
    let shown = err.to_string();
    assert_eq!((err.line(), err.key()), (Some(line), key), "{shown}");
    assert!(err.message().contains(fragment), "{shown}");
    assert_eq!(err.file(), "lab.toml");
    assert_eq!(shown, format!("lab.toml:{line}: {key}: {}", err.message()));
}

#[test]
fn the_lab_fixture_is_valid_and_ends_where_the_tests_expect() {
    assert_eq!(LAB.lines().count(), APPENDED - 1);
    let spec = parse(LAB).expect("valid");
    let dc = &spec.datacenters[0];
    let names: Vec<&str> = dc.clusters[0]
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(names, ["H0", "H1"]);
}

#[test]
fn the_default_file_is_exactly_the_built_in_inventory() {
    let spec = parse_inventory(DEFAULT, "default.toml").expect("default.toml parses");
    assert_eq!(spec, InventorySpec::default_vcenter());
}

#[test]
fn the_example_file_expands_hosts_and_nests_pools() {
    let spec = parse_inventory(EXAMPLE, "example.toml").expect("example.toml parses");
    let [dc] = spec.datacenters.as_slice() else {
        panic!("one datacenter")
    };
    assert_eq!(dc.name, "Lab");
    let [prod, dev] = dc.clusters.as_slice() else {
        panic!("two clusters")
    };
    assert!(prod.drs);
    assert!(!dev.drs);
    let prod_hosts: Vec<&str> = prod.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        prod_hosts,
        [
            "esx-prod-0.lab.local",
            "esx-prod-1.lab.local",
            "esx-prod-2.lab.local",
            "esx-prod-3.lab.local"
        ]
    );
    assert_eq!(prod.hosts[1].memory_mib, 384 * 1024);
    assert_eq!(prod.hosts[1].overhead_mib, 4096);
    assert_eq!(
        (prod.hosts[1].sockets, prod.hosts[1].cores_per_socket),
        (2, 12)
    );
    assert!(!prod.hosts[2].maintenance);
    assert!(prod.hosts[3].maintenance);
    assert_eq!(prod.hosts[3].overhead_mib, 2048);
    let dev_hosts: Vec<&str> = dev.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(dev_hosts, ["esx-dev-0", "esx-dev-1"]);
    assert_eq!(dc.standalone_hosts[0].name, "esx-edge.lab.local");
    assert!(dc.standalone_hosts[0].connected);

    let [web, batch] = prod.pools.as_slice() else {
        panic!("two top-level pools in prod")
    };
    assert_eq!((web.name.as_str(), batch.name.as_str()), ("web", "batch"));
    assert_eq!(web.cpu.reservation, 8000);
    assert_eq!(web.cpu.limit, Some(40000));
    assert_eq!(web.cpu.shares, Shares::High);
    assert_eq!(web.memory.reservation, 65536);
    assert_eq!(web.memory.limit, None);
    let children: Vec<&str> = web.children.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(children, ["frontend", "backend"]);
    assert_eq!(web.children[0].cpu.shares, Shares::Custom(4000));
    assert_eq!(web.children[0].memory, AllocationSpec::DEFAULT);
    assert_eq!(web.children[1].memory.limit, Some(131072));
    assert!(!web.children[1].memory.expandable);
    assert_eq!(batch.cpu.limit, Some(10000));
    assert_eq!(batch.memory.shares, Shares::Low);
    assert_eq!(dev.pools[0].memory.limit, Some(65536));

    let datastores: Vec<(&str, u64, usize)> = dc
        .datastores
        .iter()
        .map(|d| (d.name.as_str(), d.capacity_mib, d.hosts.len()))
        .collect();
    assert_eq!(
        datastores,
        [
            ("vsan-prod", 8192 * 1024, 4),
            ("nfs-shared", 4096 * 1024, 0),
            ("edge-local", 500 * 1024, 1)
        ]
    );
    assert_eq!(dc.networks.len(), 2);

    let web_vms = &dc.vms[0];
    assert_eq!(
        (web_vms.name.as_str(), web_vms.count, web_vms.pool.as_str()),
        ("web-{n}", 6, "prod/web/frontend")
    );
    assert_eq!(
        (web_vms.disk_mib, web_vms.thin, web_vms.power_on),
        (40 * 1024, true, true)
    );
    assert!(!dc.vms[1].thin);
    let template = &dc.vms[3];
    assert_eq!(template.name, "template-ubuntu");
    assert_eq!(
        (template.count, template.vcpus, template.memory_mib),
        (1, 1, 1024)
    );
    assert_eq!(
        (template.disk_mib, template.thin, template.power_on),
        (0, true, false)
    );
    assert_eq!(template.guest_id, "otherGuest64");
    assert_eq!(dc.vms[4].pool, "esx-edge.lab.local");
}

#[test]
fn files_are_loaded_from_disk_and_an_unreadable_one_is_named() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories");
    let spec = load_inventory(&dir.join("default.toml")).expect("loads");
    assert_eq!(spec, InventorySpec::default_vcenter());

    let missing = dir.join("no-such-inventory.toml");
    let err = load_inventory(&missing).expect_err("missing file");
    assert_eq!(err.line(), None);
    assert_eq!(err.file(), missing.display().to_string());
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read", missing.display()))
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_syntax_error_names_its_line_and_the_key_on_it() {
    assert_error(
        &replaced(11, "mhz_per_core = 24 00"),
        11,
        "datacenter[0].cluster[0].host[0].mhz_per_core",
        "",
    );
    assert_error(
        &replaced(30, "[[datacenter.datastore]"),
        30,
        "datacenter[0].datastore[1]",
        "",
    );
}

#[test]
fn an_unknown_key_is_named_with_its_full_path() {
    assert_error(
        &replaced(9, "socket = 2"),
        9,
        "datacenter[0].cluster[0].host[0].socket",
        "unknown field `socket`",
    );
    assert_error(
        &appended("colour = \"blue\"\n"),
        APPENDED,
        "datacenter[0].vm[0].colour",
        "unknown field `colour`",
    );
}

#[test]
fn a_missing_key_points_at_its_table_and_names_the_key() {
    assert_error(
        &replaced(27, ""),
        26,
        "datacenter[0].datastore[0]",
        "missing field `name`",
    );
    assert_error(
        &replaced(9, ""),
        7,
        "datacenter[0].cluster[0].host[0]",
        "missing field `sockets`",
    );
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    assert_error(
        &replaced(10, "cores_per_socket = \"eight\""),
        10,
        "datacenter[0].cluster[0].host[0].cores_per_socket",
        "invalid type: string",
    );
    assert_error(
        &replaced(13, "count = -1"),
        13,
        "datacenter[0].cluster[0].host[0].count",
        "invalid value: integer `-1`",
    );
    assert_error(
        &replaced(28, "capacity_gib = 9e18"),
        28,
        "datacenter[0].datastore[0].capacity_gib",
        "invalid type: floating point",
    );
}

#[test]
fn an_inventory_without_a_datacenter_is_refused() {
    assert_error("", 1, "datacenter", "no datacenter");
    assert_error(
        "# nothing yet\n\ndatacenter = []\n",
        3,
        "datacenter",
        "no datacenter",
    );
}

#[test]
fn zero_cpu_or_memory_is_refused() {
    for (line, key) in [
        (9, "sockets"),
        (10, "cores_per_socket"),
        (11, "mhz_per_core"),
        (12, "memory_gib"),
    ] {
        let key_path = format!("datacenter[0].cluster[0].host[0].{key}");
        assert_error(
            &replaced(line, &format!("{key} = 0")),
            line,
            &key_path,
            "at least 1",
        );
    }
}

#[test]
fn overhead_must_leave_memory_for_vms() {
    assert_error(
        &replaced(14, "overhead_mib = 65536"),
        14,
        "datacenter[0].cluster[0].host[0].overhead_mib",
        "leaves no memory",
    );
    assert_error(
        &replaced(24, "memory_gib = 2"),
        24,
        "datacenter[0].host[0].memory_gib",
        "2 GiB leaves no memory for VMs after the default hypervisor overhead",
    );
}

#[test]
fn sizes_that_overflow_mib_are_refused() {
    assert_error(
        &replaced(28, "capacity_gib = 9000000000000000000"),
        28,
        "datacenter[0].datastore[0].capacity_gib",
        "more than 1 EiB",
    );
    assert_error(
        &appended("disk_gib = 18446744073709551615\n"),
        APPENDED,
        "datacenter[0].vm[0].disk_gib",
        "more than",
    );
}

#[test]
fn absurd_sizes_are_refused() {
    let host = "datacenter[0].cluster[0].host[0]";
    assert_error(
        &replaced(12, "memory_gib = 65537"),
        12,
        &format!("{host}.memory_gib"),
        "64 TiB",
    );
    assert_error(
        &replaced(10, "cores_per_socket = 1000"),
        10,
        &format!("{host}.cores_per_socket"),
        "2000 cores",
    );
    assert_error(
        &replaced(11, "mhz_per_core = 10001"),
        11,
        &format!("{host}.mhz_per_core"),
        "10000 MHz",
    );
    assert_error(
        &replaced(28, "capacity_gib = 1073741825"),
        28,
        "datacenter[0].datastore[0].capacity_gib",
        "1 EiB",
    );
    assert_error(
        &appended("vcpus = 769\n"),
        APPENDED,
        "datacenter[0].vm[0].vcpus",
        "768",
    );
    assert_error(
        &replaced(43, "memory_mib = 25165828"),
        43,
        "datacenter[0].vm[0].memory_mib",
        "24 TiB",
    );
    assert_error(
        &replaced(43, "memory_mib = 1022"),
        43,
        "datacenter[0].vm[0].memory_mib",
        "multiple of 4",
    );
}

#[test]
fn a_count_of_zero_or_beyond_vcenter_is_refused() {
    assert_error(
        &replaced(13, "count = 0"),
        13,
        "datacenter[0].cluster[0].host[0].count",
        "at least 1",
    );
    assert_error(
        &replaced(40, "count = 0"),
        40,
        "datacenter[0].vm[0].count",
        "at least 1",
    );
    assert_error(
        &replaced(13, "count = 4000000000"),
        13,
        "datacenter[0].cluster[0].host[0].count",
        "at most 2500",
    );
    assert_error(
        &replaced(40, "count = 4000000000"),
        40,
        "datacenter[0].vm[0].count",
        "at most 45000",
    );
}

#[test]
fn a_limit_below_minus_one_is_refused() {
    assert_error(
        &replaced(17, "cpu_limit_mhz = -2"),
        17,
        "datacenter[0].cluster[0].pool[0].cpu_limit_mhz",
        "not -1 (unlimited) or at least 0",
    );
}

#[test]
fn a_reservation_above_the_limit_is_refused() {
    assert_error(
        &replaced(18, "cpu_reservation_mhz = 20000"),
        18,
        "datacenter[0].cluster[0].pool[0].cpu_reservation_mhz",
        "more than the limit 10000",
    );
    let unlimited = parse(
        &replaced(18, "cpu_reservation_mhz = 20000")
            .replace("cpu_limit_mhz = 10000", "cpu_limit_mhz = -1"),
    )
    .expect("-1 is unlimited");
    assert_eq!(
        unlimited.datacenters[0].clusters[0].pools[0].cpu.limit,
        None
    );
}

#[test]
fn zero_or_unknown_shares_are_refused() {
    let pool = "datacenter[0].cluster[0].pool[0]";
    assert_error(
        &replaced(18, "cpu_shares = 0"),
        18,
        &format!("{pool}.cpu_shares"),
        "invalid value: integer `0`",
    );
    assert_error(
        &replaced(18, "memory_shares = \"medium\""),
        18,
        &format!("{pool}.memory_shares"),
        "invalid value: string \"medium\"",
    );
}

#[test]
fn duplicate_names_are_refused_where_vsphere_wants_them_unique() {
    assert_error(
        &replaced(20, "name = \"H1\""),
        20,
        "datacenter[0].host[0].name",
        "duplicate host name `H1`: already defined at datacenter[0].cluster[0].host[0].name",
    );
    assert_error(
        &replaced(20, "name = \"C0\""),
        20,
        "datacenter[0].host[0].name",
        "duplicate cluster or standalone host name `C0`",
    );
    assert_error(
        &appended("[[datacenter.cluster]]\nname = \"C0\"\n"),
        APPENDED + 1,
        "datacenter[0].cluster[1].name",
        "duplicate cluster or standalone host name `C0`",
    );
    assert_error(
        &replaced(31, "name = \"shared\""),
        31,
        "datacenter[0].datastore[1].name",
        "duplicate datastore name `shared`",
    );
    assert_error(
        &appended("[[datacenter.network]]\nname = \"VM Network\"\n"),
        APPENDED + 1,
        "datacenter[0].network[1].name",
        "duplicate network name",
    );
    assert_error(
        &appended("[[datacenter.cluster.pool]]\npath = \"web\"\n"),
        APPENDED + 1,
        "datacenter[0].cluster[0].pool[1].path",
        "duplicate pool `web`",
    );
    let second_group =
        "[[datacenter.vm]]\nname = \"web-{n}\"\npool = \"C0\"\ndatastore = \"shared\"\n";
    assert_error(
        &appended(second_group),
        APPENDED + 1,
        "datacenter[0].vm[1].name",
        "duplicate VM name `web-0` (from `web-{n}`)",
    );
    assert_error(
        &appended("[[datacenter]]\nname = \"DC0\"\n"),
        APPENDED + 1,
        "datacenter[1].name",
        "duplicate datacenter name `DC0`",
    );
}

#[test]
fn pool_paths_need_listed_parents_and_non_empty_segments() {
    assert_error(
        &appended("[[datacenter.cluster.pool]]\npath = \"api/v1\"\n"),
        APPENDED + 1,
        "datacenter[0].cluster[0].pool[1].path",
        "parent pool `api` is not listed before it",
    );
    assert_error(
        &replaced(16, "path = \"web//x\""),
        16,
        "datacenter[0].cluster[0].pool[0].path",
        "empty segment",
    );
    let nested = parse(&appended(
        "[[datacenter.cluster.pool]]\npath = \"web/api\"\n",
    ))
    .expect("child after parent");
    let web = &nested.datacenters[0].clusters[0].pools[0];
    assert_eq!(web.children[0].name, "api");
}

#[test]
fn a_datastore_mounted_by_an_unknown_host_is_refused() {
    assert_error(
        &replaced(33, "hosts = [\"E0\", \"E1\"]"),
        33,
        "datacenter[0].datastore[1].hosts[1]",
        "unknown host `E1`",
    );
    assert_error(
        &replaced(33, "hosts = []"),
        33,
        "datacenter[0].datastore[1].hosts",
        "names no host",
    );
}

#[test]
fn a_vm_group_must_name_a_real_pool_and_a_reachable_datastore() {
    let vm = "datacenter[0].vm[0]";
    assert_error(
        &replaced(41, "pool = \"C9/web\""),
        41,
        &format!("{vm}.pool"),
        "unknown cluster or standalone host `C9`",
    );
    assert_error(
        &replaced(41, "pool = \"C0/web/api\""),
        41,
        &format!("{vm}.pool"),
        "unknown resource pool `C0/web/api`",
    );
    assert_error(
        &replaced(41, "pool = \"E0/web\""),
        41,
        &format!("{vm}.pool"),
        "unknown resource pool `E0/web`",
    );
    assert_error(
        &replaced(42, "datastore = \"nope\""),
        42,
        &format!("{vm}.datastore"),
        "unknown datastore `nope`",
    );
    assert_error(
        &replaced(42, "datastore = \"local\""),
        42,
        &format!("{vm}.datastore"),
        "datastore `local` is not mounted by any host of cluster `C0`",
    );
    let on_edge =
        parse(&replaced(41, "pool = \"E0\"").replace("\"shared\"\nmem", "\"local\"\nmem"))
            .expect("the edge host mounts its local datastore");
    assert_eq!(on_edge.datacenters[0].vms[0].datastore, "local");
}

#[test]
fn vm_groups_whose_expanded_names_collide_are_refused() {
    let group =
        "[[datacenter.vm]]\nname = \"web\"\ncount = 2\npool = \"C0\"\ndatastore = \"shared\"\n";
    assert_error(
        &appended(group),
        APPENDED + 1,
        "datacenter[0].vm[1].name",
        "duplicate VM name `web-0` (from `web`): already defined at datacenter[0].vm[0].name",
    );
    let single = "[[datacenter.vm]]\nname = \"web-2\"\npool = \"C0\"\ndatastore = \"shared\"\n";
    assert_error(
        &appended(single),
        APPENDED + 1,
        "datacenter[0].vm[1].name",
        "duplicate VM name `web-2`",
    );
}

#[test]
fn mutated_example_files_never_panic() {
    let bytes = EXAMPLE.as_bytes();
    let lines = EXAMPLE.lines().count() + 1;
    let replacements = b"=[]\"'{}.-0 \nx#,";
    for i in 0..200usize {
        let mut mutated = bytes.to_vec();
        if i % 2 == 0 {
            mutated.truncate(i * bytes.len() / 200);
        } else {
            for k in 0..=(i % 5) {
                let at = (i * 7919 + k * 104_729) % bytes.len();
                mutated[at] = replacements[(i + k) % replacements.len()];
            }
        }
        let text = String::from_utf8_lossy(&mutated);
        if let Err(err) = parse_inventory(&text, "mutated.toml") {
            let line = err.line().expect("parse errors have a line");
            assert!((1..=lines).contains(&line), "{err}");
            assert!(!err.key().is_empty(), "{err}");
            assert!(err.to_string().starts_with("mutated.toml:"), "{err}");
        }
    }
}

#[test]
fn the_example_file_builds_a_world_with_its_vms_powered_on() {
    let spec = parse_inventory(EXAMPLE, "example.toml").expect("parses");
    let world = match crate::vsphere::WorldBuilder::new().inventory(spec).build() {
        Ok(world) => world,
        Err(err) => panic!("example.toml does not build: {err}"),
    };
    let vms = world.vms().values();
    let powered_on = vms
        .filter(|vm| vm.power_state == crate::vsphere::PowerState::PoweredOn)
        .count();
    assert_eq!(
        (world.vms().len(), powered_on),
        (6 + 2 + 4 + 1 + 1, 6 + 2 + 1)
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_the_bad_line() {
    let path = std::env::temp_dir().join(format!(
        "vcsim-lite-inventory-{}-latin1.toml",
        std::process::id()
    ));
    let mut bytes = LAB.as_bytes().to_vec();
    bytes.extend_from_slice(b"guest_id = \"caf\xe9\"\n");
    std::fs::write(&path, bytes).expect("temp file");
    let err = load_inventory(&path).expect_err("not UTF-8");
    std::fs::remove_file(&path).expect("temp file removed");
    assert_eq!(
        (err.line(), err.key()),
        (Some(APPENDED), "datacenter[0].vm[0].guest_id")
    );
    assert!(err.message().contains("UTF-8"), "{err}");
}
