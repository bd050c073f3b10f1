//! The fast way from an EVTX record to [`Fields`]: no JSON in between.
//!
//! A record is almost always one template instance: a template definition
//! (BinXML in the chunk, shared by every record of that event type) and the
//! record's substitution values. We read each definition once per chunk into
//! a [`Plan`] (which substitution, or which literal, feeds each `System`
//! field and each `EventData` entry), take the values from the `evtx` crate
//! ([`EvtxRecord::template_instances`]) and fill [`Fields`] directly.
//!
//! The plan reproduces what [`crate::winlog::read_fields`] reads from the
//! crate's JSON rendering, for the shapes it accepts: an `Event` root with a
//! `System` element of single-valued fields, and `EventData` made of `Data`
//! elements (all named, or all positional). Anything else returns `None` and
//! the record takes the JSON path ([`crate::evtx_input`]): `UserData`,
//! nested BinXML or array values in a field we read, element dependencies on
//! `Data`, repeated element or `Data` names, substitutions with text around
//! them, records that are not a single template instance, strings that are
//! not valid UTF-16 or hold a NUL, and values the renderer shows in a way we
//! don't mirror (handles, unrepresentable times).

use crate::winlog::{normalize_guid_owned, Fields, System};
use evtx::binxml::value_variant::BinXmlValue;
use evtx::EvtxRecord;
use serde_json::Value;
use std::collections::HashMap;
use std::rc::Rc;

/// Compiled templates by definition offset, for one chunk (`None`: the
/// template has a shape we leave to the JSON path).
#[derive(Default)]
pub(crate) struct Plans(HashMap<u32, Option<Rc<Compiled>>>);

/// What a template definition is to us, by its root element.
#[derive(Debug)]
enum Compiled {
    /// A record's `Event`.
    Event(Plan),
    /// An `EventData` substituted into an `Event`.
    EventData(DataPlan),
    /// Another element substituted into an `Event`, which we don't read.
    Other,
}

impl Plans {
    fn get(&mut self, data: &[u8], def_offset: u32, nested: bool) -> Option<Rc<Compiled>> {
        if let Some(c) = self.0.get(&def_offset) {
            return c.clone();
        }
        let c = parse_template(data, def_offset)
            .and_then(|t| {
                if nested {
                    compile_nested(&t)
                } else {
                    compile(&t).map(Compiled::Event)
                }
            })
            .map(Rc::new);
        self.0.insert(def_offset, c.clone());
        c
    }
}

/// The fields of `record`, or `None` when it needs the JSON path. The record
/// is left as it was.
pub(crate) fn extract(record: &mut EvtxRecord<'_>, plans: &mut Plans) -> Option<Fields> {
    let data = record.chunk.data;
    let start = usize::try_from(record.binxml_offset).ok()?;
    let end = start.checked_add(record.binxml_size as usize)?;
    let def_offset = single_instance(data, start, end)?;
    let compiled = plans.get(data, def_offset, false)?;
    let Compiled::Event(plan) = &*compiled else {
        return None;
    };
    let values = instance_values(record, def_offset)?;
    let mut fields = plan.eval(&values)?;
    let Some(slot) = plan.slot else {
        return Some(fields);
    };
    // A substitution among `Event`'s children: empty, or a BinXML fragment
    // holding one more template instance (most often `EventData`).
    let value = values.get(usize::from(slot))?;
    if is_empty(value) {
        return Some(fields);
    }
    let BinXmlValue::BinXmlType(bytes) = value else {
        return None;
    };
    let (offset, len) = subslice_at(data, bytes)?;
    let nested_def = single_instance(data, offset, offset.checked_add(len)?)?;
    let nested = plans.get(data, nested_def, true)?;
    match &*nested {
        Compiled::Other => Some(fields),
        Compiled::Event(_) => None,
        Compiled::EventData(dp) => {
            if plan.data.is_some() {
                return None; // `EventData` twice: the second is `EventData_1`
            }
            // The crate reads the instance at the record's BinXML window:
            // point it at the fragment for a moment.
            let (saved_offset, saved_size) = (record.binxml_offset, record.binxml_size);
            record.binxml_offset = offset as u64;
            record.binxml_size = u32::try_from(len).ok()?;
            let nested_values = instance_values(record, nested_def);
            record.binxml_offset = saved_offset;
            record.binxml_size = saved_size;
            fields.event_data = dp.eval(&nested_values?)?;
            Some(fields)
        }
    }
}

/// The substitution values of the record's one template instance.
fn instance_values<'a>(record: &EvtxRecord<'a>, def_offset: u32) -> Option<Vec<BinXmlValue<'a>>> {
    let mut instances = record.template_instances().ok()?;
    if instances.len() != 1 {
        return None;
    }
    let inst = instances.pop()?;
    (inst.template_def_offset == def_offset).then_some(inst.values)
}

/// Where `part` sits in `whole`: offset and length.
fn subslice_at(whole: &[u8], part: &[u8]) -> Option<(usize, usize)> {
    let offset = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (offset.checked_add(part.len())? <= whole.len()).then_some((offset, part.len()))
}

// ---------------------------------------------------------------------------
// Record stream shape

/// Bounds-checked little-endian reads.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos.checked_add(2)?)?;
        self.pos += 2;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos.checked_add(4)?)?;
        self.pos += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        let to = self.pos.checked_add(n)?;
        if to > self.data.len() {
            return None;
        }
        self.pos = to;
        Some(())
    }
}

const EOF: u8 = 0x00;
const FRAGMENT_HEADER: u8 = 0x0f;
const TEMPLATE_INSTANCE: u8 = 0x0c;
const TEMPLATE_HEADER_SIZE: usize = 24;

/// When `data[start..end]` is exactly one template instance (after an
/// optional fragment header, up to EOF or the end), its definition's offset.
fn single_instance(data: &[u8], start: usize, end: usize) -> Option<u32> {
    let stream = data.get(start..end)?;
    let mut r = Reader { data, pos: start };
    if stream.first() == Some(&FRAGMENT_HEADER) {
        r.skip(4)?;
    }
    if r.u8()? != TEMPLATE_INSTANCE {
        return None;
    }
    r.skip(1)?; // unknown
    r.skip(4)?; // template id
    let def_offset = r.u32()?;
    if r.pos == def_offset as usize {
        // The definition follows inline: skip it.
        r.skip(20)?;
        let size = r.u32()? as usize;
        r.skip(size)?;
    }
    let count = r.u32()? as usize;
    let mut values = 0usize;
    for _ in 0..count {
        values = values.checked_add(r.u16()? as usize)?;
        r.skip(2)?;
    }
    let value_end = r.pos.checked_add(values)?;
    if value_end > end {
        return None;
    }
    (value_end == end || data.get(value_end) == Some(&EOF)).then_some(def_offset)
}

// ---------------------------------------------------------------------------
// Template definitions

/// One node of content: literal text or a substitution.
#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Sub(u16),
}

#[derive(Debug)]
struct Elem {
    name: String,
    /// The substitution whose NULL leaves the element out.
    dep: Option<u16>,
    attrs: Vec<(String, Vec<Part>)>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Elem(Elem),
    Part(Part),
}

const MAX_DEPTH: usize = 64;

/// The element tree of the template definition at `offset`; `None` for
/// tokens we don't follow (nested instances, CDATA, entity and character
/// references, processing instructions) or damage.
fn parse_template(data: &[u8], offset: u32) -> Option<Elem> {
    let offset = offset as usize;
    let mut header = Reader {
        data,
        pos: offset.checked_add(20)?,
    };
    let size = header.u32()? as usize;
    let start = offset.checked_add(TEMPLATE_HEADER_SIZE)?;
    let end = start.checked_add(size)?;
    if end > data.len() {
        return None;
    }
    let mut r = Reader { data, pos: start };
    let mut stack: Vec<Elem> = Vec::new();
    let mut in_attrs = false;
    let mut root = None;
    while r.pos < end {
        let token = r.u8()?;
        match token {
            EOF => break,
            FRAGMENT_HEADER => r.skip(3)?,
            0x01 | 0x41 => {
                let dep = r.u16()?;
                r.skip(4)?; // data size
                let name = name_ref(&mut r)?;
                if token & 0x40 != 0 {
                    r.skip(4)?; // attribute list size
                }
                if stack.len() >= MAX_DEPTH || root.is_some() {
                    return None;
                }
                stack.push(Elem {
                    name,
                    dep: (dep != 0xffff).then_some(dep),
                    attrs: Vec::new(),
                    children: Vec::new(),
                });
                in_attrs = true;
            }
            0x02 => in_attrs = false,
            0x03 | 0x04 => {
                in_attrs = false;
                let e = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Elem(e)),
                    None => root = Some(e),
                }
            }
            0x06 | 0x46 => {
                let name = name_ref(&mut r)?;
                let e = stack.last_mut()?;
                if !in_attrs {
                    return None;
                }
                e.attrs.push((name, Vec::new()));
            }
            0x05 | 0x45 => {
                if r.u8()? != 0x01 {
                    return None; // only string literals
                }
                let chars = r.u16()? as usize;
                let at = r.pos;
                r.skip(chars.checked_mul(2)?)?;
                let text = utf16(data.get(at..r.pos)?)?;
                push_part(&mut stack, in_attrs, Part::Text(text))?;
            }
            0x0d | 0x0e => {
                let index = r.u16()?;
                r.skip(1)?; // value type
                push_part(&mut stack, in_attrs, Part::Sub(index))?;
            }
            _ => return None,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

fn push_part(stack: &mut [Elem], in_attrs: bool, part: Part) -> Option<()> {
    let e = stack.last_mut()?;
    if in_attrs {
        e.attrs.last_mut()?.1.push(part);
    } else {
        e.children.push(Node::Part(part));
    }
    Some(())
}

/// A name reference in a chunk stream: the offset of a string-table entry,
/// which may follow inline (then it is skipped).
fn name_ref(r: &mut Reader<'_>) -> Option<String> {
    let offset = r.u32()? as usize;
    if r.pos == offset {
        r.skip(6)?;
        let chars = r.u16()? as usize;
        r.skip(chars.checked_mul(2)?.checked_add(2)?)?;
    }
    let mut n = Reader {
        data: r.data,
        pos: offset.checked_add(6)?,
    };
    let chars = n.u16()? as usize;
    let bytes = r
        .data
        .get(n.pos..n.pos.checked_add(chars.checked_mul(2)?)?)?;
    utf16(bytes)
}

fn utf16(bytes: &[u8]) -> Option<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let s: String = char::decode_utf16(units).collect::<Result<_, _>>().ok()?;
    (!s.contains('\0')).then_some(s)
}

// ---------------------------------------------------------------------------
// Plans

#[derive(Clone, Copy, Debug)]
enum Field {
    ProviderName,
    ProviderGuid,
    EventId,
    Version,
    Level,
    Opcode,
    Keywords,
    TimeCreated,
    RecordId,
    ActivityId,
    RelatedActivityId,
    Pid,
    Tid,
    Channel,
    Computer,
    UserId,
}

#[derive(Debug)]
struct SysItem {
    field: Field,
    /// `None`: the element or attribute is there but empty.
    src: Option<Part>,
    dep: Option<u16>,
}

#[derive(Debug)]
struct DataPlan {
    dep: Option<u16>,
    items: Vec<DataItem>,
}

#[derive(Debug)]
struct DataItem {
    key: Key,
    src: Option<Part>,
    /// The substitution whose NULL leaves the element out.
    dep: Option<u16>,
}

#[derive(Debug)]
enum Key {
    /// A `Data` element's `Name`, or another element's own name.
    Name(String),
    /// An unnamed `Data`: `param1`, `param2`, ... in order.
    Param,
}

#[derive(Debug)]
pub(crate) struct Plan {
    /// What `Event` itself depends on (when NULL: the JSON path).
    root_dep: Option<u16>,
    sys: Vec<SysItem>,
    data: Option<DataPlan>,
    /// A substitution among `Event`'s children (see [`extract`]).
    slot: Option<u16>,
}

/// The content of a leaf element: `Some(None)` when empty, `None` when it
/// has element children or more than one node.
fn leaf_content(e: &Elem) -> Option<Option<Part>> {
    let mut parts = e.children.iter().filter(|n| match n {
        Node::Part(Part::Text(t)) => !t.is_empty(),
        _ => true,
    });
    match (parts.next(), parts.next()) {
        (None, _) => Some(None),
        (Some(Node::Part(p)), None) => Some(Some(p.clone())),
        _ => None,
    }
}

/// An attribute's single node (`Some(None)` when absent or empty).
fn attr_content(e: &Elem, name: &str) -> Option<Option<Part>> {
    let mut found = e.attrs.iter().filter(|(n, _)| n == name);
    let Some((_, parts)) = found.next() else {
        return Some(None);
    };
    if found.next().is_some() {
        return None;
    }
    let mut nodes = parts
        .iter()
        .filter(|p| !matches!(p, Part::Text(t) if t.is_empty()));
    match (nodes.next(), nodes.next()) {
        (None, _) => Some(None),
        (Some(p), None) => Some(Some(p.clone())),
        _ => None,
    }
}

/// Distinct element children, ignoring empty text; `None` for other content.
fn element_children(e: &Elem) -> Option<Vec<&Elem>> {
    let mut out: Vec<&Elem> = Vec::with_capacity(e.children.len());
    for node in &e.children {
        match node {
            Node::Elem(c) => {
                if out.iter().any(|o| o.name == c.name) {
                    return None;
                }
                out.push(c);
            }
            Node::Part(Part::Text(t)) if t.is_empty() => {}
            Node::Part(_) => return None,
        }
    }
    Some(out)
}

fn compile(root: &Elem) -> Option<Plan> {
    if root.name != "Event" {
        return None;
    }
    let mut system = None;
    let mut event_data = None;
    let mut slot = None;
    let mut seen: Vec<&str> = Vec::new();
    for node in &root.children {
        let c = match node {
            Node::Elem(c) => c,
            Node::Part(Part::Text(t)) if t.is_empty() => continue,
            Node::Part(Part::Sub(i)) if slot.is_none() => {
                slot = Some(*i);
                continue;
            }
            Node::Part(_) => return None,
        };
        if slot.is_some() || seen.contains(&c.name.as_str()) {
            return None; // a static member after the dynamic one, or a repeated name
        }
        seen.push(&c.name);
        match c.name.as_str() {
            "System" if c.dep.is_none() => system = Some(c),
            "EventData" => event_data = Some(c),
            "System" | "UserData" => return None,
            _ => {}
        }
    }
    let system = system?;
    let mut sys = Vec::new();
    for c in element_children(system)? {
        let content = |field| -> Option<SysItem> {
            Some(SysItem {
                field,
                src: leaf_content(c)?,
                dep: c.dep,
            })
        };
        let attr = |field, name| -> Option<SysItem> {
            Some(SysItem {
                field,
                src: attr_content(c, name)?,
                dep: c.dep,
            })
        };
        match c.name.as_str() {
            "Provider" => {
                sys.push(attr(Field::ProviderName, "Name")?);
                sys.push(attr(Field::ProviderGuid, "Guid")?);
            }
            "EventID" => sys.push(content(Field::EventId)?),
            "Version" => sys.push(content(Field::Version)?),
            "Level" => sys.push(content(Field::Level)?),
            "Opcode" => sys.push(content(Field::Opcode)?),
            "Keywords" => sys.push(content(Field::Keywords)?),
            "TimeCreated" => sys.push(attr(Field::TimeCreated, "SystemTime")?),
            "EventRecordID" => sys.push(content(Field::RecordId)?),
            "Correlation" => {
                sys.push(attr(Field::ActivityId, "ActivityID")?);
                sys.push(attr(Field::RelatedActivityId, "RelatedActivityID")?);
            }
            "Execution" => {
                sys.push(attr(Field::Pid, "ProcessID")?);
                sys.push(attr(Field::Tid, "ThreadID")?);
            }
            "Channel" => sys.push(content(Field::Channel)?),
            "Computer" => sys.push(content(Field::Computer)?),
            "Security" => sys.push(attr(Field::UserId, "UserID")?),
            _ => {}
        }
        // Text content (or element children) of an attribute-only element
        // is not read: no check needed for those.
    }
    let data = match event_data {
        None => None,
        Some(ed) => Some(compile_event_data(ed)?),
    };
    Some(Plan {
        root_dep: root.dep,
        sys,
        data,
        slot,
    })
}

/// A template substituted into `Event`.
fn compile_nested(root: &Elem) -> Option<Compiled> {
    match root.name.as_str() {
        "EventData" => compile_event_data(root).map(Compiled::EventData),
        "System" | "UserData" | "Event" => None,
        _ => Some(Compiled::Other),
    }
}

fn compile_event_data(ed: &Elem) -> Option<DataPlan> {
    // (element, its Name if it is a `Data`)
    let mut children: Vec<(&Elem, Option<String>)> = Vec::new();
    for node in &ed.children {
        match node {
            Node::Elem(c) if c.name == "Data" => {
                if c.attrs.iter().any(|(n, _)| n != "Name") {
                    return None;
                }
                let name = match attr_content(c, "Name")? {
                    None => String::new(),
                    Some(Part::Text(t)) => t,
                    Some(Part::Sub(_)) => return None,
                };
                children.push((c, Some(name)));
            }
            Node::Elem(c) => {
                if !c.attrs.is_empty() {
                    return None;
                }
                children.push((c, None));
            }
            Node::Part(Part::Text(t)) if t.is_empty() => {}
            Node::Part(_) => return None,
        }
    }
    let named = children
        .iter()
        .any(|(_, n)| n.as_deref().is_some_and(|n| !n.is_empty()));
    let positional = children.iter().filter(|(_, n)| n.is_some()).count();
    let mut items: Vec<DataItem> = Vec::with_capacity(children.len());
    for (c, data_name) in children {
        let key = match data_name {
            Some(name) if named => {
                if name.is_empty() {
                    continue; // unnamed Data are left out beside named ones
                }
                if c.dep.is_some() {
                    return None;
                }
                Key::Name(name)
            }
            Some(_) => {
                if c.dep.is_some() && positional > 1 {
                    return None;
                }
                Key::Param
            }
            None => {
                if !named && c.name.starts_with("param") {
                    return None;
                }
                Key::Name(c.name.clone())
            }
        };
        if let Key::Name(n) = &key {
            let taken = items
                .iter()
                .any(|i| matches!(&i.key, Key::Name(m) if m == n));
            if taken || matches!(n.as_str(), "Data" | "#text" | "#attributes") {
                return None;
            }
        }
        items.push(DataItem {
            key,
            src: leaf_content(c)?,
            dep: c.dep,
        });
    }
    Some(DataPlan { dep: ed.dep, items })
}

// ---------------------------------------------------------------------------
// Values

/// A value as the JSON rendering has it once parsed.
enum Scalar {
    Str(String),
    /// Integers, which the renderer writes as bare decimal numbers.
    UInt(u64),
    Int(i64),
    Bool(bool),
    Guid([u8; 16]),
}

impl Scalar {
    /// The text, as the renderer writes it.
    fn text(self) -> String {
        match self {
            Scalar::Str(s) => s,
            Scalar::UInt(i) => i.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Guid(g) => guid_text(&g, false),
        }
    }

    /// [`normalize_guid_owned`] of the text: GUIDs upper-case, in braces.
    fn data_text(self) -> String {
        match self {
            Scalar::Str(s) => normalize_guid_owned(s),
            Scalar::Guid(g) => guid_text(&g, true),
            other => other.text(),
        }
    }

    /// As `winlog::number`: a bare number, or text that parses as one.
    fn number(&self) -> Option<u64> {
        match self {
            Scalar::Str(s) => s.trim().parse().ok(),
            Scalar::UInt(i) => Some(*i),
            Scalar::Int(i) => u64::try_from(*i).ok(),
            Scalar::Bool(_) | Scalar::Guid(_) => None,
        }
    }
}

/// A GUID as the renderer writes it (`{00112233-4455-6677-8899-aabbccddeeff}`,
/// the first three groups little-endian), in upper case when `upper`.
fn guid_text(g: &[u8; 16], upper: bool) -> String {
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::with_capacity(38);
    out.push('{');
    for (i, &at) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let b = g[at];
        out.push(char::from(digits[usize::from(b >> 4)]));
        out.push(char::from(digits[usize::from(b & 0x0f)]));
    }
    out.push('}');
    out
}

/// UTF-16LE text as [`evtx::Utf16LeSlice::to_string`] decodes it; `None`
/// where that fails (odd length, unpaired surrogates) or the text holds a NUL.
fn utf16_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() & 1 != 0 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() / 2);
    // ASCII, four code units at a time.
    let mut at = 0;
    while let Some(w) = bytes.get(at..at + 8) {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        if v & 0xff80_ff80_ff80_ff80 != 0 {
            break;
        }
        out.extend_from_slice(&[w[0], w[2], w[4], w[6]]);
        at += 8;
    }
    let tail = bytes.get(at..).unwrap_or_default();
    let units = tail
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    for ch in char::decode_utf16(units) {
        let ch = ch.ok()?;
        let mut buf = [0; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    if memchr::memchr(0, &out).is_some() {
        return None;
    }
    String::from_utf8(out).ok()
}

/// The value as the JSON rendering has it once parsed; `Ok(None)` when the
/// renderer treats it as empty, `Err(())` for values we leave to the JSON
/// path.
fn scalar(v: &BinXmlValue<'_>) -> Result<Option<Scalar>, ()> {
    use BinXmlValue as B;
    Ok(Some(match v {
        B::NullType => return Ok(None),
        B::StringType(s) => {
            if s.is_empty() {
                return Ok(None);
            }
            Scalar::Str(utf16_text(s.as_bytes()).ok_or(())?)
        }
        B::AnsiStringType(s) => {
            if s.is_empty() {
                return Ok(None);
            }
            if s.contains('\0') {
                return Err(());
            }
            Scalar::Str((*s).to_string())
        }
        B::BinXmlType([]) | B::BinaryType([]) => return Ok(None),
        B::Int8Type(i) => Scalar::Int(i64::from(*i)),
        B::UInt8Type(i) => Scalar::UInt(u64::from(*i)),
        B::Int16Type(i) => Scalar::Int(i64::from(*i)),
        B::UInt16Type(i) => Scalar::UInt(u64::from(*i)),
        B::Int32Type(i) => Scalar::Int(i64::from(*i)),
        B::UInt32Type(i) => Scalar::UInt(u64::from(*i)),
        B::Int64Type(i) => Scalar::Int(*i),
        B::UInt64Type(i) => Scalar::UInt(*i),
        B::BoolType(b) => Scalar::Bool(*b),
        B::GuidType(g) => Scalar::Guid(*g),
        B::Real32Type(_)
        | B::Real64Type(_)
        | B::BinaryType(_)
        | B::SizeTType(_)
        | B::FileTimeType(_)
        | B::SysTimeType(_)
        | B::SidType(_)
        | B::HexInt32Type(_)
        | B::HexInt64Type(_) => {
            // `Display` is the renderer's own text; these never need escaping.
            // Empty means the renderer failed on it: leave that to the JSON path.
            let s = v.to_string();
            if s.is_empty() || s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                return Err(());
            }
            Scalar::Str(s)
        }
        _ => return Err(()),
    }))
}

/// What the renderer leaves out as empty (of the values we handle).
fn is_empty(v: &BinXmlValue<'_>) -> bool {
    match v {
        BinXmlValue::NullType => true,
        BinXmlValue::StringType(s) => s.is_empty(),
        BinXmlValue::AnsiStringType(s) => s.is_empty(),
        BinXmlValue::BinaryType(b) | BinXmlValue::BinXmlType(b) => b.is_empty(),
        _ => false,
    }
}

fn is_null(v: &BinXmlValue<'_>) -> bool {
    matches!(v, BinXmlValue::NullType) || matches!(v, BinXmlValue::BinXmlType(b) if b.is_empty())
}

impl DataPlan {
    /// `winlog.event_data` as [`crate::winlog::read_fields`] collects it.
    fn eval(&self, values: &[BinXmlValue<'_>]) -> Option<Vec<(String, Value)>> {
        let mut out = Vec::with_capacity(self.items.len());
        if Plan::left_out(self.dep, values).ok()? {
            return Some(out);
        }
        let mut params = 0;
        for item in &self.items {
            if Plan::left_out(item.dep, values).ok()? {
                continue;
            }
            let s = match Plan::part(&item.src, values).ok()? {
                None => String::new(),
                Some(v) => v.data_text(),
            };
            let key = match &item.key {
                Key::Name(n) => n.clone(),
                Key::Param => {
                    params += 1;
                    format!("param{params}")
                }
            };
            out.push((key, Value::String(s)));
        }
        Some(out)
    }
}

impl Plan {
    fn part(part: &Option<Part>, values: &[BinXmlValue<'_>]) -> Result<Option<Scalar>, ()> {
        match part {
            None => Ok(None),
            Some(Part::Text(t)) => Ok((!t.is_empty()).then(|| Scalar::Str(t.clone()))),
            Some(Part::Sub(i)) => scalar(values.get(usize::from(*i)).ok_or(())?),
        }
    }

    /// Whether the element depending on `dep` is left out.
    fn left_out(dep: Option<u16>, values: &[BinXmlValue<'_>]) -> Result<bool, ()> {
        match dep {
            None => Ok(false),
            Some(d) => values.get(usize::from(d)).map(is_null).ok_or(()),
        }
    }

    fn eval(&self, values: &[BinXmlValue<'_>]) -> Option<Fields> {
        if Self::left_out(self.root_dep, values).ok()? {
            return None;
        }
        let mut sys = System::default();
        for item in &self.sys {
            if Self::left_out(item.dep, values).ok()? {
                continue;
            }
            let v = Self::part(&item.src, values).ok()?;
            let number = || v.as_ref().and_then(Scalar::number);
            let f = item.field;
            match f {
                Field::EventId => sys.event_id = number(),
                Field::Version => sys.version = number(),
                Field::Level => sys.level = number(),
                Field::Opcode => sys.opcode = number(),
                Field::RecordId => sys.record_id = number(),
                Field::Pid => sys.pid = number(),
                Field::Tid => sys.tid = number(),
                _ => {
                    let text = v.map(Scalar::text);
                    match f {
                        Field::ProviderName => sys.provider_name = text,
                        Field::ProviderGuid => sys.provider_guid = text,
                        Field::Keywords => sys.keywords = text,
                        Field::TimeCreated => sys.time_created = text,
                        Field::ActivityId => sys.activity_id = text,
                        Field::RelatedActivityId => sys.related_activity_id = text,
                        Field::Channel => sys.channel = text,
                        Field::Computer => sys.computer = text,
                        Field::UserId => sys.user_id = text,
                        _ => {}
                    }
                }
            }
        }
        let event_data = match &self.data {
            Some(dp) => dp.eval(values)?,
            None => Vec::new(),
        };
        Some(Fields {
            sys,
            event_data,
            user_data: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evtx::Utf16LeSlice;

    fn units(s: &[u16]) -> Vec<u8> {
        s.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    /// `utf16_text` decodes as the crate does, and refuses what we leave to
    /// the JSON path (NUL, unpaired surrogates, odd lengths).
    #[test]
    fn utf16_like_the_crate() {
        let cases: Vec<Vec<u8>> = vec![
            units(&[]),
            units(&[0x41]),
            units(
                &"C:\\Windows\\System32\\cmd.exe"
                    .encode_utf16()
                    .collect::<Vec<_>>(),
            ),
            units(
                &"h\u{e9}llo w\u{f6}rld, \u{1F600} ok"
                    .encode_utf16()
                    .collect::<Vec<_>>(),
            ),
            units(&[0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0xe9]),
            units(&[0x41, 0x42, 0x43, 0x44, 0x00, 0x46]),
            units(&[0x41, 0xd800, 0x42]),
            units(&[0xdc00]),
            vec![0x41, 0x00, 0x42],
        ];
        for bytes in cases {
            let crate_text = Utf16LeSlice::new(&bytes, bytes.len() / 2 + 1)
                .to_string()
                .ok()
                .filter(|s| !s.contains('\0'));
            assert_eq!(utf16_text(&bytes), crate_text, "{bytes:?}");
        }
    }

    #[test]
    fn guids_like_the_crate() {
        let g: [u8; 16] = [
            0x3b, 0x1c, 0xf1, 0x42, 0x01, 0xce, 0x8f, 0x5c, 0, 0, 0, 0x10, 0xc7, 0x3e, 0x2a, 0,
        ];
        let crate_text = BinXmlValue::GuidType(g).to_string();
        assert_eq!(guid_text(&g, false), crate_text);
        assert_eq!(guid_text(&g, true), crate_text.to_ascii_uppercase());
        assert_eq!(
            guid_text(&g, true),
            "{42F11C3B-CE01-5C8F-0000-0010C73E2A00}"
        );
    }
}
