//! The Docker API router, driven in process with `oneshot` and, once, by the real Docker CLI.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vcsim_lite::http::{Shared, Stack, docker};
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::containers::CreateConfig;
use vcsim_lite::portlayer::scopes::NetworkConfig;
use vcsim_lite::portlayer::tasks::TaskJoinConfig;
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::sim::SimTime;
use vcsim_lite::vsphere::{LatencyProfile, WorldBuilder};

/// A zero-latency world with one VCH and its persona.
fn stack() -> Stack {
    let mut world = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("world");
    let portlayer = PortLayer::create(&mut world, VchConfig::new("vch-1")).expect("vch");
    Stack {
        world,
        portlayer,
        persona: Persona::new(Catalogue::builtin()),
    }
}

/// The router over `stack`, with simulated time frozen so statuses are deterministic.
fn app_with(stack: Stack) -> Router {
    docker::router(Shared::new(stack, 0))
}

fn app() -> Router {
    app_with(stack())
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

async fn call(app: &Router, method: Method, uri: &str) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Reply {
    call(app, Method::GET, uri).await
}

async fn post(app: &Router, uri: &str) -> Reply {
    call(app, Method::POST, uri).await
}

/// The persona's `docker create` through the port layer (Create -> ImageJoin -> task Join and
/// Bind -> scopes Add -> interaction and logging Join -> Commit); `start` then binds and runs it.
fn create_container(stack: &mut Stack, name: &str, image: &str, start: bool) -> String {
    let Stack {
        world: w,
        portlayer: pl,
        persona,
    } = stack;
    let pulled = persona.pull(w, pl, image).expect("pull");
    let cfg = CreateConfig {
        name: name.into(),
        num_cpus: Some(1),
        memory_mb: Some(512),
        ..Default::default()
    };
    let (id, h) = pl.create_container(w, cfg).expect("create");
    let store = Persona::store(pl);
    let (top, image_id) = (&pulled.image.top_layer, &pulled.image.image_id);
    let h = pl
        .image_join(&h, &store, top, image_id, &pulled.reference)
        .expect("image join");
    let task = TaskJoinConfig {
        path: "/bin/sh".into(),
        args: vec!["-c".into(), "sleep 1d".into()],
        attach: true,
        ..Default::default()
    };
    let (h, tid) = pl.task_join(&h, task).expect("task join");
    let h = pl.task_bind(&h, &tid).expect("task bind");
    let net = NetworkConfig {
        network_name: "default".into(),
        ..Default::default()
    };
    let h = pl.scopes_add(&h, "default", net).expect("scopes add");
    let h = pl.interaction_join(&h).expect("interaction");
    let h = pl.logging_join(&h).expect("logging");
    pl.commit(w, &h, Some(-1)).expect("create commit");
    if start {
        let h = pl.get_handle(w, &id).expect("handle");
        let (h, _) = pl.scopes_bind(&h).expect("bind");
        let h = pl.change_state(&h, "RUNNING").expect("state");
        pl.commit(w, &h, None).expect("start commit");
    }
    id
}

#[tokio::test]
async fn ping_answers_ok_with_dockerds_headers_for_get_and_head() {
    let app = app();
    for method in [Method::GET, Method::HEAD] {
        let r = call(&app, method.clone(), "/_ping").await;
        assert_eq!(r.status, StatusCode::OK, "{method}");
        assert_eq!(r.header("api-version"), "1.25");
        assert_eq!(r.header("docker-experimental"), "false");
        assert_eq!(r.header("ostype"), "linux");
        assert_eq!(
            r.header("cache-control"),
            "no-cache, no-store, must-revalidate"
        );
        assert_eq!(r.header("pragma"), "no-cache");
        assert_eq!(r.header("server"), "Docker/1.5.8 (linux)");
        let expected = if method == Method::GET { "OK" } else { "" };
        assert_eq!(r.text(), expected, "{method}");
    }
}

#[tokio::test]
async fn version_prefix_is_accepted_up_to_1_25_and_too_new_versions_are_400() {
    let app = app();
    for uri in ["/v1.25/_ping", "/v1.19/version", "/v1.24/info"] {
        assert_eq!(get(&app, uri).await.status, StatusCode::OK, "{uri}");
    }
    let r = get(&app, "/v1.47/version").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["message"],
        "client version 1.47 is too new. Maximum supported API version is 1.25"
    );
    assert_eq!(
        r.header("api-version"),
        "1.25",
        "errors carry the headers too"
    );
    let r = get(&app, "/v1.18/version").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("client version 1.18 is too old"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn version_reports_vics_build_in_dockerds_layout() {
    let v = get(&app(), "/version").await.json();
    assert_eq!(v["Version"], "1.5.8", "VIC's version without its v");
    assert_eq!(v["ApiVersion"], "1.25");
    assert_eq!(v["MinAPIVersion"], "1.19");
    assert_eq!(v["GitCommit"], "0000000");
    assert_eq!(v["KernelVersion"], "-");
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["Arch"], "amd64");
    assert_eq!(v["Platform"]["Name"], "vSphere Integrated Containers");
    let engine = &v["Components"][0];
    assert_eq!(engine["Name"], "Engine");
    assert_eq!(engine["Version"], "1.5.8");
    assert_eq!(engine["Details"]["ApiVersion"], "1.25");
}

#[tokio::test]
async fn info_reports_the_cpu_mhz_limit_as_ncpu_and_vics_system_status_rows() {
    let stack = stack();
    let vch = stack.portlayer.vch_info(&stack.world).expect("vch info");
    let app = app_with(stack);
    let i = get(&app, "/info").await.json();
    assert_eq!(i["ID"], "vSphere Integrated Containers");
    assert_eq!(i["NCPU"], vch.cpu_mhz, "VIC puts the MHz limit in NCPU");
    assert_eq!(i["MemTotal"], vch.memory_mb * 1024 * 1024);
    assert_eq!(i["Name"], "vch-1");
    assert_eq!(i["ServerVersion"], "v1.5.8-0-0000000");
    assert_eq!(
        i["Driver"],
        "vSphere Integrated Containers v1.5.8-0-0000000 Backend Engine"
    );
    assert_eq!(i["OSType"], "linux");
    assert_eq!(i["Containers"], 0);
    assert_eq!(i["Images"], 0);
    assert_eq!(i["Plugins"]["Volume"][0], "vsphere");
    assert_eq!(i["Swarm"]["LocalNodeState"], "inactive");
    let rows = i["SystemStatus"].as_array().expect("rows");
    assert_eq!(
        rows[0],
        serde_json::json!([" VCH CPU limit", format!("{} MHz", vch.cpu_mhz)])
    );
    let names: Vec<&str> = rows.iter().filter_map(|r| r[0].as_str()).collect();
    for name in [" VCH memory limit", " VMware Product", "VolumeStores"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let engine = rows.last().expect("engine row");
    assert_eq!(engine[1], "RUNNING");
}

#[tokio::test]
async fn pulling_busybox_streams_layer_lines_then_lists_it_and_a_second_pull_is_up_to_date() {
    let app = app();
    let r = post(&app, "/v1.25/images/create?fromImage=busybox&tag=latest").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), "application/json");
    let text = r.text();
    assert!(text.ends_with("\r\n"), "dockerd ends lines with CRLF");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(
        text.starts_with(r#"{"status":"Pulling from library/busybox","id":"latest"}"#),
        "dockerd's field order: {text}"
    );
    let statuses: Vec<&str> = lines.iter().filter_map(|l| l["status"].as_str()).collect();
    assert!(statuses.contains(&"Pulling fs layer"), "{statuses:?}");
    assert!(statuses.contains(&"Pull complete"), "{statuses:?}");
    let layer = lines
        .iter()
        .find(|l| l["status"] == "Pull complete")
        .expect("layer line");
    assert_eq!(layer["id"].as_str().map(str::len), Some(12));
    assert_eq!(layer["progressDetail"], serde_json::json!({}));
    assert!(statuses[statuses.len() - 2].starts_with("Digest: sha256:"));
    assert_eq!(
        statuses.last(),
        Some(&"Status: Downloaded newer image for busybox:latest")
    );

    let images = get(&app, "/images/json?all=0").await.json();
    let images = images.as_array().expect("list");
    assert_eq!(images.len(), 1);
    assert_eq!(images[0]["RepoTags"], serde_json::json!(["busybox:latest"]));
    assert!(images[0]["Id"].as_str().unwrap().starts_with("sha256:"));
    let mut reference = stack();
    let record = reference
        .persona
        .pull(&mut reference.world, &mut reference.portlayer, "busybox")
        .expect("pull")
        .image;
    let created = images[0]["Created"].as_u64().expect("Created");
    assert_eq!(
        SimTime(created * 1_000_000).to_string()[..19],
        record.created[..19],
        "Created is the RFC3339 `created` in unix seconds"
    );
    assert_eq!(images[0]["SharedSize"], -1);

    let again = post(&app, "/images/create?fromImage=busybox&tag=latest").await;
    let text = again.text();
    assert!(!text.contains("Pulling fs layer"), "{text}");
    assert!(
        text.contains("Status: Image is up to date for busybox:latest"),
        "{text}"
    );
}

#[tokio::test]
async fn pulls_mark_shared_layers_as_existing_and_a_new_tag_of_a_cached_image_lists_no_layers() {
    let app = app();
    let statuses = |r: &Reply| -> Vec<String> {
        r.text()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
            .filter_map(|l| l["status"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        post(&app, "/images/create?fromImage=nginx").await.status,
        StatusCode::OK
    );
    let redis = post(&app, "/images/create?fromImage=redis&tag=7.2").await;
    let redis = statuses(&redis);
    assert_eq!(
        redis[1], "Already exists",
        "the debian base is nginx's: {redis:?}"
    );
    assert_eq!(redis[2], "Pulling fs layer");
    assert_eq!(
        redis.last().map(String::as_str),
        Some("Status: Downloaded newer image for redis:7.2")
    );

    let r = post(&app, "/images/create?fromImage=busybox:1.36").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = post(
        &app,
        "/images/create?fromImage=docker.io/library/busybox&tag=latest",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let latest = statuses(&r);
    assert_eq!(
        latest.len(),
        3,
        "no layer lines for a cached image: {latest:?}"
    );
    assert_eq!(
        latest[2],
        "Status: Downloaded newer image for busybox:latest"
    );

    let images = get(&app, "/images/json").await.json();
    let images = images.as_array().expect("list");
    assert_eq!(images.len(), 3);
    let busybox = images
        .iter()
        .find(|i| {
            i["RepoTags"][0]
                .as_str()
                .is_some_and(|t| t.starts_with("busybox"))
        })
        .expect("busybox");
    assert_eq!(
        busybox["RepoTags"],
        serde_json::json!(["busybox:1.36", "busybox:latest"])
    );
    let created: Vec<i64> = images
        .iter()
        .map(|i| i["Created"].as_i64().expect("Created"))
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );
}

#[tokio::test]
async fn pull_errors_use_dockers_wording_and_status_codes() {
    let app = app();
    let r = post(&app, "/images/create?fromImage=nosuch&tag=latest").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "pull access denied for nosuch, repository does not exist or may require 'docker login'"})
    );
    let r = post(&app, "/images/create?fromImage=BusyBox").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["message"], "invalid reference format");
    let r = post(&app, "/images/create?tag=latest").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "fromImage is required");
    let r = post(&app, "/images/create?fromImage=busybox&fromImage=alpine").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "malformed query");
    assert!(r.json()["message"].is_string());
    assert!(get(&app, "/images/json").await.json() == serde_json::json!([]));
}

#[tokio::test]
async fn containers_json_lists_port_layer_containers_with_dockers_states_and_statuses() {
    let mut stack = stack();
    let idle = create_container(&mut stack, "idle", "busybox", false);
    let web = create_container(&mut stack, "web", "busybox", true);
    let job = create_container(&mut stack, "job", "alpine", true);
    stack
        .portlayer
        .signal(&mut stack.world, &job, 9)
        .expect("kill");
    let app = app_with(stack);

    let all = get(&app, "/containers/json?all=1").await.json();
    let all = all.as_array().expect("list");
    let ids: Vec<&str> = all.iter().filter_map(|c| c["Id"].as_str()).collect();
    assert_eq!(ids, vec![&job, &web, &idle], "newest first");
    let (j, w, i) = (&all[0], &all[1], &all[2]);
    assert_eq!(w["Names"], serde_json::json!(["/web"]));
    assert_eq!(w["State"], "running");
    assert_eq!(w["Status"], "Up Less than a second");
    assert_eq!(w["Image"], "busybox:latest");
    assert!(w["ImageID"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(w["Command"], "/bin/sh -c sleep 1d");
    assert_eq!(w["Created"], 1_704_067_200);
    assert_eq!(
        w["NetworkSettings"]["Networks"]["bridge"]["IPAddress"],
        "172.16.0.2"
    );
    assert_eq!(w["HostConfig"]["NetworkMode"], "default");
    assert_eq!(j["State"], "exited");
    assert_eq!(j["Status"], "Exited (137) Less than a second ago");
    assert_eq!(i["State"], "created");
    assert_eq!(i["Status"], "Created");

    let running = get(&app, "/containers/json").await.json();
    assert_eq!(running.as_array().map(Vec::len), Some(1), "{running}");
    assert_eq!(running[0]["Id"], web.as_str());
    assert_eq!(
        get(&app, "/containers/json?all=no").await.json(),
        running,
        "dockerd's BoolValue"
    );
}

#[tokio::test]
async fn unimplemented_docker_endpoints_are_501_in_vics_words() {
    let app = app();
    for uri in ["/containers/create", "/v1.25/build"] {
        let r = post(&app, uri).await;
        assert_eq!(r.status, StatusCode::NOT_IMPLEMENTED, "{uri}");
        let path = uri.trim_start_matches("/v1.25");
        assert_eq!(
            r.json()["message"],
            format!("vSphere Integrated Containers does not yet implement {path}")
        );
    }
}

#[tokio::test]
async fn paths_outside_the_docker_api_are_404_page_not_found() {
    let app = app();
    for (method, uri) in [
        (Method::GET, "/nope"),
        (Method::GET, "/v1.25/nope"),
        (Method::GET, "/vfoo/_ping"),
        (Method::POST, "/version"),
    ] {
        let r = call(&app, method, uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(r.json(), serde_json::json!({"message": "page not found"}));
        assert_eq!(r.header("server"), "Docker/1.5.8 (linux)");
    }
}

/// How often bounded waits poll; they count polls rather than read the wall clock (the
/// workspace keeps clocks out of code).
const POLL: Duration = Duration::from_millis(20);

/// Runs `docker` with a deadline, killing it (only it) if it overruns; returns (code, output).
fn run_docker(docker: &Path, host: &str, config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(docker)
        .arg("-H")
        .arg(host)
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env("DOCKER_CLI_HINTS", "false")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_API_VERSION")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn docker");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let mut polls_left = 60 * 50; // 60 s
    let code = loop {
        match child.try_wait().expect("wait") {
            Some(status) => break status.code(),
            None if polls_left == 0 => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("docker {args:?} did not finish in 60 s");
            }
            None => {
                polls_left -= 1;
                std::thread::sleep(POLL);
            }
        }
    };
    let text = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    (code, text)
}

fn docker_cli() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("docker"))
        .find(|p| p.is_file())
}

/// The router served on a loopback port from a background runtime, plus a `DOCKER_CONFIG`
/// directory; dropping it stops the server (bounded wait) and removes the directory, even when
/// an assertion failed first.
struct Server {
    port: u16,
    config: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(app: Router) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let shutdown = async {
                    let _ = stopped.await;
                };
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .expect("serve");
            });
        });
        let config = std::env::temp_dir().join(format!(
            "vcsim-lite-docker-cli-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&config).expect("config dir");
        Server {
            port,
            config,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            for _ in 0..500 {
                if thread.is_finished() {
                    let _ = thread.join();
                    break;
                }
                std::thread::sleep(POLL);
            }
        }
        let _ = std::fs::remove_dir_all(&self.config);
    }
}

#[test]
fn the_real_docker_cli_runs_version_info_pull_images_and_ps_against_the_router() {
    let Some(docker) = docker_cli() else {
        println!("SKIPPED: docker CLI not installed");
        return;
    };
    let mut stack = stack();
    create_container(&mut stack, "web", "alpine", true);
    let server = Server::start(app_with(stack));
    let host = format!("tcp://127.0.0.1:{}", server.port);
    let run = |args: &[&str]| {
        let (code, out) = run_docker(&docker, &host, &server.config, args);
        println!("$ docker {}\n{out}", args.join(" "));
        assert_eq!(code, Some(0), "docker {args:?} failed:\n{out}");
        out
    };
    let version = run(&["version"]);
    let info = run(&["info"]);
    let pull = run(&["pull", "busybox"]);
    let images = run(&["images"]);
    let ps = run(&["ps", "-a"]);
    drop(server);

    assert!(version.contains("1.5.8"), "{version}");
    assert!(version.contains("1.25"), "{version}");
    assert!(info.contains("vSphere Integrated Containers"), "{info}");
    assert!(info.contains("vch-1"), "{info}");
    assert!(
        pull.contains("Downloaded newer image for busybox:latest"),
        "{pull}"
    );
    assert!(
        images.contains("busybox") && images.contains("alpine"),
        "{images}"
    );
    assert!(ps.contains("web") && ps.contains("Up"), "{ps}");
}
