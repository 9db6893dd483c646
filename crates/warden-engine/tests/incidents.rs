//! Raw telemetry is context, queued alerts become incidents, and the
//! incident view folds, orders, cites and refuses bad filters.

mod common;

use common::{person, triage};
use warden_core::{Role, RouteKind};
use warden_engine::incidents::IncidentFilter;
use warden_engine::review::DecisionInput;
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

fn decision(verdict: warden_core::Verdict, supersedes: bool) -> DecisionInput {
    DecisionInput { comment: "worked as one story".into(), supersedes, ..DecisionInput::new(verdict) }
}

#[test]
fn people_merge_split_assign_and_decide_incidents_and_each_change_is_audited() {
    use warden_core::Verdict;
    let e = engine();
    let lines = [
        event(1, "ws01", "CORP\\ana", 2, "whoami /all"),
        event(3, "ws01", "CORP\\ana", 5, "mimikatz.exe \"sekurlsa::logonpasswords\" exit"),
        event(4, "ws01", "CORP\\ana", 9, "PsExec.exe \\\\srv02 -s cmd.exe"),
        event(5, "ws09", "CORP\\bob", 30, "whoami /all"),
    ];
    triage(&e, &(lines.join("\n") + "\n"));
    let ann = person(&e, "ann", Role::Analyst);
    let aud = person(&e, "aud", Role::Auditor);
    let all = e.incidents(&ann, &IncidentFilter::default()).unwrap();
    assert_eq!(all.total, 2);
    let host = |i: &warden_engine::incidents::IncidentSummary| i.entities["host"][0].clone();
    let story = all.items.iter().find(|i| host(i) == "ws01").unwrap().incident_id.clone();
    let other = all.items.iter().find(|i| host(i) == "ws09").unwrap().clone();

    // Merge: a reason is needed, the alerts move, the other is left pointing at it.
    assert!(matches!(
        e.merge_incidents(&ann, &story, std::slice::from_ref(&other.incident_id), " "),
        Err(EngineError::Invalid(_))
    ));
    let merged = e.merge_incidents(&ann, &story, std::slice::from_ref(&other.incident_id), "same intruder").unwrap();
    assert_eq!(merged.alert_count, 4);
    assert_eq!(merged.entities["host"].len(), 2, "{:?}", merged.entities);
    assert_eq!(e.incidents(&ann, &IncidentFilter::default()).unwrap().total, 1, "merged incidents leave the list");
    let gone = e.incident(&ann, &other.incident_id).unwrap();
    assert_eq!((gone.summary.state.as_str(), gone.merged_into.as_deref()), ("merged", Some(story.as_str())));
    assert_eq!(gone.summary.alert_count, 0);
    assert!(matches!(
        e.merge_incidents(&ann, &other.incident_id, std::slice::from_ref(&story), "back"),
        Err(EngineError::Refused(_))
    ));

    // Split: only its own alerts, never all of them.
    let wrong = vec!["a-not-here".to_owned()];
    assert!(matches!(e.split_incident(&ann, &story, &wrong, "no"), Err(EngineError::Invalid(_))));
    assert!(matches!(e.split_incident(&ann, &story, &merged.alert_ids, "all"), Err(EngineError::Invalid(_))));
    let (left, new) = e.split_incident(&ann, &story, &other.alert_ids, "bob's is unrelated after all").unwrap();
    assert_eq!((left.alert_count, new.alert_count), (3, 1));
    assert_eq!(new.entities["host"], vec!["ws09".to_owned()]);
    assert_eq!(left.entities["host"], vec!["ws01".to_owned()]);
    assert_eq!(e.incidents(&ann, &IncidentFilter::default()).unwrap().total, 2);

    // Assignment: to a person who works the queue.
    assert_eq!(e.assign_incident(&ann, &story, Some("ann")).unwrap().assignee.as_deref(), Some("ann"));
    assert!(matches!(e.assign_incident(&ann, &story, Some("nobody")), Err(EngineError::Invalid(_))));
    assert!(matches!(e.assign_incident(&ann, &story, Some("aud")), Err(EngineError::Invalid(_))));
    assert!(matches!(e.assign_incident(&aud, &story, None), Err(EngineError::Denied(_))));

    // A decision lands on every alert; a contradiction needs `supersedes`.
    let d = e.decide_incident(&ann, &story, decision(Verdict::Malicious, false)).unwrap();
    assert_eq!(d.decided.len(), 3);
    for id in &left.alert_ids {
        let ds = e.store().decisions(id).unwrap();
        assert_eq!(ds.len(), 1, "{id}");
        assert_eq!(ds[0]["verdict"], "malicious");
    }
    let view = e.incident(&ann, &story).unwrap();
    assert_eq!((view.summary.state.as_str(), view.summary.verdict.as_str()), ("decided", "malicious"));
    assert!(matches!(e.decide_incident(&ann, &story, decision(Verdict::Benign, false)), Err(EngineError::Refused(_))));
    assert_eq!(e.store().decisions(&left.alert_ids[0]).unwrap().len(), 1, "a refusal writes nothing");
    let again = e.decide_incident(&ann, &story, decision(Verdict::Benign, true)).unwrap();
    assert_eq!(again.decided.len(), 3);

    let actions = |id: &str| -> Vec<String> {
        e.store().audit_for_object(id).unwrap().into_iter().map(|a| a.record.action).collect()
    };
    let story_trail = actions(&story);
    for a in ["incident.created", "incident.merged", "incident.split", "incident.assigned", "incident.decided"] {
        assert!(story_trail.iter().any(|x| x == a), "{a} missing from {story_trail:?}");
    }
    assert!(actions(&other.incident_id).iter().any(|x| x == "incident.merged_into"));
    assert!(actions(&new.incident_id).iter().any(|x| x == "incident.created"));
    e.verify_audit_log(None).unwrap().unwrap();
}

#[test]
fn people_see_incidents_through_their_view_and_a_token_they_were_shown_finds_its_entity() {
    let config = "[privacy.view.analyst]\nhostname = \"tokenised\"\nusername = \"tokenised\"\n";
    let e = Engine::in_memory(Config::parse(config, "t", Vec::new()).unwrap()).unwrap();
    triage(&e, &(event(1, "ws-secret-01", "CORP\\ana", 2, "whoami /all") + "\n"));
    let ann = person(&e, "ann", Role::Analyst);
    let list = e.incidents(&ann, &IncidentFilter::default()).unwrap();
    let shown = &list.items[0];
    let text = serde_json::to_string(shown).unwrap();
    assert!(!text.contains("ws-secret-01"), "the host reached a person who may not see it: {text}");
    let token = shown.entities["host"][0].clone();
    assert!(token.starts_with("<HOST"), "{token}");
    // The token is what the person clicks or types: it finds the incident and what names the host.
    let found = e
        .incidents(&ann, &IncidentFilter { entity: Some(format!("host:{token}")), ..IncidentFilter::default() })
        .unwrap();
    assert_eq!(found.total, 1, "{token}");
    let (total, naming) = e.naming(&ann, &format!("host:{token}"), 10).unwrap();
    assert_eq!((total, naming.len()), (1, 1));
    assert!(matches!(e.naming(&ann, "ws-secret-01", 10), Err(EngineError::Invalid(_))), "a key needs its kind");
    let auditor = person(&e, "aud", Role::Auditor);
    assert!(matches!(e.naming(&auditor, "host:ws-secret-01", 10), Err(EngineError::Denied(_))));
}
