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

mod local;
mod validate;

pub use local::LocalAnalyzer;
pub use validate::validate;
use warden_core::{AnalyzerInfo, Assessment};
pub use warden_privacy::ProtectedAlert;

/// Anything that can assess a protected alert.
pub trait Analyzer: Send + Sync {
    /// Name, version and rule set or model, recorded with every assessment.
    fn info(&self) -> AnalyzerInfo;

    /// Assesses one alert. An analyzer that cannot reach a conclusion says
    /// `unknown`; an error means it could not run at all.
    fn analyze(&self, alert: &ProtectedAlert) -> Result<Assessment, AnalyzeError>;
}

/// Why an analyzer could not produce an assessment.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("analyzer unavailable: {0}")]
    Unavailable(String),
    #[error("analyzer output rejected: {0}")]
    Rejected(String),
}
