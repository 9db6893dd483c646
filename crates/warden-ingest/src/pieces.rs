//! Inputs of any size read piece by piece, so memory stays bounded.
//!
//! [`Pieces`] cuts a byte source into pieces of about a target size that
//! each hold whole records, and says where each starts ([`Start`]) so
//! origins stay those of the whole input: line numbers count on from the
//! previous piece, EVTX chunk numbers too.
//!
//! - **EVTX**: every piece is the file header followed by a run of whole
//!   64 KiB chunks (records never span chunks). From a seekable source
//!   ([`Pieces::seekable`]) the runs follow record order as the whole file is
//!   read: a log that has wrapped around starts at its oldest chunk (the one
//!   whose header names the lowest record id) and goes on from the start of
//!   the file after the end. A partial last chunk comes last, on its own, so
//!   its whole records are recovered as they are from the whole file.
//! - **JSON** (NDJSON, concatenated or pretty-printed documents): a piece ends
//!   at a line break between a `}` and a `{` in the next line's first column,
//!   which is where one top-level document ends and the next begins. An input
//!   with no such boundary (one document, one JSON array) is one piece,
//!   however large.
//! - **Windows XML**: a piece ends at a line break followed by `<Event`,
//!   indented or not (UTF-16 input is one piece).
//! - **Text lines** (syslog, CEF, LEEF): a piece ends at any line break.

use std::io::{BufRead, Read, Seek, SeekFrom};

use crate::evtx_file::{CHUNK, FILE_HEADER, looks_like_evtx};

/// Where a piece starts in its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Start {
    /// 1-based line of the piece's first byte.
    pub line: u64,
    /// Number of the piece's first EVTX chunk.
    pub chunk: u64,
    /// Whether this is the input's first piece (an input that yields nothing
    /// at all is reported once, by its first piece).
    pub first: bool,
}

impl Default for Start {
    fn default() -> Self {
        Start { line: 1, chunk: 0, first: true }
    }
}

/// One piece of an input: whole records only.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    pub bytes: Vec<u8>,
    pub start: Start,
    /// Bytes of the input this piece covers (an EVTX piece repeats the file
    /// header, which is not counted again).
    pub consumed: usize,
}

/// Where a piece of a text input may end.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cut {
    Json,
    Xml,
    Lines,
    /// Nowhere: the input is one piece.
    Never,
}

enum Kind {
    Unknown,
    /// JSON, XML or text lines; how to cut is settled by the first bytes that are not blank.
    Text(Option<Cut>),
    Evtx {
        header: Vec<u8>,
    },
    /// EVTX from a seekable source: runs of chunks `(first, count)` in record
    /// order, the partial tail `(first, 0)` last.
    EvtxRuns {
        header: Vec<u8>,
        runs: std::collections::VecDeque<(u64, u64)>,
        tail: usize,
    },
}

type SeekFn<R> = fn(&mut R, SeekFrom) -> std::io::Result<u64>;

/// An input cut into [`Piece`]s of about `target` bytes.
pub struct Pieces<R> {
    src: R,
    target: usize,
    kind: Kind,
    carry: Vec<u8>,
    next: Start,
    done: bool,
    /// Set when the source can seek (see [`Pieces::seekable`]).
    seek: Option<SeekFn<R>>,
}

impl<R: BufRead + Seek> Pieces<R> {
    /// As [`Pieces::new`], for a source that can seek (a file): EVTX pieces
    /// then follow record order (see the module's documentation).
    pub fn seekable(src: R, target: usize) -> Self {
        let mut p = Pieces::new(src, target);
        p.seek = Some(|r, pos| r.seek(pos));
        p
    }
}

impl<R: BufRead> Pieces<R> {
    /// `target` is the size pieces aim at (at least one EVTX chunk).
    pub fn new(src: R, target: usize) -> Self {
        Pieces {
            src,
            target: target.max(FILE_HEADER + CHUNK),
            kind: Kind::Unknown,
            carry: Vec::new(),
            next: Start::default(),
            done: false,
            seek: None,
        }
    }

    /// The runs of chunks in record order, read from the chunk headers;
    /// `None` when the source cannot seek or is shorter than a file header.
    fn evtx_runs(&mut self, per_piece: u64, read_so_far: u64) -> std::io::Result<Option<Kind>> {
        let Some(seek) = self.seek else { return Ok(None) };
        let len = seek(&mut self.src, SeekFrom::End(0))?;
        if len < FILE_HEADER as u64 {
            seek(&mut self.src, SeekFrom::Start(read_so_far))?;
            return Ok(None);
        }
        let mut header = vec![0; FILE_HEADER];
        seek(&mut self.src, SeekFrom::Start(0))?;
        self.src.read_exact(&mut header)?;
        let n = (len - FILE_HEADER as u64) / CHUNK as u64;
        let tail = ((len - FILE_HEADER as u64) % CHUNK as u64) as usize;
        let mut oldest = (u64::MAX, 0u64);
        let mut chunk_header = [0u8; 40];
        for c in 0..n {
            seek(&mut self.src, SeekFrom::Start(FILE_HEADER as u64 + c * CHUNK as u64))?;
            self.src.read_exact(&mut chunk_header)?;
            let id = |at: usize| u64::from_le_bytes(chunk_header[at..at + 8].try_into().expect("8 bytes"));
            let (first, last) = (id(24), id(32));
            if chunk_header.starts_with(b"ElfChnk\0") && first <= last && first < oldest.0 {
                oldest = (first, c);
            }
        }
        let start = if oldest.0 == u64::MAX { 0 } else { oldest.1 };
        let mut runs = std::collections::VecDeque::new();
        for (from, to) in [(start, n), (0, start)] {
            let mut c = from;
            while c < to {
                let k = per_piece.min(to - c);
                runs.push_back((c, k));
                c += k;
            }
        }
        if tail > 0 || runs.is_empty() {
            // The partial last chunk on its own, or the header alone (which says so).
            runs.push_back((n, 0));
        }
        Ok(Some(Kind::EvtxRuns { header, runs, tail }))
    }

    /// Appends up to `want` bytes from the source to `buf`; true at the end of the input.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
        let before = buf.len();
        (&mut self.src).take(want as u64).read_to_end(buf)?;
        Ok(buf.len() - before < want || self.src.fill_buf()?.is_empty())
    }

    /// The next run of an [`Kind::EvtxRuns`] input, read from where it lies.
    fn next_run(&mut self) -> std::io::Result<Option<Piece>> {
        let (Kind::EvtxRuns { header, runs, tail }, Some(seek)) = (&mut self.kind, self.seek) else {
            unreachable!("runs come only from a seekable source")
        };
        let Some((first, count)) = runs.pop_front() else {
            self.done = true;
            return Ok(None);
        };
        let len = if count == 0 { *tail } else { count as usize * CHUNK };
        let mut bytes = header.clone();
        let first_piece = self.next.first;
        self.done = runs.is_empty();
        seek(&mut self.src, SeekFrom::Start(FILE_HEADER as u64 + first * CHUNK as u64))?;
        (&mut self.src).take(len as u64).read_to_end(&mut bytes)?;
        let consumed = bytes.len() - if first_piece { 0 } else { FILE_HEADER };
        Ok(Some(Piece { bytes, start: Start { line: 1, chunk: first, first: first_piece }, consumed }))
    }

    fn next_piece(&mut self) -> std::io::Result<Option<Piece>> {
        if self.done {
            return Ok(None);
        }
        if matches!(self.kind, Kind::Unknown) {
            let mut head = Vec::with_capacity(FILE_HEADER);
            let end = self.fill(&mut head, 8)?;
            self.kind = if looks_like_evtx(&head) { Kind::Evtx { header: Vec::new() } } else { Kind::Text(None) };
            if matches!(self.kind, Kind::Evtx { .. }) {
                let per_piece = (self.target.saturating_sub(FILE_HEADER) / CHUNK).max(1) as u64;
                if let Some(kind) = self.evtx_runs(per_piece, head.len() as u64)? {
                    self.kind = kind;
                    return self.next_run();
                }
            }
            self.carry = head;
            if end {
                self.done = true;
                let consumed = self.carry.len();
                return Ok(Some(Piece { bytes: std::mem::take(&mut self.carry), start: self.next, consumed }));
            }
        }
        let chunks_per_piece = (self.target.saturating_sub(FILE_HEADER) / CHUNK).max(1);
        match &mut self.kind {
            Kind::Unknown => unreachable!("the kind is settled above"),
            Kind::EvtxRuns { .. } => self.next_run(),
            Kind::Evtx { header } if header.is_empty() => {
                let mut buf = std::mem::take(&mut self.carry);
                let want = FILE_HEADER + chunks_per_piece * CHUNK - buf.len();
                let end = self.fill(&mut buf, want)?;
                if let Kind::Evtx { header } = &mut self.kind {
                    *header = buf[..FILE_HEADER.min(buf.len())].to_vec();
                }
                self.done = end;
                let start = self.next;
                self.next.chunk += chunks_per_piece as u64;
                let consumed = buf.len();
                Ok(Some(Piece { bytes: buf, start, consumed }))
            }
            Kind::Evtx { header } => {
                let mut buf = header.clone();
                let end = self.fill(&mut buf, chunks_per_piece * CHUNK)?;
                self.done = end;
                let consumed = buf.len() - FILE_HEADER;
                if consumed == 0 {
                    return Ok(None);
                }
                let start = self.next;
                self.next.chunk += chunks_per_piece as u64;
                Ok(Some(Piece { bytes: buf, start, consumed }))
            }
            Kind::Text(_) => {
                let mut buf = std::mem::take(&mut self.carry);
                loop {
                    let want = self.target.saturating_sub(buf.len()).max(self.target / 4);
                    if self.fill(&mut buf, want)? {
                        self.done = true;
                        break;
                    }
                    let how = match &mut self.kind {
                        Kind::Text(Some(how)) => *how,
                        Kind::Text(unsettled) => match cut_for(&buf) {
                            Some(how) => *unsettled.insert(how),
                            None => continue,
                        },
                        _ => unreachable!("a text input stays text"),
                    };
                    if let Some(cut) = last_boundary(&buf, how) {
                        self.carry = buf.split_off(cut);
                        break;
                    }
                }
                if buf.is_empty() {
                    return Ok(None);
                }
                let start = self.next;
                self.next.line += memchr::memchr_iter(b'\n', &buf).count() as u64;
                let consumed = buf.len();
                Ok(Some(Piece { bytes: buf, start, consumed }))
            }
        }
    }
}

impl<R: BufRead> Iterator for Pieces<R> {
    type Item = std::io::Result<Piece>;

    fn next(&mut self) -> Option<Self::Item> {
        let piece = self.next_piece();
        self.next.first = false;
        match piece {
            Ok(p) => p.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// How to cut an input that starts with `buf`; None while it is all blank.
fn cut_for(buf: &[u8]) -> Option<Cut> {
    if matches!(buf, [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..]) {
        return Some(Cut::Never);
    }
    let text = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf).trim_ascii_start();
    match text.first()? {
        b'{' | b'[' => Some(Cut::Json),
        _ if crate::xml::looks_like_xml(text) => Some(Cut::Xml),
        _ => Some(Cut::Lines),
    }
}

/// Offset just after the last line break where a piece may end; never 0.
/// JSON: the break ends a top-level document (`}` as the line's last
/// non-blank byte) and is followed by `{` in the next line's first column.
/// XML: the break is followed by `<Event`. Lines: any break.
fn last_boundary(buf: &[u8], how: Cut) -> Option<usize> {
    match how {
        Cut::Never => return None,
        Cut::Lines => return memchr::memrchr(b'\n', buf).map(|nl| nl + 1),
        Cut::Xml => {
            return memchr::memrchr_iter(b'\n', buf)
                .find(|&nl| {
                    let next = &buf[nl + 1..];
                    let indent = next.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
                    crate::xml::find_event_start(&next[indent..]) == Some(0)
                })
                .map(|nl| nl + 1);
        }
        Cut::Json => {}
    }
    for nl in memchr::memrchr_iter(b'\n', buf) {
        if buf.get(nl + 1) != Some(&b'{') {
            continue;
        }
        if buf[..nl].iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'}') {
            return Some(nl + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(bytes: &[u8], target: usize) -> Vec<Piece> {
        let mut p = Pieces::new(std::io::BufReader::with_capacity(1024, bytes), 0);
        p.target = target;
        p.map(Result::unwrap).collect()
    }

    #[test]
    fn ndjson_is_cut_between_records_and_lines_count_on() {
        let text: String = (0..1000).map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 50))).collect();
        let ps = pieces(text.as_bytes(), 4096);
        assert!(ps.len() > 5, "{} pieces", ps.len());
        let joined: Vec<u8> = ps.iter().flat_map(|p| p.bytes.clone()).collect();
        assert_eq!(joined, text.as_bytes(), "the pieces are the input, in order");
        let mut line = 1;
        for p in &ps {
            assert_eq!(p.start.line, line);
            assert!(p.bytes.starts_with(b"{") && p.bytes.ends_with(b"}\n"), "whole records only");
            line += p.bytes.iter().filter(|b| **b == b'\n').count() as u64;
        }
    }

    #[test]
    fn pretty_documents_are_cut_only_where_one_ends() {
        let doc = "{\n  \"a\": {\n    \"b\": 1\n  },\n  \"list\": [\n    {\"c\": 2}\n  ]\n}\n";
        let text = doc.repeat(500);
        for p in pieces(text.as_bytes(), 2048) {
            let s = std::str::from_utf8(&p.bytes).unwrap();
            assert_eq!(s.len() % doc.len(), 0, "a piece holds whole documents: {s:?}");
        }
    }

    #[test]
    fn an_array_has_no_boundary_and_stays_one_piece() {
        let text = format!("[\n{}\n]\n", (0..2000).map(|i| format!("{{\"n\":{i}}}")).collect::<Vec<_>>().join(",\n"));
        let ps = pieces(text.as_bytes(), 1024);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].bytes, text.as_bytes());
    }

    #[test]
    fn xml_is_cut_before_an_event_and_lines_at_any_break() {
        let event = "  <Event>\n  <System><EventID>1</EventID></System>\n</Event>\n";
        let text = format!("<?xml version=\"1.0\"?>\n<Events>\n{}</Events>\n", event.repeat(300));
        let ps = pieces(text.as_bytes(), 2048);
        assert!(ps.len() > 3, "{} pieces", ps.len());
        for p in &ps[1..] {
            let s = p.bytes.trim_ascii_start();
            assert!(s.starts_with(b"<Event>") || s.starts_with(b"</Events>"), "{:?}", &p.bytes[..20]);
        }
        let joined: Vec<u8> = ps.iter().flat_map(|p| p.bytes.clone()).collect();
        assert_eq!(joined, text.as_bytes());

        let text = "<13>Oct 11 22:14:15 host app: a line of syslog\n".repeat(400);
        let ps = pieces(text.as_bytes(), 2048);
        assert!(ps.len() > 3);
        assert!(ps.iter().all(|p| p.bytes.ends_with(b"\n") && p.bytes.starts_with(b"<13>")));
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert_eq!(pieces(b"", 4096), vec![Piece { bytes: vec![], start: Start::default(), consumed: 0 }]);
        assert_eq!(pieces(b"{}", 4096)[0].bytes, b"{}");
    }
}
