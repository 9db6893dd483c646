//! Replay before activation: the alerts analysts decided, re-run in shadow
//! through the active rule set and a candidate, compared with each other and
//! with the analysts' verdicts, and a gate that a candidate must pass before
//! it becomes active (no tactic's recall may drop by more than the configured
//! limit, no tactic the active set catches may become a blind spot).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use warden_analyze::{Analyzer, LocalAnalyzer, metrics};
use warden_core::{AlertId, AuditRecord, Verdict};
use warden_store::AlertRecord;

use crate::review::Decision;

use crate::{Engine, EngineError};

/// How one rule set did on the decided alerts.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Side {
    /// The rule set's version (`built-in only` when none is active).
    pub ruleset: String,
    /// Of the alerts analysts called an attack, the share this set calls one.
    pub recall: f64,
    pub recall_ci95: (f64, f64),
    /// Of the alerts this set calls an attack, the share analysts did.
    pub precision: f64,
    pub precision_ci95: (f64, f64),
    /// Expected calibration error of its confidence against the analysts (15 bins).
    pub ece: f64,
}

/// One tactic's recall under each set.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TacticRecall {
    pub tactic: String,
    /// Attacks of this tactic analysts decided.
    pub support: usize,
    pub active: f64,
    pub candidate: f64,
}

/// What `warden replay` reports, and what the activation gate reads.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReplayReport {
    pub candidate: String,
    pub since: Option<String>,
    /// Decided alerts replayed.
    pub decided: usize,
    pub active: Side,
    pub proposed: Side,
    /// Verdict changes from the active set to the candidate: "benign → malicious" → count.
    pub flips: BTreeMap<String, usize>,
    pub tactics: Vec<TacticRecall>,
    /// Tactics the active set catches (some recall) that the candidate never does.
    pub new_blind_spots: Vec<String>,
    /// Model calls made (a rule-set replay runs locally: none, no cost).
    pub calls: u64,
    /// What they cost, from the candidate's price table.
    pub cost: f64,
    pub passed: bool,
    /// Why the gate refuses, one line each (empty when it passes).
    pub failures: Vec<String>,
}

impl ReplayReport {
    /// A readable report.
    pub fn text(&self) -> String {
        let mut out = format!(
            "replay of {} on {} decided alert(s){}\n",
            self.candidate,
            self.decided,
            self.since.as_deref().map(|s| format!(" since {s}")).unwrap_or_default()
        );
        for (name, s) in [("active", &self.active), ("candidate", &self.proposed)] {
            out.push_str(&format!(
                "  {name:<9} {:<24} recall {:.3} [{:.3}, {:.3}]  precision {:.3} [{:.3}, {:.3}]  ECE {:.3}\n",
                s.ruleset,
                s.recall,
                s.recall_ci95.0,
                s.recall_ci95.1,
                s.precision,
                s.precision_ci95.0,
                s.precision_ci95.1,
                s.ece
            ));
        }
        if !self.tactics.is_empty() {
            out.push_str("  recall per tactic (support: active → candidate)\n");
            for t in &self.tactics {
                out.push_str(&format!("    {:<22} {:>4}: {:.3} → {:.3}\n", t.tactic, t.support, t.active, t.candidate));
            }
        }
        if !self.flips.is_empty() {
            out.push_str("  verdict flips\n");
            for (k, n) in &self.flips {
                out.push_str(&format!("    {k}: {n}\n"));
            }
        }
        if self.decided == 0 {
            out.push_str("  no decided alerts: nothing to measure, the gate has nothing to refuse\n");
        }
        out.push_str(&format!("  model calls: {} (cost {:.4})\n", self.calls, self.cost));
        if self.passed {
            out.push_str("gate: passed\n");
        } else {
            out.push_str("gate: REFUSED\n");
            for f in &self.failures {
                out.push_str(&format!("  - {f}\n"));
            }
        }
        out
    }
}

/// The name a generative analyzer is replayed and activated under: its
/// provider, model and prompt template (a change to any is a new analyzer).
pub(crate) fn analyzer_name(provider: &str, model: &str) -> String {
    format!("{provider}@{model}+prompt-{}", &warden_analyze::llm::prompt_hash()[..12])
}

fn side(ruleset: String, points: &[(Verdict, f64, bool)]) -> Side {
    let attacks = points.iter().filter(|(_, _, truth)| *truth).count();
    let caught = points.iter().filter(|(v, _, truth)| *truth && metrics::positive(*v)).count();
    let called = points.iter().filter(|(v, _, _)| metrics::positive(*v)).count();
    let ratio = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    // Confidence as the probability of an attack, for calibration.
    let cal: Vec<(f64, bool)> = points
        .iter()
        .filter(|(v, _, _)| *v != Verdict::Unknown)
        .map(|(v, c, truth)| (if metrics::positive(*v) { *c } else { 1.0 - c }, *truth))
        .collect();
    Side {
        ruleset,
        recall: ratio(caught, attacks),
        recall_ci95: metrics::wilson(caught, attacks),
        precision: ratio(caught, called),
        precision_ci95: metrics::wilson(caught, called),
        ece: metrics::ece(&cal, 15).0,
    }
}

impl Engine {
    /// The active rule set and how it became active: the replay that gated
    /// it (decided alerts, pass or refusal, recall and precision both ways)
    /// and the manager's override, if any. None while only the built-in
    /// detections are active. One rule set serves every workflow.
    pub fn ruleset_status(&self) -> Result<Option<serde_json::Value>, EngineError> {
        let Some((version, body)) = self.store().active_ruleset()? else { return Ok(None) };
        let entries = self.store().audit_for_object(&version)?;
        let last = |action: &str| entries.iter().rev().find(|e| e.record.action == action);
        let replay = last("replay.completed").map(|e| {
            let mut p = e.record.payload.clone();
            p["at"] = serde_json::json!(e.at.to_string());
            p
        });
        let overridden = last("replay.gate_overridden").map(|e| {
            let by = match &e.record.actor {
                warden_core::Actor::User(n) | warden_core::Actor::Service(n) | warden_core::Actor::Analyzer(n) => {
                    n.clone()
                }
            };
            serde_json::json!({"by": by, "reason": e.record.payload["reason"], "at": e.at.to_string()})
        });
        let imported = last("rules.imported").map(|e| e.at.to_string());
        Ok(Some(serde_json::json!({
            "version": version,
            "rules": body.as_array().map_or(0, Vec::len),
            "imported_at": imported,
            "replay": replay,
            "overridden": overridden,
        })))
    }

    /// Each workflow's generative analyzer as configured, against the one
    /// last activated for it: a new one (another provider, model or prompt
    /// template) becomes active only if a replay of it passed the gate or a
    /// manager overrode it, once analysts have decided anything (before that
    /// there is nothing to measure). The audit records to write, or why not.
    pub(crate) fn activate_analyzers(&self) -> Result<Vec<AuditRecord>, EngineError> {
        let mut out = Vec::new();
        let mut decided: Option<bool> = None;
        for wf in self.workflows() {
            let Some(llm) = self.llm(&wf.analyzer) else { continue };
            let name = analyzer_name(&wf.analyzer, &llm.info().model.unwrap_or_default());
            let object = format!("workflow:{}", wf.name);
            let history = self.store().audit_for_object(&object)?;
            let last = history.iter().rev().find(|e| e.record.action == "analyzer.activated");
            if last.is_some_and(|e| e.record.payload["analyzer"] == name.as_str()) {
                continue;
            }
            let any_decided = match decided {
                Some(d) => d,
                None => *decided.insert(!self.store().feedback(None)?.is_empty()),
            };
            let about = self.store().audit_for_object(&name)?;
            let passed =
                about.iter().any(|e| e.record.action == "replay.completed" && e.record.payload["passed"] == true);
            let overridden = about.iter().any(|e| e.record.action == "replay.gate_overridden");
            if any_decided && !passed && !overridden {
                return Err(EngineError::Invalid(format!(
                    "workflow {}: {name} has not passed a replay, so it is not activated; with the current \
                     configuration run `warden replay --candidate-config NEW.toml`, and a manager may override a \
                     refusal with --token and --override-reason",
                    wf.name
                )));
            }
            out.push(AuditRecord::new(
                crate::service("engine"),
                "analyzer.activated",
                object,
                serde_json::json!({
                    "analyzer": name,
                    "previous": last.map(|e| e.record.payload["analyzer"].clone()),
                    "replay": if passed { "passed" } else if overridden { "overridden" } else { "nothing decided yet" },
                }),
            ));
        }
        Ok(out)
    }

    /// A manager activates a candidate analyzer over a refused replay, with
    /// a written reason; audited. Only a name that was replayed can be overridden.
    pub fn override_analyzer_gate(
        &self,
        who: &warden_govern::Identity,
        name: &str,
        reason: &str,
    ) -> Result<(), EngineError> {
        if !who.roles.contains(&warden_core::Role::Manager) {
            return Err(EngineError::Invalid(format!(
                "{} may not override the replay gate: only a manager may",
                who.user
            )));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(EngineError::Invalid("an override needs a written reason".into()));
        }
        if !self.store().audit_for_object(name)?.iter().any(|e| e.record.action == "replay.completed") {
            return Err(EngineError::Invalid(format!("{name} has not been replayed: replay it first")));
        }
        self.append_audit(vec![AuditRecord::new(
            warden_core::Actor::User(who.user.clone()),
            "replay.gate_overridden",
            name,
            serde_json::json!({"reason": reason, "kind": "analyzer"}),
        )])?;
        Ok(())
    }

    /// A local analyzer with these rules and no classifier, fresh (no memory of earlier events), so
    /// the two sides differ only in their rules.
    fn shadow(&self, rules: Option<(String, Arc<Vec<warden_analyze::sigma::Rule>>)>) -> LocalAnalyzer {
        let a = LocalAnalyzer::new();
        a.set_rules(rules);
        a
    }

    /// The decided alerts received since `since` (all when None), each with
    /// its latest decision, in the order they arrived (the local analyzer
    /// correlates per host, so order matters).
    fn decided(&self, since: Option<Timestamp>) -> Result<Vec<(AlertRecord, Decision)>, EngineError> {
        let mut latest: BTreeMap<String, (Timestamp, Timestamp, Decision)> = BTreeMap::new();
        for f in self.store().feedback(None)? {
            if since.is_some_and(|s| f.received_at < s) {
                continue;
            }
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            if latest.get(&f.alert_id).is_none_or(|(_, at, _)| *at <= f.decided_at) {
                latest.insert(f.alert_id.clone(), (f.received_at, f.decided_at, d));
            }
        }
        let mut ordered: Vec<_> = latest.into_iter().collect();
        ordered.sort_by_key(|(id, (received, ..))| (*received, id.clone()));
        let mut out = Vec::with_capacity(ordered.len());
        for (id, (_, _, d)) in ordered {
            let Some(aid) = AlertId::parse(&id) else { continue };
            if let Some(rec) = self.store().alert(&aid)? {
                out.push((rec, d));
            }
        }
        Ok(out)
    }

    /// Both sides' verdicts on every decided alert, compared with the
    /// analysts and with each other, the gate applied, the result audited
    /// against `candidate`.
    fn compare(
        &self,
        kind: &str,
        candidate: String,
        active_name: String,
        since: Option<Timestamp>,
        mut judge: impl FnMut(&AlertRecord) -> ((Verdict, f64), (Verdict, f64)),
        spent: impl FnOnce() -> (u64, f64),
    ) -> Result<ReplayReport, EngineError> {
        let (mut a_points, mut c_points) = (Vec::new(), Vec::new());
        let mut flips: BTreeMap<String, usize> = BTreeMap::new();
        // Per tactic: (support, caught by active, caught by candidate).
        let mut tactics: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        for (rec, d) in self.decided(since)? {
            let techniques: Vec<String> = if d.techniques.is_empty() {
                rec.assessment
                    .as_ref()
                    .map(|a| a.techniques.iter().map(|t| t.to_string()).collect())
                    .unwrap_or_default()
            } else {
                d.techniques.iter().map(|t| t.to_string()).collect()
            };
            let ((av, ac), (cv, cc)) = judge(&rec);
            let truth = metrics::positive(d.verdict);
            a_points.push((av, ac, truth));
            c_points.push((cv, cc, truth));
            if av != cv {
                *flips.entry(format!("{} → {}", av.as_str(), cv.as_str())).or_insert(0) += 1;
            }
            if truth {
                let of: BTreeSet<String> =
                    techniques.iter().flat_map(|t| warden_analyze::attack::tactics_of(t)).collect();
                for t in of {
                    let e = tactics.entry(t).or_insert((0, 0, 0));
                    e.0 += 1;
                    e.1 += usize::from(metrics::positive(av));
                    e.2 += usize::from(metrics::positive(cv));
                }
            }
        }
        let gate = &self.config().govern.replay;
        let rate = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let tactics: Vec<TacticRecall> = tactics
            .into_iter()
            .map(|(tactic, (n, a, c))| TacticRecall { tactic, support: n, active: rate(a, n), candidate: rate(c, n) })
            .collect();
        let mut failures = Vec::new();
        let mut blind = Vec::new();
        for t in tactics.iter().filter(|t| t.support >= gate.min_tactic_support) {
            if t.active > 0.0 && t.candidate == 0.0 {
                blind.push(t.tactic.clone());
                failures.push(format!(
                    "{}: a new blind spot ({} attack(s) caught by the active side, none by the candidate)",
                    t.tactic,
                    (t.active * t.support as f64).round()
                ));
            } else if t.active - t.candidate > gate.max_tactic_recall_drop {
                failures.push(format!(
                    "{}: recall drops from {:.3} to {:.3} (more than {:.3})",
                    t.tactic, t.active, t.candidate, gate.max_tactic_recall_drop
                ));
            }
        }
        let (calls, cost) = spent();
        let report = ReplayReport {
            candidate: candidate.clone(),
            since: since.map(|s| s.to_string()),
            decided: a_points.len(),
            active: side(active_name, &a_points),
            proposed: side(candidate.clone(), &c_points),
            flips,
            tactics,
            new_blind_spots: blind,
            calls,
            cost,
            passed: failures.is_empty(),
            failures,
        };
        self.append_audit(vec![AuditRecord::new(
            crate::service("replay"),
            "replay.completed",
            candidate.as_str(),
            serde_json::json!({
                "kind": kind,
                "decided": report.decided,
                "passed": report.passed,
                "failures": report.failures,
                "calls": report.calls,
                "cost": report.cost,
                "recall": {"active": report.active.recall, "candidate": report.proposed.recall},
                "precision": {"active": report.active.precision, "candidate": report.proposed.precision},
            }),
        )])?;
        Ok(report)
    }

    /// Replays the decided alerts (received since `since`, if given) through
    /// the active rule set and the candidate under `dir`; audits the result
    /// against the candidate's version.
    pub fn replay_rules(&self, dir: &Path, since: Option<Timestamp>) -> Result<ReplayReport, EngineError> {
        let (version, candidate) = crate::rules::candidate(dir)?;
        let active = self.store().active_ruleset()?.map(|(v, body)| (v, Arc::new(crate::rules::parse_body(&body))));
        let active_name = active.as_ref().map_or_else(|| "built-in only".to_owned(), |(v, _)| v.clone());
        let now = self.shadow(active);
        let next = self.shadow(Some((version.clone(), Arc::new(candidate))));
        self.compare(
            "ruleset",
            version,
            active_name,
            since,
            |rec| {
                let protected = self.protector.protect(rec.alert.clone(), &warden_privacy::ProviderPolicy::local());
                let judge = |a: &LocalAnalyzer| {
                    a.analyze(&protected).map_or((Verdict::Unknown, 0.0), |x| (x.verdict, x.confidence.get()))
                };
                (judge(&now), judge(&next))
            },
            || (0, 0.0),
        )
    }

    /// Replays the decided alerts through a candidate generative analyzer:
    /// `provider` of the `candidate` configuration (its model, prompt,
    /// endpoint, classes and price table), protected by that provider's
    /// policy, against what the active analyzer said at the time (the stored
    /// assessments). Every call is a real call and costs what the price table
    /// says; the report gives calls and cost.
    pub fn replay_analyzer(
        &self,
        candidate: &crate::Config,
        provider: &str,
        since: Option<Timestamp>,
    ) -> Result<ReplayReport, EngineError> {
        let providers = crate::privacy::llm_providers(candidate, &self.protector);
        let llm = providers.get(provider).ok_or_else(|| {
            EngineError::NotFound(format!(
                "the candidate configuration has no provider {provider:?} with a base_url and model"
            ))
        })?;
        let policy = crate::privacy::provider_policy_in(candidate, provider)?;
        let name = analyzer_name(provider, &llm.info().model.unwrap_or_default());
        let cost = std::cell::Cell::new(0.0);
        let calls = std::cell::Cell::new(0u64);
        self.compare(
            "analyzer",
            name,
            "stored assessments".into(),
            since,
            |rec| {
                let stored =
                    rec.assessment.as_ref().map_or((Verdict::Unknown, 0.0), |a| (a.verdict, a.confidence.get()));
                let p = self.protector.protect(rec.alert.clone(), &policy);
                let (result, record) = llm.analyze_recorded(&p, &[]);
                if let Some(r) = record {
                    calls.set(calls.get() + 1);
                    cost.set(cost.get() + r.cost.unwrap_or(0.0));
                }
                let theirs = result.map_or((Verdict::Unknown, 0.0), |a| (a.verdict, a.confidence.get()));
                (stored, theirs)
            },
            || (calls.get(), cost.get()),
        )
    }
}
