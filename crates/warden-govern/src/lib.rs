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

pub use access::{Denied, Identity, Permission};
pub use gate::{
    ActionRequest, ApprovedAction, Draft, Execution, GateContext, GateError, NewRequest, RequestStatus, RiskMatrix,
    Stage, TierChange, authorize_execution,
};
use warden_core::{Assessment, Reason, Route, RouteKind, Severity, Validation, Verdict};

/// The routing policy.
#[derive(Clone, Debug, PartialEq)]
pub struct RoutingPolicy {
    /// Below this confidence a human reviews. Default 0.85.
    pub confidence_threshold: f64,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy { confidence_threshold: default_confidence_threshold() }
    }
}

/// The confidence threshold used when the configuration names none.
pub fn default_confidence_threshold() -> f64 {
    0.85
}

/// Routes one assessment. Every reason that forces review is listed, not
/// only the first, so the queue shows the whole picture. With the stop
/// switch on, everything goes to review.
pub fn route(policy: &RoutingPolicy, a: &Assessment, v: &Validation, stopped: bool) -> Route {
    let mut review = Vec::new();
    if stopped {
        review.push(Reason::new("stop_switch", "the stop switch is on: every alert goes to a human"));
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
    let c = a.confidence.get();
    if c < policy.confidence_threshold {
        review.push(Reason::new(
            "below_threshold",
            format!("confidence {c:.2} is below the threshold {:.2}", policy.confidence_threshold),
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{AnalyzerInfo, Confidence, Grounding};

    fn a(verdict: Verdict, confidence: f64, severity: Severity) -> Assessment {
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

    fn clean() -> Validation {
        Validation { schema_ok: true, grounding: Grounding::Full, grounded: 1, cited: 1, problems: vec![] }
    }

    fn codes(r: &Route) -> Vec<&str> {
        r.reasons.iter().map(|x| x.code.as_str()).collect()
    }

    #[test]
    fn below_threshold_and_unknown_go_to_review_with_every_reason() {
        let p = RoutingPolicy::default();
        let r = route(&p, &a(Verdict::Unknown, 0.2, Severity::Info), &clean(), false);
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["verdict_unknown", "below_threshold"]);
        assert_eq!(route(&p, &a(Verdict::Benign, 0.849, Severity::Info), &clean(), false).kind, RouteKind::Review);
    }

    #[test]
    fn confident_verdicts_route_by_verdict() {
        let p = RoutingPolicy::default();
        assert_eq!(route(&p, &a(Verdict::Malicious, 0.9, Severity::High), &clean(), false).kind, RouteKind::Escalated);
        assert_eq!(route(&p, &a(Verdict::Benign, 0.9, Severity::Info), &clean(), false).kind, RouteKind::AutoClosed);
        assert_eq!(route(&p, &a(Verdict::Suspicious, 0.95, Severity::Low), &clean(), false).kind, RouteKind::Review);
    }

    #[test]
    fn the_stop_switch_sends_everything_to_review() {
        let p = RoutingPolicy::default();
        let r = route(&p, &a(Verdict::Benign, 0.99, Severity::Info), &clean(), true);
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["stop_switch"]);
        assert_eq!(route(&p, &a(Verdict::Malicious, 0.99, Severity::High), &clean(), true).kind, RouteKind::Review);
    }

    #[test]
    fn ungrounded_output_is_never_auto_closed() {
        let p = RoutingPolicy::default();
        let v = Validation { grounding: Grounding::Partial, grounded: 1, cited: 2, ..clean() };
        let r = route(&p, &a(Verdict::Benign, 0.99, Severity::Info), &v, false);
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["grounding_failed"]);
    }
}
