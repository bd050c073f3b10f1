//! Event documents, field paths and provenance.
//!
//! Every Harrier crate speaks in terms of [`Event`]: a JSON document (the
//! event as its home system stores it, ECS or Defender), the index or data
//! stream it belongs to, and where it came from. Field paths are looked up
//! the way Elasticsearch resolves them against `_source`: nested objects and
//! dotted keys are interchangeable, and arrays (also arrays of objects) make
//! a field multi-valued.

pub mod flat;
mod flatdoc;
mod path;
pub mod projection;
#[cfg(test)]
mod testgen;

pub use flat::{Collected, Document, FieldIndex, FieldNode, FlatView, Scalar, SlotValues};
pub use flatdoc::FlatDoc;
pub use path::{lookup, lookup_first, visit, FieldPath};
pub use serde_json::{Map, Value};

use std::fmt;
use std::sync::Arc;

/// Where an event was read from: a file (or `-` for stdin) and a position in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<str>,
    pub locator: Locator,
}

/// The position of an event inside its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locator {
    /// 1-based line of an NDJSON or CSV file.
    Line(u64),
    /// EVTX record id.
    Record(u64),
    /// 0-based position in a JSON array.
    Element(u64),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.locator {
            Locator::Line(n) => write!(f, "{}:{}", self.file, n),
            Locator::Record(n) => write!(f, "{} record {}", self.file, n),
            Locator::Element(n) => write!(f, "{} element {}", self.file, n),
        }
    }
}

/// One event: its document, the index or data stream it belongs to, and its origin.
#[derive(Clone, Debug)]
pub struct Event {
    /// The document as the home system stores it (`_source` in Elasticsearch).
    pub source: Map<String, Value>,
    /// Index or data stream name, e.g. `logs-windows.sysmon_operational-default`.
    pub index: Arc<str>,
    /// Document id; empty when the input had none (a stable one is derived on output).
    pub id: Option<Arc<str>>,
    pub origin: Origin,
}

impl Event {
    /// Values at `path`, flattened across arrays; empty when the field is absent.
    pub fn values<'a>(&'a self, path: &FieldPath, out: &mut Vec<&'a Value>) {
        lookup(&self.source, path, out)
    }
}
