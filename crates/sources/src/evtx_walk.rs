//! The fast way from an EVTX record to [`Fields`]: no JSON in between.
//!
//! A record is almost always one template instance: a template definition
//! (BinXML in the chunk, shared by every record of that event type) and the
//! record's substitution values. We read each definition once per chunk
//! (compiled once per thread: the same template in another chunk has the
//! same [`template_key`]) into a [`Plan`] (which substitution, or which
//! literal, feeds each `System`
//! field and each `EventData` entry), read the substitution values from the
//! record's bytes (the common scalar types, at their exact sizes; the `evtx`
//! crate's [`EvtxRecord::template_instances`] reads any other) and fill
//! [`Fields`] directly.
//!
//! The plan reproduces what [`crate::winlog::read_fields`] reads from the
//! crate's JSON rendering, for the shapes it accepts: an `Event` root with a
//! `System` element of single-valued fields, `EventData` made of `Data`
//! elements (all named, or all positional; a positional one holding an array
//! of two or more strings is repeated per string, as the renderer expands
//! it) and `UserData` holding one element of leaf fields. Anything else
//! returns `None` and the record takes the JSON path ([`crate::evtx_input`]):
//! nested BinXML or other array values in a field we read, element
//! dependencies on `Data`, repeated element or `Data` names, substitutions
//! with text around them, records that are not a single template instance,
//! strings that are not valid UTF-16 or hold a NUL, and values the renderer
//! shows in a way we don't mirror (handles, unrepresentable times).

use crate::winlog::{normalize_guid_owned, Fields, System};
use evtx::binxml::value_variant::{BinXmlValue, FileTime};
use evtx::EvtxRecord;
use evtx::Utf16LeSlice;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// Compiled templates by definition offset, for one chunk (`None`: the
/// template has a shape we leave to the JSON path).
#[derive(Default)]
pub(crate) struct Plans(HashMap<u32, Option<Rc<Compiled>>>);

/// Templates compiled on this thread, by [`template_key`]: each chunk
/// defines its templates again, at other offsets, and most EVTX files are a
/// chunk or a few, so compiling once per chunk cost about as much as
/// reading the record values.
type Cached = Option<Rc<Compiled>>;

thread_local! {
    static COMPILED: std::cell::RefCell<HashMap<Vec<u8>, Cached>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Templates kept per thread at most (then the cache starts over).
const MAX_CACHED: usize = 1024;

/// What a template definition is to us, by its root element.
#[derive(Debug)]
enum Compiled {
    /// A record's `Event`.
    Event(Plan),
    /// An `EventData` substituted into an `Event`.
    EventData(DataPlan),
    /// A `UserData` substituted into an `Event`.
    UserData(UserPlan),
    /// Another element substituted into an `Event`, which we don't read.
    Other,
}

impl Plans {
    fn get(&mut self, data: &[u8], def_offset: u32, nested: bool) -> Option<Rc<Compiled>> {
        if let Some(c) = self.0.get(&def_offset) {
            return c.clone();
        }
        let mut key = vec![u8::from(nested)];
        let c = if template_key(data, def_offset, &mut key).is_some() {
            COMPILED.with(|cache| {
                if let Some(c) = cache.borrow().get(&key) {
                    return c.clone();
                }
                let c = Self::compile(data, def_offset, nested);
                let mut cache = cache.borrow_mut();
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
                cache.insert(key, c.clone());
                c
            })
        } else {
            Self::compile(data, def_offset, nested)
        };
        self.0.insert(def_offset, c.clone());
        c
    }

    fn compile(data: &[u8], def_offset: u32, nested: bool) -> Cached {
        parse_template(data, def_offset)
            .and_then(|t| {
                if nested {
                    compile_nested(&t)
                } else {
                    compile(&t).map(Compiled::Event)
                }
            })
            .map(Rc::new)
    }
}

/// The fields of `record`, or `None` when it needs the JSON path. The record
/// is left as it was.
pub(crate) fn extract(record: &mut EvtxRecord<'_>, plans: &mut Plans) -> Option<Fields> {
    let data = record.chunk.data;
    let start = usize::try_from(record.binxml_offset).ok()?;
    let end = start.checked_add(record.binxml_size as usize)?;
    extract_in(data, (start, end), plans, Some(record))
}

/// [`extract`] for the record whose BinXML is `data[window]`, without the
/// crate's record: `None` also when some substitution value needs the crate
/// to read it.
pub(crate) fn extract_raw(
    data: &[u8],
    window: (usize, usize),
    plans: &mut Plans,
) -> Option<Fields> {
    extract_in(data, window, plans, None)
}

fn extract_in<'a>(
    data: &'a [u8],
    (start, end): (usize, usize),
    plans: &mut Plans,
    mut record: Option<&mut EvtxRecord<'a>>,
) -> Option<Fields> {
    let (def_offset, at) = single_instance(data, start, end)?;
    let compiled = plans.get(data, def_offset, false)?;
    let Compiled::Event(plan) = &*compiled else {
        return None;
    };
    let values = substitutions(data, record.as_deref_mut(), (start, end), def_offset, at)?;
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
    let Val::Bin(BinXmlValue::BinXmlType(bytes)) = value else {
        return None;
    };
    let (offset, len) = subslice_at(data, bytes)?;
    let window = (offset, offset.checked_add(len)?);
    let (nested_def, nested_at) = single_instance(data, window.0, window.1)?;
    let nested = plans.get(data, nested_def, true)?;
    match &*nested {
        Compiled::Other => Some(fields),
        Compiled::Event(_) => None,
        Compiled::EventData(dp) => {
            if plan.data.is_some() {
                return None; // `EventData` twice: the second is `EventData_1`
            }
            let nested_values = substitutions(data, record, window, nested_def, nested_at)?;
            fields.event_data = dp.eval(&nested_values)?;
            Some(fields)
        }
        Compiled::UserData(up) => {
            if plan.user.is_some() {
                return None; // `UserData` twice
            }
            let nested_values = substitutions(data, record, window, nested_def, nested_at)?;
            fields.user_data = up.eval(&nested_values)?;
            Some(fields)
        }
    }
}

/// The substitution values of the one template instance in `data[window]`
/// (definition at `def_offset`, value descriptors at `at`): read here when
/// every value is of a type and size [`read_values`] takes, else by the crate
/// from `record` (`None` without one). The record is left as it was.
fn substitutions<'a>(
    data: &'a [u8],
    record: Option<&mut EvtxRecord<'a>>,
    window: (usize, usize),
    def_offset: u32,
    at: usize,
) -> Option<Vec<Val<'a>>> {
    let mut out = Vec::new();
    if read_values(data, at, &mut out).is_some() {
        return Some(out);
    }
    let record = record?;
    // The crate reads the instance at the record's BinXML window: point it
    // at `window` for a moment.
    let (saved_offset, saved_size) = (record.binxml_offset, record.binxml_size);
    record.binxml_offset = window.0 as u64;
    record.binxml_size = u32::try_from(window.1 - window.0).ok()?;
    let values = instance_values(record, def_offset);
    record.binxml_offset = saved_offset;
    record.binxml_size = saved_size;
    Some(values?.into_iter().map(Val::from).collect())
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

/// A substitution value: the crate's, or a SID (whose crate type we cannot
/// build).
enum Val<'a> {
    Bin(BinXmlValue<'a>),
    /// A SID as stored: revision, count, authority, sub-authorities.
    Sid(&'a [u8]),
}

impl<'a> From<BinXmlValue<'a>> for Val<'a> {
    fn from(v: BinXmlValue<'a>) -> Val<'a> {
        match v {
            BinXmlValue::SidType(sid) => Val::Sid(sid.as_bytes()),
            v => Val::Bin(v),
        }
    }
}

/// The values of a template instance whose value count is at `at`, as the
/// crate reads them (`read_template_values_cursor`), when each is of a type
/// read here and has that type's size exactly; `None` otherwise (nothing is
/// left half-read that matters: the caller then asks the crate).
fn read_values<'a>(data: &'a [u8], at: usize, out: &mut Vec<Val<'a>>) -> Option<()> {
    use BinXmlValue as B;
    let mut r = Reader { data, pos: at };
    let count = r.u32()? as usize;
    let descriptors = data.get(r.pos..r.pos.checked_add(count.checked_mul(4)?)?)?;
    let mut pos = r.pos + descriptors.len();
    out.reserve_exact(count);
    for d in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([d[0], d[1]]));
        let v: &'a [u8] = data.get(pos..pos.checked_add(size)?)?;
        pos += size;
        let exact = |n: usize| (size == n).then_some(());
        let le8 = |v: &[u8]| -> Option<[u8; 8]> { v.try_into().ok() };
        let le4 = |v: &[u8]| -> Option<[u8; 4]> { v.try_into().ok() };
        let le2 = |v: &[u8]| -> Option<[u8; 2]> { v.try_into().ok() };
        out.push(Val::Bin(match d[2] {
            0x00 => B::NullType,
            0x01 => {
                if size & 1 != 0 {
                    return None;
                }
                // Up to the first NUL, as `Utf16LeSlice::until_nul`.
                let chars = v
                    .chunks_exact(2)
                    .position(|u| u == [0, 0])
                    .unwrap_or(size / 2);
                B::StringType(Utf16LeSlice::new(v, chars))
            }
            0x03 => {
                exact(1)?;
                B::Int8Type(i8::from_le_bytes([v[0]]))
            }
            0x04 => {
                exact(1)?;
                B::UInt8Type(v[0])
            }
            0x05 => B::Int16Type(i16::from_le_bytes(le2(v)?)),
            0x06 => B::UInt16Type(u16::from_le_bytes(le2(v)?)),
            0x07 => B::Int32Type(i32::from_le_bytes(le4(v)?)),
            0x08 => B::UInt32Type(u32::from_le_bytes(le4(v)?)),
            0x09 => B::Int64Type(i64::from_le_bytes(le8(v)?)),
            0x0a => B::UInt64Type(u64::from_le_bytes(le8(v)?)),
            // Values other than 0 and 1 stay integers, as the crate keeps them.
            0x0d => match i32::from_le_bytes(le4(v)?) {
                0 => B::BoolType(false),
                1 => B::BoolType(true),
                raw => B::Int32Type(raw),
            },
            0x0f => B::GuidType(v.try_into().ok()?),
            0x11 => B::FileTimeType(FileTime(u64::from_le_bytes(le8(v)?))),
            0x13 => {
                let subs = usize::from(*v.get(1)?);
                exact(8 + 4 * subs)?;
                out.push(Val::Sid(v));
                continue;
            }
            0x14 => B::HexInt32Type(u32::from_le_bytes(le4(v)?)),
            0x15 => B::HexInt64Type(u64::from_le_bytes(le8(v)?)),
            0x21 => B::BinXmlType(v),
            _ => return None,
        }));
    }
    Some(())
}

/// A SID as the renderer writes it: `S-1-5-21-...`.
fn sid_text(b: &[u8]) -> Option<String> {
    use std::fmt::Write;
    let &[revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = b else {
        return None;
    };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    let mut out = String::with_capacity(48);
    write!(out, "S-{revision}-{authority}").ok()?;
    for sub in subs.chunks_exact(4).take(usize::from(count)) {
        write!(
            out,
            "-{}",
            u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])
        )
        .ok()?;
    }
    Some(out)
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
/// optional fragment header, up to EOF or the end), its definition's offset
/// and where its value count is.
fn single_instance(data: &[u8], start: usize, end: usize) -> Option<(u32, usize)> {
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
    let at = r.pos;
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
    (value_end == end || data.get(value_end) == Some(&EOF)).then_some((def_offset, at))
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

/// What [`parse_template`] reads of the definition at `offset`, with each
/// name written out (as UTF-16, length first) where the definition has the
/// chunk offset of its string-table entry: the same for the same template in
/// any chunk, so it keys compiled templates across chunks. `None` where
/// `parse_template` would give up (the caller then compiles, to `None`).
fn template_key(data: &[u8], offset: u32, out: &mut Vec<u8>) -> Option<()> {
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
    let copy = |r: &mut Reader<'_>, n: usize, out: &mut Vec<u8>| -> Option<()> {
        let at = r.pos;
        r.skip(n)?;
        out.extend_from_slice(data.get(at..r.pos)?);
        Some(())
    };
    while r.pos < end {
        let token = r.u8()?;
        out.push(token);
        match token {
            EOF => break,
            FRAGMENT_HEADER => r.skip(3)?,
            0x01 | 0x41 => {
                copy(&mut r, 2, out)?; // dependency
                r.skip(4)?; // data size
                name_key(&mut r, out)?;
                if token & 0x40 != 0 {
                    r.skip(4)?; // attribute list size
                }
            }
            0x02..=0x04 => {}
            0x06 | 0x46 => name_key(&mut r, out)?,
            0x05 | 0x45 => {
                if r.u8()? != 0x01 {
                    return None;
                }
                let at = r.pos;
                let chars = r.u16()? as usize;
                r.pos = at;
                copy(&mut r, 2 + chars.checked_mul(2)?, out)?;
            }
            0x0d | 0x0e => {
                copy(&mut r, 2, out)?; // substitution index
                r.skip(1)?; // value type
            }
            _ => return None,
        }
    }
    Some(())
}

/// [`name_ref`]'s name, as its length and UTF-16 code units.
fn name_key(r: &mut Reader<'_>, out: &mut Vec<u8>) -> Option<()> {
    let offset = r.u32()? as usize;
    if r.pos == offset {
        r.skip(6)?;
        let chars = r.u16()? as usize;
        r.skip(chars.checked_mul(2)?.checked_add(2)?)?;
    }
    let at = offset.checked_add(6)?;
    let chars = usize::from(u16::from_le_bytes([*r.data.get(at)?, *r.data.get(at + 1)?]));
    out.extend_from_slice(r.data.get(at..at.checked_add(2 + chars.checked_mul(2)?)?)?);
    Some(())
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
    utf16_text(bytes)
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
    user: Option<UserPlan>,
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
    let mut user_data = None;
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
            "UserData" => user_data = Some(c),
            "System" => return None,
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
    let user = match user_data {
        None => None,
        Some(ud) => Some(compile_user_data(ud)?),
    };
    Some(Plan {
        root_dep: root.dep,
        sys,
        data,
        user,
        slot,
    })
}

/// `UserData` as [`crate::winlog`] reads it from the JSON rendering: its one
/// element (`xml_name`) and that element's leaf children, by name.
#[derive(Debug)]
struct UserPlan {
    dep: Option<u16>,
    name: String,
    items: Vec<DataItem>,
}

fn compile_user_data(ud: &Elem) -> Option<UserPlan> {
    // One element, always there; the JSON path takes the first, and one that
    // may be left out would make another the first.
    let [inner] = element_children(ud)?[..] else {
        return None;
    };
    if inner.dep.is_some() {
        return None;
    }
    let mut items = Vec::new();
    for c in element_children(inner)? {
        items.push(DataItem {
            key: Key::Name(c.name.clone()),
            src: leaf_content(c)?,
            dep: c.dep,
        });
    }
    Some(UserPlan {
        dep: ud.dep,
        name: inner.name.clone(),
        items,
    })
}

/// A template substituted into `Event`.
fn compile_nested(root: &Elem) -> Option<Compiled> {
    match root.name.as_str() {
        "EventData" => compile_event_data(root).map(Compiled::EventData),
        "UserData" => compile_user_data(root).map(Compiled::UserData),
        "System" | "Event" => None,
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
    /// `HexInt32`/`HexInt64`: `0x` and lower-case digits.
    Hex(u64),
    /// A FILETIME the crate renders with seven decimals.
    FileTime(u64),
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
            Scalar::Hex(v) => hex_text(v),
            Scalar::FileTime(t) => filetime_text(t),
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
            Scalar::Bool(_) | Scalar::Guid(_) | Scalar::Hex(_) => None,
            // Its text is a date: no number.
            Scalar::FileTime(_) => None,
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
    let mut out = [b'-'; 38];
    out[0] = b'{';
    out[37] = b'}';
    let mut n = 1;
    for (i, &at) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            n += 1;
        }
        let b = g[at];
        out[n] = digits[usize::from(b >> 4)];
        out[n + 1] = digits[usize::from(b & 0x0f)];
        n += 2;
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// `0x` and the lower-case hex digits, as the renderer writes `HexInt` values.
fn hex_text(v: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 18];
    let mut n = buf.len();
    let mut v = v;
    loop {
        n -= 1;
        buf[n] = DIGITS[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    n -= 2;
    buf[n] = b'0';
    buf[n + 1] = b'x';
    String::from_utf8(buf[n..].to_vec()).unwrap_or_default()
}

/// A FILETIME as the renderer writes it (`2019-03-18T16:57:37.9333240Z`).
/// The crate's own `Display` for the times jiff cannot represent.
fn filetime_text(t: u64) -> String {
    let Some(ts) = FileTime(t).to_timestamp() else {
        return BinXmlValue::FileTimeType(FileTime(t)).to_string();
    };
    let dt = evtx::Offset::UTC.to_datetime(ts);
    let mut buf = *b"0000-00-00T00:00:00.0000000Z";
    let mut put = |at: std::ops::Range<usize>, v: i64| {
        let mut v = v.unsigned_abs();
        for b in buf[at].iter_mut().rev() {
            *b = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0..4, i64::from(dt.year()));
    put(5..7, i64::from(dt.month()));
    put(8..10, i64::from(dt.day()));
    put(11..13, i64::from(dt.hour()));
    put(14..16, i64::from(dt.minute()));
    put(17..19, i64::from(dt.second()));
    put(20..27, i64::from(dt.subsec_nanosecond() / 100));
    String::from_utf8(buf.to_vec()).unwrap_or_default()
}

/// UTF-16LE text as [`evtx::Utf16LeSlice::to_string`] decodes it; `None`
/// where that fails (odd length, unpaired surrogates) or the text holds a NUL.
fn utf16_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() & 1 != 0 {
        return None;
    }
    // Most text is ASCII: check four code units at a time (a unit above
    // 0x7f, or a NUL), then take every other byte.
    let (mut high, mut nul) = (0u64, 0u64);
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    for w in words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        high |= v & 0xff80_ff80_ff80_ff80;
        nul |= v.wrapping_sub(0x0001_0001_0001_0001) & !v & 0x8000_8000_8000_8000;
    }
    for u in rest.chunks_exact(2) {
        high |= u64::from(u[1]) | u64::from(u[0] & 0x80);
        nul |= u64::from(u[0] == 0 && u[1] == 0);
    }
    if high == 0 {
        if nul != 0 {
            return None;
        }
        return String::from_utf8(bytes.chunks_exact(2).map(|u| u[0]).collect()).ok();
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() / 2);
    let tail = bytes;
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
fn scalar(v: &Val<'_>) -> Result<Option<Scalar>, ()> {
    use BinXmlValue as B;
    let v = match v {
        Val::Bin(v) => v,
        Val::Sid(b) => return sid_text(b).map(|s| Some(Scalar::Str(s))).ok_or(()),
    };
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
        B::HexInt32Type(v) => Scalar::Hex(u64::from(*v)),
        B::HexInt64Type(v) => Scalar::Hex(*v),
        B::FileTimeType(t) => Scalar::FileTime(t.0),
        B::Real32Type(_)
        | B::Real64Type(_)
        | B::BinaryType(_)
        | B::SizeTType(_)
        | B::SysTimeType(_)
        | B::SidType(_) => {
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
fn is_empty(v: &Val<'_>) -> bool {
    let Val::Bin(v) = v else {
        return false;
    };
    match v {
        BinXmlValue::NullType => true,
        BinXmlValue::StringType(s) => s.is_empty(),
        BinXmlValue::AnsiStringType(s) => s.is_empty(),
        BinXmlValue::BinaryType(b) | BinXmlValue::BinXmlType(b) => b.is_empty(),
        _ => false,
    }
}

fn is_null(v: &Val<'_>) -> bool {
    let Val::Bin(v) = v else {
        return false;
    };
    matches!(v, BinXmlValue::NullType) || matches!(v, BinXmlValue::BinXmlType(b) if b.is_empty())
}

impl UserPlan {
    /// `winlog.user_data` as [`crate::winlog`] collects it (`None`: no
    /// `UserData` in the record); `None` inside for the JSON path.
    fn eval(&self, values: &[Val<'_>]) -> Option<Option<Map<String, Value>>> {
        if Plan::left_out(self.dep, values).ok()? {
            return Some(None);
        }
        let mut out = Map::with_capacity(self.items.len() + 1);
        for item in &self.items {
            if Plan::left_out(item.dep, values).ok()? {
                continue;
            }
            let s = match Plan::part(&item.src, values).ok()? {
                None => String::new(),
                Some(v) => v.data_text(),
            };
            if let Key::Name(n) = &item.key {
                out.insert(n.clone(), Value::String(s));
            }
        }
        out.insert("xml_name".into(), Value::String(self.name.clone()));
        Some(Some(out))
    }
}

impl DataPlan {
    /// `winlog.event_data` as [`crate::winlog::read_fields`] collects it.
    fn eval(&self, values: &[Val<'_>]) -> Option<Vec<(String, Value)>> {
        let mut out = Vec::with_capacity(self.items.len());
        if Plan::left_out(self.dep, values).ok()? {
            return Some(out);
        }
        let mut params = 0;
        for item in &self.items {
            if Plan::left_out(item.dep, values).ok()? {
                continue;
            }
            if let (Key::Param, Some(Part::Sub(i))) = (&item.key, &item.src) {
                if let Some(Val::Bin(BinXmlValue::StringArrayType(strings))) =
                    values.get(usize::from(*i))
                {
                    // The renderer repeats the `Data` element once per string
                    // (an empty one stays empty) when there is more than one;
                    // one or none we leave to the JSON path.
                    if strings.len() < 2 {
                        return None;
                    }
                    for s in strings.iter() {
                        let text = if s.is_empty() {
                            String::new()
                        } else {
                            normalize_guid_owned(utf16_text(s.as_bytes())?)
                        };
                        params += 1;
                        out.push((format!("param{params}"), Value::String(text)));
                    }
                    continue;
                }
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
    fn part(part: &Option<Part>, values: &[Val<'_>]) -> Result<Option<Scalar>, ()> {
        match part {
            None => Ok(None),
            Some(Part::Text(t)) => Ok((!t.is_empty()).then(|| Scalar::Str(t.clone()))),
            Some(Part::Sub(i)) => scalar(values.get(usize::from(*i)).ok_or(())?),
        }
    }

    /// Whether the element depending on `dep` is left out.
    fn left_out(dep: Option<u16>, values: &[Val<'_>]) -> Result<bool, ()> {
        match dep {
            None => Ok(false),
            Some(d) => values.get(usize::from(d)).map(is_null).ok_or(()),
        }
    }

    fn eval(&self, values: &[Val<'_>]) -> Option<Fields> {
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
            user_data: match &self.user {
                Some(up) => up.eval(values)?,
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    proptest::proptest! {
        /// Any code units, mostly ASCII and of any length (the fast path
        /// reads four at a time): decoded as the crate decodes them.
        #[test]
        fn any_utf16_like_the_crate(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => 0x20u16..0x7f,
                    1 => proptest::strategy::Just(0u16),
                    1 => 0x80u16..0x800,
                    1 => 0xd800u16..0xe000,
                    1 => 0xe000u16..=0xffff,
                ],
                0..40,
            ),
        ) {
            let bytes = units(&text);
            let crate_text = Utf16LeSlice::new(&bytes, bytes.len() / 2 + 1)
                .to_string()
                .ok()
                .filter(|s| !s.contains('\0'));
            proptest::prop_assert_eq!(utf16_text(&bytes), crate_text, "{:?}", text);
        }
    }

    #[test]
    fn hex_and_filetimes_like_the_crate() {
        for v in [0, 1, 0x8000_0000_0000_0000, u64::MAX, 0xabc] {
            assert_eq!(hex_text(v), BinXmlValue::HexInt64Type(v).to_string());
        }
        let times = [
            0,
            1,
            131_970_000_000_000_000,
            132_000_000_123_456_789,
            125_911_584_000_000_000, // 2000-01-01
            126_000_000_000_000_001,
            2_650_467_743_990_000_000, // 9999-12-30T22:00 and later: the crate's text
            2_650_467_743_999_999_999,
            u64::MAX / 2,
            u64::MAX,
        ];
        for t in times {
            let crate_text = BinXmlValue::FileTimeType(FileTime(t)).to_string();
            assert_eq!(filetime_text(t), crate_text, "{t}");
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
