use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Value, named_enum};

/// Lookup of an alert's fields by their original path.
///
/// Paths join object keys with `.` and array positions with `[i]`, exactly as
/// the input nested them: `Event.EventData.CommandLine`, `process.args[0]`.
/// Keys that were written dotted (`"event.kind": …`) and nested
/// (`"event": {"kind": …}`) give the same path. Everything that reads an alert
/// (analyzers, validation, rules) goes through this trait, never through a
/// log format.
pub trait Fields {
    /// The scalar at exactly this path.
    fn get(&self, path: &str) -> Option<&Value>;

    /// Every (path, value) pair, in path order.
    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &Value)> + '_>;

    /// The scalar at `path`, or each element when `path` holds an array of
    /// scalars (`path[0]`, `path[1]`, …).
    fn values<'a>(&'a self, path: &'a str) -> Vec<&'a Value> {
        match self.get(path) {
            Some(v) => vec![v],
            None => self
                .iter()
                .filter(|(p, _)| {
                    p.strip_prefix(path)
                        .and_then(|rest| rest.strip_prefix('['))
                        .is_some_and(|rest| rest.find(']').is_some_and(|end| end + 1 == rest.len()))
                })
                .map(|(_, v)| v)
                .collect(),
        }
    }
}

/// An alert's fields: path → scalar, ordered by path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldMap(BTreeMap<String, Value>);

impl FieldMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field; a later value for the same path replaces the earlier one.
    pub fn insert(&mut self, path: impl Into<String>, value: Value) {
        self.0.insert(path.into(), value);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for FieldMap {
    type Item = (String, Value);
    type IntoIter = std::collections::btree_map::IntoIter<String, Value>;

    /// The fields, by path, taken out of the map.
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Fields for FieldMap {
    fn get(&self, path: &str) -> Option<&Value> {
        self.0.get(path)
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &Value)> + '_> {
        Box::new(self.0.iter().map(|(k, v)| (k.as_str(), v)))
    }

    fn values<'a>(&'a self, path: &'a str) -> Vec<&'a Value> {
        if let Some(v) = self.0.get(path) {
            return vec![v];
        }
        // Array elements sort right after `path[`; a range scan finds them without a full walk.
        let start = format!("{path}[");
        self.0
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .filter(|(k, _)| k[start.len()..].find(']').is_some_and(|end| start.len() + end + 1 == k.len()))
            .map(|(_, v)| v)
            .collect()
    }
}

/// The input format an alert came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Open Cybersecurity Schema Framework findings and events.
    Ocsf,
    /// Elastic Common Schema documents (alerts and raw events).
    Ecs,
    /// Suricata EVE JSON.
    Eve,
    /// Windows event log records: EVTX files, their JSON rendering, or flat
    /// Winlogbeat/HELK-style JSON.
    Evtx,
    /// Zeek logs written as JSON (`conn`, `dns`, `http`, `notice`, …).
    Zeek,
    /// Syslog lines, RFC 3164 or RFC 5424 (with structured data).
    Syslog,
    /// ArcSight Common Event Format, with or without a syslog header.
    Cef,
    /// QRadar Log Event Extended Format 1.0 and 2.0.
    Leef,
    /// Any other JSON object, read through a configurable field map.
    Json,
}

named_enum!(Format, "format", {
    Ocsf => "ocsf",
    Ecs => "ecs",
    Eve => "eve",
    Evtx => "evtx",
    Zeek => "zeek",
    Syslog => "syslog",
    Cef => "cef",
    Leef => "leef",
    Json => "json",
});

/// Fields that analysts and analyzers look for in every alert, whatever its
/// format. Ingest maps each to the original path that holds it; the value is
/// always read from the original field, so evidence can cite that path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Canon {
    Timestamp,
    Host,
    User,
    SourceIp,
    DestinationIp,
    DestinationPort,
    CommandLine,
    Image,
    ParentImage,
    ParentCommandLine,
    /// The detection's own name (Suricata signature, rule name, finding title).
    RuleName,
    /// The source product's own severity, in its own scale.
    VendorSeverity,
    /// Windows event id, ECS `event.code`, OCSF `activity_id`.
    EventCode,
    /// Windows channel or provider, ECS `event.dataset`, EVE `event_type`.
    Channel,
    Message,
    ScriptBlock,
    DnsQuery,
    Url,
    ServiceName,
    TaskName,
    TargetUser,
    GroupName,
    GrantedAccess,
    TargetImage,
    LogonType,
}

named_enum!(Canon, "canonical field", {
    Timestamp => "timestamp",
    Host => "host",
    User => "user",
    SourceIp => "source_ip",
    DestinationIp => "destination_ip",
    DestinationPort => "destination_port",
    CommandLine => "command_line",
    Image => "image",
    ParentImage => "parent_image",
    ParentCommandLine => "parent_command_line",
    RuleName => "rule_name",
    VendorSeverity => "vendor_severity",
    EventCode => "event_code",
    Channel => "channel",
    Message => "message",
    ScriptBlock => "script_block",
    DnsQuery => "dns_query",
    Url => "url",
    ServiceName => "service_name",
    TaskName => "task_name",
    TargetUser => "target_user",
    GroupName => "group_name",
    GrantedAccess => "granted_access",
    TargetImage => "target_image",
    LogonType => "logon_type",
});

/// Kinds of sensitive data the privacy stage recognises in a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataClass {
    Email,
    IpPrivate,
    IpPublic,
    Hostname,
    Username,
    PersonName,
    Phone,
    PaymentCard,
    NationalId,
    Iban,
    Mac,
    Url,
    Secret,
}

named_enum!(DataClass, "data class", {
    Email => "email",
    IpPrivate => "ip_private",
    IpPublic => "ip_public",
    Hostname => "hostname",
    Username => "username",
    PersonName => "person_name",
    Phone => "phone",
    PaymentCard => "payment_card",
    NationalId => "national_id",
    Iban => "iban",
    Mac => "mac",
    Url => "url",
    Secret => "secret",
});

/// A stable identifier for an alert, derived from its fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertId(String);

impl AlertId {
    /// The id of the first alert seen with this fingerprint.
    pub fn from_fingerprint(fp: &Fingerprint) -> Self {
        AlertId(format!("al-{}", &fp.0[..fp.0.len().min(20)]))
    }

    /// An id read back from storage or a URL. Ids are short ASCII tokens.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() <= 64 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| AlertId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A content hash of an alert (lower-case hex SHA-256 of its format and
/// sorted fields); two inputs with the same fingerprint are one alert.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Wraps a hex digest. Ingest computes it; storage reads it back.
    pub fn from_hex(hex: String) -> Self {
        Fingerprint(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where in its input an alert or a rejected record was found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The file name, `-` for standard input, or `http` for the API.
    pub file: String,
    #[serde(flatten)]
    pub location: Location,
}

/// A position inside one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// 1-based line of a text input where the record starts.
    Line(u64),
    /// 1-based EVTX event record id.
    Record(u64),
    /// EVTX chunk number (0-based), for a chunk that could not be read.
    Chunk(u64),
    /// 0-based position in a request body's array or NDJSON lines.
    Index(u64),
    /// The input as a whole.
    Whole(bool),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::Line(n) => write!(f, "{}:{n}", self.file),
            Location::Record(n) => write!(f, "{} record {n}", self.file),
            Location::Chunk(n) => write!(f, "{} chunk {n}", self.file),
            Location::Index(n) => write!(f, "{} [{n}]", self.file),
            Location::Whole(_) => write!(f, "{}", self.file),
        }
    }
}

/// One alert: an input record with every original field kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    pub format: Format,
    pub received_at: Timestamp,
    /// When the source says the event happened, if it says so parseably.
    pub observed_at: Option<Timestamp>,
    pub fingerprint: Fingerprint,
    pub origin: Origin,
    pub fields: FieldMap,
    /// Canonical field → the original path that holds it.
    pub canon: BTreeMap<Canon, String>,
}

impl Alert {
    /// The original path and value of a canonical field, when the alert has it.
    pub fn canonical(&self, c: Canon) -> Option<(&str, &Value)> {
        let path = self.canon.get(&c)?;
        Some((path.as_str(), self.fields.get(path)?))
    }

    /// The canonical field as text (numbers rendered), when present.
    pub fn canonical_text(&self, c: Canon) -> Option<String> {
        self.canonical(c).map(|(_, v)| v.to_string())
    }
}

impl Fields for Alert {
    fn get(&self, path: &str) -> Option<&Value> {
        self.fields.get(path)
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &Value)> + '_> {
        self.fields.iter()
    }

    fn values<'a>(&'a self, path: &'a str) -> Vec<&'a Value> {
        self.fields.values(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_finds_array_elements_but_not_deeper_paths() {
        let mut f = FieldMap::new();
        f.insert("process.args[0]", Value::from("cmd.exe"));
        f.insert("process.args[1]", Value::from("/c"));
        f.insert("process.args[2].x", Value::from("nested"));
        f.insert("process.argsx", Value::from("other"));
        let got: Vec<String> = f.values("process.args").iter().map(|v| v.to_string()).collect();
        assert_eq!(got, ["cmd.exe", "/c"]);
        assert_eq!(f.values("process.argsx").len(), 1);
        assert!(f.values("process.arg").is_empty());
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), *f);
        }
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn alert_ids_reject_anything_but_short_tokens() {
        assert!(AlertId::parse("al-0123abc").is_some());
        assert!(AlertId::parse("../etc/passwd").is_none());
        assert!(AlertId::parse("").is_none());
    }
}
