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
    } else if has("uid") && (has("id.orig_h") || has("id.resp_h")) || has("_path") && has("ts") {
        Format::Zeek
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
/// classify. Syslog lines and Zeek logs are what a host or a sensor recorded,
/// except Zeek's notices and intelligence hits, which are its findings; CEF
/// and LEEF come from security products and are alerts.
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
        Format::Syslog => true,
        Format::Zeek => {
            let path = f.get("_path").map(|v| v.to_string());
            !matches!(path.as_deref(), Some("notice" | "intel" | "signatures")) && f.get("note").is_none()
        }
        Format::Ocsf | Format::Eve | Format::Json | Format::Cef | Format::Leef => false,
    }
}

/// Canonical field → the first candidate path the record has.
pub(crate) fn canonical_paths(
    format: Format,
    fields: &FieldMap,
    json_map: &BTreeMap<Canon, Vec<String>>,
) -> BTreeMap<Canon, String> {
    let table = &crate::mapping::mapping(format).canonical;
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
            out.insert(*canon, p.clone());
        }
    }
    out
}

/// A timestamp in RFC 3339 (with or without a colon in the offset, or a space
/// for the `T`), or epoch seconds / milliseconds.
pub(crate) fn parse_time(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Int(n) => epoch(*n),
        // Zeek's `ts`: seconds with a fraction, to the microsecond.
        Value::Float(f) if f.abs() < 1e11 => Timestamp::from_microsecond((f * 1e6).round() as i64).ok(),
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
            // CEF's `rt` and LEEF's `devTime` as ArcSight and QRadar write them: `Sep 19 2023 08:26:10`.
            let bsd = s.strip_suffix(" UTC").or_else(|| s.strip_suffix(" GMT")).unwrap_or(s);
            for format in ["%b %d %Y %H:%M:%S%.f", "%b %d %Y %H:%M:%S"] {
                if let Ok(dt) = jiff::civil::DateTime::strptime(format, bsd) {
                    return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp());
                }
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
        let cef = parse_time(&Value::from("Sep 19 2023 08:26:10.250")).unwrap();
        assert_eq!(cef.to_string(), "2023-09-19T08:26:10.25Z");
        assert_eq!(parse_time(&Value::from("Sep 19 2023 08:26:10 UTC")).unwrap().to_string(), "2023-09-19T08:26:10Z");
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
