//! What the provider asks of VIC: the port layer and persona calls it makes, as traits, with
//! data types of its own. vcsim-lite implements them in process; an HTTP client
//! will implement them over the wire. The provider never reaches into the world behind them.

use std::collections::BTreeMap;

/// A failed call: the API's status code and its message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// HTTP status as the Port Layer or Docker API answers it (0: no answer at all).
    pub status: u16,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 409: conflict or concurrent access; taking a new handle and retrying may succeed.
    pub fn is_conflict(&self) -> bool {
        self.status == 409
    }

    /// 404: the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }
}

/// Result of a client call.
pub type ApiResult<T> = Result<T, ApiError>;

/// The container (pod VM) to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Name of the container VM (the port layer adds the short id).
    pub name: String,
    /// vCPUs.
    pub num_cpus: u32,
    /// Memory in MB.
    pub memory_mb: u64,
    /// Annotations; the provider keeps pod identity here so it can rebuild its cache.
    pub annotations: BTreeMap<String, String>,
}

/// An image as the persona resolved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// The image store.
    pub store: String,
    /// The top layer id (what a container joins).
    pub layer: String,
    /// The image id.
    pub image_id: String,
    /// `repo:tag`.
    pub repo: String,
    /// The image's default command, run when a container names none.
    pub cmd: Vec<String>,
}

/// A process to run in the pod VM (one per Kubernetes container).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskSpec {
    /// Session id; the container id for the first one.
    pub id: Option<String>,
    /// Executable.
    pub path: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Environment, `K=V`.
    pub env: Vec<String>,
    /// Working directory.
    pub working_dir: String,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
}

/// One session of a container as the port layer reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionStatus {
    /// Session id.
    pub id: String,
    /// `created`, `running`, `stopped` or `failed`.
    pub state: String,
    /// The guest's `Started` report: `"true"`, an error, or empty.
    pub started: String,
    /// Exit code once stopped.
    pub exit_code: i32,
    /// Unix seconds of the last start (0: never).
    pub start_time: i64,
    /// Unix seconds of the last stop (0: never).
    pub stop_time: i64,
}

/// A container (pod VM) as the port layer reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerStatus {
    /// Container id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `Created`, `Starting`, `Running`, `Stopped` or `Suspended`.
    pub state: String,
    /// Annotations given at create.
    pub annotations: BTreeMap<String, String>,
    /// Sessions, primary first.
    pub sessions: Vec<SessionStatus>,
    /// IP of the first endpoint, without prefix length, once bound.
    pub ip: Option<String>,
    /// Unix seconds of creation.
    pub create_time: i64,
}

/// VCH capacity and usage (`/vch/info`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VchCapacity {
    /// CPU limit in MHz.
    pub cpu_mhz: i64,
    /// Memory limit in MB.
    pub memory_mb: i64,
    /// CPU usage in MHz.
    pub cpu_usage_mhz: i64,
    /// Memory usage in MB.
    pub memory_usage_mb: i64,
    /// vSphere product name.
    pub host_product_name: String,
}

/// The port layer calls a VIC provider makes.
pub trait PortLayerApi: Send + Sync {
    /// `POST /containers`: (id, handle).
    fn create(&self, spec: &ContainerSpec) -> ApiResult<(String, String)>;
    /// `GET /containers/{id}`: a fresh handle.
    fn handle(&self, id: &str) -> ApiResult<String>;
    /// ImageJoin: `delta_id` names the read-write layer; empty is the container's own layer,
    /// another name adds a layer (a pod VM's containers with other images).
    fn image_join(&self, handle: &str, image: &ImageRef, delta_id: &str) -> ApiResult<String>;
    /// `POST /tasks`: (handle, session id).
    fn task_join(&self, handle: &str, task: &TaskSpec) -> ApiResult<(String, String)>;
    /// `POST /tasks/binding`.
    fn task_bind(&self, handle: &str, id: &str) -> ApiResult<String>;
    /// `POST /scopes/{scope}/containers`.
    fn scopes_add(&self, handle: &str, scope: &str) -> ApiResult<String>;
    /// `POST /scopes/containers/{handle}/binding`.
    fn scopes_bind(&self, handle: &str) -> ApiResult<String>;
    /// `DELETE /scopes/containers/{handle}/binding`.
    fn scopes_unbind(&self, handle: &str) -> ApiResult<String>;
    /// `POST /interaction` and `POST /logging` (the serial ports VIC needs for logs).
    fn io_join(&self, handle: &str) -> ApiResult<String>;
    /// `POST /storage/volumes`.
    fn volume_create(&self, name: &str, capacity_mb: u64) -> ApiResult<()>;
    /// VolumeJoin.
    fn volume_join(&self, handle: &str, volume: &str, mount_path: &str) -> ApiResult<String>;
    /// `DELETE /storage/volumes/{name}`.
    fn volume_delete(&self, name: &str) -> ApiResult<()>;
    /// `PUT /containers/{handle}/state`.
    fn change_state(&self, handle: &str, state: &str) -> ApiResult<String>;
    /// `PUT /containers/{handle}`.
    fn commit(&self, handle: &str, wait_time: Option<i64>) -> ApiResult<()>;
    /// `DELETE /containers/{id}`.
    fn remove(&self, id: &str) -> ApiResult<()>;
    /// `POST /containers/{id}/signal`.
    fn signal(&self, id: &str, signal: i64) -> ApiResult<()>;
    /// `GET /containers/info/{id}`.
    fn info(&self, id: &str) -> ApiResult<ContainerStatus>;
    /// `GET /containers/list?all=true`.
    fn list(&self) -> ApiResult<Vec<ContainerStatus>>;
    /// `GET /vch/info`.
    fn vch_info(&self) -> ApiResult<VchCapacity>;
}

/// The persona calls a VIC provider makes.
pub trait PersonaApi: Send + Sync {
    /// Pulls `reference` from the registry into the image store.
    fn pull(&self, reference: &str) -> ApiResult<ImageRef>;
    /// The image if it is already in the store (for `IfNotPresent` and `Never`).
    fn lookup(&self, reference: &str) -> ApiResult<Option<ImageRef>>;
}
