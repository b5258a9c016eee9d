//! The provider's client traits implemented in process over a [`Shared`] stack: each call takes
//! the stack's lock and calls the port layer or persona directly, with the same status codes the
//! HTTP API answers with.

use provider::client::{
    ApiError, ApiResult, ContainerSpec, ContainerStatus, ImageRef, PersonaApi, PortLayerApi,
    SessionStatus, TaskSpec, VchCapacity,
};

use crate::http::{Shared, Stack};
use crate::persona::{Persona, PersonaError};
use crate::portlayer::containers::{ContainerView, CreateConfig};
use crate::portlayer::scopes::NetworkConfig;
use crate::portlayer::tasks::{TaskJoinConfig, session_state};
use crate::portlayer::volumes::VolumeRequest;
use crate::portlayer::{ContainerState, PortLayerError};
use crate::sim::SimTime;

/// The provider's view of a stack in this process.
#[derive(Clone, Debug)]
pub struct InProcess {
    shared: Shared,
}

impl InProcess {
    /// A client of `shared`.
    pub fn new(shared: Shared) -> Self {
        InProcess { shared }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Stack) -> Result<T, PortLayerError>) -> ApiResult<T> {
        let mut st = self.shared.lock();
        f(&mut st).map_err(|e| ApiError::new(e.status(), e.to_string()))
    }
}

fn persona_err(e: PersonaError) -> ApiError {
    ApiError::new(e.status(), e.to_string())
}

fn secs(t: Option<SimTime>) -> i64 {
    t.map_or(0, |t| (t.0 / 1_000_000) as i64)
}

fn status_of(view: &ContainerView<'_>) -> ContainerStatus {
    let c = view.container;
    let on = matches!(
        view.state,
        ContainerState::Running | ContainerState::Starting
    );
    let mut sessions: Vec<SessionStatus> = c
        .spec
        .sessions
        .values()
        .map(|s| SessionStatus {
            id: s.id.clone(),
            state: session_state(s, on).to_string(),
            started: s.started.clone(),
            exit_code: s.exit_code,
            start_time: secs(s.start_time),
            stop_time: secs(s.stop_time),
        })
        .collect();
    // The primary session (the container's own id) first.
    sessions.sort_by_key(|s| s.id != c.id);
    ContainerStatus {
        id: c.id.clone(),
        name: c.spec.name.clone(),
        state: view.state.as_str().to_string(),
        annotations: c
            .spec
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        sessions,
        ip: view.address.map(|a| a.to_string()),
        create_time: secs(Some(c.create_time)),
    }
}

impl PortLayerApi for InProcess {
    fn create(&self, spec: &ContainerSpec) -> ApiResult<(String, String)> {
        let cfg = CreateConfig {
            name: spec.name.clone(),
            num_cpus: Some(spec.num_cpus),
            memory_mb: Some(spec.memory_mb),
            annotations: spec.annotations.clone(),
            ..Default::default()
        };
        self.with(|st| st.portlayer.create_container(&mut st.world, cfg))
    }

    fn handle(&self, id: &str) -> ApiResult<String> {
        self.with(|st| st.portlayer.get_handle(&mut st.world, id))
    }

    fn image_join(&self, handle: &str, image: &ImageRef, delta_id: &str) -> ApiResult<String> {
        self.with(|st| {
            st.portlayer.image_join_delta(
                handle,
                delta_id,
                &image.store,
                &image.layer,
                &image.image_id,
                &image.repo,
            )
        })
    }

    fn task_join(&self, handle: &str, task: &TaskSpec) -> ApiResult<(String, String)> {
        let cfg = TaskJoinConfig {
            id: task.id.clone(),
            path: task.path.clone(),
            args: task.args.clone(),
            env: task.env.clone(),
            working_dir: task.working_dir.clone(),
            tty: task.tty,
            open_stdin: task.open_stdin,
            attach: true,
            ..Default::default()
        };
        self.with(|st| st.portlayer.task_join(handle, cfg))
    }

    fn task_bind(&self, handle: &str, id: &str) -> ApiResult<String> {
        self.with(|st| st.portlayer.task_bind(handle, id))
    }

    fn scopes_add(&self, handle: &str, scope: &str) -> ApiResult<String> {
        let cfg = NetworkConfig {
            network_name: scope.to_string(),
            ..Default::default()
        };
        self.with(|st| st.portlayer.scopes_add(handle, scope, cfg))
    }

    fn scopes_bind(&self, handle: &str) -> ApiResult<String> {
        self.with(|st| st.portlayer.scopes_bind(handle).map(|(h, _)| h))
    }

    fn scopes_unbind(&self, handle: &str) -> ApiResult<String> {
        self.with(|st| st.portlayer.scopes_unbind(handle).map(|(h, _)| h))
    }

    fn io_join(&self, handle: &str) -> ApiResult<String> {
        self.with(|st| {
            let h = st.portlayer.interaction_join(handle)?;
            st.portlayer.logging_join(&h)
        })
    }

    fn volume_create(&self, name: &str, capacity_mb: u64) -> ApiResult<()> {
        let mut req = VolumeRequest::new(name);
        req.capacity_mb = i64::try_from(capacity_mb).unwrap_or(i64::MAX);
        self.with(|st| st.portlayer.create_volume(&mut st.world, req).map(|_| ()))
    }

    fn volume_join(&self, handle: &str, volume: &str, mount_path: &str) -> ApiResult<String> {
        self.with(|st| st.portlayer.volume_join(handle, volume, mount_path, "rw"))
    }

    fn volume_delete(&self, name: &str) -> ApiResult<()> {
        self.with(|st| st.portlayer.delete_volume(&mut st.world, name))
    }

    fn change_state(&self, handle: &str, state: &str) -> ApiResult<String> {
        self.with(|st| st.portlayer.change_state(handle, state))
    }

    fn commit(&self, handle: &str, wait_time: Option<i64>) -> ApiResult<()> {
        self.with(|st| st.portlayer.commit(&mut st.world, handle, wait_time))
    }

    fn remove(&self, id: &str) -> ApiResult<()> {
        self.with(|st| st.portlayer.remove_container(&mut st.world, id))
    }

    fn signal(&self, id: &str, signal: i64) -> ApiResult<()> {
        self.with(|st| st.portlayer.signal(&mut st.world, id, signal))
    }

    fn info(&self, id: &str) -> ApiResult<ContainerStatus> {
        self.with(|st| {
            st.portlayer
                .container_view(&st.world, id)
                .map(|v| status_of(&v))
        })
    }

    fn list(&self) -> ApiResult<Vec<ContainerStatus>> {
        self.with(|st| {
            Ok(st
                .portlayer
                .container_views(&st.world)
                .iter()
                .map(status_of)
                .collect())
        })
    }

    fn vch_info(&self) -> ApiResult<VchCapacity> {
        self.with(|st| {
            let i = st.portlayer.vch_info(&st.world)?;
            Ok(VchCapacity {
                cpu_mhz: i.cpu_mhz,
                memory_mb: i.memory_mb,
                cpu_usage_mhz: i.cpu_usage_mhz,
                memory_usage_mb: i.memory_usage_mb,
                host_product_name: i.host_product_name,
            })
        })
    }
}

impl PersonaApi for InProcess {
    fn pull(&self, reference: &str) -> ApiResult<ImageRef> {
        let mut st = self.shared.lock();
        let st = &mut *st;
        let r = st
            .persona
            .pull(&mut st.world, &mut st.portlayer, reference)
            .map_err(persona_err)?;
        Ok(ImageRef {
            store: Persona::store(&st.portlayer),
            layer: r.image.top_layer,
            image_id: r.image.image_id,
            repo: r.reference,
            cmd: r.image.cmd,
        })
    }

    fn lookup(&self, reference: &str) -> ApiResult<Option<ImageRef>> {
        let st = self.shared.lock();
        Ok(st.persona.find_image(reference).ok().map(|r| ImageRef {
            store: Persona::store(&st.portlayer),
            layer: r.top_layer.clone(),
            image_id: r.image_id.clone(),
            repo: r
                .repo_tags
                .iter()
                .next()
                .cloned()
                .unwrap_or_else(|| reference.to_string()),
            cmd: r.cmd.clone(),
        }))
    }
}
