//! The container event stream.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::*;

/// `GET /events`: an endless stream of JSON objects, one per container event from now on.
pub(super) async fn events(State(s): State<Shared>) -> Response {
    let start = s.lock().portlayer.events().len();
    let stream = futures_util::stream::unfold((s, start), |(s, mut next)| async move {
        loop {
            let batch: Vec<u8> = {
                let st = s.lock();
                let evs = st.portlayer.events();
                let mut out = Vec::new();
                for e in evs.iter().skip(next) {
                    let line = json!({
                        "Type": "events.ContainerEvent", "Event": e.event, "ID": e.id.to_string(),
                        "Detail": format!("Container {} {}", e.container, e.event), "Ref": e.container,
                        "CreatedTime": e.created.to_string(),
                    });
                    out.extend_from_slice(line.to_string().as_bytes());
                    out.push(b'\n');
                }
                next = evs.len();
                out
            };
            if !batch.is_empty() {
                return Some((
                    Ok::<_, std::convert::Infallible>(Bytes::from(batch)),
                    (s, next),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
