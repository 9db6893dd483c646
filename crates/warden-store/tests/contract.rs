//! The store contract: what every `Store` implementation must do. Runs on
//! SQLite always, and on PostgreSQL when `WARDEN_TEST_POSTGRES_URL` is set
//! (each check in a fresh schema, dropped afterwards).

use std::collections::BTreeMap;

use warden_core::*;
use warden_store::prelude::*;
use warden_store::{
    Batch, DeadLetter, Duplicate, IncidentLink, IncidentQuery, IncidentRow, IncidentSort, PgTls, PostgresStore,
    ProcessingRow, ReviewQuery, SessionRow, SqliteStore, Store, StoreError, Switch, Triaged, UserRecord, VaultRow,
};

fn alert(n: u32) -> Alert {
    let mut fields = FieldMap::new();
    fields.insert("n", Value::Int(n as i64));
    let fp = Fingerprint::from_hex(format!("{n:08x}{}", "0".repeat(56)));
    Alert {
        id: AlertId::from_fingerprint(&fp),
        format: Format::Json,
        received_at: jiff::Timestamp::UNIX_EPOCH,
        observed_at: None,
        fingerprint: fp,
        origin: Origin { file: "t".into(), location: Location::Line(n as u64) },
        fields,
        canon: BTreeMap::new(),
    }
}

fn triaged(n: u32) -> Triaged {
    let a = alert(n);
    let id = a.id.to_string();
    Triaged {
        alert: a,
        classes: [(DataClass::Email, 1)].into(),
        assessment: Assessment {
            verdict: Verdict::Benign,
            severity: Severity::Info,
            confidence: Confidence::new(0.9).unwrap(),
            techniques: vec![TechniqueId::parse("T1059").unwrap()],
            summary: "s".into(),
            evidence: vec![Evidence { path: "n".into(), value: Value::Int(n as i64), note: "x".into() }],
            recommended_actions: vec![],
            analyzer: AnalyzerInfo {
                name: "t".into(),
                version: "1".into(),
                model: None,
                provider: None,
                ruleset: None,
            },
        },
        validation: Validation::clean(1),
        route: Route { kind: RouteKind::AutoClosed, reasons: vec![Reason::new("benign_confident", "ok")] },
        workflow: "default".into(),
        audit: vec![AuditRecord::new(Actor::Service("t".into()), "ingest.accepted", id, serde_json::json!({}))],
        entities: vec![format!("host:h{}", n % 2), "user:ana".into()],
        if_stored_already: Some(AuditRecord::new(
            Actor::Service("t".into()),
            "ingest.deduplicated",
            alert(n).id.to_string(),
            serde_json::json!({"raced": true}),
        )),
    }
}

fn dead(n: u32) -> DeadLetter {
    DeadLetter {
        id: format!("dl-{n}"),
        received_at: jiff::Timestamp::UNIX_EPOCH,
        origin: Origin { file: "t".into(), location: Location::Line(n as u64) },
        reason: "bad".into(),
        raw: vec![0xff, 0xfe, n as u8],
    }
}

fn stores_and_reads_back_a_batch(s: &dyn Store) {
    let receipt = s
        .commit(Batch { triaged: vec![triaged(1), triaged(2)], dead_letters: vec![dead(1)], ..Batch::default() })
        .unwrap();
    assert_eq!(receipt.stored.len(), 2);
    let rec = s.alert(&alert(1).id).unwrap().expect("stored alert");
    assert_eq!(rec.alert, alert(1));
    assert_eq!(rec.route.unwrap().kind, RouteKind::AutoClosed);
    assert_eq!(rec.assessment.unwrap().techniques[0].as_str(), "T1059");
    assert!(rec.validation.unwrap().passed());
    assert_eq!(s.dead_letters(10).unwrap(), vec![dead(1)], "raw bytes kept exactly, even invalid UTF-8");
    let known = s.known(&[&alert(1).fingerprint, &alert(3).fingerprint]).unwrap();
    assert_eq!(known.len(), 1);
    assert_eq!(known[&alert(1).fingerprint], alert(1).id);
}

fn counts_duplicates_and_never_stores_twice(s: &dyn Store) {
    s.commit(Batch { triaged: vec![triaged(1)], ..Batch::default() }).unwrap();
    let receipt = s
        .commit(Batch {
            triaged: vec![triaged(1)],
            duplicates: vec![Duplicate {
                alert_id: alert(1).id,
                audit: Some(AuditRecord::new(
                    Actor::Service("t".into()),
                    "ingest.deduplicated",
                    "x",
                    serde_json::json!({}),
                )),
            }],
            ..Batch::default()
        })
        .unwrap();
    assert!(receipt.stored.is_empty());
    assert_eq!(receipt.raced_duplicates, vec![(alert(1).id, alert(1).id)]);
    let on = s.audit_for_object(alert(1).id.as_str()).unwrap();
    let actions: Vec<&str> = on.iter().map(|e| e.record.action.as_str()).collect();
    assert_eq!(
        actions,
        ["ingest.accepted", "ingest.deduplicated"],
        "what the engine said to record, nothing of the store's own"
    );
    assert_eq!(on[1].record.payload["raced"], true);
    let c = s.counts().unwrap();
    assert_eq!((c.alerts, c.duplicates), (1, 2));
    assert_eq!(s.alert(&alert(1).id).unwrap().unwrap().duplicates, 2);
}

fn audit_chain_is_ordered_and_verifiable(s: &dyn Store) {
    s.commit(Batch { triaged: vec![triaged(1), triaged(2)], ..Batch::default() }).unwrap();
    s.append_audit(
        vec![AuditRecord::new(Actor::User("u".into()), "policy.changed", "p", serde_json::json!({"v": 2}))],
        "cfg-2",
    )
    .unwrap();
    let entries = s.audit_entries(1, 100).unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(warden_audit::verify_chain(&entries), Ok(3));
    assert_eq!(s.audit_entries(3, 100).unwrap()[0].policy, "cfg-2");
    assert_eq!(s.audit_len().unwrap(), 3);
    assert_eq!(s.audit_for_object("p").unwrap().len(), 1);
}

fn purging_keeps_the_log_verifiable(s: &dyn Store) {
    s.commit(Batch { triaged: vec![triaged(1), triaged(2), triaged(3)], ..Batch::default() }).unwrap();
    let before = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(1);
    assert_eq!(s.purge_audit(2, before).unwrap(), 2);
    let items = s.audit_log(1, 100).unwrap();
    assert_eq!(items.len(), 3);
    assert!(matches!(items[0], warden_audit::LogItem::Pruned { seq: 1, .. }));
    assert!(matches!(items[2], warden_audit::LogItem::Full(_)));
    let report = warden_audit::verify_log(items, &[], &[], None).unwrap();
    assert_eq!((report.entries, report.pruned), (3, 2));
    assert_eq!(s.audit_entries(1, 100).unwrap().len(), 1);
    assert_eq!(s.audit_len().unwrap(), 3);
    // Appending after a purge continues the chain.
    s.append_audit(vec![AuditRecord::new(Actor::User("u".into()), "x", "y", serde_json::json!({}))], "p").unwrap();
    assert_eq!(warden_audit::verify_log(s.audit_log(1, 100).unwrap(), &[], &[], None).unwrap().entries, 4);
}

fn contract(make: impl Fn() -> Box<dyn Store>) {
    stores_and_reads_back_a_batch(make().as_ref());
    counts_duplicates_and_never_stores_twice(make().as_ref());
    audit_chain_is_ordered_and_verifiable(make().as_ref());
    purging_keeps_the_log_verifiable(make().as_ref());
    sessions_and_sign_in_failures_are_kept(make().as_ref());
    incidents_are_written_with_their_batch_and_listed_with_true_totals(make().as_ref());
    users_and_tokens_are_kept_with_their_audit_records(make().as_ref());
    actions_switches_and_tiers_are_kept_with_their_audit_records(make().as_ref());
    the_queue_pages_filters_and_records_decisions(make().as_ref());
    models_rules_calibrations_vault_and_register_are_kept(make().as_ref());
}

fn rec(action: &str, object: &str) -> Vec<AuditRecord> {
    vec![AuditRecord::new(Actor::User("admin".into()), action, object, serde_json::json!({"n": 0.9039999999999999}))]
}

/// Every change's audit record is in the chain, on its object, and the chain verifies.
fn audited(s: &dyn Store, object: &str, action: &str) {
    let on = s.audit_for_object(object).unwrap();
    assert!(on.iter().any(|e| e.record.action == action), "{action} on {object}: {on:?}");
    let log = s.audit_log(1, 10_000).unwrap();
    let n = log.len() as u64;
    assert_eq!(warden_audit::verify_log(log, &[], &[], None).unwrap().entries, n);
}

fn users_and_tokens_are_kept_with_their_audit_records(s: &dyn Store) {
    let user = UserRecord {
        name: "ana".into(),
        password_hash: "$argon2id$v=19$x".into(),
        roles: vec!["analyst".into()],
        created_at: jiff::Timestamp::now(),
        disabled: false,
    };
    s.add_user(&user, rec("user.created", "user:ana"), "p").unwrap();
    audited(s, "user:ana", "user.created");
    assert_eq!(s.user("ana").unwrap(), Some(user.clone()));
    assert!(s.user("bo").unwrap().is_none());
    let len = s.audit_len().unwrap();
    assert!(matches!(s.add_user(&user, rec("user.created", "user:ana"), "p"), Err(StoreError::Conflict(_))));
    assert_eq!(s.audit_len().unwrap(), len, "a refused change writes no audit record");
    let roles = vec!["analyst".to_owned(), "senior_analyst".to_owned()];
    s.set_roles("ana", &roles, rec("login.sso_succeeded", "user:ana"), "p").unwrap();
    assert_eq!(s.user("ana").unwrap().unwrap().roles, roles);
    audited(s, "user:ana", "login.sso_succeeded");
    let len = s.audit_len().unwrap();
    assert!(matches!(s.set_roles("bo", &roles, rec("x", "user:bo"), "p"), Err(StoreError::Conflict(_))));
    assert_eq!(s.audit_len().unwrap(), len);
    s.set_roles("ana", &user.roles, vec![], "p").unwrap();

    s.add_token("tk-1", "ana", "hash-1", rec("token.created", "tk-1"), "p").unwrap();
    s.add_token("tk-2", "ana", "hash-2", rec("token.created", "tk-2"), "p").unwrap();
    audited(s, "tk-1", "token.created");
    assert_eq!(s.user_by_token("hash-1").unwrap(), Some(("tk-1".into(), "ana".into())));
    assert!(s.user_by_token("hash-3").unwrap().is_none());
    assert_eq!(s.tokens().unwrap().iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["tk-1", "tk-2"]);
    assert!(s.revoke_token("tk-1", rec("token.revoked", "tk-1"), "p").unwrap());
    audited(s, "tk-1", "token.revoked");
    assert!(!s.revoke_token("tk-1", rec("token.revoked", "tk-1"), "p").unwrap(), "already revoked");
    assert_eq!(s.audit_for_object("tk-1").unwrap().len(), 2, "nothing written for a no-op");
    assert!(s.user_by_token("hash-1").unwrap().is_none(), "a revoked token signs nobody in");
    assert!(s.tokens().unwrap()[0].revoked_at.is_some());
}

fn actions_switches_and_tiers_are_kept_with_their_audit_records(s: &dyn Store) {
    let before = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    s.save_action("ar-1", "pending", &serde_json::json!({"id": "ar-1", "v": 1}), rec("action.requested", "ar-1"), "p")
        .unwrap();
    s.save_action("ar-2", "pending", &serde_json::json!({"id": "ar-2"}), rec("action.requested", "ar-2"), "p").unwrap();
    s.save_action("ar-1", "approved", &serde_json::json!({"id": "ar-1", "v": 2}), rec("action.approved", "ar-1"), "p")
        .unwrap();
    audited(s, "ar-1", "action.approved");
    assert_eq!(s.action("ar-1").unwrap(), Some(serde_json::json!({"id": "ar-1", "v": 2})), "updated in place");
    assert!(s.action("ar-9").unwrap().is_none());
    assert_eq!(s.actions(None, 10).unwrap().len(), 2);
    assert_eq!(s.actions(Some("approved"), 10).unwrap(), vec![serde_json::json!({"id": "ar-1", "v": 2})]);
    assert_eq!(s.actions(None, 1).unwrap().len(), 1);
    assert_eq!(s.count_actions_since("approved", before).unwrap(), 1);
    assert_eq!(
        s.count_actions_since("approved", jiff::Timestamp::now() + jiff::SignedDuration::from_secs(5)).unwrap(),
        0
    );

    let at = jiff::Timestamp::now();
    let sw =
        Switch { scope: "global".into(), engaged: true, changed_by: "bo".into(), changed_at: at, reason: "r".into() };
    s.set_switch(&sw, rec("stop.engaged", "global"), "p").unwrap();
    s.set_switch(&Switch { engaged: false, ..sw.clone() }, rec("stop.released", "global"), "p").unwrap();
    audited(s, "global", "stop.released");
    assert_eq!(s.switches().unwrap(), vec![Switch { engaged: false, ..sw }]);

    s.set_tier("isolate_host", "high", "bo", rec("tier.set", "isolate_host"), "p").unwrap();
    s.set_tier("isolate_host", "critical", "bo", rec("tier.set", "isolate_host"), "p").unwrap();
    s.set_tier("block_ip", "medium", "bo", rec("tier.set", "block_ip"), "p").unwrap();
    audited(s, "isolate_host", "tier.set");
    assert_eq!(
        s.tiers().unwrap(),
        vec![("block_ip".into(), "medium".into()), ("isolate_host".into(), "critical".into())]
    );
}

fn reviewed(n: u32, severity: Severity) -> Triaged {
    let mut t = triaged(n);
    t.route = Route { kind: RouteKind::Review, reasons: vec![Reason::new("burn_in", "b")] };
    t.assessment.severity = severity;
    t.workflow = if n.is_multiple_of(2) { "even".into() } else { "default".into() };
    t
}

fn the_queue_pages_filters_and_records_decisions(s: &dyn Store) {
    let start = jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_hours(1);
    assert!(s.start_workflow("default", start, rec("workflow.burn_in_started", "default"), "p").unwrap());
    assert!(!s.start_workflow("default", jiff::Timestamp::now(), rec("x", "default"), "p").unwrap(), "kept once");
    assert_eq!(s.audit_for_object("default").unwrap().len(), 1);
    assert_eq!(s.workflow_state("default").unwrap(), Some((start, None)));
    s.exit_workflow(
        "default",
        start + jiff::SignedDuration::from_hours(1),
        rec("workflow.burn_in_exited", "default"),
        "p",
    )
    .unwrap();
    audited(s, "default", "workflow.burn_in_exited");
    assert_eq!(s.workflow_state("default").unwrap().unwrap().1, Some(start + jiff::SignedDuration::from_hours(1)));
    assert!(s.workflow_state("none").unwrap().is_none());
    // A batch records the workflows it saw first with itself; a start already recorded is kept.
    let later = start + jiff::SignedDuration::from_hours(5);
    s.commit(Batch { workflows_started: vec![("even".into(), later), ("default".into(), later)], ..Batch::default() })
        .unwrap();
    assert_eq!(s.workflow_state("even").unwrap(), Some((later, None)));
    assert_eq!(s.workflow_state("default").unwrap().unwrap().0, start);

    let batch = vec![
        reviewed(1, Severity::Low),
        reviewed(2, Severity::Critical),
        reviewed(3, Severity::High),
        reviewed(4, Severity::Low),
        triaged(5),
    ];
    s.commit(Batch { triaged: batch, ..Batch::default() }).unwrap();
    let id = |n: u32| alert(n).id.to_string();
    assert_eq!(s.alert_workflow(&id(2)).unwrap().as_deref(), Some("even"));
    let page = |q: ReviewQuery, offset, limit| {
        let (total, items) = s.review_items(&q, offset, limit).unwrap();
        (total, items.into_iter().map(|i| i.alert_id).collect::<Vec<_>>())
    };
    assert_eq!(
        page(ReviewQuery::default(), 0, 10),
        (4, vec![id(2), id(3), id(1), id(4)]),
        "most severe first, auto-closed alerts are not queued"
    );
    assert_eq!(page(ReviewQuery::default(), 1, 2), (4, vec![id(3), id(1)]), "a page of the whole, with its total");
    let q = |f: fn(&mut ReviewQuery)| {
        let mut q = ReviewQuery::default();
        f(&mut q);
        q
    };
    assert_eq!(page(q(|q| q.severity = Some("low".into())), 0, 10).0, 2);
    assert_eq!(page(q(|q| q.workflow = Some("even".into())), 0, 10), (2, vec![id(2), id(4)]));
    assert_eq!(page(q(|q| q.route = Some("review".into())), 0, 10).0, 4);
    assert_eq!(page(q(|q| q.route = Some("escalated".into())), 0, 10).0, 0);

    assert!(s.set_review(&id(3), "in_review", Some("ana"), rec("review.claimed", &id(3)), "p").unwrap());
    audited(s, &id(3), "review.claimed");
    assert!(!s.set_review("al-none", "in_review", Some("ana"), rec("review.claimed", "al-none"), "p").unwrap());
    assert!(s.audit_for_object("al-none").unwrap().is_empty());
    let item = s.review_item(&id(3)).unwrap().unwrap();
    assert_eq!(
        (item.state.as_str(), item.assignee.as_deref(), item.severity.as_str()),
        ("in_review", Some("ana"), "high")
    );
    assert_eq!(page(q(|q| q.state = Some("in_review".into())), 0, 10), (1, vec![id(3)]));

    let decision = serde_json::json!({"verdict": "malicious", "analyst": "ana"});
    s.add_decision(&id(3), "ana", &decision, rec("review.decided", &id(3)), "p").unwrap();
    audited(s, &id(3), "review.decided");
    // An alert decided outside the queue (auto-closed, QA) gets its queue row then.
    s.add_decision(&id(5), "bo", &serde_json::json!({"verdict": "benign"}), rec("review.decided", &id(5)), "p")
        .unwrap();
    assert_eq!(s.review_item(&id(5)).unwrap().unwrap().state, "decided");
    assert_eq!(s.decisions(&id(3)).unwrap(), vec![decision.clone()]);
    let second = serde_json::json!({"verdict": "benign", "supersedes": 1});
    s.add_decision(&id(3), "bo", &second, rec("review.decided", &id(3)), "p").unwrap();
    assert_eq!(s.decisions(&id(3)).unwrap().len(), 2, "decisions are added, never replaced");
    let open = q(|q| q.open = true);
    assert_eq!(page(open, 0, 10), (3, vec![id(2), id(1), id(4)]), "decided items leave the open queue");

    let fb = s.feedback(None).unwrap();
    assert_eq!(fb.len(), 2, "the latest decision per alert");
    let three = fb.iter().find(|f| f.alert_id == id(3)).unwrap();
    assert_eq!((three.decision.clone(), three.route.as_str(), three.workflow.as_str()), (second, "review", "default"));
    assert_eq!(three.reasons, ["burn_in"]);
    assert_eq!(three.assessment.techniques[0].as_str(), "T1059", "with the assessment it judged");
    assert_eq!(s.feedback(Some("even")).unwrap().len(), 0);
    let c = s.counts().unwrap();
    assert_eq!((c.routes.get("review"), c.routes.get("auto_closed")), (Some(&4), Some(&1)));
}

fn models_rules_calibrations_vault_and_register_are_kept(s: &dyn Store) {
    assert!(s.active_model().unwrap().is_none());
    s.save_model("m1", &serde_json::json!({"w": [0.1]}), rec("model.activated", "m1"), "p").unwrap();
    s.save_model("m2", &serde_json::json!({"w": [0.2]}), rec("model.activated", "m2"), "p").unwrap();
    audited(s, "m2", "model.activated");
    assert_eq!(s.active_model().unwrap(), Some(serde_json::json!({"w": [0.2]})), "the newest is active");

    assert!(s.active_calibration("local").unwrap().is_none());
    s.save_calibration("c1", "local", &serde_json::json!([1]), rec("calibration.fitted", "c1"), "p").unwrap();
    s.save_calibration("c2", "local", &serde_json::json!([2]), rec("calibration.fitted", "c2"), "p").unwrap();
    s.save_calibration("c3", "other", &serde_json::json!([3]), rec("calibration.fitted", "c3"), "p").unwrap();
    audited(s, "c1", "calibration.fitted");
    assert_eq!(s.active_calibration("local").unwrap(), Some(("c2".into(), serde_json::json!([2]))));

    assert!(s.active_ruleset().unwrap().is_none());
    s.save_ruleset("r1", &serde_json::json!({"a.yml": "x"}), rec("rules.imported", "r1"), "p").unwrap();
    s.save_ruleset("r2", &serde_json::json!({"b.yml": "y"}), rec("rules.imported", "r2"), "p").unwrap();
    audited(s, "r2", "rules.imported");
    assert_eq!(s.active_ruleset().unwrap().unwrap().0, "r2");

    let row = |t: &str, b: u8| VaultRow {
        token: t.into(),
        class: "email".into(),
        nonce: vec![b; 12],
        ciphertext: vec![b, 0, 255],
    };
    s.put_vault(&[row("tok-1", 1), row("tok-2", 2)]).unwrap();
    s.put_vault(&[row("tok-1", 9)]).unwrap();
    assert_eq!(s.vault_entry("tok-1").unwrap(), Some(row("tok-1", 1)), "a token keeps its first entry");
    assert!(s.vault_entry("tok-3").unwrap().is_none());

    let p = |provider: &str, class: &str, fields| ProcessingRow {
        provider: provider.into(),
        residency: "eu".into(),
        class: class.into(),
        handling: "tokenise".into(),
        fields,
        first_seen: None,
        last_seen: None,
    };
    s.record_processing(&[p("llm", "email", 2), p("llm", "ip", 1)]).unwrap();
    s.record_processing(&[p("llm", "email", 3)]).unwrap();
    let reg = s.register().unwrap();
    assert_eq!(reg.iter().map(|r| (r.class.as_str(), r.fields)).collect::<Vec<_>>(), [("email", 5), ("ip", 1)]);
    assert!(reg[0].first_seen.is_some() && reg[0].last_seen >= reg[0].first_seen);
}

fn incident(id: &str, severity: &str, title: &str, keys: &[&str], minute: i64) -> IncidentRow {
    let at = jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_mins(minute);
    IncidentRow {
        id: id.into(),
        state: "open".into(),
        title: title.into(),
        severity: severity.into(),
        verdict: "suspicious".into(),
        alert_count: 0,
        first_seen: at,
        last_seen: at,
        created_at: at,
        updated_at: at,
        assignee: None,
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        body: serde_json::json!({"any": "engine data"}),
    }
}

fn link(alert: u32, incident: &str, minute: i64) -> IncidentLink {
    IncidentLink {
        alert_id: self::alert(alert).id.to_string(),
        incident_id: incident.into(),
        title: format!("t{alert}"),
        severity: "low".into(),
        verdict: "suspicious".into(),
        observed_at: jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_mins(minute),
        signature: "same".into(),
    }
}

fn incidents_are_written_with_their_batch_and_listed_with_true_totals(s: &dyn Store) {
    let a = incident("inc-a", "low", "Discovery on h0", &["host:h0", "user:ana"], 10);
    let b = incident("inc-b", "high", "Credential dumping on h1 100%", &["host:h1"], 20);
    s.commit(Batch {
        triaged: vec![triaged(1), triaged(2), triaged(3)],
        incidents: vec![a.clone(), b.clone()],
        links: vec![link(2, "inc-a", 10), link(1, "inc-b", 20), link(3, "inc-b", 15)],
        ..Batch::default()
    })
    .unwrap();
    let b_read = s.incident("inc-b").unwrap().unwrap();
    assert_eq!(b_read.alert_count, 2, "the count is the links'");
    assert_eq!((b_read.body, b_read.keys), (b.body.clone(), b.keys.clone()));
    assert_eq!(s.incident_of(alert(2).id.as_str()).unwrap().as_deref(), Some("inc-a"));
    let order: Vec<String> = s.incident_links("inc-b").unwrap().into_iter().map(|l| l.alert_id).collect();
    assert_eq!(order, [alert(3).id.to_string(), alert(1).id.to_string()], "event-time order");

    // Joinable: open, sharing a key, active since.
    let since = jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_mins(15);
    let open = s.open_incidents(&["user:ana".into(), "host:h1".into()], since).unwrap();
    assert_eq!(open.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["inc-b"], "inc-a was last active before");

    let q = |f: &dyn Fn(&mut IncidentQuery)| {
        let mut q = IncidentQuery { limit: 10, ..IncidentQuery::default() };
        f(&mut q);
        let p = s.incidents(&q).unwrap();
        (p.total, p.items.into_iter().map(|r| r.id).collect::<Vec<_>>())
    };
    assert_eq!(q(&|_| {}), (2, vec!["inc-b".into(), "inc-a".into()]), "most severe first");
    assert_eq!(q(&|q| q.sort = IncidentSort::EventAge), (2, vec!["inc-a".into(), "inc-b".into()]));
    assert_eq!(q(&|q| q.limit = 1), (2, vec!["inc-b".into()]), "the total counts past the page");
    assert_eq!(q(&|q| (q.limit, q.offset) = (1, 1)), (2, vec!["inc-a".into()]));
    assert_eq!(q(&|q| q.min_severity = Some("medium".into())), (1, vec!["inc-b".into()]));
    assert_eq!(q(&|q| q.text = Some("dumping H1".into())), (1, vec!["inc-b".into()]), "words, any case");
    assert_eq!(q(&|q| q.text = Some("ana".into())), (1, vec!["inc-a".into()]), "entities are searched");
    assert_eq!(q(&|q| q.text = Some("%".into())), (1, vec!["inc-b".into()]), "a wildcard is a character");
    assert_eq!(q(&|q| q.text = Some("_".into())), (0, vec![]));
    assert_eq!(q(&|q| q.entity = Some("host:h0".into())), (1, vec!["inc-a".into()]));

    // A person moves an alert (a split): both counts follow, with the audit record, in one write.
    let mut c = incident("inc-c", "low", "split", &["host:h1"], 20);
    c.state = "open".into();
    let audit = vec![AuditRecord::new(Actor::User("ana".into()), "incident.split", "inc-b", serde_json::json!({}))];
    s.save_incidents(&[c], &[link(3, "inc-c", 15)], audit, "p").unwrap();
    assert_eq!(s.incident("inc-b").unwrap().unwrap().alert_count, 1);
    assert_eq!(s.incident("inc-c").unwrap().unwrap().alert_count, 1);
    assert_eq!(s.audit_for_object("inc-b").unwrap()[0].record.action, "incident.split");
    let mut merged = s.incident("inc-c").unwrap().unwrap();
    merged.state = "merged".into();
    s.save_incidents(&[merged], &[], vec![], "p").unwrap();
    assert_eq!(q(&|_| {}).0, 2, "merged incidents are not listed by default");
    assert_eq!(q(&|q| q.state = Some("merged".into())), (1, vec!["inc-c".into()]));

    // The entity index: every stored alert names its entities, in event time.
    let (total, named) = s.naming("user:ana", None, 2).unwrap();
    assert_eq!((total, named.len()), (3, 2));
    let hour = |h| jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_hours(h);
    let (total, _) = s.naming("host:h0", Some((hour(1), hour(2))), 10).unwrap();
    assert_eq!(total, 0, "outside the range");
}

fn sessions_and_sign_in_failures_are_kept(s: &dyn Store) {
    let now = jiff::Timestamp::now();
    let old = now - jiff::SignedDuration::from_hours(2);
    for (id, user, seen) in [("h1", "ana", now), ("h2", "ana", old), ("h3", "bo", now)] {
        let row = SessionRow {
            id_hash: id.into(),
            user: user.into(),
            csrf: format!("c-{id}"),
            created_at: old,
            last_seen: seen,
        };
        s.put_session(&row).unwrap();
    }
    assert_eq!(s.session("h1").unwrap().unwrap().csrf, "c-h1");
    assert!(s.session("nope").unwrap().is_none());
    s.touch_session("h2", now).unwrap();
    assert_eq!(s.session("h2").unwrap().unwrap().last_seen, now);
    assert_eq!(s.end_sessions(None, None).unwrap(), 0, "no filter ends nothing");
    assert_eq!(s.end_sessions(None, Some("ana")).unwrap(), 2);
    assert!(s.session("h3").unwrap().is_some());
    assert_eq!(s.purge_sessions(now, old - jiff::SignedDuration::from_secs(1)).unwrap(), 0, "h3 was just seen");
    assert_eq!(s.purge_sessions(now + jiff::SignedDuration::from_secs(1), old).unwrap(), 1);
    assert!(s.login_failures("user:ana").unwrap().is_none());
    s.set_login_failures("user:ana", Some((3, now))).unwrap();
    s.set_login_failures("user:ana", Some((4, now))).unwrap();
    assert_eq!(s.login_failures("user:ana").unwrap(), Some((4, now)));
    s.set_login_failures("user:ana", None).unwrap();
    assert!(s.login_failures("user:ana").unwrap().is_none());
}

#[test]
fn sqlite_meets_the_store_contract() {
    contract(|| Box::new(SqliteStore::in_memory().unwrap()));
}

/// Fresh schemas in the test database, dropped when this goes out of scope.
struct PgSchemas {
    url: String,
    made: std::sync::Mutex<Vec<String>>,
}

impl PgSchemas {
    /// None (with the reason printed) when no test database is configured.
    fn new(test: &str) -> Option<Self> {
        match std::env::var("WARDEN_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(PgSchemas { url, made: Default::default() }),
            _ => {
                eprintln!("skipped {test}: WARDEN_TEST_POSTGRES_URL is not set");
                None
            }
        }
    }

    /// A unique schema name; the store creates it.
    fn name(&self) -> String {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("warden_test_{}_{n}_{nanos}", std::process::id());
        self.made.lock().unwrap().push(name.clone());
        name
    }

    fn store_in(&self, schema: &str) -> PostgresStore {
        PostgresStore::connect(&self.url, Some(schema), &PgTls::Off).expect("connect to WARDEN_TEST_POSTGRES_URL")
    }

    fn store(&self) -> PostgresStore {
        self.store_in(&self.name())
    }

    fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

impl Drop for PgSchemas {
    fn drop(&mut self) {
        let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) else { return };
        for s in self.made.lock().unwrap().iter() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {s} CASCADE"));
        }
    }
}

#[test]
fn postgres_meets_the_store_contract() {
    let Some(pg) = PgSchemas::new("postgres_meets_the_store_contract") else { return };
    contract(|| Box::new(pg.store()));
}

#[test]
fn postgres_audit_log_refuses_updates_deletes_and_truncation() {
    let Some(pg) = PgSchemas::new("postgres_audit_log_refuses_updates_deletes_and_truncation") else { return };
    let schema = pg.name();
    pg.store_in(&schema).commit(Batch { triaged: vec![triaged(1)], ..Batch::default() }).unwrap();
    let mut c = pg.client();
    for sql in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE seq = 1",
        "TRUNCATE audit_log",
        "TRUNCATE audit_pruned",
    ] {
        let err = c.batch_execute(&format!("SET search_path = {schema}; {sql}")).unwrap_err();
        let msg = err.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| err.to_string());
        assert!(msg.contains("append-only"), "{sql}: {msg}");
    }
}

#[test]
fn postgres_connections_are_verified_when_tls_is_on() {
    let Some(pg) = PgSchemas::new("postgres_connections_are_verified_when_tls_is_on") else { return };
    let verify = |ca_file: Option<std::path::PathBuf>, sslmode: &str| {
        let sep = if pg.url.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}sslmode={sslmode}", pg.url);
        PostgresStore::connect(&url, Some(&pg.name()), &PgTls::Verify { ca_file })
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    // The test server's certificate (if it has TLS at all) is signed by no CA we trust: refused either way,
    // never used unverified and never sent in clear when TLS is required.
    let err = verify(None, "require").unwrap_err().to_lowercase();
    assert!(err.contains("tls") || err.contains("ssl"), "{err}");
    // A CA file that holds no certificate is named in the error.
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let err = verify(Some(ca), "prefer").unwrap_err();
    assert!(err.contains("ca.pem") && err.contains("no certificate"), "{err}");
}

#[test]
fn postgres_keeps_what_was_committed_across_reconnecting() {
    let Some(pg) = PgSchemas::new("postgres_keeps_what_was_committed_across_reconnecting") else { return };
    let schema = pg.name();
    pg.store_in(&schema).commit(Batch { triaged: vec![triaged(7)], ..Batch::default() }).unwrap();
    // A second node (or a restart) opens the same schema: migrations are not re-run, nothing is lost.
    let s = pg.store_in(&schema);
    assert!(s.alert(&alert(7).id).unwrap().is_some());
    assert_eq!(s.counts().unwrap().alerts, 1);
    assert_eq!(warden_audit::verify_chain(&s.audit_entries(1, 100).unwrap()), Ok(1));
}

#[test]
fn postgres_writers_on_several_nodes_make_one_chain() {
    let Some(pg) = PgSchemas::new("postgres_writers_on_several_nodes_make_one_chain") else { return };
    let schema = pg.name();
    pg.store_in(&schema);
    // Four "nodes", each its own store (own pool), appending and committing at once.
    std::thread::scope(|scope| {
        for node in 0..4u32 {
            let s = pg.store_in(&schema);
            scope.spawn(move || {
                for i in 0..10 {
                    let n = 1000 + node * 100 + i;
                    s.commit(Batch { triaged: vec![triaged(n)], ..Batch::default() }).unwrap();
                    let rec = AuditRecord::new(Actor::User("u".into()), "x", format!("n{n}"), serde_json::json!({}));
                    s.append_audit(vec![rec], "p").unwrap();
                }
            });
        }
    });
    let s = pg.store_in(&schema);
    assert_eq!(s.counts().unwrap().alerts, 40);
    let log = s.audit_log(1, 1000).unwrap();
    assert_eq!(log.len(), 80);
    assert_eq!(warden_audit::verify_log(log, &[], &[], None).unwrap().entries, 80, "one unbroken chain");
    assert_eq!(s.audit_leaves(1, 1000).unwrap().len(), 80);
}

#[test]
fn audit_log_refuses_updates_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let s = SqliteStore::open(&path).unwrap();
    s.commit(Batch { triaged: vec![triaged(1)], ..Batch::default() }).unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log", "DELETE FROM audit_log WHERE seq = 1"] {
        let err = conn.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn committed_batches_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    SqliteStore::open(&path).unwrap().commit(Batch { triaged: vec![triaged(7)], ..Batch::default() }).unwrap();
    let s = SqliteStore::open(&path).unwrap();
    assert!(s.alert(&alert(7).id).unwrap().is_some());
    assert_eq!(s.counts().unwrap().alerts, 1);
}

#[test]
fn a_database_from_before_the_severity_rank_column_is_migrated_and_keeps_its_queue_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let s = SqliteStore::open(&path).unwrap();
    let batch = vec![reviewed(1, Severity::Low), reviewed(2, Severity::Critical), reviewed(3, Severity::High)];
    s.commit(Batch { triaged: batch, ..Batch::default() }).unwrap();
    drop(s);
    // Put the file back to the schema before the column existed.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    conn.execute_batch(
        "DROP INDEX review_items_queue; DROP INDEX review_items_order; ALTER TABLE review_items DROP COLUMN sev_rank;",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", version - 1).unwrap();
    drop(conn);
    let s = SqliteStore::open(&path).unwrap();
    let (total, items) = s.review_items(&ReviewQuery::default(), 0, 10).unwrap();
    let order: Vec<String> = items.into_iter().map(|i| i.alert_id).collect();
    assert_eq!(total, 3);
    assert_eq!(order, [alert(2).id.to_string(), alert(3).id.to_string(), alert(1).id.to_string()], "ranks backfilled");
}
