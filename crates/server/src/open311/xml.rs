//! One document model for both formats, so that JSON is the mechanical mapping of the XML
//! (the "Spark convention"): a container of repeated elements becomes an array even with one
//! child, the root element is dropped, and an absent value is `null` in JSON and an empty
//! element in XML. The XML writer is small and escapes everything it writes.

use std::fmt::Write;

/// A value of a GeoReport document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Named fields in order.
    Obj(Vec<(String, Node)>),
    /// A container of elements all named by the first field (`service`, `request`, …).
    List(&'static str, Vec<Node>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(s.into())
    }

    pub fn opt_text(s: Option<impl Into<String>>) -> Node {
        s.map_or(Node::Null, |s| Node::Text(s.into()))
    }

    pub fn obj(fields: Vec<(&str, Node)>) -> Node {
        Node::Obj(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Null => Value::Null,
            Node::Text(s) => Value::String(s.clone()),
            Node::Int(i) => Value::from(*i),
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Node::Bool(b) => Value::Bool(*b),
            Node::Obj(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Node::List(_, items) => Value::Array(items.iter().map(Node::to_json).collect()),
        }
    }

    /// The whole XML document with its declaration, `root` naming the top element.
    pub fn to_xml(&self, root: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        self.write_xml(root, &mut out);
        out.push('\n');
        out
    }

    fn write_xml(&self, name: &str, out: &mut String) {
        match self {
            Node::Null => {
                let _ = write!(out, "<{name}/>");
            }
            Node::Text(s) => element(out, name, &escape(s)),
            Node::Int(i) => element(out, name, &i.to_string()),
            Node::Float(f) if f.is_finite() => element(out, name, &f.to_string()),
            Node::Float(_) => {
                let _ = write!(out, "<{name}/>");
            }
            Node::Bool(b) => element(out, name, if *b { "true" } else { "false" }),
            Node::Obj(fields) => {
                let _ = write!(out, "<{name}>");
                for (k, v) in fields {
                    v.write_xml(k, out);
                }
                let _ = write!(out, "</{name}>");
            }
            Node::List(item, items) => {
                let _ = write!(out, "<{name}>");
                for v in items {
                    v.write_xml(item, out);
                }
                let _ = write!(out, "</{name}>");
            }
        }
    }
}

fn element(out: &mut String, name: &str, body: &str) {
    let _ = write!(out, "<{name}>{body}</{name}>");
}

/// Escapes text for an element body; characters XML 1.0 cannot carry are left out.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_model_two_formats() {
        let doc = Node::List(
            "request",
            vec![Node::obj(vec![
                ("service_request_id", Node::text("20260302000001")),
                ("description", Node::text("a <van> & \"cart\"\u{1}")),
                ("lat", Node::Float(25.4)),
                ("expected_datetime", Node::Null),
                ("metadata", Node::Bool(false)),
            ])],
        );
        let json = doc.to_json();
        assert!(json.is_array() && json.as_array().unwrap().len() == 1, "one element is still an array: {json}");
        assert_eq!(json[0]["service_request_id"], "20260302000001");
        assert!(json[0]["expected_datetime"].is_null());
        assert_eq!(
            doc.to_xml("service_requests"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service_requests><request>\
             <service_request_id>20260302000001</service_request_id>\
             <description>a &lt;van&gt; &amp; &quot;cart&quot;</description><lat>25.4</lat>\
             <expected_datetime/><metadata>false</metadata></request></service_requests>\n"
        );
    }
}
