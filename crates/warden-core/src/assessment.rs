use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Value, VocabError, named_enum};

/// What an analyzer concluded about an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Malicious,
    Suspicious,
    Benign,
    /// The analyzer cannot tell; always goes to a human.
    Unknown,
}

named_enum!(Verdict, "verdict", {
    Malicious => "malicious",
    Suspicious => "suspicious",
    Benign => "benign",
    Unknown => "unknown",
});

impl Verdict {
    /// How strongly the verdict says "attack": malicious, then suspicious,
    /// then unknown, then benign. What combines several verdicts into one.
    pub fn strength(self) -> u8 {
        match self {
            Verdict::Malicious => 3,
            Verdict::Suspicious => 2,
            Verdict::Unknown => 1,
            Verdict::Benign => 0,
        }
    }
}

/// How bad it is if the verdict is right. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

named_enum!(Severity, "severity", {
    Info => "info",
    Low => "low",
    Medium => "medium",
    High => "high",
    Critical => "critical",
});

/// A probability in `[0, 1]`. Construction refuses anything else (NaN too).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Confidence(f64);

impl Confidence {
    pub fn new(p: f64) -> Result<Self, VocabError> {
        if (0.0..=1.0).contains(&p) { Ok(Confidence(p)) } else { Err(VocabError::Confidence(p.to_string())) }
    }

    /// Clamps into `[0, 1]`; NaN becomes 0.
    pub fn saturating(p: f64) -> Self {
        if p.is_nan() { Confidence(0.0) } else { Confidence(p.clamp(0.0, 1.0)) }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Confidence::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

/// An ATT&CK technique or sub-technique id, `T1059` or `T1059.001`.
/// Whether the id exists in the catalogue is checked by validation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TechniqueId(String);

impl TechniqueId {
    pub fn parse(s: &str) -> Result<Self, VocabError> {
        let b = s.as_bytes();
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        let ok = match b.len() {
            5 => b[0] == b'T' && digits(&b[1..5]),
            9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..9]),
            _ => false,
        };
        if ok { Ok(TechniqueId(s.to_owned())) } else { Err(VocabError::Technique(s.to_owned())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parent technique of a sub-technique (`T1059.001` → `T1059`).
    pub fn parent(&self) -> TechniqueId {
        TechniqueId(self.0[..5].to_owned())
    }
}

impl<'de> Deserialize<'de> for TechniqueId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TechniqueId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TechniqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One piece of evidence: the field an analyzer relied on and the value it
/// says that field holds. Validation checks both against the alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub path: String,
    pub value: Value,
    /// Why this field matters, in one sentence.
    pub note: String,
}

/// Which analyzer produced an assessment, precisely enough to reproduce it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyzerInfo {
    pub name: String,
    pub version: String,
    /// Model name, for generative providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Provider name from the configuration, for generative providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Hash of the prompt template or rule set the result came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ruleset: Option<String>,
}

/// An analyzer's view of one alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub verdict: Verdict,
    pub severity: Severity,
    pub confidence: Confidence,
    pub techniques: Vec<TechniqueId>,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Action kinds the analyzer proposes (see [`crate::ActionKind`]); a
    /// proposal only, governance decides.
    pub recommended_actions: Vec<String>,
    pub analyzer: AnalyzerInfo,
}

/// How well an assessment's evidence is backed by the alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grounding {
    /// Every citation names a field the alert has, with the value it has.
    Full,
    /// Some citations check out, some do not.
    Partial,
    /// No citation checks out, or there is no evidence at all.
    None,
}

named_enum!(Grounding, "grounding", {
    Full => "full",
    Partial => "partial",
    None => "none",
});

/// The validation stage's findings about one assessment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// The assessment fits the closed schema (bounded text, known names).
    pub schema_ok: bool,
    pub grounding: Grounding,
    /// Citations that matched the alert / citations made.
    pub grounded: usize,
    pub cited: usize,
    /// One line per problem found; empty when the assessment is clean.
    pub problems: Vec<String>,
    /// The confidence routing used, after the active calibration map.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_confidence: Option<f64>,
    /// Version of the calibration map applied, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
    /// Attacker-controlled text in the alert looks like instructions to a model.
    #[serde(default)]
    pub injection_suspected: bool,
    /// Another analyzer reached a different verdict (what it said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<String>,
    /// The workflow's analyzer was not asked (why: a budget used up); the
    /// local analyzer's assessment stands in for it, and a person reviews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl Validation {
    /// What validation says of an assessment with nothing wrong in it:
    /// schema fits, all `cited` citations grounded (no citations is
    /// grounding `none`, as the validator reports it), no problems.
    pub fn clean(cited: usize) -> Self {
        Validation {
            schema_ok: true,
            grounding: if cited > 0 { Grounding::Full } else { Grounding::None },
            grounded: cited,
            cited,
            problems: Vec::new(),
            calibrated_confidence: None,
            calibration: None,
            injection_suspected: false,
            disagreement: None,
            fallback: None,
        }
    }

    /// Clean: schema fits and every citation is grounded.
    pub fn passed(&self) -> bool {
        self.schema_ok && self.grounding == Grounding::Full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_ids_are_checked_for_shape() {
        assert!(TechniqueId::parse("T1059").is_ok());
        assert_eq!(TechniqueId::parse("T1059.001").unwrap().parent().as_str(), "T1059");
        for bad in ["t1059", "T105", "T1059.01", "T1059.0011", "T10a9", "", "T1059 "] {
            assert!(TechniqueId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn confidence_refuses_out_of_range_and_nan() {
        assert!(Confidence::new(0.85).is_ok());
        assert!(Confidence::new(1.01).is_err());
        assert!(Confidence::new(-0.1).is_err());
        assert!(Confidence::new(f64::NAN).is_err());
        assert!(serde_json::from_str::<Confidence>("2.0").is_err());
        assert_eq!(Confidence::saturating(f64::NAN).get(), 0.0);
    }

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
    }
}
