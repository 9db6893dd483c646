//! The review queue and the learning signal: people decide, decisions are
//! linked to (never replace) the AI's assessment, and the figures come from
//! the decisions.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use warden_analyze::calibration::CalibrationMap;
use warden_analyze::metrics::{self, Outcome, Report};
use warden_core::{Actor, AlertId, AuditRecord, TechniqueId, Verdict};
use warden_govern::{Identity, Permission};
use warden_store::{AlertRecord, ReviewItem};

use crate::{Engine, EngineError};

/// Why an analyst says the AI output was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    HallucinatedEvidence,
    WrongTechnique,
    MissedAttack,
    FalseAlarm,
    Other,
}

impl ReasonCode {
    /// Every code, in the order forms offer them.
    pub const ALL: &'static [ReasonCode] = &[
        ReasonCode::HallucinatedEvidence,
        ReasonCode::WrongTechnique,
        ReasonCode::MissedAttack,
        ReasonCode::FalseAlarm,
        ReasonCode::Other,
    ];
}

/// What an analyst decides about one alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionInput {
    pub verdict: Verdict,
    /// The techniques the analyst confirms or corrects to; None keeps the AI's.
    #[serde(default)]
    pub techniques: Option<Vec<TechniqueId>>,
    #[serde(default)]
    pub reason_code: Option<ReasonCode>,
    #[serde(default)]
    pub comment: String,
    /// How useful the AI's output was, 1 to 5.
    #[serde(default)]
    pub rating: Option<u8>,
    /// This decision replaces the person's own earlier, different verdict
    /// on the alert; without it a contradictory second verdict is refused.
    #[serde(default)]
    pub supersedes: bool,
}

impl DecisionInput {
    /// A verdict and nothing else: the AI's techniques kept, no reason
    /// code, comment or rating, superseding nothing.
    pub fn new(verdict: Verdict) -> Self {
        DecisionInput {
            verdict,
            techniques: None,
            reason_code: None,
            comment: String::new(),
            rating: None,
            supersedes: false,
        }
    }
}

/// A stored decision, with what the AI had said beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub alert_id: String,
    pub analyst: String,
    pub verdict: Verdict,
    pub techniques: Vec<TechniqueId>,
    pub reason_code: Option<ReasonCode>,
    pub comment: String,
    pub rating: Option<u8>,
    pub decided_at: Timestamp,
    pub ai_verdict: Verdict,
    pub ai_confidence: f64,
    /// The AI's verdict was kept.
    pub accepted: bool,
    /// The analyst decided before the AI's view was shown (blind first look).
    #[serde(default)]
    pub blind: bool,
    /// It replaces the same person's earlier, different verdict.
    #[serde(default)]
    pub supersedes: bool,
}

/// How often people kept one analyzer version's verdicts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Acceptance {
    pub n: usize,
    pub acceptance_rate: f64,
    pub override_rate: f64,
    pub ci95: (f64, f64),
}

/// What a retraining did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetrainOutcome {
    pub version: String,
    pub activated: bool,
    pub candidate_f1: f64,
    pub active_f1: f64,
    /// What the candidate was compared with.
    pub active: String,
}

/// An analyst whose pattern a manager should look at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnalystPattern {
    pub analyst: String,
    pub decisions: usize,
    pub acceptance_rate: f64,
    /// Median seconds from an alert's arrival to this analyst's decision.
    pub median_seconds: f64,
    pub flags: Vec<String>,
}

/// A queue entry as an analyst sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueEntry {
    #[serde(flatten)]
    pub item: ReviewItem,
    /// Higher first: severity, then age.
    pub priority: f64,
    pub route: Option<String>,
    /// The AI's view; hidden for shadow workflows, where it is not a decision.
    pub ai_verdict: Option<Verdict>,
    pub ai_confidence: Option<f64>,
    pub summary: Option<String>,
}

/// A page of the queue with the true total.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueuePage {
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
    pub items: Vec<QueueEntry>,
}

/// Queue filters as people give them; every value is checked.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueFilter {
    /// `new`, `in_review`, `decided`, `open` (not decided); all when absent.
    pub state: Option<String>,
    pub severity: Option<String>,
    pub workflow: Option<String>,
    pub route: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl QueueFilter {
    fn query(&self, e: &Engine) -> Result<warden_store::ReviewQuery, EngineError> {
        let mut q = warden_store::ReviewQuery::default();
        match self.state.as_deref() {
            None => {}
            Some("open") => q.open = true,
            Some(s @ ("new" | "in_review" | "decided")) => q.state = Some(s.to_owned()),
            Some(s) => return Err(crate::unknown("state", s, "new, in_review, decided, open")),
        }
        if let Some(s) = &self.severity {
            crate::severity_filter(s)?;
            q.severity = Some(s.clone());
        }
        if let Some(w) = &self.workflow {
            if !e.workflows().iter().any(|x| &x.name == w) {
                let names: Vec<&str> = e.workflows().iter().map(|x| x.name.as_str()).collect();
                return Err(crate::unknown("workflow", w, &names.join(", ")));
            }
            q.workflow = Some(w.clone());
        }
        if let Some(r) = &self.route {
            if !warden_core::RouteKind::ALL.iter().any(|k| k.as_str() == r) {
                let names: Vec<&str> = warden_core::RouteKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(crate::unknown("route", r, &names.join(", ")));
            }
            q.route = Some(r.clone());
        }
        Ok(q)
    }
}

/// One alert with everything known about it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertView {
    pub alert: warden_core::Alert,
    pub assessment: Option<warden_core::Assessment>,
    pub validation: Option<warden_core::Validation>,
    pub route: Option<warden_core::Route>,
    pub workflow: Option<String>,
    pub decisions: Vec<Decision>,
    /// For each evidence item of the assessment, in order: whether the alert
    /// has the cited field with the cited value.
    pub evidence_verified: Vec<bool>,
    /// The assessment's techniques as the ATT&CK catalogue names them.
    pub techniques: Vec<TechniqueInfo>,
    /// Response actions requested for this alert.
    pub actions: Vec<warden_govern::ActionRequest>,
    /// Its place in the review queue (state, assignee), if it went to review.
    pub review: Option<ReviewItem>,
}

/// An ATT&CK technique with its catalogue name and tactics (`name` empty
/// when the id is not in the catalogue).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TechniqueInfo {
    pub id: String,
    pub name: String,
    pub tactics: Vec<String>,
}

/// One column of the coverage matrix.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TacticCoverage {
    pub tactic: String,
    pub cells: Vec<CoverageCell>,
}

/// One technique in the coverage matrix: `detected` (a detection reports it,
/// no labelled attack yet), `caught` / `partly_caught` / `missed` (labelled
/// attacks the AI flagged all / some / none of), or `none`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CoverageCell {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub attacks: usize,
    pub caught: usize,
}

impl TechniqueInfo {
    pub fn of(id: &str) -> Self {
        let t = warden_analyze::attack::technique(id);
        TechniqueInfo {
            id: id.to_owned(),
            name: t.map(|t| t.name.clone()).unwrap_or_default(),
            tactics: warden_analyze::attack::tactics_of(id),
        }
    }
}

fn severity_rank(s: &str) -> f64 {
    match s {
        "critical" => 4.0,
        "high" => 3.0,
        "medium" => 2.0,
        "low" => 1.0,
        _ => 0.0,
    }
}

impl Engine {
    fn record(&self, id: &str) -> Result<(AlertId, AlertRecord), EngineError> {
        let aid = AlertId::parse(id).ok_or_else(|| EngineError::Invalid(format!("not an alert id: {id:?}")))?;
        let rec = self.store().alert(&aid)?.ok_or_else(|| EngineError::NotFound(format!("no alert {id}")))?;
        Ok((aid, rec))
    }

    /// The first 1,000 of the queue, highest priority first; `state` filters
    /// (`new`, `in_review`, `decided`). [`Engine::queue_page`] pages past it.
    pub fn queue(&self, who: &Identity, state: Option<&str>) -> Result<Vec<QueueEntry>, EngineError> {
        let filter = QueueFilter { state: state.map(str::to_owned), limit: Some(1000), ..QueueFilter::default() };
        Ok(self.queue_page(who, &filter)?.items)
    }

    /// A page of the queue, highest priority first, with the true total of
    /// what matches. Every filter value is checked.
    pub fn queue_page(&self, who: &Identity, filter: &QueueFilter) -> Result<QueuePage, EngineError> {
        who.authorize(Permission::Review, "see the review queue")?;
        let q = filter.query(self)?;
        let (limit, offset) = (crate::page_limit(filter.limit)?, filter.offset.unwrap_or(0));
        let now = Timestamp::now();
        let mut out = Vec::new();
        let mut views = Vec::new();
        let (total, items) = self.store().review_items(&q, offset, limit)?;
        for item in items {
            let age_h = now.duration_since(item.created_at).as_secs_f64() / 3600.0;
            // Severity first, then age (up to two days, worth less than one
            // step of severity): the order the store pages in.
            let priority = severity_rank(&item.severity) * 10.0 + age_h.clamp(0.0, 48.0) / 5.0;
            // Shadow: the AI's output is not a decision. Blind first look: not until decided.
            let hidden = self.workflows().iter().any(|w| {
                w.name == item.workflow
                    && (w.stage == warden_govern::Stage::Shadow || (w.blind_first_look && item.state != "decided"))
            });
            let rec = AlertId::parse(&item.alert_id).map(|id| self.store().alert(&id)).transpose()?.flatten();
            let (route, a, summary) = match rec {
                Some(r) => {
                    let summary = match (&r.assessment, hidden) {
                        (Some(a), false) => {
                            let view = self.view_unsaved(who, &r.alert);
                            let text = view.text(&a.summary);
                            views.push(view);
                            Some(text)
                        }
                        _ => None,
                    };
                    (r.route.map(|r| r.kind.as_str().to_owned()), r.assessment, summary)
                }
                None => (None, None, None),
            };
            let a = if hidden { None } else { a };
            out.push(QueueEntry {
                priority,
                route,
                ai_verdict: a.as_ref().map(|a| a.verdict),
                ai_confidence: a.as_ref().map(|a| a.confidence.get()),
                summary,
                item,
            });
        }
        // One write for the whole page, not one per alert.
        self.keep_views(views.iter())?;
        Ok(QueuePage { total, offset, limit, items: out })
    }

    /// An alert with its assessment, validation, route, decisions and
    /// actions, as `who` may see it: people who may not re-identify get the
    /// staff view, personal data tokenised in the alert and in every text
    /// about it (evidence is verified against the stored alert first).
    pub fn alert_view(&self, who: &Identity, id: &str) -> Result<AlertView, EngineError> {
        who.authorize(Permission::Review, "see alerts")?;
        let (aid, rec) = self.record(id)?;
        let workflow = self.store().alert_workflow(aid.as_str())?;
        let decisions: Vec<Decision> = self
            .store()
            .decisions(aid.as_str())?
            .into_iter()
            .map(|d| serde_json::from_value(d).map_err(|e| EngineError::Invalid(format!("stored decision: {e}"))))
            .collect::<Result<_, _>>()?;
        let blind = self.blind(workflow.as_deref()) && !decisions.iter().any(|d| d.analyst == who.user);
        let assessment = if blind { None } else { rec.assessment };
        let techniques = assessment.iter().flat_map(|a| &a.techniques).map(|t| TechniqueInfo::of(t.as_str())).collect();
        let view = self.view_unsaved(who, &rec.alert);
        let shown = view.alert(rec.alert.clone());
        let assessment = assessment.map(|mut a| {
            a.summary = view.text(&a.summary);
            for e in &mut a.evidence {
                e.value = view.value(&e.value);
                e.note = view.text(&e.note);
            }
            a
        });
        // A cited value is verified against the stored alert and, as shown,
        // against the alert as this person sees it: a row marked verified
        // says what the field table beside it says.
        let stored_evidence = if blind { None } else { self.store().alert(&aid)?.and_then(|r| r.assessment) };
        let evidence_verified = stored_evidence
            .iter()
            .flat_map(|a| &a.evidence)
            .zip(assessment.iter().flat_map(|a| &a.evidence))
            .map(|(raw, seen)| {
                warden_analyze::evidence_holds(&rec.alert, raw) && warden_analyze::evidence_holds(&shown, seen)
            })
            .collect();
        self.keep_views(std::iter::once(&view))?;
        let validation = if blind { None } else { rec.validation }.map(|mut v| {
            v.problems = v.problems.iter().map(|p| view.text(p)).collect();
            v.disagreement = v.disagreement.map(|d| view.text(&d));
            v
        });
        let decisions = decisions
            .into_iter()
            .map(|mut d| {
                d.comment = view.text(&d.comment);
                d
            })
            .collect();
        let actions = self
            .actions(who, None)?
            .into_iter()
            .filter(|r| r.alert_id.as_deref() == Some(aid.as_str()))
            .map(|r| view.action(r))
            .collect();
        let route = rec.route.map(|mut r| {
            for reason in &mut r.reasons {
                reason.detail = view.text(&reason.detail);
            }
            r
        });
        let review = self.store().review_item(aid.as_str())?;
        Ok(AlertView {
            review,
            workflow,
            alert: shown,
            assessment,
            validation,
            route,
            decisions,
            evidence_verified,
            techniques,
            actions,
        })
    }

    /// The evidence bundle for one alert (see [`Engine::export_alert`]) for
    /// someone who may read the alert (review) or the audit trail; the alert
    /// and the texts about it by their view policy. Audited.
    pub fn evidence_bundle(&self, who: &Identity, id: &str) -> Result<serde_json::Value, EngineError> {
        // Whoever may read the alert may take its bundle away, by their own view policy.
        if !who.can(Permission::Review) {
            who.authorize(Permission::ReadAudit, "export evidence bundles")?;
        }
        let (aid, rec) = self.record(id)?;
        let mut doc = self.export_alert(&aid)?;
        let view = self.view_unsaved(who, &rec.alert);
        if !view.is_raw() {
            doc["alert"] = serde_json::to_value(view.alert(rec.alert)).unwrap_or_default();
            for key in ["assessments", "validation", "route", "review_decisions", "actions"] {
                view.json(&mut doc[key]);
            }
            // The audit proofs stay as they are: entries record metadata (counts,
            // verdicts, reason codes), never alert content, and their bytes are what is hashed.
            doc["view"] = serde_json::json!(format!(
                "as the {} role sees it: data the view policy does not show is tokenised; someone allowed can re-identify a token",
                who.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join("+")
            ));
        }
        self.keep_views(std::iter::once(&view))?;
        self.append_audit(vec![AuditRecord::new(
            Actor::User(who.user.clone()),
            "audit.bundle_exported",
            aid.as_str(),
            serde_json::json!({}),
        )])?;
        Ok(doc)
    }

    fn blind(&self, workflow: Option<&str>) -> bool {
        let name = workflow.unwrap_or(crate::workflow::DEFAULT);
        self.workflows().iter().any(|w| w.name == name && w.blind_first_look)
    }

    /// Analysts who accept nearly everything, or decide unusually fast:
    /// for a manager to look at, not a verdict on anyone.
    pub fn analyst_patterns(&self) -> Result<Vec<AnalystPattern>, EngineError> {
        let mut per: std::collections::BTreeMap<String, (usize, usize, Vec<f64>)> = std::collections::BTreeMap::new();
        for f in self.store().feedback(None)? {
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            let e = per.entry(d.analyst.clone()).or_default();
            e.0 += 1;
            e.1 += d.accepted as usize;
            e.2.push(f.decided_at.duration_since(f.received_at).as_secs_f64().max(0.0));
        }
        let mut out = Vec::new();
        for (analyst, (n, accepted, mut times)) in per {
            times.sort_by(f64::total_cmp);
            let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
            let rate = accepted as f64 / n.max(1) as f64;
            let mut flags = Vec::new();
            if n >= 20 && rate >= 0.95 {
                flags.push(format!("accepts the AI's verdict {:.0} % of the time", rate * 100.0));
            }
            if n >= 10 && median < 15.0 {
                flags.push(format!("median {median:.0} s from arrival to decision"));
            }
            out.push(AnalystPattern { analyst, decisions: n, acceptance_rate: rate, median_seconds: median, flags });
        }
        Ok(out)
    }

    /// Takes an item into review.
    pub fn claim(&self, who: &Identity, id: &str) -> Result<(), EngineError> {
        who.authorize(Permission::Review, "take alerts into review")?;
        let audit = vec![AuditRecord::new(Actor::User(who.user.clone()), "review.claimed", id, serde_json::json!({}))];
        if !self.store().set_review(id, "in_review", Some(&who.user), audit, self.policy_version())? {
            return Err(EngineError::NotFound(format!("{id} is not in the review queue")));
        }
        Ok(())
    }

    /// Records a decision about an alert. The AI's assessment is not changed;
    /// the decision is linked to it and says whether it was accepted.
    pub fn decide(&self, who: &Identity, id: &str, input: DecisionInput) -> Result<Decision, EngineError> {
        who.authorize(Permission::Review, "decide alerts")?;
        if input.rating.is_some_and(|r| !(1..=5).contains(&r)) {
            return Err(EngineError::Invalid("rating is 1 to 5".into()));
        }
        if input.comment.len() > 10_000 {
            return Err(EngineError::Invalid("comment is over 10000 bytes".into()));
        }
        if let Some(unknown) =
            input.techniques.iter().flatten().find(|t| warden_analyze::attack::technique(t.as_str()).is_none())
        {
            return Err(EngineError::Invalid(format!(
                "technique {unknown} is not in the ATT&CK catalogue (Enterprise v18.1); check the id"
            )));
        }
        let (aid, rec) = self.record(id)?;
        let a = rec.assessment.ok_or_else(|| EngineError::NotFound(format!("alert {id} has no assessment")))?;
        let earlier = self.store().decisions(aid.as_str())?;
        let mine = earlier.iter().rev().find(|d| d["analyst"] == who.user.as_str());
        if let Some(prev) = mine
            && prev["verdict"] != input.verdict.as_str()
            && !input.supersedes
        {
            return Err(EngineError::Refused(format!(
                "you already decided alert {id} as {}; to change it to {}, say that this decision supersedes it",
                prev["verdict"].as_str().unwrap_or("?"),
                input.verdict.as_str()
            )));
        }
        let techniques = input.techniques.unwrap_or_else(|| a.techniques.clone());
        let d = Decision {
            alert_id: aid.to_string(),
            analyst: who.user.clone(),
            verdict: input.verdict,
            accepted: input.verdict == a.verdict && input.reason_code.is_none(),
            techniques,
            reason_code: input.reason_code,
            comment: input.comment,
            rating: input.rating,
            decided_at: Timestamp::now(),
            ai_verdict: a.verdict,
            ai_confidence: a.confidence.get(),
            blind: self.blind(self.store().alert_workflow(aid.as_str())?.as_deref()) && mine.is_none(),
            supersedes: mine.is_some_and(|p| p["verdict"] != input.verdict.as_str()),
        };
        let body = serde_json::to_value(&d).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let audit = vec![AuditRecord::new(
            Actor::User(who.user.clone()),
            "review.decided",
            aid.as_str(),
            serde_json::json!({
                "verdict": d.verdict.as_str(),
                "ai_verdict": d.ai_verdict.as_str(),
                "accepted": d.accepted,
                "reason_code": d.reason_code,
                "techniques": d.techniques,
                "rating": d.rating,
                "supersedes": d.supersedes,
            }),
        )];
        self.store().add_decision(aid.as_str(), &who.user, &body, audit, self.policy_version())?;
        Ok(d)
    }

    /// The quality figures from every decision (or one workflow's).
    pub fn quality(&self, workflow: Option<&str>) -> Result<Report, EngineError> {
        let outcomes: Vec<Outcome> = self
            .store()
            .feedback(workflow)?
            .into_iter()
            .filter_map(|f| {
                let d: Decision = serde_json::from_value(f.decision).ok()?;
                Some(Outcome {
                    ai_verdict: f.assessment.verdict,
                    confidence: f.assessment.confidence.get(),
                    truth: d.verdict,
                    truth_techniques: d.techniques.iter().map(|t| t.to_string()).collect(),
                })
            })
            .collect();
        Ok(metrics::report(&outcomes))
    }

    /// Outcomes from decisions with whether each alert was auto-closed.
    fn outcomes(&self, workflow: Option<&str>) -> Result<(Vec<Outcome>, Vec<bool>), EngineError> {
        let mut outcomes = Vec::new();
        let mut closed = Vec::new();
        for f in self.store().feedback(workflow)? {
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            outcomes.push(Outcome {
                ai_verdict: f.assessment.verdict,
                confidence: f.assessment.confidence.get(),
                truth: d.verdict,
                truth_techniques: d.techniques.iter().map(|t| t.to_string()).collect(),
            });
            closed.push(f.route == "auto_closed");
        }
        Ok((outcomes, closed))
    }

    /// Acceptance and override rates per analyzer version (and model), with
    /// Wilson 95 % intervals: `name@version` or `name@version+model`.
    pub fn acceptance_by_analyzer(&self) -> Result<BTreeMap<String, Acceptance>, EngineError> {
        let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for f in self.store().feedback(None)? {
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            let a = &f.assessment.analyzer;
            let key = match &a.model {
                Some(m) => format!("{}@{}+{m}", a.name, a.version),
                None => format!("{}@{}", a.name, a.version),
            };
            let e = per.entry(key).or_default();
            e.0 += 1;
            e.1 += d.accepted as usize;
        }
        Ok(per
            .into_iter()
            .map(|(k, (n, acc))| {
                let rate = acc as f64 / n as f64;
                (k, Acceptance { n, acceptance_rate: rate, override_rate: 1.0 - rate, ci95: metrics::wilson(acc, n) })
            })
            .collect())
    }

    /// Tactics the AI systematically misses or lets go, from analysts' decisions.
    pub fn blind_spots(&self, workflow: Option<&str>) -> Result<Vec<metrics::BlindSpot>, EngineError> {
        let (outcomes, closed) = self.outcomes(workflow)?;
        Ok(metrics::blind_spots(&outcomes, &closed, &metrics::BlindSpotPolicy::default()))
    }

    /// ATT&CK coverage as a matrix: for each tactic, each technique (sub-
    /// techniques folded into their parent) with what is known about it.
    pub fn coverage_matrix(&self) -> Result<Vec<TacticCoverage>, EngineError> {
        let detected: std::collections::BTreeSet<String> = warden_analyze::LocalAnalyzer::coverage()
            .into_iter()
            .map(|(t, _)| t.get(..5).unwrap_or(t).to_owned())
            .collect();
        let mut labelled: std::collections::BTreeMap<String, (usize, usize)> = std::collections::BTreeMap::new();
        for o in &self.outcomes(None)?.0 {
            for t in &o.truth_techniques {
                let e = labelled.entry(t.get(..5).unwrap_or(t).to_owned()).or_default();
                e.0 += 1;
                e.1 += metrics::positive(o.ai_verdict) as usize;
            }
        }
        let mut out: Vec<TacticCoverage> = warden_analyze::attack::TACTICS
            .iter()
            .map(|t| TacticCoverage { tactic: (*t).to_owned(), cells: Vec::new() })
            .collect();
        for t in warden_analyze::attack::all().filter(|t| !t.deprecated && !t.id.contains('.')) {
            let (attacks, caught) = labelled.get(&t.id).copied().unwrap_or_default();
            let state = match (attacks, detected.contains(&t.id)) {
                (0, true) => "detected",
                (0, false) => "none",
                (n, _) if caught == n => "caught",
                (_, _) if caught == 0 => "missed",
                _ => "partly_caught",
            };
            for tactic in &t.tactics {
                if let Some(col) = out.iter_mut().find(|c| &c.tactic == tactic) {
                    col.cells.push(CoverageCell { id: t.id.clone(), name: t.name.clone(), state, attacks, caught });
                }
            }
        }
        Ok(out)
    }

    /// ATT&CK coverage: what the analyzer's detections report, and what the
    /// labelled decisions cover (technique → confirmed attacks), as two
    /// ATT&CK Navigator layers.
    pub fn coverage_layers(&self) -> Result<(serde_json::Value, serde_json::Value), EngineError> {
        let mut rules: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
        for (t, d) in warden_analyze::LocalAnalyzer::coverage() {
            rules.entry(t.to_owned()).or_default().push(d);
        }
        let mut labelled: std::collections::BTreeMap<String, (usize, usize)> = std::collections::BTreeMap::new();
        let (outcomes, _) = self.outcomes(None)?;
        for o in &outcomes {
            for t in &o.truth_techniques {
                let e = labelled.entry(t.clone()).or_default();
                e.0 += 1;
                e.1 += metrics::positive(o.ai_verdict) as usize;
            }
        }
        let layer = |name: &str, description: &str, techniques: Vec<serde_json::Value>| {
            serde_json::json!({
                "name": name,
                "description": description,
                "domain": "enterprise-attack",
                "versions": {"attack": "18", "navigator": "5.1.0", "layer": "4.5"},
                "sorting": 3,
                "hideDisabled": false,
                "gradient": {"colors": ["#ff6666", "#ffe766", "#8ec843"], "minValue": 0, "maxValue": 100},
                "legendItems": [
                    {"label": "not covered / always missed", "color": "#ff6666"},
                    {"label": "covered / always caught", "color": "#8ec843"}
                ],
                "techniques": techniques,
            })
        };
        let attacks = outcomes.iter().filter(|o| metrics::positive(o.truth)).count();
        let balance = format!(
            "{} decisions: {} attacks, {} benign ({:.0} % attacks)",
            outcomes.len(),
            attacks,
            outcomes.len() - attacks,
            100.0 * attacks as f64 / outcomes.len().max(1) as f64
        );
        let rule_layer = layer(
            "Warden local analyzer: detection coverage",
            "Techniques the built-in detections report (score 100). Techniques not listed are gaps.",
            rules
                .iter()
                .map(|(t, ds)| serde_json::json!({"techniqueID": t, "score": 100, "comment": format!("detections: {}", ds.join(", ")), "enabled": true}))
                .collect(),
        );
        let data_layer = layer(
            "Warden labelled data: coverage and recall",
            &format!("Techniques analysts confirmed in decisions; score = the AI's recall on them (%). Class balance: {balance}."),
            labelled
                .iter()
                .map(|(t, (n, hit))| {
                    serde_json::json!({"techniqueID": t, "score": (100 * hit / n.max(&1)), "comment": format!("{n} labelled, {hit} caught"), "enabled": true})
                })
                .collect(),
        );
        Ok((rule_layer, data_layer))
    }

    /// Retrains the local analyzer's classifier from every decision. The
    /// candidate is trained on 80 % of the decided alerts and compared with
    /// what is active now (the current model, or the analyzer's recorded
    /// verdicts when there is none) on the other 20 %; it becomes active only
    /// if it is no worse (F1 for "attack"). Activation and refusal are both
    /// audited. `iterations` is the training budget.
    pub fn retrain(&self, who: &Identity, iterations: u32) -> Result<RetrainOutcome, EngineError> {
        use warden_analyze::classifier::{self, Classifier};
        who.authorize(Permission::ChangePolicy, "retrain the classifier")?;
        let mut train = Vec::new();
        let mut holdout = Vec::new();
        for f in self.store().feedback(None)? {
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            let Some(id) = AlertId::parse(&f.alert_id) else { continue };
            let Some(rec) = self.store().alert(&id)? else { continue };
            let feats: Vec<u32> = classifier::features(&rec.alert).into_iter().map(|(i, _)| i).collect();
            let truth = metrics::positive(d.verdict);
            // Held out by a stable draw on the alert id, so reruns split the same way.
            if warden_govern::qa_draw(&f.alert_id, 0.2) {
                holdout.push((feats, truth, metrics::positive(f.assessment.verdict)));
            } else {
                train.push((feats, truth));
            }
        }
        if train.len() < 20 || holdout.len() < 5 {
            return Err(EngineError::Refused(format!(
                "{} training and {} held-out decisions; retraining needs at least 20 and 5",
                train.len(),
                holdout.len()
            )));
        }
        let version = format!("clf-{}", Timestamp::now().strftime("%Y%m%dT%H%M%S%.3fZ"));
        let candidate = Classifier::train(&version, &train, iterations);
        let truth: Vec<bool> = holdout.iter().map(|h| h.1).collect();
        let cand_pred: Vec<bool> = holdout.iter().map(|h| candidate.predict(&h.0) >= 0.5).collect();
        let active: Option<Classifier> = self.store().active_model()?.and_then(|b| serde_json::from_value(b).ok());
        let (active_name, active_pred): (String, Vec<bool>) = match &active {
            Some(m) => (m.version.clone(), holdout.iter().map(|h| m.predict(&h.0) >= 0.5).collect()),
            None => ("recorded verdicts".into(), holdout.iter().map(|h| h.2).collect()),
        };
        let (cand_f1, active_f1) = (classifier::f1(&cand_pred, &truth), classifier::f1(&active_pred, &truth));
        let figures = serde_json::json!({
            "candidate": version, "active": active_name, "candidate_f1": cand_f1, "active_f1": active_f1,
            "train": train.len(), "holdout": holdout.len(), "iterations": iterations,
        });
        let actor = Actor::User(who.user.clone());
        if cand_f1 < active_f1 || cand_f1 == 0.0 {
            self.append_audit(vec![AuditRecord::new(actor, "model.refused", version.as_str(), figures)])?;
            return Ok(RetrainOutcome {
                version,
                activated: false,
                candidate_f1: cand_f1,
                active_f1,
                active: active_name,
            });
        }
        let body = serde_json::to_value(&candidate).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let audit = vec![AuditRecord::new(actor, "model.activated", version.as_str(), figures)];
        self.store().save_model(&version, &body, audit, self.policy_version())?;
        self.activate_model(Some(std::sync::Arc::new(candidate)));
        Ok(RetrainOutcome { version, activated: true, candidate_f1: cand_f1, active_f1, active: active_name })
    }

    /// Fits a calibration map for the active analyzer from every decision
    /// about its assessments, stores it as a new version (audited) and makes
    /// it the one routing applies. Returns the version and ECE before/after
    /// on the same data (the held-out figure is `warden eval`'s job).
    pub fn calibrate(&self, who: &Identity) -> Result<Vec<(String, CalibrationMap, f64, f64)>, EngineError> {
        who.authorize(Permission::ChangePolicy, "fit a calibration map")?;
        self.fit_calibration(Actor::User(who.user.clone()))
    }

    /// The scheduled refit (`govern.recalibrate_every_hours`), by policy
    /// rather than by a person; audited as the scheduler.
    pub fn recalibrate_on_schedule(&self) -> Result<Vec<(String, CalibrationMap, f64, f64)>, EngineError> {
        self.fit_calibration(Actor::Service("scheduler".into()))
    }

    /// One map per analyzer (and, for generative providers, per model) with
    /// at least 30 decided alerts: verbal confidence is calibrated on its own.
    fn fit_calibration(&self, actor: Actor) -> Result<Vec<(String, CalibrationMap, f64, f64)>, EngineError> {
        let mut per: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
        for f in self.store().feedback(None)? {
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            let o = Outcome {
                ai_verdict: f.assessment.verdict,
                confidence: f.assessment.confidence.get(),
                truth: d.verdict,
                truth_techniques: vec![],
            };
            if let Some(ok) = metrics::correct(&o) {
                per.entry(crate::calibration_key(&f.assessment.analyzer)).or_default().push((o.confidence, ok));
            }
        }
        let mut out = Vec::new();
        let mut thin = Vec::new();
        for (analyzer, points) in per {
            if points.len() < 30 {
                thin.push(format!("{analyzer}: {}", points.len()));
                continue;
            }
            let map = CalibrationMap::fit(&points);
            let before = metrics::ece(&points, 15).0;
            let mapped: Vec<(f64, bool)> = points.iter().map(|(p, ok)| (map.apply(*p), *ok)).collect();
            let after = metrics::ece(&mapped, 15).0;
            let version = format!("cal-{}", Timestamp::now().strftime("%Y%m%dT%H%M%S%.6fZ"));
            let audit = vec![AuditRecord::new(
                actor.clone(),
                "calibration.fitted",
                version.as_str(),
                serde_json::json!({"analyzer": analyzer, "method": map.method, "n": map.n, "ece_before": before, "ece_after": after}),
            )];
            let body = serde_json::to_value(&map).map_err(|e| EngineError::Invalid(e.to_string()))?;
            self.store().save_calibration(&version, &analyzer, &body, audit, self.policy_version())?;
            out.push((version, map, before, after));
        }
        if out.is_empty() {
            return Err(EngineError::Refused(format!(
                "no analyzer has the 30 decided alerts a calibration map needs ({})",
                if thin.is_empty() { "no decisions yet".to_owned() } else { thin.join(", ") }
            )));
        }
        Ok(out)
    }

    /// Ends a workflow's burn-in when its minimum length has passed and the
    /// measured accuracy meets its exit criteria; otherwise refuses, and the
    /// refusal with its reasons is in the audit trail either way.
    pub fn exit_burn_in(&self, who: &Identity, workflow: &str) -> Result<Report, EngineError> {
        who.authorize(Permission::ChangePolicy, "end a workflow's burn-in")?;
        let wf = self
            .workflows()
            .iter()
            .find(|w| w.name == workflow)
            .ok_or_else(|| EngineError::NotFound(format!("no workflow {workflow}")))?
            .clone();
        self.burn_in(&wf)?;
        let (started, exited) = self.store().workflow_state(workflow)?.expect("burn_in records the start");
        if exited.is_some() {
            return Err(EngineError::Invalid(format!("workflow {workflow} is out of burn-in already")));
        }
        let report = self.quality(Some(workflow))?;
        let mut reasons = Vec::new();
        let ends = started + jiff::SignedDuration::from_hours(24 * wf.burn_in_days as i64);
        if Timestamp::now() < ends {
            reasons.push(format!(
                "burn-in lasts {} days, until {}",
                wf.burn_in_days,
                ends.round(jiff::Unit::Second).unwrap_or(ends)
            ));
        }
        let x = &wf.exit;
        if (report.n as u64) < x.min_reviews {
            reasons.push(format!("{} reviewed alerts, {} needed", report.n, x.min_reviews));
        }
        if x.min_reviews > 0 && report.malicious_recall < x.min_malicious_recall {
            reasons.push(format!("recall on malicious {:.3} < {:.3}", report.malicious_recall, x.min_malicious_recall));
        }
        if x.min_reviews > 0 && report.ece > x.max_ece {
            reasons.push(format!("calibration error {:.3} > {:.3}", report.ece, x.max_ece));
        }
        let figures = serde_json::json!({
            "reviews": report.n, "malicious_recall": report.malicious_recall, "ece": report.ece,
        });
        let actor = Actor::User(who.user.clone());
        if !reasons.is_empty() {
            self.append_audit(vec![AuditRecord::new(
                actor,
                "workflow.burn_in_exit_refused",
                workflow,
                serde_json::json!({"reasons": reasons, "figures": figures}),
            )])?;
            return Err(EngineError::Refused(format!("burn-in of {workflow} continues: {}", reasons.join("; "))));
        }
        let audit =
            vec![AuditRecord::new(actor, "workflow.burn_in_exited", workflow, serde_json::json!({"figures": figures}))];
        self.store().exit_workflow(workflow, Timestamp::now(), audit, self.policy_version())?;
        Ok(report)
    }
}
