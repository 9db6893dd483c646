//! Which format a record is in, and where its canonical fields live.

use std::collections::BTreeMap;

use jiff::Timestamp;
use warden_core::{Canon, FieldMap, Fields, Format, Value};

/// Detects a record's format from its flattened fields. Works for nested and
/// dotted keys alike because it looks at paths, not at the JSON shape.
pub fn detect_format(f: &FieldMap) -> Format {
    let has = |p: &str| f.get(p).is_some();
    let any_prefix = |prefix: &str| f.iter().any(|(p, _)| p.starts_with(prefix));
    if has("class_uid") && (has("category_uid") || any_prefix("metadata.")) {
        Format::Ocsf
    } else if any_prefix("Event.System.")
        || (has("EventID") && ["Channel", "Hostname", "Computer", "SourceName", "ProviderName"].iter().any(|p| has(p)))
    {
        Format::Evtx
    } else if has("event_type") && (has("src_ip") || has("flow_id") || has("in_iface") || has("dest_ip")) {
        Format::Eve
    } else if has("@timestamp")
        && ["event.", "ecs.", "host.", "kibana.", "winlog.", "agent.", "source.", "process."]
            .iter()
            .any(|p| any_prefix(p))
        || any_prefix("ecs.version")
        || any_prefix("kibana.alert.")
    {
        Format::Ecs
    } else {
        Format::Json
    }
}

/// Whether a record is raw telemetry (what a sensor recorded) rather than
/// another product's alert (what a detection concluded). Today: Windows
/// event records (EVTX, their JSON renderings, and Winlogbeat documents whose
/// `event.kind` is not `alert`/`signal` and that carry no rule). Every other
/// record is treated as an alert, so nothing that could be a finding is
/// filed away unseen; EVE flows and OCSF activity records are the next to
/// classify.
pub fn is_telemetry(format: Format, f: &FieldMap) -> bool {
    let any_prefix = |prefix: &str| f.iter().any(|(p, _)| p.starts_with(prefix));
    match format {
        Format::Evtx => true,
        Format::Ecs => {
            any_prefix("winlog.")
                && !any_prefix("kibana.alert.")
                && !any_prefix("signal.")
                && !any_prefix("rule.")
                && !f.get("event.kind").is_some_and(|v| matches!(v.to_string().as_str(), "alert" | "signal"))
        }
        Format::Ocsf | Format::Eve | Format::Json => false,
    }
}

type Table = &'static [(Canon, &'static [&'static str])];

const OCSF: Table = &[
    (Canon::Timestamp, &["time", "finding_info.created_time", "metadata.logged_time"]),
    (Canon::Host, &["device.hostname", "device.name", "evidences[0].device.hostname", "src_endpoint.hostname"]),
    (Canon::User, &["actor.user.name", "user.name", "evidences[0].actor.user.name", "evidences[0].process.user.name"]),
    (Canon::SourceIp, &["src_endpoint.ip", "evidences[0].src_endpoint.ip", "device.ip"]),
    (Canon::DestinationIp, &["dst_endpoint.ip", "evidences[0].dst_endpoint.ip"]),
    (Canon::DestinationPort, &["dst_endpoint.port", "evidences[0].dst_endpoint.port"]),
    (Canon::CommandLine, &["process.cmd_line", "evidences[0].process.cmd_line", "actor.process.cmd_line"]),
    (
        Canon::Image,
        &["process.file.path", "evidences[0].process.file.path", "process.name", "evidences[0].process.name"],
    ),
    (
        Canon::ParentImage,
        &[
            "process.parent_process.file.path",
            "evidences[0].process.parent_process.file.path",
            "actor.process.file.path",
        ],
    ),
    (Canon::ParentCommandLine, &["process.parent_process.cmd_line", "evidences[0].process.parent_process.cmd_line"]),
    (Canon::RuleName, &["finding_info.title", "finding.title", "rule.name", "finding_info.analytic.name", "message"]),
    (Canon::VendorSeverity, &["severity", "severity_id"]),
    (Canon::EventCode, &["class_name", "class_uid"]),
    (Canon::Channel, &["metadata.product.name"]),
    (Canon::Message, &["message", "finding_info.desc"]),
    (Canon::DnsQuery, &["query.hostname", "evidences[0].query.hostname"]),
    (Canon::Url, &["http_request.url.url_string", "evidences[0].url.url_string"]),
];

const ECS: Table = &[
    (Canon::Timestamp, &["@timestamp", "event.created"]),
    (Canon::Host, &["host.name", "host.hostname", "winlog.computer_name", "observer.hostname"]),
    (Canon::User, &["user.name", "winlog.event_data.SubjectUserName", "winlog.user.name"]),
    (Canon::SourceIp, &["source.ip", "client.ip", "winlog.event_data.IpAddress"]),
    (Canon::DestinationIp, &["destination.ip", "server.ip"]),
    (Canon::DestinationPort, &["destination.port", "server.port"]),
    (Canon::CommandLine, &["process.command_line", "winlog.event_data.CommandLine"]),
    (Canon::Image, &["process.executable", "winlog.event_data.Image", "process.name"]),
    (Canon::ParentImage, &["process.parent.executable", "winlog.event_data.ParentImage", "process.parent.name"]),
    (Canon::ParentCommandLine, &["process.parent.command_line", "winlog.event_data.ParentCommandLine"]),
    (
        Canon::RuleName,
        &["kibana.alert.rule.name", "signal.rule.name", "rule.name", "threat.technique.name[0]", "event.action"],
    ),
    (Canon::VendorSeverity, &["kibana.alert.severity", "signal.rule.severity", "event.severity", "log.level"]),
    (Canon::EventCode, &["event.code", "winlog.event_id"]),
    (Canon::Channel, &["winlog.channel", "event.dataset", "event.module"]),
    (Canon::Message, &["message", "kibana.alert.reason"]),
    (Canon::ScriptBlock, &["powershell.file.script_block_text", "winlog.event_data.ScriptBlockText"]),
    (Canon::DnsQuery, &["dns.question.name"]),
    (Canon::Url, &["url.full", "url.original"]),
    (Canon::ServiceName, &["service.name", "winlog.event_data.ServiceName"]),
    (Canon::TaskName, &["winlog.event_data.TaskName"]),
    (Canon::TargetUser, &["user.target.name", "winlog.event_data.TargetUserName"]),
    (Canon::GroupName, &["group.name", "winlog.event_data.TargetUserName"]),
    (Canon::GrantedAccess, &["winlog.event_data.GrantedAccess"]),
    (Canon::TargetImage, &["winlog.event_data.TargetImage"]),
    (Canon::LogonType, &["winlog.logon.type", "winlog.event_data.LogonType"]),
];

const EVE: Table = &[
    (Canon::Timestamp, &["timestamp"]),
    // The sensor or the monitored host; `http.hostname` and `tls.sni` name the remote server.
    (Canon::Host, &["host"]),
    (Canon::SourceIp, &["src_ip"]),
    (Canon::DestinationIp, &["dest_ip"]),
    (Canon::DestinationPort, &["dest_port"]),
    (Canon::RuleName, &["alert.signature"]),
    (Canon::VendorSeverity, &["alert.severity"]),
    (Canon::EventCode, &["alert.signature_id"]),
    (Canon::Channel, &["event_type"]),
    (Canon::DnsQuery, &["dns.rrname", "dns.queries[0].rrname", "dns.query[0].rrname"]),
    (Canon::Url, &["http.url"]),
];

const EVTX: Table = &[
    (
        Canon::Timestamp,
        &["Event.System.TimeCreated.#attributes.SystemTime", "TimeCreated", "EventTime", "UtcTime", "@timestamp"],
    ),
    (Canon::Host, &["Event.System.Computer", "Hostname", "Computer"]),
    (
        Canon::User,
        &[
            "Event.EventData.User",
            "Event.EventData.SubjectUserName",
            "Event.System.Security.#attributes.UserID",
            "User",
            "SubjectUserName",
            "AccountName",
        ],
    ),
    (Canon::SourceIp, &["Event.EventData.IpAddress", "Event.EventData.SourceIp", "IpAddress", "SourceIp"]),
    (Canon::DestinationIp, &["Event.EventData.DestinationIp", "DestinationIp"]),
    (Canon::DestinationPort, &["Event.EventData.DestinationPort", "DestinationPort"]),
    (Canon::CommandLine, &["Event.EventData.CommandLine", "Event.EventData.ProcessCommandLine", "CommandLine"]),
    (Canon::Image, &["Event.EventData.Image", "Event.EventData.NewProcessName", "Image", "NewProcessName"]),
    (
        Canon::ParentImage,
        &["Event.EventData.ParentImage", "Event.EventData.ParentProcessName", "ParentImage", "ParentProcessName"],
    ),
    (Canon::ParentCommandLine, &["Event.EventData.ParentCommandLine", "ParentCommandLine"]),
    (Canon::RuleName, &["Event.EventData.RuleName", "RuleName"]),
    (Canon::VendorSeverity, &["Event.System.Level", "Level", "Severity"]),
    (Canon::EventCode, &["Event.System.EventID", "Event.System.EventID.#text", "EventID"]),
    (Canon::Channel, &["Event.System.Channel", "Channel", "Event.System.Provider.#attributes.Name", "SourceName"]),
    (Canon::Message, &["Message"]),
    (Canon::ScriptBlock, &["Event.EventData.ScriptBlockText", "ScriptBlockText"]),
    (Canon::DnsQuery, &["Event.EventData.QueryName", "QueryName"]),
    (Canon::ServiceName, &["Event.EventData.ServiceName", "ServiceName"]),
    (Canon::TaskName, &["Event.EventData.TaskName", "TaskName"]),
    (Canon::TargetUser, &["Event.EventData.TargetUserName", "TargetUserName", "Event.EventData.SamAccountName"]),
    (Canon::GroupName, &["Event.EventData.TargetUserName", "TargetUserName"]),
    (Canon::GrantedAccess, &["Event.EventData.GrantedAccess", "GrantedAccess"]),
    (Canon::TargetImage, &["Event.EventData.TargetImage", "TargetImage"]),
    (Canon::LogonType, &["Event.EventData.LogonType", "LogonType"]),
];

const JSON: Table = &[
    (Canon::Timestamp, &["@timestamp", "timestamp", "time", "ts", "date", "created_at"]),
    (Canon::Host, &["host", "hostname", "host.name", "device", "computer"]),
    (Canon::User, &["user", "username", "user.name", "account"]),
    (Canon::SourceIp, &["src_ip", "source_ip", "srcip", "src", "source.ip"]),
    (Canon::DestinationIp, &["dst_ip", "dest_ip", "destination_ip", "dstip", "dst", "destination.ip"]),
    (Canon::DestinationPort, &["dst_port", "dest_port", "destination_port"]),
    (Canon::CommandLine, &["command_line", "cmdline", "commandline", "process.command_line"]),
    (Canon::Image, &["process", "image", "process_path", "process.executable"]),
    (Canon::ParentImage, &["parent_process", "parent_image"]),
    (Canon::RuleName, &["rule", "rule_name", "alert", "title", "name", "signature"]),
    (Canon::VendorSeverity, &["severity", "priority", "level"]),
    (Canon::EventCode, &["event_id", "event_code", "code"]),
    (Canon::Channel, &["source", "product", "channel"]),
    (Canon::Message, &["message", "msg", "description"]),
    (Canon::Url, &["url"]),
];

/// Canonical field → the first candidate path the record has.
pub(crate) fn canonical_paths(
    format: Format,
    fields: &FieldMap,
    json_map: &BTreeMap<Canon, Vec<String>>,
) -> BTreeMap<Canon, String> {
    let table = match format {
        Format::Ocsf => OCSF,
        Format::Ecs => ECS,
        Format::Eve => EVE,
        Format::Evtx => EVTX,
        Format::Json => JSON,
    };
    let mut out = BTreeMap::new();
    if format == Format::Json {
        for (canon, paths) in json_map {
            if let Some(p) = paths.iter().find(|p| fields.get(p).is_some()) {
                out.insert(*canon, p.clone());
            }
        }
    }
    for (canon, paths) in table {
        if out.contains_key(canon) {
            continue;
        }
        if let Some(p) = paths.iter().find(|p| fields.get(p).is_some_and(|v| *v != Value::Null)) {
            out.insert(*canon, (*p).to_owned());
        }
    }
    out
}

/// A timestamp in RFC 3339 (with or without a colon in the offset, or a space
/// for the `T`), or epoch seconds / milliseconds.
pub(crate) fn parse_time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Int(n) => epoch(*n),
        Value::Float(f) => epoch(*f as i64),
        Value::Str(s) => {
            let s = s.trim();
            if let Ok(t) = s.parse::<Timestamp>() {
                return Some(t);
            }
            // Suricata writes `+0000`; Windows renders `2019-03-19 23:34:52.123Z`.
            let mut fixed = s.replacen(' ', "T", 1);
            let b = fixed.as_bytes();
            if b.len() > 5
                && (b[b.len() - 5] == b'+' || b[b.len() - 5] == b'-')
                && b[b.len() - 4..].iter().all(u8::is_ascii_digit)
            {
                fixed.insert(fixed.len() - 2, ':');
            }
            if let Ok(t) = fixed.parse::<Timestamp>() {
                return Some(t);
            }
            // No offset at all (Sysmon's UtcTime, NXLog's EventTime): taken as UTC.
            if let Ok(dt) = fixed.parse::<jiff::civil::DateTime>() {
                return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
            }
            s.parse::<i64>().ok().and_then(epoch)
        }
        _ => None,
    }
}

fn epoch(n: i64) -> Option<Timestamp> {
    if n > 100_000_000_000 { Timestamp::from_millisecond(n).ok() } else { Timestamp::from_second(n).ok() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_the_shapes_sources_write() {
        for s in ["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456+0000", "2024-05-01 10:00:00.123Z"] {
            assert!(parse_time(&Value::from(s)).is_some(), "{s}");
        }
        assert_eq!(parse_time(&Value::Int(1714557600000)), parse_time(&Value::Int(1714557600)));
        assert!(parse_time(&Value::from("yesterday")).is_none());
    }

    #[test]
    fn telemetry_is_what_a_sensor_recorded_and_an_alert_is_what_a_detection_concluded() {
        let map = |pairs: &[(&str, Value)]| -> FieldMap {
            let mut m = FieldMap::default();
            for (k, v) in pairs {
                m.insert(*k, v.clone());
            }
            m
        };
        let t = |f: Format, pairs: &[(&str, Value)]| is_telemetry(f, &map(pairs));
        assert!(t(Format::Evtx, &[("Event.System.EventID", Value::Int(4688))]));
        assert!(t(Format::Ecs, &[("winlog.event_id", Value::Int(1)), ("event.kind", "event".into())]));
        assert!(!t(Format::Ecs, &[("winlog.event_id", Value::Int(1)), ("event.kind", "alert".into())]));
        assert!(!t(Format::Ecs, &[("winlog.event_id", Value::Int(1)), ("kibana.alert.rule.name", "x".into())]));
        assert!(!t(Format::Ecs, &[("host.name", "a".into())]), "an ECS document that cannot say is an alert");
        assert!(!t(Format::Eve, &[("event_type", "alert".into())]));
        assert!(!t(Format::Json, &[("event_type", "dns".into())]));
    }
}
