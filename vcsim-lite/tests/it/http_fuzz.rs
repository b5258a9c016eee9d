//! Random requests against both routers: every answer is a response (no panic), errors carry a
//! JSON message, and the world's invariants hold afterwards. The seed is proptest's
//! (`PROPTEST_RNG_SEED` replays; failures print the shrunk request list).

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::{PortLayer, VchConfig};
use vcsim_lite::vsphere::{LatencyProfile, WorldBuilder};

const PATHS: &[&str] = &[
    "/_ping",
    "/vch/info",
    "/kv/{x}",
    "/storage",
    "/storage/{x}",
    "/storage/{x}/info/{x}",
    "/storage/{x}/usage",
    "/storage/volumes",
    "/storage/volumes/{x}",
    "/storage/volumestores",
    "/scopes",
    "/scopes/{x}",
    "/scopes/{x}/containers",
    "/scopes/{x}/containers/{x}",
    "/scopes/containers/{x}",
    "/scopes/containers/{x}/binding",
    "/containers",
    "/containers/{x}",
    "/containers/{x}/state",
    "/containers/{x}/name?name={x}",
    "/containers/info/{x}",
    "/containers/list?all={x}",
    "/containers/{x}/signal?signal={x}",
    "/containers/{x}/wait?timeout=0",
    "/tasks",
    "/tasks/binding",
    "/tasks/wait",
    "/interaction",
    "/logging",
    "/v1.25/info",
    "/v9.99/version",
    "/images/create?fromImage={x}",
    "/images/json",
    "/containers/json?all={x}",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("default".to_string()),
        Just("bridge".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("%00%ff".to_string()),
        "[a-f0-9]{0,64}",
        "[ -~]{0,12}".prop_map(|s| s.replace(['/', '?', '#', ' ', '%'], "x")),
    ]
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("{".to_string()),
        Just("null".to_string()),
        Just("\"RUNNING\"".to_string()),
        Just(r#"{"name":"n","scopeType":"bridge","subnet":"10.0.0.0/33"}"#.to_string()),
        Just(r#"{"handle":"x","id":"y","path":"/bin/sh"}"#.to_string()),
        Just(r#"{"numCPUs":4294967297,"memoryMB":-5}"#.to_string()),
        Just(r#"{"Name":"v","Driver":"vsphere","Store":"default","Capacity":-7}"#.to_string()),
        "[ -~]{0,40}",
    ]
}

fn request() -> impl Strategy<Value = (String, String, String, bool)> {
    let method = prop_oneof![
        Just("GET"),
        Just("POST"),
        Just("PUT"),
        Just("DELETE"),
        Just("PATCH"),
        Just("HEAD")
    ];
    (
        method,
        prop::sample::select(PATHS),
        prop::collection::vec(piece(), 3),
        body(),
        any::<bool>(),
    )
        .prop_map(|(m, p, xs, b, docker)| {
            let mut path = p.to_string();
            for x in xs {
                path = path.replacen("{x}", &x, 1);
            }
            (m.to_string(), path.replace("{x}", "x"), b, docker)
        })
}

fn routers() -> (Router, Router, Shared) {
    let mut world = WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("world");
    let portlayer = PortLayer::create(&mut world, VchConfig::new("fuzz")).expect("vch");
    let shared = Shared::new(
        Stack {
            world,
            portlayer,
            persona: Persona::new(Catalogue::builtin()),
        },
        0,
    );
    (
        vcsim_lite::http::portlayer::router(shared.clone()),
        vcsim_lite::http::docker::router(shared.clone()),
        shared,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64)
    ))]

    #[test]
    fn random_requests_get_answers_and_keep_the_world_consistent(reqs in prop::collection::vec(request(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (pl, docker, shared) = routers();
        rt.block_on(async {
            for (method, path, body, to_docker) in &reqs {
                let Ok(req) = Request::builder().method(method.as_str()).uri(path.as_str()).body(Body::from(body.clone())) else {
                    continue; // not a valid HTTP request line; hyper would refuse it before us
                };
                let app = if *to_docker { docker.clone() } else { pl.clone() };
                let res = app.oneshot(req).await.expect("infallible service");
                let status = res.status().as_u16();
                let bytes = res.into_body().collect().await.expect("body").to_bytes();
                prop_assert!(status != 500 || !bytes.is_empty(), "{method} {path}: empty 500");
                if status >= 400 && method != "HEAD" && !bytes.is_empty() {
                    let v: serde_json::Value = serde_json::from_slice(&bytes)
                        .map_err(|e| TestCaseError::fail(format!("{method} {path} -> {status}: body is not JSON ({e}): {}", String::from_utf8_lossy(&bytes))))?;
                    prop_assert!(v["message"].is_string(), "{method} {path} -> {status}: no message in {v}");
                }
            }
            Ok(())
        })?;
        let st = shared.lock();
        prop_assert!(st.world.check_invariants().is_ok(), "{:?}", st.world.check_invariants());
    }
}
