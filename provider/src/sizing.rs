//! The pod VM's size from the pod's containers: the sum of their requests (a container without
//! a request counts its limit), vCPUs rounded up from millicores, memory rounded up to a multiple
//! of 128 MB; VIC's defaults (2 vCPUs, 2048 MB) for what no container states, and VIC's minimum
//! of 512 MB. The 2018 provider computed this and then ignored it; this one uses it.

use k8s_openapi::api::core::v1::{Container, PodSpec};

use crate::quantity::{QuantityError, cpu_millis, memory_bytes};

/// VIC's default vCPUs for a container VM.
pub const DEFAULT_VCPUS: u32 = 2;
/// VIC's default memory for a container VM, in MB.
pub const DEFAULT_MEMORY_MB: u64 = 2048;
/// VIC's smallest container VM, in MB.
pub const MIN_MEMORY_MB: u64 = 512;
/// Memory sizes are multiples of this, in MB.
pub const MEMORY_STEP_MB: u64 = 128;

/// A pod VM's size, and what the pod requests (for kubelet-style admission).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PodSize {
    /// vCPUs of the pod VM.
    pub vcpus: u32,
    /// Memory of the pod VM, MB.
    pub memory_mb: u64,
    /// CPU the pod requests, millicores (0 if none stated).
    pub cpu_request_millis: u64,
    /// Memory the pod requests, bytes (0 if none stated).
    pub memory_request_bytes: u64,
}

/// Request, else limit, of `resource` for one container.
fn wanted<'a>(c: &'a Container, resource: &str) -> Option<&'a str> {
    let r = c.resources.as_ref()?;
    r.requests
        .as_ref()
        .and_then(|m| m.get(resource))
        .or_else(|| r.limits.as_ref().and_then(|m| m.get(resource)))
        .map(|q| q.0.as_str())
}

/// Sizes the pod VM for `spec`.
pub fn pod_size(spec: &PodSpec) -> Result<PodSize, QuantityError> {
    let (mut cpu, mut mem, mut cpu_stated, mut mem_stated) = (0u64, 0u64, false, false);
    for c in &spec.containers {
        if let Some(q) = wanted(c, "cpu") {
            cpu = cpu.saturating_add(cpu_millis(q)?);
            cpu_stated = true;
        }
        if let Some(q) = wanted(c, "memory") {
            mem = mem.saturating_add(memory_bytes(q)?);
            mem_stated = true;
        }
    }
    let vcpus = if cpu_stated {
        u32::try_from(cpu.div_ceil(1000).max(1)).unwrap_or(u32::MAX)
    } else {
        DEFAULT_VCPUS
    };
    let memory_mb = if mem_stated {
        mem.div_ceil(1024 * 1024)
            .max(MIN_MEMORY_MB)
            .div_ceil(MEMORY_STEP_MB)
            .saturating_mul(MEMORY_STEP_MB)
    } else {
        DEFAULT_MEMORY_MB
    };
    Ok(PodSize {
        vcpus,
        memory_mb,
        cpu_request_millis: cpu,
        memory_request_bytes: mem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;

    fn container(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Container {
        let map = |kv: &[(&str, &str)]| {
            (!kv.is_empty()).then(|| {
                kv.iter()
                    .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: map(requests),
                limits: map(limits),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn size(containers: Vec<Container>) -> PodSize {
        pod_size(&PodSpec {
            containers,
            ..Default::default()
        })
        .expect("valid quantities")
    }

    #[test]
    fn nothing_stated_gives_vics_defaults() {
        let s = size(vec![Container {
            name: "c".into(),
            ..Default::default()
        }]);
        assert_eq!(
            (
                s.vcpus,
                s.memory_mb,
                s.cpu_request_millis,
                s.memory_request_bytes
            ),
            (2, 2048, 0, 0)
        );
    }

    #[test]
    fn requests_are_summed_and_rounded_up() {
        let s = size(vec![
            container(&[("cpu", "250m"), ("memory", "300Mi")], &[]),
            container(&[("cpu", "1")], &[("memory", "100Mi")]),
        ]);
        assert_eq!(s.vcpus, 2, "1250m rounds up to 2 vCPUs");
        assert_eq!(s.memory_mb, 512, "400 MiB is below the 512 MB minimum");
        assert_eq!(s.cpu_request_millis, 1250);
        assert_eq!(s.memory_request_bytes, 400 * 1024 * 1024);
        let s = size(vec![container(&[("memory", "1000Mi")], &[])]);
        assert_eq!(s.memory_mb, 1024, "1000 MB rounds up to a multiple of 128");
        let s = size(vec![container(&[("cpu", "1m")], &[])]);
        assert_eq!(s.vcpus, 1);
    }

    #[test]
    fn limits_count_when_no_request_is_given() {
        let s = size(vec![container(&[], &[("cpu", "3"), ("memory", "4Gi")])]);
        assert_eq!((s.vcpus, s.memory_mb), (3, 4096));
    }

    #[test]
    fn a_bad_quantity_is_an_error() {
        assert!(
            pod_size(&PodSpec {
                containers: vec![container(&[("cpu", "lots")], &[])],
                ..Default::default()
            })
            .is_err()
        );
    }
}
