//! Task (session), interaction and logging routes.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::*;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskBody {
    handle: String,
    id: Option<String>,
    #[serde(default)]
    path: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    working_dir: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    attach: bool,
    #[serde(default)]
    open_stdin: bool,
    #[serde(default)]
    tty: bool,
    #[serde(default)]
    stop_signal: String,
}

pub(super) async fn task_join(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let t: TaskBody = body(&b)?;
    let cfg = TaskJoinConfig {
        id: t.id,
        path: t.path,
        args: t.args,
        env: t.env,
        working_dir: t.working_dir,
        user: t.user,
        attach: t.attach,
        open_stdin: t.open_stdin,
        tty: t.tty,
        stop_signal: t.stop_signal,
    };
    let (h, id) = s.lock().portlayer.task_join(&t.handle, cfg)?;
    ok_json(json!({"handle": h, "id": id}))
}

#[derive(Deserialize)]
pub(super) struct HandleId {
    handle: String,
    id: String,
}

/// `GET /tasks` and `/tasks/wait` carry a body in VIC's client; query parameters work too.
pub(super) fn handle_id(b: &Bytes, q: &BTreeMap<String, String>) -> ApiResult<HandleId> {
    if b.is_empty() {
        Ok(HandleId {
            handle: required(q, "handle")?.to_string(),
            id: required(q, "id")?.to_string(),
        })
    } else {
        body(b)
    }
}

pub(super) async fn task_remove(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleId = body(&b)?;
    let h = s.lock().portlayer.task_remove(&r.handle, &r.id)?;
    ok_json(json!(h))
}

pub(super) async fn task_bind(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleId = body(&b)?;
    let h = s.lock().portlayer.task_bind(&r.handle, &r.id)?;
    ok_json(json!({"handle": h}))
}

pub(super) async fn task_unbind(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleId = body(&b)?;
    let h = s.lock().portlayer.task_unbind(&r.handle, &r.id)?;
    ok_json(json!({"handle": h}))
}

pub(super) async fn task_inspect(
    State(s): State<Shared>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let r = handle_id(&b, &q)?;
    let mut st = s.lock();
    let st = &mut *st;
    let (t, state) = st.portlayer.task_inspect(&st.world, &r.handle, &r.id)?;
    ok_json(json!({
        "id": t.id, "state": state, "exitCode": t.exit_code, "tty": t.tty, "openStdin": t.open_stdin,
        "processConfig": {"execPath": t.path, "execArgs": t.args, "env": t.env, "workingDir": t.working_dir},
        "startTime": secs(t.start_time), "stopTime": secs(t.stop_time), "status": t.started,
    }))
}

pub(super) async fn task_wait(
    State(s): State<Shared>,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
    b: Bytes,
) -> ApiResult {
    let r = handle_id(&b, &q)?;
    let mut st = s.lock();
    let st = &mut *st;
    st.portlayer.task_wait(&st.world, &r.handle, &r.id)?;
    Ok(StatusCode::OK.into_response())
}

#[derive(Deserialize)]
struct HandleBody {
    handle: String,
}

pub(super) async fn interaction_join(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleBody = body(&b)?;
    let h = s.lock().portlayer.interaction_join(&r.handle)?;
    ok_json(json!({"handle": h}))
}

pub(super) async fn logging_join(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleBody = body(&b)?;
    let h = s.lock().portlayer.logging_join(&r.handle)?;
    ok_json(json!({"handle": h}))
}

/// Interaction and logging binds only flip connection state VIC keeps in the guest; the
/// handle must exist.
pub(super) async fn handle_echo(State(s): State<Shared>, b: Bytes) -> ApiResult {
    let r: HandleBody = body(&b)?;
    s.lock().portlayer.handle_container(&r.handle)?;
    ok_json(json!({"handle": r.handle}))
}
