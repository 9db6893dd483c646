//! The local analyzer: a small set of well-known detections over canonical
//! fields, plus the source product's own verdict where it gives one.
//!
//! Each detection cites the fields it matched, so an analyst (and
//! validation) can check every claim. When nothing matches, the analyzer says
//! so plainly and with modest confidence rather than inventing certainty.
//! Imported Sigma rules (`sigma`) add to the built-in detections.
//!
//! `detections` holds the built-in detections and the helpers that read an
//! event's fields; `host` what the analyzer remembers per host between events
//! (correlation of weak signals, failed sign-in bursts, short-lived accounts
//! and tasks, discovery bursts).

use std::collections::BTreeMap;

use warden_core::{Alert, AnalyzerInfo, Assessment, Canon, Confidence, Evidence, Severity, TechniqueId, Verdict};

use std::sync::{Arc, RwLock};

use crate::classifier::Classifier;
use crate::{AnalyzeError, Analyzer, ProtectedAlert};

mod detections;
mod host;

use detections::{DETECTIONS, Hit, cite, source_techniques, vendor_severity};
use host::{Discovered, ROUTINE, Seen, Signal, with_burst, with_short_lived};

/// Version of the built-in detection set; recorded with every assessment.
const RULESET: &str = "builtin-2026.11.1";

/// The offline analyzer Warden ships with: built-in detections first, then
/// (when one is active) the classifier learnt from analysts' decisions.
#[derive(Default)]
pub struct LocalAnalyzer {
    model: RwLock<Option<Arc<Classifier>>>,
    /// The active Sigma rule set: (version, rules).
    sigma: RwLock<Option<(String, Arc<crate::sigma::RuleSet>)>>,
    /// Recent discovery commands per (host, user), for bursts.
    discovery: std::sync::Mutex<BTreeMap<(String, String), Vec<Discovered>>>,
    /// Recent weak signals per host, for correlation.
    signals: std::sync::Mutex<BTreeMap<String, Vec<Seen>>>,
    /// Accounts and tasks created recently, per host, kind and name: when.
    created: std::sync::Mutex<BTreeMap<String, jiff::Timestamp>>,
    /// Recent failed sign-ins per host and event id (when, which account), for bursts.
    failures: std::sync::Mutex<BTreeMap<String, Vec<(jiff::Timestamp, String)>>>,
}

impl LocalAnalyzer {
    pub fn new() -> Self {
        LocalAnalyzer::default()
    }

    fn model(&self) -> Option<Arc<Classifier>> {
        self.model.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sigma rules that match, as assessments' raw material.
    fn sigma_hits(&self, alert: &Alert) -> Vec<SigmaHit> {
        let Some((_, rules)) = self.sigma.read().unwrap_or_else(|p| p.into_inner()).clone() else { return Vec::new() };
        rules
            .matching(alert)
            .into_iter()
            .map(|r| SigmaHit {
                title: r.title.clone(),
                level: r.level,
                techniques: r.techniques.clone(),
                evidence: r
                    .cited_fields(alert)
                    .into_iter()
                    .take(4)
                    .map(|(path, value)| Evidence {
                        path,
                        value,
                        note: format!("matched by Sigma rule \"{}\"", r.title),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A Sigma rule that matched.
struct SigmaHit {
    title: String,
    level: Severity,
    techniques: Vec<TechniqueId>,
    evidence: Vec<Evidence>,
}

impl LocalAnalyzer {
    /// (technique, detection id) for every technique a built-in detection reports:
    /// what this analyzer can see, for coverage reports.
    pub fn coverage() -> Vec<(&'static str, &'static str)> {
        DETECTIONS.iter().flat_map(|d| d.techniques.iter().map(move |t| (*t, d.id))).collect()
    }

    /// Every built-in detection's id.
    pub fn detection_ids() -> Vec<&'static str> {
        DETECTIONS.iter().map(|d| d.id).collect()
    }

    /// The ids of the built-in detections that match an alert.
    pub fn matching_detections(alert: &Alert) -> Vec<&'static str> {
        DETECTIONS.iter().filter(|d| (d.matches)(alert).is_some()).map(|d| d.id).collect()
    }

    /// True- and false-positive example events for every built-in detection
    /// (NDJSON: `{"detection", "expect": "match"|"no_match", "why", "event"}`),
    /// run by the engine's tests through the real ingest path.
    pub const EXAMPLES: &'static str = include_str!("../../data/builtin-examples.ndjson");
}

impl Analyzer for LocalAnalyzer {
    fn info(&self) -> AnalyzerInfo {
        AnalyzerInfo {
            name: "local".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            provider: None,
            ruleset: Some(match &*self.sigma.read().unwrap_or_else(|p| p.into_inner()) {
                Some((v, _)) => format!("{RULESET}+sigma:{v}"),
                None => RULESET.into(),
            }),
            model: self.model().map(|m| m.version.clone()),
        }
    }

    fn set_rules(&self, rules: Option<(String, Arc<Vec<crate::sigma::Rule>>)>) {
        let set = rules.map(|(v, r)| (v, Arc::new(crate::sigma::RuleSet::new(r))));
        *self.sigma.write().unwrap_or_else(|p| p.into_inner()) = set;
    }

    fn set_model(&self, model: Option<Arc<Classifier>>) {
        *self.model.write().unwrap_or_else(|p| p.into_inner()) = model;
    }

    fn analyze(&self, protected: &ProtectedAlert) -> Result<Assessment, AnalyzeError> {
        let alert = protected.alert();
        let hits: Vec<Hit> =
            DETECTIONS.iter().filter_map(|d| (d.matches)(alert).map(|evidence| Hit { d, evidence })).collect();
        let sigma = self.sigma_hits(alert);
        let signals: Vec<Signal> = hits
            .iter()
            .filter(|h| matches!(h.d.verdict, Verdict::Malicious | Verdict::Suspicious))
            .map(|h| Signal {
                key: h.d.id.to_owned(),
                level: h.d.severity,
                strong: h.d.severity >= Severity::Medium && !ROUTINE.contains(&h.d.id),
            })
            .chain(sigma.iter().map(|h| Signal {
                key: format!("Sigma rule \"{}\"", h.title),
                level: h.level,
                strong: h.level >= Severity::Medium,
            }))
            .collect();
        let mut a = self.assess(alert, hits, sigma)?;
        if let Some(burst) = self.failure_burst(alert) {
            a = with_burst(a, burst);
            return Ok(a);
        }
        if let Some(short) = self.short_lived(alert) {
            return Ok(with_short_lived(a, short));
        }
        Ok(self.correlate(alert, a, &signals))
    }
}

impl LocalAnalyzer {
    /// What the detections and rules say of one event on their own.
    fn assess(&self, alert: &Alert, hits: Vec<Hit>, sigma: Vec<SigmaHit>) -> Result<Assessment, AnalyzeError> {
        if !sigma.is_empty() {
            let built_in = (!hits.is_empty()).then(|| self.combine(alert, hits));
            return Ok(self.with_sigma(alert, built_in, sigma));
        }
        // A detection of an attack settles it; a benign-only match (such as
        // network metadata) can still be overruled by what analysts taught
        // the classifier, which then sends it to a human as suspicious.
        let only_benign = hits.iter().all(|h| h.d.verdict == Verdict::Benign);
        if only_benign && let Some(model) = self.model() {
            match self.learned(alert, &model) {
                Some(a) if a.verdict == Verdict::Suspicious || hits.is_empty() => return Ok(a),
                _ => {}
            }
        }
        if !hits.is_empty() {
            let burst = self.discovery_burst(alert, &hits);
            let mut a = self.combine(alert, hits);
            if let Some(line) = burst {
                // One discovery command is routine; several kinds in minutes are how intruders orient themselves.
                a.severity = a.severity.max(Severity::High);
                a.confidence = Confidence::saturating((a.confidence.get() + 0.15).min(0.95));
                let at = a.summary.find('\n').unwrap_or(a.summary.len());
                a.summary.insert_str(at, &format!(" {line}"));
            }
            return Ok(a);
        }
        Ok(self.fallback(alert))
    }

    fn combine(&self, alert: &Alert, mut hits: Vec<Hit>) -> Assessment {
        let rank = Verdict::strength;
        hits.sort_by(|a, b| {
            (rank(b.d.verdict), b.d.severity)
                .cmp(&(rank(a.d.verdict), a.d.severity))
                .then(b.d.confidence.total_cmp(&a.d.confidence))
        });
        let primary = hits[0].d;
        // Independent detections that agree make the verdict more likely: noisy-or, capped.
        let agreeing = hits.iter().filter(|h| h.d.verdict == primary.verdict);
        let confidence = (1.0 - agreeing.map(|h| 1.0 - h.d.confidence).product::<f64>()).min(0.99);
        let severity = hits.iter().map(|h| h.d.severity).max().unwrap_or(primary.severity);
        let mut techniques: Vec<TechniqueId> =
            hits.iter().flat_map(|h| h.d.techniques).filter_map(|t| TechniqueId::parse(t).ok()).collect();
        techniques.sort();
        techniques.dedup();
        let mut evidence: Vec<Evidence> = Vec::new();
        for e in hits.iter().flat_map(|h| h.evidence.iter()) {
            if !evidence.iter().any(|x| x.path == e.path) {
                evidence.push(e.clone());
            }
        }
        let mut actions: Vec<String> = hits.iter().flat_map(|h| h.d.actions).map(|s| (*s).to_owned()).collect();
        actions.sort();
        actions.dedup();
        let mut summary = format!("{}{}.", primary.title, context(alert));
        if hits.len() > 1 {
            let others: Vec<&str> = hits[1..].iter().map(|h| h.d.title).collect();
            summary.push_str(&format!(" Also matched: {}.", others.join("; ")));
        }
        let ids: Vec<&str> = hits.iter().map(|h| h.d.id).collect();
        summary.push_str(&format!(" [detections: {}]", ids.join(", ")));
        for h in &hits {
            for e in h.evidence.iter().take(3) {
                summary.push_str(&format!(
                    "\n- {}: `{}` = \"{}\": {}.",
                    h.d.id,
                    e.path,
                    clip(&e.value.to_string()),
                    e.note
                ));
            }
        }
        summary.push_str(&attack_notes(&techniques));
        Assessment {
            verdict: primary.verdict,
            severity,
            confidence: Confidence::saturating(confidence),
            techniques,
            summary,
            evidence,
            recommended_actions: actions,
            analyzer: self.info(),
        }
    }

    /// Sigma matches, combined with what the built-in detections said: the
    /// most severe rule leads; high and critical rules call it malicious,
    /// the rest suspicious; agreeing rules raise confidence.
    fn with_sigma(&self, alert: &Alert, built_in: Option<Assessment>, mut sigma: Vec<SigmaHit>) -> Assessment {
        sigma.sort_by_key(|h| std::cmp::Reverse(h.level));
        let top = &sigma[0];
        let (verdict, base) = match top.level {
            Severity::Critical => (Verdict::Malicious, 0.85),
            Severity::High => (Verdict::Malicious, 0.75),
            Severity::Medium => (Verdict::Suspicious, 0.65),
            _ => (Verdict::Suspicious, 0.5),
        };
        let confidence = (1.0 - (1.0 - base) * 0.8f64.powi(sigma.len() as i32 - 1)).min(0.95);
        let mut evidence: Vec<Evidence> = Vec::new();
        let mut techniques: Vec<TechniqueId> = Vec::new();
        for h in &sigma {
            for e in &h.evidence {
                if !evidence.iter().any(|x| x.path == e.path) {
                    evidence.push(e.clone());
                }
            }
            techniques.extend(h.techniques.iter().cloned());
        }
        let titles: Vec<&str> = sigma.iter().map(|h| h.title.as_str()).collect();
        let mut summary = format!("Sigma: {}{}.", titles.join("; "), context(alert));
        for h in sigma.iter().take(5) {
            for e in h.evidence.iter().take(2) {
                summary.push_str(&format!(
                    "\n- Sigma rule \"{}\" ({}): `{}` = \"{}\".",
                    h.title,
                    h.level,
                    e.path,
                    clip(&e.value.to_string())
                ));
            }
        }
        let mut a = Assessment {
            verdict,
            severity: top.level,
            confidence: Confidence::saturating(confidence),
            techniques,
            summary,
            evidence,
            recommended_actions: Vec::new(),
            analyzer: self.info(),
        };
        if let Some(b) = built_in {
            // The stronger of the two views wins; their evidence and techniques are pooled.
            if (b.verdict == Verdict::Malicious && a.verdict != Verdict::Malicious)
                || b.confidence.get() > a.confidence.get()
            {
                a.verdict = b.verdict;
                a.confidence = b.confidence;
            }
            a.severity = a.severity.max(b.severity);
            // The built-in view's summary ends with its ATT&CK notes; keep its first part only.
            let head = b.summary.split("\nATT&CK:").next().unwrap_or(&b.summary);
            a.summary = format!("{head}\n{}", a.summary);
            for e in b.evidence {
                if !a.evidence.iter().any(|x| x.path == e.path) {
                    a.evidence.push(e);
                }
            }
            a.techniques.extend(b.techniques);
            a.recommended_actions = b.recommended_actions;
        }
        a.techniques.sort();
        a.techniques.dedup();
        a.summary.push_str(&attack_notes(&a.techniques));
        a.evidence.truncate(20);
        a
    }

    /// No detection matched; the classifier learnt from analysts' decisions
    /// speaks when it has something to say, citing the fields that drove it.
    fn learned(&self, alert: &Alert, model: &Classifier) -> Option<Assessment> {
        let feats = crate::classifier::features(alert);
        let idx: Vec<u32> = feats.iter().map(|(i, _)| *i).collect();
        let p = model.predict(&idx);
        let attack = p >= 0.5;
        let paths = model.reasons(&feats, attack, 3);
        if paths.is_empty() {
            return None;
        }
        let evidence: Vec<Evidence> = paths
            .iter()
            .filter_map(|path| {
                let value = warden_core::Fields::get(alert, path)?.clone();
                Some(Evidence { path: path.clone(), value, note: "weighed by the learned classifier".into() })
            })
            .collect();
        let (verdict, confidence, summary) = if attack {
            (
                Verdict::Suspicious,
                p,
                format!(
                    "No built-in detection matched, but the classifier {} rates this like alerts analysts confirmed as attacks (p = {p:.2}){}.",
                    model.version,
                    context(alert)
                ),
            )
        } else {
            (
                Verdict::Benign,
                1.0 - p,
                format!(
                    "No built-in detection matched and the classifier {} rates this like alerts analysts closed as benign (p = {p:.2}){}.",
                    model.version,
                    context(alert)
                ),
            )
        };
        Some(Assessment {
            verdict,
            severity: if attack { Severity::Medium } else { Severity::Info },
            confidence: Confidence::saturating(confidence),
            techniques: Vec::new(),
            summary,
            evidence,
            recommended_actions: Vec::new(),
            analyzer: self.info(),
        })
    }

    /// No detection matched: say what is known and no more.
    fn fallback(&self, alert: &Alert) -> Assessment {
        let mut evidence = Vec::new();
        for c in [Canon::RuleName, Canon::EventCode, Canon::Channel, Canon::Image, Canon::CommandLine] {
            if let Some(e) = cite(alert, c, "identifies what the source recorded") {
                evidence.push(e);
            }
        }
        let (verdict, severity, confidence, summary) = if evidence.is_empty() {
            (
                Verdict::Unknown,
                Severity::Info,
                0.2,
                "The record has none of the fields the local analyzer reads (no rule name, event code, \
                 process or channel); it cannot be judged without a human."
                    .to_owned(),
            )
        } else if let Some(vendor) = vendor_severity(alert) {
            // The source product raised it and nothing here corroborates or refutes it.
            (
                Verdict::Suspicious,
                vendor,
                0.5,
                format!(
                    "The source product raised this at {vendor} severity{}; no local detection corroborates it.",
                    context(alert)
                ),
            )
        } else {
            (Verdict::Benign, Severity::Info, 0.6, format!("No local detection matched this event{}.", context(alert)))
        };
        let techniques = source_techniques(alert);
        if let Some(e) = cite(alert, Canon::VendorSeverity, "the source product's own severity") {
            evidence.push(e);
        }
        Assessment {
            verdict,
            severity,
            confidence: Confidence::saturating(confidence),
            techniques,
            summary,
            evidence,
            recommended_actions: Vec::new(),
            analyzer: self.info(),
        }
    }
}

/// What ATT&CK says about the techniques (name, tactics) and the next steps
/// the playbook table gives for the first of them, as summary lines.
fn attack_notes(techniques: &[TechniqueId]) -> String {
    if techniques.is_empty() {
        return String::new();
    }
    let named: Vec<String> = techniques
        .iter()
        .take(6)
        .map(|t| match crate::attack::technique(t.as_str()) {
            Some(k) => format!("{} {} ({})", t.as_str(), k.name, k.tactics.join(", ")),
            None => t.as_str().to_owned(),
        })
        .collect();
    let mut s = format!("\nATT&CK: {}.", named.join("; "));
    if let Some((key, steps)) = techniques.iter().find_map(|t| crate::attack::next_steps(t.as_str())) {
        s.push_str(&format!("\nNext steps ({key} playbook): {steps}."));
    }
    s
}

/// " on host H (user U)" when known.
fn context(a: &Alert) -> String {
    let mut s = String::new();
    if let Some(h) = a.canonical_text(Canon::Host) {
        s.push_str(&format!(" on {}", clip(&h)));
    }
    if let Some(u) = a.canonical_text(Canon::User) {
        s.push_str(&format!(" (user {})", clip(&u)));
    }
    s
}

/// `text` with `line` added after its first line.
fn insert_after_first_line(text: &str, line: &str) -> String {
    match text.split_once('\n') {
        Some((head, rest)) => format!("{head} {line}\n{rest}"),
        None => format!("{text} {line}"),
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= 80 { s.to_owned() } else { format!("{}…", s.chars().take(79).collect::<String>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_technique_id_is_well_formed_and_actions_are_known() {
        for d in DETECTIONS {
            for t in d.techniques {
                assert!(TechniqueId::parse(t).is_ok(), "{}: {t}", d.id);
            }
            for act in d.actions {
                assert!(act.parse::<warden_core::ActionKind>().is_ok(), "{}: {act}", d.id);
            }
            assert!((0.0..=1.0).contains(&d.confidence), "{}", d.id);
        }
    }

    #[test]
    fn detection_ids_are_unique() {
        let mut ids: Vec<&str> = DETECTIONS.iter().map(|d| d.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len());
    }
}
