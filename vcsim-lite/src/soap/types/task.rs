//! `Task.info` (`TaskInfo`) for the world's task records: the WSDL method name in `name`
//! (`CreateVM_Task`, which pyVim's `WaitForTask` resolves), state, result or fault, times and
//! event chain.

use super::value::{Data, Value, any, int, mor, s};
use crate::sim::event::Moref;
use crate::sim::{Operation, SimTime};
use crate::soap::faults;
use crate::vsphere::{Task, TaskOutcome};

/// The vim type of a world moref, from its prefix.
pub fn moref_type(m: &Moref) -> &'static str {
    match m.prefix {
        "vm-" => "VirtualMachine",
        "host-" => "HostSystem",
        "resgroup-" => "ResourcePool",
        "domain-c" => "ClusterComputeResource",
        "domain-s" => "ComputeResource",
        "datastore-" => "Datastore",
        "datacenter-" => "Datacenter",
        "network-" => "Network",
        "task-" => "Task",
        p if p.starts_with("group-") => "Folder",
        _ => "ManagedEntity",
    }
}

/// `TaskInfo.descriptionId` of an operation (`Type.method`, as vCenter's task list shows).
fn description_id(op: Operation) -> &'static str {
    match op {
        Operation::CreateVm => "Folder.createVm",
        Operation::ReconfigVm => "VirtualMachine.reconfigure",
        Operation::PowerOnVm => "VirtualMachine.powerOn",
        Operation::PowerOffVm => "VirtualMachine.powerOff",
        Operation::DestroyVm => "VirtualMachine.destroy",
        Operation::MigrateVm => "VirtualMachine.migrate",
        Operation::CreatePool => "ResourcePool.createResourcePool",
        Operation::UpdatePool => "ResourcePool.updateConfig",
        Operation::DestroyPool => "ResourcePool.destroy",
        Operation::CreateFolder => "Folder.createFolder",
        Operation::DestroyFolder => "Folder.destroy",
        Operation::CreateVirtualDisk => "VirtualDiskManager.createVirtualDisk",
        Operation::DeleteVirtualDisk => "VirtualDiskManager.deleteVirtualDisk",
        Operation::EnterMaintenanceMode => "HostSystem.enterMaintenanceMode",
        Operation::ExitMaintenanceMode => "HostSystem.exitMaintenanceMode",
        Operation::DisconnectHost => "HostSystem.disconnect",
        Operation::ReconnectHost => "HostSystem.reconnect",
    }
}

/// The parts of a `TaskInfo` every task has.
pub struct TaskHead<'a> {
    /// `task-N`.
    pub id: String,
    /// WSDL method name.
    pub name: &'a str,
    /// `descriptionId`.
    pub description_id: &'a str,
    /// The entity (type, id) and its name.
    pub entity: Option<(&'static str, String, String)>,
    /// Who started it.
    pub user: &'a str,
    /// Started.
    pub started: SimTime,
    /// Completed.
    pub completed: SimTime,
    /// `eventChainId`.
    pub chain: u64,
}

/// A finished task's `TaskInfo`: `result` on success, `error` on failure.
pub fn info(head: TaskHead<'_>, result: Result<Option<Value>, Data>) -> Data {
    let mut d = Data::new("TaskInfo")
        .with("key", s(&head.id))
        .with("task", mor("Task", &head.id))
        .with("name", s(head.name))
        .with("descriptionId", s(head.description_id));
    if let Some((ty, id, name)) = head.entity {
        d = d.with("entity", mor(ty, id)).with("entityName", s(name));
    }
    let state = if result.is_ok() { "success" } else { "error" };
    d = d
        .with("state", Value::Enum("TaskInfoState", state))
        .with("cancelled", Value::Bool(false))
        .with("cancelable", Value::Bool(false));
    match result {
        Ok(Some(v)) => d = d.with("result", any(v)),
        Ok(None) => {}
        Err(fault) => d = d.with("error", fault.into()),
    }
    d.with(
        "reason",
        Data::new("TaskReasonUser")
            .with("userName", s(head.user))
            .into(),
    )
    .with("queueTime", Value::Time(head.started))
    .with("startTime", Value::Time(head.started))
    .with("completeTime", Value::Time(head.completed))
    .with("eventChainId", int(head.chain))
}

/// `TaskInfo` of a world task.
pub fn world_task_info(t: &Task, user: &str) -> Data {
    let id = t.moref().to_string();
    let head = TaskHead {
        id,
        name: t.operation.as_str(),
        description_id: description_id(t.operation),
        entity: Some((
            moref_type(&t.entity),
            t.entity.to_string(),
            t.entity_name.to_string(),
        )),
        user,
        started: t.started,
        completed: t.completed,
        chain: t.event_chain_id,
    };
    let result = match &t.outcome {
        TaskOutcome::Success(m) => Ok(m.map(|m| mor(moref_type(&m), m))),
        TaskOutcome::Error(e) => Err(faults::localized(faults::vsphere_fault(e), e.to_string())),
    };
    info(head, result)
}
