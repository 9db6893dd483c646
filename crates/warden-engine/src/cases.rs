//! Case management: an approved action sends an incident (or a lone alert)
//! to TheHive 5, DFIR-IRIS or Jira, where the SOC works its cases.
//!
//! Each executor is idempotent by the *case key* (the incident's id, or the
//! alert's when it belongs to none): before creating anything it asks the
//! remote system for a record carrying that key (TheHive's `sourceRef`,
//! IRIS's `case_soc_id`, a Jira label), so a retry after a lost answer, a
//! second request for the same incident or a person pressing the button
//! twice all find the first case instead of making another. The remote id
//! and link are recorded on the action and in its audit entry.
//!
//! Cases carry the analyst-facing content as Warden holds it (incident
//! title, narrative, techniques, entities as observables): these are the
//! SOC's own systems, not AI providers, so no provider policy applies.

use std::time::Duration;

use serde_json::{Value, json};
use warden_core::Canon;
use warden_govern::{ApprovedAction, Remote};

use crate::actions::{Executor, Outcome, Target};
use crate::{Engine, EngineError};

/// What is sent: everything the case systems need, built once per run.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The incident id, or the alert id when the alert is in no incident.
    pub key: String,
    pub title: String,
    pub description: String,
    /// critical, high, medium, low or info.
    pub severity: String,
    pub techniques: Vec<String>,
    /// (kind, value): kinds are Warden's entity kinds (host, user, src, dst, hash, process).
    pub observables: Vec<(String, String)>,
}

impl Engine {
    /// The case for an action about `alert_id`: its incident's, when it has one.
    pub(crate) fn case_for(&self, alert_id: Option<&str>) -> Result<Option<Case>, EngineError> {
        let Some(alert_id) = alert_id else { return Ok(None) };
        if let Some(incident) = self.store().incident_of(alert_id)? {
            return self.incident_case(&incident).map(Some);
        }
        let Some(aid) = warden_core::AlertId::parse(alert_id) else { return Ok(None) };
        let Some(rec) = self.store().alert(&aid)? else { return Ok(None) };
        let a = &rec.alert;
        let assessment = rec.assessment.as_ref();
        let title = a
            .canonical_text(Canon::RuleName)
            .or_else(|| assessment.map(|x| x.summary.clone()))
            .unwrap_or_else(|| format!("Warden alert {alert_id}"));
        let mut observables = Vec::new();
        for (canon, kind) in [
            (Canon::Host, "host"),
            (Canon::User, "user"),
            (Canon::SourceIp, "src"),
            (Canon::DestinationIp, "dst"),
            (Canon::Image, "process"),
        ] {
            if let Some(v) = a.canonical_text(canon).filter(|v| !v.is_empty()) {
                observables.push((kind.to_owned(), v));
            }
        }
        let description = match assessment {
            Some(x) => format!("{}\n\nWarden alert {alert_id}: {} ({})", x.summary, x.verdict, x.severity),
            None => format!("Warden alert {alert_id}"),
        };
        Ok(Some(Case {
            key: alert_id.to_owned(),
            title,
            description,
            severity: assessment.map(|x| x.severity.to_string()).unwrap_or_else(|| "medium".into()),
            techniques: assessment.map(|x| x.techniques.iter().map(|t| t.to_string()).collect()).unwrap_or_default(),
            observables,
        }))
    }
}

/// HTTP to a case system: one agent, the API key on every request, retries
/// on timeouts, connection errors, 429 and 5xx.
struct Client {
    base: String,
    auth: String,
    agent: ureq::Agent,
    retries: u32,
}

impl Client {
    /// For executor `name`: its base URL and timeouts, and the
    /// `Authorization` header `auth` makes from the API key.
    fn for_executor(
        name: &str,
        cfg: &crate::config::ExecutorConfig,
        auth: impl FnOnce(&str) -> String,
    ) -> Result<Self, EngineError> {
        let var = cfg.secret_env.as_deref().unwrap_or_default();
        let key = std::env::var(var)
            .map_err(|_| EngineError::Invalid(format!("executor {name}: the API key variable {var} is not set")))?;
        Ok(Client {
            base: cfg.url.as_deref().unwrap_or_default().trim_end_matches('/').to_owned(),
            auth: auth(&key),
            agent: crate::actions::http_agent(Duration::from_secs(cfg.timeout_secs)),
            retries: cfg.retries,
        })
    }

    /// Sends and returns the status and the JSON answer (Null when there is none).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), String> {
        use warden_analyze::retry::{Attempt, http_failure};
        let policy = crate::actions::retry_policy(self.retries);
        let url = format!("{}{path}", self.base);
        let tried = policy.run(|_| {
            let sent = match (method, body) {
                ("GET", _) => self.agent.get(&url).header("Authorization", &self.auth).call(),
                (_, b) => self
                    .agent
                    .post(&url)
                    .header("Authorization", &self.auth)
                    .header("Content-Type", "application/json")
                    .send(serde_json::to_vec(b.unwrap_or(&Value::Null)).unwrap_or_default().as_slice()),
            };
            match sent {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    if status == 429 || status >= 500 {
                        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok());
                        return http_failure(status, retry_after);
                    }
                    let text = resp.body_mut().read_to_string().unwrap_or_default();
                    Attempt::Done((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
                }
                Err(e) => Attempt::Retry { why: e.to_string(), after: None },
            }
        });
        tried.result
    }

    fn expect(&self, method: &str, path: &str, body: Option<&Value>, what: &str) -> Result<Value, String> {
        match self.call(method, path, body)? {
            (s, v) if (200..300).contains(&s) => Ok(v),
            (401 | 403, _) => Err(format!("{what}: refused (HTTP 401/403): check the API key and its permissions")),
            (s, v) => Err(format!("{what}: HTTP {s}: {}", short(&v.to_string()))),
        }
    }
}

fn short(s: &str) -> String {
    if s.len() > 300 { format!("{}…", &s[..s.floor_char_boundary(300)]) } else { s.to_owned() }
}

/// One case system: what it calls its records, and how it files a case
/// (finding the record an earlier run made, if any).
trait CaseSystem: Send + Sync {
    const RECORD: &'static str;
    fn send(&self, case: &Case) -> Result<Remote, String>;
}

/// A case system as an executor.
struct CaseExecutor<S> {
    name: String,
    system: S,
}

impl<S: CaseSystem> Executor for CaseExecutor<S> {
    fn name(&self) -> &str {
        &self.name
    }
    fn execute(&self, _: &ApprovedAction, target: &Target) -> Outcome {
        outcome(S::RECORD, target, |c| self.system.send(c))
    }
    fn wants_case(&self) -> bool {
        true
    }
}

/// The executor of kind `thehive`, `iris` or `jira` named `name`.
pub fn executor(name: &str, cfg: &crate::config::ExecutorConfig) -> Result<Box<dyn Executor>, EngineError> {
    use base64::Engine as _;
    let bearer = |key: &str| format!("Bearer {key}");
    let named = name.to_owned();
    Ok(match cfg.kind.as_str() {
        "thehive" => {
            Box::new(CaseExecutor { name: named, system: TheHive { client: Client::for_executor(name, cfg, bearer)? } })
        }
        "iris" => Box::new(CaseExecutor {
            name: named,
            system: Iris { client: Client::for_executor(name, cfg, bearer)?, customer: cfg.customer_id },
        }),
        "jira" => {
            let user = cfg.user.clone();
            let auth = move |key: &str| match &user {
                Some(u) => format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{key}"))),
                None => format!("Bearer {key}"),
            };
            Box::new(CaseExecutor {
                name: named,
                system: Jira {
                    client: Client::for_executor(name, cfg, auth)?,
                    project: cfg.project.clone().unwrap_or_default(),
                    issue_type: cfg.issue_type.clone(),
                },
            })
        }
        other => return Err(EngineError::Invalid(format!("executor {name}: {other:?} is not a case system"))),
    })
}

/// Runs one case executor's `send` and turns its answer into an [`Outcome`].
fn outcome(system: &str, target: &Target, send: impl FnOnce(&Case) -> Result<Remote, String>) -> Outcome {
    let Some(case) = target.case else {
        return Outcome {
            ok: false,
            detail: format!("{system}: the action is about no alert, so there is no case to send"),
            attempts: 1,
            remote: None,
        };
    };
    match send(case) {
        Ok(r) => Outcome {
            ok: true,
            detail: format!("{} {system} {} ({})", if r.created { "created" } else { "already in" }, r.id, r.url),
            attempts: 1,
            remote: Some(r),
        },
        Err(e) => Outcome { ok: false, detail: e, attempts: 1, remote: None },
    }
}

/// TheHive 5: an alert (type `warden`, source `warden`, `sourceRef` the
/// case key) with the entities as observables.
struct TheHive {
    client: Client,
}

impl CaseSystem for TheHive {
    const RECORD: &'static str = "TheHive alert";

    fn send(&self, case: &Case) -> Result<Remote, String> {
        let query = json!({"query": [
            {"_name": "listAlert"},
            {"_name": "filter", "_and": [{"_field": "source", "_value": "warden"}, {"_field": "sourceRef", "_value": case.key}]},
        ]});
        let found = self.client.expect("POST", "/api/v1/query", Some(&query), "TheHive alert lookup")?;
        let remote = |id: &str, created| Remote {
            system: "thehive".into(),
            id: id.to_owned(),
            url: format!("{}/alerts/{id}/details", self.client.base),
            created,
        };
        if let Some(id) = found.as_array().and_then(|a| a.first()).and_then(|a| a["_id"].as_str()) {
            return Ok(remote(id, false));
        }
        let severity = match case.severity.as_str() {
            "critical" => 4,
            "high" => 3,
            "medium" => 2,
            _ => 1,
        };
        let observables: Vec<Value> = case
            .observables
            .iter()
            .map(|(kind, value)| {
                let data_type = match kind.as_str() {
                    "host" => "hostname",
                    "src" | "dst" => "ip",
                    "hash" => "hash",
                    "process" => "filename",
                    _ => "other",
                };
                json!({"dataType": data_type, "data": value, "tags": [format!("warden:{kind}")]})
            })
            .collect();
        let mut tags = vec!["warden".to_owned()];
        tags.extend(case.techniques.iter().map(|t| format!("attack:{t}")));
        let alert = json!({
            "type": "warden",
            "source": "warden",
            "sourceRef": case.key,
            "title": case.title,
            "description": case.description,
            "severity": severity,
            "tags": tags,
            "observables": observables,
        });
        let made = self.client.expect("POST", "/api/v1/alert", Some(&alert), "TheHive alert")?;
        let id = made["_id"].as_str().ok_or("TheHive alert: the answer has no _id")?;
        Ok(remote(id, true))
    }
}

/// DFIR-IRIS: a case (`case_soc_id` the case key) and its IOCs, each added
/// once (the case's IOCs are read first).
struct Iris {
    client: Client,
    customer: u64,
}

impl CaseSystem for Iris {
    const RECORD: &'static str = "IRIS case";

    fn send(&self, case: &Case) -> Result<Remote, String> {
        let list = self.client.expect("GET", "/manage/cases/list", None, "IRIS case lookup")?;
        let existing = list["data"].as_array().and_then(|cases| {
            cases.iter().find(|c| c["case_soc_id"].as_str() == Some(&case.key)).and_then(|c| c["case_id"].as_u64())
        });
        let (id, created) = match existing {
            Some(id) => (id, false),
            None => {
                let body = json!({
                    "case_soc_id": case.key,
                    "case_customer": self.customer,
                    "case_name": case.title,
                    "case_description": case.description,
                });
                let made = self.client.expect("POST", "/manage/cases/add", Some(&body), "IRIS case")?;
                (made["data"]["case_id"].as_u64().ok_or("IRIS case: the answer has no data.case_id")?, true)
            }
        };
        // IOCs: those the case lacks, by IRIS's own type names.
        let types = self.client.expect("GET", "/manage/ioc-types/list", None, "IRIS IOC types")?;
        let type_id = |name: &str| {
            types["data"].as_array()?.iter().find(|t| t["type_name"].as_str() == Some(name))?["type_id"].as_u64()
        };
        let have = self.client.expect("GET", &format!("/case/ioc/list?cid={id}"), None, "IRIS IOC list")?;
        let present: Vec<&str> = have["data"]["ioc"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["ioc_value"].as_str()).collect())
            .unwrap_or_default();
        for (kind, value) in &case.observables {
            let iris_type = match kind.as_str() {
                "host" => "hostname",
                "src" => "ip-src",
                "dst" => "ip-dst",
                "user" => "account",
                "process" => "filename",
                "hash" => match value.len() {
                    32 => "md5",
                    40 => "sha1",
                    _ => "sha256",
                },
                _ => "other",
            };
            if present.contains(&value.as_str()) {
                continue;
            }
            let Some(tid) = type_id(iris_type).or_else(|| type_id("other")) else { continue };
            let ioc = json!({"ioc_type_id": tid, "ioc_value": value, "ioc_tlp_id": 2,
                             "ioc_description": format!("Warden {kind}"), "ioc_tags": "warden"});
            self.client.expect("POST", &format!("/case/ioc/add?cid={id}"), Some(&ioc), "IRIS IOC")?;
        }
        Ok(Remote {
            system: "iris".into(),
            id: id.to_string(),
            url: format!("{}/case?cid={id}", self.client.base),
            created,
        })
    }
}

/// Jira: an issue labelled `warden-<case key>` with the narrative and the
/// evidence as its description.
struct Jira {
    client: Client,
    project: String,
    issue_type: String,
}

impl CaseSystem for Jira {
    const RECORD: &'static str = "Jira issue";

    fn send(&self, case: &Case) -> Result<Remote, String> {
        // A label is one word: the key's letters, digits and dashes.
        let label = format!("warden-{}", case.key.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"));
        let search = json!({"jql": format!("labels = \"{label}\""), "maxResults": 1, "fields": ["key"]});
        let found = self.client.expect("POST", "/rest/api/2/search", Some(&search), "Jira issue lookup")?;
        let remote = |key: &str, created| Remote {
            system: "jira".into(),
            id: key.to_owned(),
            url: format!("{}/browse/{key}", self.client.base),
            created,
        };
        if let Some(key) = found["issues"].as_array().and_then(|a| a.first()).and_then(|i| i["key"].as_str()) {
            return Ok(remote(key, false));
        }
        let mut description = case.description.clone();
        if !case.techniques.is_empty() {
            description.push_str(&format!("\n\nATT&CK: {}", case.techniques.join(", ")));
        }
        if !case.observables.is_empty() {
            description.push_str("\n\nEntities:");
            for (kind, value) in &case.observables {
                description.push_str(&format!("\n* {kind}: {{{{{value}}}}}"));
            }
        }
        let summary: String = case.title.chars().take(250).collect();
        let issue = json!({"fields": {
            "project": {"key": self.project},
            "summary": summary,
            "description": description,
            "issuetype": {"name": self.issue_type},
            "labels": ["warden", label],
        }});
        let made = self.client.expect("POST", "/rest/api/2/issue", Some(&issue), "Jira issue")?;
        let key = made["key"].as_str().ok_or("Jira issue: the answer has no key")?;
        Ok(remote(key, true))
    }
}
