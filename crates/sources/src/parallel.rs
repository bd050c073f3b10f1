//! NDJSON files on every core, with an optional per-line prefilter.
//!
//! The calling thread reads the file in blocks cut at line ends and counts
//! each block's lines (so every event keeps its exact line number); worker
//! threads take blocks, pass over the lines the prefilter rejects without
//! parsing them, parse the rest, build their events exactly as the
//! sequential reader does ([`crate::json`]) and apply the caller's `map`.
//! Results come back to the calling thread and are delivered in block order,
//! so the caller sees events in file order, as from [`crate::read_paths`].
//!
//! A file is read this way only when it is a regular, uncompressed file whose
//! first non-blank line is a whole JSON document; everything else goes
//! through the sequential readers with `map` applied as events arrive.

use crate::{json, FlatLine, FlatRead, LineAt, Sink, Skip, Summary};
use harrier_event::projection::{FieldTree, Projection};
use harrier_event::{Event, FlatDoc, Locator};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Decides from a line's raw bytes whether any of its events can matter to
/// the caller; `false` passes the line over unparsed (counted in
/// [`Summary::passed_over`]). It must only say `false` when certain.
pub type LineFilter<'f> = dyn Fn(&[u8]) -> bool + Sync + 'f;

/// A quicker way to read NDJSON lines for a caller that needs only some fields
/// ([`crate::read_paths_quick`]): each line is first parsed keeping only the
/// fields of a [`FieldTree`] (`harrier_event::projection`, one validating pass
/// that builds nothing else). When `complete` says that document is all the
/// caller can need, the event is made from it as from the whole line;
/// otherwise (and for lines that do not parse) the line is parsed whole, so
/// events that need every field and errors come out exactly as without it.
pub struct QuickParse {
    projection: Projection,
    complete: fn(&Map<String, Value>) -> bool,
}

impl QuickParse {
    pub fn new(fields: FieldTree, complete: fn(&Map<String, Value>) -> bool) -> QuickParse {
        QuickParse {
            projection: Projection::new(fields),
            complete,
        }
    }
}

/// Lines in a row that the quick parse could not serve before a block stops
/// trying it (an input of another shape then pays for the extra parse only a
/// few times per block).
const QUICK_MISSES: u32 = 8;

/// Bytes per block. Blocks in flight (queued, being parsed, or done and
/// waiting for their turn) hold their text and their results, so smaller
/// blocks keep a hunt's memory down; a megabyte is still a thousand lines
/// per hand-over, so the hand-overs cost nothing measurable.
const BLOCK: usize = 1 << 20;

/// Is `path` a plain NDJSON file (its first non-blank line a whole JSON
/// document)? Reads at most the first line.
pub(crate) fn is_ndjson(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let mut buf = Vec::new();
    // Small first: most files that are not NDJSON tell so in their first bytes.
    let mut chunk = vec![0u8; 4096];
    loop {
        let n = match f.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let text = buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&buf);
        let start = text.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else { continue };
        if text[start] != b'{' {
            return false;
        }
        if let Some(end) = memchr::memchr(b'\n', &text[start..]) {
            let line = &text[start..start + end];
            return serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok();
        }
        if buf.len() > 64 << 20 {
            return false;
        }
        if chunk.len() < 1 << 16 {
            chunk.resize(1 << 16, 0);
        }
    }
}

struct Job {
    seq: u64,
    first_line: u64,
    /// Byte offset of `bytes` in the file.
    offset: u64,
    bytes: Vec<u8>,
}

struct Done<T> {
    seq: u64,
    items: Vec<T>,
    skips: Vec<Skip>,
    summary: Summary,
}

/// Reads one NDJSON file on `workers` threads (see the module documentation).
/// With `addressable`, an event that is the only one of its line reaches
/// `map` with the line's place ([`LineAt`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_ndjson<T: Send>(
    path: &Path,
    name: Arc<str>,
    addressable: bool,
    workers: usize,
    filter: Option<&LineFilter<'_>>,
    quick: Option<&QuickParse>,
    flat: Option<&FlatRead<'_, T>>,
    map: &(dyn Fn(Event, Option<LineAt<'_>>) -> Option<T> + Sync),
    on_item: &mut dyn FnMut(T),
    sink: &mut Sink,
) {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            sink.fail_file(&name, Locator::Line(0), format!("cannot open: {e}"));
            return;
        }
    };
    let workers = workers.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers * 2);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done<T>>();
    // read blocks go back to the reader to be filled again: a fresh megabyte
    // per block, freed by another thread, costs page faults and (when the
    // allocator returns freed memory at once) system calls
    let (spare_tx, spare_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let spare_tx = spare_tx.clone();
            let job_rx = &job_rx;
            let name = name.clone();
            s.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(job) = job else { return };
                let done = work(&job, &name, addressable, filter, quick, flat, map);
                let _ = spare_tx.send(job.bytes);
                if done_tx.send(done).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(spare_tx);

        let mut pending: BTreeMap<u64, Done<T>> = BTreeMap::new();
        let mut next_out = 0u64;
        let mut drain =
            |pending: &mut BTreeMap<u64, Done<T>>, sink: &mut Sink, on_item: &mut dyn FnMut(T)| {
                while let Ok(d) = done_rx.try_recv() {
                    pending.insert(d.seq, d);
                }
                flush(pending, &mut next_out, sink, on_item);
            };
        let mut seq = 0u64;
        let mut line = 1u64;
        // file offset of the next block
        let mut offset = 0u64;
        let mut carry: Vec<u8> = Vec::new();
        let mut at_start = true;
        loop {
            let filled = carry.len();
            let mut buf = if filled >= BLOCK {
                // a long line's start: keep growing it in place
                std::mem::take(&mut carry)
            } else {
                // a spare block keeps its old bytes; only those read are kept
                let mut b = spare_rx.try_recv().unwrap_or_default();
                if b.len() < filled {
                    b.resize(filled, 0);
                }
                b[..filled].copy_from_slice(&carry);
                carry.clear();
                b
            };
            buf.resize(filled + BLOCK, 0);
            let n = match read_full(&mut file, &mut buf[filled..]) {
                Ok(n) => n,
                Err(e) => {
                    buf.truncate(filled);
                    send_block(&job_tx, &mut seq, &mut line, &mut offset, buf);
                    drain(&mut pending, sink, on_item);
                    sink.skip(
                        &name,
                        Locator::Line(line),
                        format!("read error, input ends here: {e}"),
                    );
                    break;
                }
            };
            buf.truncate(filled + n);
            if at_start {
                at_start = false;
                if buf.starts_with(b"\xef\xbb\xbf") {
                    buf[..3].fill(b' ');
                }
            }
            if n == 0 {
                // end of file: the last line may lack its newline
                if !buf.is_empty() {
                    send_block(&job_tx, &mut seq, &mut line, &mut offset, buf);
                }
                break;
            }
            match memchr::memrchr(b'\n', &buf) {
                Some(end) => {
                    carry.extend_from_slice(&buf[end + 1..]);
                    buf.truncate(end + 1);
                    send_block(&job_tx, &mut seq, &mut line, &mut offset, buf);
                }
                // a line longer than a block: keep reading it
                None => carry = buf,
            }
            drain(&mut pending, sink, on_item);
        }
        drop(job_tx);
        drain(&mut pending, sink, on_item);
        // the workers end when the job channel is empty and closed
        for d in done_rx.iter() {
            pending.insert(d.seq, d);
            flush(&mut pending, &mut next_out, sink, on_item);
        }
    });
}

/// Delivers the finished blocks that come next in file order.
fn flush<T>(
    pending: &mut BTreeMap<u64, Done<T>>,
    next_out: &mut u64,
    sink: &mut Sink,
    on_item: &mut dyn FnMut(T),
) {
    while let Some(d) = pending.remove(next_out) {
        *next_out += 1;
        sink.summary.events += d.summary.events;
        sink.summary.passed_over += d.summary.passed_over;
        for skip in d.skips {
            sink.skip(&skip.origin.file, skip.origin.locator, skip.reason);
        }
        for item in d.items {
            on_item(item);
        }
    }
}

fn send_block(
    tx: &mpsc::SyncSender<Job>,
    seq: &mut u64,
    line: &mut u64,
    offset: &mut u64,
    bytes: Vec<u8>,
) {
    let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
    let len = bytes.len() as u64;
    let job = Job {
        seq: *seq,
        first_line: *line,
        offset: *offset,
        bytes,
    };
    *seq += 1;
    *line += lines;
    *offset += len;
    // the workers only stop when this sender is dropped
    let _ = tx.send(job);
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What became of a line offered to the caller's flat map.
enum Flat<T> {
    /// Read: the map's item, if any.
    Read(Option<T>),
    /// The map asked for the event itself: read the line the usual way.
    Declined,
    /// Not a single plain document (or not valid JSON): read it the usual way.
    NotPlain,
}

/// Reads a line straight into slots and gives it to the caller's flat map.
fn read_flat<T>(
    fr: &FlatRead<'_, T>,
    name: &Arc<str>,
    line: u64,
    at: LineAt<'_>,
    indexes: &mut json::PlainIndexes,
) -> Flat<T> {
    let Ok(doc) = FlatDoc::parse(json::trim_eol(at.text), fr.fields, json::SHAPE_KEYS) else {
        return Flat::NotPlain;
    };
    let Some(index) = json::plain_index(&doc, indexes) else {
        return Flat::NotPlain;
    };
    let line = FlatLine {
        doc: &doc,
        index,
        file: name,
        line,
        at,
    };
    match fr.map.and_then(|map| map(&line)) {
        Some(item) => Flat::Read(item),
        None => Flat::Declined,
    }
}

#[allow(clippy::too_many_arguments)]
fn work<T>(
    job: &Job,
    name: &Arc<str>,
    addressable: bool,
    filter: Option<&LineFilter<'_>>,
    quick: Option<&QuickParse>,
    flat: Option<&FlatRead<'_, T>>,
    map: &(dyn Fn(Event, Option<LineAt<'_>>) -> Option<T> + Sync),
) -> Done<T> {
    let mut items = Vec::new();
    let mut skips = Vec::new();
    let mut summary = Summary::default();
    // a line's events wait here until the whole line is parsed: only the
    // single event of a line can be found again by the line's place
    let mut events: Vec<Event> = Vec::new();
    let mut on_skip = |s: Skip| skips.push(s);
    let mut line_no = job.first_line;
    let mut start = 0usize;
    let bytes = &job.bytes;
    let mut misses = 0u32;
    let mut flat_misses = 0u32;
    let mut indexes = json::PlainIndexes::default();
    // only an addressable line can be read straight into slots: its event
    // is found again by the line's place when an alert needs all of it
    let flat = flat.filter(|f| addressable && f.map.is_some());
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let line = &bytes[start..end];
        let line_start = start;
        start = end + 1;
        let this = line_no;
        line_no += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if filter.is_some_and(|f| !f(line)) {
            summary.passed_over += 1;
            continue;
        }
        if let Some(fr) = flat.filter(|_| flat_misses < QUICK_MISSES) {
            let at = LineAt {
                offset: job.offset + line_start as u64,
                text: line,
            };
            match read_flat(fr, name, this, at, &mut indexes) {
                Flat::Read(item) => {
                    flat_misses = 0;
                    summary.events += 1;
                    items.extend(item);
                    continue;
                }
                Flat::Declined => {}
                Flat::NotPlain => flat_misses += 1,
            }
        }
        {
            let mut on_event = |e: Event| events.push(e);
            let mut sink = Sink {
                on_event: &mut on_event,
                on_skip: &mut on_skip,
                summary: &mut summary,
            };
            let mut parsed = false;
            if let Some(q) = quick.filter(|_| misses < QUICK_MISSES) {
                match q.projection.parse(json::trim_eol(line)) {
                    Ok(doc) if (q.complete)(&doc) => {
                        misses = 0;
                        json::emit(Value::Object(doc), Locator::Line(this), name, &mut sink);
                        parsed = true;
                    }
                    _ => misses += 1,
                }
            }
            if !parsed {
                json::parse_line(line, Locator::Line(this), name, &mut sink);
            }
        }
        let at = (addressable && events.len() == 1).then(|| LineAt {
            offset: job.offset + line_start as u64,
            text: line,
        });
        for e in events.drain(..) {
            if let Some(t) = map(e, at) {
                items.push(t);
            }
        }
    }
    Done {
        seq: job.seq,
        items,
        skips,
        summary,
    }
}
