//! Workflows, burn-in, the review queue and the figures decisions produce.

use warden_core::{Actor, Role, RouteKind, Verdict};
use warden_engine::review::{DecisionInput, ReasonCode};
use warden_engine::{Config, Engine, EngineError, Event, TriageResult};

const PW: &str = "a long enough password";

fn engine(config: &str) -> Engine {
    let e = Engine::in_memory(Config::parse(config, "t", Vec::new()).unwrap()).unwrap();
    for (n, r) in [("ann", Role::Analyst), ("mia", Role::Manager)] {
        e.add_user(Actor::User("setup".into()), n, &[r], PW).unwrap();
    }
    e
}

fn who(e: &Engine, n: &str) -> warden_govern::Identity {
    e.check_password(n, PW).unwrap()
}

fn triage(e: &Engine, input: &[u8]) -> Vec<TriageResult> {
    let mut out = Vec::new();
    e.triage(input, "t", None, &mut |ev| {
        if let Event::Alert(r) = ev {
            out.push(*r)
        }
    })
    .unwrap();
    out
}

fn dns(i: usize) -> String {
    format!(r#"{{"event_type":"dns","src_ip":"10.0.0.{}","flow_id":{i},"dns":{{"rrname":"h{i}.example"}}}}"#, i % 250)
}

const SUPERVISED: &str = "[govern]\nstage = \"supervised\"\nburn_in_days = 0\n[govern.exit]\nmin_reviews = 0\n";

#[test]
fn out_of_the_box_nothing_is_auto_closed_and_everything_is_queued() {
    let e = engine("");
    let r = triage(&e, dns(1).as_bytes());
    assert_eq!(r[0].route, RouteKind::Review);
    assert!(r[0].reasons.iter().any(|x| x.starts_with("burn_in")));
    let q = e.queue(&who(&e, "ann"), Some("new")).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].ai_verdict, Some(Verdict::Benign), "assist mode shows the AI's view");
}

#[test]
fn after_burn_in_confident_benign_closes_and_the_qa_sample_still_reaches_a_human() {
    let e = engine(&SUPERVISED.replace("burn_in_days = 0\n", "burn_in_days = 0\nqa_sample_rate = 0.2\n"));
    e.exit_burn_in(&who(&e, "mia"), "default").unwrap();
    let input: String = (0..200).map(|i| dns(i) + "\n").collect();
    let r = triage(&e, input.as_bytes());
    let closed = r.iter().filter(|x| x.route == RouteKind::AutoClosed).count();
    let sampled = r.iter().filter(|x| x.reasons.iter().any(|s| s.starts_with("qa_sample"))).count();
    assert_eq!(closed + sampled, 200);
    assert!((20..60).contains(&sampled), "about 20 % sampled, got {sampled}");
    assert_eq!(e.queue(&who(&e, "ann"), Some("new")).unwrap().len(), sampled, "sampled alerts are in the queue");
}

#[test]
fn a_shadow_workflow_routes_nothing_and_hides_the_ai_view() {
    let e = engine("[[workflows]]\nname = \"network\"\nformats = [\"eve\"]\nstage = \"shadow\"\n");
    let r = triage(&e, dns(7).as_bytes());
    assert_eq!((r[0].route, r[0].workflow.as_str()), (RouteKind::Review, "network"));
    assert!(r[0].reasons.iter().any(|x| x.starts_with("shadow")));
    let q = e.queue(&who(&e, "ann"), None).unwrap();
    assert_eq!((q[0].ai_verdict, q[0].summary.clone()), (None, None));
    // A Windows event does not match the network workflow.
    let w = triage(&e, br#"{"EventID":4624,"Channel":"Security","Hostname":"dc1"}"#);
    assert_eq!(w[0].workflow, "default");
}

#[test]
fn burn_in_exit_is_refused_until_the_figures_are_met_and_the_refusal_is_audited() {
    let e = engine(
        "[govern]\nburn_in_days = 0\n[govern.exit]\nmin_reviews = 3\nmin_malicious_recall = 0.9\nmax_ece = 0.5\n",
    );
    let err = e.exit_burn_in(&who(&e, "ann"), "default").unwrap_err();
    assert!(matches!(err, EngineError::Denied(_)), "analysts may not end burn-in");
    let err = e.exit_burn_in(&who(&e, "mia"), "default").unwrap_err().to_string();
    assert!(err.contains("0 reviewed alerts, 3 needed"), "{err}");
    let refused = e.store().audit_for_object("default").unwrap();
    assert!(refused.iter().any(|a| a.record.action == "workflow.burn_in_exit_refused"));

    // Three reviewed alerts, one a malicious one the AI called benign: recall 0 on malicious.
    let r = triage(&e, format!("{}\n{}\n{}\n", dns(1), dns(2), dns(3)).as_bytes());
    let ann = who(&e, "ann");
    let ok = |v| DecisionInput { rating: Some(4), ..DecisionInput::new(v) };
    e.decide(&ann, r[0].alert_id.as_str(), ok(Verdict::Benign)).unwrap();
    e.decide(&ann, r[1].alert_id.as_str(), ok(Verdict::Benign)).unwrap();
    let missed = DecisionInput {
        verdict: Verdict::Malicious,
        techniques: Some(vec![warden_core::TechniqueId::parse("T1071.004").unwrap()]),
        reason_code: Some(ReasonCode::MissedAttack),
        comment: "DNS tunnelling".into(),
        rating: Some(1),
        supersedes: false,
    };
    let d = e.decide(&ann, r[2].alert_id.as_str(), missed).unwrap();
    assert!(!d.accepted);
    let err = e.exit_burn_in(&who(&e, "mia"), "default").unwrap_err().to_string();
    assert!(err.contains("recall on malicious 0.000 < 0.900"), "{err}");
    let q = e.quality(None).unwrap();
    assert_eq!((q.n, q.ai_benign_human_malicious), (3, 1));
    assert_eq!(q.per_tactic["Command and Control"].recall, 0.0);
    // The AI's assessment is untouched; the decision sits beside it.
    let view = e.alert_view(&ann, r[2].alert_id.as_str()).unwrap();
    assert_eq!(view.assessment.unwrap().verdict, Verdict::Benign);
    assert_eq!(view.decisions.len(), 1);
}

#[test]
fn the_stop_switch_can_stop_one_workflow() {
    let e = engine(&format!(
        "{SUPERVISED}[[workflows]]\nname = \"network\"\nformats = [\"eve\"]\nstage = \"supervised\"\nburn_in_days = 0\n[workflows.exit]\nmin_reviews = 0\n"
    ));
    let mia = who(&e, "mia");
    e.exit_burn_in(&mia, "default").unwrap();
    e.exit_burn_in(&mia, "network").unwrap();
    e.set_stop(&mia, Some("network"), true, "sensor misbehaving").unwrap();
    assert!(e.set_stop(&mia, Some("nope"), true, "x").is_err());
    let r = triage(&e, dns(5).as_bytes());
    assert!(r[0].reasons[0].starts_with("stop_switch"), "{:?}", r[0].reasons);
    let w = triage(&e, br#"{"EventID":4624,"Channel":"Security","Hostname":"dc1","LogonType":2}"#);
    assert!(!w[0].reasons.iter().any(|x| x.starts_with("stop_switch")), "other workflows run on");
}

#[test]
fn queue_items_can_be_claimed_and_are_ordered_by_severity() {
    let e = engine("");
    triage(&e, dns(1).as_bytes());
    let r = triage(&e, br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"ws","CommandLine":"m.exe sekurlsa::logonpasswords"}"#);
    let q = e.queue(&who(&e, "ann"), None).unwrap();
    assert_eq!(q[0].item.alert_id, r[0].alert_id.as_str(), "critical first");
    e.claim(&who(&e, "ann"), r[0].alert_id.as_str()).unwrap();
    let q = e.queue(&who(&e, "ann"), Some("in_review")).unwrap();
    assert_eq!(q[0].item.assignee.as_deref(), Some("ann"));
}

#[test]
fn labels_never_reach_the_analyzer() {
    let input = br#"{"event_type":"dns","src_ip":"10.0.0.1","dns":{"rrname":"a.example"},"_label":{"malicious":true,"techniques":["T1071.004"]}}
{"event_type":"dns","src_ip":"10.0.0.2","dns":{"rrname":"b.example"},"_label":{"malicious":false}}
"#;
    let p = warden_engine::eval::prepare(input);
    assert_eq!(p.labels.len(), 2);
    assert!(!p.records.windows(6).any(|w| w == b"_label"), "stripped before ingest");
    // And what the pipeline stores (what the analyzer was given) has no trace of them.
    let e = Engine::in_memory(Config::default()).unwrap();
    let r = triage(&e, &p.records);
    for x in r {
        let rec = e.store().alert(&x.alert_id).unwrap().unwrap();
        assert!(warden_core::Fields::iter(&rec.alert).all(|(path, _)| !path.starts_with("_label")));
    }
    let (report, _) = warden_engine::eval::evaluate(&Config::default(), input).unwrap();
    assert_eq!(report.n, 2);
    assert_eq!(report.ai_benign_human_malicious, 1, "the AI was not told the answer");
}

#[test]
fn a_fitted_calibration_map_changes_what_routing_sees() {
    let e = engine(SUPERVISED);
    let mia = who(&e, "mia");
    e.exit_burn_in(&mia, "default").unwrap();
    // DNS metadata: the analyzer says benign at 0.9, but analysts find 30 % of it malicious.
    let input: String = (0..60).map(|i| dns(i) + "\n").collect();
    let r = triage(&e, input.as_bytes());
    let ann = who(&e, "ann");
    for (i, x) in r.iter().enumerate() {
        let verdict = if i % 10 < 3 { Verdict::Malicious } else { Verdict::Benign };
        e.decide(&ann, x.alert_id.as_str(), DecisionInput::new(verdict)).unwrap();
    }
    assert!(matches!(e.calibrate(&ann), Err(EngineError::Denied(_))));
    let (version, map, before, after) = e.calibrate(&mia).unwrap().remove(0);
    assert!((map.apply(0.9) - 0.7).abs() < 0.05, "{}", map.apply(0.9));
    assert!(before > after);
    let fresh = triage(&e, dns(1000).as_bytes());
    assert!((fresh[0].confidence - 0.7).abs() < 0.05, "routing sees the calibrated {}", fresh[0].confidence);
    assert!(fresh[0].reasons.iter().any(|x| x.starts_with("below_threshold")));
    let rec = e.store().alert(&fresh[0].alert_id).unwrap().unwrap();
    assert_eq!(rec.validation.unwrap().calibration.as_deref(), Some(version.as_str()));
    assert_eq!(rec.assessment.unwrap().confidence.get(), 0.9, "the analyzer's own output is kept as it was");
    assert!(e.store().audit_for_object(&version).unwrap()[0].record.action == "calibration.fitted");
}

#[test]
fn a_blind_first_look_hides_the_ai_until_the_analyst_has_decided() {
    let e = engine("[govern]\nblind_first_look = true\n");
    let r = triage(&e, dns(3).as_bytes());
    let ann = who(&e, "ann");
    let id = r[0].alert_id.as_str();
    assert_eq!(e.queue(&ann, None).unwrap()[0].ai_verdict, None);
    assert!(e.alert_view(&ann, id).unwrap().assessment.is_none());
    let d = e.decide(&ann, id, DecisionInput::new(Verdict::Benign)).unwrap();
    assert!(d.blind && d.accepted, "agreement measured without deference");
    assert!(e.alert_view(&ann, id).unwrap().assessment.is_some());
}

#[test]
fn analysts_who_accept_everything_at_speed_are_surfaced() {
    let e = engine("");
    let input: String = (0..25).map(|i| dns(i) + "\n").collect();
    let r = triage(&e, input.as_bytes());
    let ann = who(&e, "ann");
    for x in &r {
        e.decide(&ann, x.alert_id.as_str(), DecisionInput::new(x.verdict)).unwrap();
    }
    let p = e.analyst_patterns().unwrap();
    assert_eq!(p[0].analyst, "ann");
    assert_eq!(p[0].flags.len(), 2, "{:?}", p[0].flags);
}

#[test]
fn impact_compares_shadow_with_ai_assistance_and_the_weekly_report_says_so() {
    let e = engine("[[workflows]]\nname = \"legacy\"\nformats = [\"evtx\"]\nstage = \"shadow\"\n");
    let ann = who(&e, "ann");
    let net = triage(&e, format!("{}\n{}\n", dns(1), dns(2)).as_bytes());
    // A detection (an account created), not background: raw telemetry
    // that nothing finds interesting is context and never reaches a person.
    let win = triage(&e, br#"{"EventID":4720,"Channel":"Security","Hostname":"dc1","TargetUserName":"svc9"}"#);
    assert_eq!(win[0].route, RouteKind::Review, "{:?}", win[0].reasons);
    let decide = |id: &str, v, rating| e.decide(&ann, id, DecisionInput { rating, ..DecisionInput::new(v) }).unwrap();
    decide(net[0].alert_id.as_str(), Verdict::Benign, Some(5));
    decide(net[1].alert_id.as_str(), Verdict::Malicious, Some(2));
    decide(win[0].alert_id.as_str(), Verdict::Benign, None);
    let i = e.impact(None).unwrap();
    assert_eq!((i.before_ai.decided, i.with_ai.decided), (1, 2));
    assert_eq!(i.with_ai.acceptance_rate, 0.5);
    assert_eq!(i.with_ai.mean_rating, Some(3.5));
    assert!(i.with_ai.time_to_triage.contains_key("info"));
    assert_eq!(i.weeks.len(), 1);
    let (md, json) = e.weekly_report().unwrap();
    assert!(md.contains("| alerts decided | 1 | 2 |"), "{md}");
    assert!(md.contains("## Blind spots"));
    assert_eq!(json["impact"]["with_ai"]["decided"], 2);
}

#[test]
fn a_retrained_model_is_activated_only_when_no_worse_and_every_refusal_is_audited() {
    let e = engine("");
    let mia = who(&e, "mia");
    let ann = who(&e, "ann");
    let line = |i: usize| {
        let q = if i.is_multiple_of(2) { format!("x{i}.evil-cdn.example") } else { format!("h{i}.corp.example") };
        format!(r#"{{"event_type":"dns","src_ip":"10.0.1.{}","flow_id":{i},"dns":{{"rrname":"{q}"}}}}"#, i % 250)
    };
    let input: String = (0..120).map(|i| line(i) + "\n").collect();
    let r = triage(&e, input.as_bytes());
    for (i, x) in r.iter().enumerate() {
        let verdict = if i.is_multiple_of(2) { Verdict::Malicious } else { Verdict::Benign };
        e.decide(&ann, x.alert_id.as_str(), DecisionInput::new(verdict)).unwrap();
    }
    assert!(matches!(e.retrain(&ann, 200), Err(EngineError::Denied(_))));
    let good = e.retrain(&mia, 200).unwrap();
    assert!(good.activated, "{good:?}");
    assert!(good.candidate_f1 > 0.9 && good.active_f1 == 0.0, "{good:?}");
    // The analyzer now uses it, citing the field that drove it.
    let fresh = triage(&e, line(1000).as_bytes());
    assert_eq!(fresh[0].verdict, Verdict::Suspicious);
    let rec = e.store().alert(&fresh[0].alert_id).unwrap().unwrap();
    let a = rec.assessment.unwrap();
    assert_eq!(a.analyzer.model.as_deref(), Some(good.version.as_str()));
    assert_eq!(a.evidence[0].path, "dns.rrname");
    // An untrained candidate is worse than the active model: refused, and the refusal is audited.
    let bad = e.retrain(&mia, 0).unwrap();
    assert!(!bad.activated, "{bad:?}");
    let audit = e.store().audit_for_object(&bad.version).unwrap();
    assert_eq!(audit[0].record.action, "model.refused");
    // The good model stays active.
    let again = triage(&e, line(1002).as_bytes());
    let rec = e.store().alert(&again[0].alert_id).unwrap().unwrap();
    assert_eq!(rec.assessment.unwrap().analyzer.model.as_deref(), Some(good.version.as_str()));
}

fn decision(verdict: Verdict, techniques: Option<&[&str]>, supersedes: bool) -> DecisionInput {
    let techniques = techniques.map(|ts| ts.iter().map(|t| warden_core::TechniqueId::parse(t).unwrap()).collect());
    DecisionInput { techniques, supersedes, ..DecisionInput::new(verdict) }
}

#[test]
fn a_technique_not_in_the_attack_catalogue_is_refused() {
    let e = engine("");
    let ann = who(&e, "ann");
    let id = triage(&e, dns(1).as_bytes())[0].alert_id.to_string();
    let err = e.decide(&ann, &id, decision(Verdict::Malicious, Some(&["T9999"]), false)).unwrap_err();
    assert!(matches!(&err, EngineError::Invalid(m) if m.contains("T9999")), "{err}");
    assert!(e.store().decisions(&id).unwrap().is_empty(), "nothing stored");
    let d = e.decide(&ann, &id, decision(Verdict::Malicious, Some(&["T1071.004"]), false)).unwrap();
    assert_eq!(d.techniques[0].as_str(), "T1071.004");
}

#[test]
fn one_analyst_cannot_record_two_contradictory_verdicts_unless_the_second_supersedes() {
    let e = engine("");
    let (ann, mia) = (who(&e, "ann"), who(&e, "mia"));
    let id = triage(&e, dns(1).as_bytes())[0].alert_id.to_string();
    e.decide(&ann, &id, decision(Verdict::Benign, None, false)).unwrap();
    // The same verdict again is fine, a different one is refused and not stored.
    e.decide(&ann, &id, decision(Verdict::Benign, None, false)).unwrap();
    let err = e.decide(&ann, &id, decision(Verdict::Malicious, None, false)).unwrap_err();
    assert!(matches!(&err, EngineError::Refused(m) if m.contains("supersedes")), "{err}");
    assert_eq!(e.store().decisions(&id).unwrap().len(), 2);
    // Another person may disagree; the first may change their mind by saying so.
    e.decide(&mia, &id, decision(Verdict::Malicious, None, false)).unwrap();
    let d = e.decide(&ann, &id, decision(Verdict::Malicious, None, true)).unwrap();
    assert!(d.supersedes);
    let audit = e.store().audit_for_object(&id).unwrap();
    assert!(
        audit.iter().any(|x| x.record.action == "review.decided" && x.record.payload["supersedes"] == true),
        "the change of mind is audited"
    );
}

#[test]
fn the_queue_pages_past_a_thousand_with_a_true_total_and_refuses_unknown_filters() {
    use warden_engine::review::QueueFilter;
    let e = engine("");
    let input: String = (0..1050).map(|i| dns(i) + "\n").collect();
    triage(&e, input.as_bytes());
    let ann = who(&e, "ann");
    let page = |offset, limit| {
        e.queue_page(&ann, &QueueFilter { limit: Some(limit), offset: Some(offset), ..QueueFilter::default() }).unwrap()
    };
    let first = page(0, 1000);
    assert_eq!((first.total, first.items.len()), (1050, 1000), "the total is true past the page");
    let last = page(1000, 1000);
    assert_eq!(last.items.len(), 50, "the end is reachable");
    assert!(!first.items.iter().any(|x| last.items.iter().any(|y| y.item.alert_id == x.item.alert_id)));
    assert!(first.items.windows(2).all(|w| w[0].priority >= w[1].priority), "highest priority first");
    let open = e
        .queue_page(
            &ann,
            &QueueFilter { state: Some("open".into()), route: Some("review".into()), ..QueueFilter::default() },
        )
        .unwrap();
    assert_eq!(open.total, 1050);
    for (f, named) in [
        (QueueFilter { state: Some("closed".into()), ..QueueFilter::default() }, "new, in_review, decided, open"),
        (QueueFilter { severity: Some("urgent".into()), ..QueueFilter::default() }, "critical"),
        (QueueFilter { workflow: Some("nope".into()), ..QueueFilter::default() }, "default"),
        (QueueFilter { route: Some("bin".into()), ..QueueFilter::default() }, "escalated"),
        (QueueFilter { limit: Some(5000), ..QueueFilter::default() }, "page with offset"),
    ] {
        match e.queue_page(&ann, &f) {
            Err(EngineError::Invalid(m)) => assert!(m.contains(named), "{m}"),
            other => panic!("{f:?} was not refused: {other:?}"),
        }
    }
}
