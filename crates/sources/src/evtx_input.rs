//! EVTX files through the `evtx` crate.
//!
//! The unit of work is a chunk (64 KiB, up to a few hundred records). The
//! calling thread plans which chunks to read ([`crate::evtx_chunks`]); a
//! small pool of worker threads (one per core the process may use; none when
//! that is one) reads, parses and maps them, chunks of the next files
//! included: most EVTX files are one
//! chunk, so parallelism inside a file alone leaves the cores idle. Results
//! are handed to the sink in submission order, and records within a chunk
//! stay in order, so events come out in record order, file after file.
//!
//! Each record is mapped by [`crate::evtx_walk`] straight from its template
//! and substitution values into a [`crate::doc::Doc`]; the records the walk
//! leaves (see there) are rendered to JSON by the crate and mapped by
//! [`winlog::map_record`], as before. The worker then makes the event and
//! hands it to the caller's `map` (as the parallel NDJSON reader does), so
//! whatever the caller does with an event (a hunt evaluates every rule on
//! it) runs on every core too; only `map`'s results travel to the calling
//! thread. With a record map ([`Maps::flat`]) a walked record's `Doc` is
//! offered first as a [`FlatRecord`], its map built only if that declines.
//! A record or chunk that fails becomes a [`crate::Skip`]; the file
//! goes on. Chunk-level failures have no record id: they are reported at
//! `Locator::Record(0)` with the chunk named in the reason.

use crate::doc::RecordDoc;
use crate::evtx_chunks::{self, ChunkWalk, Source, Step};
use crate::evtx_walk::{self, Plans};
use crate::winlog::{self, Fields, Header};
use crate::{FlatRecord, Sink};
use evtx::err::EvtxError;
use evtx::{EvtxChunk, EvtxChunkData, EvtxRecord, EvtxRecordHeader, ParserSettings};
use harrier_event::{Collected, FieldIndex};
use harrier_event::{Event, Locator, Origin};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

enum Outcome<T> {
    /// A record read, and what the caller's `map` made of its event.
    Read(Option<T>),
    Bad(u64, String),
}

/// What a chunk (or a file that could not be opened) gives the sink.
enum Batch<T> {
    Records(Arc<str>, Items<T>),
    FailFile(Arc<str>, String),
}

/// What the workers do with each event.
pub(crate) type MapEvent<'m, T> = &'m (dyn Fn(Event) -> Option<T> + Sync);

/// What the workers do with a record mapped without building its map
/// (see [`crate::FlatRead`]).
pub(crate) type MapRecord<'m, T> = &'m (dyn Fn(&FlatRecord<'_>) -> Option<Option<T>> + Sync);

/// What the workers do with each record: `flat`, when given, sees the
/// records the template walk maps, with the values of its fields; the
/// others, and those it declines, become events for `event`.
pub(crate) struct Maps<'m, T> {
    pub(crate) event: MapEvent<'m, T>,
    pub(crate) flat: Option<(&'m FieldIndex, MapRecord<'m, T>)>,
}

impl<T> Clone for Maps<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Maps<'_, T> {}

/// What the calling thread does with each result of [`MapEvent`].
pub(crate) type Emit<'m, T> = &'m mut dyn FnMut(&mut Sink, T);

struct Job {
    seq: u64,
    name: Arc<str>,
    chunk: Work,
    settings: Arc<ParserSettings>,
}

/// Consecutive chunks read by one job at most: a hand-over to a worker and
/// back costs about as much as mapping a few records, and small EVTX files
/// are mostly empty chunks, which cost nothing else.
const CHUNKS_PER_JOB: u64 = 4;

/// The chunks of a [`Job`].
enum Work {
    /// To be read by the worker: these chunk numbers, in order.
    Read(Arc<Source>, Range<u64>),
    /// Read by the walk.
    Ready(Box<EvtxChunkData>),
}

type Done<T> = (u64, std::thread::Result<Batch<T>>);

struct Pool<T> {
    jobs: Sender<Job>,
    done: Receiver<Done<T>>,
    /// Jobs sent and not yet received back.
    in_flight: usize,
    max_in_flight: usize,
}

/// Reads EVTX files and buffers in order, on worker threads when there is
/// more than one core. Call [`Pipeline::drain`] before anything else writes to
/// the sink.
pub(crate) struct Pipeline<'m, T> {
    pool: Option<Pool<T>>,
    next_seq: u64,
    next_out: u64,
    ready: BTreeMap<u64, Batch<T>>,
    map: Maps<'m, T>,
    emit: Emit<'m, T>,
    /// The chunk buffer of the calling thread, when it has no workers.
    buf: Vec<u8>,
}

/// Worker threads to use: the cores this process may run on.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `f` with a pipeline whose workers live as long as the call. Each
/// event read goes through `map` (on a worker) and what that gives through
/// `emit` (on this thread, in order).
pub(crate) fn with_pipeline<T: Send, R>(
    map: Maps<'_, T>,
    emit: Emit<'_, T>,
    f: impl FnOnce(&mut Pipeline<'_, T>) -> R,
) -> R {
    let n = threads();
    if n <= 1 {
        return f(&mut Pipeline {
            pool: None,
            next_seq: 0,
            next_out: 0,
            ready: BTreeMap::new(),
            map,
            emit,
            buf: Vec::new(),
        });
    }
    std::thread::scope(|scope| {
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel::<Done<T>>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..n {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || worker(&job_rx, &done_tx, map));
        }
        drop(done_tx);
        // Owned here, so that leaving this closure (also by a panic) drops the
        // job sender, which ends the workers; the scope waits for them.
        let mut pipeline = Pipeline {
            pool: Some(Pool {
                jobs,
                done,
                in_flight: 0,
                max_in_flight: 4 * n,
            }),
            next_seq: 0,
            next_out: 0,
            ready: BTreeMap::new(),
            map,
            emit,
            buf: Vec::new(),
        };
        f(&mut pipeline)
    })
}

fn worker<T>(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done<T>>, map: Maps<'_, T>) {
    // Chunks are read into this buffer, and it comes back after each.
    let mut buf = Vec::new();
    loop {
        let job = {
            let Ok(rx) = jobs.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let seq = job.seq;
        let batch =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(job, map, &mut buf)));
        if done.send((seq, batch)).is_err() {
            return;
        }
    }
}

impl<T> Pipeline<'_, T> {
    /// Reads an open EVTX file.
    pub(crate) fn read_file(&mut self, file: std::fs::File, name: Arc<str>, sink: &mut Sink) {
        self.read(Source::File(file), name, sink);
    }

    /// Reads an EVTX file held in memory.
    pub(crate) fn read_buffer(&mut self, buf: Vec<u8>, name: Arc<str>, sink: &mut Sink) {
        self.read(Source::Memory(buf), name, sink);
    }

    fn read(&mut self, source: Source, name: Arc<str>, sink: &mut Sink) {
        let walk = match ChunkWalk::new(source) {
            Ok(walk) => walk,
            Err(e) => {
                return self.put(Batch::FailFile(name, format!("EVTX: {}", chain(&e))), sink);
            }
        };
        let settings = Arc::new(
            ParserSettings::new()
                .num_threads(1)
                .indent(false)
                .separate_json_attributes(false),
        );
        let source = Arc::clone(walk.source());
        let mut pending: Option<Range<u64>> = None;
        for step in walk {
            match step {
                Step::Read(n) => match &mut pending {
                    Some(r) if r.end == n && r.end - r.start < CHUNKS_PER_JOB => r.end += 1,
                    _ => {
                        if let Some(r) = pending.replace(n..n + 1) {
                            self.submit(Work::Read(Arc::clone(&source), r), &name, &settings, sink);
                        }
                    }
                },
                Step::Ready(data) => {
                    if let Some(r) = pending.take() {
                        self.submit(Work::Read(Arc::clone(&source), r), &name, &settings, sink);
                    }
                    self.submit(Work::Ready(data), &name, &settings, sink);
                }
            }
        }
        if let Some(r) = pending {
            self.submit(Work::Read(source, r), &name, &settings, sink);
        }
    }

    /// Hands `chunk` to a worker (or maps it here, without workers).
    fn submit(
        &mut self,
        chunk: Work,
        name: &Arc<str>,
        settings: &Arc<ParserSettings>,
        sink: &mut Sink,
    ) {
        let job = Job {
            seq: self.next_seq,
            name: name.clone(),
            chunk,
            settings: Arc::clone(settings),
        };
        self.next_seq += 1;
        if self.pool.is_none() {
            let batch = run(job, self.map, &mut self.buf);
            self.next_out += 1;
            deliver(batch, sink, self.emit);
            return;
        }
        while self
            .pool
            .as_ref()
            .is_some_and(|p| p.in_flight >= p.max_in_flight)
        {
            self.receive(sink);
        }
        let Some(pool) = &mut self.pool else { return };
        if pool.jobs.send(job).is_err() {
            // The workers are gone (they only leave on a closed channel):
            // nothing more can be read.
            return;
        }
        pool.in_flight += 1;
    }

    /// A batch that is ready now, delivered after those before it.
    fn put(&mut self, batch: Batch<T>, sink: &mut Sink) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.ready.insert(seq, batch);
        self.flush(sink);
    }

    /// Delivers the batches that are next in order.
    fn flush(&mut self, sink: &mut Sink) {
        while let Some(batch) = self.ready.remove(&self.next_out) {
            self.next_out += 1;
            deliver(batch, sink, self.emit);
        }
    }

    /// Waits for one batch from the workers, then delivers what is in order.
    fn receive(&mut self, sink: &mut Sink) {
        let Some(pool) = &mut self.pool else { return };
        match pool.done.recv() {
            Ok((seq, batch)) => {
                pool.in_flight -= 1;
                match batch {
                    Ok(batch) => {
                        self.ready.insert(seq, batch);
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Err(_) => {
                pool.in_flight = 0;
                // Nothing more will arrive: skip the gaps.
                if let Some((&first, _)) = self.ready.iter().next() {
                    self.next_out = first;
                }
            }
        }
        self.flush(sink);
    }

    /// Delivers everything submitted so far.
    pub(crate) fn drain(&mut self, sink: &mut Sink) {
        self.flush(sink);
        while self.pool.as_ref().is_some_and(|p| p.in_flight > 0) {
            self.receive(sink);
        }
        // Anything left was waiting behind a batch that never came.
        while let Some((_, batch)) = self.ready.pop_first() {
            deliver(batch, sink, self.emit);
        }
        self.next_out = self.next_seq;
    }
}

thread_local! {
    /// One shared `Arc<str>` per data stream name and thread, rather than one
    /// per event.
    static INDEXES: std::cell::RefCell<Vec<Arc<str>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn index_name(name: &str) -> Arc<str> {
    INDEXES.with(|cell| {
        let mut names = cell.borrow_mut();
        if let Some(a) = names.iter().find(|a| &***a == name) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(name);
        names.push(Arc::clone(&a));
        a
    })
}

fn deliver<T>(batch: Batch<T>, sink: &mut Sink, emit: &mut dyn FnMut(&mut Sink, T)) {
    match batch {
        Batch::FailFile(name, reason) => sink.fail_file(&name, Locator::Record(0), reason),
        Batch::Records(name, items) => {
            for item in items {
                match item {
                    Ok(Outcome::Read(t)) => {
                        sink.summary.events += 1;
                        if let Some(t) = t {
                            emit(sink, t);
                        }
                    }
                    Ok(Outcome::Bad(id, reason)) => sink.skip(&name, Locator::Record(id), reason),
                    Err(e) => {
                        let id = match &e {
                            EvtxError::FailedToParseRecord { record_id, .. } => *record_id,
                            _ => 0,
                        };
                        sink.skip(&name, Locator::Record(id), chain(&e));
                    }
                }
            }
        }
    }
}

/// Reads (into `buf`, which it gets back), parses and maps one chunk.
fn run<T>(job: Job, map: Maps<'_, T>, buf: &mut Vec<u8>) -> Batch<T> {
    let Job {
        name,
        chunk,
        settings,
        ..
    } = job;
    let mut items = Vec::new();
    match chunk {
        Work::Ready(mut data) => map_chunk(&mut data, &name, &settings, map, &mut items),
        Work::Read(source, numbers) => {
            for n in numbers {
                match evtx_chunks::read_chunk(&source, n, buf) {
                    Ok(Some(mut data)) => {
                        map_chunk(&mut data, &name, &settings, map, &mut items);
                        *buf = std::mem::take(&mut data.data);
                    }
                    Ok(None) => {}
                    Err(e) => items.push(Err(e)),
                }
            }
        }
    }
    Batch::Records(name, items)
}

/// What a job gives, record by record (or a failed chunk).
type Items<T> = Vec<Result<Outcome<T>, EvtxError>>;

/// Parses and maps the records of one chunk, onto `items`.
fn map_chunk<T>(
    data: &mut EvtxChunkData,
    name: &Arc<str>,
    settings: &Arc<ParserSettings>,
    map: Maps<'_, T>,
    items: &mut Items<T>,
) {
    let number = data.number.unwrap_or(0);
    let mut chunk = match data.parse(Arc::clone(settings)) {
        Ok(chunk) => chunk,
        Err(e) => {
            items.push(Err(EvtxError::FailedToParseChunk {
                chunk_id: number,
                source: Box::new(e),
            }));
            return;
        }
    };
    let mut plans = Plans::default();
    let Err(walked) = walk_records(&chunk, name, &mut plans, map, items) else {
        return;
    };
    // a record needs the crate: its iterator goes on from that record (the
    // ones before, read already, are passed over)
    for record in chunk.iter().skip(walked) {
        let recovered = record.as_ref().is_ok_and(|r| r.recovered);
        let out = record.and_then(|r| read(r, name, &mut plans, map));
        // Carved hits that fail to render are noise, like ones that fail to build.
        if !recovered || out.is_ok() {
            items.push(out);
        }
    }
}

/// Reads the live records of `chunk` as the crate's record iterator finds
/// them (from the chunk header to the free space, or to the chunk's last
/// record), each through the template walk alone, onto `items`; the crate
/// never builds their trees, which costs about a fifth of reading a record.
/// Stops at the first record that needs more than the walk (a header or
/// size the crate would report, a record the walk leaves to the JSON path)
/// with `Err(records read before it)`: the caller reads on from there with
/// the crate's iterator. Harrier's parser settings do not carve stale
/// records, so the live walk is all that iterator does.
fn walk_records<T>(
    chunk: &EvtxChunk<'_>,
    file: &Arc<str>,
    plans: &mut Plans,
    map: Maps<'_, T>,
    items: &mut Items<T>,
) -> Result<(), usize> {
    let data = chunk.data;
    let live_end = (chunk.header.free_space_offset as usize).min(data.len());
    let mut offset = evtx_chunks::CHUNK_HEADER;
    let mut read = 0;
    while offset < live_end {
        let Ok(header) = EvtxRecordHeader::from_bytes_at(data, offset) else {
            return Err(read);
        };
        let Ok(size) = header.record_data_size() else {
            return Err(read);
        };
        let start = offset + RECORD_HEADER;
        let Some(end) = start
            .checked_add(size as usize)
            .filter(|&e| e <= data.len())
        else {
            return Err(read);
        };
        let Some(fields) = evtx_walk::extract_raw(data, (start, end), plans) else {
            return Err(read);
        };
        let at = Header {
            record_id: header.event_record_id,
            time: header.timestamp,
        };
        items.push(Ok(mapped(fields, at, file, map)));
        read += 1;
        if header.event_record_id == chunk.header.last_event_record_id {
            break;
        }
        // at least 28 bytes on: `record_data_size` checked it
        offset += header.data_size as usize;
    }
    Ok(())
}

/// The size of a record's header, before its BinXML.
const RECORD_HEADER: usize = 24;

/// Reads one record, and hands its event to `map`.
fn read<T>(
    mut record: EvtxRecord<'_>,
    file: &Arc<str>,
    plans: &mut Plans,
    map: Maps<'_, T>,
) -> Result<Outcome<T>, EvtxError> {
    let id = record.event_record_id;
    let header = Header {
        record_id: id,
        time: record.timestamp,
    };
    if let Some(fields) = evtx_walk::extract(&mut record, plans) {
        return Ok(mapped(fields, header, file, map));
    }
    // The JSON path, for the records the walk leaves.
    let rendered = record.into_json_bytes()?;
    Ok(
        match serde_json::from_slice::<serde_json::Value>(&rendered.data) {
            Ok(v) => match winlog::map_record(&v, file, Some(header)) {
                Some(m) => Outcome::Read((map.event)(record_event(m.doc, m.index, file, id))),
                None => Outcome::Bad(id, "record has no Event/System element".into()),
            },
            Err(e) => Outcome::Bad(id, format!("rendered record is not valid JSON: {e}")),
        },
    )
}

/// A record's walked fields as an event, handed to `map`.
fn mapped<T>(fields: Fields, header: Header, file: &Arc<str>, map: Maps<'_, T>) -> Outcome<T> {
    let id = header.record_id;
    let (doc, index) = winlog::build_doc(fields, file, Some(header));
    if let Some((fields, record_map)) = map.flat {
        let mut values = Vec::with_capacity(64);
        doc.collect(fields.root(), &mut values);
        let view = Collected::from_entries(fields, values, RecordDoc::new(&doc));
        let record = FlatRecord {
            doc: &view,
            index: index_name(index),
            file,
            record_id: id,
        };
        if let Some(item) = record_map(&record) {
            return Outcome::Read(item);
        }
    }
    Outcome::Read((map.event)(record_event(doc.into_map(), index, file, id)))
}

/// The event of record `id` of `file`, with its document and index.
fn record_event(
    source: harrier_event::Map<String, serde_json::Value>,
    index: &str,
    file: &Arc<str>,
    id: u64,
) -> Event {
    Event {
        source,
        index: index_name(index),
        id: None,
        origin: Origin {
            file: file.clone(),
            locator: Locator::Record(id),
        },
    }
}

/// An error and its sources, joined with ": ".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let text = src.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = src.source();
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use evtx::EvtxParser;
    use std::path::{Path, PathBuf};

    /// The EVTX files under `dir`, in path order.
    pub(crate) fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                evtx_files(&p, out);
            } else if p.extension().is_some_and(|e| e == "evtx") {
                out.push(p);
            }
        }
    }

    /// Runs `f` on every chunk of every file of the EVTX corpus, with the
    /// file's name and the parser settings (one thread); `false` (and a
    /// message saying the test is skipped) when the corpus is not there.
    fn each_corpus_chunk(
        mut f: impl FnMut(&Arc<str>, &Arc<ParserSettings>, EvtxChunkData),
    ) -> bool {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/evtx");
        let mut files = Vec::new();
        evtx_files(&root, &mut files);
        if files.is_empty() {
            eprintln!("skipping: {} not found", root.display());
            return false;
        }
        for file in &files {
            let Ok(parser) = EvtxParser::from_path(file) else {
                continue;
            };
            let name: Arc<str> = file.to_string_lossy().into();
            let settings = ParserSettings::new().num_threads(1);
            let parser = parser.with_configuration(settings.clone());
            let settings = Arc::new(settings);
            for data in parser.into_chunks().flatten() {
                f(&name, &settings, data);
            }
        }
        true
    }

    /// On every chunk of the EVTX corpus (damaged files included), reading
    /// the records by the walk (and with the crate's iterator from the first
    /// record the walk cannot read) gives exactly what the crate's iterator
    /// alone gives: record ids, documents, failures. The walk reads most of
    /// the attack samples' chunks to the end.
    #[test]
    fn record_walk_matches_the_crates_iterator() {
        let event = |e: Event| {
            let id = match e.origin.locator {
                Locator::Record(id) => id,
                _ => 0,
            };
            let doc = serde_json::to_string(&e.source).unwrap_or_default();
            Some(format!("{id} {doc}"))
        };
        let map = Maps {
            event: &event,
            flat: None,
        };
        let describe = |items: &Items<String>| -> Vec<String> {
            items
                .iter()
                .map(|r| match r {
                    Ok(Outcome::Read(doc)) => format!("{doc:?}"),
                    Ok(Outcome::Bad(id, why)) => format!("bad {id}: {why}"),
                    Err(e) => format!("error {e}"),
                })
                .collect()
        };
        let (mut whole, mut chunks, mut samples_whole, mut samples_chunks) = (0, 0, 0, 0);
        let found = each_corpus_chunk(|name, settings, mut data| {
            let in_samples = name.contains("attack-samples");
            let (crate_items, walked_whole) = {
                let Ok(mut chunk) = data.parse(Arc::clone(settings)) else {
                    return;
                };
                let mut plans = Plans::default();
                let mut items = Vec::new();
                for record in chunk.iter() {
                    items.push(record.and_then(|r| read(r, name, &mut plans, map)));
                }
                let mut plans = Plans::default();
                let whole = walk_records(&chunk, name, &mut plans, map, &mut Vec::new());
                (items, whole.is_ok())
            };
            chunks += 1;
            samples_chunks += usize::from(in_samples);
            whole += usize::from(walked_whole);
            samples_whole += usize::from(walked_whole && in_samples);
            let mut ours = Vec::new();
            map_chunk(&mut data, name, settings, map, &mut ours);
            assert_eq!(describe(&ours), describe(&crate_items), "{name}");
        });
        if !found {
            return;
        }
        eprintln!(
            "walked {whole} of {chunks} chunks whole; attack samples {samples_whole} of {samples_chunks}"
        );
        assert!(
            samples_whole * 100 >= samples_chunks * 85,
            "{samples_whole} of {samples_chunks}"
        );
    }

    /// Every record of the EVTX corpus that the walk maps gives exactly the
    /// document (keys in order) of the JSON path; and the walk maps nearly all
    /// of the attack samples (8,105 of 8,255: the rest are `UserData` shapes
    /// and arrays it leaves to the JSON path).
    #[test]
    fn walk_matches_json_path_on_corpus() {
        let (mut walked, mut total, mut samples_walked, mut samples_total) = (0, 0, 0, 0);
        let found = each_corpus_chunk(|name, settings, mut data| {
            let in_samples = name.contains("attack-samples");
            let Ok(mut chunk) = data.parse(Arc::clone(settings)) else {
                return;
            };
            let mut plans = Plans::default();
            for record in chunk.iter() {
                let Ok(mut record) = record else { continue };
                let id = record.event_record_id;
                let before = (record.binxml_offset, record.binxml_size);
                let fast = evtx_walk::extract(&mut record, &mut plans);
                assert_eq!(before, (record.binxml_offset, record.binxml_size));
                let header = || Header {
                    record_id: id,
                    time: record.timestamp,
                };
                let slow = record
                    .clone()
                    .into_json_bytes()
                    .ok()
                    .and_then(|r| serde_json::from_slice::<serde_json::Value>(&r.data).ok())
                    .and_then(|v| winlog::map_record(&v, name, Some(header())));
                total += 1;
                samples_total += usize::from(in_samples);
                let Some(fields) = fast else { continue };
                walked += 1;
                samples_walked += usize::from(in_samples);
                let fast = winlog::build(fields, name, Some(header()));
                let slow = slow.unwrap_or_else(|| panic!("{name} record {id}: JSON path failed"));
                assert_eq!(fast.index, slow.index, "{name} record {id}");
                assert_eq!(
                    serde_json::to_string(&fast.doc).ok(),
                    serde_json::to_string(&slow.doc).ok(),
                    "{name} record {id}"
                );
            }
        });
        if !found {
            return;
        }
        eprintln!("walked {walked} of {total} records; attack samples {samples_walked} of {samples_total}");
        assert!(total > 17_000, "{total}");
        assert!(
            samples_walked * 100 >= samples_total * 98,
            "{samples_walked} of {samples_total}"
        );
    }
}
