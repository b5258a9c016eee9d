//! Property values as vim25 data: a small tree that knows how to write itself, either in a
//! typed position (a field of a known type: no `xsi:type` needed except for data objects,
//! which may be subtypes) or in an `anyType` position (`DynamicProperty.val`, `Fetch`'s
//! result, `TaskInfo.result`: every value carries `xsi:type`).

use std::fmt::Write as _;

use crate::sim::SimTime;
use crate::soap::envelope::escape_into;

/// A vim25 value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `xsd:string`.
    Str(String),
    /// `xsd:int` (and `short`).
    Int(i64),
    /// `xsd:long`.
    Long(i64),
    /// `xsd:boolean`.
    Bool(bool),
    /// `xsd:dateTime`.
    Time(SimTime),
    /// An enum value of the named enum type.
    Enum(&'static str, &'static str),
    /// A managed object reference: (type, value).
    Ref(&'static str, String),
    /// A data object.
    Obj(Data),
    /// An array whose items are of the named type (`string`, `ManagedObjectReference`,
    /// `Event`, ...): `ArrayOf<Type>` in an `anyType` position.
    List(&'static str, Vec<Value>),
    /// A value in a field declared `anyType` (`TaskInfo.result`, `OptionValue.value`): written
    /// with its `xsi:type`.
    Any(Box<Value>),
}

/// A data object: its vim type name and its set fields, in WSDL order.
#[derive(Clone, Debug, PartialEq)]
pub struct Data {
    /// The vim type, e.g. `VirtualMachineSummary`.
    pub ty: &'static str,
    /// Set fields; unset optional fields are absent.
    pub fields: Vec<(&'static str, Value)>,
}

impl Data {
    /// An empty object of type `ty`.
    pub fn new(ty: &'static str) -> Self {
        Data {
            ty,
            fields: Vec::new(),
        }
    }

    /// Adds a field.
    pub fn with(mut self, name: &'static str, v: Value) -> Self {
        self.fields.push((name, v));
        self
    }

    /// Adds a field when `v` is `Some`.
    pub fn with_opt(mut self, name: &'static str, v: Option<Value>) -> Self {
        if let Some(v) = v {
            self.fields.push((name, v));
        }
        self
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl From<Data> for Value {
    fn from(d: Data) -> Self {
        Value::Obj(d)
    }
}

/// Shorthands used by the type modules.
pub fn s(v: impl Into<String>) -> Value {
    Value::Str(v.into())
}

/// An `xsd:int` from any integer that fits (values beyond i64 saturate).
pub fn int(v: impl TryInto<i64>) -> Value {
    Value::Int(v.try_into().unwrap_or(i64::MAX))
}

/// An `xsd:long`.
pub fn long(v: impl TryInto<i64>) -> Value {
    Value::Long(v.try_into().unwrap_or(i64::MAX))
}

/// A value in an `anyType` field.
pub fn any(v: Value) -> Value {
    Value::Any(Box::new(v))
}

/// A managed object reference.
pub fn mor(ty: &'static str, id: impl ToString) -> Value {
    Value::Ref(ty, id.to_string())
}

impl Value {
    /// Follows a dotted path below this value (`config.guestFullName` below `summary`).
    pub fn at(&self, path: &[&str]) -> Option<&Value> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match self {
            Value::Obj(d) => d.field(first)?.at(rest),
            _ => None,
        }
    }

    fn xsd_type(&self) -> Option<&'static str> {
        match self {
            Value::Str(_) => Some("xsd:string"),
            Value::Int(_) => Some("xsd:int"),
            Value::Long(_) => Some("xsd:long"),
            Value::Bool(_) => Some("xsd:boolean"),
            Value::Time(_) => Some("xsd:dateTime"),
            Value::Enum(ty, _) => Some(ty),
            Value::Ref(..) => Some("ManagedObjectReference"),
            Value::Obj(d) => Some(d.ty),
            Value::List(..) => None,
            Value::Any(v) => v.xsd_type(),
        }
    }

    fn write_scalar(&self, out: &mut String) {
        match self {
            Value::Str(v) => escape_into(out, v),
            Value::Int(v) | Value::Long(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
            Value::Time(t) => {
                let _ = write!(out, "{t}");
            }
            Value::Enum(_, v) => out.push_str(v),
            Value::Ref(_, id) => escape_into(out, id),
            Value::Obj(d) => {
                for (name, v) in &d.fields {
                    v.write_field(out, name);
                }
            }
            Value::List(..) => {}
            Value::Any(v) => v.write_scalar(out),
        }
    }

    /// Writes only the content of this value (a data object's fields, a scalar's text).
    pub fn write_fields_only(&self, out: &mut String) {
        self.write_scalar(out);
    }

    /// Writes this value as the field `name` of a typed data object (arrays repeat the
    /// element; data objects carry `xsi:type` because fields may hold subtypes).
    pub fn write_field(&self, out: &mut String, name: &str) {
        match self {
            Value::Any(v) => v.write_any(out, name),
            Value::List(_, items) => {
                for item in items {
                    item.write_field(out, name);
                }
            }
            Value::Ref(ty, _) => {
                let _ = write!(out, "<{name} type=\"{ty}\">");
                self.write_scalar(out);
                let _ = write!(out, "</{name}>");
            }
            Value::Obj(d) => {
                let _ = write!(out, "<{name} xsi:type=\"{}\">", d.ty);
                self.write_scalar(out);
                let _ = write!(out, "</{name}>");
            }
            _ => {
                let _ = write!(out, "<{name}>");
                self.write_scalar(out);
                let _ = write!(out, "</{name}>");
            }
        }
    }

    /// Writes this value as the `anyType` element `name`, with `xsi:type` everywhere.
    pub fn write_any(&self, out: &mut String, name: &str) {
        match self {
            Value::Any(v) => v.write_any(out, name),
            Value::List(item, items) => {
                let _ = write!(out, "<{name} xsi:type=\"ArrayOf");
                let mut cs = item.chars();
                if let Some(c) = cs.next() {
                    out.push(c.to_ascii_uppercase());
                    out.push_str(cs.as_str());
                }
                out.push_str("\">");
                for v in items {
                    v.write_field(out, item);
                }
                let _ = write!(out, "</{name}>");
            }
            Value::Ref(ty, _) => {
                let _ = write!(
                    out,
                    "<{name} type=\"{ty}\" xsi:type=\"ManagedObjectReference\">"
                );
                self.write_scalar(out);
                let _ = write!(out, "</{name}>");
            }
            _ => {
                let ty = self.xsd_type().unwrap_or("xsd:string");
                let _ = write!(out, "<{name} xsi:type=\"{ty}\">");
                self.write_scalar(out);
                let _ = write!(out, "</{name}>");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_positions_carry_xsi_types_and_fields_do_not_for_scalars() {
        let mut out = String::new();
        s("a<b").write_any(&mut out, "val");
        assert_eq!(out, "<val xsi:type=\"xsd:string\">a&lt;b</val>");
        out.clear();
        Value::List(
            "ManagedObjectReference",
            vec![mor("VirtualMachine", "vm-1"), mor("VirtualMachine", "vm-2")],
        )
        .write_any(&mut out, "val");
        assert_eq!(
            out,
            "<val xsi:type=\"ArrayOfManagedObjectReference\"><ManagedObjectReference type=\"VirtualMachine\">vm-1</ManagedObjectReference><ManagedObjectReference type=\"VirtualMachine\">vm-2</ManagedObjectReference></val>"
        );
        out.clear();
        let d = Data::new("SharesInfo")
            .with("shares", int(4000))
            .with("level", Value::Enum("SharesLevel", "normal"));
        Value::Obj(d.clone()).write_field(&mut out, "shares");
        assert_eq!(
            out,
            "<shares xsi:type=\"SharesInfo\"><shares>4000</shares><level>normal</level></shares>"
        );
        assert_eq!(
            Value::Obj(d).at(&["level"]),
            Some(&Value::Enum("SharesLevel", "normal"))
        );
        out.clear();
        Value::List("string", vec![s("a"), s("b")]).write_any(&mut out, "val");
        assert_eq!(
            out,
            "<val xsi:type=\"ArrayOfString\"><string>a</string><string>b</string></val>"
        );
    }
}
