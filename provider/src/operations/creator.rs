//! PodCreator: validates the pod, resolves its image through the persona by pull policy, sizes
//! the pod VM, and builds it on one handle: image join, one task per container, the default
//! bridge network, serial ports, emptyDir volumes; then commits. Any failure rolls back what
//! was created (volumes; the commit itself creates the VM atomically), so nothing is left.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};

use super::object_name;
use crate::cache::{identity_annotations, pod_key, stored_json};
use crate::client::{ApiError, ContainerSpec, ImageRef, PersonaApi, PortLayerApi, TaskSpec};
use crate::error::{ProviderError, at};
use crate::quantity::memory_bytes;
use crate::sizing::pod_size;

/// Capacity of an emptyDir volume without a size limit, MB (VIC's volume default).
pub const EMPTY_DIR_DEFAULT_MB: u64 = 1024;

/// An emptyDir volume of the pod: its port layer name and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodVolume {
    /// The volume's name in the pod spec.
    pub pod_name: String,
    /// Its name in the port layer: `<namespace>-<pod>-<volume>`.
    pub name: String,
    /// Capacity in MB.
    pub capacity_mb: u64,
}

/// The port layer volumes of a pod's emptyDir volumes (also what the deleter removes).
pub fn pod_volumes(pod: &Pod) -> Result<Vec<PodVolume>, ProviderError> {
    let (ns, name) = pod_key(pod);
    let mut out = Vec::new();
    for v in pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .into_iter()
        .flatten()
    {
        let Some(empty_dir) = &v.empty_dir else {
            return Err(ProviderError::Unsupported(format!(
                "volume {}: only emptyDir volumes are supported",
                v.name
            )));
        };
        let capacity_mb = match &empty_dir.size_limit {
            Some(q) => memory_bytes(&q.0)
                .map_err(|e| ProviderError::InvalidPod(e.to_string()))?
                .div_ceil(1024 * 1024)
                .max(1),
            None => EMPTY_DIR_DEFAULT_MB,
        };
        let pl_name = object_name(&[&ns, &name, &v.name]);
        if pl_name.len() > 128 {
            return Err(ProviderError::InvalidPod(format!(
                "volume name {pl_name} is longer than 128 characters"
            )));
        }
        out.push(PodVolume {
            pod_name: v.name.clone(),
            name: pl_name,
            capacity_mb,
        });
    }
    Ok(out)
}

/// What the pod asks that this provider cannot do, checked before anything is created.
fn validate(spec: &PodSpec) -> Result<(), ProviderError> {
    if spec.containers.is_empty() {
        return Err(ProviderError::InvalidPod(
            "a pod needs at least one container".into(),
        ));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        if c.name.is_empty() || spec.containers[..i].iter().any(|o| o.name == c.name) {
            return Err(ProviderError::InvalidPod(format!(
                "container names must be unique and non-empty: `{}`",
                c.name
            )));
        }
        if c.image.as_deref().unwrap_or("").is_empty() {
            return Err(ProviderError::InvalidPod(format!(
                "container {} has no image",
                c.name
            )));
        }
    }
    if spec.init_containers.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(ProviderError::Unsupported("init containers".into()));
    }
    if spec.host_network == Some(true) {
        return Err(ProviderError::Unsupported(
            "hostNetwork (VIC refuses --net=host)".into(),
        ));
    }
    Ok(())
}

/// Kubernetes' default pull policy: `Always` for `:latest` or untagged images, else `IfNotPresent`.
pub fn pull_policy(c: &Container) -> String {
    if let Some(p) = &c.image_pull_policy {
        return p.clone();
    }
    let image = c.image.as_deref().unwrap_or("");
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent".into(),
        _ => "Always".into(),
    }
}

/// Resolves the container's image through the persona, honoring its pull policy.
fn resolve_image(
    persona: &(impl PersonaApi + ?Sized),
    c: &Container,
) -> Result<ImageRef, ProviderError> {
    let image = c.image.clone().unwrap_or_default();
    let pull_err = |e: ApiError| ProviderError::ImagePull {
        image: image.clone(),
        message: e.message,
    };
    match pull_policy(c).as_str() {
        "Always" => persona.pull(&image).map_err(pull_err),
        "IfNotPresent" => match persona.lookup(&image).map_err(pull_err)? {
            Some(r) => Ok(r),
            None => persona.pull(&image).map_err(pull_err),
        },
        "Never" => persona
            .lookup(&image)
            .map_err(pull_err)?
            .ok_or(ProviderError::ImageNeverPull {
                image: image.clone(),
            }),
        other => Err(ProviderError::InvalidPod(format!(
            "unknown imagePullPolicy `{other}`"
        ))),
    }
}

/// The task a Kubernetes container becomes: its command and args (or the image's command).
fn task(c: &Container, image: &ImageRef, primary: bool) -> Result<TaskSpec, ProviderError> {
    let mut argv: Vec<String> = match (&c.command, &c.args) {
        (Some(cmd), args) if !cmd.is_empty() => {
            cmd.iter().chain(args.iter().flatten()).cloned().collect()
        }
        (_, Some(args)) if !args.is_empty() => image
            .cmd
            .iter()
            .take(1)
            .chain(args.iter())
            .cloned()
            .collect(),
        _ => image.cmd.clone(),
    };
    if argv.is_empty() {
        return Err(ProviderError::InvalidPod(format!(
            "container {} has no command and its image none",
            c.name
        )));
    }
    let path = argv.remove(0);
    let env = c
        .env
        .iter()
        .flatten()
        .map(|e| format!("{}={}", e.name, e.value.clone().unwrap_or_default()))
        .collect();
    Ok(TaskSpec {
        id: (!primary).then(|| c.name.clone()),
        path,
        args: argv,
        env,
        working_dir: c.working_dir.clone().unwrap_or_default(),
        tty: c.tty.unwrap_or(false),
        open_stdin: c.stdin.unwrap_or(false),
    })
}

/// Pod annotations under this prefix go to the pod VM: they tell vcsim-lite's simulated
/// guest how to behave (for example `vcsim-lite.io/stop-delay-seconds`).
pub const SIMULATION_PREFIX: &str = "vcsim-lite.io/";

/// The pod VM's annotations: the pod's identity and its simulation annotations.
fn container_annotations(pod: &Pod, json: &str) -> std::collections::BTreeMap<String, String> {
    let mut a = identity_annotations(pod, json);
    let sim = pod.metadata.annotations.iter().flatten();
    a.extend(
        sim.filter(|(k, _)| k.starts_with(SIMULATION_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    a
}

/// Creates the pod VM for `pod` (not started); returns its container id.
pub fn create(
    pl: &(impl PortLayerApi + ?Sized),
    persona: &(impl PersonaApi + ?Sized),
    pod: &Pod,
) -> Result<String, ProviderError> {
    create_stored(pl, persona, pod, &stored_json(pod))
}

/// [`create`] for a caller that already has the pod's [`stored_json`].
pub fn create_stored(
    pl: &(impl PortLayerApi + ?Sized),
    persona: &(impl PersonaApi + ?Sized),
    pod: &Pod,
    json: &str,
) -> Result<String, ProviderError> {
    let spec = pod
        .spec
        .as_ref()
        .ok_or_else(|| ProviderError::InvalidPod("the pod has no spec".into()))?;
    validate(spec)?;
    let size = pod_size(spec).map_err(|e| ProviderError::InvalidPod(e.to_string()))?;
    let volumes = pod_volumes(pod)?;
    let images: Vec<ImageRef> = spec
        .containers
        .iter()
        .map(|c| resolve_image(persona, c))
        .collect::<Result<_, _>>()?;
    let tasks: Vec<TaskSpec> = spec
        .containers
        .iter()
        .zip(&images)
        .enumerate()
        .map(|(i, (c, image))| task(c, image, i == 0))
        .collect::<Result<_, _>>()?;
    // The first container's image is the pod VM's own layer; each further image gets a layer
    // named after the first container that runs it.
    let mut layers: Vec<(&str, &ImageRef)> = Vec::new();
    for (c, image) in spec.containers.iter().zip(&images) {
        if !layers.iter().any(|(_, l)| l.layer == image.layer) {
            let delta = if layers.is_empty() {
                ""
            } else {
                c.name.as_str()
            };
            layers.push((delta, image));
        }
    }

    let mut created_volumes = Vec::new();
    let mut created_id = None;
    let result = (|| {
        for v in &volumes {
            pl.volume_create(&v.name, v.capacity_mb)
                .map_err(at("volume create"))?;
            created_volumes.push(v.name.clone());
        }
        let (ns, name) = pod_key(pod);
        let cspec = ContainerSpec {
            name: object_name(&[&ns, &name]),
            num_cpus: size.vcpus,
            memory_mb: size.memory_mb,
            annotations: container_annotations(pod, json),
        };
        let (id, h) = pl.create(&cspec).map_err(at("create"))?;
        created_id = Some(id.clone());
        let mut h = h;
        for (delta, image) in &layers {
            h = pl.image_join(&h, image, delta).map_err(at("image join"))?;
        }
        for t in &tasks {
            let (nh, sid) = pl.task_join(&h, t).map_err(at("task join"))?;
            h = pl.task_bind(&nh, &sid).map_err(at("task bind"))?;
        }
        h = pl.scopes_add(&h, "default").map_err(at("scopes add"))?;
        h = pl.io_join(&h).map_err(at("interaction and logging join"))?;
        for v in &volumes {
            let mount = spec
                .containers
                .iter()
                .flat_map(|c| c.volume_mounts.iter().flatten())
                .find(|m| m.name == v.pod_name);
            if let Some(m) = mount {
                h = pl
                    .volume_join(&h, &v.name, &m.mount_path)
                    .map_err(at("volume join"))?;
            }
        }
        pl.commit(&h, None).map_err(at("commit"))?;
        Ok(id)
    })();
    if result.is_err() {
        // The VM exists only after a successful commit, so what remains to undo is the
        // uncommitted container (which holds its name) and the volumes.
        if let Some(id) = &created_id {
            let _ = pl.remove(id);
        }
        for v in &created_volumes {
            let _ = pl.volume_delete(v);
        }
    }
    result
}
