//! Governance: where an assessed alert goes, and which actions may run.
//!
//! Everything here is a pure decision over vocabulary types: no IO, no clock,
//! no storage. [`route`] applies the routing policy to an assessment and its
//! validation. [`ApprovedAction`] is the only thing an executor accepts, and
//! only this crate can make one; today only low-tier actions are approved
//! (automatically), the approval workflow for higher tiers arrives with the
//! risk-matrix issue behind the same type.
//!
//! Governance knows nothing about how alerts were parsed, analysed or stored.

use warden_core::{ActionKind, Assessment, Reason, RiskTier, Route, RouteKind, Severity, Validation, Verdict};

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
/// only the first, so the queue shows the whole picture.
pub fn route(policy: &RoutingPolicy, a: &Assessment, v: &Validation) -> Route {
    let mut review = Vec::new();
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

/// An action that governance has allowed to run. Executors accept only this
/// type; its fields are private and only this crate constructs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedAction {
    kind: ActionKind,
    tier: RiskTier,
    target: String,
    approvers: Vec<String>,
}

impl ApprovedAction {
    pub fn kind(&self) -> ActionKind {
        self.kind
    }

    pub fn tier(&self) -> RiskTier {
        self.tier
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn approvers(&self) -> &[String] {
        &self.approvers
    }
}

/// Why an action was not approved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("{kind} is a {tier}-tier action and needs human approval")]
    NeedsApproval { kind: ActionKind, tier: RiskTier },
}

/// Approves an action that may run without a human: low tier only.
pub fn approve_automatic(kind: ActionKind, target: &str) -> Result<ApprovedAction, GateError> {
    let tier = kind.default_tier();
    if tier == RiskTier::Low {
        Ok(ApprovedAction { kind, tier, target: target.to_owned(), approvers: Vec::new() })
    } else {
        Err(GateError::NeedsApproval { kind, tier })
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
        let r = route(&p, &a(Verdict::Unknown, 0.2, Severity::Info), &clean());
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["verdict_unknown", "below_threshold"]);
        assert_eq!(route(&p, &a(Verdict::Benign, 0.849, Severity::Info), &clean()).kind, RouteKind::Review);
    }

    #[test]
    fn confident_verdicts_route_by_verdict() {
        let p = RoutingPolicy::default();
        assert_eq!(route(&p, &a(Verdict::Malicious, 0.9, Severity::High), &clean()).kind, RouteKind::Escalated);
        assert_eq!(route(&p, &a(Verdict::Benign, 0.9, Severity::Info), &clean()).kind, RouteKind::AutoClosed);
        assert_eq!(route(&p, &a(Verdict::Suspicious, 0.95, Severity::Low), &clean()).kind, RouteKind::Review);
    }

    #[test]
    fn ungrounded_output_is_never_auto_closed() {
        let p = RoutingPolicy::default();
        let v = Validation { grounding: Grounding::Partial, grounded: 1, cited: 2, ..clean() };
        let r = route(&p, &a(Verdict::Benign, 0.99, Severity::Info), &v);
        assert_eq!(r.kind, RouteKind::Review);
        assert_eq!(codes(&r), ["grounding_failed"]);
    }

    #[test]
    fn only_low_tier_actions_are_approved_automatically() {
        assert!(approve_automatic(ActionKind::OpenTicket, "al-1").is_ok());
        assert_eq!(
            approve_automatic(ActionKind::DeclareBreach, "al-1"),
            Err(GateError::NeedsApproval { kind: ActionKind::DeclareBreach, tier: RiskTier::Critical })
        );
    }
}
