//! Every built-in detection has true-positive and true-negative example
//! events (`crates/warden-analyze/data/builtin-examples.ndjson`); each goes
//! through the real ingest path and must match, or not match, as stated.

use std::collections::BTreeMap;

use warden_analyze::LocalAnalyzer;

#[test]
fn every_builtin_detection_fires_on_its_examples_and_only_there() {
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for (n, line) in LocalAnalyzer::EXAMPLES.lines().enumerate() {
        let ex: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("example {}: {e}", n + 1));
        let id = ex["detection"].as_str().unwrap();
        let expect = match ex["expect"].as_str().unwrap() {
            "match" => true,
            "no_match" => false,
            other => panic!("example {}: expect is {other:?}", n + 1),
        };
        let bytes = serde_json::to_vec(&ex["event"]).unwrap();
        let opts = warden_ingest::Options::new(jiff::Timestamp::now());
        let alerts: Vec<_> = warden_ingest::read(&bytes, "example", &opts)
            .map(|p| match p {
                warden_ingest::Parsed::Alert(a) => a,
                warden_ingest::Parsed::Rejected(d) => panic!("example {} not ingested: {}", n + 1, d.reason),
            })
            .collect();
        assert_eq!(alerts.len(), 1, "example {}", n + 1);
        let fired = LocalAnalyzer::matching_detections(&alerts[0]);
        if fired.contains(&id) != expect {
            failures.push(format!(
                "line {}: {id} {} on \"{}\" (fired: {fired:?})",
                n + 1,
                if expect { "did not fire" } else { "fired" },
                ex["why"].as_str().unwrap_or_default()
            ));
        }
        let e = seen
            .entry(
                LocalAnalyzer::detection_ids()
                    .into_iter()
                    .find(|d| *d == id)
                    .unwrap_or_else(|| panic!("line {}: no detection {id}", n + 1)),
            )
            .or_default();
        if expect { e.0 += 1 } else { e.1 += 1 }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for id in LocalAnalyzer::detection_ids() {
        let (tp, tn) = seen.get(id).copied().unwrap_or_default();
        assert!(tp >= 1 && tn >= 1, "{id} needs a true-positive and a true-negative example ({tp} / {tn})");
    }
}

#[test]
fn the_summary_says_which_detection_which_field_what_attck_says_and_what_to_do() {
    let engine = warden_engine::Engine::in_memory(warden_engine::Config::default()).unwrap();
    let mut results = Vec::new();
    let positives: Vec<String> = LocalAnalyzer::EXAMPLES
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|ex| ex["expect"] == "match" && ex["detection"] != "network_metadata")
        .map(|ex| ex["event"].to_string())
        .collect();
    engine
        .triage(positives.join("\n").as_bytes(), "examples", None, &mut |e| {
            if let warden_engine::Event::Alert(r) = e {
                results.push(r)
            }
        })
        .unwrap();
    assert_eq!(results.len(), positives.len());
    for r in &results {
        let s = &r.summary;
        assert!(s.contains("[detections: "), "{s}");
        // One line per piece of evidence: detection, field path, value, why.
        assert!(s.lines().any(|l| l.starts_with("- ") && l.contains("` = \"")), "{s}");
        if !r.techniques.is_empty() {
            let attck = s.lines().find(|l| l.starts_with("ATT&CK: ")).unwrap_or_else(|| panic!("{s}"));
            for t in &r.techniques {
                assert!(attck.contains(t.as_str()), "{t} missing from {attck}");
            }
            assert!(s.lines().any(|l| l.starts_with("Next steps (")), "{s}");
        }
    }
}

#[test]
fn several_kinds_of_discovery_from_one_user_within_minutes_are_a_burst() {
    let engine = warden_engine::Engine::in_memory(warden_engine::Config::default()).unwrap();
    let ev = |user: &str, minute: u32, cmd: &str| {
        serde_json::json!({"EventID": 4688, "Channel": "Security", "Hostname": "WS-7", "SubjectUserName": user,
            "EventTime": format!("2026-11-21 14:{minute:02}:00"), "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
            "CommandLine": cmd})
        .to_string()
    };
    let input = [
        ev("akim", 1, "whoami /all"),
        ev("akim", 2, "net group \"domain admins\" /domain"),
        ev("bo", 3, "systeminfo"),
        ev("akim", 4, "nltest /domain_trusts"),
        ev("akim", 40, "systeminfo"),
    ]
    .join("\n");
    let mut results = Vec::new();
    engine
        .triage(input.as_bytes(), "burst", None, &mut |e| {
            if let warden_engine::Event::Alert(r) = e {
                results.push(r)
            }
        })
        .unwrap();
    let burst: Vec<bool> = results.iter().map(|r| r.summary.contains("Discovery burst")).collect();
    // The third kind from akim completes a burst; bo's command and akim's much later one do not.
    assert_eq!(
        burst,
        [false, false, false, true, false],
        "{:#?}",
        results.iter().map(|r| &r.summary).collect::<Vec<_>>()
    );
    assert_eq!(results[3].severity, warden_core::Severity::High);
    assert!(results[3].summary.contains("whoami /all") && results[3].summary.contains("nltest /domain_trusts"));
}

#[test]
fn every_technique_a_builtin_detection_reports_is_in_the_catalogue() {
    for (t, id) in LocalAnalyzer::coverage() {
        assert!(warden_analyze::attack::technique(t).is_some_and(|k| !k.deprecated), "{id}: {t}");
    }
}

/// Findings from other products carry their own severity; with nothing
/// local to corroborate them they are reported as the source rated them
/// (suspicious, never benign), and a record with nothing readable is unknown.
#[test]
fn source_severities_are_reported_when_nothing_local_matches() {
    let engine = warden_engine::Engine::in_memory(warden_engine::Config::default()).unwrap();
    let cases = [
        // OCSF severity_id: 5 critical, 4 high, 2 low.
        (
            r#"{"class_uid":2004,"category_uid":2,"severity_id":5,"finding_info":{"title":"Odd thing","uid":"f1"},"device":{"hostname":"h1"}}"#,
            "suspicious",
            "critical",
        ),
        (
            r#"{"class_uid":2004,"category_uid":2,"severity_id":4,"finding_info":{"title":"Odd thing","uid":"f2"},"device":{"hostname":"h1"}}"#,
            "suspicious",
            "high",
        ),
        (
            r#"{"class_uid":2004,"category_uid":2,"severity_id":2,"finding_info":{"title":"Odd thing","uid":"f3"},"device":{"hostname":"h1"}}"#,
            "suspicious",
            "low",
        ),
        // ECS / Elastic: the alert's severity word.
        (
            r#"{"@timestamp":"2026-11-22T16:20:03Z","event.kind":"signal","kibana.alert.rule.name":"Odd","kibana.alert.severity":"medium","host.name":"h2"}"#,
            "suspicious",
            "medium",
        ),
        // Suricata: 1 is the most severe.
        (
            r#"{"timestamp":"2026-11-20T09:14:02+0000","event_type":"alert","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","alert":{"signature":"LOCAL custom rule","severity":1}}"#,
            "suspicious",
            "high",
        ),
        // Nothing the analyzer can read.
        (r#"{"foo":"bar"}"#, "unknown", "info"),
    ];
    for (event, verdict, severity) in cases {
        let mut got = None;
        engine
            .triage(event.as_bytes(), "source", None, &mut |e| {
                if let warden_engine::Event::Alert(r) = e {
                    got = Some((r.verdict.as_str().to_owned(), r.severity.as_str().to_owned(), r.summary.clone()))
                }
            })
            .unwrap();
        let (v, s, summary) = got.unwrap_or_else(|| panic!("{event} not ingested"));
        assert_eq!((v.as_str(), s.as_str()), (verdict, severity), "{event}: {summary}");
    }
}

fn triage_lines(lines: &[String]) -> Vec<warden_engine::TriageResult> {
    let engine = warden_engine::Engine::in_memory(warden_engine::Config::default()).unwrap();
    let mut results = Vec::new();
    engine
        .triage(lines.join("\n").as_bytes(), "t", None, &mut |e| {
            if let warden_engine::Event::Alert(r) = e {
                results.push(*r)
            }
        })
        .unwrap();
    results
}

#[test]
fn five_failed_sign_ins_on_one_host_within_minutes_are_password_guessing() {
    let ev = |host: &str, user: &str, minute: u32, second: u32| {
        serde_json::json!({"EventID": 4625, "Channel": "Security", "Hostname": host, "TargetUserName": user,
            "EventTime": format!("2026-11-21 14:{minute:02}:{second:02}"), "Status": "0xc000006d", "LogonType": 3})
        .to_string()
    };
    // Four typos by one person, then a run against several accounts on another host.
    let mut lines: Vec<String> = (0..4).map(|i| ev("WS-1", "ana", 1, i * 2)).collect();
    lines.extend((0..6).map(|i| ev("SRV-9", ["admin", "administrator", "backup"][i as usize % 3], 2, i)));
    let r = triage_lines(&lines);
    let flagged: Vec<bool> = r.iter().map(|r| r.verdict.as_str() == "suspicious").collect();
    assert_eq!(
        flagged,
        [false, false, false, false, false, false, false, false, true, true],
        "{:#?}",
        r.iter().map(|r| &r.summary).collect::<Vec<_>>()
    );
    assert!(r[8].techniques.iter().any(|t| t == "T1110"));
    assert_eq!(r[8].severity, warden_core::Severity::High);
    assert!(r[8].summary.contains("5 failed sign-ins") && r[8].summary.contains("administrator"), "{}", r[8].summary);
}

#[test]
fn a_weak_signal_alone_is_context_and_two_kinds_on_one_host_are_a_finding() {
    let ev = |host: &str, id: u32, minute: u32, extra: serde_json::Value| {
        let mut v = serde_json::json!({"EventID": id, "Channel": "Security", "Hostname": host, "SubjectUserName": "admmig",
            "SubjectUserSid": "S-1-5-21-1-2-3-1111", "EventTime": format!("2026-11-21 15:{minute:02}:00")});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v.to_string()
    };
    let lines = [
        // A scheduled task alone on WS-1: routine.
        ev("WS-1", 4698, 1, serde_json::json!({"TaskName": "\\Updater"})),
        // On WS-2 a new account, then a scheduled task: two kinds of step within minutes.
        ev("WS-2", 4720, 2, serde_json::json!({"TargetUserName": "svc-x"})),
        ev("WS-2", 4698, 5, serde_json::json!({"TaskName": "\\Updater"})),
        // The machine's own account creating an account (setup) weighs nothing.
        ev(
            "WS-3",
            4720,
            6,
            serde_json::json!({"TargetUserName": "gold", "SubjectUserName": "WS-3$", "SubjectUserSid": "S-1-5-18"}),
        ),
    ];
    let r = triage_lines(&lines);
    let verdicts: Vec<&str> = r.iter().map(|r| r.verdict.as_str()).collect();
    assert_eq!(
        verdicts,
        ["benign", "benign", "suspicious", "benign"],
        "{:#?}",
        r.iter().map(|r| &r.summary).collect::<Vec<_>>()
    );
    assert!(r[0].summary.starts_with("Context, not a finding on its own"), "{}", r[0].summary);
    assert!(r[2].summary.contains("Correlated: 2 different kinds of event"), "{}", r[2].summary);
    assert!(r[3].summary.contains("machine's own account"), "{}", r[3].summary);
}

#[test]
fn a_task_or_account_deleted_minutes_after_it_was_made_is_a_finding() {
    let ev = |id: u32, second: u32, name: &str| {
        serde_json::json!({"EventID": id, "Channel": "Security", "Hostname": "SRV-2", "SubjectUserName": "admmig",
            "SubjectUserSid": "S-1-5-21-1-2-3-1111", "TaskName": name, "EventTime": format!("2026-11-21 16:00:{second:02}")})
        .to_string()
    };
    let r = triage_lines(&[ev(4698, 1, "\\aBcDeF"), ev(4698, 2, "\\Keep"), ev(4699, 31, "\\aBcDeF")]);
    let verdicts: Vec<&str> = r.iter().map(|r| r.verdict.as_str()).collect();
    assert_eq!(verdicts, ["benign", "benign", "suspicious"], "{:#?}", r.iter().map(|r| &r.summary).collect::<Vec<_>>());
    assert!(r[2].summary.contains("deleted 30 s after it was created"), "{}", r[2].summary);
    assert!(r[2].techniques.iter().any(|t| t == "T1053.005"));
}
