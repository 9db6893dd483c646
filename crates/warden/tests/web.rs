//! The web UI over real HTTP against `warden serve --demo` on port 0:
//! sessions, CSRF, throttling, every page and form against the permission
//! matrix, self-approval, and inert rendering of hostile alert text.

mod common;

use common::DemoServer;

const PAGES_FOR_REVIEWERS: &[&str] = &["/incidents", "/queue", "/approvals", "/dashboards"];
const ROLES: &[(&str, bool, bool)] = &[
    // user, may review, may read the audit trail
    ("demo-analyst", true, false),
    ("demo-senior", true, false),
    ("demo-manager", true, true),
    ("demo-auditor", false, true),
    ("demo-admin", false, true),
];

fn first_alert(c: &mut common::Client) -> String {
    let q = c.get("/queue?state=all");
    assert_eq!(q.status, 200);
    let at = q.body.find("href=\"/alerts/").expect("the demo queue has alerts");
    let rest = &q.body[at + 14..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The first incident the list shows with these filters (a query string).
fn first_incident(c: &mut common::Client, filters: &str) -> String {
    let q = c.get(&format!("/incidents?{filters}"));
    assert_eq!(q.status, 200, "{}", q.body);
    let at = q.body.find("href=\"/incidents/inc-").expect("an incident is listed");
    let rest = &q.body[at + 17..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn an_incident_is_worked_from_its_pages_split_merged_taken_and_decided() {
    let s = DemoServer::start();
    let alert = |sig: &str| {
        format!(
            r#"{{"event_type":"alert","src_ip":"10.77.0.5","dest_ip":"203.0.113.9","alert":{{"signature":"{sig}","severity":1}}}}"#
        )
    };
    let body = [alert("ET MALWARE beacon one"), alert("ET POLICY odd user agent")].join("\n");
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    assert_eq!(api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], body.as_bytes()).status, 200);

    let mut c = s.signed_in("demo-analyst");
    let id = first_incident(&mut c, "entity=src:10.77.0.5");
    let page = c.get(&format!("/incidents/{id}"));
    assert_eq!(page.status, 200);
    for part in ["Kill chain", "What happened", "Timeline", "beacon one", "odd user agent", "src%3A10.77.0.5"] {
        assert!(page.body.contains(part), "{part} missing from the incident page");
    }
    let src = c.get("/entities/src:10.77.0.5");
    assert!(src.status == 200 && src.body.contains(&id), "the address's page lists the incident");
    let t = c.csrf();
    let to_me = c.post_form(&format!("/incidents/{id}/assign"), &[("csrf", &t), ("to", "demo-analyst")]);
    assert_eq!(to_me.status, 303);
    assert!(c.get(&format!("/incidents/{id}")).body.contains("demo-analyst</div>"), "assigned");

    // Split one row off, then merge it back.
    let rows: Vec<String> = page
        .body
        .match_indices("name=\"row\" value=\"")
        .map(|(at, m)| page.body[at + m.len()..].split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(rows.len(), 2, "two kinds of alert, two rows");
    let no_reason = c.post_form(&format!("/incidents/{id}/split"), &[("csrf", &t), ("row", &rows[0]), ("reason", "")]);
    assert_eq!(no_reason.status, 400, "a split needs a reason");
    let r = c.post_form(&format!("/incidents/{id}/split"), &[("csrf", &t), ("row", &rows[0]), ("reason", "unrelated")]);
    assert_eq!(r.status, 303);
    let new = r.header("location").unwrap().trim_start_matches("/incidents/").split('?').next().unwrap().to_owned();
    assert_ne!(new, id);
    assert!(c.get(&format!("/incidents/{new}")).body.contains("1 alert(s)"));
    let r = c.post_form(&format!("/incidents/{id}/merge"), &[("csrf", &t), ("from", &new), ("reason", "one story")]);
    assert_eq!(r.status, 303);
    assert!(c.get(&format!("/incidents/{new}")).body.contains("Merged into"));

    // Decide it: every alert gets the decision.
    let r =
        c.post_form(&format!("/incidents/{id}/decision"), &[("csrf", &t), ("verdict", "malicious"), ("comment", "C2")]);
    assert_eq!(r.status, 303);
    let done = c.get(&format!("/incidents/{id}?done=incident_decided"));
    assert!(done.body.contains("Decision recorded on every alert") && done.body.contains("decided"));
    let r = c.post_form(&format!("/incidents/{id}/decision"), &[("csrf", &t), ("verdict", "benign")]);
    assert_eq!(r.status, 409, "a contradiction needs the supersedes box");

    // Without a session token, refused; for the auditor, not allowed.
    assert_eq!(c.post_form(&format!("/incidents/{id}/assign"), &[("csrf", "0000")]).status, 403);
    let mut auditor = s.signed_in("demo-auditor");
    assert_eq!(auditor.get("/incidents").status, 403);
}

#[test]
fn sign_in_gives_a_hardened_session_cookie_and_every_page_needs_one() {
    let s = DemoServer::start();
    let mut anon = s.client();
    for p in ["/queue", "/approvals", "/dashboards", "/audit", "/settings", "/alerts/al-0"] {
        let r = anon.get(p);
        assert_eq!(r.status, 303, "{p} without a session");
        assert!(r.header("location").unwrap().starts_with("/login?next="), "{p}");
    }
    let page = anon.get("/login");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline") && !csp.contains("script-src"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(anon.login("demo-analyst", "wrong password!").status, 401);
    let r = anon.login("demo-analyst", &s.passwords["demo-analyst"]);
    assert_eq!(r.status, 303);
    let cookie = r.headers_named("set-cookie").into_iter().find(|c| c.starts_with("warden_session=")).unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let q = anon.get("/queue");
    assert_eq!(q.status, 200);
    assert!(q.body.contains("demo-analyst") && q.body.contains("Review queue"));
    for option in ["<option value=\"critical\">", "<option value=\"review\">", "<option value=\"escalated\">"] {
        assert!(q.body.contains(option), "the filters offer {option}");
    }
    // Only routes that queue an alert: the others are never in the queue.
    assert!(!q.body.contains("<option value=\"auto_closed\">") && !q.body.contains("<option value=\"context\">"));
    assert!(!q.body.contains("<script"), "no script on any page");
    // People who do not review start where they work.
    for (user, place) in [("demo-auditor", "/audit"), ("demo-admin", "/audit"), ("demo-senior", "/queue")] {
        let mut c = s.client();
        assert_eq!(c.login(user, &s.passwords[user]).header("location"), Some(place), "{user}");
    }
    // Behind a TLS proxy the cookie is Secure.
    let mut proxied = s.client();
    let page = proxied.request("GET", "/login", &[("X-Forwarded-Proto", "https")], b"");
    assert!(page.header("set-cookie").unwrap().contains("; Secure"));
    // A next= pointing elsewhere is not followed.
    let mut c = s.client();
    let login = c.get("/login?next=//evil.example/");
    let csrf = login.input("csrf").unwrap();
    let r = c.post_form(
        "/login",
        &[
            ("csrf", &csrf),
            ("user", "demo-analyst"),
            ("password", &s.passwords["demo-analyst"]),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!(r.header("location"), Some("/queue"));
    // Nor one that browsers would read as another site once they drop a tab, nor a CR/LF (no 500).
    for hostile in ["/%09/evil.example", "/%0d%0aSet-Cookie:%20x=1"] {
        let mut c = s.client();
        let page = c.get(&format!("/login?next={hostile}"));
        assert_eq!(page.status, 200, "{hostile}");
        let csrf = page.input("csrf").unwrap();
        assert_eq!(
            page.input("next").as_deref(),
            Some("&#x2f;queue"),
            "{hostile}: the form carries the default, escaped"
        );
        let r = c.post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("user", "demo-analyst"),
                ("password", &s.passwords["demo-analyst"]),
                ("next", if hostile.contains("09") { "/\t/evil.example" } else { "/\r\nSet-Cookie: x=1" }),
            ],
        );
        assert_eq!(r.header("location"), Some("/queue"), "{hostile}");
    }
    // Signing out ends the session on the server, not only in the browser.
    let old = c.cookies.clone();
    let token = c.csrf();
    assert_eq!(c.post_form("/logout", &[("csrf", &token)]).status, 303);
    c.cookies = old;
    assert_eq!(c.get("/queue").status, 303, "a session ended at logout stays ended");
}

#[test]
fn forms_without_the_session_token_or_from_another_site_are_refused() {
    let s = DemoServer::start();
    let mut c = s.signed_in("demo-analyst");
    let id = first_alert(&mut c);
    let path = format!("/alerts/{id}/decision");
    let token = c.csrf();
    assert_eq!(c.post_form(&path, &[("verdict", "benign")]).status, 403, "no token");
    assert_eq!(c.post_form(&path, &[("csrf", "0000"), ("verdict", "benign")]).status, 403, "wrong token");
    let r = c.post_form_from(&path, &[("csrf", &token), ("verdict", "benign")], "http://evil.example");
    assert_eq!(r.status, 403, "right token, other origin");
    let r = c.request(
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Sec-Fetch-Site", "cross-site")],
        format!("csrf={token}&verdict=benign").as_bytes(),
    );
    assert_eq!(r.status, 403, "cross-site fetch metadata");
    let before = c.get(&format!("/alerts/{id}"));
    assert!(!before.body.contains("demo decision by the test"));
    assert!(before.body.contains("<option value=\"false_alarm\">false alarm</option>"), "reason codes offered");
    // The demo's own decisions may have named another verdict: this one says it replaces them.
    let r = c.post_form(
        &path,
        &[("csrf", &token), ("verdict", "benign"), ("comment", "demo decision by the test"), ("supersedes", "on")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get(&format!("/alerts/{id}?done=decision"));
    assert!(page.body.contains("Decision recorded.") && page.body.contains("demo decision by the test"));
    // Another session's token does not work in this one.
    let mut other = s.signed_in("demo-senior");
    let theirs = other.csrf();
    assert_eq!(c.post_form(&path, &[("csrf", &theirs), ("verdict", "benign")]).status, 403);
    // The login form has its own token: a post without it is refused.
    let mut fresh = s.client();
    let r = fresh.post_form("/login", &[("user", "demo-analyst"), ("password", &s.passwords["demo-analyst"])]);
    assert_eq!(r.status, 403);
    assert!(!fresh.cookies.contains_key("warden_session"));
}

#[test]
fn repeated_failed_sign_ins_lock_the_account_out_for_a_while() {
    let s = DemoServer::start();
    let mut c = s.client();
    for i in 0..5 {
        assert_eq!(c.login("demo-manager", &format!("guess number {i}")).status, 401);
    }
    let r = c.login("demo-manager", &s.passwords["demo-manager"]);
    assert_eq!(r.status, 429, "locked out even with the right password");
    assert!(r.body.contains("Too many failed sign-ins"));
    // Other people signing in from the same address are not locked out by that …
    assert_eq!(c.login("demo-senior", &s.passwords["demo-senior"]).status, 303);
    // … but an address that keeps guessing, whatever the names, is.
    let mut guesser = s.client();
    for i in 0..20 {
        assert!(matches!(guesser.login(&format!("nobody{i}"), "guess").status, 401 | 429));
    }
    assert_eq!(guesser.login("demo-analyst", &s.passwords["demo-analyst"]).status, 429);
}

#[test]
fn pages_and_forms_follow_the_permission_matrix_for_every_role() {
    let s = DemoServer::start();
    let mut probe = s.signed_in("demo-analyst");
    let alert = first_alert(&mut probe);
    for &(user, review, audit) in ROLES {
        let mut c = s.signed_in(user);
        let expect = |allowed: bool| if allowed { 200 } else { 403 };
        for p in PAGES_FOR_REVIEWERS.iter().copied().chain([format!("/alerts/{alert}").as_str()]) {
            assert_eq!(c.get(p).status, expect(review), "{user} {p}");
        }
        assert_eq!(c.get("/audit").status, expect(audit), "{user} /audit");
        let bundle = c.get(&format!("/audit/bundle?alert={alert}"));
        assert_eq!(bundle.status, expect(audit || review), "{user} bundle: whoever may read the alert");
        if audit || review {
            assert!(bundle.header("content-disposition").unwrap().starts_with("attachment"));
            let doc: serde_json::Value = serde_json::from_str(&bundle.body).unwrap();
            assert_eq!(doc["alert"]["id"], alert.as_str());
        }
        assert_eq!(c.get("/settings").status, 200, "{user} /settings");
        let token = c.csrf();
        // Forms: decision (review), action request (request_action), stop switch.
        let r = c.post_form(
            &format!("/alerts/{alert}/decision"),
            &[("csrf", &token), ("verdict", "suspicious"), ("supersedes", "on")],
        );
        assert_eq!(r.status, if review { 303 } else { 403 }, "{user} decides: {}", r.body);
        let r = c.post_form(
            "/actions",
            &[("csrf", &token), ("alert_id", &alert), ("action", "add_note"), ("reason", "matrix test")],
        );
        assert_eq!(r.status, if review { 303 } else { 403 }, "{user} requests an action: {}", r.body);
        let stopper = matches!(user, "demo-manager" | "demo-admin");
        let r = c.post_form("/settings/stop", &[("csrf", &token), ("on", "true"), ("reason", "matrix test")]);
        assert_eq!(r.status, if stopper { 303 } else { 403 }, "{user} stop switch: {}", r.body);
        if stopper {
            let r = c.post_form("/settings/stop", &[("csrf", &token), ("on", "false"), ("reason", "matrix test done")]);
            assert_eq!(r.status, 303);
        }
    }
    // Approvals by tier: the demo's high-tier request waits for a second approver.
    let id = &s.waiting_action;
    // demo-analyst asked for it, demo-senior approved it already, an auditor may not approve.
    for (user, status) in [("demo-analyst", 409), ("demo-auditor", 403), ("demo-senior", 409)] {
        let mut c = s.signed_in(user);
        let token = c.csrf();
        let r = c.post_form(&format!("/actions/{id}/approve"), &[("csrf", &token), ("reason", "looks right")]);
        assert_eq!(r.status, status, "{user} approves a high action: {}", r.body);
    }
    let mut c = s.signed_in("demo-senior2");
    let token = c.csrf();
    let r = c.post_form(&format!("/actions/{id}/approve"), &[("csrf", &token)]);
    assert_eq!(r.status, 400, "a high action needs a written reason");
    let r = c.post_form(&format!("/actions/{id}/approve"), &[("csrf", &token), ("reason", "second pair of eyes")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get("/approvals?done=approved");
    assert!(page.body.contains("Approval recorded."));
    assert!(!page.body.contains(&format!("id=\"{id}\"")), "no longer pending");
}

/// A Slack incoming-webhook stand-in: every message it was posted.
fn slack() -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let g = got.clone();
    let url = common::http_stand(move |_, _, body| {
        g.lock().unwrap().push(serde_json::from_slice(body).unwrap_or_default());
        (200, serde_json::json!("ok"))
    });
    (format!("{url}/services/T0/B0/x"), got)
}

#[test]
fn a_chat_approval_link_works_once_for_a_signed_in_approver_and_high_tiers_get_none() {
    let (url, messages) = slack();
    let (teams_url, teams) = slack();
    let s = DemoServer::start_with(&[
        ("WARDEN_NOTIFY__SLACK_WEBHOOK_ENV", "WARDEN_TEST_SLACK_URL"),
        ("WARDEN_TEST_SLACK_URL", &url),
        ("WARDEN_NOTIFY__TEAMS_WEBHOOK_ENV", "WARDEN_TEST_TEAMS_URL"),
        ("WARDEN_TEST_TEAMS_URL", &teams_url),
    ]);
    // The demo's high-tier action was announced without a link.
    let texts = || {
        messages.lock().unwrap().iter().map(|m| m["text"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>()
    };
    let high =
        texts().into_iter().find(|t| t.contains(&s.waiting_action)).expect("the demo's waiting action was announced");
    assert!(high.contains("chat cannot approve it") && !high.contains("/approve/"), "{high}");

    let mut senior = s.signed_in("demo-senior");
    let alert = first_alert(&mut senior);
    let token = senior.csrf();
    let fields = [
        ("csrf", token.as_str()),
        ("alert_id", &alert),
        ("action", "isolate_host"),
        ("reason", "beaconing"),
        ("params", "{\"host\": \"ws-1\"}"),
    ];
    assert_eq!(senior.post_form("/actions", &fields).status, 303);
    let text = texts().into_iter().find(|t| t.contains("isolate host")).expect("the medium-tier request was announced");
    assert!(!text.contains("beaconing") && !text.contains("ws-1"), "no reason or parameters in chat: {text}");
    // Teams got the same message as a MessageCard.
    let card = teams.lock().unwrap().iter().find(|m| m["text"] == text.as_str()).cloned().expect("Teams was told too");
    assert_eq!(card["@type"], "MessageCard");
    let link = text.split("/approve/").nth(1).expect("a link").split_whitespace().next().unwrap().to_owned();
    let path = format!("/approve/{link}");

    // Not signed in: the sign-in page first.
    let r = s.client().get(&path);
    assert!(matches!(r.status, 302 | 303) && r.header("location").is_some_and(|l| l.starts_with("/login")), "{r:?}");
    // The requester sees the action and no approve button.
    assert!(senior.get(&path).body.contains("You asked for this action"));
    // A tampered link is refused.
    let mut other = s.signed_in("demo-senior2");
    let forged = format!("/approve/{}x", link);
    assert!(other.get(&forged).body.contains("not valid"));
    // The other senior analyst approves through it, once.
    let page = other.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("isolate host") && page.body.contains("beaconing"), "the page shows what chat did not");
    let t = other.csrf();
    let r = other.post_form(&path, &[("csrf", &t), ("reason", "seen it")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let again = other.get(&path);
    assert!(again.body.contains("used already"), "{}", again.body);
    let t = other.csrf();
    assert_ne!(other.post_form(&path, &[("csrf", &t), ("reason", "twice")]).status, 303);
}

#[test]
fn a_requester_cannot_approve_their_own_request() {
    let s = DemoServer::start();
    let mut senior = s.signed_in("demo-senior");
    let alert = first_alert(&mut senior);
    let token = senior.csrf();
    let r = senior.post_form(
        "/actions",
        &[
            ("csrf", &token),
            ("alert_id", &alert),
            ("action", "isolate_host"),
            ("reason", "beaconing"),
            ("params", "{\"host\": \"ws-1\"}"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = senior.get("/approvals");
    let at = page.body.find("isolate host").expect("the request is in the inbox");
    let card = &page.body[at..at + page.body[at..].find("</article>").unwrap()];
    assert!(card.contains("You asked for this action"), "{card}");
    assert!(!card.contains("/approve\""), "no approve button for the requester");
    let id = card.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let r = senior.post_form(&format!("/actions/{id}/approve"), &[("csrf", &token), ("reason", "self")]);
    assert_eq!(r.status, 409);
    assert!(r.body.contains("may not approve it"), "{}", r.body);
    let mut other = s.signed_in("demo-senior2");
    let t = other.csrf();
    assert_eq!(other.post_form(&format!("/actions/{id}/approve"), &[("csrf", &t), ("reason", "ok")]).status, 303);
}

#[test]
fn approving_while_the_stop_switch_is_on_says_it_did_not_run_and_the_approvals_page_runs_it_after_release() {
    let s = DemoServer::start();
    let mut manager = s.signed_in("demo-manager");
    let mt = manager.csrf();
    let mut analyst = s.signed_in("demo-analyst");
    let alert = first_alert(&mut analyst);
    let at = analyst.csrf();
    let r = analyst.post_form(
        "/actions",
        &[
            ("csrf", &at),
            ("alert_id", &alert),
            ("action", "isolate_host"),
            ("reason", "stop drill test"),
            ("params", "{\"host\": \"ws-7\"}"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let on = manager.post_form("/settings/stop", &[("csrf", &mt), ("on", "true"), ("reason", "drill")]);
    assert_eq!(on.status, 303);
    // A banner on every page while it is on.
    for p in ["/queue", "/incidents", "/approvals", "/dashboards", "/settings"] {
        assert!(analyst.get(p).body.contains("The stop switch is on"), "{p} has no stop banner");
    }
    let mut senior = s.signed_in("demo-senior");
    let st = senior.csrf();
    let page = senior.get("/approvals");
    let at_card = page.body.find("stop drill test").expect("the request is in the inbox");
    let id = page.body[..at_card]
        .rsplit("<article class=\"card\" id=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("ar-"), "{id}");
    let r = senior.post_form(&format!("/actions/{id}/approve"), &[("csrf", &st), ("reason", "confirmed")]);
    assert_eq!(r.status, 303, "the approval is recorded, not refused: {}", r.body);
    assert_eq!(r.header("location"), Some("/approvals?done=approved_not_run"));
    let waiting = senior.get("/approvals?done=approved_not_run");
    assert!(waiting.body.contains("The action has not run: the stop switch is on"));
    assert!(waiting.body.contains(&format!("id=\"run-{id}\"")), "listed as approved, waiting to run");
    assert!(!waiting.body.contains(&format!("/actions/{id}/execute")), "no run button while the switch is on");
    let run = |c: &mut common::Client, t: &str, confirm: bool| {
        let mut form = vec![("csrf", t)];
        if confirm {
            form.push(("confirm", "on"));
        }
        c.post_form(&format!("/actions/{id}/execute"), &form)
    };
    assert_eq!(run(&mut senior, &st, true).status, 409, "still refused by the switch");
    let off = manager.post_form("/settings/stop", &[("csrf", &mt), ("on", "false"), ("reason", "drill over")]);
    assert_eq!(off.status, 303);
    assert!(!analyst.get("/queue").body.contains("The stop switch is on"));
    let unconfirmed = run(&mut senior, &st, false);
    assert_eq!(unconfirmed.status, 400, "a medium-tier run asks for confirmation");
    assert!(unconfirmed.body.contains("confirmation"));
    let ran = run(&mut senior, &st, true);
    assert_eq!(ran.header("location"), Some("/approvals?done=executed"), "{}", ran.body);
    let after = senior.get("/approvals?done=executed");
    assert!(after.body.contains("dry run: isolate_host recorded, not sent"), "the executor's own answer is shown");
    assert_eq!(run(&mut senior, &st, true).status, 409, "it runs once");
}

#[test]
fn hostile_alert_text_is_shown_as_inert_text() {
    let s = DemoServer::start();
    let hostile = r#"{"event_type":"alert","src_ip":"10.0.0.9","alert":{"signature":"<script>alert(1)</script><img src=x onerror=alert(2)>","severity":1},"note":"\"><svg onload=alert(3)>"}"#;
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], hostile.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let id = v["alert_ids"][0].as_str().unwrap().to_owned();
    let mut c = s.signed_in("demo-analyst");
    let page = c.get(&format!("/alerts/{id}"));
    assert_eq!(page.status, 200);
    for raw in ["<script", "<img", "<svg onload"] {
        assert!(!page.body.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "shown as text");
    assert!(page.body.contains("AI-generated"), "the summary is labelled");
    let q = c.get("/queue?state=all");
    assert!(!q.body.contains("<script"));
}

#[test]
fn the_demo_gives_every_page_content() {
    let s = DemoServer::start();
    let mut c = s.signed_in("demo-manager");
    let d = c.get("/dashboards");
    for chart in [
        "Reliability diagram",
        "Recall per ATT&amp;CK tactic",
        "Acceptance and override rate",
        "Time to triage",
        "ATT&amp;CK coverage heat map",
    ] {
        assert!(d.body.contains(chart), "{chart}");
    }
    assert!(d.body.matches("<circle").count() > 0, "the reliability diagram has points from the demo decisions");
    assert!(d.body.contains("cell detected"), "the heat map shows what the analyzer detects");
    assert!(d.body.contains("Blind spots") && d.body.contains("Acceptance per analyzer version"));
    assert!(d.body.contains("Model spend") && d.body.contains("No generative provider is configured"));
    assert!(d.body.contains("<td>local"), "the demo's decisions are counted per analyzer version");
    let a = c.get("/approvals");
    assert!(a.body.contains(&s.waiting_action) && a.body.contains("reset credentials"));
    assert!(a.body.contains("demo-senior"), "the first approver is shown");
    let audit = c.get("/audit");
    assert!(audit.body.contains("✓ Verified"), "{}", audit.body);
    let settings = c.get("/settings");
    for s in [
        "Routing policy",
        "Risk matrix",
        "Analyzer providers",
        "Data-processing register",
        "on_prem",
        "Detection rules",
        "Only the built-in detections",
    ] {
        assert!(settings.body.contains(s), "{s}");
    }
}

#[test]
fn people_see_alerts_by_the_view_policy_for_their_roles() {
    let s = DemoServer::start();
    let alert = r#"{"event_type":"alert","src_ip":"10.0.0.9","dest_ip":"203.0.113.7","user":"jdoe","alert":{"signature":"Payment page login by jdoe for anna.kowalski@example.com","severity":2}}"#;
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], alert.as_bytes());
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["alert_ids"][0].as_str().unwrap().to_owned();

    // An analyst: the account and the addresses they act on as they are, the customer's e-mail as a token.
    let mut analyst = s.signed_in("demo-analyst");
    let page = analyst.get(&format!("/alerts/{id}"));
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("kowalski"), "the customer's address reached an analyst");
    assert!(page.body.contains("&lt;EMAIL_"), "shown as a token instead");
    assert!(page.body.contains("jdoe") && page.body.contains("203.0.113.7"), "operational identifiers are shown");
    let token = format!("Bearer {}", s.tokens["demo-analyst"]);
    let v = api.request("GET", &format!("/api/v1/alerts/{id}"), &[("Authorization", &token)], b"");
    assert_eq!(v.status, 200);
    assert!(!v.body.contains("kowalski") && v.body.contains("jdoe"), "{}", v.body);
    assert!(!analyst.get("/queue?state=all").body.contains("kowalski"));

    // The auditor's evidence bundle shows tokens, for the account too.
    let mut auditor = s.signed_in("demo-auditor");
    let b = auditor.get(&format!("/audit/bundle?alert={id}"));
    assert_eq!(b.status, 200);
    assert!(!b.body.contains("kowalski") && !b.body.contains("jdoe") && b.body.contains("\"view\""), "{}", b.body);

    // A manager is a responder too: the same view, and may re-identify a token when there is a reason.
    let mut manager = s.signed_in("demo-manager");
    let mpage = manager.get(&format!("/alerts/{id}"));
    assert!(!mpage.body.contains("kowalski") && mpage.body.contains("jdoe"));

    // Texts people write about the alert are shown by the same policy, whoever typed them.
    let t = manager.csrf();
    let r = manager.post_form(
        "/actions",
        &[
            ("csrf", &t),
            ("alert_id", &id),
            ("action", "disable_account"),
            ("reason", "lock jdoe out; tell anna.kowalski@example.com"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let inbox = analyst.get("/approvals");
    assert!(inbox.body.contains("disable account") && !inbox.body.contains("kowalski"), "the inbox leaks the e-mail");
    let at = inbox.body.find("disable account").unwrap();
    let action_id = inbox.body[at..].split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let v = api.request("GET", &format!("/api/v1/actions/{action_id}"), &[("Authorization", &token)], b"");
    assert_eq!(v.status, 200);
    assert!(v.body.contains("lock jdoe out") && !v.body.contains("kowalski"), "{}", v.body);
}

#[test]
fn an_analyst_can_claim_an_alert_from_its_page() {
    let s = DemoServer::start();
    let mut c = s.signed_in("demo-analyst");
    let q = c.get("/queue?state=new");
    let at = q.body.find("href=\"/alerts/").expect("a new alert");
    let id = q.body[at + 14..].split('"').next().unwrap().to_owned();
    let page = c.get(&format!("/alerts/{id}"));
    assert!(page.body.contains("Review: <strong>new</strong>") && page.body.contains("Claim it"));
    let t = c.csrf();
    assert_eq!(c.post_form(&format!("/alerts/{id}/claim"), &[]).status, 403, "no token, no claim");
    assert_eq!(c.post_form(&format!("/alerts/{id}/claim"), &[("csrf", &t)]).status, 303);
    let page = c.get(&format!("/alerts/{id}?done=claimed"));
    assert!(page.body.contains("in review</strong> · assigned to demo-analyst"), "{}", page.body);
    assert!(!page.body.contains("Claim it"));
}

#[test]
fn sessions_and_lockouts_survive_a_restart_and_operators_can_end_them() {
    let mut s = DemoServer::start();
    let mut analyst = s.signed_in("demo-analyst");
    assert_eq!(analyst.get("/queue").status, 200);
    let mut c = s.client();
    for i in 0..5 {
        assert_eq!(c.login("demo-manager", &format!("guess {i}")).status, 401);
    }
    s.restart();
    analyst.addr = s.addr.clone();
    assert_eq!(analyst.get("/queue").status, 200, "still signed in after the restart");
    let mut c = s.client();
    assert_eq!(c.login("demo-manager", &s.passwords["demo-manager"]).status, 429, "still locked out");
    let out = common::warden(s.data()).args(["users", "unlock", "demo-manager"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(c.login("demo-manager", &s.passwords["demo-manager"]).status, 303, "unlocked");
    let out = common::warden(s.data()).args(["users", "sign-out", "demo-analyst"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 session(s) of demo-analyst ended"), "{out:?}");
    assert_eq!(analyst.get("/queue").status, 303, "signed out by the operator");
}

/// Every page carries the strict CSP, no script, and a label for every field.
#[test]
fn every_page_is_locked_down_and_every_field_is_labelled() {
    let s = DemoServer::start();
    let mut c = s.signed_in("demo-manager");
    let alert = first_alert(&mut c);
    let mut anon = s.client();
    let mut pages = vec![("login".to_owned(), anon.get("/login"))];
    let incident = first_incident(&mut c, "");
    for p in [
        "/queue",
        "/incidents",
        &format!("/incidents/{incident}"),
        "/entities/host:ws01",
        "/approvals",
        "/dashboards",
        "/audit",
        "/settings",
        &format!("/alerts/{alert}"),
    ] {
        pages.push((p.to_owned(), c.get(p)));
    }
    for (p, r) in &pages {
        assert_eq!(r.status, 200, "{p}");
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{p} has no CSP"));
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe"), "{p}: {csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{p}");
        assert!(!r.body.contains("<script"), "{p}");
        // No inline style or event-handler attribute in any tag.
        for tag in r.body.split('<').skip(1).map(|t| t.split('>').next().unwrap_or_default()) {
            let inline = tag.split_whitespace().skip(1).filter(|attr| attr.contains('=')).any(|attr| {
                let name = attr.split('=').next().unwrap_or_default();
                name == "style"
                    || (name.starts_with("on") && name.len() > 2 && name[2..].bytes().all(|b| b.is_ascii_lowercase()))
            });
            assert!(!inline, "{p}: <{tag}>");
        }
        // Each visible field has a <label for=…> or an aria-label.
        for tag in ["<input", "<select", "<textarea"] {
            for (at, _) in r.body.match_indices(tag) {
                let el = &r.body[at..at + r.body[at..].find('>').unwrap()];
                if el.contains("type=\"hidden\"") || el.contains("type=\"radio\"") {
                    continue;
                }
                let labelled = el.contains("aria-label")
                    || el
                        .split("id=\"")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .is_some_and(|id| r.body.contains(&format!("for=\"{id}\"")))
                    || r.body[..at].rfind("<label").is_some_and(|l| !r.body[l..at].contains("</label>"));
                assert!(labelled, "{p}: unlabelled field {el}");
            }
        }
    }
}

#[test]
fn a_long_queue_comes_in_pages() {
    let s = DemoServer::start();
    let body: Vec<String> = (0..150)
        .map(|i| format!(r#"{{"event_type":"alert","src_ip":"10.0.0.{}","dest_ip":"10.9.0.1","alert":{{"signature":"LOCAL test {i}","severity":2}}}}"#, i % 250))
        .collect();
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    assert_eq!(
        api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], body.join("\n").as_bytes()).status,
        200
    );
    let mut c = s.signed_in("demo-analyst");
    let first = c.get("/queue?state=all");
    let total: usize =
        first.body.split("Review queue <small>").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(total >= 150, "{total}");
    assert_eq!(first.body.matches("href=\"/alerts/").count(), 100);
    assert!(first.body.contains(&format!("1–100 of {total}")) && first.body.contains("state=all&amp;page=2"));
    let last_page = total.div_ceil(100);
    let last = c.get(&format!("/queue?state=all&page={last_page}"));
    assert_eq!(last.body.matches("href=\"/alerts/").count(), total - (last_page - 1) * 100);
    assert!(last.body.contains("rel=\"prev\"") && !last.body.contains("rel=\"next\""));
    assert_eq!(c.get("/queue?state=all&page=999").status, 200, "past the end shows the last page");
}

/// Bad form input gets a 400 naming the problem, and nothing is recorded.
#[test]
fn bad_form_input_is_refused_with_a_clear_message() {
    let s = DemoServer::start();
    let mut c = s.signed_in("demo-analyst");
    let q = c.get("/queue?state=new");
    let at = q.body.find("href=\"/alerts/").expect("an undecided alert");
    let id = q.body[at + 14..].split('"').next().unwrap().to_owned();
    let t = c.csrf();
    let path = format!("/alerts/{id}/decision");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("verdict", "maybe")], "Choose a verdict"),
        (&[("verdict", "malicious"), ("techniques", "T1059, mimikatz")], "mimikatz"),
        (&[("verdict", "malicious"), ("reason_code", "because")], "unknown reason code"),
        (&[("verdict", "malicious"), ("rating", "lots")], "Rate from 1 to 5"),
    ];
    for (fields, message) in cases {
        let mut form = vec![("csrf", t.as_str())];
        form.extend_from_slice(fields);
        let r = c.post_form(&path, &form);
        assert_eq!(r.status, 400, "{fields:?}");
        assert!(r.body.contains(message), "{fields:?}: {}", r.body);
    }
    let before = c.get("/approvals").body.matches("<article").count();
    for (fields, message) in [
        (vec![("action", "launch_missiles"), ("reason", "x")], "launch_missiles"),
        (
            vec![("action", "isolate_host"), ("reason", "x"), ("params", "{not json")],
            "Parameters must be a JSON object",
        ),
    ] {
        let mut form = vec![("csrf", t.as_str()), ("alert_id", id.as_str())];
        form.extend(fields);
        let r = c.post_form("/actions", &form);
        assert_eq!(r.status, 400, "{form:?}");
        assert!(r.body.contains(message), "{}", r.body);
    }
    assert!(!c.get(&format!("/alerts/{id}")).body.contains("AI said"), "no decision was recorded");
    assert_eq!(c.get("/approvals").body.matches("<article").count(), before, "no action was requested");
}

#[test]
fn the_hec_endpoint_keeps_the_good_events_of_a_mixed_batch_and_dead_letters_the_rest() {
    let s = DemoServer::start();
    let mut api = s.client();
    let auth = format!("Splunk {}", s.api_token);
    let good = |n: u32| format!(r#"{{"event":{{"message":"hec test event {n}","host":{{"name":"ws-{n}"}}}}}}"#);
    let body = format!("{}\n\0\n{}\n{{\"event\": {{\"a\": [[[[\n{{\"foo\":1}}\n", good(1), good(2));
    let mut bytes = body.into_bytes();
    bytes.extend_from_slice(b"{\"event\":\"\xff\xfe\"}\n");
    let r = api.request("POST", "/services/collector/event", &[("Authorization", &auth)], &bytes);
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["accepted"], 2, "{v}");
    let rejected = v["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 4, "NUL, a cut-off object, an object without an event, invalid UTF-8: {v}");
    assert!(rejected.iter().all(|x| x["dead_letter"].as_str().is_some_and(|d| d.starts_with("dl-"))), "{v}");
    assert!(rejected.iter().any(|x| x["error"].as_str().unwrap().contains("needs an \"event\"")), "{v}");
    // Only bad input: 422, and still dead-lettered.
    let r = api.request("POST", "/services/collector/event", &[("Authorization", &auth)], b"{not json");
    assert_eq!(r.status, 422, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["rejected"].as_array().unwrap().len(), 1, "{v}");
}

#[test]
fn duplicate_keys_and_numbers_that_would_change_are_refused_with_a_clear_error() {
    let s = DemoServer::start();
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    for (body, says) in [
        (r#"{"cmdline":"mimikatz.exe sekurlsa::logonpasswords","cmdline":"notepad.exe"}"#, "appears twice"),
        (r#"{"message":"x","bytes":18446744073709551616}"#, "64 bits"),
        (r#"{"message":"x","ratio":1e-999}"#, "underflows"),
    ] {
        let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], body.as_bytes());
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert!(r.body.contains(says) && r.body.contains("dl-"), "{body}: {}", r.body);
        let hec = format!(r#"{{"event":{body}}}"#);
        let h = api.request(
            "POST",
            "/services/collector/event",
            &[("Authorization", &format!("Splunk {}", s.api_token))],
            hec.as_bytes(),
        );
        assert_eq!(h.status, 422, "HEC {body}: {}", h.body);
        assert!(h.body.contains(says), "HEC {body}: {}", h.body);
    }
}

#[test]
fn ingest_requests_write_no_checkpoint_each_and_sigterm_signs_one_covering_every_entry() {
    let mut s = DemoServer::start();
    let checkpoints = |d: &std::path::Path| {
        std::fs::read_dir(d.join("checkpoints"))
            .map(|r| r.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "checkpoint")).count())
            .unwrap_or(0)
    };
    let before = checkpoints(s.data());
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    for i in 0..20 {
        let body = format!(r#"{{"message":"checkpoint test {i}","host":{{"name":"ws-{i}"}}}}"#);
        assert_eq!(api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], body.as_bytes()).status, 200);
    }
    let during = checkpoints(s.data());
    assert!(during <= before + 1, "{before} checkpoints before 20 requests, {during} after: one per request");
    let status = s.terminate();
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    let conn = rusqlite::Connection::open(s.data().join("warden.db")).unwrap();
    let entries: u64 = conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap();
    drop(conn);
    let v = common::warden(s.data()).args(["audit", "verify"]).output().unwrap();
    let out = String::from_utf8_lossy(&v.stdout).to_string() + &String::from_utf8_lossy(&v.stderr);
    assert!(v.status.success(), "{out}");
    assert!(
        out.contains(&format!("checkpoint at size {entries} verified")),
        "the newest checkpoint covers all {entries} entries: {out}"
    );
    assert!(!out.contains("not yet protected"), "{out}");
    assert!(checkpoints(s.data()) > during, "a checkpoint was signed at shutdown");
}

#[test]
fn a_request_that_runs_out_of_time_stops_and_says_what_it_committed() {
    let s =
        DemoServer::start_with(&[("WARDEN_SERVER__REQUEST_TIMEOUT_SECS", "1"), ("WARDEN_PIPELINE__BATCH_SIZE", "20")]);
    let alerts = |d: &std::path::Path| -> u64 {
        let conn = rusqlite::Connection::open(d.join("warden.db")).unwrap();
        conn.query_row("SELECT count(*) FROM alerts", [], |r| r.get(0)).unwrap()
    };
    let before = alerts(s.data());
    let n = 20_000;
    let body: String =
        (0..n).map(|i| format!("{{\"message\":\"bulk event {i}\",\"host\":{{\"name\":\"h{}\"}}}}\n", i % 50)).collect();
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], body.as_bytes());
    assert_eq!(r.status, 503, "{}", &r.body[..r.body.len().min(300)]);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["complete"], false);
    let accepted = v["accepted"].as_u64().unwrap();
    assert!(accepted < n, "{accepted} of {n}");
    assert_eq!(v["processed"].as_u64().unwrap(), accepted + v["rejected"].as_array().unwrap().len() as u64);
    // Nothing goes on after the answer: what is stored is what was acknowledged.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(alerts(s.data()) - before, accepted, "the server kept ingesting after it answered");
}

#[test]
fn credentials_are_checked_before_the_body_and_only_people_who_work_alerts_may_send_them() {
    let s = DemoServer::start();
    let mut api = s.client();
    let bad = b"{not json";
    let none = api.request("POST", "/api/v1/actions", &[("Content-Type", "application/json")], bad);
    assert_eq!(none.status, 401, "no token, bad body: 401 first: {}", none.body);
    let forged = api.request(
        "POST",
        "/api/v1/actions",
        &[("Content-Type", "application/json"), ("Authorization", "Bearer not-a-token")],
        bad,
    );
    assert_eq!(forged.status, 401, "{}", forged.body);
    let analyst = format!("Bearer {}", s.tokens["demo-analyst"]);
    let real = api.request(
        "POST",
        "/api/v1/actions",
        &[("Content-Type", "application/json"), ("Authorization", &analyst)],
        bad,
    );
    assert!(real.status == 400 || real.status == 422, "with a valid token the body is judged: {}", real.status);

    let alert = br#"{"message":"who may send this","host":{"name":"ws-9"}}"#;
    for (user, want) in [("demo-analyst", 200), ("demo-auditor", 403), ("demo-admin", 403)] {
        let auth = format!("Bearer {}", s.tokens[user]);
        let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], alert);
        assert_eq!(r.status, want, "{user}: {}", r.body);
    }
}

#[test]
fn a_body_over_the_limit_is_refused_and_kept_as_a_dead_letter_with_its_size_and_hash() {
    let s = DemoServer::start_with(&[("WARDEN_SERVER__MAX_BODY_BYTES", "100000")]);
    let mut api = s.client();
    let auth = format!("Bearer {}", s.api_token);
    let body: String = (0..3000).map(|i| format!("{{\"message\":\"oversize body line {i}\"}}\n")).collect();
    assert!(body.len() > 100_000);
    for path in ["/api/v1/alerts", "/services/collector/event"] {
        let r = api.request("POST", path, &[("Authorization", &auth)], body.as_bytes());
        assert_eq!(r.status, 413, "{path}: {}", r.body);
        assert!(r.body.contains("dead letter dl-"), "{path}: {}", r.body);
    }
    let conn = rusqlite::Connection::open(s.data().join("warden.db")).unwrap();
    let (n, reason, raw): (u64, String, Vec<u8>) = conn
        .query_row(
            "SELECT count(*), max(reason), max(raw) FROM dead_letters WHERE reason LIKE 'request body of%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(n, 2, "one dead letter per refused body");
    assert!(reason.contains(&format!("{} bytes", body.len())) && reason.contains("SHA-256"), "{reason}");
    assert_eq!(raw.len(), 64 << 10, "the first 64 KiB are kept");
    assert_eq!(&raw[..], &body.as_bytes()[..64 << 10]);
}

#[test]
fn ingest_beyond_its_slots_is_refused_before_the_body_is_read_and_told_when_to_retry() {
    use std::io::Write;
    let s = DemoServer::start_with(&[("WARDEN_SERVER__MAX_CONCURRENT_INGEST", "1")]);
    let auth = format!("Bearer {}", s.api_token);
    // A client that holds the only slot: headers sent, the body still coming.
    let mut slow = std::net::TcpStream::connect(&s.addr).unwrap();
    write!(slow, "POST /api/v1/alerts HTTP/1.1\r\nHost: t\r\nAuthorization: {auth}\r\nContent-Length: 100000\r\n\r\n{{\"message\":").unwrap();
    slow.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut api = s.client();
    let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], br#"{"message":"second"}"#);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("busy") && r.header("retry-after") == Some("1"), "{}", r.body);
    drop(slow);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r = api.request("POST", "/api/v1/alerts", &[("Authorization", &auth)], br#"{"message":"third"}"#);
    assert_eq!(r.status, 200, "the slot is free again once the slow client is gone: {}", r.body);
}
