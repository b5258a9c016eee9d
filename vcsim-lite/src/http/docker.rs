//! The Docker Engine API subset VIC's persona serves (API 1.25, docker 1.13 era) over
//! [`Persona`] and the port layer: ping, version, info, pull, image and container lists.
//!
//! Wire details follow dockerd so a stock Docker CLI works against it: every path also answers
//! under a `/v{major}.{minor}` prefix checked against the supported range, every response carries
//! `Api-Version` and `Server`, errors are `{"message": ...}`, and pull progress is a stream of
//! dockerd's JSON lines. Endpoints VIC does not serve here answer 501 in VIC's wording.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, SERVER};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, body::Body};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;
use crate::persona::{
    API_VERSION, ImageRecord, MIN_API_VERSION, Persona, PersonaError, PullReport,
};
use crate::portlayer::container::VolumeMount;
use crate::portlayer::containers::ContainerInfo;
use crate::portlayer::scopes::{EndpointInfo, Scopes};
use crate::portlayer::{ContainerState, PortLayer};
use crate::sim::{SimDuration, SimTime};

/// What VIC calls itself in `docker info`, `docker version` and its "not implemented" errors.
const PRODUCT: &str = "vSphere Integrated Containers";

/// Go version VIC 1.5 was built with; the CLI prints it, nothing checks it.
const GO_VERSION: &str = "go1.8.7";

/// First path segments of the Docker Engine API: an unserved path under one of these is an
/// endpoint VIC lacks (501), anything else is not Docker's at all (404).
const DOCKER_RESOURCES: &[&str] = &[
    "auth",
    "build",
    "commit",
    "configs",
    "containers",
    "distribution",
    "events",
    "exec",
    "grpc",
    "images",
    "networks",
    "nodes",
    "plugins",
    "secrets",
    "services",
    "session",
    "swarm",
    "system",
    "tasks",
    "volumes",
];

/// A Docker API error: dockerd's `{"message": ...}` body with its status.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl ApiError {
    fn bad_request(msg: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl From<PersonaError> for ApiError {
    fn from(e: PersonaError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError(status, e.to_string())
    }
}

/// Axum's own query errors become dockerd-style 400s instead of axum's plain-text ones.
impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::bad_request(e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "message": self.1 }))).into_response()
    }
}

type ApiResult<T = Response> = Result<T, ApiError>;

/// The router. Routing happens on the path with any version prefix removed, so the outer
/// router only holds the edge middleware (prefix check, common headers) around the API.
pub fn router(shared: Shared) -> Router {
    let version = vic_version(&shared.lock().portlayer);
    let server = HeaderValue::from_str(&format!("Docker/{version} (linux)"))
        .unwrap_or(HeaderValue::from_static("Docker (linux)"));
    let api = Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version_json))
        .route("/info", get(info))
        .route("/images/create", post(pull))
        .route("/images/json", get(images))
        .route("/containers/json", get(containers))
        .method_not_allowed_fallback(page_not_found)
        .fallback(unserved)
        .with_state(shared);
    Router::new()
        .fallback_service(api)
        .layer(middleware::from_fn_with_state(server, edge))
}

/// VIC's version without its `v`, as `docker version` shows it.
fn vic_version(pl: &PortLayer) -> String {
    let v = &pl.vch().config.build.version;
    v.strip_prefix('v').unwrap_or(v).to_string()
}

/// Strips and checks a `/v1.25` prefix as dockerd's version middleware does, then stamps the
/// headers dockerd puts on every response (the CLI negotiates its API version from them).
async fn edge(State(server): State<HeaderValue>, mut req: Request, next: Next) -> Response {
    let mut res = match strip_version(req.uri()) {
        Ok(Some(uri)) => {
            *req.uri_mut() = uri;
            next.run(req).await
        }
        Ok(None) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let headers = res.headers_mut();
    headers.insert("api-version", HeaderValue::from_static(API_VERSION));
    headers.insert("ostype", HeaderValue::from_static("linux"));
    headers.insert(SERVER, server);
    res
}

/// The URI without its version prefix, None when it has none. dockerd's route pattern is
/// `/v{version:[0-9.]+}`, so `/v1` is a (too old) version while `/vfoo` is just a path.
fn strip_version(uri: &Uri) -> ApiResult<Option<Uri>> {
    let path = uri.path();
    let Some(after_v) = path.strip_prefix("/v") else {
        return Ok(None);
    };
    let (version, rest) = after_v.split_at(after_v.find('/').unwrap_or(after_v.len()));
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Ok(None);
    }
    if compare_versions(version, API_VERSION).is_gt() {
        return Err(ApiError::bad_request(format!(
            "client version {version} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    if compare_versions(version, MIN_API_VERSION).is_lt() {
        return Err(ApiError::bad_request(format!(
            "client version {version} is too old. Minimum supported API version is \
             {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    Uri::try_from(path_and_query)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("invalid request URI: {e}")))
}

/// Docker's `versions.compare`: dot-separated numbers, missing or unparsable parts count as 0.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parts(a), parts(b));
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// `GET|HEAD /_ping`: the CLI's first call; it reads the API version from the headers.
async fn ping() -> impl IntoResponse {
    (
        [
            (CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
            (PRAGMA, "no-cache"),
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        [("docker-experimental", "false")],
        "OK",
    )
}

/// `GET /version`: VIC's build in dockerd's layout, Components included (the CLI prints them).
async fn version_json(State(shared): State<Shared>) -> Json<Value> {
    let stack = shared.lock();
    let version = vic_version(&stack.portlayer);
    let commit = stack.portlayer.vch().config.build.commit.clone();
    Json(json!({
        "Version": version, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": commit, "GoVersion": GO_VERSION, "Os": "linux", "Arch": "amd64",
        "KernelVersion": "-", "BuildTime": "",
        "Platform": {"Name": PRODUCT},
        "Components": [{"Name": "Engine", "Version": version, "Details": {
            "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
            "Arch": "amd64", "KernelVersion": "-", "GitCommit": commit,
            "GoVersion": GO_VERSION, "BuildTime": "", "Experimental": "false",
        }}],
    }))
}

/// `GET /info`: VIC's figures (NCPU is the MHz limit, a VIC quirk) over [`info_defaults`].
async fn info(State(shared): State<Shared>) -> ApiResult<Json<Value>> {
    let mut guard = shared.lock();
    let stack = &mut *guard;
    let i = stack.persona.info(&stack.world, &mut stack.portlayer)?;
    let (total, running, paused, stopped) = i.containers;
    let status: Vec<[&str; 2]> = i
        .system_status
        .iter()
        .map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    let vic = json!({
        "ID": PRODUCT, "Name": i.name, "ServerVersion": i.server_version,
        "Containers": total, "ContainersRunning": running, "ContainersPaused": paused,
        "ContainersStopped": stopped, "Images": i.images,
        "Driver": i.driver, "DriverStatus": [], "SystemStatus": status,
        "NCPU": i.ncpu, "MemTotal": i.mem_total, "OperatingSystem": i.operating_system,
        "SystemTime": stack.world.now().to_string(),
    });
    let mut info = info_defaults();
    if let (Some(all), Value::Object(vic)) = (info.as_object_mut(), vic) {
        all.extend(vic);
    }
    Ok(Json(info))
}

/// The rest of dockerd's Info: fixed values for a VCH, and zero values for what a VCH does not
/// have but a modern CLI reads (Swarm, the commits, runtimes), so `docker info` prints them
/// instead of failing.
fn info_defaults() -> Value {
    let no_commit = json!({"ID": "", "Expected": ""});
    json!({
        "OSType": "linux", "Architecture": "x86_64", "KernelVersion": "-",
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "Plugins": {"Volume": ["vsphere"], "Network": ["bridge"], "Log": [], "Authorization": null},
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
            "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "ContainerdCommit": no_commit, "RuncCommit": no_commit, "InitCommit": no_commit,
        "Runtimes": {}, "DefaultRuntime": "", "SecurityOptions": [], "Labels": [],
        "Warnings": [], "LoggingDriver": "", "CgroupDriver": "", "DockerRootDir": "",
        "HttpProxy": "", "HttpsProxy": "", "NoProxy": "", "Debug": false, "NFd": 0,
        "NGoroutines": 0, "NEventsListener": 0, "ExperimentalBuild": false,
        "LiveRestoreEnabled": false, "MemoryLimit": true, "SwapLimit": false, "Isolation": "",
    })
}

/// `POST /images/create` query: a pull (`fromImage`, `tag`) or an import (`fromSrc`).
#[derive(Debug, Deserialize)]
struct CreateImageQuery {
    #[serde(rename = "fromImage")]
    from_image: Option<String>,
    tag: Option<String>,
    #[serde(rename = "fromSrc")]
    from_src: Option<String>,
}

/// `POST /images/create`: the whole pull runs under one lock, then its progress goes out as
/// dockerd's JSON lines. Failures before any progress are plain HTTP errors, as in dockerd.
async fn pull(
    State(shared): State<Shared>,
    q: Result<Query<CreateImageQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = q?;
    let from = match (q.from_image.as_deref(), q.from_src) {
        (Some(from), _) if !from.is_empty() => from.to_string(),
        (_, Some(_)) => return Err(not_implemented("/images/create?fromSrc (import)")),
        _ => return Err(ApiError::bad_request("fromImage is required")),
    };
    let reference = pull_reference(&from, q.tag.as_deref().unwrap_or(""));
    let mut guard = shared.lock();
    let stack = &mut *guard;
    let before = stack.persona.images().clone();
    let report = stack
        .persona
        .pull(&mut stack.world, &mut stack.portlayer, &reference)?;
    drop(guard);
    let body = pull_progress(&report, before.get(&report.image.image_id));
    Ok(([(CONTENT_TYPE, "application/json")], Body::from(body)).into_response())
}

/// `fromImage` and `tag` combined as dockerd does: a trailing `:` is dropped (old `pull -a`
/// clients send one), a tag replaces any in `fromImage`, and a `sha256:` tag is a digest.
fn pull_reference(from: &str, tag: &str) -> String {
    let from = from.strip_suffix(':').unwrap_or(from);
    if tag.is_empty() {
        return from.to_string();
    }
    let named = from.split('@').next().unwrap_or(from);
    let last = named.rfind('/').map_or(0, |slash| slash + 1);
    let name = named[last..]
        .find(':')
        .map_or(named, |colon| &named[..last + colon]);
    let sep = if tag.starts_with("sha256:") { '@' } else { ':' };
    format!("{name}{sep}{tag}")
}

/// One line of dockerd's progress stream, fields in dockerd's order (`json!` would sort them).
#[derive(Serialize)]
struct Progress<'a> {
    status: &'a str,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    progress_detail: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

/// The lines `docker pull` prints, as dockerd sends them (`\r\n`-terminated): the repository,
/// each layer's fate, the digest and the outcome. `before` is the image as cached before the
/// pull: dockerd lists no layers for an image it already has, and says "up to date" only when
/// the reference already named it (otherwise the tag moved: "Downloaded newer image").
fn pull_progress(report: &PullReport, before: Option<&ImageRecord>) -> String {
    let reference = &report.reference;
    let up_to_date = before
        .is_some_and(|r| r.repo_tags.contains(reference) || r.repo_digests.contains(reference));
    let (name, tag_or_digest) = reference
        .split_once('@')
        .or_else(|| reference.rsplit_once(':'))
        .unwrap_or((reference, "latest"));
    let repo_path = if name.contains('/') {
        name.to_string()
    } else {
        format!("library/{name}")
    };
    let short = |id: &str| id.get(..12).unwrap_or(id).to_string();
    let mut lines = vec![(
        format!("Pulling from {repo_path}"),
        None,
        Some(tag_or_digest.to_string()),
    )];
    if before.is_none() {
        for layer in &report.image.layers {
            let status = if report.existing.contains(layer) {
                "Already exists"
            } else {
                "Pulling fs layer"
            };
            lines.push((status.to_string(), Some(json!({})), Some(short(layer))));
        }
        for layer in &report.written {
            for status in ["Download complete", "Pull complete"] {
                lines.push((status.to_string(), Some(json!({})), Some(short(layer))));
            }
        }
    }
    lines.push((format!("Digest: {}", report.digest), None, None));
    let outcome = if up_to_date {
        "Image is up to date for"
    } else {
        "Downloaded newer image for"
    };
    lines.push((format!("Status: {outcome} {reference}"), None, None));
    lines
        .into_iter()
        .map(|(status, progress_detail, id)| {
            let line = Progress {
                status: &status,
                progress_detail,
                id: id.as_deref(),
            };
            format!("{}\r\n", serde_json::to_string(&line).unwrap_or_default())
        })
        .collect()
}

/// `GET /images/json` and `GET /containers/json` query; other filters are ignored.
#[derive(Debug, Deserialize)]
struct ListQuery {
    all: Option<String>,
}

/// dockerd's `BoolValue`: anything but empty, `0`, `no`, `false` or `none` is true.
fn docker_bool(v: Option<&str>) -> bool {
    let v = v.unwrap_or("").trim().to_ascii_lowercase();
    !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
}

/// `GET /images/json`: the persona's image cache, newest first (ties by id, for determinism).
async fn images(
    State(shared): State<Shared>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    q?;
    let stack = shared.lock();
    let mut list: Vec<(i64, &ImageRecord)> = stack
        .persona
        .images()
        .values()
        .map(|r| (unix_seconds(&r.created), r))
        .collect();
    list.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.image_id.cmp(&b.1.image_id)));
    Ok(Json(
        list.into_iter()
            .map(|(created, r)| image_json(r, created))
            .collect(),
    ))
}

/// An image summary as API 1.25 has it (untagged images show `<none>:<none>`).
fn image_json(r: &ImageRecord, created: i64) -> Value {
    let or_none = |set: &std::collections::BTreeSet<String>, none: &str| -> Vec<String> {
        if set.is_empty() {
            vec![none.to_string()]
        } else {
            set.iter().cloned().collect()
        }
    };
    json!({
        "Id": r.image_id, "ParentId": "",
        "RepoTags": or_none(&r.repo_tags, "<none>:<none>"),
        "RepoDigests": or_none(&r.repo_digests, "<none>@<none>"),
        "Created": created, "Size": r.size_bytes, "VirtualSize": r.size_bytes,
        "SharedSize": -1, "Labels": {}, "Containers": -1,
    })
}

/// Unix seconds of an RFC3339 UTC time such as the catalogue's `2024-01-01T00:00:00.000000Z`
/// (fraction and zone are ignored: the catalogue writes UTC); 0 when it does not parse.
fn unix_seconds(rfc3339: &str) -> i64 {
    let field = |from: usize, to: usize| rfc3339.get(from..to)?.parse::<i64>().ok();
    let date = field(0, 4).zip(field(5, 7)).zip(field(8, 10));
    let time = field(11, 13).zip(field(14, 16)).zip(field(17, 19));
    let (Some(((y, m), d)), Some(((hh, mm), ss))) = (date, time) else {
        return 0;
    };
    days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `GET /containers/json`: the port layer's list (newest first; running only unless `all`).
async fn containers(
    State(shared): State<Shared>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let mut guard = shared.lock();
    let stack = &mut *guard;
    let list = stack
        .portlayer
        .list_containers(&stack.world, docker_bool(q.all.as_deref()));
    let now = stack.world.now();
    let (persona, scopes) = (&stack.persona, stack.portlayer.scopes());
    Ok(Json(
        list.iter()
            .map(|c| container_json(c, now, persona, scopes))
            .collect(),
    ))
}

/// A container summary in dockerd's layout. Sizes are the VM's datastore usage (rw) and that
/// plus the image's (root fs), which `docker ps -s` shows.
fn container_json(c: &ContainerInfo, now: SimTime, persona: &Persona, scopes: &Scopes) -> Value {
    let image = c.spec.image.as_ref();
    let image_size = image
        .and_then(|i| persona.find_image(&i.image_id).ok())
        .map_or(0, |r| r.size_bytes);
    let command = c.process.as_ref().map_or(String::new(), |p| {
        let words = std::iter::once(&p.path).chain(&p.args);
        words.map(String::as_str).collect::<Vec<_>>().join(" ")
    });
    let networks: serde_json::Map<String, Value> = c
        .endpoints
        .iter()
        .map(|ep| (ep.scope.clone(), endpoint_json(ep, scopes)))
        .collect();
    let mounts: Vec<Value> = c.spec.volumes.iter().map(mount_json).collect();
    json!({
        "Id": c.id, "Names": [format!("/{}", c.name)],
        "Image": image.map_or("", |i| if i.repo.is_empty() { &i.image_id } else { &i.repo }),
        "ImageID": image.map_or("", |i| &i.image_id),
        "Command": command, "Created": c.create_time.0 / 1_000_000,
        "State": c.state.docker(), "Status": container_status(c, now),
        "Ports": [], "Labels": {},
        "SizeRw": c.storage_size, "SizeRootFs": c.storage_size + image_size,
        "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {"Networks": networks}, "Mounts": mounts,
    })
}

/// A container's place on one network, keyed by the scope's name in the caller. A stopped
/// container has no address, as in Docker.
fn endpoint_json(ep: &EndpointInfo, scopes: &Scopes) -> Value {
    let (ip, prefix) = ep
        .address
        .as_deref()
        .and_then(|a| a.split_once('/'))
        .unwrap_or(("", "0"));
    let network_id = scopes.get(&ep.scope).map(|s| s.id).unwrap_or_default();
    json!({
        "IPAMConfig": null, "Links": null, "Aliases": ep.aliases, "NetworkID": network_id,
        "EndpointID": ep.id, "Gateway": ep.gateway, "IPAddress": ip,
        "IPPrefixLen": prefix.parse::<u32>().unwrap_or(0), "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": ep.mac_address,
    })
}

/// A volume mount as `docker ps` lists it (VIC volumes use the `vsphere` driver).
fn mount_json((name, m): (&String, &VolumeMount)) -> Value {
    json!({
        "Type": "volume", "Name": name, "Source": "", "Destination": m.mount_path,
        "Driver": "vsphere", "Mode": m.flags, "RW": m.flags.contains("rw"), "Propagation": "",
    })
}

/// Docker's `State.String()`: `Up 5 minutes`, `Exited (137) 2 seconds ago`, `Created`.
fn container_status(c: &ContainerInfo, now: SimTime) -> String {
    let process = c.process.as_ref();
    let since = |t: SimTime| human_duration(now.since(t));
    let started = process.and_then(|p| p.start_time).unwrap_or(c.create_time);
    match c.state {
        ContainerState::Running | ContainerState::Starting => format!("Up {}", since(started)),
        ContainerState::Suspended => format!("Up {} (Paused)", since(started)),
        ContainerState::Created => "Created".to_string(),
        ContainerState::Stopped => {
            let code = process.map_or(0, |p| p.exit_code);
            match process.and_then(|p| p.stop_time) {
                Some(t) => format!("Exited ({code}) {} ago", since(t)),
                None => format!("Exited ({code})"),
            }
        }
    }
}

/// go-units `HumanDuration`, which `docker ps` statuses are made of.
fn human_duration(d: SimDuration) -> String {
    let secs = d.0 / 1_000_000;
    let (minutes, hours) = (secs / 60, (secs + 1800) / 3600);
    match () {
        _ if secs < 1 => "Less than a second".to_string(),
        _ if secs == 1 => "1 second".to_string(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// VIC's answer for a Docker API endpoint it does not serve.
fn not_implemented(what: &str) -> ApiError {
    ApiError(
        StatusCode::NOT_IMPLEMENTED,
        format!("{PRODUCT} does not yet implement {what}"),
    )
}

/// dockerd's 404 for paths it does not route.
fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "page not found".to_string())
}

/// A known path with another method: 404 too, as docker 1.13's router answered.
async fn page_not_found() -> ApiError {
    not_found()
}

/// Unrouted paths: 501 inside the Docker API, 404 outside it.
async fn unserved(uri: Uri) -> ApiError {
    let path = uri.path();
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if DOCKER_RESOURCES.contains(&first) {
        not_implemented(path)
    } else {
        not_found()
    }
}
