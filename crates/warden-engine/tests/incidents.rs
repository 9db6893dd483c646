//! Raw telemetry is context, queued alerts become incidents, and the
//! incident view folds, orders, cites and refuses bad filters.

mod common;

use common::{person, triage};
use warden_core::{Role, RouteKind};
use warden_engine::incidents::IncidentFilter;
use warden_engine::{Config, Engine, EngineError};

/// A Sysmon process start on `host` by `user`, `minute` minutes in.
fn event(n: u32, host: &str, user: &str, minute: u32, cmd: &str) -> String {
    serde_json::json!({
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": host,
        "User": user,
        "UtcTime": format!("2024-05-01T10:{:02}:{:02}Z", minute, n % 60),
        "ProcessGuid": format!("{{0000-{n:04}}}"),
        "Image": "C:\\Windows\\System32\\cmd.exe",
        "CommandLine": cmd,
    })
    .to_string()
}

fn engine() -> Engine {
    // A fresh installation: burn-in, assist mode.
    Engine::in_memory(Config::parse("", "t", Vec::new()).unwrap()).unwrap()
}

#[test]
fn a_folder_of_events_becomes_a_few_incidents_and_background_stays_out_of_the_queue() {
    let e = engine();
    let mut lines = Vec::new();
    // Background on ws01: ordinary process starts nothing finds anything in.
    for i in 0..20 {
        lines.push(event(100 + i, "ws01", "CORP\\ana", 1 + i % 20, "notepad.exe report.txt"));
    }
    // The story on ws01: discovery (twice, the same detection), credential dumping, remote execution.
    lines.push(event(1, "ws01", "CORP\\ana", 2, "whoami /all"));
    lines.push(event(2, "ws01", "CORP\\ana", 3, "whoami /all"));
    lines.push(event(3, "ws01", "CORP\\ana", 5, "mimikatz.exe \"sekurlsa::logonpasswords\" exit"));
    lines.push(event(4, "ws01", "CORP\\ana", 9, "PsExec.exe \\\\srv02 -s cmd.exe"));
    // Unrelated: another host, another account.
    lines.push(event(5, "ws09", "CORP\\bob", 30, "whoami /all"));
    let results = triage(&e, &(lines.join("\n") + "\n"));
    assert_eq!(results.len(), 25);
    let context = results.iter().filter(|r| r.route == RouteKind::Context).count();
    assert_eq!(context, 20, "the background is context");

    let ana = person(&e, "ann", Role::Analyst);
    let queue = e.queue(&ana, None).unwrap();
    assert_eq!(queue.len(), 5, "only what a detection found is queued: {queue:?}");

    let all = e.incidents(&ana, &IncidentFilter::default()).unwrap();
    assert_eq!(all.total, 2, "{:?}", all.items);
    let story = all.items.iter().find(|i| i.entities.get("host").is_some_and(|h| h[0] == "ws01")).unwrap();
    assert_eq!((story.alert_count, story.alert_ids.len()), (4, 4));
    assert_eq!(story.severity, "critical", "led by the credential dumping");
    assert!(story.tactics.contains(&"Credential Access".to_owned()), "{:?}", story.tactics);
    assert!(story.tactics.contains(&"Lateral Movement".to_owned()), "{:?}", story.tactics);

    let view = e.incident(&ana, &story.incident_id).unwrap();
    assert_eq!(view.summary.alert_ids.len(), 4);
    // The two identical discovery detections fold into one row.
    assert_eq!(view.rows.len(), 3, "{:?}", view.rows);
    assert_eq!(view.rows.iter().map(|r| r.count).max(), Some(2));
    // The timeline holds the folded alerts and the background around them, in time order.
    assert_eq!(view.timeline.iter().filter(|t| t.kind == "alert").count(), 3);
    assert!(view.timeline.iter().filter(|t| t.kind == "context").count() >= 10, "{:?}", view.timeline);
    assert!(view.timeline.windows(2).all(|w| w[0].at <= w[1].at));
    // The narrative cites the incident's alerts and their evidence, and every citation holds.
    assert!(!view.citations.is_empty());
    assert!(view.grounded, "{:?}", view.citations);
    for c in &view.citations {
        assert!(view.summary.alert_ids.contains(&c.alert_id));
        assert!(view.narrative.contains(&c.alert_id), "cited in the text: {}", view.narrative);
    }
    // Grouping is audited on the incident.
    let audit = e.store().audit_for_object(&story.incident_id).unwrap();
    assert_eq!(audit[0].record.action, "incident.created");
    e.verify_audit_log(None).unwrap().unwrap();
}

#[test]
fn listing_pages_with_a_true_total_and_refuses_what_it_does_not_know() {
    let e = engine();
    let lines: Vec<String> =
        (0..5).map(|i| event(i, &format!("ws{i:02}"), &format!("user{i}"), 1, "whoami /all")).collect();
    triage(&e, &(lines.join("\n") + "\n"));
    let ana = person(&e, "ann", Role::Analyst);
    let page = |offset| {
        e.incidents(&ana, &IncidentFilter { limit: Some(2), offset: Some(offset), ..IncidentFilter::default() })
            .unwrap()
    };
    let (first, last) = (page(0), page(4));
    assert_eq!((first.total, first.items.len()), (5, 2));
    assert_eq!((last.total, last.items.len()), (5, 1), "the last page is reachable");
    assert!(!first.items.iter().any(|i| i.incident_id == last.items[0].incident_id));
    let found =
        e.incidents(&ana, &IncidentFilter { entity: Some("host:WS03".into()), ..IncidentFilter::default() }).unwrap();
    assert_eq!(found.total, 1, "entities match whatever their case");

    for (filter, named) in [
        (IncidentFilter { severity: Some("urgent".into()), ..IncidentFilter::default() }, "critical, high"),
        (IncidentFilter { state: Some("closed".into()), ..IncidentFilter::default() }, "open, decided"),
        (IncidentFilter { sort: Some("newest".into()), ..IncidentFilter::default() }, "priority"),
        (IncidentFilter { entity: Some("ws03".into()), ..IncidentFilter::default() }, "host:NAME"),
        (IncidentFilter { limit: Some(0), ..IncidentFilter::default() }, "page with offset"),
    ] {
        match e.incidents(&ana, &filter) {
            Err(EngineError::Invalid(m)) => assert!(m.contains(named), "{m}"),
            other => panic!("{filter:?} was not refused: {other:?}"),
        }
    }
    assert!(matches!(e.incident(&ana, "inc-nope"), Err(EngineError::NotFound(_))));
    // Incidents are for people who review.
    let auditor = person(&e, "aud", Role::Auditor);
    assert!(matches!(e.incidents(&auditor, &IncidentFilter::default()), Err(EngineError::Denied(_))));
}
