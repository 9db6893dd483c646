//! Accounts, the risk matrix, approval gates, executors and the stop switch,
//! through the engine as the CLI and the server use it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden_core::{ActionKind, Actor, RiskTier, Role, RouteKind};
use warden_engine::actions::{ActionInput, WebhookExecutor};
use warden_engine::{Config, Engine, EngineError};
use warden_govern::{Identity, RequestStatus};

mod common;
use common::stand;

const PASSWORD: &str = "correct horse battery staple";

fn engine(config: &str) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let text = config;
    let config = Config::parse(text, "test.toml", Vec::new()).unwrap();
    let e = Engine::open(dir.path(), config).unwrap();
    for (name, roles) in [
        ("ann", vec![Role::Analyst]),
        ("bob", vec![Role::Analyst]),
        ("sam", vec![Role::SeniorAnalyst]),
        ("sue", vec![Role::SeniorAnalyst]),
        ("mia", vec![Role::Manager]),
        ("max", vec![Role::Manager]),
        ("aud", vec![Role::Auditor]),
        ("adm", vec![Role::Admin]),
    ] {
        e.add_user(Actor::User("setup".into()), name, &roles, PASSWORD).unwrap();
    }
    if text.contains("burn_in_days = 0") {
        e.exit_burn_in(&who(&e, "mia"), "default").unwrap();
    }
    // The alert the actions are about (the same content gives the same id in every engine).
    let mut id = None;
    e.triage(br#"{"message":"beaconing to a known C2","host":{"name":"ws-1"}}"#, "t", None, &mut |ev| {
        if let warden_engine::Event::Alert(r) = ev {
            id = Some(r.alert_id.to_string());
        }
    })
    .unwrap();
    let id = id.expect("the alert was stored");
    assert_eq!(ALERT.get_or_init(|| id.clone()), &id);
    (dir, e)
}

static ALERT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn who(e: &Engine, name: &str) -> Identity {
    e.check_password(name, PASSWORD).unwrap()
}

fn input(kind: ActionKind) -> ActionInput {
    ActionInput {
        alert_id: Some(ALERT.get().expect("engine() stores the alert first").clone()),
        kind,
        params: serde_json::json!({"host": "ws-1"}),
        reason: "beaconing to a known C2 from ws-1".into(),
        draft: false,
    }
}

/// Supervised, with a zero-day burn-in whose exit needs no reviews: the
/// engine helper ends burn-in at once (as a manager), so automation is live.
const SUPERVISED: &str = "[govern]\nstage = \"supervised\"\nburn_in_days = 0\n[govern.exit]\nmin_reviews = 0\n";

#[test]
fn passwords_are_argon2id_and_tokens_are_stored_only_as_hashes() {
    let (dir, e) = engine("");
    let (token_id, token) = e.create_token(Actor::User("setup".into()), "sam").unwrap();
    assert!(token.starts_with("wdn_") && token.len() > 40);
    assert_eq!(e.authenticate(&token).unwrap().user, "sam");
    assert!(matches!(e.authenticate("wdn_nope"), Err(EngineError::Unauthenticated)));
    assert!(matches!(e.check_password("sam", "wrong password!!"), Err(EngineError::Unauthenticated)));
    assert!(matches!(e.check_password("nobody", PASSWORD), Err(EngineError::Unauthenticated)));
    // The database and its write-ahead log, where recent writes live.
    let mut db = std::fs::read(dir.path().join("warden.db")).unwrap();
    db.extend(std::fs::read(dir.path().join("warden.db-wal")).unwrap_or_default());
    let has = |needle: &[u8]| db.windows(needle.len()).any(|w| w == needle);
    assert!(!has(token.as_bytes()), "the token itself is never stored");
    assert!(!has(PASSWORD.as_bytes()), "nor the password");
    assert!(has(b"$argon2id$"));
    assert!(e.add_user(Actor::User("setup".into()), "sam", &[Role::Analyst], PASSWORD).is_err(), "names are unique");
    assert!(e.add_user(Actor::User("setup".into()), "short", &[Role::Analyst], "short").is_err());
    // Revoked tokens stop working at once; the listing never shows the token.
    let listed = e.tokens().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].user.as_str(), listed[0].revoked_at.is_none()),
        (token_id.as_str(), "sam", true)
    );
    e.revoke_token(Actor::User("setup".into()), &token_id).unwrap();
    assert!(matches!(e.authenticate(&token), Err(EngineError::Unauthenticated)));
    assert!(e.tokens().unwrap()[0].revoked_at.is_some());
    assert!(matches!(e.revoke_token(Actor::User("setup".into()), &token_id), Err(EngineError::NotFound(_))), "once");
}

#[test]
fn each_tier_needs_exactly_its_approvers() {
    let (_d, e) = engine(SUPERVISED);
    // low: runs at once (supervised, out of burn-in) through the log executor.
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::OpenTicket)).unwrap();
    assert_eq!((r.status, r.automatic), (RequestStatus::Executed, true));
    // medium: one senior analyst.
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::IsolateHost)).unwrap();
    assert_eq!(r.status, RequestStatus::Pending);
    let r = e.approve_action(&who(&e, "sam"), &r.id, "confirmed", None).unwrap();
    assert_eq!(r.status, RequestStatus::Executed);
    assert_eq!(r.execution.unwrap().executor, "log");
    // high: two distinct approvers with the role.
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::ResetCredentials)).unwrap();
    assert!(matches!(e.approve_action(&who(&e, "bob"), &r.id, "", None), Err(EngineError::Denied(_))));
    assert_eq!(e.approve_action(&who(&e, "sam"), &r.id, "", None).unwrap().status, RequestStatus::Pending);
    assert_eq!(e.approve_action(&who(&e, "sue"), &r.id, "", None).unwrap().status, RequestStatus::Executed);
}

#[test]
fn self_approval_and_double_approval_are_refused_with_clear_errors() {
    let (_d, e) = engine(SUPERVISED);
    let r = e.request_action(&who(&e, "sam"), input(ActionKind::ResetCredentials)).unwrap();
    let err = e.approve_action(&who(&e, "sam"), &r.id, "", None).unwrap_err().to_string();
    assert_eq!(err, "sam requested this action and may not approve it");
    e.approve_action(&who(&e, "sue"), &r.id, "", None).unwrap();
    let err = e.approve_action(&who(&e, "sue"), &r.id, "", None).unwrap_err().to_string();
    assert_eq!(err, "sue approved this request already; one person counts once");
    assert_eq!(e.action(&who(&e, "ann"), &r.id).unwrap().approvals.len(), 1);
}

#[test]
fn a_critical_action_never_runs_without_two_humans_including_a_manager() {
    for config in ["", SUPERVISED] {
        let (_d, e) = engine(config);
        // The analyzer drafts the notice from the alert's assessment.
        let line = br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"ws-1","CommandLine":"m.exe sekurlsa::logonpasswords"}"#;
        let mut id = String::new();
        e.triage(line, "t", None, &mut |ev| {
            if let warden_engine::Event::Alert(r) = ev {
                id = r.alert_id.to_string()
            }
        })
        .unwrap();
        let mut i = input(ActionKind::NotifyCustomers);
        i.alert_id = Some(id.clone());
        i.draft = true;
        let r = e.request_action(&who(&e, "ann"), i).unwrap();
        assert_eq!(r.status, RequestStatus::Pending, "never automatic, whatever the stage");
        let draft = r.draft.clone().unwrap();
        assert!(draft.ai_generated && draft.generated_by.starts_with("local@"));
        assert!(draft.text.starts_with("[AI-generated draft"), "{}", draft.text);
        assert!(draft.text.contains("T1003.001") && draft.text.contains(&id), "{}", draft.text);
        assert!(e.approve_action(&who(&e, "sam"), &r.id, "", None).is_err(), "a written reason is required");
        assert_eq!(
            e.approve_action(&who(&e, "sam"), &r.id, "exfiltration confirmed", None).unwrap().status,
            RequestStatus::Pending
        );
        assert_eq!(
            e.approve_action(&who(&e, "sue"), &r.id, "agree", None).unwrap().status,
            RequestStatus::Pending,
            "no manager yet"
        );
        let human = "Dear customer, on 20 November we found that ...".to_owned();
        let done = e.approve_action(&who(&e, "mia"), &r.id, "approved with edits", Some(human.clone())).unwrap();
        assert_eq!(done.status, RequestStatus::Executed);
        assert_eq!(done.final_text.as_deref(), Some(human.as_str()));
        assert_eq!(done.draft.unwrap().text, draft.text, "both versions are kept");
    }
}

#[test]
fn the_approval_time_limit_comes_from_configuration() {
    let (_d, e) = engine(&format!("{SUPERVISED}[execution]\napproval_ttl_hours = 1\n"));
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::IsolateHost)).unwrap();
    assert_eq!(r.expires_at.duration_since(r.created_at), jiff::SignedDuration::from_hours(1));
    assert_eq!(e.actions(&who(&e, "ann"), Some(RequestStatus::Pending)).unwrap().len(), 1, "not yet");
}

#[test]
fn during_burn_in_nothing_runs_unattended() {
    let (_d, e) = engine("[govern]\nstage = \"supervised\"\n");
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::OpenTicket)).unwrap();
    assert_eq!((r.status, r.automatic), (RequestStatus::Pending, false));
}

#[test]
fn lowering_a_tier_needs_a_manager_and_is_audited() {
    let (_d, e) = engine(SUPERVISED);
    assert!(matches!(
        e.set_action_tier(&who(&e, "sam"), ActionKind::IsolateHost, RiskTier::Low),
        Err(EngineError::Denied(_))
    ));
    assert!(matches!(
        e.set_action_tier(&who(&e, "adm"), ActionKind::IsolateHost, RiskTier::Low),
        Err(EngineError::Denied(_))
    ));
    e.set_action_tier(&who(&e, "mia"), ActionKind::IsolateHost, RiskTier::Low).unwrap();
    assert_eq!(e.risk_matrix().unwrap().tier(ActionKind::IsolateHost), RiskTier::Low);
    let lowered = e.store().audit_for_object("isolate_host").unwrap();
    assert_eq!(lowered[0].record.action, "policy.tier_lowered");
    assert!(
        Config::parse("[actions.declare_breach]\ntier = \"low\"\n", "t", Vec::new()).is_err(),
        "configuration may only raise"
    );
    let (_d2, e2) = engine("[actions.open_ticket]\ntier = \"high\"\n");
    assert_eq!(e2.risk_matrix().unwrap().tier(ActionKind::OpenTicket), RiskTier::High);
}

#[test]
fn with_the_stop_switch_on_nothing_executes_and_every_alert_goes_to_review() {
    let (_d, e) = engine(SUPERVISED);
    assert!(matches!(e.set_stop(&who(&e, "ann"), None, true, "incident"), Err(EngineError::Denied(_))));
    let pending = e.request_action(&who(&e, "ann"), input(ActionKind::IsolateHost)).unwrap();
    e.set_stop(&who(&e, "mia"), None, true, "major incident: humans only").unwrap();
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::OpenTicket)).unwrap();
    assert_eq!(r.status, RequestStatus::Pending, "no automatic execution");
    let approved = e.approve_action(&who(&e, "sam"), &pending.id, "ok", None).unwrap();
    assert_eq!(approved.status, RequestStatus::Approved, "approved, not run");
    let dns = br#"{"event_type":"dns","src_ip":"10.0.0.1","dns":{"rrname":"a.example"}}"#;
    let mut routes = Vec::new();
    e.triage(dns, "t", None, &mut |ev| {
        if let warden_engine::Event::Alert(r) = ev {
            routes.push((r.route, r.reasons.clone()))
        }
    })
    .unwrap();
    assert_eq!(routes[0].0, RouteKind::Review);
    assert!(routes[0].1[0].starts_with("stop_switch"));
    e.set_stop(&who(&e, "mia"), None, false, "incident closed").unwrap();
    assert_eq!(e.execute_action(&who(&e, "sam"), &pending.id).unwrap().status, RequestStatus::Executed);
    let actions: Vec<String> =
        e.store().audit_for_object("global").unwrap().into_iter().map(|a| a.record.action).collect();
    assert_eq!(actions, ["stop.engaged", "stop.released"]);
}

#[test]
fn approving_while_the_stop_switch_is_on_stores_the_approval_says_it_did_not_run_and_it_runs_after_release() {
    let (_d, e) = engine(SUPERVISED);
    let pending = e.request_action(&who(&e, "ann"), input(ActionKind::IsolateHost)).unwrap();
    e.set_stop(&who(&e, "mia"), None, true, "drill").unwrap();
    // The answer and the stored state agree: approved, no execution.
    let answer = e.approve_action(&who(&e, "sam"), &pending.id, "confirmed", None).unwrap();
    let stored = e.action(&who(&e, "ann"), &pending.id).unwrap();
    assert_eq!((answer.status, stored.status), (RequestStatus::Approved, RequestStatus::Approved));
    assert!(answer.execution.is_none() && stored.execution.is_none());
    let trail: Vec<String> =
        e.store().audit_for_object(&pending.id).unwrap().into_iter().map(|a| a.record.action).collect();
    assert!(trail.ends_with(&["action.approved".to_owned(), "action.blocked".to_owned()]), "{trail:?}");
    // A person's run is gated too while the switch is on.
    assert!(matches!(e.execute_action(&who(&e, "sam"), &pending.id), Err(EngineError::Gate(_))));
    e.set_stop(&who(&e, "mia"), None, false, "drill over").unwrap();
    assert!(matches!(e.execute_action(&who(&e, "ann"), &pending.id), Err(EngineError::Denied(_))), "by tier");
    let ran = e.execute_action(&who(&e, "sam"), &pending.id).unwrap();
    assert_eq!(ran.status, RequestStatus::Executed);
    let detail = &ran.execution.as_ref().unwrap().detail;
    assert!(detail.starts_with("dry run"), "the log executor says it was a dry run: {detail}");
    assert!(matches!(e.execute_action(&who(&e, "sam"), &pending.id), Err(EngineError::Refused(_))), "runs once");
}

#[test]
fn every_role_is_allowed_and_denied_as_the_matrix_says_through_the_engine() {
    let (_d, e) = engine(SUPERVISED);
    for (name, request, stop, lower) in [
        ("ann", true, false, false),
        ("sam", true, false, false),
        ("mia", true, true, true),
        ("aud", false, false, false),
        ("adm", false, true, false),
    ] {
        let w = who(&e, name);
        assert_eq!(e.request_action(&w, input(ActionKind::AddNote)).is_ok(), request, "{name} request");
        assert_eq!(e.set_stop(&w, None, false, "check").is_ok(), stop, "{name} stop switch");
        assert_eq!(e.set_action_tier(&w, ActionKind::Tag, RiskTier::Low).is_ok(), lower, "{name} set tier");
    }
}

/// A webhook receiver that is slow the first time, records every delivery,
/// checks signatures, and applies each idempotency key once.
struct Receiver {
    url: String,
    deliveries: Arc<Mutex<Vec<(String, bool)>>>,
    applied: Arc<Mutex<Vec<String>>>,
}

fn receiver(secret: &'static [u8], slow_first: Duration) -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let applied = Arc::new(Mutex::new(Vec::new()));
    let (d, a) = (deliveries.clone(), applied.clone());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(10).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let (mut len, mut key, mut sig) = (0, String::new(), String::new());
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if l.starts_with("idempotency-key:") {
                    key = line[16..].trim().to_owned();
                }
                if l.starts_with("x-warden-signature:") {
                    sig = line[19..].trim().to_owned();
                }
                line.clear();
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let valid = sig == WebhookExecutor::signature(secret, &body);
            d.lock().unwrap().push((key.clone(), valid));
            if valid && !a.lock().unwrap().contains(&key) {
                a.lock().unwrap().push(key);
            }
            if n == 0 {
                std::thread::sleep(slow_first);
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    Receiver { url, deliveries, applied }
}

#[test]
fn a_webhook_acts_once_per_approved_action_even_when_the_first_attempt_times_out() {
    let rx = receiver(b"s3cret-for-tests", Duration::from_millis(1500));
    // SAFETY of the test: the variable is read by this engine only.
    unsafe { std::env::set_var("WARDEN_TEST_EDR_SECRET", "s3cret-for-tests") };
    let config = format!(
        "{SUPERVISED}[executors.edr]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_env = \"WARDEN_TEST_EDR_SECRET\"\ntimeout_secs = 1\nretries = 3\n\
         [actions.isolate_host]\nexecutor = \"edr\"\n",
        rx.url
    );
    let (_d, e) = engine(&config);
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::IsolateHost)).unwrap();
    let done = e.approve_action(&who(&e, "sam"), &r.id, "contain", None).unwrap();
    let exec = done.execution.unwrap();
    assert!(exec.ok, "{}", exec.detail);
    assert!(exec.attempts >= 2, "the first attempt timed out");
    let deliveries = rx.deliveries.lock().unwrap().clone();
    assert!(deliveries.iter().all(|(k, valid)| *valid && k == &r.id), "{deliveries:?}");
    assert_eq!(*rx.applied.lock().unwrap(), std::slice::from_ref(&r.id), "one action, applied once");
    // The retry is not a second action: the request executed once.
    assert!(e.execute_action(&who(&e, "sam"), &r.id).is_err(), "an executed request does not run again");
}

#[test]
fn an_action_request_for_a_nonexistent_alert_is_refused() {
    let (_d, e) = engine("");
    let mut i = input(ActionKind::IsolateHost);
    i.alert_id = Some("al-00000000000000000000".into());
    assert!(matches!(e.request_action(&who(&e, "ann"), i), Err(EngineError::NotFound(_))));
    let mut i = input(ActionKind::IsolateHost);
    i.alert_id = Some("not an id".into());
    assert!(matches!(e.request_action(&who(&e, "ann"), i), Err(EngineError::Invalid(_))));
    assert!(e.request_action(&who(&e, "ann"), input(ActionKind::IsolateHost)).is_ok(), "a stored alert is fine");
}

#[test]
fn an_action_asked_with_a_token_acts_on_the_value_and_people_still_see_the_token() {
    let (_d, e) = engine("");
    let mut id = None;
    e.triage(
        br#"{"message":"phishing reported by customer anna.kowalski@example.com","host":{"name":"mail-1"}}"#,
        "t",
        None,
        &mut |ev| {
            if let warden_engine::Event::Alert(r) = ev {
                id = Some(r.alert_id.to_string());
            }
        },
    )
    .unwrap();
    let id = id.unwrap();
    let ann = who(&e, "ann");
    let shown = serde_json::to_string(&e.alert_view(&ann, &id).unwrap().alert).unwrap();
    assert!(!shown.contains("kowalski"), "{shown}");
    let token = shown.split("<EMAIL_").nth(1).map(|s| format!("<EMAIL_{}", &s[..11])).expect("a token is shown");
    let req = e
        .request_action(
            &ann,
            ActionInput {
                alert_id: Some(id),
                kind: ActionKind::OpenTicket,
                params: serde_json::json!({"recipient": token, "host": "mail-1"}),
                reason: "warn the customer".into(),
                draft: false,
            },
        )
        .unwrap();
    let stored = e.store().actions(None, 100).unwrap();
    let body = stored.iter().find(|b| b["id"] == req.id).unwrap().to_string();
    assert!(body.contains("anna.kowalski@example.com"), "the executor gets the address: {body}");
    let seen = serde_json::to_string(&e.action(&ann, &req.id).unwrap()).unwrap();
    assert!(!seen.contains("kowalski") && seen.contains(&token) && seen.contains("mail-1"), "{seen}");
}

/// The alert of `engine()`, sent as a case twice (two requests for it, the
/// second also run twice by hand): one remote record, found the second time.
fn sent_twice(config: &str) -> (warden_govern::Remote, warden_govern::Remote) {
    let (_d, e) = engine(&format!("{SUPERVISED}{config}[actions.open_ticket]\nexecutor = \"cases\"\n"));
    let first = e.request_action(&who(&e, "ann"), input(ActionKind::OpenTicket)).unwrap();
    let x = first.execution.clone().expect("a low-tier action runs at once when supervised");
    assert!(x.ok, "{}", x.detail);
    let second = e.request_action(&who(&e, "bob"), input(ActionKind::OpenTicket)).unwrap();
    let y = second.execution.clone().unwrap();
    assert!(y.ok, "{}", y.detail);
    // The audit trail names the remote record.
    let entries = e.store().audit_entries(1, usize::MAX).unwrap();
    let executed: Vec<_> = entries.iter().filter(|en| en.record.action == "action.executed").collect();
    assert!(executed.iter().any(|en| en.record.payload["remote"]["id"] == x.remote.as_ref().unwrap().id.as_str()));
    // The alert's incident is the case's key, and its page lists the case once.
    let incident = e.store().incident_of(ALERT.get().unwrap()).unwrap().expect("the alert is in an incident");
    let v = e.incident(&who(&e, "ann"), &incident).unwrap();
    let listed: Vec<(&str, &str)> = v.cases.iter().map(|c| (c.system.as_str(), c.id.as_str())).collect();
    let made = x.remote.clone().unwrap();
    assert_eq!(listed, [(made.system.as_str(), made.id.as_str())]);
    (x.remote.unwrap(), y.remote.unwrap())
}

#[test]
fn thehive_gets_one_alert_with_observables_however_often_it_is_sent() {
    let hive = stand(Box::new(|r, st| {
        if r.auth != "Bearer hive-key" {
            return (401, serde_json::json!({"type": "AuthenticationError"}));
        }
        let alerts = st["alerts"].as_array().cloned().unwrap_or_default();
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/api/v1/query") => {
                let f = &r.body["query"][1]["_and"];
                let source_ref = f[1]["_value"].as_str().unwrap_or_default();
                let hits: Vec<_> = alerts.iter().filter(|a| a["sourceRef"] == source_ref).cloned().collect();
                (200, serde_json::Value::Array(hits))
            }
            ("POST", "/api/v1/alert") => {
                let b = &r.body;
                let shaped = ["type", "source", "sourceRef", "title", "description"].iter().all(|k| b[k].is_string())
                    && (1..=4).contains(&b["severity"].as_i64().unwrap_or(0))
                    && b["observables"]
                        .as_array()
                        .is_some_and(|o| o.iter().all(|o| o["dataType"].is_string() && o["data"].is_string()));
                if !shaped {
                    return (400, serde_json::json!({"type": "BadRequest"}));
                }
                if alerts.iter().any(|a| a["sourceRef"] == b["sourceRef"] && a["source"] == b["source"]) {
                    return (400, serde_json::json!({"type": "CreateError", "message": "Alert already exists"}));
                }
                let mut a = b.clone();
                a["_id"] = format!("~{}", 4096 + alerts.len()).into();
                let mut all = alerts;
                all.push(a.clone());
                st["alerts"] = all.into();
                (201, a)
            }
            _ => (404, serde_json::json!({})),
        }
    }));
    unsafe { std::env::set_var("WARDEN_TEST_HIVE_KEY", "hive-key") };
    let (first, second) = sent_twice(&format!(
        "[executors.cases]\nkind = \"thehive\"\nurl = \"{}\"\nsecret_env = \"WARDEN_TEST_HIVE_KEY\"\n",
        hive.url
    ));
    assert!(first.created && !second.created, "{first:?} {second:?}");
    assert_eq!(first.id, second.id);
    assert_eq!(first.url, format!("{}/alerts/{}/details", hive.url, first.id));
    let state = hive.state.lock().unwrap();
    let alerts = state["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "one remote alert");
    assert!(alerts[0]["observables"].as_array().unwrap().iter().any(|o| o["data"] == "ws-1"), "{}", alerts[0]);
    assert_eq!(hive.seen.lock().unwrap().iter().filter(|s| s.path == "/api/v1/alert").count(), 1);
    drop(state);

    // A wrong key is refused, and says so.
    unsafe { std::env::set_var("WARDEN_TEST_HIVE_KEY", "wrong") };
    let (_d, e) = engine(&format!(
        "{SUPERVISED}[executors.cases]\nkind = \"thehive\"\nurl = \"{}\"\nsecret_env = \"WARDEN_TEST_HIVE_KEY\"\n[actions.open_ticket]\nexecutor = \"cases\"\n",
        hive.url
    ));
    let r = e.request_action(&who(&e, "ann"), input(ActionKind::OpenTicket)).unwrap();
    let x = r.execution.unwrap();
    assert!(!x.ok && x.detail.contains("check the API key"), "{}", x.detail);
    assert_eq!(r.status, RequestStatus::Failed);
}

#[test]
fn iris_gets_one_case_and_each_ioc_once() {
    let iris = stand(Box::new(|r, st| {
        if r.auth != "Bearer iris-key" {
            return (401, serde_json::json!({"status": "error"}));
        }
        let ok = |data: serde_json::Value| (200, serde_json::json!({"status": "success", "data": data}));
        let cases = st["cases"].as_array().cloned().unwrap_or_default();
        let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
        match (r.method.as_str(), path) {
            ("GET", "/manage/cases/list") => ok(cases.into()),
            ("POST", "/manage/cases/add") => {
                let b = &r.body;
                if !(b["case_soc_id"].is_string()
                    && b["case_customer"].is_u64()
                    && b["case_name"].is_string()
                    && b["case_description"].is_string())
                {
                    return (400, serde_json::json!({"status": "error", "message": "Data error"}));
                }
                let mut c = b.clone();
                c["case_id"] = (cases.len() + 1).into();
                let mut all = cases;
                all.push(c.clone());
                st["cases"] = all.into();
                ok(c)
            }
            ("GET", "/manage/ioc-types/list") => ok(serde_json::json!([
                {"type_id": 76, "type_name": "ip-dst"}, {"type_id": 79, "type_name": "ip-src"},
                {"type_id": 69, "type_name": "hostname"}, {"type_id": 96, "type_name": "other"}])),
            ("GET", "/case/ioc/list") => {
                let cid = query.trim_start_matches("cid=");
                ok(serde_json::json!({"ioc": st["iocs"][cid].clone()}))
            }
            ("POST", "/case/ioc/add") => {
                let cid = query.trim_start_matches("cid=").to_owned();
                if !(r.body["ioc_type_id"].is_u64() && r.body["ioc_value"].is_string() && r.body["ioc_tlp_id"].is_u64())
                {
                    return (400, serde_json::json!({"status": "error"}));
                }
                let mut list = st["iocs"][&cid].as_array().cloned().unwrap_or_default();
                list.push(r.body.clone());
                if !st["iocs"].is_object() {
                    st["iocs"] = serde_json::json!({});
                }
                st["iocs"][&cid] = list.into();
                ok(r.body.clone())
            }
            _ => (404, serde_json::json!({"status": "error"})),
        }
    }));
    unsafe { std::env::set_var("WARDEN_TEST_IRIS_KEY", "iris-key") };
    let (first, second) = sent_twice(&format!(
        "[executors.cases]\nkind = \"iris\"\nurl = \"{}\"\nsecret_env = \"WARDEN_TEST_IRIS_KEY\"\ncustomer_id = 3\n",
        iris.url
    ));
    assert!(first.created && !second.created);
    assert_eq!(first.id, second.id);
    let state = iris.state.lock().unwrap();
    assert_eq!(state["cases"].as_array().unwrap().len(), 1);
    assert_eq!(state["cases"][0]["case_customer"], 3);
    let iocs = state["iocs"][&first.id].as_array().unwrap();
    assert!(iocs.iter().any(|i| i["ioc_value"] == "ws-1" && i["ioc_type_id"] == 69), "{iocs:?}");
    let mut values: Vec<&str> = iocs.iter().filter_map(|i| i["ioc_value"].as_str()).collect();
    let n = values.len();
    values.dedup();
    assert_eq!(values.len(), n, "each IOC once, though the case was sent twice");
}

#[test]
fn jira_gets_one_issue_with_basic_authentication() {
    use base64::Engine as _;
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("soc@example.com:jira-token"));
    let jira = stand(Box::new(move |r, st| {
        if r.auth != expected {
            return (401, serde_json::json!({"errorMessages": ["unauthorised"]}));
        }
        let issues = st["issues"].as_array().cloned().unwrap_or_default();
        match (r.method.as_str(), r.path.as_str()) {
            ("POST", "/rest/api/2/search") => {
                let jql = r.body["jql"].as_str().unwrap_or_default();
                let label = jql.trim_start_matches("labels = \"").trim_end_matches('"');
                let hits: Vec<_> = issues
                    .iter()
                    .filter(|i| i["fields"]["labels"].as_array().unwrap().iter().any(|l| l == label))
                    .cloned()
                    .collect();
                (200, serde_json::json!({"issues": hits, "total": hits.len()}))
            }
            ("POST", "/rest/api/2/issue") => {
                let f = &r.body["fields"];
                if !(f["project"]["key"] == "SOC"
                    && f["summary"].is_string()
                    && f["issuetype"]["name"] == "Incident"
                    && f["labels"].is_array())
                {
                    return (400, serde_json::json!({"errors": {"project": "bad"}}));
                }
                let key = format!("SOC-{}", issues.len() + 1);
                let mut i = r.body.clone();
                i["key"] = key.clone().into();
                let mut all = issues;
                all.push(i);
                st["issues"] = all.into();
                (201, serde_json::json!({"id": "10001", "key": key, "self": "x"}))
            }
            _ => (404, serde_json::json!({})),
        }
    }));
    unsafe { std::env::set_var("WARDEN_TEST_JIRA_TOKEN", "jira-token") };
    let (first, second) = sent_twice(&format!(
        "[executors.cases]\nkind = \"jira\"\nurl = \"{}\"\nsecret_env = \"WARDEN_TEST_JIRA_TOKEN\"\nproject = \"SOC\"\nissue_type = \"Incident\"\nuser = \"soc@example.com\"\n",
        jira.url
    ));
    assert!(first.created && !second.created);
    assert_eq!((first.id.as_str(), second.id.as_str()), ("SOC-1", "SOC-1"));
    assert_eq!(first.url, format!("{}/browse/SOC-1", jira.url));
    let state = jira.state.lock().unwrap();
    let issue = &state["issues"][0]["fields"];
    assert!(issue["description"].as_str().unwrap().contains("ws-1"), "{issue}");
}
