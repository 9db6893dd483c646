//! One event, whatever it arrived as: a Windows event given as EVTX, as its
//! JSON rendering and as its XML rendering gives the same canonical fields
//! and the same Sigma matches; and every text format names itself.

use std::collections::BTreeMap;
use std::path::Path;

use warden_analyze::sigma::{Rule, matching};
use warden_core::{Alert, Fields};
use warden_ingest::{Options, Parsed, read};

fn alerts(bytes: &[u8], name: &str) -> (Vec<Alert>, usize) {
    let opts = Options::new(jiff::Timestamp::UNIX_EPOCH);
    let mut out = Vec::new();
    let mut rejected = 0;
    for p in read(bytes, name, &opts) {
        match p {
            Parsed::Alert(a) => out.push(*a),
            Parsed::Rejected(_) => rejected += 1,
        }
    }
    (out, rejected)
}

/// What downstream stages see of an event: each canonical field's text and
/// the rules that match.
fn view(a: &Alert, rules: &[Rule]) -> (BTreeMap<String, String>, Vec<String>) {
    let canon =
        a.canon.iter().map(|(c, p)| (c.to_string(), a.get(p).map(|v| v.to_string()).unwrap_or_default())).collect();
    let mut hits: Vec<String> = matching(rules, a).iter().map(|r| r.id.clone()).collect();
    hits.sort();
    (canon, hits)
}

/// A record's channel and id (a capture may hold several channels).
fn record_id(a: &Alert) -> String {
    let text = |p: &str| a.get(p).map(|v| v.to_string()).unwrap_or_default();
    format!("{} {}", text("Event.System.Channel"), text("Event.System.EventRecordID"))
}

/// XML renderings of every record of an EVTX file, as the Windows API
/// gives them (the `evtx` crate's XML output), on one line each.
fn as_xml(evtx: &[u8]) -> String {
    let mut parser = evtx::EvtxParser::from_buffer(evtx.to_vec()).unwrap();
    let mut out = String::new();
    for r in parser.records().flatten() {
        out.push_str(&r.data);
        out.push('\n');
    }
    out
}

const CERTUTIL: &str = r"
title: Certutil download
id: 11111111-2222-3333-4444-555555555555
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\certutil.exe'
    CommandLine|contains: 'urlcache'
  condition: sel
";

#[test]
fn a_sysmon_event_as_json_and_as_xml_is_one_event() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let rules = vec![warden_analyze::sigma::parse(CERTUTIL).unwrap()];
    let (json, _) = alerts(&std::fs::read(root.join("sysmon-evtx.json")).unwrap(), "j");
    let xml_file = root.join("../crates/warden-ingest/tests/data/xml/sysmon-events.xml");
    let (xml, rejected) = alerts(&std::fs::read(xml_file).unwrap(), "x");
    assert_eq!(rejected, 0);
    assert_eq!(json.len(), xml.len());
    let mut fired = 0;
    for (j, x) in json.iter().zip(&xml) {
        assert_eq!(x.format, j.format);
        let (jv, xv) = (view(j, &rules), view(x, &rules));
        assert_eq!(xv, jv, "{} / {}", j.origin, x.origin);
        fired += jv.1.len();
    }
    assert!(fired >= 1, "the certutil sample matches in both renderings");
}

/// Every record of real EVTX captures, read from the binary file and from
/// its XML rendering: the same canonical fields and the same SigmaHQ
/// matches, record for record.
#[test]
fn real_captures_read_the_same_from_evtx_and_from_xml() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let (dev, sigma) = (shared.join("dev-evtx/attack"), shared.join("sigma/rules"));
    if !dev.is_dir() || !sigma.is_dir() {
        eprintln!("skipped: {} or {} is not present (shared reference data)", dev.display(), sigma.display());
        return;
    }
    let (_, rules) = warden_engine::rules::check(&sigma).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dev).unwrap().map(|f| f.unwrap().path()).collect();
    files.sort();
    // Every sixth capture: Sysmon, Security, PowerShell and System channels all appear.
    let (mut records, mut hits, mut differ) = (0, 0, Vec::new());
    for f in files.iter().step_by(6) {
        let bytes = std::fs::read(f).unwrap();
        let (from_evtx, _) = alerts(&bytes, "e");
        let (from_xml, rejected) = alerts(as_xml(&bytes).as_bytes(), "x");
        assert_eq!(rejected, 0, "{}", f.display());
        let by_id: BTreeMap<String, &Alert> = from_xml.iter().map(|a| (record_id(a), a)).collect();
        for e in &from_evtx {
            records += 1;
            let Some(x) = by_id.get(&record_id(e)) else {
                differ.push(format!("{}: record {} missing from the XML", f.display(), record_id(e)));
                continue;
            };
            let (ev, xv) = (view(e, &rules), view(x, &rules));
            hits += ev.1.len();
            if ev != xv {
                differ.push(format!("{} record {}:\n  evtx {ev:?}\n  xml  {xv:?}", f.display(), record_id(e)));
            }
        }
    }
    eprintln!("{records} records compared, {hits} Sigma matches, {} differ", differ.len());
    assert!(records > 1000 && hits > 20, "{records} records, {hits} matches");
    assert!(differ.is_empty(), "{}", differ[..differ.len().min(5)].join("\n"));
}
