//! The pages and their forms: queue, alert (decision, claim, action
//! request), approvals, dashboards, audit and settings. Each runs as the
//! signed-in user through [`super::page`] or [`super::form`].

use super::*;
use warden_core::RouteKind;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/queue", get(queue))
        .route("/alerts/{id}", get(alert))
        .route("/alerts/{id}/decision", post(decide))
        .route("/alerts/{id}/claim", post(claim))
        .route("/actions", post(request_action))
        .route("/approvals", get(approvals))
        .route("/actions/{id}/approve", post(approve))
        .route("/actions/{id}/reject", post(reject))
        .route("/actions/{id}/execute", post(execute))
        .route("/approve/{token}", get(chat_approval).post(approve_by_link))
        .route("/dashboards", get(dashboards))
        .route("/audit", get(audit))
        .route("/audit/bundle", get(bundle))
        .route("/settings", get(settings))
        .route("/settings/stop", post(stop))
}

#[derive(Deserialize, Default)]
struct QueueFilter {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    workflow: Option<String>,
    /// 1-based page of [`QUEUE_PAGE`] items.
    #[serde(default)]
    page: Option<usize>,
}

/// Queue rows per page.
const QUEUE_PAGE: usize = 100;

pub(super) fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

async fn queue(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<QueueFilter>) -> Response {
    page(s, headers, "/queue".into(), move |e, who, sess| {
        let state = match blank(&q.state) {
            None => Some("open"),
            Some("all") => None,
            Some(x) => Some(x),
        };
        let mut workflows = BTreeMap::new();
        for wf in e.workflows() {
            workflows.insert(wf.name.clone(), json!({"stage": wf.stage, "burn_in": e.burn_in(wf)?}));
        }
        let filter = |offset: usize| warden_engine::review::QueueFilter {
            state: state.map(str::to_owned),
            severity: blank(&q.severity).map(str::to_owned),
            route: blank(&q.route).map(str::to_owned),
            workflow: blank(&q.workflow).map(str::to_owned),
            limit: Some(QUEUE_PAGE),
            offset: Some(offset),
        };
        let query =
            query_string(&[("state", &q.state), ("severity", &q.severity), ("route", &q.route), ("workflow", &q.workflow)]);
        let (found, pager) = paged(q.page, QUEUE_PAGE, query, |offset| {
            let p = e.queue_page(who, &filter(offset))?;
            Ok((p.total, p.items))
        })?;
        let now = jiff::Timestamp::now();
        let items: Vec<Json> = found
            .into_iter()
            .map(|i| {
                let age = now.duration_since(i.item.created_at).as_secs_f64();
                json!({
                    "alert_id": i.item.alert_id,
                    "workflow": i.item.workflow,
                    "wf": workflows.get(&i.item.workflow),
                    "state": i.item.state,
                    "assignee": i.item.assignee,
                    "severity": i.item.severity,
                    "age": charts::minutes(age),
                    "priority": format!("{:.1}", i.priority),
                    "route": i.route,
                    "ai_verdict": i.ai_verdict.map(|v| v.as_str()),
                    "ai_confidence": i.ai_confidence,
                    "summary": i.summary.map(|s| truncate(s.lines().next().unwrap_or_default(), 140)),
                })
            })
            .collect();
        let filter = json!({"state": q.state.clone().unwrap_or_else(|| "open".into()), "severity": q.severity, "route": q.route, "workflow": q.workflow});
        Ok(render(
            StatusCode::OK,
            "queue.html",
            json!({"me": me(e, who, sess), "items": items, "filter": filter, "pager": pager,
                   "workflows": workflows.keys().collect::<Vec<_>>(),
                   "severities": warden_core::Severity::ALL.iter().rev().map(|v| v.as_str()).collect::<Vec<_>>(),
                   "routes": [RouteKind::Escalated.as_str(), RouteKind::Review.as_str()]}),
            BTreeMap::new(),
        ))
    })
    .await
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

#[derive(Deserialize, Default)]
pub(super) struct Notice {
    #[serde(default)]
    pub(super) done: Option<String>,
}

pub(super) fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "decision" => Some("Decision recorded."),
        "claimed" => Some("The alert is yours to review."),
        "action" => Some("Action requested."),
        "approved" => Some("Approval recorded."),
        "approved_not_run" => {
            Some("Approval recorded. The action has not run: the stop switch is on. Run it below once it is released.")
        }
        "executed" => Some("The action ran; its result is below."),
        "failed" => Some("The action failed; the executor's answer is below. You may retry it."),
        "deferred" => Some("The action did not run yet; see why below."),
        "rejected" => Some("Request rejected."),
        "stop" => Some("Stop switch changed."),
        "incident_decided" => Some("Decision recorded on every alert of the incident."),
        "assigned" => Some("Assignment changed."),
        "merged" => Some("Incidents merged."),
        "split" => Some("Alerts split off into a new incident."),
        _ => None,
    }
}

fn action_json(r: &warden_govern::ActionRequest, who: &Identity) -> Json {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["still_needed"] = json!(warden_govern::gate::still_needed(r));
    let empty = r.params.is_null() || r.params.as_object().is_some_and(|o| o.is_empty());
    v["params_text"] = json!(if empty { String::new() } else { r.params.to_string() });
    v["mine"] = json!(r.requester == who.user);
    v["approved_by_me"] = json!(r.approvals.iter().any(|a| a.user == who.user));
    v["may_approve"] = json!(who.can(Permission::to_approve(r.tier)));
    v
}

async fn alert(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let here = format!("/alerts/{id}");
    page(s, headers, here, move |e, who, sess| {
        let v = e.alert_view(who, &id)?;
        let cited: BTreeMap<&str, bool> = v
            .assessment
            .iter()
            .flat_map(|a| a.evidence.iter())
            .zip(v.evidence_verified.iter())
            .map(|(ev, ok)| (ev.path.as_str(), *ok))
            .collect();
        let fields: Vec<Json> = v
            .alert
            .fields
            .iter()
            .map(|(path, value)| {
                json!({"path": path, "value": value.to_string(), "cited": cited.contains_key(path), "verified": cited.get(path).copied().unwrap_or(false)})
            })
            .collect();
        let evidence: Vec<Json> = v
            .assessment
            .iter()
            .flat_map(|a| a.evidence.iter())
            .zip(v.evidence_verified.iter())
            .map(|(ev, ok)| json!({"path": ev.path, "value": ev.value.to_string(), "note": ev.note, "verified": ok}))
            .collect();
        let actions: Vec<Json> = v.actions.iter().map(|r| action_json(r, who)).collect();
        let matrix = e.risk_matrix()?;
        let ctx = json!({
            "me": me(e, who, sess),
            "notice": notice(n.done.as_deref()),
            "id": v.alert.id.as_str(),
            "alert": {"format": v.alert.format.as_str(), "received_at": v.alert.received_at.to_string(),
                       "observed_at": v.alert.observed_at.map(|t| t.to_string()), "source": v.alert.origin.file},
            "assessment": v.assessment,
            "validation": v.validation,
            "route": v.route,
            "workflow": v.workflow,
            "techniques": v.techniques,
            "fields": fields,
            "evidence": evidence,
            "decisions": v.decisions,
            "review": v.review,
            "actions": actions,
            "verdicts": Verdict::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
            "reason_codes": ReasonCode::ALL,
            "action_kinds": ActionKind::ALL.iter().map(|k| json!({"name": k.as_str(), "tier": matrix.tier(*k).as_str()})).collect::<Vec<_>>(),
        });
        Ok(render(StatusCode::OK, "alert.html", ctx, BTreeMap::new()))
    })
    .await
}

async fn claim(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        e.claim(who, &id)?;
        Ok(see_other(&format!("/alerts/{id}?done=claimed")))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct DecisionForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    techniques: String,
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    rating: String,
    /// A checkbox: present (`on`) when this decision replaces the person's earlier one.
    #[serde(default)]
    supersedes: Option<String>,
}

impl DecisionForm {
    /// The decision as the engine takes it, or what to fix in the form.
    pub(super) fn input(self) -> Result<DecisionInput, UiError> {
        let verdict: Verdict = self
            .verdict
            .parse()
            .map_err(|_| UiError::Bad("Choose a verdict: malicious, suspicious, benign or unknown.".into()))?;
        let techniques = if self.techniques.trim().is_empty() {
            None
        } else {
            Some(
                self.techniques
                    .split([',', ' ', ';'])
                    .filter(|t| !t.is_empty())
                    .map(|t| TechniqueId::parse(t.trim()).map_err(|e| UiError::Bad(e.to_string())))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        let reason_code = match self.reason_code.as_str() {
            "" => None,
            c => Some(
                serde_json::from_value::<ReasonCode>(json!(c))
                    .map_err(|_| UiError::Bad(format!("unknown reason code {c:?}")))?,
            ),
        };
        let rating = match self.rating.as_str() {
            "" => None,
            r => Some(r.parse::<u8>().map_err(|_| UiError::Bad("Rate from 1 to 5.".into()))?),
        };
        Ok(DecisionInput {
            verdict,
            techniques,
            reason_code,
            comment: self.comment,
            rating,
            supersedes: self.supersedes.is_some(),
        })
    }
}

async fn decide(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        e.decide(who, &id, f.input()?)?;
        Ok(see_other(&format!("/alerts/{id}?done=decision")))
    })
    .await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    alert_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    params: String,
}

async fn request_action(State(s): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<ActionForm>) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let kind: ActionKind = f.action.parse().map_err(|e: warden_core::VocabError| UiError::Bad(e.to_string()))?;
        let params = if f.params.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&f.params)
                .map_err(|e| UiError::Bad(format!("Parameters must be a JSON object: {e}")))?
        };
        let alert_id = Some(f.alert_id.clone()).filter(|a| !a.is_empty());
        e.request_action(
            who,
            warden_engine::actions::ActionInput {
                alert_id: alert_id.clone(),
                kind,
                params,
                reason: f.reason,
                draft: false,
            },
        )?;
        Ok(see_other(&match alert_id {
            Some(a) => format!("/alerts/{a}?done=action"),
            None => "/approvals?done=action".into(),
        }))
    })
    .await
}

// ---- approvals ---------------------------------------------------------

async fn approvals(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(n): Query<Notice>) -> Response {
    page(s, headers, "/approvals".into(), move |e, who, sess| {
        let pending: Vec<Json> =
            e.actions_seen_by(who, Some(RequestStatus::Pending))?.iter().map(|r| action_json(r, who)).collect();
        let all = e.actions_seen_by(who, None)?;
        // Approved and not run (the stop switch, the hourly cap) or failed: a person runs or retries them.
        let waiting: Vec<Json> = all
            .iter()
            .filter(|r| matches!(r.status, RequestStatus::Approved | RequestStatus::Failed))
            .map(|r| action_json(r, who))
            .collect();
        let recent: Vec<Json> =
            all.iter().filter(|r| r.status != RequestStatus::Pending).take(20).map(|r| action_json(r, who)).collect();
        Ok(render(
            StatusCode::OK,
            "approvals.html",
            json!({"me": me(e, who, sess), "notice": notice(n.done.as_deref()), "pending": pending, "waiting": waiting,
                   "recent": recent, "stopped": e.stopped()?}),
            BTreeMap::new(),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct ApprovalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    text: Option<String>,
}

async fn approve(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ApprovalForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let req = e.action(who, &id)?;
        if req.tier >= warden_core::RiskTier::High && f.reason.trim().is_empty() {
            return Err(UiError::Bad(format!("A {} action needs a written reason to approve.", req.tier)));
        }
        let text = f.text.filter(|t| !t.trim().is_empty());
        let after = e.approve_action(who, &id, &f.reason, text)?;
        let complete = warden_govern::gate::still_needed(&after).is_none();
        Ok(see_other(if after.status == RequestStatus::Approved && complete {
            "/approvals?done=approved_not_run"
        } else {
            "/approvals?done=approved"
        }))
    })
    .await
}

/// A chat approval link: Warden's own page, signed in, for that action only.
async fn chat_approval(State(s): State<Arc<AppState>>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let here = format!("/approve/{token}");
    page(s, headers, here, move |e, who, sess| {
        let req = e.check_approval_link(&token)?;
        let req = e.action(who, &req.id)?;
        Ok(render(
            StatusCode::OK,
            "chat_approval.html",
            json!({"me": me(e, who, sess), "a": action_json(&req, who), "token": token}),
            BTreeMap::new(),
        ))
    })
    .await
}

async fn approve_by_link(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<ApprovalForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        e.approve_by_link(who, &token, &f.reason)?;
        Ok(see_other("/approvals?done=approved"))
    })
    .await
}

#[derive(Deserialize)]
struct ExecuteForm {
    #[serde(default)]
    csrf: String,
    /// The confirmation box a medium or higher tier action needs.
    #[serde(default)]
    confirm: Option<String>,
}

async fn execute(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ExecuteForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let req = e.action(who, &id)?;
        if req.tier >= warden_core::RiskTier::Medium && f.confirm.is_none() {
            return Err(UiError::Bad(format!(
                "Running a {} action needs the confirmation box ticked: it acts on real systems.",
                req.tier
            )));
        }
        let ran = e.execute_action(who, &id)?;
        Ok(see_other(match ran.status {
            RequestStatus::Executed => "/approvals?done=executed",
            RequestStatus::Failed => "/approvals?done=failed",
            _ => "/approvals?done=deferred",
        }))
    })
    .await
}

async fn reject(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ApprovalForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        if f.reason.trim().is_empty() {
            return Err(UiError::Bad("Say why the request is rejected.".into()));
        }
        e.reject_action(who, &id, &f.reason)?;
        Ok(see_other("/approvals?done=rejected"))
    })
    .await
}

// ---- dashboards --------------------------------------------------------

async fn dashboards(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(s, headers, "/dashboards".into(), move |e, who, sess| {
        who.authorize(Permission::Review, "see the dashboards").map_err(EngineError::from)?;
        let q = e.quality(None)?;
        let impact = e.impact(None)?;
        let bins: Vec<charts::Bin> = q
            .reliability
            .iter()
            .map(|b| charts::Bin {
                confidence: b.mean_confidence,
                accuracy: b.accuracy,
                n: b.n,
                sufficient: b.sufficient,
            })
            .collect();
        let tactics: Vec<(String, f64, usize)> = q.per_tactic.iter().map(|(t, r)| (t.clone(), r.recall, r.n)).collect();
        let weeks: Vec<String> = impact.weeks.iter().map(|w| w.week.clone()).collect();
        let triage: Vec<(String, f64, f64)> = ["critical", "high", "medium", "low", "info"]
            .iter()
            .filter_map(|sev| impact.with_ai.time_to_triage.get(*sev).map(|p| ((*sev).to_owned(), p.p50, p.p90)))
            .collect();
        let matrix = e.coverage_matrix()?;
        let columns: Vec<(&str, Vec<charts::Cell>)> = matrix
            .iter()
            .map(|c| {
                (
                    c.tactic.as_str(),
                    c.cells
                        .iter()
                        .map(|x| charts::Cell {
                            id: &x.id,
                            name: &x.name,
                            state: x.state,
                            attacks: x.attacks,
                            caught: x.caught,
                        })
                        .collect(),
                )
            })
            .collect();
        let mut svg = BTreeMap::new();
        svg.insert("reliability", charts::reliability(&bins));
        svg.insert("tactics", charts::bars("Recall per ATT&CK tactic on decided attacks", &tactics));
        svg.insert(
            "weeks",
            charts::lines(
                "Acceptance and override rate per week",
                &weeks,
                &[
                    ("acceptance", impact.weeks.iter().map(|w| w.acceptance_rate).collect()),
                    ("override", impact.weeks.iter().map(|w| w.override_rate).collect()),
                ],
            ),
        );
        svg.insert("triage", charts::durations("Time to triage per severity (with AI)", &triage));
        svg.insert("coverage", charts::heat_map(&columns));
        let blind_spots = e.blind_spots(None)?;
        let per_analyzer = e.acceptance_by_analyzer()?;
        let spend: Vec<Json> = e
            .provider_spend()
            .into_iter()
            .map(|(name, (s, currency))| {
                let latency = if s.total.calls == 0 { 0.0 } else { s.latency_seconds / s.total.calls as f64 };
                json!({"name": name, "currency": currency, "hour": s.this_hour, "today": s.today, "total": s.total,
                       "over_budget": s.over_budget, "saved": s.saved, "latency": latency})
            })
            .collect();
        let ctx = json!({
            "me": me(e, who, sess),
            "spend": spend,
            "blind_spots": blind_spots,
            "per_analyzer": per_analyzer,
            "q": {"n": q.n, "precision": q.precision, "recall": q.recall, "f1": q.f1, "ece": q.ece, "brier": q.brier,
                  "acceptance_rate": q.acceptance_rate, "override_rate": q.override_rate,
                  "ai_benign_human_malicious": q.ai_benign_human_malicious},
            "impact": {"alerts_total": impact.alerts_total, "routes": impact.routes, "decided": impact.with_ai.decided},
        });
        Ok(render(StatusCode::OK, "dashboards.html", ctx, svg))
    })
    .await
}

// ---- audit -------------------------------------------------------------

async fn audit(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(s, headers, "/audit".into(), move |e, who, sess| {
        who.authorize(Permission::ReadAudit, "read the audit trail").map_err(EngineError::from)?;
        let checkpoint = e.latest_checkpoint()?;
        let verify = crate::api::audit_status(e)?;
        let ctx = json!({"me": me(e, who, sess), "checkpoint": checkpoint, "verify": verify, "public_key": e.audit_public_key()});
        Ok(render(StatusCode::OK, "audit.html", ctx, BTreeMap::new()))
    })
    .await
}

#[derive(Deserialize)]
struct BundleQuery {
    #[serde(default)]
    alert: String,
}

async fn bundle(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<BundleQuery>) -> Response {
    page(s, headers, "/audit".into(), move |e, who, _| {
        let id = warden_core::AlertId::parse(q.alert.trim())
            .ok_or_else(|| UiError::Bad(format!("{:?} is not an alert id", q.alert)))?;
        let doc = e.evidence_bundle(who, id.as_str())?;
        let body = serde_json::to_vec_pretty(&doc).map_err(|e| UiError::Bad(e.to_string()))?;
        Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"evidence-{}.json\"", id.as_str())),
            ],
            body,
        )
            .into_response())
    })
    .await
}

// ---- settings ----------------------------------------------------------

async fn settings(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(n): Query<Notice>) -> Response {
    page(s, headers, "/settings".into(), move |e, who, sess| {
        let c = e.config();
        let mut workflows = Vec::new();
        for wf in e.workflows() {
            workflows.push(json!({
                "name": wf.name, "stage": wf.stage, "burn_in": e.burn_in(wf)?, "burn_in_days": wf.burn_in_days,
                "threshold": wf.confidence_threshold, "qa_sample_rate": wf.qa_sample_rate, "analyzer": wf.analyzer,
                "blind_first_look": wf.blind_first_look,
            }));
        }
        let matrix = e.risk_matrix()?;
        let tiers: Vec<Json> =
            ActionKind::ALL.iter().map(|k| json!({"action": k.as_str(), "tier": matrix.tier(*k).as_str()})).collect();
        let mut providers = vec![json!({"name": "local", "residency": "on_prem", "model": "built-in analyzer", "classes": {}})];
        for (name, p) in &c.providers {
            providers.push(json!({"name": name, "residency": p.residency, "model": p.model, "base_url": p.base_url, "classes": p.classes, "unclassified": p.unclassified}));
        }
        let register = e.store().register().map_err(EngineError::from)?;
        let switches = e.switches()?;
        let ctx = json!({
            "me": me(e, who, sess),
            "notice": notice(n.done.as_deref()),
            "policy_version": e.policy_version(),
            "govern": c.govern,
            "workflows": workflows,
            "tiers": tiers,
            "providers": providers,
            "register": register,
            "switches": switches,
            "stopped": e.stopped()?,
            "ruleset": e.ruleset_status()?,
        });
        Ok(render(StatusCode::OK, "settings.html", ctx, BTreeMap::new()))
    })
    .await
}

#[derive(Deserialize)]
struct StopForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    reason: String,
}

async fn stop(State(s): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<StopForm>) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        if f.reason.trim().is_empty() {
            return Err(UiError::Bad("Say why the stop switch changes.".into()));
        }
        e.set_stop(who, None, f.on == "true", &f.reason)?;
        Ok(see_other("/settings?done=stop"))
    })
    .await
}
