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
            Value::Int(v) | Value::Long(v) => push_int(out, *v),
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
                open_with(out, name, " type=\"", ty);
                self.write_scalar(out);
                close(out, name);
            }
            Value::Obj(d) => {
                open_with(out, name, " xsi:type=\"", d.ty);
                self.write_scalar(out);
                close(out, name);
            }
            _ => {
                out.push('<');
                out.push_str(name);
                out.push('>');
                self.write_scalar(out);
                close(out, name);
            }
        }
    }

    /// Writes this value as the `anyType` element `name`, with `xsi:type` everywhere.
    pub fn write_any(&self, out: &mut String, name: &str) {
        match self {
            Value::Any(v) => v.write_any(out, name),
            Value::List(item, items) => {
                out.push('<');
                out.push_str(name);
                out.push_str(" xsi:type=\"ArrayOf");
                let mut cs = item.chars();
                if let Some(c) = cs.next() {
                    out.push(c.to_ascii_uppercase());
                    out.push_str(cs.as_str());
                }
                out.push_str("\">");
                for v in items {
                    v.write_field(out, item);
                }
                close(out, name);
            }
            Value::Ref(ty, _) => {
                out.push('<');
                out.push_str(name);
                out.push_str(" type=\"");
                out.push_str(ty);
                out.push_str("\" xsi:type=\"ManagedObjectReference\">");
                self.write_scalar(out);
                close(out, name);
            }
            _ => {
                let ty = self.xsd_type().unwrap_or("xsd:string");
                open_with(out, name, " xsi:type=\"", ty);
                self.write_scalar(out);
                close(out, name);
            }
        }
    }
}

/// Writes `<name{attr}{value}">` (`attr` ends with the opening quote).
fn open_with(out: &mut String, name: &str, attr: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push_str(attr);
    out.push_str(value);
    out.push_str("\">");
}

/// Writes `</name>`.
fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Writes an integer in decimal (what `write!` does, without the formatting machinery: a
/// response holds dozens of them).
pub fn push_int(out: &mut String, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push('-');
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_written_as_format_writes_them() {
        for v in [0, 7, -7, 10, 4096, -1_000_000, i64::MAX, i64::MIN] {
            let mut out = String::new();
            push_int(&mut out, v);
            assert_eq!(out, v.to_string());
        }
    }

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
        Value::Ref("Folder", "group-d1".into()).write_any(&mut out, "val");
        assert_eq!(
            out,
            "<val type=\"Folder\" xsi:type=\"ManagedObjectReference\">group-d1</val>"
        );
        out.clear();
        Value::List("string", vec![s("a"), s("b")]).write_any(&mut out, "val");
        assert_eq!(
            out,
            "<val xsi:type=\"ArrayOfString\"><string>a</string><string>b</string></val>"
        );
    }
}
