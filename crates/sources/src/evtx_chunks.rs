//! Which chunks of an EVTX file to read, in which order, and reading one.
//!
//! The `evtx` crate's own chunk iterator reads every chunk on the thread that
//! iterates, into a fresh 64 KiB buffer, and tells an empty chunk (all zero
//! bytes) by scanning it a byte at a time. Small EVTX files are mostly
//! preallocated empty chunks (208 of the 565 chunks of the attack samples),
//! so with two cores that serial reading and scanning held the workers back:
//! the same files without their empty tails mapped 25% faster. Here the
//! calling thread only plans the walk ([`ChunkWalk`]) and each worker reads
//! its chunk itself ([`read_chunk`]) into a buffer it keeps, skipping empty
//! ones with one `memcmp`.
//!
//! The walk is the crate's, step for step (the test below compares the two
//! on every EVTX file of the shared datasets): the file header is read and
//! checked by the crate; chunks go in record order, from the one whose
//! header names the lowest first record id to the end of the file, then from
//! the first chunk up to that one, as Windows reads a log that has wrapped
//! around. Empty chunks are skipped; a chunk that cannot be read or has no
//! chunk header is an error for that chunk, and the walk goes on. Past the
//! chunk count the file size implies (a damaged header can make it too
//! small), chunks are read until the first that fails, which ends that part
//! of the walk without an error, as the crate does.

use evtx::err::{ChunkError, EvtxError};
use evtx::{EvtxChunkData, EvtxChunkHeader, EvtxParser};
use std::fs::File;
use std::io::{self, Cursor, Seek, SeekFrom};
use std::sync::Arc;

/// The size of the file header block where chunks start, and of a chunk.
const FILE_HEADER: u64 = 4096;
const CHUNK: usize = 0x10000;
pub(crate) const CHUNK_HEADER: usize = 512;

/// Chunks are checksummed only when asked; the parser's default is not to.
const VALIDATE_CHECKSUMS: bool = false;

/// An empty chunk, to compare with.
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// The bytes of an EVTX input, read at offsets from any thread.
pub(crate) enum Source {
    File(File),
    Memory(Vec<u8>),
}

impl Source {
    fn len(&self) -> io::Result<u64> {
        match self {
            Source::File(f) => Ok(f.metadata()?.len()),
            Source::Memory(b) => Ok(b.len() as u64),
        }
    }

    /// Fills `buf` from `offset`; gives how much was there to read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::File(f) => {
                let mut done = 0;
                while done < buf.len() {
                    let at = offset.saturating_add(done as u64);
                    match read_file_at(f, at, &mut buf[done..]) {
                        Ok(0) => break,
                        Ok(n) => done += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(done)
            }
            Source::Memory(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let part = &b[start..];
                let n = part.len().min(buf.len());
                buf[..n].copy_from_slice(&part[..n]);
                Ok(n)
            }
        }
    }
}

#[cfg(unix)]
fn read_file_at(f: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, offset)
}

#[cfg(windows)]
fn read_file_at(f: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_file_at(_: &File, _: u64, _: &mut [u8]) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "reading at an offset is not supported on this platform",
    ))
}

/// One step of a walk.
pub(crate) enum Step {
    /// Read chunk `n` (see [`read_chunk`]).
    Read(u64),
    /// A chunk already read by the walk.
    Ready(Box<EvtxChunkData>),
}

/// The chunks of one EVTX input, in the order to read them.
pub(crate) struct ChunkWalk {
    source: Arc<Source>,
    /// Chunks the file size implies after the header block the header names.
    count: u64,
    /// The file's length in bytes.
    len: u64,
    /// Where the walk starts: the chunk holding the oldest records.
    oldest: u64,
    next: u64,
    wrapped: bool,
    /// Whether past `count` a chunk has failed: the first part of the walk is over.
    tail_ended: bool,
}

impl ChunkWalk {
    /// Checks the file header (with the crate) and finds where to start.
    pub(crate) fn new(source: Source) -> Result<ChunkWalk, EvtxError> {
        let header_block = match &source {
            Source::File(f) => {
                let mut f = f;
                f.seek(SeekFrom::Start(0))?;
                EvtxParser::from_read_seek(f).map(|p| p.header().header_block_size)
            }
            Source::Memory(b) => EvtxParser::from_read_seek(Cursor::new(b.as_slice()))
                .map(|p| p.header().header_block_size),
        }?;
        let header_block = u64::from(header_block);
        // The crate has checked that the file is at least this long.
        let len = source.len()?;
        let count = len.saturating_sub(header_block) / CHUNK as u64;
        let oldest = oldest_chunk(&source, count);
        Ok(ChunkWalk {
            source: Arc::new(source),
            count,
            len,
            oldest,
            next: oldest,
            wrapped: false,
            tail_ended: false,
        })
    }

    pub(crate) fn source(&self) -> &Arc<Source> {
        &self.source
    }
}

/// The chunk whose header names the lowest first record id, among the
/// headers that read and whose range is not reversed; the first chunk when
/// none does.
fn oldest_chunk(source: &Source, count: u64) -> u64 {
    let mut oldest = (u64::MAX, 0);
    let mut header = [0u8; CHUNK_HEADER];
    for n in 0..count {
        match source.read_at(chunk_offset(n), &mut header) {
            Ok(CHUNK_HEADER) => {}
            _ => break,
        }
        if let Ok(h) = EvtxChunkHeader::from_bytes(&header) {
            if h.first_event_record_id <= h.last_event_record_id
                && h.first_event_record_id < oldest.0
            {
                oldest = (h.first_event_record_id, n);
            }
        }
    }
    oldest.1
}

fn chunk_offset(n: u64) -> u64 {
    FILE_HEADER.saturating_add(n.saturating_mul(CHUNK as u64))
}

impl Iterator for ChunkWalk {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        loop {
            let end = if self.wrapped { self.oldest } else { u64::MAX };
            if self.next >= end || self.tail_ended {
                if self.wrapped || self.oldest == 0 {
                    return None;
                }
                self.wrapped = true;
                self.tail_ended = false;
                self.next = 0;
                continue;
            }
            let n = self.next;
            self.next = n.checked_add(1)?;
            if n < self.count {
                return Some(Step::Read(n));
            }
            // Past the count: read here, and stop at the first chunk that fails
            // (one the file is too short for fails without a buffer being made)
            if chunk_offset(n).saturating_add(CHUNK as u64) > self.len {
                self.tail_ended = true;
                continue;
            }
            let mut buf = Vec::new();
            match read_chunk(&self.source, n, &mut buf) {
                Ok(Some(chunk)) => return Some(Step::Ready(Box::new(chunk))),
                Ok(None) => {}
                Err(_) => self.tail_ended = true,
            }
        }
    }
}

/// Reads chunk `n` into `buf` (which it takes when the chunk is not empty):
/// `None` for an empty chunk.
pub(crate) fn read_chunk(
    source: &Source,
    n: u64,
    buf: &mut Vec<u8>,
) -> Result<Option<EvtxChunkData>, EvtxError> {
    let fail = |e: ChunkError| EvtxError::FailedToParseChunk {
        chunk_id: n,
        source: Box::new(e),
    };
    buf.resize(CHUNK, 0);
    match source.read_at(chunk_offset(n), buf) {
        Ok(CHUNK) => {}
        _ => return Err(fail(ChunkError::IncompleteChunk)),
    }
    if buf.as_slice() == ZEROS.as_slice() {
        return Ok(None);
    }
    let mut chunk = EvtxChunkData::new(std::mem::take(buf), VALIDATE_CHECKSUMS).map_err(fail)?;
    chunk.number = Some(n);
    Ok(Some(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evtx_input::tests::evtx_files;
    use std::path::Path;

    /// What a walk gives, chunk by chunk: the chunk's number and first
    /// record id, or the error's text.
    fn describe(r: Result<EvtxChunkData, EvtxError>) -> String {
        match r {
            Ok(c) => format!(
                "chunk {:?} from record {}",
                c.number, c.header.first_event_record_id
            ),
            Err(e) => format!("error {e:?}"),
        }
    }

    fn ours(source: Source) -> Result<Vec<String>, String> {
        let walk = ChunkWalk::new(source).map_err(|e| e.to_string())?;
        let source = Arc::clone(walk.source());
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for step in walk {
            match step {
                Step::Ready(c) => out.push(describe(Ok(*c))),
                Step::Read(n) => match read_chunk(&source, n, &mut buf) {
                    Ok(None) => {}
                    Ok(Some(c)) => out.push(describe(Ok(c))),
                    Err(e) => out.push(describe(Err(e))),
                },
            }
        }
        Ok(out)
    }

    fn crates<T: std::io::Read + Seek>(
        p: Result<EvtxParser<T>, EvtxError>,
    ) -> Result<Vec<String>, String> {
        let p = p.map_err(|e| e.to_string())?;
        Ok(p.into_chunks().map(describe).collect())
    }

    /// Every EVTX file of the shared datasets (wrapped logs, dirty and
    /// damaged files among them) walks to the same chunks and errors, in the
    /// same order, as with the crate's iterator, from a file and from memory.
    #[test]
    fn walk_is_the_crates() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
        let mut files = Vec::new();
        evtx_files(&root, &mut files);
        if files.is_empty() {
            eprintln!("skipping: no EVTX files under {}", root.display());
            return;
        }
        let mut chunks = 0;
        for file in &files {
            let expected = crates(EvtxParser::from_path(file));
            let Ok(f) = File::open(file) else { continue };
            assert_eq!(ours(Source::File(f)), expected, "{}", file.display());
            let Ok(bytes) = std::fs::read(file) else {
                continue;
            };
            let from_memory = crates(EvtxParser::from_buffer(bytes.clone()));
            assert_eq!(
                ours(Source::Memory(bytes)),
                from_memory,
                "{} in memory",
                file.display()
            );
            chunks += expected.map_or(0, |v| v.len());
        }
        assert!(
            files.len() > 300 && chunks > 500,
            "{} files, {chunks} chunks",
            files.len()
        );
    }

    /// A file whose header block is said to be larger than it is: fewer
    /// chunks than the file holds are counted, and those past the count are
    /// read until one fails, as the crate reads them.
    #[test]
    fn chunks_past_the_count() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/datasets/evtx/attack-samples/Execution/sysmon_mshta_sharpshooter_stageless_meterpreter.evtx");
        let Ok(bytes) = std::fs::read(&sample) else {
            eprintln!("skipping: {} not found", sample.display());
            return;
        };
        for block in [0x1000u16, 0x80, 0x2000, 0xF000, 0xFFFF] {
            let mut b = bytes.clone();
            b[40..42].copy_from_slice(&block.to_le_bytes());
            let expected = crates(EvtxParser::from_buffer(b.clone()));
            assert_eq!(ours(Source::Memory(b)), expected, "header block {block:#x}");
        }
    }
}
