//! Port Layer routes for the VCH, KV, storage, volumes and scopes; malformed input.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

#[tokio::test]
async fn ping_vch_info_and_kv_round_trip() {
    let (app, _) = app();
    assert_eq!(
        call(&app, "GET", "/_ping", None).await,
        (StatusCode::OK, Value::String("OK".into()))
    );
    let (s, info) = call(&app, "GET", "/vch/info", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["cpuMhz"], 115_200);
    assert_eq!(info["hostProductName"], "VMware vCenter Server");
    assert_eq!(
        status(&app, "GET", "/kv/docker.images", None).await,
        StatusCode::NOT_FOUND
    );
    let (s, _) = call(
        &app,
        "PUT",
        "/kv/a",
        Some(json!({"Key": "a", "Value": "1"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        value(&app, "GET", "/kv/a", None).await,
        json!({"Key": "a", "Value": "1"})
    );
    assert_eq!(
        status(
            &app,
            "PUT",
            "/kv/a",
            Some(json!({"Key": "b", "Value": "1"}))
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(status(&app, "DELETE", "/kv/a", None).await, StatusCode::OK);
    assert_eq!(
        status(&app, "DELETE", "/kv/a", None).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_with_a_json_message_and_change_nothing() {
    let (app, shared) = app();
    let before = vcsim_lite::report::state_json(&shared.lock().world);
    for (method, uri) in [
        ("POST", "/containers"),
        ("POST", "/storage"),
        ("POST", "/scopes"),
        ("POST", "/tasks"),
        ("POST", "/storage/volumes"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from("{not json"))
            .expect("request");
        let res = app.clone().oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{method} {uri}");
        let body: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                .expect("json error body");
        assert!(
            body["message"].as_str().unwrap().contains("malformed JSON"),
            "{body}"
        );
    }
    let (s, _) = call(&app, "POST", "/containers", Some(json!({"numCPUs": -1}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &app,
        "POST",
        "/containers",
        Some(json!({"memoryMB": 99999999999999i64})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        status(&app, "GET", "/no/such/path", None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(vcsim_lite::report::state_json(&shared.lock().world), before);
}

#[tokio::test]
async fn storage_routes_create_write_list_and_delete_images() {
    let (app, _) = app();
    assert_eq!(
        status(&app, "POST", "/storage", Some(json!({"name": "s1"}))).await,
        StatusCode::CREATED
    );
    assert_eq!(
        status(&app, "POST", "/storage", Some(json!({"name": "s1"}))).await,
        StatusCode::CONFLICT
    );
    let body = b"layer-bytes".to_vec();
    let sum = {
        use sha2::Digest;
        format!("sha256:{:x}", sha2::Sha256::digest(&body))
    };
    let uri = format!(
        "/storage/s1?image_id=L1&parent_id=scratch&sum={sum}&metadatakey=metaData&metadataval=%7B%7D"
    );
    let req = Request::builder()
        .method("POST")
        .uri(&uri)
        .body(Body::from(body.clone()))
        .expect("request");
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::CREATED
    );
    let bad_sum = uri
        .replace(&sum, &format!("sha256:{}", "0".repeat(64)))
        .replace("L1", "L2");
    let req = Request::builder()
        .method("POST")
        .uri(&bad_sum)
        .body(Body::from(body))
        .expect("request");
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let (s, list) = call(&app, "GET", "/storage/s1", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        value(&app, "GET", "/storage/s1/info/L1", None).await["ID"],
        "L1"
    );
    assert_eq!(
        status(&app, "GET", "/storage/s1/info/nope", None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        value(&app, "GET", "/storage/s1/usage", None).await,
        json!(11)
    );
    assert_eq!(
        status(&app, "DELETE", "/storage/s1/info/scratch?keepNodes=", None).await,
        StatusCode::LOCKED
    );
    assert_eq!(
        status(&app, "DELETE", "/storage/s1/info/L1?keepNodes=", None).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn volume_and_scope_routes() {
    let (app, _) = app();
    assert_eq!(
        value(&app, "GET", "/storage/volumestores", None).await,
        json!({"Stores": ["default"]})
    );
    let v = json!({"Name": "data", "Driver": "vsphere", "Store": "default", "Capacity": 512});
    assert_eq!(
        status(&app, "POST", "/storage/volumes", Some(v.clone())).await,
        StatusCode::CREATED
    );
    assert_eq!(
        status(&app, "POST", "/storage/volumes", Some(v)).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        value(&app, "GET", "/storage/volumes/data", None).await["Name"],
        "data"
    );
    assert_eq!(
        value(&app, "GET", "/storage/volumes?filterString=da", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        status(&app, "DELETE", "/storage/volumes/data", None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "GET", "/storage/volumes/data", None).await,
        StatusCode::NOT_FOUND
    );

    let (s, scope) = call(
        &app,
        "POST",
        "/scopes",
        Some(json!({"name": "net1", "scopeType": "bridge"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(scope["subnet"], "172.17.0.0/16");
    assert_eq!(
        status(
            &app,
            "POST",
            "/scopes",
            Some(json!({"name": "net1", "scopeType": "bridge"}))
        )
        .await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        value(&app, "GET", "/scopes", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        value(&app, "GET", "/scopes/net1", None).await[0]["name"],
        "net1"
    );
    assert_eq!(
        status(&app, "DELETE", "/scopes/net1", None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, "GET", "/scopes/net1", None).await,
        StatusCode::NOT_FOUND
    );
}
