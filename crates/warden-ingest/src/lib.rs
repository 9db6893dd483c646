//! Bytes in a supported format → [`Alert`]s plus diagnostics.
//!
//! [`read`] takes one input (a file's bytes, a request body, standard input)
//! and yields [`Parsed`] items one at a time: an alert, or a [`Diagnostic`]
//! carrying the raw bytes that could not be read and exactly why. A bad record
//! never aborts the rest of its batch. Inputs may be one JSON document, a JSON
//! array, NDJSON, pretty-printed concatenated documents, an EVTX file, Windows
//! events in XML, or lines of syslog (RFC 3164/5424), CEF or LEEF; the format
//! of each JSON record (OCSF, ECS, Suricata EVE, Zeek, Windows events, generic
//! JSON) is detected from its fields unless the caller forces one.
//!
//! Ingest knows nothing about storage, HTTP, analysis or the terminal: it does
//! not decide what happens to a rejected record, only describes it.

mod detect;
mod evtx_file;
mod flatten;
mod json;
pub mod mapping;
mod pieces;
mod text;
mod xml;

use std::collections::BTreeMap;

use evtx_file::EvtxStream;
use jiff::Timestamp;
use warden_core::{Alert, AlertId, Canon, FieldMap, Fingerprint, Format, Origin};

pub use detect::{detect_format, is_telemetry};
pub use pieces::{Piece, Pieces, Start};

/// Size and shape limits that keep hostile input from exhausting memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest single record (a line, an array element, an EVTX record).
    pub max_record_bytes: usize,
    /// Largest single field value.
    pub max_field_bytes: usize,
    /// Deepest nesting of objects and arrays.
    pub max_depth: usize,
    /// Most fields in one record once flattened.
    pub max_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_record_bytes: 16 << 20, max_field_bytes: 1 << 20, max_depth: 64, max_fields: 10_000 }
    }
}

/// How to read one input.
#[derive(Clone, Debug)]
pub struct Options {
    /// Stamped on every alert as its receive time.
    pub received_at: Timestamp,
    /// Force one format instead of detecting it per record.
    pub format: Option<Format>,
    pub limits: Limits,
    /// For generic JSON: canonical field → candidate paths, tried in order
    /// before the built-in guesses.
    pub json_field_map: BTreeMap<Canon, Vec<String>>,
}

impl Options {
    pub fn new(received_at: Timestamp) -> Self {
        Options { received_at, format: None, limits: Limits::default(), json_field_map: BTreeMap::new() }
    }
}

/// A record that could not become an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub origin: Origin,
    /// What is wrong, precisely enough to fix the input.
    pub reason: String,
    /// The record's raw bytes, for the dead-letter store.
    pub raw: Vec<u8>,
}

/// One item read from an input.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Alert(Box<Alert>),
    Rejected(Diagnostic),
}

/// Reads one input, yielding alerts and diagnostics in input order.
///
/// `file` names the input in origins and diagnostics (`-` for stdin).
pub fn read<'a>(bytes: &'a [u8], file: &str, opts: &'a Options) -> Reader<'a> {
    read_at(bytes, file, opts, Start::default())
}

/// As [`read`], for a piece of a larger input that begins at `start`
/// (see [`Pieces`]): origins count lines and chunks from there.
pub fn read_at<'a>(bytes: &'a [u8], file: &str, opts: &'a Options, start: Start) -> Reader<'a> {
    let inner = if evtx_file::looks_like_evtx(bytes) {
        Inner::Evtx(Box::new(evtx_file::EvtxStream::new(bytes, file, opts, start.chunk, start.first)))
    } else if xml::looks_like_xml(bytes) {
        Inner::Xml(xml::XmlStream::new(bytes, file, opts, start.line))
    } else if text::looks_like_text(bytes) {
        Inner::Lines(text::LineStream::new(bytes, file, opts, start.line))
    } else {
        Inner::Json(json::JsonStream::new(bytes, file, opts, start.line))
    };
    Reader { inner, total: bytes.len() }
}

/// An iterator over one input's [`Parsed`] items.
pub struct Reader<'a> {
    inner: Inner<'a>,
    total: usize,
}

enum Inner<'a> {
    Json(json::JsonStream<'a>),
    Evtx(Box<evtx_file::EvtxStream<'a>>),
    Xml(xml::XmlStream<'a>),
    Lines(text::LineStream<'a>),
}

impl Reader<'_> {
    /// Bytes of the input consumed so far, for progress reporting.
    pub fn position(&self) -> usize {
        match &self.inner {
            Inner::Json(j) => json::JsonStream::position(j),
            Inner::Evtx(e) => EvtxStream::position(e),
            Inner::Xml(x) => x.position(),
            Inner::Lines(l) => l.position(),
        }
    }

    /// Total bytes of the input.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl Iterator for Reader<'_> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        match &mut self.inner {
            Inner::Json(j) => j.next(),
            Inner::Evtx(e) => e.next(),
            Inner::Xml(x) => x.next(),
            Inner::Lines(l) => l.next(),
        }
    }
}

/// Turns one parsed JSON record into an alert: flatten, detect, map, fingerprint.
pub(crate) fn build_alert(value: &serde_json::Value, origin: Origin, opts: &Options) -> Result<Alert, String> {
    build(None, value, origin, opts)
}

/// As [`build_alert`], for a record whose parser already knows its format
/// (syslog, CEF, LEEF); a format the caller forces still wins.
pub(crate) fn build_alert_as(
    format: Format,
    value: &serde_json::Value,
    origin: Origin,
    opts: &Options,
) -> Result<Alert, String> {
    build(Some(format), value, origin, opts)
}

fn build(known: Option<Format>, value: &serde_json::Value, origin: Origin, opts: &Options) -> Result<Alert, String> {
    if !value.is_object() {
        return Err(format!("expected a JSON object, found {}", json_kind(value)));
    }
    let fields = flatten::flatten(value, &opts.limits)?;
    if fields.is_empty() {
        return Err("the object has no fields".to_owned());
    }
    let format = opts.format.or(known).unwrap_or_else(|| detect_format(&fields));
    let canon = detect::canonical_paths(format, &fields, &opts.json_field_map);
    let observed_at =
        canon.get(&Canon::Timestamp).and_then(|p| warden_core::Fields::get(&fields, p)).and_then(detect::parse_time);
    let fingerprint = fingerprint(format, &fields);
    Ok(Alert {
        id: AlertId::from_fingerprint(&fingerprint),
        format,
        received_at: opts.received_at,
        observed_at,
        fingerprint,
        origin,
        fields,
        canon,
    })
}

/// A record of a text input rejected at `line`, with its reason and bytes.
pub(crate) fn rejected_at(file: &str, line: u64, reason: String, raw: &[u8]) -> Parsed {
    let origin = Origin { file: file.to_owned(), location: warden_core::Location::Line(line) };
    Parsed::Rejected(Diagnostic { origin, reason, raw: raw.to_vec() })
}

/// Why a record of `len` bytes is refused for its size, if it is.
pub(crate) fn over_size(len: usize, limits: &Limits) -> Option<String> {
    (len > limits.max_record_bytes)
        .then(|| format!("record is {len} bytes, over the limit of {} bytes", limits.max_record_bytes))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// SHA-256 over the format and every (path, value) pair in path order, so the
/// same content gives the same fingerprint whether keys were nested, dotted or
/// reordered.
pub fn fingerprint(format: Format, fields: &FieldMap) -> Fingerprint {
    use sha2::{Digest, Sha256};
    use warden_core::{Fields, Value};
    let mut h = Sha256::new();
    h.update(format.as_str().as_bytes());
    for (path, value) in fields.iter() {
        h.update([0u8]);
        h.update(path.as_bytes());
        let (tag, text) = match value {
            Value::Null => (b'n', String::new()),
            Value::Bool(b) => (b'b', b.to_string()),
            Value::Int(i) => (b'i', i.to_string()),
            Value::Float(f) => (b'f', f.to_string()),
            Value::Str(s) => (b's', s.clone()),
        };
        h.update([0u8, tag]);
        h.update(text.as_bytes());
    }
    Fingerprint::from_hex(hex(&h.finalize()))
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The records of a HEC body: each `{"event": …}` object's event read as an
/// alert; whatever is not one (malformed JSON, invalid UTF-8, NUL, deep
/// nesting, an object without an event) rejected with its reason and its
/// bytes, so it is dead-lettered and the good records beside it are kept.
/// Objects are split at newlines first: a bad line cannot swallow the next.
pub fn read_hec(body: &[u8], opts: &Options) -> Vec<Parsed> {
    use warden_core::{Location, Origin};
    let mut out = Vec::new();
    let mut n = 0u64;
    let reject = |out: &mut Vec<Parsed>, n: u64, reason: String, raw: &[u8]| {
        out.push(Parsed::Rejected(Diagnostic {
            origin: Origin { file: "hec".into(), location: Location::Index(n) },
            reason,
            raw: raw.to_vec(),
        }))
    };
    for line in body.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // The event's own bytes, not a re-serialised value: duplicate keys and
        // numbers reach the reader's checks exactly as they were sent.
        #[derive(serde::Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            event: Option<&'a serde_json::value::RawValue>,
        }
        let mut stream = serde_json::Deserializer::from_slice(line).into_iter::<Envelope<'_>>();
        loop {
            let at = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Err(e)) => {
                    n += 1;
                    reject(&mut out, n, format!("not a HEC event object: {e}"), &line[at..]);
                    break;
                }
                Some(Ok(env)) => {
                    n += 1;
                    let raw = &line[at..stream.byte_offset()];
                    let event = match env.event.map(|r| r.get()) {
                        None | Some("null") => {
                            reject(&mut out, n, "a HEC object needs an \"event\"".into(), raw);
                            continue;
                        }
                        // An event sent as a JSON string is the record's text.
                        Some(text) if text.starts_with('"') => match serde_json::from_str::<String>(text) {
                            Ok(s) => s.into_bytes(),
                            Err(e) => {
                                reject(&mut out, n, format!("the event string is not valid: {e}"), raw);
                                continue;
                            }
                        },
                        Some(text) => text.as_bytes().to_vec(),
                    };
                    out.extend(read(&event, &format!("hec:{n}"), opts));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_dotted_keys_give_one_fingerprint() {
        let opts = Options::new(Timestamp::UNIX_EPOCH);
        let o = || Origin { file: "t".into(), location: warden_core::Location::Line(1) };
        let a = build_alert(&serde_json::json!({"event": {"kind": "alert"}, "x": 1}), o(), &opts).unwrap();
        let b = build_alert(&serde_json::json!({"x": 1, "event.kind": "alert"}), o(), &opts).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.id, b.id);
    }
}
