//! Each method through the router, with the values a client reads checked against the world.

use axum::http::StatusCode;
use vcsim_lite::soap::{Credentials, SoapConfig};
use vcsim_lite::vsphere::guest::{VicRole, vic_role};

use super::{Client, fault_type, stack, texts};

#[tokio::test]
async fn service_content_and_version_list_need_no_session() {
    let mut c = Client::new();
    let body = c
        .ok(
            "RetrieveServiceContent",
            ("ServiceInstance", "ServiceInstance"),
            "",
        )
        .await;
    assert!(
        body.contains("<rootFolder type=\"Folder\">group-d1</rootFolder>"),
        "{body}"
    );
    assert_eq!(texts(&body, "apiType"), ["VirtualCenter"]);
    assert_eq!(texts(&body, "apiVersion"), ["8.0.3.0"]);
    let res = c
        .app
        .clone()
        .oneshot_get("/sdk/vimServiceVersions.xml")
        .await;
    assert!(res.contains("<name>urn:vim25</name>") && res.contains("<version>6.5</version>"));
}

trait GetExt {
    async fn oneshot_get(self, uri: &str) -> String;
}

impl GetExt for axum::Router {
    async fn oneshot_get(self, uri: &str) -> String {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let req = axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .expect("request");
        let res = self.oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::OK);
        let b = res.into_body().collect().await.expect("body").to_bytes();
        String::from_utf8_lossy(&b).into_owned()
    }
}

#[tokio::test]
async fn calls_without_a_session_are_not_authenticated_and_logout_ends_it() {
    let mut c = Client::new();
    let (status, body) = c
        .call("Fetch", ("Folder", "group-d1"), "<prop>childEntity</prop>")
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        fault_type(&body).as_deref(),
        Some("NotAuthenticated"),
        "{body}"
    );
    c.login().await;
    let cookie = c.cookie.clone().expect("cookie");
    assert!(cookie.starts_with("vmware_soap_session=\""), "{cookie}");
    let session = c
        .props("SessionManager", "SessionManager", &["currentSession"])
        .await;
    assert_eq!(texts(&session, "userName"), ["user"]);
    let key = texts(&session, "key").remove(0);
    let active = c
        .ok(
            "SessionIsActive",
            ("SessionManager", "SessionManager"),
            &format!("<sessionID>{key}</sessionID><userName>user</userName>"),
        )
        .await;
    assert_eq!(texts(&active, "returnval"), ["true"]);
    c.ok("Logout", ("SessionManager", "SessionManager"), "")
        .await;
    let (_, body) = c
        .call("Fetch", ("Folder", "group-d1"), "<prop>childEntity</prop>")
        .await;
    assert_eq!(fault_type(&body).as_deref(), Some("NotAuthenticated"));
}

#[tokio::test]
async fn wrong_credentials_are_invalid_login() {
    let config = SoapConfig {
        credentials: Credentials::Exactly {
            user: "admin".into(),
            password: "secret".into(),
        },
        ..SoapConfig::default()
    };
    let mut c = Client::with(stack(), config);
    for (u, p) in [("admin", "wrong"), ("user", "secret"), ("", "")] {
        let (status, body) = c
            .call(
                "Login",
                ("SessionManager", "SessionManager"),
                &format!("<userName>{u}</userName><password>{p}</password>"),
            )
            .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(fault_type(&body).as_deref(), Some("InvalidLogin"));
    }
    assert!(c.cookie.is_none());
    c.ok(
        "Login",
        ("SessionManager", "SessionManager"),
        "<userName>admin</userName><password>secret</password>",
    )
    .await;
}

#[tokio::test]
async fn container_view_lists_every_vm_with_vic_guest_names() {
    let mut c = Client::new();
    c.login().await;
    let view = c
        .ok(
            "CreateContainerView",
            ("ViewManager", "ViewManager"),
            "<container type=\"Folder\">group-d1</container><type>VirtualMachine</type><recursive>true</recursive>",
        )
        .await;
    let view_id = texts(&view, "returnval").remove(0);
    let vms = c.fetch("ContainerView", &view_id, "view").await;
    let mut ids = texts(&vms, "ManagedObjectReference");
    ids.sort();
    let mut world_vms: Vec<String> = c
        .shared
        .lock()
        .world
        .vms()
        .keys()
        .map(|v| v.to_string())
        .collect();
    world_vms.sort();
    assert_eq!(ids, world_vms, "the view holds exactly the world's VMs");
    let mut roles = Vec::new();
    for id in &ids {
        let cfg = c.fetch("VirtualMachine", id, "config").await;
        let name = texts(&cfg, "guestFullName").remove(0);
        let summary = c
            .props("VirtualMachine", id, &["summary.config.guestFullName"])
            .await;
        assert_eq!(texts(&summary, "val"), std::slice::from_ref(&name));
        roles.push(vic_role(&name).map(|r| r.0));
    }
    roles.sort_by_key(|r| format!("{r:?}"));
    assert_eq!(roles, [Some(VicRole::Container), Some(VicRole::Vch)]);
    c.ok("DestroyView", ("ContainerView", &view_id), "").await;
    let (_, gone) = c
        .call("Fetch", ("ContainerView", &view_id), "<prop>view</prop>")
        .await;
    assert_eq!(fault_type(&gone).as_deref(), Some("ManagedObjectNotFound"));
}

#[tokio::test]
async fn traversal_specs_walk_parents_and_folder_children_like_govc() {
    let mut c = Client::new();
    c.login().await;
    let vch = c
        .shared
        .lock()
        .world
        .vm_by_name("vch-1")
        .expect("vch")
        .to_string();
    let body = c
        .ok(
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            &format!(
                "<specSet><propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet><propSet><type>VirtualMachine</type><pathSet>parentVApp</pathSet></propSet><objectSet><obj type=\"VirtualMachine\">{vch}</obj><skip>false</skip><selectSet xsi:type=\"TraversalSpec\"><name>traverseParent</name><type>ManagedEntity</type><path>parent</path><skip>false</skip><selectSet xsi:type=\"SelectionSpec\"><name>traverseParent</name></selectSet></selectSet></objectSet></specSet><options/>"
            ),
        )
        .await;
    let names: Vec<String> = texts(&body, "val")
        .into_iter()
        .filter(|v| !v.contains('-') || v == "vch-1")
        .collect();
    assert_eq!(
        names,
        ["vch-1", "vch-1", "vm", "DC0", "Datacenters"],
        "{body}"
    );
    let children = c
        .ok(
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            "<specSet><propSet><type>Datacenter</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><type>Folder</type><path>childEntity</path><skip>false</skip></selectSet></objectSet></specSet><options/>",
        )
        .await;
    assert_eq!(texts(&children, "val"), ["DC0"]);
}

#[tokio::test]
async fn retrieve_properties_ex_pages_with_a_token() {
    let config = SoapConfig {
        page_size: 1,
        ..SoapConfig::default()
    };
    let mut c = Client::with(stack(), config);
    c.login().await;
    let spec = "<specSet><propSet><type>HostSystem</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>f</name><type>Folder</type><path>childEntity</path><selectSet><name>f</name></selectSet><selectSet><name>dc</name></selectSet><selectSet><name>cr</name></selectSet></selectSet><selectSet xsi:type=\"TraversalSpec\"><name>dc</name><type>Datacenter</type><path>hostFolder</path><selectSet><name>f</name></selectSet></selectSet><selectSet xsi:type=\"TraversalSpec\"><name>cr</name><type>ComputeResource</type><path>host</path></selectSet></objectSet></specSet><options><maxObjects>10</maxObjects></options>";
    let mut body = c
        .ok(
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            spec,
        )
        .await;
    let mut names = texts(&body, "val");
    while let Some(token) = texts(&body, "token").pop() {
        body = c
            .ok(
                "ContinueRetrievePropertiesEx",
                ("PropertyCollector", "propertyCollector"),
                &format!("<token>{token}</token>"),
            )
            .await;
        names.extend(texts(&body, "val"));
    }
    names.sort();
    assert_eq!(names, ["DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2", "DC0_H0"]);
}

/// Waits for a task as pyVim does: a filter on `Task[info]`, then `WaitForUpdates`.
async fn wait_task(c: &mut Client, task: &str) -> String {
    let filter = c
        .ok(
            "CreateFilter",
            ("PropertyCollector", "propertyCollector"),
            &format!("<spec><propSet><type>Task</type><all>true</all></propSet><objectSet><obj type=\"Task\">{task}</obj></objectSet></spec><partialUpdates>true</partialUpdates>"),
        )
        .await;
    let filter = texts(&filter, "returnval").remove(0);
    let update = c
        .ok(
            "WaitForUpdates",
            ("PropertyCollector", "propertyCollector"),
            "",
        )
        .await;
    assert_eq!(texts(&update, "kind"), ["enter"], "{update}");
    c.ok("DestroyPropertyFilter", ("PropertyFilter", &filter), "")
        .await;
    update
}

#[tokio::test]
async fn vm_lifecycle_runs_as_tasks_named_by_wsdl_method() {
    let mut c = Client::new();
    c.login().await;
    let (pool, folder) = {
        let st = c.shared.lock();
        let w = &st.world;
        let dc = w.default_datacenter().expect("dc");
        (
            w.pool_by_path("DC0_C0").expect("pool").to_string(),
            dc.vm_folder.to_string(),
        )
    };
    let create = c
        .ok(
            "CreateVM_Task",
            ("Folder", &folder),
            &format!("<config><name>web</name><guestId>otherGuest64</guestId><files><vmPathName>[sharedDS]</vmPathName></files><numCPUs>2</numCPUs><memoryMB>512</memoryMB></config><pool type=\"ResourcePool\">{pool}</pool>"),
        )
        .await;
    let task = texts(&create, "returnval").remove(0);
    let update = wait_task(&mut c, &task).await;
    assert_eq!(texts(&update, "name")[1], "CreateVM_Task", "{update}");
    assert_eq!(texts(&update, "state"), ["success"]);
    let vm = texts(&update, "result").remove(0);
    let vm_id = c
        .shared
        .lock()
        .world
        .vm_by_name("web")
        .expect("created")
        .to_string();
    assert_eq!(vm, vm_id);
    for (method, state) in [
        ("PowerOnVM_Task", "poweredOn"),
        ("PowerOffVM_Task", "poweredOff"),
    ] {
        let t = c.ok(method, ("VirtualMachine", &vm), "").await;
        let info = c.fetch("Task", &texts(&t, "returnval")[0], "info").await;
        assert_eq!(texts(&info, "name"), [method]);
        assert_eq!(texts(&info, "state"), ["success"]);
        let ps = c
            .props("VirtualMachine", &vm, &["runtime.powerState"])
            .await;
        assert_eq!(texts(&ps, "val"), [state]);
    }
    let t = c
        .ok(
            "ReconfigVM_Task",
            ("VirtualMachine", &vm),
            "<spec><memoryMB>1024</memoryMB><alternateGuestName>Photon - Container v1, 2, 3</alternateGuestName></spec>",
        )
        .await;
    let info = c.fetch("Task", &texts(&t, "returnval")[0], "info").await;
    assert_eq!(texts(&info, "state"), ["success"], "{info}");
    let cfg = c
        .props(
            "VirtualMachine",
            &vm,
            &["config.hardware.memoryMB", "config.guestFullName"],
        )
        .await;
    assert_eq!(texts(&cfg, "val"), ["1024", "Photon - Container v1, 2, 3"]);
    let t = c.ok("Destroy_Task", ("VirtualMachine", &vm), "").await;
    let info = c.fetch("Task", &texts(&t, "returnval")[0], "info").await;
    assert_eq!(texts(&info, "name"), ["Destroy_Task"]);
    assert!(c.shared.lock().world.vm_by_name("web").is_none());
    let (_, gone) = c.call("PowerOnVM_Task", ("VirtualMachine", &vm), "").await;
    assert_eq!(fault_type(&gone).as_deref(), Some("ManagedObjectNotFound"));
}

#[tokio::test]
async fn admission_failure_is_a_task_error_with_the_vim_fault() {
    let mut c = Client::new();
    c.login().await;
    let (pool, folder) = {
        let st = c.shared.lock();
        let w = &st.world;
        (
            w.pool_by_path("DC0_C0").expect("pool").to_string(),
            w.default_datacenter().expect("dc").vm_folder.to_string(),
        )
    };
    let create = c
        .ok(
            "CreateVM_Task",
            ("Folder", &folder),
            &format!("<config><name>huge</name><files><vmPathName>[sharedDS]</vmPathName></files><numCPUs>1</numCPUs><memoryMB>2097152</memoryMB><memoryAllocation><reservation>2097152</reservation></memoryAllocation></config><pool type=\"ResourcePool\">{pool}</pool>"),
        )
        .await;
    let info = c
        .fetch("Task", &texts(&create, "returnval")[0], "info")
        .await;
    let vm = texts(&info, "result").remove(0);
    let before = c.fingerprint();
    let t = c.ok("PowerOnVM_Task", ("VirtualMachine", &vm), "").await;
    let info = c.fetch("Task", &texts(&t, "returnval")[0], "info").await;
    assert_eq!(texts(&info, "state"), ["error"]);
    assert!(
        info.contains("<fault xsi:type=\"InsufficientResourcesFault\">"),
        "{info}"
    );
    let after = c.fingerprint();
    assert_eq!(
        (before.0, before.2),
        (after.0, after.2),
        "events and VMs unchanged"
    );
    assert_eq!(after.1, before.1 + 1, "one failed task recorded");
    let dup = c
        .ok(
            "CreateVM_Task",
            ("Folder", &folder),
            &format!("<config><name>huge</name><files><vmPathName>[sharedDS]</vmPathName></files><memoryMB>128</memoryMB></config><pool type=\"ResourcePool\">{pool}</pool>"),
        )
        .await;
    let info = c.fetch("Task", &texts(&dup, "returnval")[0], "info").await;
    assert!(info.contains("xsi:type=\"DuplicateName\""), "{info}");
}

#[tokio::test]
async fn bad_requests_are_faults_that_change_nothing() {
    let mut c = Client::new();
    c.login().await;
    let before = c.fingerprint();
    let pool = c
        .shared
        .lock()
        .world
        .pool_by_path("DC0_C0")
        .expect("pool")
        .to_string();
    let bad_cpus = format!(
        "<config><name>x</name><files><vmPathName>[sharedDS]</vmPathName></files><numCPUs>many</numCPUs></config><pool type=\"ResourcePool\">{pool}</pool>"
    );
    let cases: Vec<(&str, (&str, &str), &str, &str)> = vec![
        (
            "MigrateVM_Task",
            ("VirtualMachine", "vm-1"),
            "",
            "NotImplemented",
        ),
        (
            "PowerOnVM_Task",
            ("VirtualMachine", "vm-999999"),
            "",
            "ManagedObjectNotFound",
        ),
        (
            "PowerOnVM_Task",
            ("Folder", "group-d1"),
            "",
            "InvalidRequest",
        ),
        (
            "CreateVM_Task",
            ("Folder", "group-d1"),
            &bad_cpus,
            "InvalidArgument",
        ),
        (
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            "<specSet><propSet><type>Folder</type><pathSet>noSuchProperty</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj></objectSet></specSet>",
            "InvalidProperty",
        ),
        (
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            "<specSet><propSet><type>Folder</type></propSet><objectSet><obj type=\"Folder\">group-x9</obj></objectSet></specSet>",
            "ManagedObjectNotFound",
        ),
        (
            "WaitForUpdatesEx",
            ("PropertyCollector", "propertyCollector"),
            "<options><maxWaitSeconds>soon</maxWaitSeconds></options>",
            "InvalidArgument",
        ),
    ];
    for (method, this, args, fault) in cases {
        let (status, body) = c.call(method, this, args).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method}");
        assert_eq!(
            fault_type(&body).as_deref(),
            Some(fault),
            "{method}: {body}"
        );
    }
    let (_, body) = c.raw(b"<Envelope><Body><Login>".to_vec()).await;
    assert_eq!(fault_type(&body).as_deref(), Some("InvalidRequest"));
    let big = vec![b'x'; vcsim_lite::soap::envelope::MAX_BODY_BYTES + 10];
    let (status, body) = c.raw(big).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("exceeds the limit"), "{body}");
    assert_eq!(c.fingerprint(), before);
}

#[tokio::test]
async fn events_are_queried_and_paged_through_a_collector() {
    let mut c = Client::new();
    c.login().await;
    let vch = c
        .shared
        .lock()
        .world
        .vm_by_name("vch-1")
        .expect("vch")
        .to_string();
    let all = c
        .ok(
            "QueryEvents",
            ("EventManager", "EventManager"),
            &format!("<filter><entity><entity type=\"VirtualMachine\">{vch}</entity><recursion>self</recursion></entity></filter>"),
        )
        .await;
    let keys = texts(&all, "key");
    let expected = c
        .shared
        .lock()
        .world
        .events()
        .events()
        .iter()
        .filter(|e| e.vm.as_ref().is_some_and(|v| v.moref.to_string() == vch))
        .count();
    assert_eq!(keys.len(), expected);
    assert!(expected >= 2, "the VCH was created and powered on");
    let col = c
        .ok(
            "CreateCollectorForEvents",
            ("EventManager", "EventManager"),
            &format!("<filter><entity><entity type=\"VirtualMachine\">{vch}</entity><recursion>all</recursion></entity></filter>"),
        )
        .await;
    let col = texts(&col, "returnval").remove(0);
    c.ok(
        "SetCollectorPageSize",
        ("EventHistoryCollector", &col),
        "<maxCount>1</maxCount>",
    )
    .await;
    let page = c.fetch("EventHistoryCollector", &col, "latestPage").await;
    assert_eq!(texts(&page, "key"), [keys.last().expect("one").clone()]);
    let first = c
        .ok(
            "ReadNextEvents",
            ("EventHistoryCollector", &col),
            "<maxCount>1</maxCount>",
        )
        .await;
    assert_eq!(texts(&first, "key"), [keys[0].clone()]);
    c.ok("DestroyCollector", ("EventHistoryCollector", &col), "")
        .await;
}

#[tokio::test]
async fn pool_and_host_figures_follow_the_world_accounting() {
    let mut c = Client::new();
    c.login().await;
    let (pool, used, host, host_usage) = {
        let st = c.shared.lock();
        let w = &st.world;
        let p = w.pool_by_path("DC0_C0").expect("root");
        let vch = w.vm(w.vm_by_name("vch-1").expect("vch")).expect("vm");
        let h = w.host(vch.host).expect("host");
        (
            p.to_string(),
            w.pool(p).expect("pool").memory.used,
            h.id.to_string(),
            h.memory_usage_mib,
        )
    };
    let rt = c
        .props("ResourcePool", &pool, &["runtime.memory.reservationUsed"])
        .await;
    assert_eq!(texts(&rt, "val"), [(used * 1024 * 1024).to_string()]);
    assert!(used > 0, "the VCH and container reserve memory overhead");
    let hs = c
        .props(
            "HostSystem",
            &host,
            &["summary.quickStats.overallMemoryUsage"],
        )
        .await;
    assert_eq!(texts(&hs, "val"), [host_usage.to_string()]);
}
