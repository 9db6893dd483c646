//! Windows events in their XML rendering: what Windows Event Forwarding,
//! `wevtutil qe /f:xml`, Event Viewer's "Save as XML" and Splunk's
//! `XmlWinEventLog` produce.
//!
//! Each `<Event>` element is one record, wherever it is: one per line,
//! several on a line, pretty-printed over many lines, or inside an `<Events>`
//! wrapper. A record becomes the same JSON shape the EVTX reader gives
//! (`Event.System.EventID`, `Event.EventData.<Name>`, `#attributes`, `#text`),
//! so detections and Sigma rules see one event the same whether it came as a
//! binary EVTX file, as JSON or as XML. Element text that is a plain decimal
//! integer becomes a number, as EVTX's typed values do.
//!
//! A record that is not well-formed XML (or uses a DTD, which is refused so
//! entity expansion cannot exhaust memory) is rejected on its own, with its
//! bytes; reading goes on at the next `<Event`.

use std::collections::VecDeque;

use serde_json::{Map, Value as J};
use warden_core::{Location, Origin};

use crate::{Options, Parsed, build_alert};

/// Whether an input (after any byte-order mark and blanks) is XML rather
/// than a line of syslog (`<13>…`): `<` followed by a name, `?` or `!`.
pub(crate) fn looks_like_xml(bytes: &[u8]) -> bool {
    let text = strip_bom(bytes).trim_ascii_start();
    match text {
        [b'<', next, ..] => next.is_ascii_alphabetic() || *next == b'?' || *next == b'!' || *next == b'_',
        // UTF-16 with a byte-order mark.
        _ => utf16_order(bytes).is_some(),
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// `Some(true)` for UTF-16 little-endian, `Some(false)` for big-endian, from the byte-order mark.
fn utf16_order(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

pub(crate) struct XmlStream<'a> {
    /// The input as UTF-8 (transcoded when it came as UTF-16).
    text: std::borrow::Cow<'a, [u8]>,
    /// Length of the input as given, for progress through a transcoded one.
    input_len: usize,
    file: String,
    opts: &'a Options,
    pos: usize,
    line: u64,
    queue: VecDeque<Parsed>,
}

impl<'a> XmlStream<'a> {
    pub(crate) fn new(bytes: &'a [u8], file: &str, opts: &'a Options, first_line: u64) -> Self {
        let text = match utf16_order(bytes) {
            Some(le) => {
                let units = bytes[2..].chunks_exact(2).map(|p| if le { [p[0], p[1]] } else { [p[1], p[0]] });
                let units = units.map(u16::from_le_bytes);
                let s: String = char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
                std::borrow::Cow::Owned(s.into_bytes())
            }
            None => std::borrow::Cow::Borrowed(strip_bom(bytes)),
        };
        XmlStream {
            text,
            input_len: bytes.len(),
            file: file.to_owned(),
            opts,
            pos: 0,
            line: first_line.max(1),
            queue: VecDeque::new(),
        }
    }

    pub(crate) fn position(&self) -> usize {
        match &self.text {
            std::borrow::Cow::Borrowed(t) => self.pos + (self.input_len - t.len()),
            // Transcoded: the same share of the input.
            std::borrow::Cow::Owned(t) => (self.pos as u128 * self.input_len as u128 / t.len().max(1) as u128) as usize,
        }
    }

    fn reject(&mut self, line: u64, reason: String, raw: &[u8]) {
        self.queue.push_back(crate::rejected_at(&self.file, line, reason, raw));
    }

    fn advance_to(&mut self, end: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.text[self.pos..end]).count() as u64;
        self.pos = end;
    }

    /// Reads the next record (or the text before it that is not markup).
    fn step(&mut self) {
        let rest = &self.text[self.pos..];
        let Some(start) = find_event_start(rest) else {
            let end = self.text.len();
            self.gap(self.pos, end);
            self.advance_to(end);
            return;
        };
        let start = self.pos + start;
        self.gap(self.pos, start);
        self.advance_to(start);
        let line = self.line;
        let rest = &self.text[start..];
        let Some(len) = event_len(rest) else {
            let raw = rest.trim_ascii_end().to_vec();
            self.advance_to(self.text.len());
            return self.reject(line, format!("input ends inside the <Event> that starts on line {line}"), &raw);
        };
        let raw = self.text[start..start + len].to_vec();
        self.advance_to(start + len);
        match self.record(&raw, line) {
            Ok(alert) => self.queue.push_back(alert),
            Err(reason) => self.reject(line, reason, &raw),
        }
    }

    /// Text between records: markup (a declaration, a wrapper, a comment)
    /// and blanks are skipped; anything else is reported, never dropped.
    fn gap(&mut self, from: usize, to: usize) {
        let gap = &self.text[from..to];
        if outside_markup(gap).trim_ascii().is_empty() {
            return;
        }
        let line = self.line
            + memchr::memchr_iter(b'\n', &gap[..gap.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0)]).count()
                as u64;
        let raw = gap.trim_ascii().to_vec();
        self.reject(line, "text outside any <Event> element".to_owned(), &raw);
    }

    fn record(&self, raw: &[u8], line: u64) -> Result<Parsed, String> {
        let limits = &self.opts.limits;
        if let Some(reason) = crate::over_size(raw.len(), limits) {
            return Err(reason);
        }
        let kept;
        let raw = if memchr::memchr(b'\r', raw).is_some() {
            kept = keep_carriage_returns(raw);
            &kept[..]
        } else {
            raw
        };
        let text = std::str::from_utf8(raw).map_err(|e| {
            let before = &raw[..e.valid_up_to()];
            let l = memchr::memchr_iter(b'\n', before).count() as u64;
            let col = before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
            format!("invalid UTF-8 at line {} column {col}", line + l)
        })?;
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: u32::try_from(limits.max_fields).unwrap_or(u32::MAX).saturating_mul(4),
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
            let p = e.pos();
            format!("invalid XML at line {} column {}: {e}", line + u64::from(p.row) - 1, p.col)
        })?;
        let root = doc.root_element();
        if root.tag_name().name() != "Event" {
            return Err(format!("expected an <Event> element, found <{}>", root.tag_name().name()));
        }
        let system = root.children().find(|c| c.is_element() && c.tag_name().name() == "System");
        if !system.is_some_and(|s| s.children().any(|c| c.is_element() && c.tag_name().name() == "EventID")) {
            return Err("the <Event> has no <System> with an <EventID>".to_owned());
        }
        let mut event = Map::new();
        event.insert("Event".to_owned(), element(root, 0, limits.max_depth)?);
        let origin = Origin { file: self.file.clone(), location: Location::Line(line) };
        build_alert(&J::Object(event), origin, self.opts).map(|a| Parsed::Alert(Box::new(a)))
    }
}

impl Iterator for XmlStream<'_> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            if self.pos >= self.text.len() {
                return None;
            }
            self.step();
        }
    }
}

/// The record with each carriage return in text and attribute values
/// written as `&#13;`. An XML parser turns a raw CR LF into LF, but the
/// event said CR LF (PowerShell script blocks, multi-line messages), and
/// evidence must be what the event said, as the EVTX reader gives it.
fn keep_carriage_returns(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 64);
    let (mut in_tag, mut quote) = (false, None);
    for &b in raw {
        match (in_tag, quote, b) {
            (false, _, b'<') => in_tag = true,
            (true, None, b'>') => in_tag = false,
            (true, None, b'"' | b'\'') => quote = Some(b),
            (true, Some(q), _) if b == q => quote = None,
            _ => {}
        }
        if b == b'\r' && (!in_tag || quote.is_some()) {
            out.extend_from_slice(b"&#13;");
        } else {
            out.push(b);
        }
    }
    out
}

/// Offset of the next `<Event` start tag (not `<Events>` or `<EventData>`).
pub(crate) fn find_event_start(text: &[u8]) -> Option<usize> {
    memchr::memmem::find_iter(text, b"<Event")
        .find(|&i| matches!(text.get(i + 6), Some(b) if b.is_ascii_whitespace() || *b == b'>' || *b == b'/'))
}

/// Length of the `<Event …>…</Event>` (or `<Event …/>`) at the start of `text`.
fn event_len(text: &[u8]) -> Option<usize> {
    let open_end = tag_end(text)?;
    if text[..open_end].ends_with(b"/>") {
        return Some(open_end);
    }
    let mut from = open_end;
    loop {
        let at = from + memchr::memmem::find(&text[from..], b"</Event")?;
        let after = &text[at + 7..];
        let blanks = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if after.get(blanks) == Some(&b'>') {
            return Some(at + 7 + blanks + 1);
        }
        from = at + 7;
    }
}

/// Offset just past the `>` that closes the tag at the start of `text`,
/// skipping `>` inside quoted attribute values.
fn tag_end(text: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in text.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The text of `gap` with every `<…>` tag (declarations, comments, wrappers) removed.
fn outside_markup(gap: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < gap.len() {
        if gap[i] == b'<' {
            match tag_end(&gap[i..]) {
                Some(n) => i += n,
                None => {
                    out.extend_from_slice(&gap[i..]);
                    break;
                }
            }
        } else {
            out.push(gap[i]);
            i += 1;
        }
    }
    out
}

/// One element as the EVTX reader renders it: attributes under
/// `#attributes`, text as the value itself (or under `#text` beside
/// attributes or children), children by name, repeated names as an array;
/// inside `EventData`/`UserData`, each `<Data Name="N">` as `N`, unnamed
/// `<Data>` elements together under `Data.#text`.
fn element(node: roxmltree::Node<'_, '_>, depth: usize, max_depth: usize) -> Result<J, String> {
    if depth > max_depth {
        return Err(format!("nesting deeper than {max_depth} levels at <{}>", node.tag_name().name()));
    }
    let mut out = Map::new();
    let attributes: Map<String, J> = node.attributes().map(|a| (a.name().to_owned(), scalar(a.value()))).collect();
    // The EVTX reader shows the record's namespace as the attribute it was written as.
    let mut attributes = attributes;
    if depth == 0
        && let Some(ns) = node.tag_name().namespace()
    {
        attributes.insert("xmlns".to_owned(), J::String(ns.to_owned()));
    }
    if !attributes.is_empty() {
        out.insert("#attributes".to_owned(), J::Object(attributes));
    }
    let container = matches!(node.tag_name().name(), "EventData" | "UserData");
    let mut unnamed = Vec::new();
    let mut text = String::new();
    for child in node.children() {
        if child.is_text() {
            text.push_str(child.text().unwrap_or_default());
            continue;
        }
        if !child.is_element() {
            continue;
        }
        let name = child.tag_name().name();
        if container && name == "Data" {
            match child.attribute("Name") {
                Some(n) => {
                    // An empty named value is an empty string, as EVTX gives it.
                    let text = child.text().unwrap_or_default();
                    let v = if text.is_empty() { J::String(String::new()) } else { scalar(text) };
                    insert(&mut out, n.to_owned(), v);
                }
                None => unnamed.push(scalar(&child.text().map(str::to_owned).unwrap_or_default())),
            }
            continue;
        }
        insert(&mut out, name.to_owned(), element(child, depth + 1, max_depth)?);
    }
    match unnamed.len() {
        0 => {}
        1 => insert(&mut out, "Data".to_owned(), J::Object(Map::from_iter([("#text".to_owned(), unnamed.remove(0))]))),
        _ => insert(&mut out, "Data".to_owned(), J::Object(Map::from_iter([("#text".to_owned(), J::Array(unnamed))]))),
    }
    let text = text.trim();
    if out.is_empty() {
        return Ok(if text.is_empty() { J::Null } else { scalar(text) });
    }
    if !text.is_empty() {
        out.insert("#text".to_owned(), scalar(text));
    }
    Ok(J::Object(out))
}

/// A repeated name becomes an array of its values, in order.
pub(crate) fn insert(out: &mut Map<String, J>, key: String, value: J) {
    match out.get_mut(&key) {
        None => {
            out.insert(key, value);
        }
        Some(J::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = J::Array(vec![first, value]);
        }
    }
}

/// Text as EVTX would type it: a plain decimal integer (no sign, no leading
/// zero, within 64 bits) as a number, anything else as a string; an empty
/// value as null.
fn scalar(text: &str) -> J {
    if text.is_empty() {
        return J::Null;
    }
    let plain = text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    match text.parse::<u64>() {
        Ok(n) if plain => J::from(n),
        _ => J::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Parsed> {
        let opts = Options::new(jiff::Timestamp::UNIX_EPOCH);
        let opts: &'static Options = Box::leak(Box::new(opts));
        XmlStream::new(text.as_bytes().to_vec().leak(), "t.xml", opts, 1).collect()
    }

    const SYSMON: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/><EventID>1</EventID><TimeCreated SystemTime='2026-11-20T09:12:55.412339Z'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>ws-1</Computer></System><EventData><Data Name='Image'>C:\Windows\System32\cmd.exe</Data><Data Name='CommandLine'>cmd /c echo &quot;a &amp; b&quot;</Data><Data Name='RuleName'></Data></EventData></Event>"#;

    #[test]
    fn an_event_reads_as_the_evtx_reader_renders_it() {
        let items = read(SYSMON);
        let [Parsed::Alert(a)] = items.as_slice() else { panic!("{items:?}") };
        use warden_core::Fields;
        assert_eq!(a.format, warden_core::Format::Evtx);
        assert_eq!(a.get("Event.System.EventID"), Some(&warden_core::Value::Int(1)));
        assert_eq!(a.get("Event.EventData.CommandLine").unwrap().to_string(), r#"cmd /c echo "a & b""#);
        assert_eq!(a.get("Event.System.Provider.#attributes.Name").unwrap().to_string(), "Microsoft-Windows-Sysmon");
        assert_eq!(a.get("Event.EventData.RuleName").unwrap().to_string(), "");
        assert!(a.observed_at.is_some());
    }

    #[test]
    fn several_events_on_a_line_in_a_wrapper_and_a_broken_one_between() {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<Events>{SYSMON}{SYSMON}\n<Event><System><EventID>4</EventID></Syste></Event>\n{}\n</Events>\n",
            SYSMON.replace("ws-1", "ws-2")
        );
        let items = read(&text);
        let kinds: Vec<&str> =
            items.iter().map(|p| if matches!(p, Parsed::Alert(_)) { "alert" } else { "rejected" }).collect();
        assert_eq!(kinds, ["alert", "alert", "rejected", "alert"]);
        let Parsed::Rejected(d) = &items[2] else { unreachable!() };
        assert_eq!(d.origin.location, Location::Line(3));
        assert!(d.reason.starts_with("invalid XML at line 3"), "{}", d.reason);
        assert_eq!(d.raw, b"<Event><System><EventID>4</EventID></Syste></Event>");
    }

    #[test]
    fn unnamed_data_a_dtd_a_cut_and_stray_text() {
        let items = read(
            "<Event><System><EventID>400</EventID></System><EventData><Data>Available</Data><Data>None</Data></EventData></Event>",
        );
        let [Parsed::Alert(a)] = items.as_slice() else { panic!("{items:?}") };
        use warden_core::Fields;
        assert_eq!(a.get("Event.EventData.Data.#text[1]").unwrap().to_string(), "None");

        let items = read("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><Event><System/>&a;</Event>");
        // The declaration is refused, and the entity it declares is never expanded.
        assert!(items.iter().all(|p| matches!(p, Parsed::Rejected(_))), "{items:?}");
        assert!(items.iter().any(|p| matches!(p, Parsed::Rejected(d) if d.reason.contains("unknown entity"))));

        let items = read(&SYSMON[..200]);
        let [Parsed::Rejected(d)] = items.as_slice() else { panic!("{items:?}") };
        assert!(d.reason.starts_with("input ends inside the <Event>"), "{}", d.reason);

        let items = read(&format!("hello\n{SYSMON}"));
        assert!(
            matches!(&items[0], Parsed::Rejected(d) if d.reason == "text outside any <Event> element" && d.raw == b"hello")
        );
        assert!(matches!(&items[1], Parsed::Alert(_)));
    }

    #[test]
    fn carriage_returns_in_values_are_kept() {
        let items = read(
            "<Event>\r\n<System><EventID>4104</EventID></System>\r\n<EventData><Data Name='ScriptBlockText'>a\r\nb</Data></EventData></Event>\r\n",
        );
        let [Parsed::Alert(a)] = items.as_slice() else { panic!("{items:?}") };
        use warden_core::Fields;
        assert_eq!(a.get("Event.EventData.ScriptBlockText").unwrap().to_string(), "a\r\nb");
    }

    #[test]
    fn utf16_with_a_byte_order_mark() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in SYSMON.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert!(looks_like_xml(&bytes));
        let opts = Options::new(jiff::Timestamp::UNIX_EPOCH);
        let items: Vec<Parsed> = XmlStream::new(&bytes, "t.xml", &opts, 1).collect();
        assert!(matches!(items.as_slice(), [Parsed::Alert(_)]), "{items:?}");
    }
}
