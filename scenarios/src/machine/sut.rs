//! The system under test: the whole stack in one process. A world built from the case's
//! [`Setup`], a VCH created by the port layer, the persona, all behind the HTTP layer's
//! [`Shared`] lock with frozen time, the in-process client, and a `VicProvider` over it. Steps
//! go through the provider (pods), its operations (start and stop, as a kubelet restarting or
//! stopping a pod would), or the world's public operations (hosts, pools, faults, time).

use k8s_openapi::api::core::v1::Pod;
use provider::error::ProviderError;
use provider::node::NodeConfig;
use provider::operations::{starter, stopper};
use provider::vic::VicProvider;
use vcsim_lite::http::{Shared, Stack};
use vcsim_lite::inprocess::InProcess;
use vcsim_lite::persona::{Catalogue, Persona};
use vcsim_lite::portlayer::PortLayer;
use vcsim_lite::sim::SimDuration;
use vcsim_lite::sim::fault::FaultRule;
use vcsim_lite::vsphere::{
    Allocation, DatastoreId, HostId, LatencyProfile, PoolId, Shares, UsageModel, VsphereError,
    World, WorldBuilder,
};

use super::model::Model;
use super::pod::{PodKey, PodShape};
use super::setup::{DATASTORE, Limits, MHZ_PER_CORE, START, Setup, host_name};
use super::transitions::Transition;

/// The address the node reports as its InternalIP (and pods as their host IP).
pub const NODE_IP: &str = "10.0.0.5";

/// What a step did.
#[derive(Debug)]
pub enum Outcome {
    /// A pod step through the provider or its operations.
    Provider(Result<(), ProviderError>),
    /// A vSphere operation.
    World(Result<(), VsphereError>),
    /// A provider restart: `rebuild()`'s answer.
    Rebuilt(Result<usize, ProviderError>),
}

/// The stack of one case.
pub struct Sut {
    /// The stack, as the HTTP layer shares it.
    pub shared: Shared,
    /// The provider (replaced on restart).
    pub provider: VicProvider<InProcess>,
    /// The client the provider's operations use directly.
    pub client: InProcess,
    /// The node's configuration.
    pub node: NodeConfig,
    /// The cluster's hosts, in the model's order.
    pub hosts: Vec<HostId>,
    /// The VCH's resource pool.
    pub vch_pool: PoolId,
    /// The image datastore.
    pub datastore: DatastoreId,
    /// The image store's name.
    pub store: String,
    /// What the last step did.
    pub outcome: Outcome,
}

/// Builds the world and the VCH of `setup`; panics only on a setup the generator cannot
/// produce (a bug in this module, not in the stack).
fn stack(setup: &Setup) -> Stack {
    let mut world = WorldBuilder::new()
        .seed(setup.seed)
        .start_time(START)
        .inventory(setup.inventory())
        .latency(LatencyProfile::zero())
        .usage_model(UsageModel::ESX)
        .build()
        .expect("generated inventories build");
    let mut portlayer = PortLayer::create(&mut world, setup.vch_config()).expect("the VCH fits");
    // The image store exists from the start (the persona would create it on the first pull),
    // so that the starting accounting includes it.
    let store = Persona::store(&portlayer);
    portlayer
        .create_image_store(&mut world, &store)
        .expect("the image store fits");
    Stack {
        world,
        portlayer,
        persona: Persona::new(Catalogue::builtin()),
    }
}

impl Sut {
    /// The stack of a case.
    pub fn new(setup: &Setup) -> Sut {
        let shared = Shared::new(stack(setup), 0);
        let node = NodeConfig {
            max_pods: setup.max_pods,
            mhz_per_core: MHZ_PER_CORE,
            internal_ip: NODE_IP.into(),
            ..Default::default()
        };
        let (hosts, vch_pool, datastore, store) = {
            let st = shared.lock();
            let hosts = (0..setup.hosts.len())
                .map(|i| st.world.host_by_name(&host_name(i)).expect("built"))
                .collect();
            let ds = st.world.datastore_by_name(DATASTORE).expect("built");
            (
                hosts,
                st.portlayer.vch().pool,
                ds,
                Persona::store(&st.portlayer),
            )
        };
        let client = InProcess::new(shared.clone());
        Sut {
            provider: VicProvider::new(client.clone(), node.clone()),
            shared,
            client,
            node,
            hosts,
            vch_pool,
            datastore,
            store,
            outcome: Outcome::Provider(Ok(())),
        }
    }

    fn world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.shared.lock().world)
    }

    /// The pod VM of a cached pod, or `NotFound`.
    fn pod_vm(&self, key: PodKey) -> Result<String, ProviderError> {
        self.provider
            .cache()
            .get(key.0, key.1)
            .map(|c| c.container_id.clone())
            .ok_or_else(|| ProviderError::NotFound(format!("{}/{}", key.0, key.1)))
    }

    /// The pod object a step sends: the model's shape when the pod exists, else any (delete
    /// and update of unknown pods look only at namespace and name).
    fn pod(model: &Model, key: PodKey, label: Option<&str>, resize: bool) -> Pod {
        let shape = model.pods.get(&key).map_or_else(
            || PodShape {
                containers: Vec::new(),
                image: "busybox:1.36",
                pull_policy: None,
                grace_secs: None,
                bad_quantity: false,
            },
            |p| p.shape.clone(),
        );
        let shape = if resize { shape.resized() } else { shape };
        let labels = label.map(|v| [("app".to_string(), v.to_string())].into());
        shape.to_pod(key, labels.as_ref())
    }

    /// Applies `t`; `model` is the reference state after it.
    pub fn apply(&mut self, t: &Transition, model: &Model) {
        self.outcome = match t {
            Transition::Create(key, shape) => {
                Outcome::Provider(self.provider.create_pod(&shape.to_pod(*key, None)))
            }
            Transition::Start(key) => Outcome::Provider(
                self.pod_vm(*key)
                    .and_then(|id| starter::start(&self.client, &id)),
            ),
            Transition::Stop(key, grace) => Outcome::Provider(
                self.pod_vm(*key)
                    .and_then(|id| stopper::stop(&self.client, &id, *grace)),
            ),
            Transition::Delete(key, grace) => {
                let mut pod = Self::pod(model, *key, None, false);
                if let Some(spec) = pod.spec.as_mut() {
                    spec.termination_grace_period_seconds = *grace;
                }
                Outcome::Provider(self.provider.delete_pod(&pod))
            }
            Transition::Update(key, value, resize) => {
                let pod = Self::pod(model, *key, Some(value), *resize);
                Outcome::Provider(self.provider.update_pod(&pod))
            }
            Transition::RestartProvider => {
                self.provider = VicProvider::new(self.client.clone(), self.node.clone());
                Outcome::Rebuilt(self.provider.rebuild())
            }
            Transition::EnterMaintenance(h) => {
                let h = self.hosts[*h];
                Outcome::World(self.world(|w| w.enter_maintenance_mode(h)))
            }
            Transition::ExitMaintenance(h) => {
                let h = self.hosts[*h];
                Outcome::World(self.world(|w| w.exit_maintenance_mode(h)))
            }
            Transition::Disconnect(h) => {
                let h = self.hosts[*h];
                Outcome::World(self.world(|w| w.disconnect_host(h)))
            }
            Transition::Reconnect(h) => {
                let h = self.hosts[*h];
                Outcome::World(self.world(|w| w.reconnect_host(h)))
            }
            Transition::SetLimits(l) => Outcome::World(self.set_limits(l)),
            Transition::FaultOn(f) => {
                let rule: FaultRule = f.rule().parse().expect("the catalogue's rules parse");
                self.world(|w| w.add_fault_rule(rule));
                Outcome::World(Ok(()))
            }
            Transition::FaultsOff => {
                self.world(World::clear_fault_rules);
                Outcome::World(Ok(()))
            }
            Transition::Advance(secs) => {
                self.world(|w| {
                    w.advance_to(w.now().plus(SimDuration::from_secs(u64::from(*secs))))
                });
                Outcome::World(Ok(()))
            }
        };
    }

    /// The VCH pool's new limits, as vic-machine configures them (no reservation,
    /// expandable, normal shares).
    fn set_limits(&self, l: &Limits) -> Result<(), VsphereError> {
        let alloc = |limit: Option<u64>| Allocation {
            reservation: 0,
            limit,
            expandable: true,
            shares: Shares::Normal,
        };
        let pool = self.vch_pool;
        self.world(|w| w.update_pool(pool, alloc(l.cpu_mhz), alloc(l.memory_mb)))
    }
}
