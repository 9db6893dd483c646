//! Governance: where an assessed alert goes, who may do what, and which
//! actions may run.
//!
//! Everything here is a pure decision over vocabulary types: no IO, no clock
//! (callers pass the time), no storage. [`route`] applies the routing policy
//! to an assessment and its validation. [`access`] is the permission matrix
//! over roles. [`gate`] is the risk matrix and the approval state machine;
//! [`ApprovedAction`], the only thing an executor accepts, has private fields
//! and is made only by [`authorize_execution`].
//!
//! Governance knows nothing about how alerts were parsed, analysed or stored.

pub mod access;
pub mod gate;

pub use access::{Denied, ExternalSubject, Identity, Permission};
pub use gate::{
    ActionRequest, ApprovedAction, Draft, Execution, GateContext, GateError, NewRequest, Remote, RequestStatus,
    RiskMatrix, Stage, TierChange, authorize_execution,
};
use warden_core::{Assessment, Reason, Route, RouteKind, Severity, Validation, Verdict};

pub use gate::Stage as WorkflowStage;

/// Everything routing depends on besides the assessment: the workflow's
/// policy and state.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteContext {
    /// Below this (calibrated) confidence a human reviews. Default 0.85.
    pub confidence_threshold: f64,
    pub stage: Stage,
    /// The workflow is in burn-in: every assessment goes to a human.
    pub burn_in: bool,
    /// The stop switch is on for this workflow (or globally).
    pub stopped: bool,
    /// This alert was drawn for the QA sample of auto-closed alerts.
    pub qa_sampled: bool,
    /// The record is raw telemetry (an event log record, a flow), not
    /// another product's alert: when nothing finds it interesting it is
    /// context, not a decision.
    pub telemetry: bool,
}

impl Default for RouteContext {
    /// A fresh installation: assist stage, in burn-in, nothing automatic.
    fn default() -> Self {
        RouteContext {
            confidence_threshold: default_confidence_threshold(),
            stage: Stage::Assist,
            burn_in: true,
            stopped: false,
            qa_sampled: false,
            telemetry: false,
        }
    }
}

/// The confidence threshold used when the configuration names none.
pub fn default_confidence_threshold() -> f64 {
    0.85
}

/// Whether an alert belongs to the QA sample: a stable draw from its id, so
/// the same alert is always in or out, at `rate` (0 to 1).
pub fn qa_draw(alert_id: &str, rate: f64) -> bool {
    // FNV-1a, then the splitmix64 finaliser to spread similar ids evenly;
    // stable across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in alert_id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d049bb133111eb);
    h ^= h >> 31;
    ((h >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// Routes one assessment. Every reason that forces review is listed, not
/// only the first, so the queue shows the whole picture.
pub fn route(ctx: &RouteContext, a: &Assessment, v: &Validation) -> Route {
    if ctx.telemetry && uninteresting(a, v) {
        return Route {
            kind: RouteKind::Context,
            reasons: vec![Reason::new(
                "telemetry_no_detection",
                "raw telemetry that no detection, rule or model found interesting: kept as context",
            )],
        };
    }
    let mut review = Vec::new();
    if ctx.stopped {
        review.push(Reason::new("stop_switch", "the stop switch is on: every alert goes to a human"));
    }
    match ctx.stage {
        Stage::Shadow => review.push(Reason::new(
            "shadow",
            "the workflow is in shadow mode: the AI's output is recorded, not used as a decision",
        )),
        Stage::Assist => {
            review.push(Reason::new("assist", "the workflow is in assist mode: a human decides every alert"))
        }
        Stage::Supervised => {}
    }
    if ctx.burn_in {
        review.push(Reason::new("burn_in", "the workflow is in burn-in: every AI assessment is reviewed"));
    }
    if !v.schema_ok {
        review.push(Reason::new("schema_invalid", "the assessment does not fit the schema"));
    }
    match v.grounding {
        warden_core::Grounding::Full => {}
        g => review.push(Reason::new(
            "grounding_failed",
            format!("{} of {} evidence citations match the alert (grounding {g})", v.grounded, v.cited),
        )),
    }
    if a.verdict == Verdict::Unknown {
        review.push(Reason::new("verdict_unknown", "the analyzer could not reach a verdict"));
    }
    if v.injection_suspected {
        // Say what was found and where, when the screen said so.
        let what = v.problems.iter().find(|p| p.starts_with("instruction-like text"));
        review.push(Reason::new(
            "injection_suspected",
            what.map_or_else(|| "text in the alert looks like instructions to a model".to_owned(), |w| w.clone()),
        ));
    }
    if let Some(why) = &v.fallback {
        review.push(Reason::new("analyzer_fallback", format!("the local analyzer stood in: {why}")));
    }
    if let Some(other) = &v.disagreement {
        review.push(Reason::new("analyzers_disagree", format!("another analyzer says {other}")));
    }
    // The threshold applies to calibrated confidence when a calibration map exists.
    let c = v.calibrated_confidence.unwrap_or(a.confidence.get());
    if c < ctx.confidence_threshold {
        review.push(Reason::new(
            "below_threshold",
            format!("confidence {c:.2} is below the threshold {:.2}", ctx.confidence_threshold),
        ));
    }
    if a.severity >= Severity::High && a.verdict != Verdict::Malicious {
        review.push(Reason::new("severity_high", format!("{} severity always gets a human", a.severity)));
    }
    if !review.is_empty() {
        return Route { kind: RouteKind::Review, reasons: review };
    }
    match a.verdict {
        Verdict::Malicious => Route {
            kind: RouteKind::Escalated,
            reasons: vec![Reason::new(
                "malicious_confident",
                format!("malicious at confidence {c:.2}, severity {}", a.severity),
            )],
        },
        Verdict::Suspicious => Route {
            kind: RouteKind::Review,
            reasons: vec![Reason::new("verdict_suspicious", "suspicious activity needs a human verdict")],
        },
        Verdict::Benign if a.severity <= Severity::Low && ctx.qa_sampled => Route {
            kind: RouteKind::Review,
            reasons: vec![Reason::new("qa_sample", "drawn for the quality-assurance sample of auto-closed alerts")],
        },
        Verdict::Benign if a.severity <= Severity::Low => Route {
            kind: RouteKind::AutoClosed,
            reasons: vec![Reason::new("benign_confident", format!("benign at confidence {c:.2}"))],
        },
        Verdict::Benign => Route {
            kind: RouteKind::Review,
            reasons: vec![Reason::new("severity_not_low", format!("benign verdict at {} severity", a.severity))],
        },
        Verdict::Unknown => unreachable!("unknown verdicts are routed to review above"),
    }
}

/// Nothing found anything: no verdict beyond benign or unknown, no
/// severity, no technique, and nothing about the assessment that itself
/// needs a person (a suspected injection, a broken or ungrounded answer, an
/// analyzer that failed or was refused, a fallback, a disagreement).
fn uninteresting(a: &Assessment, v: &Validation) -> bool {
    matches!(a.verdict, Verdict::Benign | Verdict::Unknown)
        && a.severity == Severity::Info
        && a.techniques.is_empty()
        && a.recommended_actions.is_empty()
        && v.schema_ok
        && v.problems.is_empty()
        && !v.injection_suspected
        && v.disagreement.is_none()
        && v.fallback.is_none()
        && (v.grounding == warden_core::Grounding::Full || v.cited == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{AnalyzerInfo, Confidence, Grounding};

    pub(crate) fn a(verdict: Verdict, confidence: f64, severity: Severity) -> Assessment {
        Assessment {
            verdict,
            severity,
            confidence: Confidence::new(confidence).unwrap(),
            techniques: vec![],
            summary: "s".into(),
            evidence: vec![],
            recommended_actions: vec![],
            analyzer: AnalyzerInfo {
                name: "t".into(),
                version: "0".into(),
                model: None,
                provider: None,
                ruleset: None,
            },
        }
    }

    pub(crate) fn clean() -> Validation {
        Validation::clean(1)
    }

    fn codes(r: &Route) -> Vec<&str> {
        r.reasons.iter().map(|x| x.code.as_str()).collect()
    }

    fn live() -> RouteContext {
        RouteContext { stage: Stage::Supervised, burn_in: false, ..RouteContext::default() }
    }

    #[test]
    fn below_threshold_and_unknown_go_to_review_with_every_reason() {
        let p = live();
        let r = route(&p, &a(Verdict::Unknown, 0.2, Severity::Info), &clean());
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["verdict_unknown", "below_threshold"]);
        assert_eq!(route(&p, &a(Verdict::Benign, 0.849, Severity::Info), &clean()).kind, RouteKind::Review);
    }

    #[test]
    fn confident_verdicts_route_by_verdict() {
        let p = live();
        assert_eq!(route(&p, &a(Verdict::Malicious, 0.9, Severity::High), &clean()).kind, RouteKind::Escalated);
        assert_eq!(route(&p, &a(Verdict::Benign, 0.9, Severity::Info), &clean()).kind, RouteKind::AutoClosed);
        assert_eq!(route(&p, &a(Verdict::Suspicious, 0.95, Severity::Low), &clean()).kind, RouteKind::Review);
    }

    #[test]
    fn telemetry_nothing_found_is_context_in_burn_in_too_and_anything_found_is_not() {
        let fresh = RouteContext { telemetry: true, ..RouteContext::default() };
        let quiet = a(Verdict::Benign, 0.6, Severity::Info);
        let r = route(&fresh, &quiet, &clean());
        assert_eq!((r.kind, codes(&r)), (RouteKind::Context, vec!["telemetry_no_detection"]));
        assert_eq!(route(&fresh, &a(Verdict::Unknown, 0.2, Severity::Info), &clean()).kind, RouteKind::Context);
        // The same record from another product is an alert: burn-in reviews it.
        assert_eq!(route(&RouteContext::default(), &quiet, &clean()).kind, RouteKind::Review);
        // Anything found, or anything wrong with the assessment, goes to a person.
        assert_eq!(route(&fresh, &a(Verdict::Suspicious, 0.5, Severity::Info), &clean()).kind, RouteKind::Review);
        assert_eq!(route(&fresh, &a(Verdict::Benign, 0.6, Severity::Low), &clean()).kind, RouteKind::Review);
        let mut with_technique = quiet.clone();
        with_technique.techniques.push(warden_core::TechniqueId::parse("T1059").unwrap());
        assert_eq!(route(&fresh, &with_technique, &clean()).kind, RouteKind::Review);
        let injected = Validation { injection_suspected: true, ..clean() };
        assert_eq!(route(&fresh, &quiet, &injected).kind, RouteKind::Review);
        // An analyzer that failed says unknown with a problem: that is for a person.
        let failed = Validation { problems: vec!["llm:x: unavailable".into()], ..clean() };
        assert_eq!(route(&fresh, &a(Verdict::Unknown, 0.2, Severity::Info), &failed).kind, RouteKind::Review);
        let ungrounded = Validation { grounding: Grounding::Partial, grounded: 0, cited: 1, ..clean() };
        assert_eq!(route(&fresh, &quiet, &ungrounded).kind, RouteKind::Review);
    }

    #[test]
    fn the_stop_switch_sends_everything_to_review() {
        let p = live();
        let stopped = RouteContext { stopped: true, ..p.clone() };
        let r = route(&stopped, &a(Verdict::Benign, 0.99, Severity::Info), &clean());
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["stop_switch"]);
        assert_eq!(route(&stopped, &a(Verdict::Malicious, 0.99, Severity::High), &clean()).kind, RouteKind::Review);
    }

    #[test]
    fn ungrounded_output_is_never_auto_closed() {
        let p = live();
        let v = Validation { grounding: Grounding::Partial, grounded: 1, cited: 2, ..clean() };
        let r = route(&p, &a(Verdict::Benign, 0.99, Severity::Info), &v);
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["grounding_failed"]);
    }
}

#[cfg(test)]
mod workflow_tests {
    use super::tests::{a, clean};
    use super::*;
    use warden_core::{Confidence, Grounding};

    fn confident_benign() -> Assessment {
        a(Verdict::Benign, 0.97, Severity::Info)
    }

    #[test]
    fn out_of_the_box_nothing_is_auto_closed() {
        let r = route(&RouteContext::default(), &confident_benign(), &clean());
        assert_eq!(r.kind, RouteKind::Review);
        let codes: Vec<&str> = r.reasons.iter().map(|x| x.code.as_str()).collect();
        assert_eq!(codes, ["assist", "burn_in"]);
    }

    #[test]
    fn burn_in_sends_everything_to_review_and_after_it_confident_benign_closes() {
        let burn = RouteContext { stage: Stage::Supervised, ..RouteContext::default() };
        assert_eq!(route(&burn, &confident_benign(), &clean()).reasons[0].code, "burn_in");
        let after = RouteContext { burn_in: false, ..burn };
        assert_eq!(route(&after, &confident_benign(), &clean()).kind, RouteKind::AutoClosed);
        let sampled = RouteContext { qa_sampled: true, ..after };
        let r = route(&sampled, &confident_benign(), &clean());
        assert_eq!((r.kind, r.reasons[0].code.as_str()), (RouteKind::Review, "qa_sample"));
    }

    #[test]
    fn shadow_routes_nothing_to_automation() {
        let shadow = RouteContext { stage: Stage::Shadow, burn_in: false, ..RouteContext::default() };
        let r = route(&shadow, &confident_benign(), &clean());
        assert_eq!((r.kind, r.reasons[0].code.as_str()), (RouteKind::Review, "shadow"));
    }

    #[test]
    fn high_severity_always_gets_a_human() {
        let live = RouteContext { stage: Stage::Supervised, burn_in: false, ..RouteContext::default() };
        let mut a = confident_benign();
        a.severity = Severity::High;
        let r = route(&live, &a, &clean());
        assert_eq!((r.kind, r.reasons[0].code.as_str()), (RouteKind::Review, "severity_high"));
    }

    #[test]
    fn every_mandatory_review_trigger_forces_review_on_its_own() {
        let live = RouteContext { stage: Stage::Supervised, burn_in: false, ..RouteContext::default() };
        let mut cases: Vec<(&str, Assessment, Validation)> = Vec::new();
        let mut a = confident_benign();
        a.verdict = Verdict::Unknown;
        cases.push(("verdict_unknown", a, clean()));
        let mut a = confident_benign();
        a.confidence = Confidence::new(0.5).unwrap();
        cases.push(("below_threshold", a, clean()));
        let mut a = confident_benign();
        a.severity = Severity::Critical;
        cases.push(("severity_high", a, clean()));
        cases.push(("grounding_failed", confident_benign(), Validation { grounding: Grounding::Partial, ..clean() }));
        cases.push(("schema_invalid", confident_benign(), Validation { schema_ok: false, ..clean() }));
        cases.push(("injection_suspected", confident_benign(), Validation { injection_suspected: true, ..clean() }));
        cases.push((
            "analyzer_fallback",
            confident_benign(),
            Validation { fallback: Some("the budget of 5 calls per hour is used up".into()), ..clean() },
        ));
        cases.push((
            "analyzers_disagree",
            confident_benign(),
            Validation { disagreement: Some("malicious".into()), ..clean() },
        ));
        for (code, a, v) in cases {
            let r = route(&live, &a, &v);
            assert_eq!(r.kind, RouteKind::Review, "{code}");
            assert!(r.reasons.iter().any(|x| x.code == code), "{code}: {:?}", r.reasons);
        }
        assert_eq!(
            route(&live, &confident_benign(), &clean()).kind,
            RouteKind::AutoClosed,
            "and without any, it closes"
        );
    }

    #[test]
    fn the_qa_draw_is_stable_and_close_to_its_rate() {
        let n = 20_000;
        let hits = (0..n).filter(|i| qa_draw(&format!("al-{i:020x}"), 0.05)).count();
        assert!((800..1200).contains(&hits), "{hits} of {n}");
        assert_eq!(qa_draw("al-1", 0.05), qa_draw("al-1", 0.05));
        assert!(!qa_draw("al-1", 0.0));
        assert!(qa_draw("al-1", 1.0));
    }
}
