//! Port Layer routes for containers, tasks and events, in the persona's call order, over
//! `oneshot` and a real socket.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vcsim_lite::vsphere::PowerState;

use super::*;

/// The persona's create, start, stop and rm over the router, checking the world after each.
#[tokio::test]
async fn persona_call_order_over_the_router() {
    let (app, shared) = app();
    let (store, layer, image) = pull(&shared);
    let (s, created) = call(
        &app,
        "POST",
        "/containers",
        Some(json!({"name": "web", "numCPUs": 1, "memoryMB": 512})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (id, h) = (
        created["id"].as_str().unwrap().to_string(),
        created["handle"].as_str().unwrap().to_string(),
    );
    assert_eq!((id.len(), h.len()), (64, 32));
    let join = json!({"handle": h, "deltaID": id, "imageID": image, "repoName": "busybox:latest"});
    let h = value(
        &app,
        "POST",
        &format!("/storage/{store}/info/{layer}"),
        Some(join),
    )
    .await["handle"]
        .as_str()
        .unwrap()
        .to_string();
    let t = value(
        &app,
        "POST",
        "/tasks",
        Some(json!({"handle": h, "id": id, "path": "/bin/top", "attach": true})),
    )
    .await;
    let h = t["handle"].as_str().unwrap().to_string();
    let h = value(
        &app,
        "POST",
        "/tasks/binding",
        Some(json!({"handle": h, "id": id})),
    )
    .await["handle"]
        .as_str()
        .unwrap()
        .to_string();
    let net = json!({"handle": h, "networkConfig": {"networkName": "default"}});
    let h = handle_of(&value(&app, "POST", "/scopes/default/containers", Some(net)).await);
    let h =
        handle_of(&value(&app, "POST", "/interaction", Some(json!({"handle": h}))).await["handle"]);
    let h = handle_of(&value(&app, "POST", "/logging", Some(json!({"handle": h}))).await["handle"]);
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}?wait_time=-1"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}"), None).await,
        StatusCode::NOT_FOUND,
        "a committed handle is closed"
    );
    let info = value(&app, "GET", &format!("/containers/info/{id}"), None).await;
    assert_eq!(info["containerConfig"]["state"], "Created");
    assert_eq!(info["containerConfig"]["repoName"], "busybox:latest");

    // start
    let h = handle_of(&value(&app, "GET", &format!("/containers/{id}"), None).await);
    let (s, bound) = call(
        &app,
        "POST",
        &format!("/scopes/containers/{h}/binding"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(bound["endpoints"][0]["address"], "172.16.0.2/16");
    let h = handle_of(
        &value(
            &app,
            "PUT",
            &format!("/containers/{h}/state"),
            Some(json!("RUNNING")),
        )
        .await,
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}"), None).await,
        StatusCode::OK
    );
    let info = value(&app, "GET", &format!("/containers/info/{id}"), None).await;
    assert_eq!(info["containerConfig"]["state"], "Running");
    assert_eq!(info["processConfig"]["status"], "true");
    {
        let st = shared.lock();
        let vm = vcsim_lite::vsphere::VmId::parse(info["containerConfig"]["vm"].as_str().unwrap())
            .unwrap();
        assert_eq!(st.world.vm(vm).unwrap().power_state, PowerState::PoweredOn);
        st.world.check_invariants().unwrap();
    }
    assert_eq!(
        value(&app, "GET", "/containers/list", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        status(&app, "DELETE", &format!("/containers/{id}"), None).await,
        StatusCode::CONFLICT
    );

    // stop
    let h = handle_of(&value(&app, "GET", &format!("/containers/{id}"), None).await);
    let h = handle_of(
        &value(
            &app,
            "PUT",
            &format!("/containers/{h}/state"),
            Some(json!("STOPPED")),
        )
        .await,
    );
    assert_eq!(
        value(&app, "GET", &format!("/containers/{h}/state"), None).await["state"],
        "Running"
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}?wait_time=5"), None).await,
        StatusCode::OK
    );
    assert!(
        value(&app, "GET", "/containers/list", None)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        value(
            &app,
            "GET",
            &format!("/containers/{id}/wait?timeout=1"),
            None
        )
        .await["containerConfig"]["state"],
        "Stopped"
    );

    // rm
    let h = handle_of(&value(&app, "GET", &format!("/containers/{id}"), None).await);
    assert_eq!(
        status(
            &app,
            "DELETE",
            &format!("/scopes/containers/{h}/binding"),
            None
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "DELETE", &format!("/containers/{id}"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "GET", &format!("/containers/info/{id}"), None).await,
        StatusCode::NOT_FOUND
    );
    let st = shared.lock();
    st.world.check_invariants().unwrap();
    assert_eq!(st.portlayer.scopes().allocated_count(), 0);
    let events: Vec<&str> = st.portlayer.events().iter().map(|e| e.event).collect();
    assert_eq!(events, ["Created", "Started", "Stopped", "Removed"]);
}

#[tokio::test]
async fn task_routes_and_error_codes() {
    let (app, _) = app();
    let created = value(&app, "POST", "/containers?name=t", Some(json!({}))).await;
    let (id, h) = (
        created["id"].as_str().unwrap().to_string(),
        created["handle"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        status(
            &app,
            "POST",
            "/tasks",
            Some(json!({"handle": h, "path": ""}))
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    let h = value(
        &app,
        "POST",
        "/tasks",
        Some(json!({"handle": h, "path": "/bin/sh"})),
    )
    .await["handle"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        status(
            &app,
            "POST",
            "/tasks",
            Some(json!({"handle": h, "path": "/bin/sh"}))
        )
        .await,
        StatusCode::CONFLICT
    );
    let (s, t) = call(&app, "GET", &format!("/tasks?handle={h}&id={id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["state"], "created");
    assert_eq!(
        status(
            &app,
            "GET",
            &format!("/tasks/wait?handle={h}&id={id}"),
            None
        )
        .await,
        StatusCode::PRECONDITION_REQUIRED
    );
    assert_eq!(
        status(
            &app,
            "POST",
            "/tasks/binding",
            Some(json!({"handle": h, "id": "nope"}))
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(
            &app,
            "PUT",
            &format!("/containers/{h}/state"),
            Some(json!("FLYING"))
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}?wait_time=x"), None).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status(
            &app,
            "POST",
            &format!("/containers/{id}/signal?signal=9"),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&app, "GET", &format!("/containers/{id}/logs"), None).await,
        StatusCode::NOT_IMPLEMENTED
    );
    assert_eq!(
        status(
            &app,
            "POST",
            "/interaction",
            Some(json!({"handle": "nope"}))
        )
        .await,
        StatusCode::NOT_FOUND
    );
}

/// The same persona sequence against `serve` on a real socket, with a minimal HTTP client.
#[test]
fn serve_answers_over_a_real_socket() {
    use std::io::{Read, Write};
    let (addr, _) = crate::support::serve(stack());
    let request = |method: &str, path: &str, body: &str| -> (u16, String) {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("write");
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        let status = out
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (
            status,
            out.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
        )
    };
    assert_eq!(request("GET", "/_ping", ""), (200, "OK".into()));
    let (s, body) = request("POST", "/containers", r#"{"name":"net"}"#);
    assert_eq!(s, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let h = v["handle"].as_str().unwrap();
    let (s, _) = request("PUT", &format!("/containers/{h}"), "");
    assert_eq!(s, 200);
    let (s, body) = request("GET", "/containers/list?all=true", "");
    assert_eq!(s, 200);
    assert!(body.contains("\"Created\""), "{body}");
}

#[tokio::test]
async fn events_stream_republishes_container_events_as_json_lines() {
    let (app, shared) = app();
    let req = Request::builder()
        .uri("/events")
        .body(Body::empty())
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    let created = value(&app, "POST", "/containers", Some(json!({"name": "ev"}))).await;
    let (id, h) = (
        created["id"].as_str().unwrap().to_string(),
        created["handle"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}"), None).await,
        StatusCode::OK
    );
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .expect("an event within 5 s")
        .expect("a frame")
        .expect("no error");
    let data = frame.into_data().expect("data frame");
    let line: Value =
        serde_json::from_slice(data.split(|b| *b == b'\n').next().unwrap()).expect("json line");
    assert_eq!(line["Type"], "events.ContainerEvent");
    assert_eq!(line["Event"], "Created");
    assert_eq!(line["Ref"], id.as_str());
    assert_eq!(shared.lock().portlayer.events().len(), 1);
}

#[tokio::test]
async fn remaining_handle_routes_rename_unbind_and_remove() {
    let (app, _) = app();
    let created = value(&app, "POST", "/containers", Some(json!({"name": "r"}))).await;
    let (id, h) = (
        created["id"].as_str().unwrap().to_string(),
        created["handle"].as_str().unwrap().to_string(),
    );
    let (s, v) = call(
        &app,
        "PATCH",
        &format!("/containers/{h}/name?name=renamed"),
        None,
    )
    .await;
    assert_eq!((s, v.as_str()), (StatusCode::OK, Some(h.as_str())));
    assert_eq!(
        status(&app, "PATCH", &format!("/containers/{h}/name"), None).await,
        StatusCode::BAD_REQUEST
    );
    let t = value(
        &app,
        "POST",
        "/tasks",
        Some(json!({"handle": h, "path": "/bin/sh"})),
    )
    .await;
    assert_eq!(t["id"], id.as_str());
    let hid = json!({"handle": h, "id": id});
    assert_eq!(
        status(&app, "POST", "/tasks/binding", Some(hid.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "DELETE", "/tasks/binding", Some(hid.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "DELETE", "/tasks", Some(hid.clone())).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "DELETE", "/tasks", Some(hid)).await,
        StatusCode::NOT_FOUND
    );
    for path in ["/interaction/binding", "/logging/binding"] {
        assert_eq!(
            status(&app, "POST", path, Some(json!({"handle": h}))).await,
            StatusCode::OK
        );
        assert_eq!(
            status(&app, "DELETE", path, Some(json!({"handle": h}))).await,
            StatusCode::OK
        );
        assert_eq!(
            status(&app, "POST", path, Some(json!({"handle": "nope"}))).await,
            StatusCode::NOT_FOUND
        );
    }
    let net = json!({"handle": h, "networkConfig": {"networkName": "default"}});
    assert_eq!(
        status(
            &app,
            "POST",
            "/scopes/default/containers",
            Some(net.clone())
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "POST", "/scopes/default/containers", Some(net)).await,
        StatusCode::CONFLICT
    );
    let eps = |v: Value| v.as_array().map_or(0, Vec::len);
    assert_eq!(
        eps(value(&app, "GET", &format!("/scopes/containers/{h}"), None).await),
        0,
        "the scope learns of it at commit"
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        eps(value(&app, "GET", &format!("/scopes/containers/{id}"), None).await),
        1
    );
    let h = handle_of(&value(&app, "GET", &format!("/containers/{id}"), None).await);
    let removal = format!("/scopes/default/containers/{h}");
    assert_eq!(status(&app, "DELETE", &removal, None).await, StatusCode::OK);
    assert_eq!(
        status(&app, "DELETE", &removal, None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&app, "PUT", &format!("/containers/{h}"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        eps(value(&app, "GET", &format!("/scopes/containers/{id}"), None).await),
        0
    );
    let info = value(&app, "GET", &format!("/containers/info/{id}"), None).await;
    assert_eq!(info["containerConfig"]["names"][0], "renamed");
}
