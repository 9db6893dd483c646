//! JSON inputs: one document, an array, NDJSON, or concatenated documents.
//!
//! Two modes. When the first line is a whole JSON document (or a broken one-line
//! record among whole ones) the input is read line by line, so a broken line
//! costs only itself. Otherwise (pretty-printed documents, a multi-line array)
//! documents are read as a stream; after an error, reading resumes at the next
//! line that starts a document.

use std::collections::VecDeque;

use serde_json::value::RawValue;
use warden_core::{Location, Origin};

use crate::{Options, Parsed, build_alert};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Lines,
    Stream,
}

pub(crate) struct JsonStream<'a> {
    bytes: &'a [u8],
    file: String,
    opts: &'a Options,
    mode: Mode,
    /// Next unread byte.
    pos: usize,
    /// 1-based line number of `pos`.
    line: u64,
    queue: VecDeque<Parsed>,
}

impl<'a> JsonStream<'a> {
    pub(crate) fn new(bytes: &'a [u8], file: &str, opts: &'a Options, first_line: u64) -> Self {
        let start = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let mode = choose_mode(&bytes[start..]);
        JsonStream {
            bytes,
            file: file.to_owned(),
            opts,
            mode,
            pos: start,
            line: first_line.max(1),
            queue: VecDeque::new(),
        }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn origin(&self, line: u64) -> Origin {
        Origin { file: self.file.clone(), location: Location::Line(line) }
    }

    fn reject(&mut self, line: u64, reason: String, raw: &[u8]) {
        self.queue.push_back(crate::rejected_at(&self.file, line, reason, raw));
    }

    /// Parses one record's text (an object, or an array of them) starting on `line`.
    fn record(&mut self, raw: &'a [u8], line: u64) {
        if let Some(reason) = crate::over_size(raw.len(), &self.opts.limits) {
            return self.reject(line, reason, raw);
        }
        if let Err(e) = std::str::from_utf8(raw) {
            let (l, c) = line_col(raw, e.valid_up_to());
            let at = if self.mode == Mode::Lines { format!("column {c}") } else { format!("line {}", line + l - 1) };
            return self.reject(line, format!("invalid UTF-8 at {at}"), raw);
        }
        if raw.first() == Some(&b'[') {
            match serde_json::from_slice::<Vec<&RawValue>>(raw) {
                Ok(items) => {
                    for item in items {
                        let text = item.get().as_bytes();
                        let offset = text.as_ptr() as usize - raw.as_ptr() as usize;
                        let item_line = line + count_newlines(&raw[..offset]);
                        self.object(text, item_line);
                    }
                }
                Err(e) => {
                    let reason = self.json_error(&e, line);
                    self.reject(line, reason, raw);
                }
            }
        } else {
            self.object(raw, line);
        }
    }

    fn object(&mut self, raw: &[u8], line: u64) {
        // What a JSON parser would change without a word: a later duplicate
        // key replacing an earlier one, an integer beyond 64 bits becoming a
        // float, a number underflowing to zero. Rejected, never silently changed.
        if let Err(reason) = numbers_exact(raw).and_then(|()| unique_keys(raw)) {
            return self.reject(line, reason, raw);
        }
        match serde_json::from_slice::<serde_json::Value>(raw) {
            Ok(v) => match build_alert(&v, self.origin(line), self.opts) {
                Ok(alert) => self.queue.push_back(Parsed::Alert(Box::new(alert))),
                Err(reason) => self.reject(line, reason, raw),
            },
            Err(e) => {
                let reason = self.json_error(&e, line);
                self.reject(line, reason, raw)
            }
        }
    }

    /// A serde error, positioned in the input rather than in the record.
    fn json_error(&self, e: &serde_json::Error, record_line: u64) -> String {
        let what = describe(e);
        if e.line() == 0 {
            what
        } else if self.mode == Mode::Lines && e.line() == 1 {
            format!("invalid JSON at column {}: {what}", e.column())
        } else {
            format!("invalid JSON at line {} column {}: {what}", record_line + e.line() as u64 - 1, e.column())
        }
    }

    fn next_line(&mut self) -> Option<(&'a [u8], u64)> {
        while self.pos < self.bytes.len() {
            let rest = &self.bytes[self.pos..];
            let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let line = self.line;
            self.pos += (len + 1).min(rest.len());
            self.line += 1;
            let text = rest[..len].trim_ascii();
            if !text.is_empty() {
                return Some((text, line));
            }
        }
        None
    }

    fn next_document(&mut self) {
        // Skip whitespace, counting lines.
        while let Some(&b) = self.bytes.get(self.pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            if b == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        if self.pos >= self.bytes.len() {
            return;
        }
        let start = self.pos;
        let line = self.line;
        let rest = &self.bytes[start..];
        let mut docs = serde_json::Deserializer::from_slice(rest).into_iter::<&RawValue>();
        match docs.next() {
            Some(Ok(_)) => {
                let end = start + docs.byte_offset();
                self.advance_to(end);
                self.record(&self.bytes[start..end], line);
            }
            Some(Err(e)) => {
                let reason = if e.is_eof() {
                    format!("input ends inside the JSON document that starts on line {line}")
                } else {
                    self.json_error(&e, line)
                };
                let end = if e.line() <= 1 {
                    start + rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1)
                } else {
                    resync(rest, e.line()).map_or(self.bytes.len(), |i| start + i)
                };
                self.advance_to(end);
                self.reject(line, reason, self.bytes[start..end].trim_ascii_end());
            }
            None => self.pos = self.bytes.len(),
        }
    }

    fn advance_to(&mut self, end: usize) {
        self.line += count_newlines(&self.bytes[self.pos..end]);
        self.pos = end;
    }
}

impl Iterator for JsonStream<'_> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            if self.pos >= self.bytes.len() {
                return None;
            }
            match self.mode {
                Mode::Lines => {
                    let (text, line) = self.next_line()?;
                    self.record(text, line);
                }
                Mode::Stream => self.next_document(),
            }
        }
    }
}

/// Lines mode when the first line is a whole document, or when it opens an
/// object on the same line and a later early line is a whole object (NDJSON
/// whose first record is broken).
fn choose_mode(bytes: &[u8]) -> Mode {
    let mut lines = bytes.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return Mode::Lines;
    };
    let whole = |l: &[u8]| serde_json::from_slice::<&RawValue>(l).is_ok();
    if (first[0] == b'{' || first[0] == b'[') && whole(first) {
        return Mode::Lines;
    }
    if first[0] == b'{' && first.len() > 1 && lines.take(16).any(|l| l[0] == b'{' && whole(l)) {
        return Mode::Lines;
    }
    Mode::Stream
}

/// Offset of the first line from `error_line` (1-based) on, but never the
/// first line, that starts a document at its first column. Pretty-printed
/// documents indent their inner lines, so a `{` in column one opens a new
/// document: the one that broke loses only its own lines.
fn resync(rest: &[u8], error_line: usize) -> Option<usize> {
    let mut line = 1;
    let mut i = 0;
    while i < rest.len() {
        if line > 1 && line >= error_line && (rest[i] == b'{' || rest[i] == b'[') {
            return Some(i);
        }
        match rest[i..].iter().position(|&b| b == b'\n') {
            Some(n) => {
                i += n + 1;
                line += 1;
            }
            None => return None,
        }
    }
    None
}

fn count_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// 1-based (line, column) of a byte offset.
fn line_col(b: &[u8], offset: usize) -> (u64, usize) {
    let before = &b[..offset];
    let line = count_newlines(before) + 1;
    let col = offset - before.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// serde_json's message without its own position suffix.
fn describe(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Every number in a JSON text is one the alert can hold exactly: integers
/// within 64 bits, and no non-zero value that underflows to zero.
fn numbers_exact(raw: &[u8]) -> Result<(), String> {
    let mut i = 0;
    let mut in_string = false;
    while i < raw.len() {
        let b = raw[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < raw.len() && matches!(raw[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            let text = std::str::from_utf8(&raw[start..i]).unwrap_or_default();
            let float = text.contains(['.', 'e', 'E']);
            if !float && text.parse::<i64>().is_err() && text.parse::<u64>().is_err() && text != "-" {
                return Err(format!(
                    "the integer {text} does not fit in 64 bits; send it as a string to keep it exactly"
                ));
            }
            if float && let Ok(v) = text.parse::<f64>() {
                let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
                if v == 0.0 && mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
                    return Err(format!("the number {text} underflows to 0; send it as a string to keep it exactly"));
                }
                if v.is_infinite() {
                    return Err(format!("the number {text} is out of range; send it as a string to keep it exactly"));
                }
            }
            continue;
        }
        i += 1;
    }
    Ok(())
}

/// No object in a JSON text repeats a key (`"cmdline":"mimikatz …","cmdline":"notepad.exe"`
/// would otherwise be read as the last one alone).
fn unique_keys(raw: &[u8]) -> Result<(), String> {
    use serde::de::{Deserializer as _, MapAccess, SeqAccess, Visitor};
    struct Check;
    impl<'de> serde::Deserialize<'de> for Check {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Check)
        }
    }
    impl<'de> Visitor<'de> for Check {
        type Value = Check;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Check, E> {
            Ok(Check)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Check, E> {
            Ok(Check)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Check, E> {
            Ok(Check)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Check, E> {
            Ok(Check)
        }
        fn visit_str<E>(self, _: &str) -> Result<Check, E> {
            Ok(Check)
        }
        fn visit_unit<E>(self) -> Result<Check, E> {
            Ok(Check)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Check, A::Error> {
            while a.next_element::<Check>()?.is_some() {}
            Ok(Check)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Check, A::Error> {
            let mut keys = std::collections::HashSet::new();
            while let Some(k) = m.next_key::<String>()? {
                if !keys.insert(k.clone()) {
                    return Err(serde::de::Error::custom(format!(
                        "the key {k:?} appears twice in one object; which value is meant is ambiguous"
                    )));
                }
                m.next_value::<Check>()?;
            }
            Ok(Check)
        }
    }
    let mut d = serde_json::Deserializer::from_slice(raw);
    match d.deserialize_any(Check) {
        Ok(_) => Ok(()),
        // Only the duplicate-key finding is this check's to report; other errors are the parser's.
        Err(e) if e.to_string().contains("appears twice") => Err(describe(&e)),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(choose_mode(b"{\"a\":1}\n{\"b\":2}\n"), Mode::Lines);
        assert_eq!(choose_mode(b"{\"a\":1, broken\n{\"b\":2}\n"), Mode::Lines);
        assert_eq!(choose_mode(b"{\n  \"a\": 1\n}\n"), Mode::Stream);
        assert_eq!(choose_mode(b"[\n {\"a\":1},\n {\"b\":2}\n]"), Mode::Stream);
        assert_eq!(choose_mode(b"[{\"a\":1},{\"b\":2}]"), Mode::Lines);
    }

    #[test]
    fn duplicate_keys_are_refused_not_resolved_silently() {
        let e = unique_keys(br#"{"cmdline":"mimikatz.exe","cmdline":"notepad.exe"}"#).unwrap_err();
        assert!(e.contains("\"cmdline\" appears twice"), "{e}");
        assert!(unique_keys(br#"{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}"#).is_ok());
        assert!(unique_keys(br#"{"a":{"x":1,"x":2}}"#).is_err(), "nested objects too");
        assert!(unique_keys(br#"{"a\u0062":1,"ab":2}"#).is_err(), "after unescaping");
    }

    #[test]
    fn numbers_that_would_change_are_refused() {
        assert!(numbers_exact(br#"{"n":18446744073709551616}"#).unwrap_err().contains("64 bits"));
        assert!(numbers_exact(br#"{"n":-9223372036854775809}"#).is_err());
        assert!(numbers_exact(br#"{"n":1e-999}"#).unwrap_err().contains("underflows"));
        for ok in [
            r#"{"n":18446744073709551615,"m":-9223372036854775808}"#,
            r#"{"f":0.0,"g":1e-5,"h":-0,"i":0e10,"j":0.9039999999999999}"#,
            r#"{"s":"1e-999 99999999999999999999999"}"#,
        ] {
            assert!(numbers_exact(ok.as_bytes()).is_ok(), "{ok}");
        }
    }
}
