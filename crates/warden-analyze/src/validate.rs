//! Validation of an assessment against the alert it claims to describe.

use warden_core::{ActionKind, Assessment, Fields, Grounding, Validation, Value};

const MAX_SUMMARY: usize = 4000;
const MAX_NOTE: usize = 500;
const MAX_EVIDENCE: usize = 50;
const MAX_TECHNIQUES: usize = 20;

/// Checks an assessment's shape and each evidence citation.
///
/// A citation is grounded when the alert has the cited path and the cited
/// value is the field's value (a number may be cited as its text) or, for
/// text of at least three characters, a contiguous part of it.
pub fn validate(a: &Assessment, alert: &dyn Fields) -> Validation {
    let mut problems = Vec::new();
    if a.summary.trim().is_empty() {
        problems.push("summary is empty".to_owned());
    }
    if a.summary.len() > MAX_SUMMARY {
        problems.push(format!("summary is {} bytes, over {MAX_SUMMARY}", a.summary.len()));
    }
    if a.summary.chars().any(|c| c.is_control() && c != '\n') {
        problems.push("summary contains control characters".to_owned());
    }
    if a.evidence.len() > MAX_EVIDENCE {
        problems.push(format!("{} evidence items, over {MAX_EVIDENCE}", a.evidence.len()));
    }
    if a.techniques.len() > MAX_TECHNIQUES {
        problems.push(format!("{} techniques, over {MAX_TECHNIQUES}", a.techniques.len()));
    }
    for action in &a.recommended_actions {
        if action.parse::<ActionKind>().is_err() {
            problems.push(format!("unknown recommended action {action:?}"));
        }
    }
    for (i, e) in a.evidence.iter().enumerate() {
        if e.note.len() > MAX_NOTE {
            problems.push(format!("evidence {}: note is {} bytes, over {MAX_NOTE}", i + 1, e.note.len()));
        }
    }
    let schema_ok = problems.is_empty();

    let mut grounded = 0;
    for (i, e) in a.evidence.iter().take(MAX_EVIDENCE).enumerate() {
        match alert.get(&e.path) {
            None => problems.push(format!("evidence {}: the alert has no field `{}`", i + 1, e.path)),
            Some(actual) if cites(actual, &e.value) => grounded += 1,
            Some(_) => problems.push(format!("evidence {}: field `{}` does not hold the cited value", i + 1, e.path)),
        }
    }
    // Everything the summary names must be in the alert (or, for techniques, the catalogue).
    let all_text: String = alert.iter().map(|(_, v)| v.to_string()).collect::<Vec<_>>().join("\n");
    let mut ungrounded_names = 0;
    for m in names().find_iter(&a.summary) {
        let name = m.as_str();
        let known = if name.starts_with('T') && name.len() <= 9 && name[1..2].chars().all(|c| c.is_ascii_digit()) {
            crate::attack::technique(name).is_some()
        } else {
            all_text.contains(name) || all_text.to_lowercase().contains(&name.to_lowercase())
        };
        if !known {
            ungrounded_names += 1;
            problems.push(format!("the summary names {name}, which the alert does not contain"));
        }
    }
    let cited = a.evidence.len();
    let grounded = if ungrounded_names > 0 { grounded.min(cited.saturating_sub(1)) } else { grounded };
    let grounding = if cited > 0 && grounded == cited {
        Grounding::Full
    } else if grounded > 0 {
        Grounding::Partial
    } else {
        if cited == 0 {
            problems.push("no evidence cited".to_owned());
        }
        Grounding::None
    };
    Validation {
        schema_ok,
        grounding,
        grounded,
        cited,
        problems,
        calibrated_confidence: None,
        calibration: None,
        injection_suspected: false,
        disagreement: None,
        fallback: None,
    }
}

/// IPv4 addresses, hashes, Warden tokens and technique ids in free text.
fn names() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-fA-F]{64}\b|\b[0-9a-fA-F]{40}\b|\b[0-9a-fA-F]{32}\b|<[A-Z]+_[0-9a-f]{10}>|\bT\d{4}(?:\.\d{3})?\b")
            .expect("static pattern")
    })
}

/// Whether one evidence item holds: the alert has the cited field with the
/// cited value (or, for text of three characters or more, contains it).
pub fn evidence_holds(alert: &dyn Fields, e: &warden_core::Evidence) -> bool {
    alert.get(&e.path).is_some_and(|actual| cites(actual, &e.value))
}

fn cites(actual: &Value, cited: &Value) -> bool {
    if actual.same_datum(cited) {
        return true;
    }
    match (actual, cited) {
        (Value::Str(a), Value::Str(c)) => c.chars().count() >= 3 && a.contains(c.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{AnalyzerInfo, Confidence, Evidence, FieldMap, Severity, Verdict};

    fn assessment(evidence: Vec<Evidence>) -> Assessment {
        Assessment {
            verdict: Verdict::Malicious,
            severity: Severity::High,
            confidence: Confidence::new(0.9).unwrap(),
            techniques: vec![],
            summary: "x".into(),
            evidence,
            recommended_actions: vec!["isolate_host".into()],
            analyzer: AnalyzerInfo {
                name: "t".into(),
                version: "0".into(),
                model: None,
                provider: None,
                ruleset: None,
            },
        }
    }

    fn ev(path: &str, value: Value) -> Evidence {
        Evidence { path: path.into(), value, note: String::new() }
    }

    #[test]
    fn citations_must_name_real_fields_with_real_values() {
        let mut f = FieldMap::new();
        f.insert("cmd", Value::from("powershell -enc SQBFAFgA"));
        f.insert("id", Value::Int(4688));
        let ok =
            validate(&assessment(vec![ev("cmd", Value::from("-enc SQBFAFgA")), ev("id", Value::from("4688"))]), &f);
        assert_eq!(ok.grounding, Grounding::Full, "{:?}", ok.problems);
        assert!(ok.passed());

        let partial = validate(&assessment(vec![ev("cmd", Value::from("mimikatz")), ev("id", Value::Int(4688))]), &f);
        assert_eq!(partial.grounding, Grounding::Partial);
        assert!(!partial.passed());

        let none = validate(&assessment(vec![ev("nope", Value::from("x"))]), &f);
        assert_eq!(none.grounding, Grounding::None);
        assert_eq!(none.problems, ["evidence 1: the alert has no field `nope`"]);

        assert_eq!(validate(&assessment(vec![]), &f).grounding, Grounding::None);
    }

    #[test]
    fn a_summary_naming_what_the_alert_lacks_is_not_grounded() {
        let mut f = FieldMap::new();
        f.insert("src", Value::from("10.0.0.5"));
        let mut a = assessment(vec![ev("src", Value::from("10.0.0.5"))]);
        a.summary = "Beacon from 10.0.0.5 to 203.0.113.9 (T1071.001)".into();
        let v = validate(&a, &f);
        assert_eq!(v.grounding, Grounding::None, "{:?}", v.problems);
        assert!(v.problems.iter().any(|p| p.contains("203.0.113.9")));
        a.summary = "Beacon from 10.0.0.5 (T1071.001)".into();
        assert_eq!(validate(&a, &f).grounding, Grounding::Full);
        a.summary = "Beacon from 10.0.0.5 (T9999)".into();
        assert!(!validate(&a, &f).passed());
    }

    #[test]
    fn unknown_actions_break_the_schema() {
        let mut a = assessment(vec![]);
        a.recommended_actions.push("rm -rf /".into());
        assert!(!validate(&a, &FieldMap::new()).schema_ok);
    }
}
