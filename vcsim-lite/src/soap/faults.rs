//! Errors as vim faults: the SOAP fault a failed call answers with, and the
//! `LocalizedMethodFault` a failed task carries in `TaskInfo.error`. Each fault carries its vim
//! type (`xsi:type`) and the fields clients read (the object, the state, the file).

use super::envelope;
use super::error::SoapError;
use super::types::value::{Data, Value, int, mor, s};
use crate::sim::{FaultKind, ObjectKind};
use crate::vsphere::VsphereError;

/// The vim type name of a fault kind (the catalogue's `Timeout` is vim's `Timedout`).
fn vim_name(k: FaultKind) -> &'static str {
    match k {
        FaultKind::Timeout => "Timedout",
        k => k.as_str(),
    }
}

fn kind_type(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::Vm => "VirtualMachine",
        ObjectKind::Host => "HostSystem",
        ObjectKind::Pool => "ResourcePool",
        ObjectKind::Cluster => "ComputeResource",
        ObjectKind::Datastore => "Datastore",
        ObjectKind::Datacenter => "Datacenter",
        ObjectKind::Folder => "Folder",
        ObjectKind::Network => "Network",
    }
}

/// The vim fault of a world error: its type and fields.
pub fn vsphere_fault(e: &VsphereError) -> Data {
    let d = Data::new(vim_name(e.fault()));
    match e {
        VsphereError::NotFound { kind, id } => d.with("obj", mor(kind_type(*kind), id)),
        VsphereError::DuplicateName { name, .. } => d.with("name", s(name)),
        VsphereError::InvalidArgument { property, .. } => d.with("invalidProperty", s(*property)),
        VsphereError::InvalidPowerState {
            existing, required, ..
        } => d
            .with(
                "requestedState",
                Value::Enum("VirtualMachinePowerState", required),
            )
            .with(
                "existingState",
                Value::Enum("VirtualMachinePowerState", existing),
            ),
        VsphereError::NotEnoughLogicalCpus {
            vcpus, host_cpus, ..
        } => d
            .with("numCpuDest", int(*host_cpus))
            .with("numCpuVm", int(*vcpus)),
        VsphereError::NoDiskSpace { datastore, .. } => d
            .with("file", s(format!("[{datastore}]")))
            .with("datastore", s(datastore)),
        VsphereError::InvalidDatastore { datastore, .. } => d.with("name", s(datastore)),
        VsphereError::ResourceInUse { object, .. } => d.with("name", s(object)),
        VsphereError::FileAlreadyExists { path }
        | VsphereError::FileNotFound { path }
        | VsphereError::FileLocked { path, .. } => d.with("file", s(path)),
        VsphereError::Injected {
            fault: FaultKind::SystemError,
            ..
        } => d.with("reason", s(e.to_string())),
        _ => d,
    }
}

/// `LocalizedMethodFault` for `TaskInfo.error`.
pub fn localized(fault: Data, message: String) -> Data {
    Data::new("LocalizedMethodFault")
        .with("fault", fault.into())
        .with("localizedMessage", s(message))
}

/// The vim fault of any SOAP-layer error.
pub fn fault_of(e: &SoapError) -> Data {
    match e {
        SoapError::Malformed(_) | SoapError::TooLarge { .. } | SoapError::InvalidRequest(_) => {
            Data::new("InvalidRequest")
        }
        SoapError::NotImplemented { .. } => Data::new("NotImplemented"),
        SoapError::NotAuthenticated { object } => {
            let (ty, id) = object;
            let ty: &'static str = match ty.as_str() {
                "" => "ServiceInstance",
                t => super::types::static_type(t),
            };
            Data::new("NotAuthenticated")
                .with("object", mor(ty, id))
                .with("privilegeId", s("System.View"))
        }
        SoapError::InvalidLogin => Data::new("InvalidLogin"),
        SoapError::NotFound { kind, id } => {
            Data::new("ManagedObjectNotFound").with("obj", mor(super::types::static_type(kind), id))
        }
        SoapError::InvalidArgument { property, .. } => {
            Data::new("InvalidArgument").with("invalidProperty", s(property))
        }
        SoapError::InvalidProperty(p) => Data::new("InvalidProperty").with("name", s(p)),
        SoapError::Vsphere(v) => vsphere_fault(v),
    }
}

/// The SOAP fault envelope for an error.
pub fn envelope(e: &SoapError) -> String {
    let data = fault_of(e);
    let mut fields = String::new();
    Value::Obj(data.clone()).write_fields_only(&mut fields);
    envelope::fault(data.ty, &e.to_string(), &fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::Resource;

    #[test]
    fn faults_carry_their_vim_type_and_fields() {
        let body = envelope(&SoapError::NotImplemented {
            method: "MigrateVM_Task".into(),
        });
        assert!(
            body.contains("<NotImplementedFault xmlns=\"urn:vim25\" xsi:type=\"NotImplemented\">")
        );
        assert!(body.contains("MigrateVM_Task"));
        let e = VsphereError::InsufficientResources {
            scope: "pool web".into(),
            resource: Resource::Memory,
            requested: 10,
            available: 5,
        };
        let body = envelope(&SoapError::Vsphere(e));
        assert!(body.contains("xsi:type=\"InsufficientResourcesFault\""));
        let nf = envelope(&SoapError::not_found("VirtualMachine", "vm-9"));
        assert!(nf.contains("<obj type=\"VirtualMachine\">vm-9</obj>"));
    }
}
