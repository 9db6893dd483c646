//! Line-oriented text formats: syslog (RFC 3164 and RFC 5424, with
//! structured data), CEF (ArcSight) and LEEF 1.0/2.0 (QRadar), each with or
//! without a syslog header in front, one record per line.
//!
//! Every record becomes a JSON object the rest of ingest reads like any
//! other (`syslog.*`, `cef.*`, `leef.*`, `message`), so the format-specific
//! knowledge ends here. The parsers are strict where it matters: a line that
//! is none of these formats is rejected with its reason and its bytes, never
//! taken as a message of unknown shape, so it reaches the dead-letter store.
//! (A permissive syslog parser accepts every line; that is why these are
//! written for Warden rather than taken from a crate.)

use std::collections::VecDeque;

use jiff::Timestamp;
use serde_json::{Map, Value as J};
use warden_core::{Format, Location, Origin};

use crate::{Options, Parsed, build_alert_as, json::JsonStream, xml};

pub(crate) struct LineStream<'a> {
    bytes: &'a [u8],
    file: String,
    opts: &'a Options,
    pos: usize,
    line: u64,
    queue: VecDeque<Parsed>,
}

impl<'a> LineStream<'a> {
    pub(crate) fn new(bytes: &'a [u8], file: &str, opts: &'a Options, first_line: u64) -> Self {
        let start = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        LineStream { bytes, file: file.to_owned(), opts, pos: start, line: first_line.max(1), queue: VecDeque::new() }
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

    fn one(&mut self, raw: &'a [u8], line: u64) {
        if let Some(reason) = crate::over_size(raw.len(), &self.opts.limits) {
            return self.reject(line, reason, raw);
        }
        match raw.first() {
            // A JSON record or an XML event on a line of its own.
            Some(b'{' | b'[') => return self.queue.extend(JsonStream::new(raw, &self.file, self.opts, line)),
            Some(b'<') if xml::looks_like_xml(raw) => {
                return self.queue.extend(xml::XmlStream::new(raw, &self.file, self.opts, line));
            }
            _ => {}
        }
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t,
            Err(e) => return self.reject(line, format!("invalid UTF-8 at column {}", e.valid_up_to() + 1), raw),
        };
        if text.contains('\0') {
            return self.reject(line, "the line holds a NUL byte".to_owned(), raw);
        }
        let parsed = parse_line(text, self.opts.received_at);
        match parsed.and_then(|(format, value)| build_alert_as(format, &value, self.origin(line), self.opts)) {
            Ok(alert) => self.queue.push_back(Parsed::Alert(Box::new(alert))),
            Err(reason) => self.reject(line, reason, raw),
        }
    }
}

impl Iterator for LineStream<'_> {
    type Item = Parsed;

    fn next(&mut self) -> Option<Parsed> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(p);
            }
            if self.pos >= self.bytes.len() {
                return None;
            }
            let rest = &self.bytes[self.pos..];
            let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            let line = self.line;
            self.pos += (len + 1).min(rest.len());
            self.line += 1;
            let raw = rest[..len].trim_ascii();
            if !raw.is_empty() {
                self.one(raw, line);
            }
        }
    }
}

/// Whether an input's first line is one of these text formats rather than
/// JSON or XML (used to choose the reader for the whole input).
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes).trim_ascii_start();
    !matches!(text.first(), None | Some(b'{' | b'[')) && !xml::looks_like_xml(text)
}

/// One line → its format and the JSON object ingest reads.
pub(crate) fn parse_line(line: &str, received: Timestamp) -> Result<(Format, J), String> {
    if let Some(at) = embedded(line, "CEF:") {
        let mut out = header_before(&line[..at], received)?;
        out.insert("cef".into(), cef(&line[at + 4..])?);
        return Ok((Format::Cef, J::Object(out)));
    }
    if let Some(at) = embedded(line, "LEEF:") {
        let mut out = header_before(&line[..at], received)?;
        out.insert("leef".into(), leef(&line[at + 5..])?);
        return Ok((Format::Leef, J::Object(out)));
    }
    let (syslog, msg) = syslog(line, received)?;
    let mut out = Map::new();
    out.insert("syslog".into(), J::Object(syslog));
    if !msg.is_empty() {
        out.insert("message".into(), J::String(msg.to_owned()));
    }
    Ok((Format::Syslog, J::Object(out)))
}

/// Where `CEF:`/`LEEF:` followed by a version digit starts the record: at the
/// start of the line or after a syslog header (a space before it), before
/// the first `|`.
fn embedded(line: &str, tag: &str) -> Option<usize> {
    let first_pipe = line.find('|')?;
    let head = &line[..first_pipe];
    let at = head.find(tag)?;
    let starts = at == 0 || line[..at].ends_with(' ');
    let versioned = line[at + tag.len()..].starts_with(|c: char| c.is_ascii_digit());
    (starts && versioned).then_some(at)
}

/// The syslog header in front of a CEF or LEEF record, if any.
fn header_before(prefix: &str, received: Timestamp) -> Result<Map<String, J>, String> {
    let mut out = Map::new();
    let prefix = prefix.trim();
    if !prefix.is_empty() {
        let (syslog, rest) = syslog(prefix, received)?;
        if !rest.is_empty() && !syslog.contains_key("appname") {
            // `host CEF:0|…` has a host and nothing else.
            return Err(format!("unexpected text before the record: {rest:?}"));
        }
        out.insert("syslog".into(), J::Object(syslog));
    }
    Ok(out)
}

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];
const SEVERITIES: [&str; 8] =
    ["emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"];

/// A syslog line (RFC 5424, RFC 3164, or 3164 without its `<PRI>` as files
/// written by a syslog daemon hold it) → its header fields and its message.
fn syslog(line: &str, received: Timestamp) -> Result<(Map<String, J>, &str), String> {
    let mut out = Map::new();
    let mut rest = line;
    if let Some(after) = rest.strip_prefix('<') {
        let close = after.find('>').filter(|&i| (1..=3).contains(&i)).ok_or("a syslog priority is `<0>` to `<191>`")?;
        let pri: u16 = after[..close].parse().map_err(|_| "a syslog priority is `<0>` to `<191>`")?;
        if pri > 191 || (after[..close].len() > 1 && after.starts_with('0')) {
            return Err(format!("syslog priority {pri} is out of range (0 to 191)"));
        }
        out.insert("priority".into(), J::from(pri));
        out.insert("facility".into(), J::from(FACILITIES[usize::from(pri / 8)]));
        out.insert("facility_code".into(), J::from(pri / 8));
        out.insert("severity".into(), J::from(SEVERITIES[usize::from(pri % 8)]));
        out.insert("severity_code".into(), J::from(pri % 8));
        rest = &after[close + 1..];
        // RFC 5424: a version, then a space.
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if (1..=2).contains(&digits) && rest[digits..].starts_with(' ') {
            out.insert("version".into(), J::from(rest[..digits].parse::<u8>().expect("digits")));
            return rfc5424(out, &rest[digits + 1..]);
        }
    }
    rfc3164(out, rest, received)
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`, `-` for none.
fn rfc5424(mut out: Map<String, J>, rest: &str) -> Result<(Map<String, J>, &str), String> {
    let mut rest = rest;
    for name in ["timestamp", "hostname", "appname", "procid", "msgid"] {
        let end = rest.find(' ').ok_or_else(|| format!("the RFC 5424 header ends before its {name}"))?;
        let token = &rest[..end];
        rest = &rest[end + 1..];
        if token == "-" {
            continue;
        }
        if name == "timestamp" {
            let t: Timestamp =
                token.parse().map_err(|e| format!("the RFC 5424 timestamp {token:?} is not RFC 3339: {e}"))?;
            out.insert(name.into(), J::from(t.to_string()));
        } else {
            out.insert(name.into(), J::from(token));
        }
    }
    if let Some(after) = rest.strip_prefix('-') {
        rest = after;
    } else if rest.starts_with('[') {
        let (sd, after) = structured_data(rest)?;
        out.insert("structured_data".into(), J::Object(sd));
        rest = after;
    } else {
        return Err("RFC 5424 structured data is `-` or starts with `[`".to_owned());
    }
    let msg = match rest.strip_prefix(' ') {
        Some(m) => m.strip_prefix('\u{feff}').unwrap_or(m),
        None if rest.is_empty() => "",
        None => return Err("RFC 5424 structured data must be followed by a space".to_owned()),
    };
    Ok((out, msg))
}

/// `[id name="value" …][id …]`: values escape `"`, `\` and `]` with `\`.
fn structured_data(mut rest: &str) -> Result<(Map<String, J>, &str), String> {
    let mut out = Map::new();
    while let Some(body) = rest.strip_prefix('[') {
        let id_end = body.find([' ', ']']).ok_or("structured data element is not closed")?;
        let id = &body[..id_end];
        if id.is_empty() || id.contains(['=', '"']) {
            return Err(format!("structured data id {id:?} is not valid"));
        }
        let mut params = Map::new();
        let mut r = &body[id_end..];
        loop {
            r = r.trim_start_matches(' ');
            if let Some(after) = r.strip_prefix(']') {
                r = after;
                break;
            }
            let eq = r.find('=').ok_or_else(|| format!("structured data [{id}] has a parameter without `=`"))?;
            let name = &r[..eq];
            let Some(after) = r[eq + 1..].strip_prefix('"') else {
                return Err(format!("structured data [{id}] parameter {name:?} is not quoted"));
            };
            let (value, after) =
                quoted(after).ok_or_else(|| format!("structured data [{id}] value of {name:?} is not closed"))?;
            xml::insert(&mut params, name.to_owned(), J::String(value));
            r = after;
        }
        out.insert(id.to_owned(), J::Object(params));
        rest = r;
    }
    Ok((out, rest))
}

/// A quoted value up to its closing `"`, unescaping `\"`, `\\` and `\]`.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, n @ ('"' | '\\' | ']'))) => out.push(n),
                Some((_, n)) => {
                    out.push('\\');
                    out.push(n);
                }
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// `Mmm dd hh:mm:ss HOST TAG[PID]: MSG` (the timestamp may also be RFC 3339,
/// as rsyslog writes files). The year is the receive time's (the year before,
/// when that would put the event more than a day in the future); the zone UTC.
fn rfc3164(mut out: Map<String, J>, rest: &str, received: Timestamp) -> Result<(Map<String, J>, &str), String> {
    let rest = rest.trim_start();
    let (time, mut rest) = match bsd_time(rest, received) {
        Some((t, n)) => (t, &rest[n..]),
        None => {
            let end = rest.find(' ').unwrap_or(rest.len());
            match rest[..end].parse::<Timestamp>() {
                Ok(t) => (t, &rest[end..]),
                Err(_) if out.contains_key("priority") => {
                    // `<PRI>` then the message: a header is all a relay must keep.
                    return Ok((out, rest));
                }
                Err(_) => {
                    return Err("not a recognised format: neither JSON, XML, CEF, LEEF nor syslog (no priority or timestamp at the start)".to_owned());
                }
            }
        }
    };
    out.insert("timestamp".into(), J::from(time.to_string()));
    rest = rest.trim_start();
    // The host, unless the next token is already the tag (`su: …`).
    let end = rest.find(' ').unwrap_or(rest.len());
    let token = &rest[..end];
    if !token.is_empty() && !token.ends_with(':') && !token.contains('[') {
        out.insert("hostname".into(), J::from(token));
        rest = rest[end..].trim_start();
    }
    // TAG[PID]: — a tag is up to 48 name characters.
    let tag_len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || b"-_./".contains(b)).count();
    if (1..=48).contains(&tag_len) {
        let after = &rest[tag_len..];
        let (pid, after) = match after.strip_prefix('[').and_then(|a| a.split_once(']')) {
            Some((pid, a)) if !pid.is_empty() && pid.len() <= 16 => (Some(pid), a),
            _ => (None, after),
        };
        if let Some(msg) = after.strip_prefix(':') {
            out.insert("appname".into(), J::from(&rest[..tag_len]));
            if let Some(pid) = pid {
                out.insert("procid".into(), J::from(pid));
            }
            return Ok((out, msg.trim_start()));
        }
    }
    Ok((out, rest))
}

/// A BSD timestamp (`Oct  1 22:14:15`, optionally with fractions) at the
/// start of `s`, and its length.
fn bsd_time(s: &str, received: Timestamp) -> Option<(Timestamp, usize)> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| s.get(..3) == Some(*m))? as i8 + 1;
    let b = s.as_bytes();
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let day_text = s.get(4..6)?.trim_start();
    let day: i8 = day_text.parse().ok()?;
    let hms = s.get(7..15)?;
    if b.get(6) != Some(&b' ') || hms.as_bytes()[2] != b':' || hms.as_bytes()[5] != b':' {
        return None;
    }
    let (h, m, sec): (i8, i8, i8) = (hms[..2].parse().ok()?, hms[3..5].parse().ok()?, hms[6..8].parse().ok()?);
    let mut len = 15;
    let mut nanos = 0i32;
    if b.get(15) == Some(&b'.') {
        let digits = b[16..].iter().take_while(|c| c.is_ascii_digit()).count().min(9);
        if digits > 0 {
            nanos = s[16..16 + digits].parse::<i32>().ok()? * 10i32.pow(9 - digits as u32);
            len = 16 + digits;
        }
    }
    if b.get(len).is_some_and(|c| *c != b' ') {
        return None;
    }
    let year = received.to_zoned(jiff::tz::TimeZone::UTC).year();
    let at = |y: i16| {
        jiff::civil::DateTime::new(y, month, day, h, m, sec, nanos).ok()?.to_zoned(jiff::tz::TimeZone::UTC).ok()
    };
    let mut t = at(year)?.timestamp();
    if t > received + jiff::SignedDuration::from_hours(24) {
        t = at(year - 1)?.timestamp();
    }
    Some((t, len))
}

/// The fields of a `|`-separated header with `\|` and `\\` escaped, and
/// what follows the last of them.
fn header(s: &str, count: usize) -> Result<(Vec<String>, &str), String> {
    let mut fields = Vec::with_capacity(count);
    let mut cur = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n @ ('|' | '\\'))) => cur.push(n),
                Some((_, n)) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            '|' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == count {
                    return Ok((fields, &s[i + 1..]));
                }
            }
            c => cur.push(c),
        }
    }
    Err(format!("the header has {} of its {count} `|`-separated fields", fields.len()))
}

/// `Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`.
fn cef(s: &str) -> Result<J, String> {
    let (h, extension) = header(s, 7).map_err(|e| format!("CEF: {e}"))?;
    let version: u8 = h[0].parse().map_err(|_| format!("CEF: version {:?} is not a number", h[0]))?;
    let mut out = Map::new();
    out.insert("version".into(), J::from(version));
    for (name, value) in
        ["device_vendor", "device_product", "device_version", "signature_id", "name", "severity"].iter().zip(&h[1..])
    {
        out.insert((*name).into(), J::from(value.as_str()));
    }
    let pairs = cef_extension(extension)?;
    let mut ext = Map::new();
    for (k, v) in &pairs {
        xml::insert(&mut ext, k.clone(), J::String(v.clone()));
    }
    // `cs1Label=Rule cs1=…` also reads as `custom.Rule`.
    let mut custom = Map::new();
    for (k, v) in &pairs {
        if let Some(label) = pairs.iter().find(|(lk, _)| *lk == format!("{k}Label")).map(|(_, l)| l) {
            custom.insert(label.clone(), J::String(v.clone()));
        }
    }
    out.insert("extensions".into(), J::Object(ext));
    if !custom.is_empty() {
        out.insert("custom".into(), J::Object(custom));
    }
    Ok(J::Object(out))
}

/// CEF extension: `key=value` pairs separated by spaces; a value runs to the
/// next ` key=` and escapes `\=`, `\\`, `\n` and `\r`.
fn cef_extension(s: &str) -> Result<Vec<(String, String)>, String> {
    let s = s.trim();
    let mut out = Vec::new();
    if s.is_empty() {
        return Ok(out);
    }
    let is_key = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.[]-".contains(&b));
    // Positions of unescaped `=`.
    let bytes = s.as_bytes();
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'=' => eqs.push(i),
            _ => {}
        }
        i += 1;
    }
    // A key starts after the last space before its `=` (or at the start).
    let mut starts = Vec::new();
    for &eq in &eqs {
        let key_start = s[..eq].rfind(' ').map_or(0, |p| p + 1);
        if is_key(&s[key_start..eq]) && starts.last().is_none_or(|&(_, last_eq)| key_start > last_eq) {
            starts.push((key_start, eq));
        }
    }
    match starts.first() {
        Some((0, _)) => {}
        _ => return Err(format!("CEF: the extension does not start with key=value: {:?}", short(s))),
    }
    for (n, &(key_start, eq)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(s.len(), |&(next, _)| next);
        let raw = s[eq + 1..end].trim_end_matches(' ');
        out.push((s[key_start..eq].to_owned(), unescape_cef(raw)));
    }
    Ok(out)
}

fn unescape_cef(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(n @ ('=' | '\\' | '|')) => out.push(n),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `Version|Vendor|Product|Version|EventID|` then attributes, tab-separated
/// in LEEF 1.0; LEEF 2.0 may name its delimiter (a character, or its code as
/// `x5E` / `0x5E`) in a sixth header field.
fn leef(s: &str) -> Result<J, String> {
    let (h, mut attrs) = header(s, 5).map_err(|e| format!("LEEF: {e}"))?;
    let version = h[0].as_str();
    if !matches!(version, "1.0" | "2.0" | "1" | "2") {
        return Err(format!("LEEF: version {version:?} is not 1.0 or 2.0"));
    }
    let mut delimiter = '\t';
    if version.starts_with('2')
        && let Some(bar) = attrs.find('|')
        && let Some(d) = leef_delimiter(&attrs[..bar])
    {
        delimiter = d;
        attrs = &attrs[bar + 1..];
    }
    let mut out = Map::new();
    out.insert("version".into(), J::from(version));
    for (name, value) in ["vendor", "product", "product_version", "event_id"].iter().zip(&h[1..]) {
        out.insert((*name).into(), J::from(value.as_str()));
    }
    let mut map = Map::new();
    for pair in attrs.split(delimiter).map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("LEEF: attribute {:?} has no `=`", short(pair)))?;
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(format!("LEEF: attribute name {:?} is not valid", short(k)));
        }
        xml::insert(&mut map, k.to_owned(), J::String(v.to_owned()));
    }
    out.insert("attributes".into(), J::Object(map));
    Ok(J::Object(out))
}

fn leef_delimiter(field: &str) -> Option<char> {
    let mut chars = field.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => {
            let hex = field.strip_prefix("0x").or_else(|| field.strip_prefix('x'))?;
            (1..=4).contains(&hex.len()).then(|| u32::from_str_radix(hex, 16).ok().and_then(char::from_u32))?
        }
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-12-04T12:00:00Z".parse().unwrap()
    }

    fn ok(line: &str) -> (Format, J) {
        parse_line(line, at()).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn rfc5424_with_structured_data() {
        let (f, v) = ok(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application \"x\" \]" eventID="1011"][examplePriority@32473 class="high"] BOMAn application event log entry"#,
        );
        assert_eq!(f, Format::Syslog);
        let s = &v["syslog"];
        assert_eq!(s["facility"], "local4");
        assert_eq!(s["severity"], "notice");
        assert_eq!(s["version"], 1);
        assert_eq!(s["hostname"], "mymachine.example.com");
        assert_eq!(s["appname"], "evntslog");
        assert!(s.get("procid").is_none());
        assert_eq!(s["msgid"], "ID47");
        assert_eq!(s["structured_data"]["exampleSDID@32473"]["eventSource"], "Application \"x\" ]");
        assert_eq!(s["structured_data"]["examplePriority@32473"]["class"], "high");
        assert_eq!(v["message"], "BOMAn application event log entry");
        assert_eq!(s["timestamp"], "2003-10-11T22:14:15.003Z");
    }

    #[test]
    fn rfc3164_with_and_without_priority() {
        let (f, v) = ok("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(f, Format::Syslog);
        assert_eq!(v["syslog"]["facility"], "auth");
        assert_eq!(v["syslog"]["severity"], "critical");
        assert_eq!(v["syslog"]["hostname"], "mymachine");
        assert_eq!(v["syslog"]["appname"], "su");
        assert_eq!(v["syslog"]["procid"], "230");
        assert_eq!(v["syslog"]["timestamp"], "2026-10-11T22:14:15Z");
        assert_eq!(v["message"], "'su root' failed for lonvick on /dev/pts/8");
        let (_, v) = ok("Dec 31 23:59:59 web-1 sshd[99]: Failed password for root from 203.0.113.5 port 22 ssh2");
        assert_eq!(v["syslog"]["timestamp"], "2025-12-31T23:59:59Z", "a date ahead of the receive time is last year's");
        assert_eq!(v["syslog"]["hostname"], "web-1");
        let (_, v) = ok("2026-12-04T11:00:00.5+01:00 fw-2 kernel: DROP IN=eth0");
        assert_eq!(v["syslog"]["appname"], "kernel");
        assert_eq!(v["syslog"]["timestamp"], "2026-12-04T10:00:00.5Z");
    }

    #[test]
    fn cef_with_escapes_labels_and_a_syslog_header() {
        let (f, v) = ok(
            r"<134>Sep 19 08:26:10 fw-1 CEF:0|Security|threatmanager|1.0|100|worm successfully stopped \| really|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 msg=Detected a \= sign and a path C:\\Temp cs1Label=Rule Name cs1=Block SMB act=blocked",
        );
        assert_eq!(f, Format::Cef);
        let c = &v["cef"];
        assert_eq!(c["device_vendor"], "Security");
        assert_eq!(c["name"], "worm successfully stopped | really");
        assert_eq!(c["severity"], "10");
        assert_eq!(c["extensions"]["src"], "10.0.0.1");
        assert_eq!(c["extensions"]["msg"], r"Detected a = sign and a path C:\Temp");
        assert_eq!(c["extensions"]["cs1Label"], "Rule Name");
        assert_eq!(c["custom"]["Rule Name"], "Block SMB");
        assert_eq!(c["extensions"]["act"], "blocked");
        assert_eq!(v["syslog"]["hostname"], "fw-1");
        assert!(parse_line("CEF:0|a|b|c|d|e", at()).unwrap_err().contains("5 of its 7"));
        assert!(
            parse_line("CEF:0|a|b|c|d|e|5|no pairs here", at()).unwrap_err().contains("does not start with key=value")
        );
        assert!(parse_line("CEF:x|a|b|c|d|e|5|", at()).is_err());
    }

    #[test]
    fn leef_one_and_two() {
        let (f, v) =
            ok("LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tsev=5\tusrName=joe.black");
        assert_eq!(f, Format::Leef);
        assert_eq!(v["leef"]["event_id"], "15345");
        assert_eq!(v["leef"]["attributes"]["usrName"], "joe.black");
        let (_, v) = ok(
            "<13>Jan 18 11:07:53 qr-1 LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
        );
        assert_eq!(v["leef"]["attributes"]["dstPort"], "21");
        let (_, v) = ok("LEEF:2.0|V|P|1|E|x7C|a=1|b=2");
        assert_eq!(v["leef"]["attributes"]["b"], "2");
        assert!(parse_line("LEEF:1.0|V|P|1|E|src=1\tjunk", at()).unwrap_err().contains("has no `=`"));
        assert!(parse_line("LEEF:3.0|V|P|1|E|", at()).is_err());
    }

    #[test]
    fn what_is_none_of_them_is_rejected() {
        for bad in [
            "hello world",
            "<999>1 - - - - - -",
            "<13>1 not-a-time host app - - -",
            "<13>1 2026-01-01T00:00:00Z h a p m [x a=1]",
        ] {
            assert!(parse_line(bad, at()).is_err(), "{bad}");
        }
    }
}
