//! Random and mutated SOAP bodies against the endpoint: every answer is a well-formed
//! response or fault (never a panic), and a refused request leaves the world as it was. The
//! seed is proptest's (`PROPTEST_RNG_SEED` replays; failures print the shrunk input).

use proptest::prelude::*;
use vcsim_lite::soap::{Endpoint, SoapConfig};
use vcsim_lite::vsphere::{LatencyProfile, World, WorldBuilder};

const METHODS: &[&str] = &[
    "RetrieveServiceContent",
    "Login",
    "RetrievePropertiesEx",
    "RetrieveProperties",
    "CreateFilter",
    "WaitForUpdatesEx",
    "Fetch",
    "CreateContainerView",
    "CreateVM_Task",
    "PowerOnVM_Task",
    "PowerOffVM_Task",
    "Destroy_Task",
    "ReconfigVM_Task",
    "QueryEvents",
    "FindByInventoryPath",
    "NoSuchMethod",
];

const THIS: &[(&str, &str)] = &[
    ("ServiceInstance", "ServiceInstance"),
    ("SessionManager", "SessionManager"),
    ("PropertyCollector", "propertyCollector"),
    ("Folder", "group-d1"),
    ("Folder", "group-v3"),
    ("VirtualMachine", "vm-1"),
    ("VirtualMachine", "vm-99999"),
    ("ViewManager", "ViewManager"),
    ("EventManager", "EventManager"),
    ("SearchIndex", "SearchIndex"),
    ("Task", "task-1"),
    ("Folder", "session[x]1"),
];

const ARGS: &[&str] = &[
    "",
    "<userName>u</userName><password>p</password>",
    "<specSet><propSet><type>VirtualMachine</type><all>true</all></propSet><objectSet><obj type=\"Folder\">group-d1</obj><selectSet xsi:type=\"TraversalSpec\"><type>Folder</type><path>childEntity</path></selectSet></objectSet></specSet>",
    "<specSet><propSet><type>ManagedEntity</type><pathSet>name</pathSet></propSet><objectSet><obj>vm-1</obj><selectSet><name>loop</name></selectSet></objectSet></specSet>",
    "<prop>summary.config.guestFullName</prop>",
    "<prop>childEntity</prop>",
    "<config><name>f</name><files><vmPathName>[sharedDS]</vmPathName></files><memoryMB>-5</memoryMB></config><pool>resgroup-8</pool>",
    "<config><name>f</name><files><vmPathName>[sharedDS]</vmPathName></files><numCPUs>1</numCPUs><memoryMB>128</memoryMB></config><pool type=\"ResourcePool\">resgroup-9</pool>",
    "<container type=\"Folder\">group-d1</container><type>VirtualMachine</type><recursive>maybe</recursive>",
    "<spec><numCPUs>999999999999</numCPUs></spec>",
    "<options><maxWaitSeconds>0</maxWaitSeconds></options>",
    "<filter><entity><entity type=\"Folder\">group-d1</entity><recursion>all</recursion></entity></filter>",
    "<inventoryPath>/DC0/vm/vch</inventoryPath>",
];

fn world() -> World {
    WorldBuilder::new()
        .latency(LatencyProfile::zero())
        .build()
        .expect("world")
}

fn body(method: usize, this: usize, args: usize) -> String {
    let m = METHODS[method];
    let (t, v) = THIS[this];
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><{m} xmlns=\"urn:vim25\"><_this type=\"{t}\">{v}</_this>{}</{m}></soapenv:Body></soapenv:Envelope>",
        ARGS[args]
    )
}

/// A request: a well-formed call, or that call with bytes cut, replaced or inserted.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let call = (0..METHODS.len(), 0..THIS.len(), 0..ARGS.len()).prop_map(|(m, t, a)| body(m, t, a));
    (
        call,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..4),
    )
        .prop_map(|(b, edits)| {
            let mut bytes = b.into_bytes();
            for (at, byte, kind) in edits {
                let i = at.index(bytes.len().max(1)).min(bytes.len());
                match kind {
                    0 => bytes.truncate(i),
                    1 if i < bytes.len() => bytes[i] = byte,
                    _ => bytes.insert(i, byte),
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_body_gets_a_response_and_refusals_change_nothing(
        reqs in prop::collection::vec(request(), 1..12)
    ) {
        let mut w = world();
        let mut ep = Endpoint::new(SoapConfig::default());
        let mut cookie: Option<String> = None;
        for r in &reqs {
            let before = (w.events().digest(), w.vms().len(), ep.session_count());
            let reply = ep.call(&mut w, cookie.as_deref(), r, false);
            prop_assert!(reply.status == 200 || reply.status == 500);
            prop_assert!(reply.body.starts_with("<?xml") && reply.body.ends_with("</soapenv:Envelope>"));
            if reply.status == 500 {
                prop_assert!(reply.body.contains("<faultstring>") && reply.body.contains("xsi:type=\""));
                prop_assert_eq!(before, (w.events().digest(), w.vms().len(), ep.session_count()));
            }
            if let Some(c) = reply.set_cookie {
                cookie = Some(c);
            }
            w.check_invariants().map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }
}
