//! Field types: the built-in ECS schema and Elasticsearch mapping files.
//!
//! A [`Schema`] answers "what type is this field, and where does it really
//! live" (aliases). A schema built from mapping files is *strict*: a field
//! it does not know is an error unless written `?field`, as in Elasticsearch.
//! The built-in ECS schema is lenient: fields it does not list are read with
//! the type their JSON value has.

use serde_json::Value as Json;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    /// keyword, constant_keyword, wildcard, text (compared through its keyword form)
    Keyword,
    Long,
    Double,
    Boolean,
    Date,
    DateNanos,
    Ip,
    Version,
    Object,
    /// Not known to the schema; typed from the JSON value at run time.
    Unknown,
}

impl DataType {
    pub fn name(self) -> &'static str {
        match self {
            DataType::Keyword => "keyword",
            DataType::Long => "long",
            DataType::Double => "double",
            DataType::Boolean => "boolean",
            DataType::Date => "date",
            DataType::DateNanos => "date_nanos",
            DataType::Ip => "ip",
            DataType::Version => "version",
            DataType::Object => "object",
            DataType::Unknown => "unknown",
        }
    }

    pub fn is_string(self) -> bool {
        matches!(self, DataType::Keyword)
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, DataType::Long | DataType::Double)
    }

    pub fn is_date(self) -> bool {
        matches!(self, DataType::Date | DataType::DateNanos)
    }

    fn from_es(name: &str) -> Option<DataType> {
        Some(match name {
            "keyword" | "constant_keyword" | "wildcard" | "text" | "match_only_text"
            | "flattened" => DataType::Keyword,
            "long" | "integer" | "short" | "byte" | "unsigned_long" => DataType::Long,
            "double" | "float" | "half_float" | "scaled_float" => DataType::Double,
            "boolean" => DataType::Boolean,
            "date" => DataType::Date,
            "date_nanos" => DataType::DateNanos,
            "ip" => DataType::Ip,
            "version" => DataType::Version,
            "object" | "nested" => DataType::Object,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldInfo {
    pub ty: DataType,
    /// The path the values are read from (differs from the name for aliases
    /// and for multi-fields such as `hostname.keyword`).
    pub source_path: String,
    /// Mapping `null_value`: the value an explicit JSON null indexes as.
    pub null_value: Option<Json>,
    /// Mapping date `format`, when not the default.
    pub format: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Schema {
    fields: HashMap<String, FieldInfo>,
    strict: bool,
}

#[derive(Debug)]
pub struct MappingError(pub String);

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MappingError {}

impl Schema {
    /// An empty lenient schema: every field is typed from its JSON value.
    pub fn dynamic() -> Schema {
        Schema::default()
    }

    /// The built-in ECS schema (lenient for fields it does not list).
    pub fn ecs() -> Schema {
        let mut s = Schema::default();
        for (name, ty) in crate::ecs::FIELDS {
            s.fields.insert(
                name.to_string(),
                FieldInfo {
                    ty: *ty,
                    source_path: name.to_string(),
                    null_value: None,
                    format: None,
                },
            );
        }
        s
    }

    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Adds the fields of an Elasticsearch mapping (JSON text). Accepts the
    /// bare `{"properties": ...}` form, `{"mappings": ...}`, and a
    /// get-mapping response keyed by index name. Makes the schema strict.
    pub fn add_mapping(&mut self, text: &str) -> Result<(), MappingError> {
        let json: Json = serde_json::from_str(text)
            .map_err(|e| MappingError(format!("invalid mapping JSON: {e}")))?;
        let props = find_properties(&json)
            .ok_or_else(|| MappingError("mapping has no \"properties\"".into()))?;
        let mut aliases = Vec::new();
        self.add_properties("", props, &mut aliases)?;
        for (name, path) in aliases {
            let target = self.fields.get(&path).cloned().ok_or_else(|| {
                MappingError(format!("alias [{name}] points to unknown field [{path}]"))
            })?;
            self.fields.insert(name, target);
        }
        self.strict = true;
        Ok(())
    }

    fn add_properties(
        &mut self,
        prefix: &str,
        props: &serde_json::Map<String, Json>,
        aliases: &mut Vec<(String, String)>,
    ) -> Result<(), MappingError> {
        for (name, def) in props {
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            let ty = def.get("type").and_then(Json::as_str);
            if ty == Some("alias") {
                let path = def
                    .get("path")
                    .and_then(Json::as_str)
                    .ok_or_else(|| MappingError(format!("alias [{full}] has no path")))?;
                aliases.push((full.clone(), path.to_string()));
                continue;
            }
            if let Some(sub) = def.get("properties").and_then(Json::as_object) {
                self.add_properties(&full, sub, aliases)?;
                if ty.is_none() {
                    self.insert(&full, DataType::Object, &full, None, None);
                    continue;
                }
            }
            let dt = match ty {
                Some(t) => DataType::from_es(t).unwrap_or(DataType::Unknown),
                None => DataType::Object,
            };
            let null_value = def.get("null_value").cloned();
            let format = def.get("format").and_then(Json::as_str).map(str::to_string);
            self.insert(&full, dt, &full, null_value, format);
            // multi-fields (e.g. text with a keyword sub-field) read the parent's values
            if let Some(fields) = def.get("fields").and_then(Json::as_object) {
                for (sub, sdef) in fields {
                    let sty = sdef
                        .get("type")
                        .and_then(Json::as_str)
                        .and_then(DataType::from_es)
                        .unwrap_or(DataType::Unknown);
                    self.insert(&format!("{full}.{sub}"), sty, &full, None, None);
                }
            }
        }
        Ok(())
    }

    fn insert(
        &mut self,
        name: &str,
        ty: DataType,
        source: &str,
        null_value: Option<Json>,
        format: Option<String>,
    ) {
        // the same field mapped with other date formats in another index: accept them all
        let format = match (self.fields.get(name).and_then(|f| f.format.clone()), format) {
            (Some(old), Some(new)) if !old.split("||").any(|f| f == new) => {
                Some(format!("{old}||{new}"))
            }
            (Some(old), _) => Some(old),
            (None, new) => new,
        };
        self.fields.insert(
            name.to_string(),
            FieldInfo {
                ty,
                source_path: source.to_string(),
                null_value,
                format,
            },
        );
    }

    /// Adds the fields of a document that the mapping does not name, typed
    /// as Elasticsearch's dynamic mapping would type them: strings as text
    /// with a `.keyword` sub-field (or as dates when they look like one),
    /// whole numbers as long, other numbers as float, booleans as boolean.
    pub fn add_dynamic_fields(&mut self, doc: &serde_json::Map<String, Json>) {
        self.add_dynamic_object("", doc);
    }

    fn add_dynamic_object(&mut self, prefix: &str, obj: &serde_json::Map<String, Json>) {
        for (k, v) in obj {
            let full = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            self.add_dynamic_value(&full, v);
        }
    }

    fn add_dynamic_value(&mut self, full: &str, v: &Json) {
        let ty = match v {
            Json::Null => return,
            Json::Object(o) => {
                self.add_dynamic_object(full, o);
                if !self.fields.contains_key(full) {
                    self.insert(full, DataType::Object, full, None, None);
                }
                return;
            }
            Json::Array(items) => {
                for item in items {
                    self.add_dynamic_value(full, item);
                }
                return;
            }
            Json::Bool(_) => DataType::Boolean,
            Json::Number(n) => {
                if n.is_f64() {
                    DataType::Double
                } else {
                    DataType::Long
                }
            }
            Json::String(s) => {
                if looks_like_date(s) {
                    DataType::Date
                } else {
                    DataType::Keyword
                }
            }
        };
        if self.fields.contains_key(full) {
            return;
        }
        self.insert(full, ty, full, None, None);
        if ty == DataType::Keyword {
            self.insert(&format!("{full}.keyword"), ty, full, None, None);
        }
    }

    pub fn get(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.get(name)
    }

    /// Known field names, for "did you mean" suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }
}

fn find_properties(json: &Json) -> Option<&serde_json::Map<String, Json>> {
    if let Some(p) = json.get("properties").and_then(Json::as_object) {
        return Some(p);
    }
    if let Some(m) = json.get("mappings") {
        return find_properties(m);
    }
    // get-mapping response: {"index-name": {"mappings": {...}}}
    json.as_object()?
        .values()
        .find_map(|v| v.get("mappings").and_then(find_properties))
}

/// Dynamic mapping's date detection: `yyyy-MM-dd` optionally followed by a time.
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T')
        && crate::value::parse_date(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats_from_several_mappings_are_all_kept() {
        let mut s = Schema::dynamic();
        s.add_mapping(r#"{"properties":{"d":{"type":"date","format":"dd-MM-yyyy"}}}"#)
            .unwrap();
        s.add_mapping(r#"{"properties":{"d":{"type":"date","format":"yyyy-MM-dd"}}}"#)
            .unwrap();
        s.add_mapping(r#"{"properties":{"e":{"type":"date"}}}"#)
            .unwrap();
        assert_eq!(
            s.get("d").and_then(|f| f.format.as_deref()),
            Some("dd-MM-yyyy||yyyy-MM-dd")
        );
    }

    #[test]
    fn aliases_read_their_target() {
        let mut s = Schema::dynamic();
        s.add_mapping(r#"{"properties":{"event_type":{"type":"keyword"},"event":{"properties":{"category":{"type":"alias","path":"event_type"}}}}}"#).unwrap();
        assert_eq!(
            s.get("event.category").map(|f| f.source_path.as_str()),
            Some("event_type")
        );
        assert!(s.is_strict());
    }
}
