//! `ServiceInstance`: `RetrieveServiceContent` (the singletons' references and `about`), the
//! current time, and `/sdk/vimServiceVersions.xml`, which pyVmomi reads to pick its API
//! version.

use super::Ctx;
use super::types::value::{Data, Value, mor, s};
use crate::vsphere::ABOUT;

/// The API versions this endpoint answers to, newest first: clients send `SOAPAction:
/// urn:vim25/<version>` with one of these (govc 0.38 sends 8.0.3.0, pyVmomi 9.1 negotiates
/// from this list, old govc sends 7.0).
pub const API_VERSIONS: &[&str] = &[
    "8.0.3.0", "8.0.2.0", "8.0.1.0", "8.0.0.0", "7.0.3.0", "7.0.2.0", "7.0.1.0", "7.0.0.0", "7.0",
    "6.7.3", "6.7.2", "6.7.1", "6.7", "6.5",
];

/// The `instanceUuid` this vCenter reports.
pub const INSTANCE_UUID: &str = "5a1c6f1e-0000-4000-8000-7663736d6c74";

/// `ServiceContent.about`: a vCenter (`apiType` VirtualCenter).
pub fn about() -> Data {
    Data::new("AboutInfo")
        .with("name", s(ABOUT.name))
        .with("fullName", s(format!("{} (vcsim-lite)", ABOUT.full_name)))
        .with("vendor", s("VMware, Inc."))
        .with("version", s(ABOUT.version))
        .with("build", s(ABOUT.build))
        .with("localeVersion", s("INTL"))
        .with("localeBuild", s("000"))
        .with("osType", s(ABOUT.os_type))
        .with("productLineId", s(ABOUT.product_line_id))
        .with("apiType", s("VirtualCenter"))
        .with("apiVersion", s(API_VERSIONS[0]))
        .with("instanceUuid", s(INSTANCE_UUID))
        .with("licenseProductName", s("VMware VirtualCenter Server"))
        .with("licenseProductVersion", s("8.0"))
}

/// `ServiceContent`, with references to the managed objects this endpoint implements.
pub fn content(ctx: &Ctx<'_>) -> Data {
    Data::new("ServiceContent")
        .with("rootFolder", mor("Folder", ctx.world.root_folder()))
        .with(
            "propertyCollector",
            mor("PropertyCollector", "propertyCollector"),
        )
        .with("viewManager", mor("ViewManager", "ViewManager"))
        .with("about", about().into())
        .with("sessionManager", mor("SessionManager", "SessionManager"))
        .with("eventManager", mor("EventManager", "EventManager"))
        .with("taskManager", mor("TaskManager", "TaskManager"))
        .with("searchIndex", mor("SearchIndex", "SearchIndex"))
}

/// A `ServiceInstance` property.
pub fn property(ctx: &Ctx<'_>, name: &str) -> Option<Value> {
    match name {
        "content" => Some(content(ctx).into()),
        "serverClock" => Some(Value::Time(ctx.world.now())),
        _ => None,
    }
}

/// `/sdk/vimServiceVersions.xml`.
pub fn service_versions_xml() -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<namespaces version=\"1.0\">\n <namespace>\n  <name>urn:vim25</name>\n",
    );
    out.push_str(&format!(
        "  <version>{}</version>\n  <priorVersions>\n",
        API_VERSIONS[0]
    ));
    for v in &API_VERSIONS[1..] {
        out.push_str(&format!("   <version>{v}</version>\n"));
    }
    out.push_str("  </priorVersions>\n </namespace>\n</namespaces>\n");
    out
}
