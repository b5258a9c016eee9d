//! The client traits over HTTP: the Port Layer API (`vcsim-lite serve` :2377, or a real VCH)
//! and the Docker API for pulls. Blocking calls with a global timeout per request; a transport
//! failure is an [`ApiError`] with status 0. Retrying is the operations' decision, not the
//! client's, because only they know whether a call is safe to repeat.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use ureq::Agent;

use crate::client::{
    ApiError, ApiResult, ContainerSpec, ContainerStatus, ImageRef, PersonaApi, PortLayerApi,
    SessionStatus, TaskSpec, VchCapacity,
};

/// A client of one VCH's Port Layer API and Docker API.
#[derive(Clone, Debug)]
pub struct HttpClient {
    portlayer: String,
    docker: String,
    agent: Agent,
}

impl HttpClient {
    /// `portlayer` and `docker` are base URLs such as `http://127.0.0.1:2377`.
    pub fn new(portlayer: &str, docker: &str, timeout: Duration) -> Self {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build();
        HttpClient {
            portlayer: portlayer.trim_end_matches('/').to_string(),
            docker: docker.trim_end_matches('/').to_string(),
            agent: Agent::new_with_config(config),
        }
    }

    fn call(&self, method: &str, url: String, body: Option<Value>) -> ApiResult<Value> {
        let sent = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            ("POST", Some(b)) => self.agent.post(&url).send_json(b),
            ("POST", None) => self.agent.post(&url).send_empty(),
            ("PUT", Some(b)) => self.agent.put(&url).send_json(b),
            (_, _) => self.agent.put(&url).send_empty(),
        };
        let res = sent.map_err(|e| ApiError::new(0, format!("{method} {url}: {e}")))?;
        let status = res.status().as_u16();
        let text = res
            .into_body()
            .read_to_string()
            .map_err(|e| ApiError::new(0, format!("{method} {url}: reading the body: {e}")))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            let message = value["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            Err(ApiError::new(status, message))
        }
    }

    fn pl(&self, method: &str, path: &str, body: Option<Value>) -> ApiResult<Value> {
        self.call(method, format!("{}{path}", self.portlayer), body)
    }
}

/// A string field of a JSON answer, or a clear error naming what was missing.
fn text(v: &Value, key: &str) -> ApiResult<String> {
    match key {
        "" => v.as_str(),
        k => v[k].as_str(),
    }
    .map(str::to_string)
    .ok_or_else(|| ApiError::new(0, format!("unexpected answer, no `{key}` in {v}")))
}

fn i64_of(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn status_of(v: &Value) -> ContainerStatus {
    let c = &v["containerConfig"];
    let p = &v["processConfig"];
    let id = c["containerId"].as_str().unwrap_or_default().to_string();
    let mut sessions = Vec::new();
    if p.is_object() {
        let started = p["status"].as_str().unwrap_or_default().to_string();
        let running = c["state"] == "Running";
        let state = match started.as_str() {
            "" => "created",
            "true" if running => "running",
            "true" => "stopped",
            _ => "failed",
        };
        sessions.push(SessionStatus {
            id: id.clone(),
            state: state.to_string(),
            started,
            exit_code: p["exitCode"]
                .as_i64()
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0),
            start_time: i64_of(&p["startTime"]),
            stop_time: i64_of(&p["stopTime"]),
        });
    }
    let annotations: BTreeMap<String, String> =
        serde_json::from_value(c["annotations"].clone()).unwrap_or_default();
    let ip = v["endpoints"].as_array().and_then(|eps| {
        eps.iter()
            .filter_map(|e| e["address"].as_str())
            .find(|a| !a.is_empty())
            .map(|a| a.split('/').next().unwrap_or(a).to_string())
    });
    ContainerStatus {
        id,
        name: c["names"][0].as_str().unwrap_or_default().to_string(),
        state: c["state"].as_str().unwrap_or_default().to_string(),
        annotations,
        sessions,
        ip,
        create_time: i64_of(&c["createTime"]),
    }
}

/// A task's session from a `GET /tasks` (Inspect) answer.
fn task_session(v: &Value, id: &str) -> SessionStatus {
    SessionStatus {
        id: v["id"].as_str().unwrap_or(id).to_string(),
        state: v["state"].as_str().unwrap_or_default().to_string(),
        started: v["status"].as_str().unwrap_or_default().to_string(),
        exit_code: v["exitCode"]
            .as_i64()
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or(0),
        start_time: i64_of(&v["startTime"]),
        stop_time: i64_of(&v["stopTime"]),
    }
}

impl PortLayerApi for HttpClient {
    fn create(&self, spec: &ContainerSpec) -> ApiResult<(String, String)> {
        let body = json!({"name": spec.name, "numCPUs": spec.num_cpus, "memoryMB": spec.memory_mb, "annotations": spec.annotations});
        let v = self.pl("POST", "/containers", Some(body))?;
        Ok((text(&v, "id")?, text(&v, "handle")?))
    }

    fn handle(&self, id: &str) -> ApiResult<String> {
        text(&self.pl("GET", &format!("/containers/{id}"), None)?, "")
    }

    fn image_join(&self, handle: &str, image: &ImageRef, delta_id: &str) -> ApiResult<String> {
        let body = json!({"handle": handle, "deltaID": delta_id, "imageID": image.image_id, "repoName": image.repo});
        let v = self.pl(
            "POST",
            &format!("/storage/{}/info/{}", image.store, image.layer),
            Some(body),
        )?;
        text(&v, "handle")
    }

    fn task_join(&self, handle: &str, task: &TaskSpec) -> ApiResult<(String, String)> {
        let body = json!({
            "handle": handle, "id": task.id, "path": task.path, "args": task.args, "env": task.env,
            "workingDir": task.working_dir, "tty": task.tty, "openStdin": task.open_stdin, "attach": true,
        });
        let v = self.pl("POST", "/tasks", Some(body))?;
        Ok((text(&v, "handle")?, text(&v, "id")?))
    }

    fn task_bind(&self, handle: &str, id: &str) -> ApiResult<String> {
        text(
            &self.pl(
                "POST",
                "/tasks/binding",
                Some(json!({"handle": handle, "id": id})),
            )?,
            "handle",
        )
    }

    fn scopes_add(&self, handle: &str, scope: &str) -> ApiResult<String> {
        let body = json!({"handle": handle, "networkConfig": {"networkName": scope}});
        text(
            &self.pl("POST", &format!("/scopes/{scope}/containers"), Some(body))?,
            "",
        )
    }

    fn scopes_bind(&self, handle: &str) -> ApiResult<String> {
        text(
            &self.pl(
                "POST",
                &format!("/scopes/containers/{handle}/binding"),
                None,
            )?,
            "handle",
        )
    }

    fn scopes_unbind(&self, handle: &str) -> ApiResult<String> {
        text(
            &self.pl(
                "DELETE",
                &format!("/scopes/containers/{handle}/binding"),
                None,
            )?,
            "handle",
        )
    }

    fn io_join(&self, handle: &str) -> ApiResult<String> {
        let h = text(
            &self.pl("POST", "/interaction", Some(json!({"handle": handle})))?,
            "handle",
        )?;
        text(
            &self.pl("POST", "/logging", Some(json!({"handle": h})))?,
            "handle",
        )
    }

    fn volume_create(&self, name: &str, capacity_mb: u64) -> ApiResult<()> {
        let body =
            json!({"Name": name, "Driver": "vsphere", "Store": "default", "Capacity": capacity_mb});
        self.pl("POST", "/storage/volumes", Some(body)).map(|_| ())
    }

    fn volume_join(&self, handle: &str, volume: &str, mount_path: &str) -> ApiResult<String> {
        let body = json!({"Handle": handle, "MountPath": mount_path, "Flags": {"Mode": "rw"}});
        text(
            &self.pl("POST", &format!("/storage/volumes/{volume}"), Some(body))?,
            "",
        )
    }

    fn volume_delete(&self, name: &str) -> ApiResult<()> {
        self.pl("DELETE", &format!("/storage/volumes/{name}"), None)
            .map(|_| ())
    }

    fn change_state(&self, handle: &str, state: &str) -> ApiResult<String> {
        text(
            &self.pl(
                "PUT",
                &format!("/containers/{handle}/state"),
                Some(json!(state)),
            )?,
            "",
        )
    }

    fn commit(&self, handle: &str, wait_time: Option<i64>) -> ApiResult<()> {
        let path = match wait_time {
            // The persona's client drops a wait time <= 0, as VIC's go-swagger client does.
            Some(w) if w > 0 => format!("/containers/{handle}?wait_time={w}"),
            _ => format!("/containers/{handle}"),
        };
        self.pl("PUT", &path, None).map(|_| ())
    }

    fn remove(&self, id: &str) -> ApiResult<()> {
        self.pl("DELETE", &format!("/containers/{id}"), None)
            .map(|_| ())
    }

    fn signal(&self, id: &str, signal: i64) -> ApiResult<()> {
        self.pl(
            "POST",
            &format!("/containers/{id}/signal?signal={signal}"),
            None,
        )
        .map(|_| ())
    }

    /// The container's info carries only its primary process; the sessions of a pod's other
    /// containers are tasks, read with Inspect through a handle.
    fn info(&self, id: &str) -> ApiResult<ContainerStatus> {
        let mut status = status_of(&self.pl("GET", &format!("/containers/info/{id}"), None)?);
        let tasks = crate::cache::task_ids(&status.annotations);
        if tasks.is_empty() {
            return Ok(status);
        }
        let handle = self.handle(id)?;
        for task in tasks {
            match self.pl("GET", &format!("/tasks?handle={handle}&id={task}"), None) {
                Ok(v) => status.sessions.push(task_session(&v, &task)),
                // Not joined (yet): the container shows as waiting.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(status)
    }

    fn list(&self) -> ApiResult<Vec<ContainerStatus>> {
        let v = self.pl("GET", "/containers/list?all=true", None)?;
        Ok(v.as_array()
            .map(|a| a.iter().map(status_of).collect())
            .unwrap_or_default())
    }

    fn vch_info(&self) -> ApiResult<VchCapacity> {
        let v = self.pl("GET", "/vch/info", None)?;
        Ok(VchCapacity {
            cpu_mhz: i64_of(&v["cpuMhz"]),
            memory_mb: i64_of(&v["memory"]),
            cpu_usage_mhz: i64_of(&v["cpuUsage"]),
            memory_usage_mb: i64_of(&v["memUsage"]),
            host_product_name: v["hostProductName"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
    }
}

impl PersonaApi for HttpClient {
    /// `docker pull` through the Docker API, then the image's layer from the persona's image
    /// cache in the port layer's KV store (what VIC's provider read too).
    fn pull(&self, reference: &str) -> ApiResult<ImageRef> {
        let url = format!(
            "{}/v1.25/images/create?fromImage={}",
            self.docker,
            encode(reference)
        );
        self.call("POST", url, None)?;
        self.lookup(reference)?.ok_or_else(|| {
            ApiError::new(
                404,
                format!("{reference} was pulled but is not in the image cache"),
            )
        })
    }

    fn lookup(&self, reference: &str) -> ApiResult<Option<ImageRef>> {
        let kv = match self.pl("GET", "/kv/docker.images", None) {
            Ok(v) => v,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let images: Vec<Value> =
            serde_json::from_str(kv["Value"].as_str().unwrap_or("[]")).unwrap_or_default();
        let wanted = if reference.contains(':') {
            reference.to_string()
        } else {
            format!("{reference}:latest")
        };
        let wanted = wanted
            .trim_start_matches("docker.io/")
            .trim_start_matches("library/")
            .to_string();
        Ok(images
            .iter()
            .find(|i| {
                i["RepoTags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == wanted.as_str()))
            })
            .map(|i| ImageRef {
                store: i["Store"].as_str().unwrap_or_default().to_string(),
                layer: i["TopLayer"].as_str().unwrap_or_default().to_string(),
                image_id: i["ID"].as_str().unwrap_or_default().to_string(),
                repo: wanted.clone(),
                cmd: serde_json::from_value(i["Cmd"].clone()).unwrap_or_default(),
            }))
    }
}

/// Percent-encodes a query value (references carry `:`, `/` and `@`).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
