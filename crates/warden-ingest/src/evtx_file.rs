//! EVTX files, read chunk by chunk with the `evtx` crate.
//!
//! A chunk that cannot be read is reported once, with its number and raw
//! bytes, and reading goes on with the next chunk; a record that cannot be
//! rendered is reported with its record id.

use std::collections::VecDeque;
use std::io::Cursor;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxParser, IntoIterChunks, ParserSettings};
use warden_core::{Location, Origin};

use crate::{Diagnostic, Options, Parsed, build_alert};

pub(crate) const FILE_HEADER: usize = 4096;
pub(crate) const CHUNK: usize = 65536;

pub(crate) fn looks_like_evtx(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ElfFile\0")
}

pub(crate) struct EvtxStream<'a> {
    bytes: &'a [u8],
    file: String,
    opts: &'a Options,
    settings: Arc<ParserSettings>,
    chunks: Option<IntoIterChunks<Cursor<Vec<u8>>>>,
    /// Chunks handed out so far, to place an error when the crate gives no number.
    seen: u64,
    queue: VecDeque<Parsed>,
    position: usize,
    /// Items handed out; a file that yields none at all is reported.
    emitted: u64,
    /// Number of this input's first chunk in its file (a piece of a larger file).
    chunk_base: u64,
    /// Whether this is the file's first piece (or the whole file).
    first: bool,
}

impl<'a> EvtxStream<'a> {
    pub(crate) fn new(bytes: &'a [u8], file: &str, opts: &'a Options, chunk_base: u64, first: bool) -> Self {
        let settings = ParserSettings::new().separate_json_attributes(false);
        let mut queue = VecDeque::new();
        let chunks = match EvtxParser::from_read_seek(Cursor::new(bytes.to_vec())) {
            Ok(p) => Some(p.with_configuration(settings.clone()).into_chunks()),
            Err(e) => {
                queue.push_back(Parsed::Rejected(Diagnostic {
                    origin: Origin { file: file.to_owned(), location: Location::Whole(true) },
                    reason: format!("not a readable EVTX file: {}", chain(&e)),
                    raw: bytes.to_vec(),
                }));
                None
            }
        };
        EvtxStream {
            bytes,
            file: file.to_owned(),
            opts,
            settings: Arc::new(settings),
            chunks,
            seen: 0,
            queue,
            position: 0,
            emitted: 0,
            chunk_base,
            first,
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    fn origin(&self, location: Location) -> Origin {
        Origin { file: self.file.clone(), location }
    }

    fn chunk_bytes(&self, n: u64) -> Vec<u8> {
        let start = FILE_HEADER.saturating_add((n as usize).saturating_mul(CHUNK)).min(self.bytes.len());
        let end = start.saturating_add(CHUNK).min(self.bytes.len());
        self.bytes[start..end].to_vec()
    }

    /// The complete records of a chunk cut short (its header must be whole):
    /// the chunk is read as if the missing bytes were zeros, without checksums
    /// (they cover bytes that are gone), and reading stops at the first record
    /// that is not whole. Returns how many records were queued.
    fn recover_partial_chunk(&mut self, n: u64, tail: usize) -> usize {
        self.recover_partial_chunk_at(n, self.bytes.len() - tail, tail)
    }

    /// The whole records of the `len` bytes of chunk `n` that start at `start`.
    fn recover_partial_chunk_at(&mut self, n: u64, start: usize, len: usize) -> usize {
        const CHUNK_HEADER: usize = 512;
        let tail = len.min(self.bytes.len().saturating_sub(start));
        if tail < CHUNK_HEADER {
            return 0;
        }
        let mut padded = self.bytes[start..start + tail].to_vec();
        padded.resize(CHUNK, 0);
        let Ok(mut data) = evtx::EvtxChunkData::new(padded, false) else { return 0 };
        data.number = Some(n);
        let Ok(mut chunk) = data.parse(self.settings.clone()) else { return 0 };
        let cut = tail as u64;
        let mut items = Vec::new();
        for record in chunk.iter() {
            let Ok(rec) = record else { break };
            // A record whose bytes run past the cut was rebuilt from zeros: not a record.
            if rec.binxml_offset + u64::from(rec.binxml_size) + 4 > cut {
                break;
            }
            let Ok(rec) = rec.into_json_value() else { break };
            items.push(self.record_item(rec));
        }
        let count = items.iter().filter(|i| matches!(i, Parsed::Alert(_))).count();
        self.queue.extend(items);
        count
    }

    /// One rendered record as an alert, or rejected with its JSON when it does not make one.
    fn record_item(&self, rec: evtx::SerializedEvtxRecord<serde_json::Value>) -> Parsed {
        let origin = self.origin(Location::Record(rec.event_record_id));
        match build_alert(&rec.data, origin.clone(), self.opts) {
            Ok(alert) => Parsed::Alert(Box::new(alert)),
            Err(reason) => {
                Parsed::Rejected(Diagnostic { origin, reason, raw: serde_json::to_vec(&rec.data).unwrap_or_default() })
            }
        }
    }

    /// Reads the next chunk's records into the queue. False when no chunk is left.
    fn fill(&mut self) -> bool {
        let Some(chunks) = self.chunks.as_mut() else {
            return false;
        };
        let Some(next) = chunks.next() else {
            self.chunks = None;
            self.position = self.bytes.len();
            // The parser stops silently before a partial last chunk; a file cut short says so.
            let tail = self.bytes.len().saturating_sub(FILE_HEADER) % CHUNK;
            // (A later piece of a file may hold only empty chunks: that is not this report.)
            if self.first
                && self.emitted == 0
                && self.queue.is_empty()
                && (tail == 0 || self.bytes.len() <= FILE_HEADER)
            {
                // Nothing at all came out: say so rather than report an empty success.
                self.queue.push_back(Parsed::Rejected(Diagnostic {
                    origin: self.origin(Location::Whole(true)),
                    reason: "the EVTX file holds no readable chunk or record".into(),
                    raw: self.bytes.to_vec(),
                }));
                return true;
            }
            if self.bytes.len() > FILE_HEADER && tail != 0 {
                let n = ((self.bytes.len() - FILE_HEADER) / CHUNK) as u64;
                // Every record complete before the cut is still a record: read them.
                let recovered = self.recover_partial_chunk(n, tail);
                let n = n + self.chunk_base;
                self.queue.push_back(Parsed::Rejected(Diagnostic {
                    origin: self.origin(Location::Chunk(n)),
                    reason: format!(
                        "EVTX file is truncated: it ends {tail} bytes into chunk {n} (a chunk is {CHUNK} bytes); \
                         {recovered} complete record(s) before the cut were read, the rest of the chunk is kept here"
                    ),
                    raw: self.bytes[self.bytes.len() - tail..].to_vec(),
                }));
                return true;
            }
            return false;
        };
        self.seen += 1;
        let mut data = match next {
            Ok(data) => data,
            Err(e) => {
                let n = match &e {
                    EvtxError::FailedToParseChunk { chunk_id, .. } => *chunk_id,
                    _ => self.seen - 1,
                };
                self.position = (FILE_HEADER + (n as usize + 1) * CHUNK).min(self.bytes.len());
                let raw = self.chunk_bytes(n);
                // A chunk that fails its checksum may still hold whole records (its
                // header magic intact): they are read, and the chunk is kept as it is.
                let len = raw.len();
                let recovered = self.recover_partial_chunk_at(n, FILE_HEADER + n as usize * CHUNK, len);
                let n = n + self.chunk_base;
                let also = if recovered > 0 {
                    format!("; {recovered} record(s) were read from it without its checksum")
                } else {
                    String::new()
                };
                self.queue.push_back(Parsed::Rejected(Diagnostic {
                    origin: self.origin(Location::Chunk(n)),
                    reason: format!("EVTX chunk {n} cannot be read: {}{also}", chain(&e)),
                    raw,
                }));
                return true;
            }
        };
        let number = data.number.unwrap_or(self.seen - 1);
        self.position = (FILE_HEADER + (number as usize + 1) * CHUNK).min(self.bytes.len());
        let mut chunk = match data.parse(self.settings.clone()) {
            Ok(c) => c,
            Err(e) => {
                let raw = self.chunk_bytes(number);
                let number = number + self.chunk_base;
                self.queue.push_back(Parsed::Rejected(Diagnostic {
                    origin: self.origin(Location::Chunk(number)),
                    reason: format!("EVTX chunk {number} cannot be parsed: {}", chain(&e)),
                    raw,
                }));
                return true;
            }
        };
        let mut items = Vec::new();
        for record in chunk.iter() {
            let item = match record.and_then(|r| r.into_json_value()) {
                Ok(rec) => self.record_item(rec),
                Err(e) => {
                    let location = match &e {
                        EvtxError::FailedToParseRecord { record_id, .. } => Location::Record(*record_id),
                        _ => Location::Chunk(number + self.chunk_base),
                    };
                    Parsed::Rejected(Diagnostic {
                        origin: self.origin(location),
                        reason: format!("EVTX record cannot be read: {}", chain(&e)),
                        raw: Vec::new(),
                    })
                }
            };
            items.push(item);
        }
        drop(chunk);
        self.queue.extend(items);
        true
    }
}

impl Iterator for EvtxStream<'_> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                self.emitted += 1;
                return Some(p);
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

/// An error and its sources, joined: "a: b: c".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string().trim_end_matches('.').to_owned();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        let text = text.trim_end_matches('.');
        if !s.ends_with(text) {
            s.push_str(": ");
            s.push_str(text);
        }
        src = inner.source();
    }
    s
}
