//! The local analyzer: a small set of well-known detections over canonical
//! fields, plus the source product's own verdict where it gives one.
//!
//! Each detection cites the fields it matched, so an analyst (and
//! validation) can check every claim. When nothing matches, the analyzer says
//! so plainly and with modest confidence rather than inventing certainty.
//! Imported Sigma rules (`sigma`) add to the built-in detections; several
//! kinds of discovery from one user on one host within minutes make a burst.

use std::collections::BTreeMap;

use warden_core::{
    Alert, AnalyzerInfo, Assessment, Canon, Confidence, Evidence, Fields as _, Format, Severity, TechniqueId, Value,
    Verdict,
};

use std::sync::{Arc, RwLock};

use crate::classifier::Classifier;
use crate::{AnalyzeError, Analyzer, ProtectedAlert};

/// Version of the built-in detection set; recorded with every assessment.
const RULESET: &str = "builtin-2026.11.1";

/// One built-in detection.
struct Detection {
    id: &'static str,
    title: &'static str,
    verdict: Verdict,
    severity: Severity,
    confidence: f64,
    techniques: &'static [&'static str],
    actions: &'static [&'static str],
    /// The evidence when the detection matches.
    matches: fn(&Alert) -> Option<Vec<Evidence>>,
}

/// What matched, with the detection it came from.
struct Hit {
    d: &'static Detection,
    evidence: Vec<Evidence>,
}

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

/// One weak signal seen on a host: when, which detection or rule, its weight.
type Seen = (jiff::Timestamp, Vec<String>, u32);

/// Weak signals on one host within this window are judged together …
const CORRELATION_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);
/// … and make a finding when at least two different ones weigh this much
/// (low 1, medium 2; informational hits are context and weigh nothing).
const CORRELATION_WEIGHT: u32 = 4;
/// Signals kept per host at most, so memory stays bounded under a flood.
const CORRELATION_KEEP: usize = 256;

/// Built-in detections of things administrators and the system do every
/// day (a service installed, an account created, a member added to a group,
/// a scheduled task): notable, but a finding only when something else on
/// the host goes with them. Low-severity detections (single discovery
/// commands) are weak too.
const ROUTINE: &[&str] = &["service_installed", "account_created", "privileged_group_change", "scheduled_task_created"];

/// Built-in detections of account and group changes.
const ACCOUNT_CHANGES: &[&str] = &[
    "account_created",
    "privileged_group_change",
    "sensitive_group_member_added",
    "account_security_weakened",
    "guest_account_enabled",
    "admin_like_account_created",
    "account_renamed_admin_like",
    "domain_audit_policy_changed",
];

/// What one detection or Sigma rule said of an event, for correlation.
struct Signal {
    key: String,
    level: Severity,
    /// A finding on its own: a built-in detection of medium severity or
    /// more that is not [`ROUTINE`], or a Sigma rule of level high or critical.
    strong: bool,
}

/// One discovery command seen: when, which detection, the command line.
type Discovered = (jiff::Timestamp, &'static str, String);

/// Discovery commands from one user on one host within this window …
const BURST_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
/// … of at least this many different kinds make a burst.
const BURST_KINDS: usize = 3;

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
    pub const EXAMPLES: &'static str = include_str!("../data/builtin-examples.ndjson");
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

/// A Windows event's data field by name, wherever the rendering keeps it:
/// `Event.EventData.NAME` (EVTX, XML), `NAME` (flat JSON renderings) or
/// `winlog.event_data.NAME` (Winlogbeat). Returns the path found and its value.
fn data_field<'a>(a: &'a Alert, name: &str) -> Option<(String, &'a Value)> {
    [format!("Event.EventData.{name}"), name.to_owned(), format!("winlog.event_data.{name}")]
        .into_iter()
        .find_map(|p| a.fields.get(&p).map(|v| (p, v)))
}

/// A Windows event's data field's text.
fn data_text(a: &Alert, name: &str) -> Option<String> {
    data_field(a, name).map(|(_, v)| v.to_string())
}

/// The first field whose text passes `test`.
fn find_field(a: &Alert, test: impl Fn(&str) -> bool) -> Option<(String, Value)> {
    warden_core::Fields::iter(&a.fields).find(|(_, v)| test(&v.to_string())).map(|(p, v)| (p.to_owned(), v.clone()))
}

/// What a create / delete event pair is about: (kind, technique, created?).
fn lifecycle(a: &Alert) -> Option<(&'static str, &'static str, bool, String)> {
    if channel(a) != "security" {
        return None;
    }
    let sid = || data_text(a, "TargetSid").or_else(|| data_text(a, "TargetUserName"));
    Some(match event_code(a)? {
        4720 => ("user account", "T1136", true, sid()?),
        4726 => ("user account", "T1136", false, sid()?),
        4741 => ("computer account", "T1136", true, sid()?),
        4743 => ("computer account", "T1136", false, sid()?),
        4698 => ("scheduled task", "T1053.005", true, data_text(a, "TaskName")?),
        4699 => ("scheduled task", "T1053.005", false, data_text(a, "TaskName")?),
        _ => return None,
    })
}

/// An object deleted soon after it was made.
struct ShortLived {
    kind: &'static str,
    technique: &'static str,
    name: String,
    after: jiff::SignedDuration,
}

/// Deleting what one made minutes before is how tools run a command
/// through a scheduled task or a throw-away account and clean up.
fn with_short_lived(mut a: Assessment, s: ShortLived) -> Assessment {
    let line = format!(
        "The {} {} was deleted {} s after it was created: made to run something once and removed to leave less behind.",
        s.kind,
        s.name,
        s.after.as_secs()
    );
    a.summary = if matches!(a.verdict, Verdict::Malicious | Verdict::Suspicious) {
        insert_after_first_line(&a.summary, &line)
    } else {
        format!("{line}{}", attack_notes(&TechniqueId::parse(s.technique).into_iter().collect::<Vec<_>>()))
    };
    if a.verdict != Verdict::Malicious {
        a.verdict = Verdict::Suspicious;
    }
    a.severity = a.severity.max(Severity::High);
    a.confidence = Confidence::saturating(a.confidence.get().max(0.75));
    if let Ok(t) = TechniqueId::parse(s.technique)
        && !a.techniques.contains(&t)
    {
        a.techniques.push(t);
    }
    a
}

/// Objects deleted within this long of being created are short-lived.
const SHORT_LIVED: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// A run of failed sign-ins on one host.
struct Burst {
    count: usize,
    accounts: Vec<String>,
    evidence: Evidence,
}

/// The burst decides the event: a finding of brute force or password
/// guessing, whatever else the event matched.
fn with_burst(mut a: Assessment, b: Burst) -> Assessment {
    let line = format!(
        "{} failed sign-ins on this host within {} minutes (accounts: {}): password guessing or spraying.",
        b.count,
        FAILURE_WINDOW.as_mins(),
        b.accounts.join(", ")
    );
    if matches!(a.verdict, Verdict::Malicious | Verdict::Suspicious) {
        a.summary = insert_after_first_line(&a.summary, &line);
    } else {
        a.summary = format!("{line}{}", attack_notes(&[TechniqueId::parse("T1110").expect("valid id")]));
        a.verdict = Verdict::Suspicious;
        a.confidence = Confidence::saturating(0.8);
        a.recommended_actions = vec!["open_ticket".into()];
    }
    a.severity = a.severity.max(Severity::High);
    if let Ok(t) = TechniqueId::parse("T1110")
        && !a.techniques.contains(&t)
    {
        a.techniques.push(t);
    }
    if !a.evidence.iter().any(|e| e.path == b.evidence.path) {
        a.evidence.push(b.evidence);
    }
    a
}

/// Failed sign-ins on one host within this window …
const FAILURE_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);
/// … at least this many make a burst (a person mistyping a password rarely
/// fails five times in five minutes; a guessing tool fails far more).
const FAILURE_BURST: usize = 5;

/// A failed sign-in, read from the event: which account, and the field that
/// says it failed. Windows (4625, 4771, failed 4768 and 4776), SQL Server
/// (18456, and audit action LGIF), OpenSSH (event 4 "Failed password" or
/// "Invalid user").
fn failed_sign_in(a: &Alert) -> Option<(String, Evidence)> {
    let code = event_code(a)?;
    let ch = channel(a);
    let cite_data = |name: &str, note: &str| {
        data_field(a, name).map(|(path, v)| Evidence { path, value: v.clone(), note: note.to_owned() })
    };
    let account = data_text(a, "TargetUserName").unwrap_or_default();
    let status = data_text(a, "Status").unwrap_or_default().to_lowercase();
    let failed_status = !status.is_empty() && status != "0x0";
    match (ch.as_str(), code) {
        ("security", 4625 | 4771) => Some((account, cite(a, Canon::EventCode, "a failed sign-in")?)),
        ("security", 4768 | 4776) if failed_status => {
            Some((account, cite_data("Status", "the sign-in failed with this status")?))
        }
        ("application", 18456) => Some((account, cite(a, Canon::EventCode, "a failed SQL Server login")?)),
        ("application", 33205) => {
            let (path, v) = find_field(a, |t| t.contains("action_id:LGIF"))?;
            Some((
                String::new(),
                Evidence { path, value: v, note: "a failed SQL Server login (audit action LGIF)".into() },
            ))
        }
        (c, 4) if c.starts_with("openssh") => {
            let (path, v) = find_field(a, |t| t.contains("Failed password") || t.contains("Invalid user"))?;
            let t = v.to_string();
            let who =
                t.split(" for ").nth(1).or_else(|| t.split("Invalid user ").nth(1)).and_then(|r| r.split(' ').next());
            let who = who.map(|w| if w == "invalid" { "(invalid user)".to_owned() } else { w.to_owned() });
            Some((who.unwrap_or_default(), Evidence { path, value: v, note: "a failed SSH sign-in".into() }))
        }
        _ => None,
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

    /// Records account and task creations and says whether this event
    /// deletes one made within [`SHORT_LIVED`] on the same host.
    fn short_lived(&self, alert: &Alert) -> Option<ShortLived> {
        let (kind, technique, created, name) = lifecycle(alert)?;
        let host = alert.canonical_text(Canon::Host).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let key = format!("{host}\u{1f}{kind}\u{1f}{}", name.to_lowercase());
        let mut all = self.created.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, t| at.duration_since(*t).abs() <= SHORT_LIVED);
        if all.len() > CORRELATION_KEEP * 16 {
            return None;
        }
        if created {
            all.insert(key, at);
            return None;
        }
        let made = all.remove(&key)?;
        Some(ShortLived { kind, technique, name, after: at.duration_since(made) })
    }

    /// Records a failed sign-in and says whether it completes a burst on its host.
    fn failure_burst(&self, alert: &Alert) -> Option<Burst> {
        let (account, evidence) = failed_sign_in(alert)?;
        let host = alert.canonical_text(Canon::Host).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let mut all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, seen| {
            seen.retain(|(t, _)| at.duration_since(*t).abs() <= FAILURE_WINDOW);
            !seen.is_empty()
        });
        // Kinds of failure are counted apart: one mistyped password can be logged
        // twice (4625 and 4776), and should not count as two attempts.
        let kind = event_code(alert).unwrap_or_default();
        let seen = all.entry(format!("{host}\u{1f}{kind}")).or_default();
        seen.push((at, account));
        if seen.len() > CORRELATION_KEEP {
            let cut = seen.len() - CORRELATION_KEEP;
            seen.drain(..cut);
        }
        if seen.len() < FAILURE_BURST {
            return None;
        }
        let mut accounts: Vec<String> = seen.iter().map(|(_, a)| a.clone()).filter(|a| !a.is_empty()).collect();
        accounts.sort();
        accounts.dedup();
        accounts.truncate(10);
        Some(Burst { count: seen.len(), accounts, evidence })
    }

    /// A rule's level is evidence, not a verdict. A strong signal stands on
    /// its own; weak ones (low and medium rules, routine-but-notable
    /// built-in detections such as a service install or a group change)
    /// are kept per host for [`CORRELATION_WINDOW`] and become a finding
    /// only together: two or more different signals on one host weighing
    /// [`CORRELATION_WEIGHT`]. Alone, a weak signal is context: reported,
    /// audited and searchable, but not put in front of an analyst as a
    /// finding. What the machine's own account does (setup, services
    /// started by the system) weighs nothing.
    fn correlate(&self, alert: &Alert, mut a: Assessment, signals: &[Signal]) -> Assessment {
        if signals.is_empty() || !matches!(a.verdict, Verdict::Malicious | Verdict::Suspicious) {
            return a;
        }
        // Some events have a known, ordinary explanation in the event itself.
        let explained = ordinary_explanation(alert);
        let machine = acts_as_machine(alert);
        // Account and group changes by the machine's own account are what setup does; they
        // stand alone only when a person made them.
        let strong = explained.is_none()
            && (signals.iter().any(|s| s.strong && !(machine && ACCOUNT_CHANGES.contains(&s.key.as_str())))
                || (a.severity >= Severity::High && !machine));
        let host = alert.canonical_text(Canon::Host).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let weight = |s: &Signal| match s.level {
            _ if machine || explained.is_some() => 0,
            Severity::Info => 0,
            Severity::Low => 1,
            _ => 2,
        };
        let mut all = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, seen| {
            seen.retain(|(t, _, _)| at.duration_since(*t).abs() <= CORRELATION_WINDOW);
            !seen.is_empty()
        });
        let seen = all.entry(host.clone()).or_default();
        // One event is one piece of evidence however many rules describe it:
        // it counts once, at its heaviest weight, as the ATT&CK techniques it
        // shows (parent level: two group changes are one kind of step), or
        // the names of what matched when they give none.
        let mut names: Vec<String> = a.techniques.iter().map(|t| t.parent().to_string()).collect();
        if names.is_empty() {
            names = signals.iter().map(|s| s.key.clone()).collect();
        }
        names.sort_unstable();
        names.dedup();
        let own = signals
            .iter()
            .map(|s| match weight(s) {
                0 => 0,
                _ if s.strong => 3,
                w => w,
            })
            .max()
            .unwrap_or(0);
        seen.push((at, names, own));
        if seen.len() > CORRELATION_KEEP {
            let cut = seen.len() - CORRELATION_KEEP;
            seen.drain(..cut);
        }
        // Kinds of event in the window: events that share a technique (or a
        // name) are one kind, at the heaviest weight any of them had.
        let mut kinds: Vec<(Vec<&str>, u32)> = Vec::new();
        for (_, names, w) in seen.iter().filter(|(_, _, w)| *w > 0) {
            let mut merged: (Vec<&str>, u32) = (names.iter().map(String::as_str).collect(), *w);
            kinds.retain(|(k, kw)| {
                let overlaps = k.iter().any(|n| merged.0.contains(n));
                if overlaps {
                    merged.0.extend(k.iter().copied());
                    merged.1 = merged.1.max(*kw);
                }
                !overlaps
            });
            merged.0.sort_unstable();
            merged.0.dedup();
            kinds.push(merged);
        }
        let total: u32 = kinds.iter().map(|(_, w)| w).sum();
        let names: Vec<String> = kinds.iter().map(|(k, _)| k.join(" + ")).collect();
        let kinds = kinds.len();
        drop(all);
        // Context (weight 0) is never itself made a finding by what is around it.
        let correlated = own > 0 && kinds >= 2 && total >= CORRELATION_WEIGHT;
        if strong {
            if correlated {
                a.summary = insert_after_first_line(
                    &a.summary,
                    &format!(
                        "Also on this host within {} minutes: {}.",
                        CORRELATION_WINDOW.as_mins(),
                        names.join("; ")
                    ),
                );
            }
            return a;
        }
        if correlated {
            a.verdict = Verdict::Suspicious;
            a.severity = a.severity.max(Severity::Medium);
            a.confidence = Confidence::saturating(a.confidence.get().max(0.7));
            a.summary = insert_after_first_line(
                &a.summary,
                &format!(
                    "Correlated: {} different kinds of event on this host within {} minutes ({}), stronger together \
                     than any one of them.",
                    names.len(),
                    CORRELATION_WINDOW.as_mins(),
                    names.join("; ")
                ),
            );
            return a;
        }
        a.verdict = Verdict::Benign;
        a.severity = a.severity.min(Severity::Low);
        a.confidence = Confidence::saturating(0.6);
        let why = match explained {
            Some(why) => why,
            None if machine => "done by the machine's own account",
            None => "a weak signal with nothing else on this host to corroborate it",
        };
        a.summary = format!("Context, not a finding on its own ({why}): {}", a.summary);
        a
    }

    /// Records a discovery detection and says whether it completes a burst:
    /// discovery commands of several kinds by one user on one host within
    /// [`BURST_WINDOW`] (by the time the source recorded, else arrival).
    fn discovery_burst(&self, alert: &Alert, hits: &[Hit]) -> Option<String> {
        let kinds: Vec<&'static str> =
            hits.iter().filter(|h| h.d.id.starts_with("discovery_")).map(|h| h.d.id).collect();
        if kinds.is_empty() {
            return None;
        }
        let host = alert.canonical_text(Canon::Host)?.to_lowercase();
        let user = alert.canonical_text(Canon::User).unwrap_or_default().to_lowercase();
        let at = alert.observed_at.unwrap_or(alert.received_at);
        let command = code_text(alert).map(|(t, _)| clip(&t)).unwrap_or_default();
        let mut all = self.discovery.lock().unwrap_or_else(|p| p.into_inner());
        // Forget what no burst can include any more, everywhere, so memory stays bounded.
        all.retain(|_, seen| {
            seen.retain(|(t, _, _)| at.duration_since(*t).abs() <= BURST_WINDOW);
            !seen.is_empty()
        });
        let seen = all.entry((host.clone(), user.clone())).or_default();
        for k in kinds {
            seen.push((at, k, command.clone()));
        }
        let mut distinct: Vec<&'static str> = seen.iter().map(|(_, k, _)| *k).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < BURST_KINDS {
            return None;
        }
        let mut commands: Vec<&str> = seen.iter().map(|(_, _, c)| c.as_str()).filter(|c| !c.is_empty()).collect();
        commands.dedup();
        Some(format!(
            "Discovery burst: {} kinds of discovery by this user on this host within {} minutes ({}).",
            distinct.len(),
            BURST_WINDOW.as_mins(),
            commands.join("; ")
        ))
    }

    fn combine(&self, alert: &Alert, mut hits: Vec<Hit>) -> Assessment {
        let rank = |v: Verdict| match v {
            Verdict::Malicious => 3,
            Verdict::Suspicious => 2,
            Verdict::Unknown => 1,
            Verdict::Benign => 0,
        };
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

/// Whether the event's actor is the machine itself: the SYSTEM account or
/// a computer account (`NAME$`), as during setup and service start-up.
fn acts_as_machine(alert: &Alert) -> bool {
    // Sysmon writes every event as SYSTEM; its actor is the `User` field, never the record's UserID.
    let sysmon =
        alert.fields.get("Event.System.Channel").is_some_and(|c| c.to_string().to_lowercase().contains("sysmon"));
    let record_user = if sysmon { None } else { alert.fields.get("Event.System.Security.#attributes.UserID") };
    let sid = data_field(alert, "SubjectUserSid").map(|(_, v)| v).or(record_user).map(|v| v.to_string());
    let name = data_text(alert, "SubjectUserName");
    match (sid.as_deref(), name.as_deref()) {
        (_, Some(n)) if n.ends_with('$') => true,
        (Some("S-1-5-18"), None | Some("-" | "SYSTEM")) => true,
        _ => false,
    }
}

/// An ordinary explanation the event itself gives for what a rule saw, or
/// None. Joining a domain nests the domain's Domain Admins (RID 512) in the
/// machine's Administrators and Domain Users (RID 513) in its Users (event
/// 4732): that is the join, not an intruder.
fn ordinary_explanation(alert: &Alert) -> Option<&'static str> {
    if event_code(alert) == Some(4732) && channel(alert) == "security" {
        let member = data_text(alert, "MemberSid").unwrap_or_default();
        let group = data_text(alert, "TargetSid").unwrap_or_default();
        let domain_sid = member.starts_with("S-1-5-21-");
        if domain_sid
            && ((member.ends_with("-512") && group == "S-1-5-32-544")
                || (member.ends_with("-513") && group == "S-1-5-32-545"))
        {
            return Some("the domain's own groups nested into the machine's when it joined the domain");
        }
    }
    None
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

/// Evidence citing a canonical field's original path and value.
fn cite(a: &Alert, c: Canon, note: &str) -> Option<Evidence> {
    let (path, value) = a.canonical(c)?;
    Some(Evidence { path: path.to_owned(), value: value.clone(), note: note.to_owned() })
}

/// The canonical field's text, lower-cased, for matching.
fn lower(a: &Alert, c: Canon) -> Option<String> {
    a.canonical(c).map(|(_, v)| v.to_string().to_lowercase())
}

fn event_code(a: &Alert) -> Option<i64> {
    a.canonical(Canon::EventCode).and_then(|(_, v)| v.as_i64())
}

fn channel(a: &Alert) -> String {
    lower(a, Canon::Channel).unwrap_or_default()
}

fn ends_with_any(s: &str, names: &[&str]) -> bool {
    names.iter().any(|n| s.ends_with(n))
}

/// Command line or script block, lower-cased, and the evidence citing it.
/// Groups (lower case) whose members administer a domain, its controllers,
/// Exchange or the host itself.
const SENSITIVE_GROUPS: &[&str] = &[
    "administrators",
    "domain admins",
    "enterprise admins",
    "schema admins",
    "dnsadmins",
    "backup operators",
    "account operators",
    "server operators",
    "print operators",
    "group policy creator owners",
    "key admins",
    "enterprise key admins",
    "exchange trusted subsystem",
    "exchange windows permissions",
    "organization management",
    "remote desktop users",
    "remote management users",
    "hyper-v administrators",
];

/// An account name that passes for an administrator's.
fn admin_like(name: &str) -> bool {
    let n = name.to_lowercase();
    !n.ends_with('$') && (n.contains("admin") || n == "root" || n.starts_with("adm-") || n.starts_with("adm_"))
}

/// `UserAccountControl` message codes of event 4738 that weaken an account
/// when they appear (the "Enabled" forms).
const UAC_WEAKENED: &[(&str, &str)] = &[
    ("%%2082", "password not required"),
    ("%%2089", "password never expires"),
    ("%%2091", "reversible password encryption"),
    ("%%2093", "trusted for delegation"),
    ("%%2095", "DES keys only"),
    ("%%2096", "no Kerberos pre-authentication"),
    ("%%2098", "trusted to authenticate for delegation"),
];

/// Privileges that let their holder act as, or over, the operating system.
const SENSITIVE_PRIVILEGES: &[&str] = &[
    "SeTcbPrivilege",
    "SeDebugPrivilege",
    "SeCreateTokenPrivilege",
    "SeAssignPrimaryTokenPrivilege",
    "SeImpersonatePrivilege",
    "SeLoadDriverPrivilege",
    "SeBackupPrivilege",
    "SeRestorePrivilege",
    "SeTakeOwnershipPrivilege",
    "SeEnableDelegationPrivilege",
    "SeSecurityPrivilege",
];

/// A network share access (5145) to a named pipe over IPC$.
fn named_pipe_access(a: &Alert, pipe: &str, note: &str) -> Option<Vec<Evidence>> {
    if event_code(a) != Some(5145) || channel(a) != "security" {
        return None;
    }
    let share = data_text(a, "ShareName")?;
    let (path, target) = data_field(a, "RelativeTargetName")?;
    (share.to_uppercase().ends_with("IPC$") && target.to_string().eq_ignore_ascii_case(pipe))
        .then(|| vec![Evidence { path, value: target.clone(), note: note.into() }])
}

/// What a SQL Server audit record (event 33205) changed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MssqlChange {
    /// The audit itself altered, stopped or dropped.
    Audit,
    /// A member added to a database or server role.
    Role,
    /// A login or database user created.
    Login,
    /// A statement that turns on command or code execution.
    Exec,
}

/// SQL Server audit records carry `key:value` lines in one field; the
/// detection matches when the record's change is `want`, citing that field.
fn mssql_audit(a: &Alert, want: MssqlChange) -> Option<Vec<Evidence>> {
    // Event 15457: "Configuration option '…' changed from 0 to 1".
    if event_code(a) == Some(15457) && want == MssqlChange::Exec {
        let (path, v) = find_field(a, |t| {
            let t = t.to_lowercase();
            ["xp_cmdshell", "clr enabled", "ole automation procedures", "external scripts enabled"]
                .iter()
                .any(|k| t.contains(k))
        })?;
        return Some(vec![Evidence {
            path,
            value: v,
            note: "a server option that lets SQL Server run commands or code".into(),
        }]);
    }
    if event_code(a) != Some(33205) {
        return None;
    }
    let (path, value) = warden_core::Fields::iter(&a.fields).find(|(_, v)| {
        let t = v.to_string();
        t.contains("audit_schema_version:") && t.contains("action_id:")
    })?;
    let text = value.to_string();
    let field = |k: &str| {
        text.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':'))).map(|v| v.trim().to_owned())
    };
    if field("succeeded").is_some_and(|v| v != "true") {
        return None;
    }
    let action = field("action_id").unwrap_or_default();
    let class = field("class_type").unwrap_or_default();
    let statement = field("statement").unwrap_or_default().to_lowercase();
    let exec = ["xp_cmdshell", "sp_oacreate", "sp_addextendedproc", "clr enabled", "external scripts enabled"]
        .iter()
        .any(|k| statement.contains(k));
    let (got, note) = match (action.as_str(), class.as_str()) {
        _ if exec => (MssqlChange::Exec, "a statement that lets SQL Server run commands or code"),
        ("AUSC", _) => (MssqlChange::Audit, "SQL Server's audit session was changed (an audit started or stopped)"),
        ("AL" | "DR", "A" | "SA" | "DA") => {
            (MssqlChange::Audit, "an audit or audit specification was altered or dropped")
        }
        ("APRL", _) => (MssqlChange::Role, "a member was added to a database or server role"),
        ("CR", "SL" | "SU" | "US") => (MssqlChange::Login, "a login or database user was created"),
        _ => return None,
    };
    (got == want).then(|| {
        vec![Evidence { path: path.to_owned(), value: value.clone(), note: format!("action_id {action}: {note}") }]
    })
}

/// Offensive tools with no ordinary use, as their binaries, scripts and
/// modules are named. Matched as whole words (so `rubeus` is not found in
/// `cherubeus`), in fields that name a process, a command, a script, a
/// service binary or a file written.
const OFFENSIVE_TOOLS: &[&str] = &[
    "mimikatz",
    "mimilib",
    "mimidrv",
    "safetykatz",
    "sharpkatz",
    "pypykatz",
    "nanodump",
    "dumpert",
    "rubeus",
    "kekeo",
    "sharphound",
    "azurehound",
    "bloodhound",
    "powerview",
    "sharpview",
    "powerup",
    "sharpup",
    "seatbelt",
    "lazagne",
    "kerbrute",
    "crackmapexec",
    "netexec",
    "secretsdump",
    "ntlmrelayx",
    "getuserspns",
    "getnpusers",
    "wmiexec",
    "smbexec",
    "atexec",
    "dcomexec",
    "invoke-mimikatz",
    "invoke-kerberoast",
    "invoke-bloodhound",
    "invoke-smbexec",
    "invoke-wmiexec",
    "invoke-thehash",
    "inveigh",
    "spoolsample",
    "printspoofer",
    "juicypotato",
    "roguepotato",
    "sweetpotato",
    "godpotato",
    "certipy",
    "whisker",
    "sharpgpoabuse",
    "powersploit",
    "powercat",
    "invoke-obfuscation",
    "sharpdpapi",
    "sharpchrome",
    "koadic",
    "covenant",
    "sliver-client",
    "cobaltstrike",
];

/// Paths (their last segment) that name a process, command, script, service binary or written file.
const TOOL_FIELDS: &[&str] = &[
    "image",
    "newprocessname",
    "parentimage",
    "parentprocessname",
    "processname",
    "commandline",
    "parentcommandline",
    "scriptblocktext",
    "hostapplication",
    "imagepath",
    "servicefilename",
    "targetfilename",
    "sourceimage",
    "targetimage",
    "imageloaded",
    "originalfilename",
    "payload",
    "contextinfo",
    "application",
];

fn offensive_tool(a: &Alert) -> Option<Vec<Evidence>> {
    let mut out: Vec<Evidence> = Vec::new();
    for (path, value) in warden_core::Fields::iter(&a.fields) {
        let last = path.rsplit(['.', '#']).next().unwrap_or(path).to_ascii_lowercase();
        if !TOOL_FIELDS.contains(&last.as_str()) {
            continue;
        }
        let text = value.to_string().to_lowercase();
        let word = |w: &str| {
            text.match_indices(w).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + w.len()..].chars().next();
                let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
                edge(before) && edge(after)
            })
        };
        if let Some(tool) = OFFENSIVE_TOOLS.iter().find(|t| word(t)) {
            out.push(Evidence {
                path: path.to_owned(),
                value: value.clone(),
                note: format!("names {tool}, an offensive security tool with no ordinary administrative use"),
            });
            if out.len() >= 3 {
                break;
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

fn code_text(a: &Alert) -> Option<(String, Canon)> {
    [Canon::CommandLine, Canon::ScriptBlock].into_iter().find_map(|c| lower(a, c).map(|t| (t, c)))
}

fn cmd_matches(a: &Alert, test: impl Fn(&str) -> bool, note: &str) -> Option<Vec<Evidence>> {
    let (text, c) = code_text(a)?;
    test(&text).then(|| cite(a, c, note).into_iter().collect())
}

fn vendor_severity(a: &Alert) -> Option<Severity> {
    let (_, v) = a.canonical(Canon::VendorSeverity)?;
    match (a.format, v) {
        // Suricata: 1 is the most severe.
        (Format::Eve, v) => match v.as_i64()? {
            1 => Some(Severity::High),
            2 => Some(Severity::Medium),
            3 => Some(Severity::Low),
            _ => Some(Severity::Info),
        },
        // Windows levels: 1 critical, 2 error, 3 warning, 4 information.
        (Format::Evtx, _) => None,
        (_, Value::Int(_)) | (_, Value::Float(_)) => match v.as_i64()? {
            // OCSF severity_id: 1 informational … 5 critical, 6 fatal. ECS risk scores are 0–100.
            5 | 6 => Some(Severity::Critical),
            99 => None,
            4 => Some(Severity::High),
            3 => Some(Severity::Medium),
            2 => Some(Severity::Low),
            0 | 1 => Some(Severity::Info),
            n if n >= 90 => Some(Severity::Critical),
            n if n >= 70 => Some(Severity::High),
            n if n >= 40 => Some(Severity::Medium),
            _ => Some(Severity::Low),
        },
        (_, Value::Str(s)) => match s.to_ascii_lowercase().as_str() {
            "critical" | "fatal" => Some(Severity::Critical),
            "high" | "error" => Some(Severity::High),
            "medium" | "warning" | "moderate" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            "informational" | "info" | "information" => Some(Severity::Info),
            _ => None,
        },
        _ => None,
    }
}

/// Technique ids the source product attached (ECS `threat.technique.id`, OCSF attacks).
fn source_techniques(a: &Alert) -> Vec<TechniqueId> {
    let mut out: Vec<TechniqueId> = warden_core::Fields::iter(a)
        .filter(|(p, _)| {
            p.starts_with("threat.technique")
                || p.starts_with("kibana.alert.rule.threat")
                || p.starts_with("finding_info.attacks")
                || p.starts_with("attacks")
        })
        .filter(|(p, _)| p.ends_with(".id") || p.ends_with(".uid") || p.ends_with(".id[0]"))
        .filter_map(|(_, v)| v.as_str().and_then(|s| TechniqueId::parse(s).ok()))
        .collect();
    out.sort();
    out.dedup();
    out
}

static DETECTIONS: &[Detection] = &[
    Detection {
        id: "offensive_tool",
        title: "A well-known offensive security tool named in a process, command or script",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &[],
        actions: &["isolate_host", "open_ticket"],
        matches: offensive_tool,
    },
    Detection {
        id: "cred_lsass_access",
        title: "A process opened LSASS memory with rights typical of credential dumping",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1003.001"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| {
            let target = lower(a, Canon::TargetImage)?;
            let access = lower(a, Canon::GrantedAccess)?;
            (target.ends_with("\\lsass.exe")
                && ["0x1010", "0x1410", "0x1438", "0x143a", "0x1fffff", "0x1f3fff"].contains(&access.as_str()))
            .then(|| {
                [
                    cite(a, Canon::TargetImage, "the process whose memory was opened"),
                    cite(a, Canon::GrantedAccess, "access rights that allow reading credentials"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "cred_dump_lsass_tool",
        title: "Credential dumping tool or LSASS memory dump on the command line",
        verdict: Verdict::Malicious,
        severity: Severity::Critical,
        confidence: 0.95,
        techniques: &["T1003.001"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    ["mimikatz", "sekurlsa::", "lsadump::", "kerberos::golden"].iter().any(|k| t.contains(k))
                        || (t.contains("comsvcs") && t.contains("minidump"))
                        || (t.contains("procdump") && t.contains("lsass"))
                },
                "the command line names a credential dumping tool or dumps LSASS memory",
            )
        },
    },
    Detection {
        id: "cred_dump_registry_hives",
        title: "Registry hives holding credentials saved to a file",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1003.002"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("reg") && t.contains("save") && (t.contains("hklm\\sam") || t.contains("hklm\\security"))
                },
                "the command copies the SAM or SECURITY hive",
            )
        },
    },
    Detection {
        id: "cred_dump_ntds",
        title: "Active Directory database copied with ntdsutil",
        verdict: Verdict::Malicious,
        severity: Severity::Critical,
        confidence: 0.92,
        techniques: &["T1003.003"],
        actions: &["isolate_host", "reset_credentials"],
        matches: |a| cmd_matches(a, |t| t.contains("ntdsutil") && t.contains("ifm"), "the command copies NTDS.dit"),
    },
    Detection {
        id: "ps_download_cradle",
        title: "PowerShell downloads and executes code in memory",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1059.001", "T1105"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    [
                        "downloadstring",
                        "downloadfile",
                        "invoke-webrequest",
                        "iwr ",
                        "net.webclient",
                        "start-bitstransfer",
                    ]
                    .iter()
                    .any(|k| t.contains(k))
                        && ["iex", "invoke-expression", "| powershell", "-exec bypass"].iter().any(|k| t.contains(k))
                },
                "downloads remote content and executes it",
            )
        },
    },
    Detection {
        id: "ps_encoded_command",
        title: "PowerShell run with an encoded command",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1059.001", "T1027"],
        actions: &["open_ticket"],
        matches: |a| {
            let image = lower(a, Canon::Image).unwrap_or_default();
            let (text, c) = code_text(a)?;
            let ps = image.ends_with("powershell.exe") || image.ends_with("pwsh.exe") || text.contains("powershell");
            let encoded = text.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| {
                let flag = w[0].trim_start_matches(['-', '/']);
                ["e", "en", "enc", "enco", "encodedcommand", "ec"].contains(&flag) && w[1].len() >= 16
            }) || text.contains("frombase64string");
            (ps && encoded).then(|| cite(a, c, "the command hides its content in base64").into_iter().collect())
        },
    },
    Detection {
        id: "lolbin_certutil_download",
        title: "certutil used to download a file",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1105"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("certutil")
                        && (t.contains("-urlcache") || t.contains("/urlcache") || t.contains("-verifyctl"))
                        && (t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                },
                "a trusted system binary downloads a file",
            )
        },
    },
    Detection {
        id: "lolbin_certutil_decode",
        title: "certutil used to decode a file",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1140"],
        actions: &["open_ticket"],
        matches: |a| {
            cmd_matches(
                a,
                |t| t.contains("certutil") && (t.contains("-decode") || t.contains("/decode")),
                "a trusted system binary decodes hidden content",
            )
        },
    },
    Detection {
        id: "lolbin_mshta",
        title: "mshta runs remote or inline script",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1218.005"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("mshta")
                        && ((t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                            || t.contains("javascript:")
                            || t.contains("vbscript:"))
                },
                "mshta is made to run script from a URL or inline",
            )
        },
    },
    Detection {
        id: "lolbin_regsvr32",
        title: "regsvr32 loads a remote scriptlet (Squiblydoo)",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1218.010"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("regsvr32")
                        && t.contains("/i:")
                        && ((t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                            || t.contains("scrobj"))
                },
                "regsvr32 is made to run a scriptlet",
            )
        },
    },
    Detection {
        id: "lolbin_rundll32_script",
        title: "rundll32 runs script or remote content",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1218.011"],
        actions: &["isolate_host", "block_indicator"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("rundll32")
                        && (t.contains("javascript:")
                            || (t.contains("http://") || t.contains("https://") || t.contains("ftp://")))
                },
                "rundll32 is made to run script",
            )
        },
    },
    Detection {
        id: "lolbin_bitsadmin_download",
        title: "bitsadmin used to download a file",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1197", "T1105"],
        actions: &["open_ticket"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("bitsadmin")
                        && t.contains("/transfer")
                        && (t.contains("http://") || t.contains("https://") || t.contains("ftp://"))
                },
                "BITS is used to fetch a file",
            )
        },
    },
    Detection {
        id: "log_cleared",
        title: "An event log was cleared",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.9,
        techniques: &["T1070.001"],
        actions: &["isolate_host", "open_ticket"],
        matches: |a| {
            let ch = channel(a);
            let by_event = match event_code(a) {
                Some(1102) => ch.contains("security") || ch.contains("eventlog"),
                Some(104) => ch.contains("system") || ch.contains("eventlog"),
                _ => false,
            };
            if by_event {
                return cite(a, Canon::EventCode, "the event id Windows writes when a log is cleared").map(|e| vec![e]);
            }
            cmd_matches(
                a,
                |t| {
                    (t.contains("wevtutil") && (t.contains(" cl ") || t.contains(" clear-log")))
                        || t.contains("clear-eventlog")
                },
                "the command clears an event log",
            )
        },
    },
    Detection {
        id: "inhibit_recovery",
        title: "Backups or shadow copies deleted, or recovery disabled",
        verdict: Verdict::Malicious,
        severity: Severity::Critical,
        confidence: 0.92,
        techniques: &["T1490"],
        actions: &["isolate_host", "escalate_incident_commander"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    (t.contains("vssadmin") && t.contains("delete") && t.contains("shadows"))
                        || (t.contains("wmic") && t.contains("shadowcopy") && t.contains("delete"))
                        || (t.contains("bcdedit") && t.contains("recoveryenabled") && t.contains("no"))
                        || (t.contains("wbadmin")
                            && t.contains("delete")
                            && (t.contains("catalog") || t.contains("backup")))
                },
                "the command destroys the means to recover data, as ransomware does before encrypting",
            )
        },
    },
    Detection {
        id: "service_installed",
        title: "A new service was installed",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.6,
        techniques: &["T1543.003"],
        actions: &["open_ticket"],
        matches: |a| {
            matches!(event_code(a), Some(7045) | Some(4697)).then(|| {
                [
                    cite(a, Canon::EventCode, "the event id for a service installation"),
                    cite(a, Canon::ServiceName, "the new service"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "service_installed_suspicious_path",
        title: "A service was installed that runs a shell, a script or a file from a temporary or admin-share path",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1543.003", "T1569.002"],
        actions: &["isolate_host"],
        matches: |a| {
            if !matches!(event_code(a), Some(7045) | Some(4697)) {
                return None;
            }
            let (path, value) = [
                "Event.EventData.ImagePath",
                "Event.EventData.ServiceFileName",
                "ImagePath",
                "ServiceFileName",
                "winlog.event_data.ImagePath",
            ]
            .iter()
            .find_map(|p| warden_core::Fields::get(a, p).map(|v| (*p, v)))?;
            let t = value.to_string().to_lowercase();
            [
                "cmd /c",
                "cmd.exe /c",
                "powershell",
                "%comspec%",
                "\\temp\\",
                "\\appdata\\",
                "\\\\127.0.0.1\\admin$",
                "admin$",
                "psexesvc",
            ]
            .iter()
            .any(|k| t.contains(k))
            .then(|| {
                vec![Evidence { path: path.to_owned(), value: value.clone(), note: "what the service runs".into() }]
            })
        },
    },
    Detection {
        id: "scheduled_task_created",
        title: "A scheduled task was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1053.005"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) == Some(4698) {
                return Some(
                    [
                        cite(a, Canon::EventCode, "the event id for a new scheduled task"),
                        cite(a, Canon::TaskName, "the task"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                );
            }
            cmd_matches(a, |t| t.contains("schtasks") && t.contains("/create"), "the command creates a scheduled task")
        },
    },
    Detection {
        id: "lateral_psexec",
        title: "Remote execution with PsExec or PAExec",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.85,
        techniques: &["T1569.002", "T1021.002"],
        actions: &["isolate_host", "disable_account"],
        matches: |a| {
            cmd_matches(
                a,
                |t| (t.contains("psexec") && t.contains("\\\\")) || t.contains("paexec"),
                "the command runs a program on another host through its admin share",
            )
        },
    },
    Detection {
        id: "lateral_wmi_remote",
        title: "Remote process creation through WMI",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.85,
        techniques: &["T1047"],
        actions: &["isolate_host", "disable_account"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    (t.contains("wmic") && t.contains("/node:") && t.contains("process call create"))
                        || (t.contains("invoke-wmimethod") && t.contains("-computername"))
                },
                "the command starts a process on another host through WMI",
            )
        },
    },
    Detection {
        id: "lateral_admin_share_copy",
        title: "File copied to an administrative share",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1021.002"],
        actions: &["open_ticket"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    (t.contains("copy") || t.contains("xcopy") || t.contains("robocopy"))
                        && (t.contains("\\admin$") || t.contains("\\c$"))
                },
                "the command writes to another host's administrative share",
            )
        },
    },
    Detection {
        id: "wmi_spawned_shell",
        title: "A shell started by WMI's provider host",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1047"],
        actions: &["open_ticket"],
        matches: |a| {
            let parent = lower(a, Canon::ParentImage)?;
            let image = lower(a, Canon::Image)?;
            (parent.ends_with("\\wmiprvse.exe")
                && ends_with_any(
                    &image,
                    &["\\cmd.exe", "\\powershell.exe", "\\pwsh.exe", "\\rundll32.exe", "\\mshta.exe"],
                ))
            .then(|| {
                [
                    cite(a, Canon::ParentImage, "WMI's provider host started the process"),
                    cite(a, Canon::Image, "a shell started through WMI"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "discovery_domain_accounts",
        title: "Domain account or group discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.6,
        techniques: &["T1087.002"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    ["net group \"domain admins\"", "net user /domain", "net group /domain", "adfind", "get-aduser"]
                        .iter()
                        .any(|k| t.contains(k))
                },
                "a command commonly run to list domain accounts and groups",
            )
        },
    },
    Detection {
        id: "discovery_domain_trusts",
        title: "Domain trust discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.6,
        techniques: &["T1482"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    ["nltest /dclist", "nltest /domain_trusts", "nltest /trusted_domains"].iter().any(|k| t.contains(k))
                },
                "a command commonly run to map domain controllers and trusts",
            )
        },
    },
    Detection {
        id: "discovery_owner",
        title: "Current user and privilege discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.55,
        techniques: &["T1033"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| {
                    t.contains("whoami /all")
                        || t.contains("whoami /priv")
                        || t.contains("whoami /groups")
                        || t.trim_start().starts_with("quser")
                },
                "a command commonly run to learn the current user's privileges",
            )
        },
    },
    Detection {
        id: "discovery_system",
        title: "System and network configuration discovery",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.5,
        techniques: &["T1082", "T1016"],
        actions: &["add_note"],
        matches: |a| {
            cmd_matches(
                a,
                |t| t.trim_start().starts_with("systeminfo") || t.contains("ipconfig /all"),
                "a command commonly run to learn about the host",
            )
        },
    },
    Detection {
        id: "account_created",
        title: "A user account was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.6,
        techniques: &["T1136.001"],
        actions: &["open_ticket"],
        matches: |a| {
            (event_code(a) == Some(4720) && channel(a).contains("security")).then(|| {
                [
                    cite(a, Canon::EventCode, "the event id for a new account"),
                    cite(a, Canon::TargetUser, "the new account"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "privileged_group_change",
        title: "A member was added to a security-enabled group",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.65,
        techniques: &["T1098"],
        actions: &["open_ticket"],
        matches: |a| {
            (matches!(event_code(a), Some(4728) | Some(4732) | Some(4756)) && channel(a).contains("security")).then(
                || {
                    [
                        cite(a, Canon::EventCode, "the event id for a group membership change"),
                        cite(a, Canon::GroupName, "the group"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect()
                },
            )
        },
    },
    Detection {
        id: "sensitive_group_member_added",
        title: "A member was added to a group that administers the domain or the host",
        verdict: Verdict::Suspicious,
        severity: Severity::High,
        confidence: 0.75,
        techniques: &["T1098"],
        actions: &["open_ticket", "reset_credentials"],
        matches: |a| {
            let group = a.canonical_text(Canon::GroupName)?.to_lowercase();
            (matches!(event_code(a), Some(4728) | Some(4732) | Some(4756))
                && channel(a).contains("security")
                && SENSITIVE_GROUPS.contains(&group.as_str()))
            .then(|| {
                [
                    cite(a, Canon::EventCode, "the event id for a group membership change"),
                    cite(
                        a,
                        Canon::GroupName,
                        "a group whose members administer the domain, its controllers or this host",
                    ),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "mssql_audit_tampered",
        title: "SQL Server's own audit was changed, stopped or dropped",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1562.002"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Audit),
    },
    Detection {
        id: "mssql_role_member_added",
        title: "A member was added to a SQL Server role",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1098"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Role),
    },
    Detection {
        id: "mssql_login_created",
        title: "A SQL Server login or database user was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1136"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Login),
    },
    Detection {
        id: "mssql_command_execution_enabled",
        title: "A SQL Server statement that lets it run commands or code",
        verdict: Verdict::Suspicious,
        severity: Severity::High,
        confidence: 0.7,
        techniques: &["T1505.001"],
        actions: &["open_ticket"],
        matches: |a| mssql_audit(a, MssqlChange::Exec),
    },
    Detection {
        id: "account_security_weakened",
        title: "An account's protections were weakened",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1098"],
        actions: &["open_ticket", "reset_credentials"],
        matches: |a| {
            if event_code(a) != Some(4738) || channel(a) != "security" {
                return None;
            }
            let (path, v) = data_field(a, "UserAccountControl")?;
            let t = v.to_string();
            let weakened: Vec<&str> =
                UAC_WEAKENED.iter().filter(|(code, _)| t.contains(code)).map(|(_, what)| *what).collect();
            (!weakened.is_empty())
                .then(|| vec![Evidence { path, value: v.clone(), note: format!("now set: {}", weakened.join(", ")) }])
        },
    },
    Detection {
        id: "guest_account_enabled",
        title: "The built-in Guest account was enabled",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.8,
        techniques: &["T1078.001"],
        actions: &["open_ticket"],
        matches: |a| {
            let (path, sid) = data_field(a, "TargetSid")?;
            (event_code(a) == Some(4722) && channel(a) == "security" && sid.to_string().ends_with("-501")).then(|| {
                vec![Evidence { path, value: sid.clone(), note: "RID 501: the built-in Guest account".into() }]
            })
        },
    },
    Detection {
        id: "sensitive_privilege_assigned",
        title: "A privilege that gives control of the system was assigned to an account",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1134"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(4704) || channel(a) != "security" {
                return None;
            }
            let (path, v) = data_field(a, "PrivilegeList")?;
            let t = v.to_string();
            let found: Vec<&str> = SENSITIVE_PRIVILEGES.iter().copied().filter(|p| t.contains(p)).collect();
            (!found.is_empty()).then(|| {
                vec![Evidence {
                    path,
                    value: v.clone(),
                    note: format!("{} lets its holder act as or over the system", found.join(", ")),
                }]
            })
        },
    },
    Detection {
        id: "directory_security_changed",
        title: "A security-relevant directory attribute was changed",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1222.001", "T1484.001", "T1098"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(5136) || channel(a) != "security" {
                return None;
            }
            let (attr_path, attr) = data_field(a, "AttributeLDAPDisplayName")?;
            let name = attr.to_string().to_lowercase();
            let dn = data_text(a, "ObjectDN").unwrap_or_default().to_lowercase();
            let note = if dn.contains("cn=adminsdholder") {
                "AdminSDHolder's attributes are copied onto every protected account and group"
            } else if dn.contains("cn=policies,cn=system")
                && ["gpcfilesyspath", "gpcmachineextensionnames", "gpcuserextensionnames", "versionnumber"]
                    .contains(&name.as_str())
            {
                "a Group Policy object was edited: what it holds runs on every computer it applies to"
            } else {
                match name.as_str() {
                    "ntsecuritydescriptor" => "who may do what to this object was changed",
                    "serviceprincipalname" => {
                        "a service principal name makes an account Kerberoastable or hides a rogue service"
                    }
                    "msds-allowedtodelegateto" | "msds-allowedtoactonbehalfofotheridentity" => {
                        "delegation lets this account impersonate others"
                    }
                    "useraccountcontrol" => {
                        "the account's control flags (delegation, pre-authentication, password rules) changed"
                    }
                    "admincount" | "sidhistory" => "this attribute grants or hides privilege",
                    _ => return None,
                }
            };
            Some(vec![Evidence { path: attr_path, value: attr.clone(), note: note.into() }])
        },
    },
    Detection {
        id: "remote_service_pipe",
        title: "The service control manager was reached over the network (remote service creation, PsExec-style)",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1569.002", "T1021.002"],
        actions: &["open_ticket"],
        matches: |a| named_pipe_access(a, "svcctl", "the service control manager's named pipe, opened over IPC$"),
    },
    Detection {
        id: "remote_task_pipe",
        title: "The task scheduler was reached over the network (remote scheduled task, atexec-style)",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1053.005", "T1021.002"],
        actions: &["open_ticket"],
        matches: |a| named_pipe_access(a, "atsvc", "the task scheduler's named pipe, opened over IPC$"),
    },
    Detection {
        id: "admin_like_account_created",
        title: "An account named like an administrator was created",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1136"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(4720) || channel(a) != "security" {
                return None;
            }
            let (path, name) = data_field(a, "TargetUserName")?;
            admin_like(&name.to_string()).then(|| {
                vec![Evidence {
                    path,
                    value: name.clone(),
                    note: "a new account whose name passes for an administrator's".into(),
                }]
            })
        },
    },
    Detection {
        id: "account_renamed_admin_like",
        title: "An account was renamed to look like an administrator or a computer",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1098"],
        actions: &["open_ticket"],
        matches: |a| {
            if event_code(a) != Some(4781) || channel(a) != "security" {
                return None;
            }
            let old = data_text(a, "OldTargetUserName")?;
            let (path, new) = data_field(a, "NewTargetUserName")?;
            let text = new.to_string();
            // A user account (no `$`) given an administrator-like name, or a computer account's `$` dropped
            // (the sAMAccountName spoofing that impersonates a domain controller).
            let spoof = old.ends_with('$') && !text.ends_with('$');
            (old != text && (admin_like(&text) || spoof)).then(|| {
                vec![Evidence {
                    path,
                    value: new.clone(),
                    note: format!("renamed from {old}: the new name passes for an administrator or another machine"),
                }]
            })
        },
    },
    Detection {
        id: "firewall_weakened",
        title: "The Windows firewall was turned off or opened to everything",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.75,
        techniques: &["T1562.004"],
        actions: &["open_ticket"],
        matches: |a| {
            let ch = channel(a);
            match event_code(a)? {
                // 4950: a firewall setting changed; "Enable Windows Firewall" set to "No".
                4950 if ch == "security" => {
                    let setting = data_text(a, "SettingType")?;
                    let (path, value) = data_field(a, "SettingValue")?;
                    (setting.eq_ignore_ascii_case("Enable Windows Firewall")
                        && value.to_string().eq_ignore_ascii_case("no"))
                    .then(|| {
                        vec![Evidence {
                            path,
                            value: value.clone(),
                            note: "the firewall was turned off for a profile".into(),
                        }]
                    })
                }
                // 2004: a rule added; an allow rule for any program, any port, any remote address.
                2004 if ch.contains("firewall") => {
                    let any = |name: &str| data_text(a, name).is_none_or(|v| v.is_empty() || v == "*");
                    let allow = data_text(a, "Action").is_some_and(|v| v == "3");
                    let (path, remote) = data_field(a, "RemoteAddresses")?;
                    (allow && any("ApplicationPath") && any("LocalPorts") && remote.to_string() == "*").then(|| {
                        vec![Evidence {
                            path,
                            value: remote.clone(),
                            note: "an allow rule for any program, port and remote address".into(),
                        }]
                    })
                }
                _ => None,
            }
        },
    },
    Detection {
        id: "domain_audit_policy_changed",
        title: "The domain's policy or its special-logon auditing was changed by a person",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.65,
        techniques: &["T1484", "T1562.002"],
        actions: &["open_ticket"],
        matches: |a| {
            (matches!(event_code(a), Some(4739) | Some(4908)) && channel(a) == "security")
                .then(|| cite(a, Canon::EventCode, "4739: the domain's password, lockout or Kerberos policy changed; 4908: the table of groups whose logons are audited changed").into_iter().collect())
                .filter(|e: &Vec<Evidence>| !e.is_empty())
        },
    },
    Detection {
        id: "special_group_logon",
        title: "A member of a group the organisation watches signed in (special groups logon)",
        verdict: Verdict::Suspicious,
        severity: Severity::Medium,
        confidence: 0.7,
        techniques: &["T1078.002"],
        actions: &["open_ticket"],
        matches: |a| {
            // Windows writes 4964 only for groups an administrator listed under special-groups
            // auditing: the organisation asked to hear about exactly these sign-ins.
            (event_code(a) == Some(4964) && channel(a) == "security")
                .then(|| {
                    cite(
                        a,
                        Canon::EventCode,
                        "4964: a sign-in by a member of a group listed for special-groups auditing",
                    )
                    .into_iter()
                    .collect()
                })
                .filter(|e: &Vec<Evidence>| !e.is_empty())
        },
    },
    Detection {
        id: "ids_alert_malware",
        title: "Network IDS signature for malware, command and control or exploitation",
        verdict: Verdict::Malicious,
        severity: Severity::High,
        confidence: 0.88,
        techniques: &["T1071.001"],
        actions: &["block_indicator", "isolate_host"],
        matches: |a| {
            if a.format != Format::Eve || channel(a) != "alert" {
                return None;
            }
            let sig = lower(a, Canon::RuleName)?;
            (["et malware", "et trojan", "et cnc", "et exploit", "et mobile_malware", "et phishing"]
                .iter()
                .any(|k| sig.starts_with(k))
                && vendor_severity(a).is_some_and(|s| s >= Severity::Medium))
            .then(|| {
                [
                    cite(a, Canon::RuleName, "the signature that fired"),
                    cite(a, Canon::VendorSeverity, "Suricata's severity (1 is highest)"),
                    cite(a, Canon::DestinationIp, "the remote address"),
                ]
                .into_iter()
                .flatten()
                .collect()
            })
        },
    },
    Detection {
        id: "ids_alert_policy",
        title: "Network IDS policy, informational or scan signature",
        verdict: Verdict::Suspicious,
        severity: Severity::Low,
        confidence: 0.7,
        techniques: &["T1046"],
        actions: &["add_note"],
        matches: |a| {
            if a.format != Format::Eve || channel(a) != "alert" {
                return None;
            }
            let sig = lower(a, Canon::RuleName)?;
            ["et policy", "et info", "et scan", "et hunting", "gpl icmp", "gpl scan"]
                .iter()
                .any(|k| sig.starts_with(k))
                .then(|| cite(a, Canon::RuleName, "the signature that fired").into_iter().collect())
        },
    },
    Detection {
        id: "network_metadata",
        title: "Network metadata record with no alert attached",
        verdict: Verdict::Benign,
        severity: Severity::Info,
        confidence: 0.9,
        techniques: &[],
        actions: &[],
        matches: |a| {
            (a.format == Format::Eve
                && ["dns", "flow", "http", "tls", "fileinfo", "netflow", "ssh", "smb"].contains(&channel(a).as_str()))
            .then(|| cite(a, Canon::Channel, "the record is metadata, not a detection").into_iter().collect())
        },
    },
];

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
