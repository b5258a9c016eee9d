//! Pods as the state machine generates them: a few containers sharing one image, each with
//! optional CPU and memory quantities (as requests, or as limits only), an image pull policy
//! and a grace period. The model sizes them with the provider's documented rule; the system
//! under test turns them into real Kubernetes pods.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// CPU quantities pods ask for, with their value in millicores.
pub const CPU: [(&str, u64); 6] = [
    ("100m", 100),
    ("500m", 500),
    ("1", 1000),
    ("1500m", 1500),
    ("3", 3000),
    ("6", 6000),
];
/// Memory quantities pods ask for, with their value in bytes (`1500M` is decimal).
pub const MEMORY: [(&str, u64); 6] = [
    ("64Mi", 64 << 20),
    ("300Mi", 300 << 20),
    ("1Gi", 1 << 30),
    ("1500M", 1_500_000_000),
    ("4Gi", 4 << 30),
    ("6Gi", 6 << 30),
];
/// A quantity Kubernetes' grammar refuses: the pod is invalid.
pub const BAD_QUANTITY: &str = "lots";

/// Namespaces pods live in. `team` + `a-web` and `team-a` + `web` are different pods whose
/// names joined with `-` are the same, which the provider must keep apart.
pub const NAMESPACES: [&str; 3] = ["default", "team", "team-a"];
/// Pod names.
pub const NAMES: [&str; 3] = ["web", "a-web", "db"];

/// A pod's identity: namespace and name.
pub type PodKey = (&'static str, &'static str);

/// One quantity of one container: an index into [`CPU`] or [`MEMORY`], and whether it is
/// given as a limit only (which the provider then counts as the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount {
    /// Index into the table.
    pub idx: usize,
    /// Given as `limits` without `requests`.
    pub limit_only: bool,
}

/// One container's resources.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ContainerShape {
    /// CPU, if stated.
    pub cpu: Option<Amount>,
    /// Memory, if stated.
    pub memory: Option<Amount>,
}

/// Shown as the quantities the pod states (`{cpu: 500m, memory: limit 1Gi}`), so that a shrunk
/// failure reads like a pod spec.
impl std::fmt::Debug for ContainerShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |table: &[(&str, u64)], a: Option<Amount>| match a {
            None => "-".to_string(),
            Some(a) if a.limit_only => format!("limit {}", table[a.idx].0),
            Some(a) => table[a.idx].0.to_string(),
        };
        write!(
            f,
            "{{cpu: {}, memory: {}}}",
            show(&CPU, self.cpu),
            show(&MEMORY, self.memory)
        )
    }
}

/// A pod to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodShape {
    /// Its containers (named `c0`, `c1`, ...), all running `image`.
    pub containers: Vec<ContainerShape>,
    /// The image reference.
    pub image: &'static str,
    /// `imagePullPolicy` of every container; `None` is Kubernetes' default for the tag.
    pub pull_policy: Option<&'static str>,
    /// `terminationGracePeriodSeconds`.
    pub grace_secs: Option<i64>,
    /// The first container's CPU is [`BAD_QUANTITY`].
    pub bad_quantity: bool,
}

/// What a pod requests and the pod VM it gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizing {
    /// CPU requested, millicores (0: none stated).
    pub cpu_millis: u64,
    /// Memory requested, bytes (0: none stated).
    pub memory_bytes: u64,
    /// vCPUs of the pod VM.
    pub vcpus: u32,
    /// Memory of the pod VM, MB.
    pub memory_mb: u64,
}

impl PodShape {
    /// The provider's documented sizing: requests (else limits) summed over containers; vCPUs
    /// rounded up from millicores (at least 1; 2 when no container states CPU); memory in MB
    /// rounded up, at least 512, to a multiple of 128 (2048 when none is stated).
    pub fn sizing(&self) -> Sizing {
        let cpu: Vec<u64> = self
            .containers
            .iter()
            .filter_map(|c| c.cpu.map(|a| CPU[a.idx].1))
            .collect();
        let mem: Vec<u64> = self
            .containers
            .iter()
            .filter_map(|c| c.memory.map(|a| MEMORY[a.idx].1))
            .collect();
        let (cpu_millis, memory_bytes) = (cpu.iter().sum::<u64>(), mem.iter().sum::<u64>());
        let vcpus = if cpu.is_empty() {
            2
        } else {
            u32::try_from(cpu_millis.div_ceil(1000).max(1)).unwrap_or(u32::MAX)
        };
        let memory_mb = if mem.is_empty() {
            2048
        } else {
            memory_bytes.div_ceil(1 << 20).max(512).div_ceil(128) * 128
        };
        Sizing {
            cpu_millis,
            memory_bytes,
            vcpus,
            memory_mb,
        }
    }

    /// The same pod asking for the most of everything (an update a kubelet cannot apply).
    pub fn resized(&self) -> PodShape {
        let most = |len: usize| {
            Some(Amount {
                idx: len - 1,
                limit_only: false,
            })
        };
        PodShape {
            containers: vec![
                ContainerShape {
                    cpu: most(CPU.len()),
                    memory: most(MEMORY.len()),
                };
                self.containers.len()
            ],
            ..self.clone()
        }
    }

    /// The pull policy in force: the stated one, else Kubernetes' default (`Always` for
    /// `latest` or no tag, `IfNotPresent` otherwise).
    pub fn effective_pull_policy(&self) -> &'static str {
        match self.pull_policy {
            Some(p) => p,
            None => match self
                .image
                .rsplit('/')
                .next()
                .and_then(|l| l.split_once(':'))
            {
                Some((_, tag)) if tag != "latest" => "IfNotPresent",
                _ => "Always",
            },
        }
    }

    /// The Kubernetes pod.
    pub fn to_pod(&self, key: PodKey, labels: Option<&BTreeMap<String, String>>) -> Pod {
        let quantity = |table: &[(&str, u64)], a: Amount| Quantity(table[a.idx].0.to_string());
        let containers = self
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut requests = BTreeMap::new();
                let mut limits = BTreeMap::new();
                let mut put = |name: &str, q: Quantity, limit_only: bool| {
                    if limit_only {
                        limits.insert(name.to_string(), q);
                    } else {
                        requests.insert(name.to_string(), q);
                    }
                };
                if let Some(a) = c.cpu {
                    put("cpu", quantity(&CPU, a), a.limit_only);
                }
                if let Some(a) = c.memory {
                    put("memory", quantity(&MEMORY, a), a.limit_only);
                }
                if i == 0 && self.bad_quantity {
                    requests.insert("cpu".into(), Quantity(BAD_QUANTITY.into()));
                }
                Container {
                    name: format!("c{i}"),
                    image: Some(self.image.to_string()),
                    image_pull_policy: self.pull_policy.map(str::to_string),
                    command: Some(vec!["sleep".into(), "3600".into()]),
                    resources: Some(ResourceRequirements {
                        requests: (!requests.is_empty()).then_some(requests),
                        limits: (!limits.is_empty()).then_some(limits),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            })
            .collect();
        Pod {
            metadata: ObjectMeta {
                namespace: Some(key.0.to_string()),
                name: Some(key.1.to_string()),
                uid: Some(format!("uid-{}-{}", key.0, key.1)),
                labels: labels.cloned(),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers,
                termination_grace_period_seconds: self.grace_secs,
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(containers: Vec<ContainerShape>) -> PodShape {
        PodShape {
            containers,
            image: "busybox:1.36",
            pull_policy: None,
            grace_secs: None,
            bad_quantity: false,
        }
    }

    fn req(idx: usize) -> Option<Amount> {
        Some(Amount {
            idx,
            limit_only: false,
        })
    }

    #[test]
    fn the_model_sizes_pods_as_the_provider_does() {
        let cases = [
            shape(vec![ContainerShape {
                cpu: None,
                memory: None,
            }]),
            shape(vec![
                ContainerShape {
                    cpu: req(1),
                    memory: req(1),
                },
                ContainerShape {
                    cpu: Some(Amount {
                        idx: 3,
                        limit_only: true,
                    }),
                    memory: req(3),
                },
            ]),
            shape(vec![ContainerShape {
                cpu: req(5),
                memory: req(5),
            }]),
        ];
        for s in cases {
            let pod = s.to_pod(("default", "web"), None);
            let real = provider::sizing::pod_size(pod.spec.as_ref().expect("spec"))
                .expect("valid quantities");
            let m = s.sizing();
            assert_eq!(
                (m.cpu_millis, m.memory_bytes, m.vcpus, m.memory_mb),
                (
                    real.cpu_request_millis,
                    real.memory_request_bytes,
                    real.vcpus,
                    real.memory_mb
                ),
                "{s:?}"
            );
        }
    }

    #[test]
    fn container_shapes_read_as_the_quantities_they_state() {
        let c = ContainerShape {
            cpu: req(1),
            memory: Some(Amount {
                idx: 2,
                limit_only: true,
            }),
        };
        assert_eq!(format!("{c:?}"), "{cpu: 500m, memory: limit 1Gi}");
        let none = ContainerShape {
            cpu: None,
            memory: None,
        };
        assert_eq!(format!("{none:?}"), "{cpu: -, memory: -}");
    }

    #[test]
    fn default_pull_policies_follow_the_tag() {
        let mut s = shape(vec![]);
        assert_eq!(s.effective_pull_policy(), "IfNotPresent");
        s.image = "busybox";
        assert_eq!(s.effective_pull_policy(), "Always");
        s.pull_policy = Some("Never");
        assert_eq!(s.effective_pull_policy(), "Never");
    }
}
