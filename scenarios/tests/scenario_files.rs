//! Scenario files: every file in `scenarios/files/` passes; malformed files are refused with
//! `FILE:LINE: PATH: MESSAGE` before anything runs; a wrong expectation fails the run naming the
//! step and what differed; `vcsim-lite scenario run` reports, exits and traces accordingly.

use std::path::{Path, PathBuf};
use std::process::Command;

use scenarios::scenario::{self, FileError, RunOptions};

fn files_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("files")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(files_dir())
        .expect("scenarios/files")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn parse(text: &str) -> Result<scenario::Scenario, FileError> {
    scenario::parse(text, "x.yaml", &files_dir())
}

fn parse_err(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("the file was accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn run_text(text: &str) -> scenario::RunReport {
    let sc = parse(text).unwrap_or_else(|e| panic!("{e}"));
    scenario::run(&sc, RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_scenario_file_passes() {
    let files = scenario_files();
    assert!(files.len() >= 12, "only {} scenario files", files.len());
    let mut failed = Vec::new();
    for f in &files {
        let sc = scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
        let report = scenario::run(&sc, RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        // A scenario that asserts next to nothing would pass without showing anything.
        assert!(
            report.checks() >= 10,
            "{}: {} checks",
            f.display(),
            report.checks()
        );
        if !report.passed() {
            failed.push(format!("{}{:#?}", report.render(), report.failures()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

const GOOD: &str = "\
seed: 1
vch: {name: v, cpu_limit_mhz: 4800}
steps:
  - pull: busybox:1.36
  - apply:
      apiVersion: v1
      kind: Pod
      metadata: {name: web}
      spec:
        containers:
          - name: main
            image: busybox:1.36
            resources:
              requests: {cpu: 500m, memory: 512Mi}
    expect:
      - pod: {name: web, phase: Running}
";

#[test]
fn a_well_formed_text_parses_into_its_steps() {
    let sc = parse(GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.steps.len(), 2);
    assert_eq!(sc.steps[1].line, Some(5));
    assert_eq!(sc.steps[1].action.to_string(), "apply default/web");
    assert_eq!(sc.vch.cpu_limit_mhz, Some(4800));
    assert!(run_text(GOOD).passed());
}

/// `GOOD` with `from` replaced by `to` (which must occur once).
fn good_with(from: &str, to: &str) -> String {
    assert_eq!(GOOD.matches(from).count(), 1, "{from}");
    GOOD.replace(from, to)
}

#[test]
fn a_bad_quantity_names_the_file_line_and_field() {
    let text = good_with("memory: 512Mi", "memory: 12Q");
    assert_eq!(
        parse_err(&text),
        "x.yaml:14: steps[1].apply.spec.containers[0].resources.requests.memory: \
         invalid quantity `12Q`: unknown suffix"
    );
}

#[test]
fn unknown_fields_are_refused_in_the_file_and_in_pod_manifests() {
    let text = good_with(
        "      - pod: {name: web, phase: Running}",
        "      - pod: {name: web, phaze: Running}",
    );
    let err = parse_err(&text);
    assert!(
        err.starts_with(
            "x.yaml:16: steps[1].expect[0].pod: unknown field `phaze`, expected one of"
        ),
        "{err}"
    );
    let text = good_with("            resources:", "            resorces:");
    assert_eq!(
        parse_err(&text),
        "x.yaml:13: steps[1].apply.spec.containers[0].resorces: unknown field `resorces` in \
         containers[0] (not part of a Kubernetes Pod)"
    );
    let text = good_with("seed: 1", "sed: 1");
    assert!(
        parse_err(&text).starts_with("x.yaml:1: unknown field `sed`"),
        "{}",
        parse_err(&text)
    );
}

#[test]
fn wrong_values_are_refused_where_they_are() {
    let cases = [
        (
            "  - pull: busybox:1.36",
            "  - add_fault: PowerOnVM_Task:vm/*",
            "x.yaml:4: steps[0].add_fault: fault rule `PowerOnVM_Task:vm/*`: missing `=`",
        ),
        (
            "  - pull: busybox:1.36",
            "  - advance: 5y",
            "x.yaml:4: steps[0].advance: `5y`: unknown unit `y`",
        ),
        (
            "  - pull: busybox:1.36",
            "  - commit: h",
            "x.yaml:4: steps[0].commit: handle `h` is not taken by an earlier step",
        ),
        (
            "  - pull: busybox:1.36",
            "  - pull: busybox:1.36\n    delete: web",
            "x.yaml:4: steps[0]: a step has one action; this one has delete and pull",
        ),
        (
            "  - pull: busybox:1.36",
            "  - pull: busybox:1.36\n    expect: [{events: {type: VmPoweredOn, count: 1}}]",
            "x.yaml:5: steps[0].expect[0].events.type: unknown event type `VmPoweredOn`",
        ),
        (
            "  - pull: busybox:1.36",
            "  - pull: busybox:1.36\n    expect: [{accounting: {same_as: 1}}]",
            "x.yaml:5: steps[0].expect[0].accounting.same_as: `1` is neither `setup` nor",
        ),
        (
            "metadata: {name: web}",
            "metadata: {namespace: a}",
            "x.yaml:8: steps[1].apply.metadata: a pod needs `metadata.name`",
        ),
        (
            "vch: {name: v, cpu_limit_mhz: 4800}",
            "vch: {name: v, cpu_limit_mhz: lots}",
            "x.yaml:2: vch.cpu_limit_mhz: invalid type: string \"lots\", expected u64",
        ),
        (
            "vch: {name: v, cpu_limit_mhz: 4800}",
            "vch: {name: v, cpu_limit_mhz: 4800}: 2",
            "x.yaml:2: mapping values are not allowed in this context",
        ),
    ];
    for (from, to, want) in cases {
        let err = parse_err(&good_with(from, to));
        assert!(err.starts_with(want), "got {err}\nwant {want}...");
    }
}

#[test]
fn a_file_without_steps_or_of_the_wrong_shape_is_refused() {
    assert_eq!(
        parse_err("seed: 1\nsteps: []\n"),
        "x.yaml:2: steps: a scenario needs at least one step"
    );
    assert_eq!(
        parse_err("steps:\n  - 3\n"),
        "x.yaml:2: steps[0]: invalid type: integer `3`, expected a step: a mapping with one \
         action and optional `expect`, `error`, `note`"
    );
    assert!(
        parse_err("").starts_with("x.yaml"),
        "an empty file is refused"
    );
}

#[test]
fn an_inline_inventory_error_points_into_the_toml() {
    let text = good_with(
        "seed: 1\n",
        "seed: 1\ninventory:\n  toml: |\n    [[datacenter]]\n    nme = \"DC\"\n",
    );
    let err = parse_err(&text);
    assert!(
        err.starts_with("x.yaml:5: inventory.toml: datacenter[0].nme: unknown field"),
        "{err}"
    );
}

#[test]
fn names_the_inventory_lacks_are_refused_before_any_step_runs() {
    let text = format!("{GOOD}  - enter_maintenance: no-such-host\n");
    let sc = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let err = scenario::run(&sc, RunOptions::default()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "x.yaml:17: steps[2].enter_maintenance: the inventory has no host `no-such-host`"
    );
}

#[test]
fn a_wrong_expectation_fails_the_run_naming_the_step_and_the_difference() {
    let text = good_with(
        "      - pod: {name: web, phase: Running}",
        "      - pod: {name: web, phase: Pending}\n      - pool: {path: DC0_C0/v, memory_reserved_mb: 60}",
    );
    let report = run_text(&text);
    assert!(!report.passed());
    let failures = report.failures();
    let shown: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
    // The appliance's 35 MB of overhead plus the pod VM's 23 MB.
    assert_eq!(
        shown,
        [
            "x.yaml:5: step 2 (apply default/web): pod default/web phase: expected Pending, got Running",
            "x.yaml:5: step 2 (apply default/web): pool DC0_C0/v memory_reserved_mb: expected 60, got 58",
        ]
    );
    assert!(
        report
            .render()
            .contains("FAILED  pod default/web phase: expected Pending, got Running")
    );
    assert!(report.render().contains("FAILED: 2 of "));
}

#[test]
fn a_step_that_should_fail_but_succeeds_fails_and_so_does_an_unexpected_error() {
    let text = good_with(
        "  - pull: busybox:1.36",
        "  - pull: busybox:1.36\n    error: {reason: NotFound}",
    );
    let report = run_text(&text);
    let f = &report.failures()[0];
    assert_eq!((f.step, f.check.subject.as_str()), (1, "step"));
    assert_eq!(f.check.expected, "an error");
    let text = good_with("  - pull: busybox:1.36", "  - pull: nosuch:1");
    let f = &run_text(&text).failures()[0];
    assert_eq!(f.check.expected, "success");
    assert!(
        f.check
            .actual
            .starts_with("error NotFound (404): pull access denied"),
        "{}",
        f.check.actual
    );
}

fn vcsim_lite(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vcsim-lite"))
        .args(args)
        .output()
        .expect("run vcsim-lite")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vcsim-scenario-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

#[test]
fn the_command_exits_non_zero_naming_the_file_step_and_difference() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wrong-phase.yaml");
    let out = vcsim_lite(&["scenario", "run", data.to_str().expect("path")]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("step 2 (line 14): apply default/web: created"),
        "{stdout}"
    );
    assert!(
        stderr.contains("wrong-phase.yaml:14: step 2 (apply default/web): pod default/web phase: expected Succeeded, got Running"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 1 scenario files failed"), "{stderr}");
}

#[test]
fn a_malformed_file_runs_nothing_and_writes_no_trace() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad-quantity.yaml");
    let trace = temp("bad.jsonl");
    let out = vcsim_lite(&[
        "scenario",
        "run",
        data.to_str().expect("path"),
        "--trace",
        trace.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "a report was printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "bad-quantity.yaml:12: steps[0].apply.spec.containers[0].resources.limits.cpu: invalid quantity `1.5.0`"
        ),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&trace).expect("trace"), "");
}

#[test]
fn the_trace_has_one_json_event_per_line_and_replays_identically() {
    let file = files_dir().join("08-host-maintenance-drs.yaml");
    let traces: Vec<String> = (0..2)
        .map(|i| {
            let trace = temp(&format!("drs-{i}.jsonl"));
            let out = vcsim_lite(&[
                "scenario",
                "run",
                file.to_str().expect("path"),
                "--trace",
                trace.to_str().expect("path"),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::read_to_string(&trace).expect("trace")
        })
        .collect();
    assert_eq!(traces[0], traces[1], "the same file traced twice differs");
    let sc = scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    let report = scenario::run(&sc, RunOptions { trace: true }).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(traces[0].lines().count(), report.trace.len());
    let events: Vec<serde_json::Value> = traces[0]
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let keys: Vec<u64> = events
        .iter()
        .map(|e| e["key"].as_u64().expect("key"))
        .collect();
    assert_eq!(
        keys,
        (1..=keys.len() as u64).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let migrations: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["type"] == "DrsVmMigratedEvent")
        .collect();
    assert_eq!(migrations.len(), 2);
    assert!(
        migrations
            .iter()
            .all(|e| e["step"] == 4 && e["other"]["name"] == "DC0_C0_H1")
    );
    assert!(
        events
            .iter()
            .any(|e| e["step"] == 0 && e["type"] == "ResourcePoolCreatedEvent")
    );
}
