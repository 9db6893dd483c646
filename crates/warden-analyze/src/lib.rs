//! Analysis: the [`Analyzer`] trait, the local analyzer, and the validation
//! of any analyzer's output against the alert it was given.
//!
//! An analyzer receives only a [`ProtectedAlert`] (which only the privacy
//! stage can make) and returns an [`Assessment`]. The local analyzer
//! ([`LocalAnalyzer`]) is offline, deterministic and cites every field it
//! relies on. [`validate`] treats every assessment as untrusted: closed
//! schema, and every evidence citation checked against the alert.
//!
//! This crate knows nothing about storage, HTTP, routing or how alerts were
//! parsed; it reads alerts through `Fields` and canonical field names only.

pub mod attack;
pub mod calibration;
pub mod classifier;
pub mod injection;
pub mod llm;
mod local;
pub mod metrics;
pub mod retry;
pub mod sigma;
mod validate;

pub use local::LocalAnalyzer;
pub use validate::{evidence_holds, validate};
use warden_core::{AnalyzerInfo, Assessment};
pub use warden_privacy::ProtectedAlert;

/// Anything that can assess a protected alert.
pub trait Analyzer: Send + Sync {
    /// Name, version and rule set or model, recorded with every assessment.
    fn info(&self) -> AnalyzerInfo;

    /// Assesses one alert. An analyzer that cannot reach a conclusion says
    /// `unknown`; an error means it could not run at all.
    fn analyze(&self, alert: &ProtectedAlert) -> Result<Assessment, AnalyzeError>;

    /// Makes a trained classifier the active one (None: rules only). Analyzers
    /// without a learned part ignore it.
    fn set_model(&self, _model: Option<std::sync::Arc<classifier::Classifier>>) {}

    /// Makes a Sigma rule set (version, rules) the active one. Analyzers
    /// without rules ignore it.
    fn set_rules(&self, _rules: Option<(String, std::sync::Arc<Vec<sigma::Rule>>)>) {}
}

/// Why an analyzer could not produce an assessment.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("analyzer unavailable: {0}")]
    Unavailable(String),
    #[error("analyzer output rejected: {0}")]
    Rejected(String),
    #[error("request refused before it left: {0}")]
    Refused(String),
    /// A budget (calls, tokens or cost per hour or day) is used up.
    #[error("over budget: {0}")]
    OverBudget(String),
}

/// A first draft of the text a critical action needs (a customer
/// notification, a breach declaration summary, an attribution rationale),
/// written from an assessment for people to edit. It says what it is, states
/// only what the assessment states, and leaves blanks where a person must
/// fill in facts the analyzer does not have.
pub fn draft_for(kind: warden_core::ActionKind, a: &Assessment, alert_id: &str) -> Option<String> {
    use warden_core::ActionKind::*;
    let techniques = if a.techniques.is_empty() {
        "none identified".to_owned()
    } else {
        a.techniques.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    };
    let head = format!(
        "[AI-generated draft by {}@{} from alert {alert_id}; verify every statement before use]\n\n",
        a.analyzer.name, a.analyzer.version
    );
    let facts = format!(
        "What the analysis says: {} (verdict {}, severity {}, confidence {:.2}; ATT&CK: {techniques}).",
        a.summary,
        a.verdict,
        a.severity,
        a.confidence.get()
    );
    let body = match kind {
        NotifyCustomers => format!(
            "Subject: Security incident notice\n\nDear customer,\n\nOn [DATE] we detected activity on our systems that we are \
             investigating as a security incident. [WHAT DATA MAY BE AFFECTED]. [WHAT WE HAVE DONE]. [WHAT YOU SHOULD DO]. \
             [CONTACT].\n\n(Internal basis, remove before sending: {facts})"
        ),
        NotifyRegulator => format!(
            "Notification of a personal data breach\n\nNature of the breach: [DESCRIBE]\nCategories and approximate number of \
             data subjects: [FILL IN]\nLikely consequences: [FILL IN]\nMeasures taken: [FILL IN]\nContact: [DPO]\n\n\
             Internal basis: {facts}"
        ),
        DeclareBreach => format!(
            "Breach declaration — summary for the incident commander\n\n{facts}\n\nScope: [HOSTS, ACCOUNTS, DATA]\n\
             Evidence reviewed by: [NAMES]\nDecision and time: [FILL IN]"
        ),
        AttributeThreatActor => format!(
            "Attribution rationale\n\n{facts}\n\nThe techniques above are shared by many actors; they are not attribution \
             by themselves. Add the intelligence that links this activity to a named actor: [SOURCES, CONFIDENCE]."
        ),
        ShutdownInfrastructure | StartDisasterRecovery | PageExecutives => {
            format!("Rationale for {kind}\n\n{facts}\n\nBusiness impact: [FILL IN]\nAlternatives considered: [FILL IN]")
        }
        _ => return None,
    };
    Some(head + &body)
}
