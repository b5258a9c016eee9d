//! Sessions (the port layer's "tasks"): processes of a container. Join adds one to a handle,
//! bind marks it to run, and the guest reports it started when the VM runs.

use super::PortLayer;
use super::container::Session;
use super::error::{PortLayerError, Result};
use crate::vsphere::{PowerState, World};
use std::sync::Arc;

/// `TaskJoinConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskJoinConfig {
    /// Session id; the container's id (the primary session) when absent.
    pub id: Option<String>,
    /// Executable; required.
    pub path: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// User.
    pub user: String,
    /// Attach stdio.
    pub attach: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Allocate a TTY.
    pub tty: bool,
    /// Signal that stops it.
    pub stop_signal: String,
}

/// A session's state as `GET /tasks` reports it.
pub fn session_state(session: &Session, vm_on: bool) -> &'static str {
    match session.started.as_str() {
        "" => "created",
        "true" if vm_on && session.stop_time.is_none() => "running",
        "true" => "stopped",
        _ => "failed",
    }
}

impl PortLayer {
    /// `POST /tasks`: adds a session to the handle.
    pub fn task_join(&mut self, key: &str, cfg: TaskJoinConfig) -> Result<(String, String)> {
        if cfg.path.is_empty() {
            return Err(PortLayerError::BadRequest("a task needs a path".into()));
        }
        let mut id = String::new();
        let key = self.edit(key, |h| {
            id = cfg
                .id
                .clone()
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| h.container.clone());
            if h.spec.sessions.contains_key(&id) {
                return Err(PortLayerError::Conflict(format!(
                    "task {id} already exists"
                )));
            }
            let session = Session {
                id: id.clone(),
                path: cfg.path,
                args: cfg.args,
                env: cfg.env,
                working_dir: cfg.working_dir,
                user: cfg.user,
                tty: cfg.tty,
                attach: cfg.attach,
                open_stdin: cfg.open_stdin,
                stop_signal: cfg.stop_signal,
                active: false,
                started: String::new(),
                exit_code: 0,
                start_time: None,
                stop_time: None,
            };
            Arc::make_mut(&mut h.spec)
                .sessions
                .insert(id.clone(), session);
            h.dirty = true;
            Ok(())
        })?;
        Ok((key, id))
    }

    fn edit_session(
        &mut self,
        key: &str,
        id: &str,
        f: impl FnOnce(&mut Session),
    ) -> Result<String> {
        self.edit(key, |h| {
            let s = Arc::make_mut(&mut h.spec)
                .sessions
                .get_mut(id)
                .ok_or_else(|| PortLayerError::not_found("task", id))?;
            f(s);
            h.dirty = true;
            Ok(())
        })
    }

    /// `POST /tasks/binding`: the session will run when the container runs.
    pub fn task_bind(&mut self, key: &str, id: &str) -> Result<String> {
        self.edit_session(key, id, |s| s.active = true)
    }

    /// `DELETE /tasks/binding`.
    pub fn task_unbind(&mut self, key: &str, id: &str) -> Result<String> {
        self.edit_session(key, id, |s| s.active = false)
    }

    /// `DELETE /tasks`: removes a session from the handle.
    pub fn task_remove(&mut self, key: &str, id: &str) -> Result<String> {
        self.edit(key, |h| {
            Arc::make_mut(&mut h.spec)
                .sessions
                .remove(id)
                .ok_or_else(|| PortLayerError::not_found("task", id))?;
            h.dirty = true;
            Ok(())
        })
    }

    /// `GET /tasks`: the session as committed (what the guest reported), or as the handle holds
    /// it before its first commit.
    pub fn task_inspect(
        &mut self,
        w: &World,
        key: &str,
        id: &str,
    ) -> Result<(Session, &'static str)> {
        self.sync(w);
        let h = self
            .handles
            .get_mut(key)
            .ok_or_else(|| PortLayerError::not_found("handle", key))?;
        let committed = self.containers.get(&h.container);
        let session = committed
            .and_then(|c| c.spec.sessions.get(id))
            .or_else(|| h.spec.sessions.get(id))
            .cloned()
            .ok_or_else(|| PortLayerError::not_found("task", id))?;
        let on = committed.is_some_and(|c| {
            w.vm(c.vm)
                .is_ok_and(|v| v.power_state == PowerState::PoweredOn)
        });
        let state = session_state(&session, on);
        Ok((session, state))
    }

    /// `GET /tasks/wait`: 428 while the VM is off; the session once the guest started it.
    pub fn task_wait(&mut self, w: &World, key: &str, id: &str) -> Result<Session> {
        let (session, state) = self.task_inspect(w, key, id)?;
        match state {
            "running" => Ok(session),
            "failed" => Err(PortLayerError::Conflict(format!(
                "task {id} failed: {}",
                session.started
            ))),
            _ => Err(PortLayerError::PreconditionRequired(format!(
                "task {id} is not running: the container VM is off"
            ))),
        }
    }
}
