//! The SOAP envelope: requests parsed into a small element tree, responses and faults written
//! as text.
//!
//! Clients differ in how they spell the same request (govc uses a default-namespace `Envelope`
//! and an `XMLSchema-instance:` prefix for `xsi:type`; pyVmomi uses `soapenv:` and `xsi:` and
//! adds `versionId` attributes), so the parser keeps only local names: an unprefixed `type`
//! attribute is a managed object reference's type, a prefixed `*:type` is `xsi:type`.
//!
//! Limits keep a hostile body from costing more than a bounded amount of memory and stack:
//! [`MAX_BODY_BYTES`] on the body, [`MAX_DEPTH`] on nesting and [`MAX_ELEMENTS`] on the element
//! count. Document type declarations are refused, so no entity is ever expanded.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::error::SoapError;

/// The largest request body accepted: 4 MiB (the largest request the supported clients send,
/// a `CreateVM_Task` with devices, is under 4 KiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The deepest element nesting accepted (vim25 requests nest about 10 deep).
pub const MAX_DEPTH: usize = 64;
/// The most elements a request may hold.
pub const MAX_ELEMENTS: usize = 100_000;

/// One XML element with its local name, the two attributes vim25 uses, text and children.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (prefix removed).
    pub name: String,
    /// An unprefixed `type` attribute: the type of a managed object reference.
    pub type_attr: Option<String>,
    /// `xsi:type` (any prefix), with the value's prefix removed.
    pub xsi_type: Option<String>,
    /// Text content, unescaped (concatenated when split by children).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the first child named `name`, trimmed.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// A parsed request: the method element and the SOAPAction version, if any.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method's local name, e.g. `RetrievePropertiesEx`.
    pub method: String,
    /// The method element; its children are `_this` and the arguments.
    pub body: Element,
}

impl Request {
    /// The `_this` argument as (type, value).
    pub fn this(&self) -> Result<(&str, &str), SoapError> {
        let this = self
            .body
            .child("_this")
            .ok_or_else(|| SoapError::InvalidRequest(format!("{}: missing _this", self.method)))?;
        Ok((this.type_attr.as_deref().unwrap_or(""), this.text.trim()))
    }

    /// An argument element.
    pub fn arg(&self, name: &str) -> Option<&Element> {
        self.body.child(name)
    }
}

/// Parses a SOAP request body into its method element.
pub fn parse_request(body: &[u8]) -> Result<Request, SoapError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(SoapError::TooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| SoapError::Malformed(format!("body is not UTF-8: {e}")))?;
    let mut root = parse_document(text)?;
    if root.name != "Envelope" {
        return Err(SoapError::Malformed(format!(
            "root element is `{}`, not a SOAP Envelope",
            root.name
        )));
    }
    let body = root
        .children
        .iter()
        .position(|c| c.name == "Body")
        .map(|i| root.children.swap_remove(i))
        .ok_or_else(|| SoapError::Malformed("the Envelope has no Body".into()))?;
    let method = body
        .children
        .into_iter()
        .next()
        .ok_or_else(|| SoapError::Malformed("the Body holds no method element".into()))?;
    Ok(Request {
        method: method.name.clone(),
        body: method,
    })
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

fn utf8(bytes: &[u8]) -> Result<String, SoapError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| SoapError::Malformed(e.to_string()))
}

fn open(start: &BytesStart<'_>) -> Result<Element, SoapError> {
    let qname = start.name();
    let name = std::str::from_utf8(local(qname.as_ref()))
        .map_err(|e| SoapError::Malformed(e.to_string()))?;
    let mut el = Element {
        name: name.to_string(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| SoapError::Malformed(format!("attribute: {e}")))?;
        let key = attr.key.as_ref();
        if local(key) != b"type" {
            continue;
        }
        let value = attr
            .unescape_value()
            .map_err(|e| SoapError::Malformed(format!("attribute value: {e}")))?;
        if key.contains(&b':') {
            let v = value.rsplit(':').next().unwrap_or_default();
            el.xsi_type = Some(v.to_string());
        } else {
            el.type_attr = Some(value.into_owned());
        }
    }
    Ok(el)
}

/// Parses a whole document into its root element, enforcing the limits.
pub fn parse_document(text: &str) -> Result<Element, SoapError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| {
            SoapError::Malformed(format!("at byte {}: {e}", reader.error_position()))
        })?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() && stack.is_empty() => {
                return Err(SoapError::Malformed(
                    "content after the root element".into(),
                ));
            }
            Event::Start(s) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(too_big(stack.len(), count));
                }
                stack.push(open(&s)?);
            }
            Event::Empty(s) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(too_big(stack.len(), count));
                }
                let el = open(&s)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| SoapError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t
                        .decode()
                        .map_err(|e| SoapError::Malformed(format!("text: {e}")))?;
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let top = stack.last_mut();
                let name = r
                    .decode()
                    .map_err(|e| SoapError::Malformed(format!("reference: {e}")))?;
                let ch = match &*name {
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "amp" => Some('&'),
                    "apos" => Some('\''),
                    "quot" => Some('"'),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                let ch = ch.ok_or_else(|| {
                    SoapError::Malformed(format!("unknown entity reference `&{name};`"))
                })?;
                if let Some(top) = top {
                    top.text.push(ch);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&utf8(&c)?);
                }
            }
            Event::DocType(_) => {
                return Err(SoapError::Malformed(
                    "document type declarations are not accepted".into(),
                ));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(SoapError::Malformed(format!(
            "document ends inside `{}`",
            stack.last().map_or("", |e| e.name.as_str())
        )));
    }
    root.ok_or_else(|| SoapError::Malformed("empty document".into()))
}

fn too_big(depth: usize, count: usize) -> SoapError {
    if depth >= MAX_DEPTH {
        SoapError::Malformed(format!("elements nest deeper than {MAX_DEPTH}"))
    } else {
        SoapError::Malformed(format!(
            "more than {MAX_ELEMENTS} elements (counted {count})"
        ))
    }
}

const ENVELOPE_OPEN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n<soapenv:Body>\n";
const ENVELOPE_CLOSE: &str = "\n</soapenv:Body>\n</soapenv:Envelope>";

/// A response envelope around `<{method}Response>` holding `returnval` content already written.
pub fn response(method: &str, inner: &str) -> String {
    let mut out = String::with_capacity(ENVELOPE_OPEN.len() + inner.len() + 128);
    out.push_str(ENVELOPE_OPEN);
    out.push('<');
    out.push_str(method);
    out.push_str("Response xmlns=\"urn:vim25\">");
    out.push_str(inner);
    out.push_str("</");
    out.push_str(method);
    out.push_str("Response>");
    out.push_str(ENVELOPE_CLOSE);
    out
}

/// A fault envelope: `faultstring` and the vim fault in `detail` (`<XFault xsi:type="X">`, the
/// element name clients strip `Fault` from).
pub fn fault(fault_type: &str, message: &str, fields: &str) -> String {
    let mut out = String::with_capacity(ENVELOPE_OPEN.len() + fields.len() + 256);
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>");
    escape_into(&mut out, message);
    out.push_str("</faultstring><detail><");
    out.push_str(fault_type);
    out.push_str("Fault xmlns=\"urn:vim25\" xsi:type=\"");
    out.push_str(fault_type);
    out.push_str("\">");
    out.push_str(fields);
    out.push_str("</");
    out.push_str(fault_type);
    out.push_str("Fault></detail></soapenv:Fault>");
    out.push_str(ENVELOPE_CLOSE);
    out
}

/// Appends `text` with XML's five special characters escaped.
/// Control characters other than tab, newline and carriage return are dropped (XML 1.0 cannot
/// carry them). Runs without special characters are copied whole.
pub fn escape_into(out: &mut String, text: &str) {
    let mut clean = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&apos;",
            b if b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t') => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a character boundary.
        out.push_str(&text[clean..i]);
        out.push_str(replacement);
        clean = i + 1;
    }
    out.push_str(&text[clean..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn govc_and_pyvmomi_spellings_parse_alike() {
        let govc = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><objectSet><obj type="Folder">group-d1</obj><selectSet xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="TraversalSpec"><path>parent</path></selectSet></objectSet></specSet></RetrievePropertiesEx></Body></Envelope>"#;
        let r = parse_request(govc.as_bytes()).unwrap();
        assert_eq!(r.method, "RetrievePropertiesEx");
        assert_eq!(
            r.this().unwrap(),
            ("PropertyCollector", "propertyCollector")
        );
        let os = r.arg("specSet").unwrap().child("objectSet").unwrap();
        assert_eq!(
            os.child("obj").unwrap().type_attr.as_deref(),
            Some("Folder")
        );
        assert_eq!(
            os.child("selectSet").unwrap().xsi_type.as_deref(),
            Some("TraversalSpec")
        );
        let py = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
<soapenv:Body><Login xmlns="urn:vim25"><_this versionId="6.5" type="SessionManager">SessionManager</_this><userName versionId="6.5">a&amp;b</userName></Login></soapenv:Body>
</soapenv:Envelope>"#;
        let r = parse_request(py.as_bytes()).unwrap();
        assert_eq!(r.method, "Login");
        assert_eq!(r.arg("userName").unwrap().text, "a&b");
    }

    #[test]
    fn malformed_and_hostile_documents_are_refused() {
        for bad in [
            "",
            "<Envelope>",
            "<Envelope><Body></Body></Envelope>",
            "<NotEnvelope/>",
            "<Envelope><Body><X>&bogus;</X></Body></Envelope>",
            "<!DOCTYPE x [<!ENTITY a \"b\">]><Envelope/>",
            "<Envelope></Body></Envelope>",
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad:?} accepted");
        }
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(matches!(
            parse_document(&deep),
            Err(SoapError::Malformed(m)) if m.contains("nest")
        ));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse_request(&big),
            Err(SoapError::TooLarge { .. })
        ));
    }

    #[test]
    fn escaping_covers_markup_characters() {
        let mut s = String::new();
        escape_into(&mut s, "<a href=\"x\">&'\u{1}");
        assert_eq!(s, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
        s.clear();
        escape_into(&mut s, "Photon – Container\tv1\u{7}, ünï <x>");
        assert_eq!(s, "Photon – Container\tv1, ünï &lt;x&gt;");
    }
}
