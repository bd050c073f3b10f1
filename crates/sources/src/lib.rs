//! Input readers: files, directories and stdin, with the format detected from
//! content (EVTX, JSON array, NDJSON, CSV, each possibly gzip- or
//! zstd-compressed), turned into [`Event`]s.
//!
//! - ECS JSON: plain documents, Elasticsearch hits and whole search responses
//!   ([`json`]).
//! - EVTX: read with the `evtx` crate on several threads, in record order, and
//!   mapped to Winlogbeat-shaped documents; Sysmon gets the full ECS mapping
//!   of Elastic's pipeline ([`winlog`], [`sysmon`]).
//! - CSV: Defender portal exports with a header row ([`csv_input`]).
//!
//! Nothing here aborts on bad input: an unreadable record or line becomes a
//! [`Skip`] and reading goes on; an unreadable file is counted in
//! [`Summary::failed_files`].

mod cmdline;
mod community_id;
mod csv_input;
pub mod defender;
mod doc;
mod evtx_chunks;
mod evtx_input;
mod evtx_walk;
mod json;
mod parallel;
mod sysmon;
mod winlog;

pub use cmdline::split_command_line;
pub use defender::{
    columns, defender_quick_parse, ip_address_type, to_defender, DefenderRow, DefenderTable,
    KustoType,
};
pub use parallel::{LineFilter, QuickParse};

pub use doc::RecordDoc;
use harrier_event::{Collected, Event, FieldIndex, FlatDoc, Locator, Origin};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to read the given paths.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Walk directories recursively (default); otherwise read only their direct files.
    pub recursive: bool,
    /// Worker threads for [`read_paths_with`]; 0 means one per core.
    pub threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            recursive: true,
            threads: 0,
        }
    }
}

/// A record, line or file that could not be read, and why.
#[derive(Clone, Debug)]
pub struct Skip {
    pub origin: Origin,
    pub reason: String,
}

/// Counts over one [`read_paths`] call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files opened (including stdin).
    pub files: u64,
    /// Events delivered.
    pub events: u64,
    /// Records or lines skipped (including whole files that failed).
    pub skipped: u64,
    /// Files that could not be read at all (missing, unknown format, bad header).
    pub failed_files: u64,
    /// NDJSON lines a [`LineFilter`] passed over without parsing them.
    pub passed_over: u64,
}

/// Reads every path (file, directory walked recursively, or "-" for stdin), detecting each
/// file's format by content, calling on_event for each event in input order per file, on_skip
/// for each unreadable record/line (and keep going).
pub fn read_paths(
    paths: &[PathBuf],
    opts: &ReadOptions,
    on_event: &mut dyn FnMut(Event),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    // one thread: every file goes through the sequential readers
    let sequential = ReadOptions {
        threads: 1,
        ..opts.clone()
    };
    read_paths_with(paths, &sequential, None, &Some, on_event, on_skip)
}

/// Like [`read_paths`], on every core where the input allows it: plain NDJSON
/// files are cut into blocks that worker threads parse (see [`parallel`]),
/// after `filter` (if any) has passed over the lines that cannot matter.
/// `map` runs where the event is parsed (on a worker for NDJSON files) and
/// decides what reaches `on_item`; items arrive in input order, as events do
/// from [`read_paths`]. Other inputs are read as [`read_paths`] reads them.
pub fn read_paths_with<T: Send>(
    paths: &[PathBuf],
    opts: &ReadOptions,
    filter: Option<&LineFilter<'_>>,
    map: &(dyn Fn(Event) -> Option<T> + Sync),
    on_item: &mut dyn FnMut(T),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    read_paths_general(
        paths,
        opts,
        filter,
        None,
        None,
        &|e, _| map(e),
        on_item,
        on_skip,
    )
}

/// [`read_paths_with`], reading the lines of NDJSON files read on several
/// threads through `quick` (see [`QuickParse`]) when given.
pub fn read_paths_quick<T: Send>(
    paths: &[PathBuf],
    opts: &ReadOptions,
    filter: Option<&LineFilter<'_>>,
    quick: Option<&QuickParse>,
    map: &(dyn Fn(Event) -> Option<T> + Sync),
    on_item: &mut dyn FnMut(T),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    read_paths_general(
        paths,
        opts,
        filter,
        quick,
        None,
        &|e, _| map(e),
        on_item,
        on_skip,
    )
}

/// Where in its file an event's NDJSON line is, and its text: given to the
/// `map` of [`read_paths_at`] for an event that is the only one its line
/// holds, in a plain file read by the parallel reader. [`read_line_event`]
/// reads the event again from the file, so a caller that may need the whole
/// event much later can keep this instead of the event.
#[derive(Clone, Copy, Debug)]
pub struct LineAt<'a> {
    /// Byte offset of the line in the file.
    pub offset: u64,
    /// The line, without its line end.
    pub text: &'a [u8],
}

/// [`read_paths_with`], also telling `map` where each event's line is in its
/// file when the event can be read again from there ([`LineAt`]): it is the
/// only event of its line, in a plain NDJSON file read on all cores, named by
/// a path that is valid UTF-8.
pub fn read_paths_at<T: Send>(
    paths: &[PathBuf],
    opts: &ReadOptions,
    filter: Option<&LineFilter<'_>>,
    map: &(dyn Fn(Event, Option<LineAt<'_>>) -> Option<T> + Sync),
    on_item: &mut dyn FnMut(T),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    read_paths_general(paths, opts, filter, None, None, map, on_item, on_skip)
}

/// An NDJSON line read straight into slots by [`read_paths_flat`]: its
/// document's values for the caller's fields, the index the document
/// belongs to, and where the line is.
pub struct FlatLine<'a> {
    pub doc: &'a FlatDoc<'a>,
    /// The index or data stream, as [`read_paths`] would give it.
    pub index: Arc<str>,
    pub file: &'a Arc<str>,
    /// 1-based line number.
    pub line: u64,
    pub at: LineAt<'a>,
}

impl FlatLine<'_> {
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.clone(),
            locator: Locator::Line(self.line),
        }
    }
}

/// An EVTX record mapped by [`read_paths_flat`] without building its
/// `serde_json` map: its values for the caller's fields, the rest on demand
/// ([`RecordDoc`]), the index, and where the record is.
pub struct FlatRecord<'a> {
    pub doc: &'a Collected<'a, RecordDoc<'a>>,
    /// The data stream, as [`read_paths`] would give it.
    pub index: Arc<str>,
    pub file: &'a Arc<str>,
    pub record_id: u64,
}

impl FlatRecord<'_> {
    pub fn origin(&self) -> Origin {
        Origin {
            file: self.file.clone(),
            locator: Locator::Record(self.record_id),
        }
    }

    /// The document of [`FlatRecord::event`] as compact JSON text (what
    /// `serde_json` writes for its map), made without building the map.
    pub fn json(&self) -> Vec<u8> {
        self.doc.rest().json()
    }

    /// The event [`read_paths`] would give for the record.
    pub fn event(&self) -> Event {
        Event {
            source: self.doc.rest().map().clone(),
            index: self.index.clone(),
            id: None,
            origin: self.origin(),
        }
    }
}

/// The fields to read lines and records for, and what to make of a line
/// (`map`) or an EVTX record (`record`) so read: `Some(item)` (`item` may be
/// `None`: nothing to deliver), or `None` to have it read whole and given to
/// the usual `map` after all. Without `map` (or `record`), every line (or
/// record) is read whole.
#[allow(clippy::type_complexity)]
pub struct FlatRead<'f, T> {
    pub fields: &'f FieldIndex,
    pub map: Option<&'f (dyn Fn(&FlatLine<'_>) -> Option<Option<T>> + Sync + 'f)>,
    pub record: Option<&'f (dyn Fn(&FlatRecord<'_>) -> Option<Option<T>> + Sync + 'f)>,
}

/// [`read_paths_at`] for a caller that needs only some fields of most
/// events (with `flat`; without it, this is [`read_paths_at`]): a line that is one plain document (not a batch, search hit or
/// API result), in a file read by the parallel reader with line places, is
/// scanned for `flat.fields` only ([`FlatDoc`], no `serde_json` map is
/// built) and given to `flat.map` with its place ([`FlatLine`]); the caller
/// reads the whole event later with [`read_line_event`] if it needs it.
/// Every other line, and every event `flat.map` declines, goes to `map` as
/// in [`read_paths_at`]. Invalid lines are read the usual way, so their
/// skips are reported as usual.
#[allow(clippy::too_many_arguments)]
pub fn read_paths_flat<T: Send>(
    paths: &[PathBuf],
    opts: &ReadOptions,
    filter: Option<&LineFilter<'_>>,
    flat: Option<&FlatRead<'_, T>>,
    map: &(dyn Fn(Event, Option<LineAt<'_>>) -> Option<T> + Sync),
    on_item: &mut dyn FnMut(T),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    read_paths_general(paths, opts, filter, None, flat, map, on_item, on_skip)
}

/// What [`read_paths_with`], [`read_paths_quick`] and [`read_paths_at`] share.
#[allow(clippy::too_many_arguments)]
fn read_paths_general<T: Send>(
    paths: &[PathBuf],
    opts: &ReadOptions,
    filter: Option<&LineFilter<'_>>,
    quick: Option<&QuickParse>,
    flat: Option<&FlatRead<'_, T>>,
    map: &(dyn Fn(Event, Option<LineAt<'_>>) -> Option<T> + Sync),
    on_item: &mut dyn FnMut(T),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    let workers = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // events of the other readers go through `map` as they arrive; both
    // routes hand items to `on_item`, one at a time
    let on_item = std::cell::RefCell::new(on_item);
    let mut on_event = |e: Event| {
        if let Some(t) = map(e, None) {
            (on_item.borrow_mut())(t);
        }
    };
    let mut summary = Summary::default();
    let mut sink = Sink {
        on_event: &mut on_event,
        on_skip,
        summary: &mut summary,
    };
    // EVTX events go through `map` on the pipeline's workers
    let evtx_map = |e: Event| map(e, None);
    let evtx_maps = evtx_input::Maps {
        event: &evtx_map,
        flat: flat.and_then(|f| Some((f.fields, f.record?))),
    };
    let mut evtx_emit = |_: &mut Sink, t: T| (on_item.borrow_mut())(t);
    evtx_input::with_pipeline(evtx_maps, &mut evtx_emit, |evtx| {
        for path in paths {
            if path.as_os_str() == "-" {
                evtx.drain(&mut sink);
                sink.summary.files += 1;
                let stdin = io::stdin();
                let lock = stdin.lock();
                read_stream(Box::new(lock), Arc::from("-"), &mut sink);
                continue;
            }
            let mut files = Vec::new();
            if let Err(e) = collect_files(path, opts.recursive, &mut files) {
                evtx.drain(&mut sink);
                sink.summary.files += 1;
                sink.fail_file(
                    &file_name(path),
                    Locator::Line(0),
                    format!("cannot read: {e}"),
                );
                continue;
            }
            for file in files {
                sink.summary.files += 1;
                if workers > 1 && parallel::is_ndjson(&file) {
                    evtx.drain(&mut sink);
                    let mut deliver = |t: T| (on_item.borrow_mut())(t);
                    parallel::read_ndjson(
                        &file,
                        file_name(&file),
                        file.to_str().is_some(),
                        workers,
                        filter,
                        quick,
                        flat,
                        map,
                        &mut deliver,
                        &mut sink,
                    );
                } else {
                    read_file(&file, &mut sink, evtx);
                }
            }
        }
        evtx.drain(&mut sink);
    });
    summary
}

/// Reads one in-memory input (any format [`read_paths`] accepts, detected from
/// the bytes) named `name`. For tests, fuzzing and callers that already hold
/// the data.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    on_event: &mut dyn FnMut(Event),
    on_skip: &mut dyn FnMut(Skip),
) -> Summary {
    let mut summary = Summary {
        files: 1,
        ..Summary::default()
    };
    let mut sink = Sink {
        on_event,
        on_skip,
        summary: &mut summary,
    };
    read_stream(Box::new(bytes), Arc::from(name), &mut sink);
    summary
}

/// Maps one Windows event in the `evtx` crate's JSON rendering
/// (`{"Event": {"System": .., "EventData": ..}}`) to its document and index,
/// as the EVTX reader does (`file` becomes `log.file.path`). `None` without
/// an `Event.System` element.
pub fn map_windows_event(
    record: &serde_json::Value,
    file: &str,
) -> Option<(serde_json::Map<String, serde_json::Value>, &'static str)> {
    winlog::map_record(record, file, None).map(|m| (m.doc, m.index))
}

/// Where events and skips go, with the running counts.
pub(crate) struct Sink<'a> {
    on_event: &'a mut dyn FnMut(Event),
    on_skip: &'a mut dyn FnMut(Skip),
    summary: &'a mut Summary,
}

impl Sink<'_> {
    pub(crate) fn event(&mut self, e: Event) {
        self.summary.events += 1;
        (self.on_event)(e);
    }

    pub(crate) fn skip(&mut self, file: &Arc<str>, locator: Locator, reason: String) {
        self.summary.skipped += 1;
        (self.on_skip)(Skip {
            origin: Origin {
                file: file.clone(),
                locator,
            },
            reason,
        });
    }

    /// The whole file could not be read.
    pub(crate) fn fail_file(&mut self, file: &Arc<str>, locator: Locator, reason: String) {
        self.summary.failed_files += 1;
        self.skip(file, locator, reason);
    }
}

/// A checksum of a line's text ([`LineAt::text`]), kept with its place so
/// that [`read_line_event`] can tell whether the line is still what was read.
pub fn line_hash(text: &[u8]) -> u64 {
    ahash::RandomState::with_seeds(0x6861_7272, 0x0069_6572, 0x6c69_6e65, 0x0000_6174)
        .hash_one(text)
}

/// The one event an NDJSON line of `file` holds, read again from where
/// [`read_paths_at`] said it was (`offset`, `len` bytes), if the line's
/// [`line_hash`] is still `hash`; an error when the file changed since. The
/// event's origin is `name` and line 0: the caller knows the line.
pub fn read_line_event(
    file: &mut File,
    name: &Arc<str>,
    offset: u64,
    len: u32,
    hash: u64,
) -> Result<Event, String> {
    use std::io::{Seek, SeekFrom};
    let mut text = vec![0u8; len as usize];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut text))
        .map_err(|e| format!("{name}: cannot read the event at byte {offset} again: {e}"))?;
    // the reader blanks a byte-order mark at the start of a file
    if offset == 0 && text.starts_with(b"\xef\xbb\xbf") {
        text[..3].fill(b' ');
    }
    let changed = || {
        format!("{name}: the line at byte {offset} is not what was read there (the file changed)")
    };
    if line_hash(&text) != hash {
        return Err(changed());
    }
    let mut events = Vec::new();
    let mut on_event = |e: Event| events.push(e);
    let mut on_skip = |_: Skip| {};
    let mut summary = Summary::default();
    let mut sink = Sink {
        on_event: &mut on_event,
        on_skip: &mut on_skip,
        summary: &mut summary,
    };
    json::parse_line(&text, Locator::Line(0), name, &mut sink);
    match (events.pop(), events.is_empty()) {
        (Some(e), true) => Ok(e),
        _ => Err(changed()),
    }
}

fn file_name(path: &Path) -> Arc<str> {
    Arc::from(path.to_string_lossy().as_ref())
}

/// Files under `path` in sorted order (the path itself when it is a file).
fn collect_files(path: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            if recursive {
                // An unreadable subdirectory is left out rather than failing the walk.
                let _ = collect_files(&entry, recursive, out);
            }
        } else {
            out.push(entry);
        }
    }
    Ok(())
}

const PEEK: usize = 4096;

/// Input kinds recognised from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Evtx,
    Gzip,
    Zstd,
    JsonArray,
    JsonObjects,
    Csv,
    Empty,
    Unknown,
}

fn detect(prefix: &[u8]) -> Format {
    if prefix.starts_with(b"ElfFile\0") {
        return Format::Evtx;
    }
    if prefix.starts_with(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Format::Zstd;
    }
    let text = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Format::Empty,
        Some(b'[') => Format::JsonArray,
        Some(b'{') => Format::JsonObjects,
        Some(_) => {
            // A header row of printable text with a comma, tab or semicolon.
            let line_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
            let line = &text[..line_end];
            let printable = line.iter().all(|&b| b >= 0x20 || b == b'\t' || b == b'\r');
            if printable && line.iter().any(|&b| matches!(b, b',' | b'\t' | b';')) {
                Format::Csv
            } else {
                Format::Unknown
            }
        }
    }
}

/// Reads one file: EVTX into `evtx` (its events come later, in order), anything
/// else here and now, after what `evtx` holds.
fn read_file<T>(path: &Path, sink: &mut Sink, evtx: &mut evtx_input::Pipeline<'_, T>) {
    let name = file_name(path);
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            evtx.drain(sink);
            sink.fail_file(&name, Locator::Line(0), format!("cannot open: {e}"));
            return;
        }
    };
    // The first bytes: an EVTX file is then read at the offsets of its
    // chunks, anything else as a stream that starts with them.
    let mut prefix = Vec::with_capacity(PEEK);
    if let Err(e) = (&file).take(PEEK as u64).read_to_end(&mut prefix) {
        evtx.drain(sink);
        sink.fail_file(&name, Locator::Line(0), format!("cannot read: {e}"));
        return;
    }
    if detect(&prefix) == Format::Evtx {
        evtx.read_file(file, name, sink);
        return;
    }
    evtx.drain(sink);
    read_stream(
        Box::new(io::Cursor::new(prefix).chain(BufReader::with_capacity(1 << 16, file))),
        name,
        sink,
    );
}

/// Reads a stream of unknown format: detects it, decompresses it, and
/// dispatches to the right reader.
fn read_stream(reader: Box<dyn Read + '_>, name: Arc<str>, sink: &mut Sink) {
    read_stream_depth(reader, name, sink, 0)
}

fn read_stream_depth(mut reader: Box<dyn Read + '_>, name: Arc<str>, sink: &mut Sink, depth: u32) {
    let mut prefix = Vec::with_capacity(PEEK);
    if let Err(e) = (&mut reader).take(PEEK as u64).read_to_end(&mut prefix) {
        sink.fail_file(&name, Locator::Line(0), format!("cannot read: {e}"));
        return;
    }
    let format = detect(&prefix);
    let whole: Box<dyn Read + '_> = Box::new(io::Cursor::new(prefix).chain(reader));
    match format {
        Format::Gzip | Format::Zstd if depth >= 2 => {
            sink.fail_file(
                &name,
                Locator::Line(0),
                "nested compression too deep".into(),
            );
        }
        Format::Gzip => {
            let dec = flate2::read::MultiGzDecoder::new(BufReader::new(whole));
            read_stream_depth(Box::new(dec), name, sink, depth + 1);
        }
        Format::Zstd => match zstd::stream::read::Decoder::new(whole) {
            Ok(dec) => read_stream_depth(Box::new(dec), name, sink, depth + 1),
            Err(e) => sink.fail_file(&name, Locator::Line(0), format!("zstd: {e}")),
        },
        Format::Evtx => {
            let mut buf = Vec::new();
            let mut whole = whole;
            if let Err(e) = whole.read_to_end(&mut buf) {
                // Keep what was decompressed: the chunks before the damage are whole.
                sink.skip(
                    &name,
                    Locator::Record(0),
                    format!("input ends early ({e}); reading the part before it"),
                );
            }
            let mut emit = |sink: &mut Sink, e: Event| (sink.on_event)(e);
            let maps = evtx_input::Maps {
                event: &Some,
                flat: None,
            };
            evtx_input::with_pipeline(maps, &mut emit, |evtx| {
                evtx.read_buffer(buf, name, sink);
                evtx.drain(sink);
            });
        }
        Format::JsonArray => json::read_array(whole, name, sink),
        Format::JsonObjects => json::read_objects(whole, name, sink),
        Format::Csv => csv_input::read_csv(whole, name, sink),
        Format::Empty => {}
        Format::Unknown => sink.fail_file(
            &name,
            Locator::Line(1),
            "unrecognised format (expected EVTX, JSON, NDJSON, CSV, gzip or zstd)".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(detect(b"ElfFile\0rest"), Format::Evtx);
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Format::Gzip);
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd]), Format::Zstd);
        assert_eq!(detect(b"  \n[{}]"), Format::JsonArray);
        assert_eq!(detect(b"\xef\xbb\xbf{\"a\":1}"), Format::JsonObjects);
        assert_eq!(detect(b"Timestamp,DeviceName\n1,2"), Format::Csv);
        assert_eq!(detect(b"  "), Format::Empty);
        assert_eq!(detect(b"hello world"), Format::Unknown);
        assert_eq!(detect(b"\x00\x01,\x02"), Format::Unknown);
    }
}
