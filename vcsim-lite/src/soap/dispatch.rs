//! Method name to handler. Before a handler runs, the caller must have a session (except for
//! `RetrieveServiceContent`, `Login` and reading `ServiceInstance.content`) and `_this` must
//! resolve to an object the caller may use; each handler then checks `_this`'s type.

use super::envelope::Request;
use super::error::SoapError;
use super::objects::Obj;
use super::types::value::Value;
use super::{
    Ctx, events, property_collector as pc, search_index, service_content, session, tasks, views,
};

/// Methods a caller may call without a session.
fn open(method: &str, this: &Obj, req: &Request) -> bool {
    match method {
        "RetrieveServiceContent" | "Login" => true,
        "Fetch" => {
            *this == Obj::ServiceInstance
                && matches!(req.body.text_of("prop"), Some("content" | "serverClock"))
        }
        _ => false,
    }
}

fn expect(this: &Obj, want: &Obj, method: &str) -> Result<(), SoapError> {
    if this == want {
        Ok(())
    } else {
        Err(pc::wrong_this(want.type_name(), this)).map_err(|e| match e {
            SoapError::InvalidRequest(m) => SoapError::InvalidRequest(format!("{method}: {m}")),
            e => e,
        })
    }
}

/// Every method this endpoint implements.
pub const METHODS: &[&str] = &[
    "RetrieveServiceContent",
    "CurrentTime",
    "Login",
    "Logout",
    "SessionIsActive",
    "RetrieveProperties",
    "RetrievePropertiesEx",
    "ContinueRetrievePropertiesEx",
    "CancelRetrievePropertiesEx",
    "CreatePropertyCollector",
    "DestroyPropertyCollector",
    "CreateFilter",
    "DestroyPropertyFilter",
    "WaitForUpdates",
    "WaitForUpdatesEx",
    "Fetch",
    "CreateContainerView",
    "CreateListView",
    "DestroyView",
    "FindByInventoryPath",
    "FindChild",
    "FindByUuid",
    "CreateVM_Task",
    "PowerOnVM_Task",
    "PowerOffVM_Task",
    "Destroy_Task",
    "ReconfigVM_Task",
    "SearchDatastore_Task",
    "QueryEvents",
    "CreateCollectorForEvents",
    "SetCollectorPageSize",
    "ReadNextEvents",
    "ReadPreviousEvents",
    "RewindCollector",
    "ResetCollector",
    "DestroyCollector",
];

/// Runs the method a request names.
pub fn dispatch(ctx: &mut Ctx<'_>, req: &Request) -> Result<String, SoapError> {
    if !METHODS.contains(&req.method.as_str()) {
        return Err(SoapError::NotImplemented {
            method: req.method.clone(),
        });
    }
    let (ty, value) = req.this()?;
    let this = ctx.resolve(ty, value);
    let method = req.method.as_str();
    let authenticated = ctx.session.is_some();
    match &this {
        Ok(o) if !authenticated && !open(method, o, req) => {
            return Err(SoapError::NotAuthenticated {
                object: (ty.to_string(), value.to_string()),
            });
        }
        Err(_) if !authenticated => {
            return Err(SoapError::NotAuthenticated {
                object: (ty.to_string(), value.to_string()),
            });
        }
        _ => {}
    }
    let this = this?;
    let now = ctx.world.now();
    if let Ok(s) = ctx.session() {
        s.call_count += 1;
        s.last_active = now;
    }
    match method {
        "RetrieveServiceContent" => {
            expect(&this, &Obj::ServiceInstance, method)?;
            let mut out = String::new();
            Value::Obj(service_content::content(ctx)).write_field(&mut out, "returnval");
            Ok(out)
        }
        "CurrentTime" => {
            expect(&this, &Obj::ServiceInstance, method)?;
            let mut out = String::new();
            Value::Time(ctx.world.now()).write_field(&mut out, "returnval");
            Ok(out)
        }
        "Login" => {
            expect(&this, &Obj::SessionManager, method)?;
            session::handlers::login(ctx, req)
        }
        "Logout" => {
            expect(&this, &Obj::SessionManager, method)?;
            session::handlers::logout(ctx)
        }
        "SessionIsActive" => {
            expect(&this, &Obj::SessionManager, method)?;
            session::handlers::is_active(ctx, req)
        }
        "RetrieveProperties" => pc_this(&this).and_then(|_| pc::retrieve_properties(ctx, req)),
        "RetrievePropertiesEx" => pc_this(&this).and_then(|_| pc::retrieve_properties_ex(ctx, req)),
        "ContinueRetrievePropertiesEx" => {
            pc_this(&this).and_then(|_| pc::continue_retrieve(ctx, req))
        }
        "CancelRetrievePropertiesEx" => pc_this(&this).and_then(|_| pc::cancel_retrieve(ctx, req)),
        "CreatePropertyCollector" => pc::create_collector(ctx, &this),
        "DestroyPropertyCollector" => pc::destroy_collector(ctx, &this),
        "CreateFilter" => pc::create_filter(ctx, &this, req),
        "DestroyPropertyFilter" => pc::destroy_filter(ctx, &this),
        "WaitForUpdates" => pc::wait_for_updates(ctx, &this, req, false),
        "WaitForUpdatesEx" => pc::wait_for_updates(ctx, &this, req, true),
        "Fetch" => pc::fetch(ctx, &this, req),
        "CreateContainerView" => {
            expect(&this, &Obj::ViewManager, method)?;
            views::create_container_view(ctx, req)
        }
        "CreateListView" => {
            expect(&this, &Obj::ViewManager, method)?;
            views::create_list_view(ctx, req)
        }
        "DestroyView" => views::destroy_view(ctx, &this),
        "FindByInventoryPath" => {
            expect(&this, &Obj::SearchIndex, method)?;
            search_index::find_by_inventory_path(ctx, req)
        }
        "FindChild" => {
            expect(&this, &Obj::SearchIndex, method)?;
            search_index::find_child(ctx, req)
        }
        "FindByUuid" => {
            expect(&this, &Obj::SearchIndex, method)?;
            search_index::find_by_uuid(ctx, req)
        }
        "CreateVM_Task" => tasks::create_vm(ctx, &this, req),
        "PowerOnVM_Task" => tasks::power_on(ctx, &this),
        "PowerOffVM_Task" => tasks::power_off(ctx, &this),
        "Destroy_Task" => tasks::destroy(ctx, &this),
        "ReconfigVM_Task" => tasks::reconfigure(ctx, &this, req),
        "SearchDatastore_Task" => tasks::search_datastore(ctx, &this, req),
        "QueryEvents" => {
            expect(&this, &Obj::EventManager, method)?;
            events::query_events(ctx, req)
        }
        "CreateCollectorForEvents" => {
            expect(&this, &Obj::EventManager, method)?;
            events::create_collector(ctx, req)
        }
        "SetCollectorPageSize"
        | "ReadNextEvents"
        | "ReadPreviousEvents"
        | "RewindCollector"
        | "ResetCollector"
        | "DestroyCollector" => events::collector_call(ctx, &this, req),
        other => Err(SoapError::NotImplemented {
            method: other.to_string(),
        }),
    }
}

fn pc_this(this: &Obj) -> Result<(), SoapError> {
    match this {
        Obj::DefaultCollector | Obj::Session(super::objects::SessionKind::Collector, _) => Ok(()),
        o => Err(pc::wrong_this("a PropertyCollector", o)),
    }
}
