//! End to end in headless Chromium, driven over W3C WebDriver by Debian's
//! `chromedriver`: an analyst signs in, decides an alert and requests a
//! medium action; a senior analyst approves it, and cannot approve a
//! request of their own; an auditor sees the audit trail verify.
//! Screenshots of every step land in `target/tmp/browser/` (kept by CI as
//! artefacts).
//!
//! Skipped, with the reason printed, when `chromedriver` is not installed,
//! unless `WARDEN_BROWSER_TESTS=1` (set by `.ci/run`, which installs it) —
//! then its absence is a failure.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::DemoServer;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn driver_path() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// A chromedriver process and one browser session on it.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    shots: PathBuf,
    step: u32,
}

impl Browser {
    fn start(driver: &PathBuf) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
        std::fs::create_dir_all(&shots).unwrap();
        let mut b = Browser { driver: child, base, session: String::new(), agent, shots, step: 0 };
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"]
        }}}});
        let v = b.call("POST", "/session", Some(caps));
        b.session = v["sessionId"].as_str().expect("a WebDriver session").to_owned();
        b
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_call(method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// One WebDriver command; its error (such as an element gone stale while
    /// a page loads) as text.
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{}", self.base, path);
        let res = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut res = res.map_err(|e| e.to_string())?;
        let text = res.body_mut().read_to_string().map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|_| text.clone())?;
        if !v["value"]["error"].is_null() {
            return Err(v["value"].to_string());
        }
        Ok(v["value"].clone())
    }

    fn s(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({"url": url})));
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.call("POST", &self.s("/elements"), Some(json!({"using": "css selector", "value": css})));
        v.as_array().unwrap().iter().map(|e| e[ELEMENT].as_str().unwrap().to_owned()).collect()
    }

    /// The first element matching `css`, waiting up to 15 s for it to appear
    /// (a click that submits a form returns before the next page has loaded).
    fn find(&self, css: &str) -> String {
        self.wait(&format!("an element {css}"), || self.find_all(css).into_iter().next())
    }

    /// Polls `f` until it gives a value, for up to 15 s.
    fn wait<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(Instant::now() < deadline, "waited 15 s for {what} on {}", self.url());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks a submit button and waits for the page that says `notice`.
    fn submit(&self, css: &str, notice: &str) {
        self.click(css);
        self.wait(&format!("the notice {notice:?}"), || {
            let query = json!({"using": "css selector", "value": "p.notice[role=status]"});
            let found = self.try_call("POST", &self.s("/element"), Some(query)).ok()?;
            let id = found[ELEMENT].as_str()?;
            let text = self.try_call("GET", &self.s(&format!("/element/{id}/text")), None).ok()?;
            (text.as_str() == Some(notice)).then_some(())
        });
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/click")), None);
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &self.s(&format!("/element/{e}/value")), Some(json!({"text": text})));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &self.s(&format!("/element/{e}/text")), None).as_str().unwrap_or_default().to_owned()
    }

    fn url(&self) -> String {
        self.call("GET", &self.s("/url"), None).as_str().unwrap_or_default().to_owned()
    }

    fn source(&self) -> String {
        self.call("GET", &self.s("/source"), None).as_str().unwrap_or_default().to_owned()
    }

    /// Saves a full-window PNG named after the step.
    fn shot(&mut self, name: &str) {
        use base64::Engine as _;
        self.step += 1;
        let b64 = self.call("GET", &self.s("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.step)), png).unwrap();
    }

    fn sign_in(&self, server: &DemoServer, user: &str) {
        self.go(&format!("http://{}/login", server.addr));
        self.type_into("#user", user);
        self.type_into("#password", &server.passwords[user]);
        self.click("form[action='/login'] button[type=submit]");
        self.wait(&format!("{user} to land on the queue"), || {
            let u = self.url();
            (u.ends_with("/queue") && !u.contains("/login")).then_some(())
        });
    }

    fn sign_out(&self) {
        self.click("form.who button");
        self.wait("the sign-in page", || self.url().contains("/login").then_some(()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.agent.delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn analyst_decides_and_requests_senior_approves_auditor_verifies() {
    let Some(driver) = driver_path() else {
        if std::env::var("WARDEN_BROWSER_TESTS").is_ok_and(|v| v == "1") {
            panic!(
                "WARDEN_BROWSER_TESTS=1 but chromedriver is not installed (apt-get install -y chromium chromium-driver)"
            );
        }
        eprintln!("skipped: chromedriver not installed (apt-get install -y chromium chromium-driver)");
        return;
    };
    let server = DemoServer::start();
    let mut b = Browser::start(&driver);

    // The analyst works one incident: list → incident (narrative, timeline) → decision → an action from it.
    b.sign_in(&server, "demo-analyst");
    assert!(b.text("h1").starts_with("Review queue"));
    b.shot("analyst-queue");
    b.go(&format!("http://{}/incidents", server.addr));
    assert!(b.text("h1").starts_with("Incidents"));
    b.shot("analyst-incidents");
    b.click("table.queue tbody tr a");
    b.wait("the incident page", || b.url().contains("/incidents/inc-").then_some(()));
    let incident_url = b.url();
    assert!(b.text("#narrative").starts_with("What happened"));
    assert!(b.source().contains("every cited alert and field is in this incident"), "the narrative is grounded");
    assert!(!b.find_all("table.timeline tr").is_empty(), "a timeline");
    assert!(!b.find_all("ol.strip li.hit").is_empty(), "the kill-chain strip marks its tactics");
    b.shot("analyst-incident");
    b.click("form[aria-label=Decision] input[name=verdict][value=malicious]");
    b.type_into("#comment", "one intrusion, worked as a whole");
    // The demo's own decisions may have said otherwise on some of its alerts.
    b.click("form[aria-label=Decision] input[name=supersedes]");
    b.submit("form[aria-label=Decision] button[type=submit]", "Decision recorded on every alert of the incident.");
    assert!(b.text(".verdict").contains("decided"));
    b.shot("analyst-incident-decided");
    b.click("a[href$='#actions']");
    b.wait("the incident's first alert", || b.url().contains("/alerts/al-").then_some(()));
    b.click("#action-kind option[value=isolate_host]");
    b.type_into("#action-reason", "host beacons to a known C2 address");
    b.type_into("#action-params", "{\"host\": \"ws-042\"}");
    b.submit("form[aria-label='Request an action'] button[type=submit]", "Action requested.");
    let page = b.source();
    let at = page.find("</code></a> isolate host").expect("the requested action is listed on the alert");
    let id = page[..at].rsplit("<code>").next().unwrap().split("</code>").next().unwrap().to_owned();
    assert!(id.starts_with("ar-"), "{id}");
    b.shot("analyst-requested");
    b.go(&format!("http://{}/approvals", server.addr));
    assert!(b.text(&format!("[id='{id}']")).contains("You asked for this action"));

    // And one alert on its own: queue → alert → decision.
    b.go(&format!("http://{}/queue", server.addr));
    b.click("table.queue tbody tr a");
    b.wait("the alert page", || b.url().contains("/alerts/al-").then_some(()));
    let alert_url = b.url();
    assert!(b.source().contains("AI-generated"), "the summary is labelled as AI output");
    assert!(b.find_all("input[name=verdict]:checked").is_empty(), "no verdict is pre-selected");
    b.shot("analyst-alert");
    b.click("input[name=verdict][value=suspicious]");
    b.type_into("#comment", "checked the parent process by hand");
    b.click("input[name=supersedes]");
    b.submit("form[aria-label=Decision] button[type=submit]", "Decision recorded.");
    assert!(b.source().contains("checked the parent process by hand"));
    b.shot("analyst-decided");
    b.sign_out();

    // The senior analyst approves it from the inbox.
    b.sign_in(&server, "demo-senior");
    b.go(&format!("http://{}/approvals", server.addr));
    let card = format!("[id='{id}']");
    assert!(b.text(&card).contains("Asked by demo-analyst"));
    b.shot("senior-inbox");
    b.type_into(&format!("#reason-{id}"), "confirmed the beaconing in the proxy log");
    b.submit(&format!("{card} form[action$='/approve'] button"), "Approval recorded.");
    assert!(b.find_all(&card).is_empty(), "no longer waiting");
    b.shot("senior-approved");
    b.go(&incident_url);
    assert!(b.text(".verdict").contains("malicious"), "the senior sees the incident as decided");
    b.go(&format!("http://{}/dashboards", server.addr));
    assert_eq!(b.find_all("svg.chart").len(), 5, "five charts drawn on the server");
    b.shot("senior-dashboards");

    // A request of their own shows no approve button (the server's refusal is in tests/web.rs).
    b.go(&alert_url);
    b.click("#action-kind option[value=block_indicator]");
    b.type_into("#action-reason", "block the C2 address");
    b.submit("form[aria-label='Request an action'] button[type=submit]", "Action requested.");
    b.go(&format!("http://{}/approvals", server.addr));
    let src = b.source();
    let at = src.find("block indicator").expect("own request in the inbox");
    let own_id = src[at..].split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let own_card = format!("[id='{own_id}']");
    assert!(b.text(&own_card).contains("You asked for this action"));
    assert!(b.find_all(&format!("{own_card} form[action$='/approve']")).is_empty(), "no approve button");
    b.shot("senior-own-request");
    b.sign_out();

    // The auditor sees the trail verify.
    b.sign_in_auditor(&server);
    assert!(b.text(".verify-status").starts_with("✓ Verified"), "{}", b.text(".verify-status"));
    b.shot("auditor-audit");
}

impl Browser {
    /// Auditors do not review alerts: signing in takes them to the audit page.
    fn sign_in_auditor(&self, server: &DemoServer) {
        self.go(&format!("http://{}/login", server.addr));
        self.type_into("#user", "demo-auditor");
        self.type_into("#password", &server.passwords["demo-auditor"]);
        self.click("form[action='/login'] button[type=submit]");
        // Not just "ends with /audit": the sign-in page's own address does too.
        self.wait("the audit page", || {
            let u = self.url();
            (u.ends_with("/audit") && !u.contains("/login")).then_some(())
        });
    }
}
