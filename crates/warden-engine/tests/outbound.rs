//! Verdicts back to the SIEM: OCSF Detection and Incident Findings read
//! from the audit log, and delivered to a file and an HTTP endpoint.

use std::path::Path;

use warden_core::{Actor, Role, RouteKind, Verdict};
use warden_engine::review::DecisionInput;
use warden_engine::{Config, Engine, Event};

mod common;

const PW: &str = "a long enough password";

fn engine() -> Engine {
    let e = Engine::in_memory(Config::default()).unwrap();
    e.add_user(Actor::User("setup".into()), "ann", &[Role::Analyst], PW).unwrap();
    // Names under sso. belong to single sign-on; a local account cannot take one.
    assert!(e.add_user(Actor::User("setup".into()), "sso.ann@example.com", &[Role::Admin], PW).is_err());
    e
}

#[test]
fn assessments_decisions_and_incidents_become_ocsf_findings_and_context_does_not() {
    let e = engine();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let mut results = Vec::new();
    for f in ["suricata-eve.json", "sysmon-evtx.json", "linux-syslog.log"] {
        e.triage(&std::fs::read(root.join(f)).unwrap(), f, None, &mut |ev| {
            if let Event::Alert(r) = ev {
                results.push(*r)
            }
        })
        .unwrap();
    }
    let ann = e.check_password("ann", PW).unwrap();
    let decided = results.iter().find(|r| r.route != RouteKind::Context).unwrap().alert_id.to_string();
    let input = DecisionInput {
        verdict: Verdict::Malicious,
        techniques: None,
        reason_code: None,
        comment: "confirmed".into(),
        rating: None,
        supersedes: false,
    };
    e.decide(&ann, &decided, input).unwrap();
    let incident = e.store().incident_of(&decided).unwrap().unwrap();

    let (findings, next) = e.ocsf_findings(1, 100_000).unwrap();
    assert_eq!(next, e.store().counts().unwrap().audit_entries + 1, "every entry was read");
    let of = |class: u64, activity: u64| {
        findings.iter().filter(move |f| f["class_uid"] == class && f["activity_id"] == activity).collect::<Vec<_>>()
    };
    // Every field a receiver keys on, on every finding.
    for f in &findings {
        let (class, activity) = (f["class_uid"].as_u64().unwrap(), f["activity_id"].as_u64().unwrap());
        assert_eq!(f["type_uid"].as_u64().unwrap(), class * 100 + activity);
        assert_eq!(f["category_uid"], 2);
        assert!(f["time"].is_i64() && f["metadata"]["uid"].as_str().unwrap().starts_with("warden-audit-"));
        assert_eq!(f["metadata"]["product"]["name"], "Warden");
        assert!(f["verdict_id"].is_u64() && f["status_id"].is_u64(), "{f}");
    }
    // One Detection Finding per alert shown to people as a decision; none for telemetry kept as context.
    let shown = results.iter().filter(|r| r.route != RouteKind::Context).count();
    let context = results.iter().filter(|r| r.route == RouteKind::Context).count();
    assert!(context > 0, "the syslog sample is telemetry");
    let created = of(2004, 1);
    assert_eq!(created.len(), shown);
    let one = created.iter().find(|f| f["finding_info"]["uid"] == decided.as_str()).unwrap();
    assert!(
        one["finding_info"]["title"].is_string() && one["severity_id"].is_u64() && one["confidence_score"].is_u64()
    );
    // The analyst's decision as an update, the incident as an Incident Finding.
    let update = of(2004, 2);
    assert_eq!(update.len(), 1);
    assert_eq!(
        (update[0]["finding_info"]["uid"].as_str(), update[0]["verdict_id"].as_u64()),
        (Some(decided.as_str()), Some(2))
    );
    assert!(of(2005, 1).iter().any(|f| f["finding_info_list"][0]["uid"] == incident.as_str()));

    // Reading on from `next` finds nothing new; reading in small batches finds the same.
    assert_eq!(e.ocsf_findings(next, 100).unwrap(), (vec![], next));
    let mut again = Vec::new();
    let mut at = 1;
    loop {
        let (f, n) = e.ocsf_findings(at, 7).unwrap();
        if n == at {
            break;
        }
        again.extend(f);
        at = n;
    }
    assert_eq!(again, findings);
}

#[test]
fn findings_reach_a_file_and_an_http_endpoint_with_its_token_and_a_refusal_is_an_error() {
    let e = engine();
    e.triage(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/suricata-eve.json")).unwrap(),
        "s",
        None,
        &mut |_| {},
    )
    .unwrap();
    let (findings, _) = e.ocsf_findings(1, 10_000).unwrap();
    assert!(!findings.is_empty());

    // The SIEM's collector: it takes NDJSON with its token, and refuses anything else.
    let siem = common::stand(Box::new(|r, _| {
        if r.auth == "Bearer siem-token" { (202, serde_json::Value::Null) } else { (401, serde_json::Value::Null) }
    }));
    let url = format!("{}/ocsf", siem.url);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("findings.ndjson");
    unsafe { std::env::set_var("WARDEN_TEST_SIEM_TOKEN", "siem-token") };
    let mut cfg = warden_engine::config::OutboundConfig {
        file: Some(file.display().to_string()),
        url: Some(url),
        token_env: Some("WARDEN_TEST_SIEM_TOKEN".into()),
        retries: 0,
        ..Default::default()
    };
    warden_engine::outbound::deliver(&cfg, &findings).unwrap();
    let written: Vec<serde_json::Value> =
        std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(written, findings);
    let got = siem.seen.lock().unwrap().clone();
    assert_eq!((got.len(), got[0].path.as_str(), got[0].method.as_str()), (1, "/ocsf", "POST"));
    assert_eq!(got[0].body_lines, findings.len());

    cfg.token_env = Some("WARDEN_TEST_SIEM_WRONG".into());
    unsafe { std::env::set_var("WARDEN_TEST_SIEM_WRONG", "nope") };
    let err = warden_engine::outbound::deliver(&cfg, &findings).unwrap_err();
    assert!(err.contains("401"), "{err}");
}
