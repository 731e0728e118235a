//! PATCH (RFC 7644 §3.5.2) on a resource's writable attributes, held as a JSON object:
//! as the RFC says, and as Okta and Entra ID send it (operation names in any case,
//! path-less values with dotted keys, `emails[type eq "work"].value` on an address not
//! there yet, `members` removed by a list of values). The caller reads the object back
//! as it reads a PUT, so a PATCH obeys the same rules as a full replacement.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use scim_v2::models::others::{OperationTarget, PatchOp, PatchOperation};
use serde_json::{Map, Value};

use super::Error;

/// The shape of an attribute of a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Simple,
    /// A complex attribute with these sub-attributes.
    Complex,
    /// A multi-valued attribute (of objects with a `value`).
    Multi,
    /// Set by Roster alone: a PATCH naming it is refused.
    ReadOnly,
    /// Roster will not take it from a provider, with the reason.
    Refused(&'static str),
}

/// The attributes of a resource a PATCH may name, by canonical name; others are ignored
/// (RFC 7644 §3.3 lets a provider send attributes a service does not keep).
pub struct Schema {
    pub urn: &'static str,
    pub attributes: &'static [(&'static str, Shape)],
}

impl Schema {
    fn find(&self, name: &str) -> Option<(&'static str, Shape)> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .copied()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// The most operations one PATCH may carry.
const MAX_OPERATIONS: usize = 1000;

/// Applies the PATCH `body` to `doc`, the resource's writable attributes.
pub fn apply(doc: &mut Map<String, Value>, body: &Value, schema: &Schema) -> Result<(), Error> {
    let patch: PatchOp = serde_json::from_value(body.clone()).map_err(|e| {
        let text = e.to_string();
        if text.contains("invalid SCIM path") {
            Error::invalid("invalidPath", format!("A path is not a SCIM path: {text}."))
        } else if text.contains("missing field `path`") {
            Error::invalid("noTarget", "A remove operation needs a path.")
        } else {
            Error::invalid(
                "invalidSyntax",
                format!("The body is not a SCIM PatchOp: {text}."),
            )
        }
    })?;
    if !patch
        .schemas
        .iter()
        .any(|s| s.eq_ignore_ascii_case(super::PATCH_SCHEMA))
    {
        return Err(Error::invalid(
            "invalidSyntax",
            format!("A PATCH names the schema {}.", super::PATCH_SCHEMA),
        ));
    }
    if patch.operations.len() > MAX_OPERATIONS {
        return Err(Error::invalid(
            "tooMany",
            format!("A PATCH carries at most {MAX_OPERATIONS} operations."),
        ));
    }
    for operation in patch.operations {
        match operation {
            PatchOperation::Add(target) => on_target(doc, Op::Add, target, schema)?,
            PatchOperation::Replace(target) => on_target(doc, Op::Replace, target, schema)?,
            PatchOperation::Remove { path, value } => {
                on_path(doc, Op::Remove, &path, value, schema)?
            }
        }
    }
    Ok(())
}

fn on_target(
    doc: &mut Map<String, Value>,
    op: Op,
    target: OperationTarget,
    schema: &Schema,
) -> Result<(), Error> {
    match target {
        OperationTarget::WithPath { path, value } => {
            if value.is_none() {
                return Err(Error::invalid_value(format!(
                    "The {} operation on {path} has no value.",
                    if op == Op::Add { "add" } else { "replace" }
                )));
            }
            on_path(doc, op, &path, value, schema)
        }
        OperationTarget::WithoutPath { value } => {
            for (key, value) in value {
                // Entra ID sends `{"name.givenName": "Ada"}`, and URN-qualified names.
                let key = strip_urn(&key, schema.urn);
                if key.contains(':') {
                    continue;
                }
                if key.contains('.') || key.contains('[') {
                    let path: PatchPath = key.parse().map_err(|_| {
                        Error::invalid("invalidPath", format!("{key:?} is not a SCIM path."))
                    })?;
                    on_path(doc, op, &path, Some(value), schema)?;
                } else {
                    let path = AttrPath {
                        uri: None,
                        name: key.to_string(),
                        sub_attr: None,
                    };
                    on_attr(doc, op, &path, Some(value), schema)?;
                }
            }
            Ok(())
        }
    }
}

/// `key` without the resource's own schema URN (`urn:…:User:userName` is `userName`).
fn strip_urn<'k>(key: &'k str, urn: &str) -> &'k str {
    match key.get(..urn.len()) {
        Some(head) if head.eq_ignore_ascii_case(urn) => key[urn.len()..].trim_start_matches(':'),
        _ => key,
    }
}

fn on_path(
    doc: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: Option<Value>,
    schema: &Schema,
) -> Result<(), Error> {
    match path {
        PatchPath::Attr(attr) => on_attr(doc, op, attr, value, schema),
        PatchPath::Value(vp) => {
            if foreign(&vp.attr, schema) {
                return Ok(());
            }
            let Some((name, shape)) = schema.find(&vp.attr.name) else {
                return Ok(());
            };
            check_writable(name, shape)?;
            if shape != Shape::Multi {
                return Err(Error::invalid(
                    "invalidPath",
                    format!("{name} is not multi-valued: it takes no filter."),
                ));
            }
            let items = list(doc, name);
            let matching: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| matches(&vp.filter, item))
                .map(|(i, _)| i)
                .collect();
            match (op, vp.sub_attr.as_deref()) {
                (Op::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matching.contains(&i);
                        i += 1;
                        keep
                    });
                }
                (Op::Remove, Some(sub)) => {
                    for i in matching {
                        if let Some(obj) = items[i].as_object_mut() {
                            remove_ci(obj, sub);
                        }
                    }
                }
                (_, sub) if matching.is_empty() => {
                    // A value not there yet: made from the filter's `eq` terms (Entra ID
                    // replaces `emails[type eq "work"].value` on a user with no such one).
                    let mut item = equalities(&vp.filter).ok_or_else(|| {
                        Error::invalid(
                            "noTarget",
                            format!("No value of {name} matches {}.", vp.filter),
                        )
                    })?;
                    match (sub, value) {
                        (Some(sub), Some(v)) => {
                            item.insert(sub.to_string(), v);
                        }
                        (None, Some(Value::Object(m))) => item.extend(m),
                        _ => {}
                    }
                    items.push(Value::Object(item));
                }
                (_, Some(sub)) => {
                    for i in matching {
                        if let Some(obj) = items[i].as_object_mut() {
                            set_ci(obj, sub, value.clone().unwrap_or(Value::Null));
                        }
                    }
                }
                (_, None) => {
                    for i in matching {
                        match (&mut items[i], value.clone()) {
                            (Value::Object(obj), Some(Value::Object(m))) => {
                                for (k, v) in m {
                                    set_ci(obj, &k, v);
                                }
                            }
                            (item, Some(v)) => *item = v,
                            _ => {}
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

/// Whether `path` names another schema's attribute (an extension Roster does not keep).
fn foreign(path: &AttrPath, schema: &Schema) -> bool {
    path.uri
        .as_deref()
        .is_some_and(|uri| !uri.eq_ignore_ascii_case(schema.urn))
}

fn check_writable(name: &str, shape: Shape) -> Result<(), Error> {
    match shape {
        Shape::ReadOnly => Err(Error::invalid(
            "mutability",
            format!("{name} is read-only: Roster sets it."),
        )),
        Shape::Refused(why) => Err(Error::invalid("mutability", why)),
        _ => Ok(()),
    }
}

fn on_attr(
    doc: &mut Map<String, Value>,
    op: Op,
    path: &AttrPath,
    value: Option<Value>,
    schema: &Schema,
) -> Result<(), Error> {
    if foreign(path, schema) {
        return Ok(());
    }
    let Some((name, shape)) = schema.find(&path.name) else {
        // `id` or `schemas` in Okta's path-less replace, or an attribute Roster does not
        // keep: nothing to do.
        return Ok(());
    };
    match shape {
        // Okta's path-less replace carries the resource's `id`: nothing to change.
        Shape::ReadOnly
            if op != Op::Remove && path.sub_attr.is_none() && matches!(name, "id" | "meta") =>
        {
            return Ok(());
        }
        Shape::ReadOnly | Shape::Refused(_) => {
            // An empty list asks for nothing (Entra ID sends `roles: []`).
            let nothing = matches!(&value, Some(Value::Null))
                || matches!(&value, Some(Value::Array(a)) if a.is_empty());
            return if nothing {
                Ok(())
            } else {
                check_writable(name, shape)
            };
        }
        _ => {}
    }
    match (op, path.sub_attr.as_deref(), shape) {
        (Op::Remove, None, Shape::Multi) => match value {
            // Entra ID removes members by a list of values: those only.
            Some(Value::Array(gone)) => {
                let gone: Vec<String> = gone.iter().filter_map(item_value).collect();
                list(doc, name).retain(|item| item_value(item).is_none_or(|v| !gone.contains(&v)));
            }
            _ => {
                doc.remove(name);
            }
        },
        (Op::Remove, None, _) => {
            doc.remove(name);
        }
        (Op::Remove, Some(sub), Shape::Multi) => {
            for item in list(doc, name) {
                if let Some(obj) = item.as_object_mut() {
                    remove_ci(obj, sub);
                }
            }
        }
        (Op::Remove, Some(sub), _) => {
            if let Some(Value::Object(obj)) = doc.get_mut(name) {
                remove_ci(obj, sub);
            }
        }
        (_, Some(sub), Shape::Multi) => {
            let v = value.unwrap_or(Value::Null);
            for item in list(doc, name) {
                if let Some(obj) = item.as_object_mut() {
                    set_ci(obj, sub, v.clone());
                }
            }
        }
        (_, Some(sub), _) => {
            let entry = doc
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(obj) = entry {
                set_ci(obj, sub, value.unwrap_or(Value::Null));
            }
        }
        (Op::Add, None, Shape::Multi) => {
            let new = match value {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            };
            let items = list(doc, name);
            for item in new {
                let v = item_value(&item);
                match items
                    .iter_mut()
                    .find(|old| v.is_some() && item_value(old) == v)
                {
                    Some(old) => *old = item,
                    None => items.push(item),
                }
            }
        }
        (Op::Replace, None, Shape::Multi) => {
            let new = match value {
                Some(Value::Array(items)) => items,
                Some(Value::Null) | None => Vec::new(),
                Some(other) => vec![other],
            };
            doc.insert(name.to_string(), Value::Array(new));
        }
        (Op::Add, None, Shape::Complex) => {
            let entry = doc
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            match (entry, value) {
                (Value::Object(obj), Some(Value::Object(m))) => {
                    for (k, v) in m {
                        set_ci(obj, &k, v);
                    }
                }
                (entry, Some(v)) => *entry = v,
                _ => {}
            }
        }
        (_, None, _) => {
            doc.insert(name.to_string(), value.unwrap_or(Value::Null));
        }
    }
    Ok(())
}

/// The multi-valued attribute `name` of `doc` as a list to change (made when absent).
fn list<'d>(doc: &'d mut Map<String, Value>, name: &str) -> &'d mut Vec<Value> {
    let entry = doc
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    match entry {
        Value::Array(items) => items,
        _ => unreachable!("made an array above"),
    }
}

/// The `value` of a multi-valued attribute's item, as text.
fn item_value(item: &Value) -> Option<String> {
    match item {
        Value::Object(obj) => get_ci(obj, "value").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

pub fn get_ci<'o>(obj: &'o Map<String, Value>, key: &str) -> Option<&'o Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn set_ci(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let existing = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned();
    obj.insert(existing.unwrap_or_else(|| key.to_string()), value);
}

fn remove_ci(obj: &mut Map<String, Value>, key: &str) {
    if let Some(existing) = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned() {
        obj.remove(&existing);
    }
}

/// Whether the item of a multi-valued attribute passes `filter`.
fn matches(filter: &ValFilter, item: &Value) -> bool {
    match filter {
        ValFilter::Attr(exp) => matches_exp(exp, item),
        ValFilter::Not(inner) => !matches(inner, item),
        ValFilter::And(items) => items.iter().all(|f| matches(f, item)),
        ValFilter::Or(items) => items.iter().any(|f| matches(f, item)),
    }
}

fn matches_exp(exp: &AttrExp, item: &Value) -> bool {
    let field = |path: &AttrPath| match item {
        Value::Object(obj) => get_ci(obj, &path.name).cloned(),
        // A bare string item is its own value.
        other if path.name.eq_ignore_ascii_case("value") => Some(other.clone()),
        _ => None,
    };
    match exp {
        AttrExp::Present(path) => field(path).is_some_and(|v| !v.is_null()),
        AttrExp::Comparison(path, op, wanted) => {
            let Some(have) = field(path) else {
                return *op == CompareOp::Ne;
            };
            compare(&have, op.clone(), wanted)
        }
    }
}

fn compare(have: &Value, op: CompareOp, wanted: &CompValue) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let wanted_text = match wanted {
        CompValue::Str(s) => s.to_lowercase(),
        CompValue::Number(n) => n.to_string(),
        CompValue::True => "true".into(),
        CompValue::False => "false".into(),
        CompValue::Null => return matches!(op, CompareOp::Eq) == have.is_null(),
    };
    let Some(have) = text(have) else {
        return op == CompareOp::Ne;
    };
    match op {
        CompareOp::Eq => have == wanted_text,
        CompareOp::Ne => have != wanted_text,
        CompareOp::Co => have.contains(&wanted_text),
        CompareOp::Sw => have.starts_with(&wanted_text),
        CompareOp::Ew => have.ends_with(&wanted_text),
        CompareOp::Gt => have > wanted_text,
        CompareOp::Ge => have >= wanted_text,
        CompareOp::Lt => have < wanted_text,
        CompareOp::Le => have <= wanted_text,
    }
}

/// The object a filter of `eq` terms joined by `and` describes (`type eq "work"` is
/// `{"type": "work"}`); None for any other filter.
fn equalities(filter: &ValFilter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut add = |f: &ValFilter| -> Option<()> {
        let ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, value)) = f else {
            return None;
        };
        let v = match value {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::True => Value::Bool(true),
            CompValue::False => Value::Bool(false),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(path.name.clone(), v);
        Some(())
    };
    match filter {
        ValFilter::And(items) => {
            for f in items.iter() {
                add(f)?;
            }
        }
        f => add(f)?,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: Schema = Schema {
        urn: "urn:ietf:params:scim:schemas:core:2.0:User",
        attributes: &[
            ("userName", Shape::Simple),
            ("name", Shape::Complex),
            ("displayName", Shape::Simple),
            ("emails", Shape::Multi),
            ("active", Shape::Simple),
            ("externalId", Shape::Simple),
            ("groups", Shape::ReadOnly),
            ("id", Shape::ReadOnly),
            ("roles", Shape::Refused("Roles are given in Roster.")),
        ],
    };

    fn patched(doc: Value, ops: Value) -> Result<Value, Error> {
        let mut doc = doc.as_object().unwrap().clone();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        });
        apply(&mut doc, &body, &USER)?;
        Ok(Value::Object(doc))
    }

    fn user() -> Value {
        json!({
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true,
        })
    }

    #[test]
    fn okta_deactivates_with_a_path_less_replace() {
        let doc = patched(
            user(),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .unwrap();
        assert_eq!(doc["active"], json!(false));
    }

    #[test]
    fn entra_capitalises_ops_and_sends_dotted_keys_and_string_booleans() {
        let doc = patched(
            user(),
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Replace", "value": {"name.givenName": "Augusta", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"}},
                {"op": "Add", "path": "name.familyName", "value": "King"},
            ]),
        )
        .unwrap();
        assert_eq!(doc["active"], json!("False"));
        assert_eq!(doc["name"]["givenName"], json!("Augusta"));
        assert_eq!(doc["name"]["familyName"], json!("King"));
    }

    #[test]
    fn a_work_address_is_replaced_or_made() {
        let path = r#"emails[type eq "work"].value"#;
        let doc = patched(
            user(),
            json!([{"op": "Replace", "path": path, "value": "a@x.test"}]),
        )
        .unwrap();
        assert_eq!(doc["emails"][0]["value"], json!("a@x.test"));
        let none = json!({"userName": "ada"});
        let doc = patched(
            none,
            json!([{"op": "Replace", "path": path, "value": "a@x.test"}]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([{"type": "work", "value": "a@x.test"}])
        );
    }

    #[test]
    fn read_only_and_refused_attributes_are_named() {
        let err = patched(
            user(),
            json!([{"op": "add", "path": "groups", "value": [{"value": "1"}]}]),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    scim_type: "mutability",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = patched(
            user(),
            json!([{"op": "add", "path": "roles", "value": [{"value": "owner"}]}]),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    scim_type: "mutability",
                    ..
                }
            ),
            "{err:?}"
        );
        // Entra sends an empty list of roles: it asks for nothing.
        patched(user(), json!([{"op": "Add", "path": "roles", "value": []}])).unwrap();
    }

    #[test]
    fn members_are_added_and_removed_as_both_providers_send_them() {
        let schema = Schema {
            urn: "urn:ietf:params:scim:schemas:core:2.0:Group",
            attributes: &[("displayName", Shape::Simple), ("members", Shape::Multi)],
        };
        let mut doc = json!({"displayName": "Ops", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]})
            .as_object()
            .unwrap()
            .clone();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": "4", "display": "d@x.test"}]},
                {"op": "remove", "path": "members[value eq \"1\"]"},
                {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "2"}]},
                {"op": "replace", "value": {"id": "9", "displayName": "Operations"}},
            ],
        });
        apply(&mut doc, &body, &schema).unwrap();
        let values: Vec<&str> = doc["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["3", "4"]);
        assert_eq!(doc["displayName"], json!("Operations"));
    }

    #[test]
    fn bad_bodies_get_the_right_scim_type() {
        let mut doc = user().as_object().unwrap().clone();
        let no_schema = json!({"Operations": []});
        assert!(matches!(
            apply(&mut doc, &no_schema, &USER),
            Err(Error::Invalid {
                scim_type: "invalidSyntax",
                ..
            })
        ));
        let bad_path = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "emails[type eq", "value": 1}]});
        assert!(matches!(
            apply(&mut doc, &bad_path, &USER),
            Err(Error::Invalid {
                scim_type: "invalidPath",
                ..
            })
        ));
        let no_path = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove"}]});
        assert!(matches!(
            apply(&mut doc, &no_path, &USER),
            Err(Error::Invalid { .. })
        ));
        let empty =
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []});
        apply(&mut doc, &empty, &USER).unwrap();
    }
}
