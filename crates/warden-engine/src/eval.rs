//! `warden eval`: the quality figures on a labelled file, on a throw-away
//! in-memory store. Each record carries a top-level `_label`
//! (`{"malicious": bool, "techniques": [...]}`) that is removed before the
//! record is ingested, so no analyzer ever sees it.

use serde::Deserialize;
use warden_analyze::metrics::{self, Outcome, Report};
use warden_core::{Location, Verdict};

use crate::{Config, Engine, EngineError, Event};

/// The label of one record.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub malicious: bool,
    #[serde(default)]
    pub techniques: Vec<String>,
}

/// A labelled input split in two: the records without their labels, and the
/// labels by line of the stripped input (1-based).
pub struct Prepared {
    pub records: Vec<u8>,
    pub labels: Vec<Option<Label>>,
    /// Records that could not be read or had a malformed label: (line, reason).
    pub problems: Vec<(u64, String)>,
}

/// Reads NDJSON or a JSON array, removes each object's `_label`.
pub fn prepare(input: &[u8]) -> Prepared {
    let mut values: Vec<(u64, Result<serde_json::Value, String>)> = Vec::new();
    let trimmed = input.trim_ascii_start();
    if trimmed.first() == Some(&b'[') {
        match serde_json::from_slice::<Vec<serde_json::Value>>(trimmed) {
            Ok(v) => values.extend(v.into_iter().enumerate().map(|(i, x)| (i as u64 + 1, Ok(x)))),
            Err(e) => values.push((1, Err(e.to_string()))),
        }
    } else {
        for (i, line) in input.split(|&b| b == b'\n').enumerate() {
            let line = line.trim_ascii();
            if !line.is_empty() {
                values.push((i as u64 + 1, serde_json::from_slice(line).map_err(|e| e.to_string())));
            }
        }
    }
    let mut out = Prepared { records: Vec::new(), labels: Vec::new(), problems: Vec::new() };
    for (line, v) in values {
        let mut v = match v {
            Ok(v) => v,
            Err(e) => {
                out.problems.push((line, e));
                continue;
            }
        };
        let label = match v.as_object_mut().and_then(|o| o.remove("_label")) {
            Some(l) => match serde_json::from_value::<Label>(l) {
                Ok(l) => Some(l),
                Err(e) => {
                    out.problems.push((line, format!("bad _label: {e}")));
                    continue;
                }
            },
            None => None,
        };
        out.records.extend(serde_json::to_vec(&v).unwrap_or_default());
        out.records.push(b'\n');
        out.labels.push(label);
    }
    out
}

/// Runs the labelled records through the whole pipeline on an in-memory
/// store and scores the assessments against the labels.
pub fn evaluate(config: &Config, input: &[u8]) -> Result<(Report, Prepared), EngineError> {
    let prepared = prepare(input);
    let engine = Engine::in_memory(config.clone())?;
    let mut outcomes = Vec::new();
    engine.triage(&prepared.records, "eval", None, &mut |ev| {
        let Event::Alert(r) = ev else { return };
        let Location::Line(line) = r.origin.location else { return };
        let Some(Some(label)) = prepared.labels.get(line as usize - 1) else { return };
        outcomes.push(Outcome {
            ai_verdict: r.verdict,
            confidence: r.confidence,
            truth: if label.malicious { Verdict::Malicious } else { Verdict::Benign },
            truth_techniques: label.techniques.clone(),
        });
    })?;
    Ok((metrics::report(&outcomes), prepared))
}

/// One capture of a labelled EVTX development set (`index.json`, as in
/// `dev-evtx/`): a file with file-level labels. Other keys are ignored.
#[derive(Clone, Debug, Deserialize)]
pub struct CaptureLabel {
    pub file: String,
    pub malicious: bool,
    #[serde(default)]
    pub techniques: Vec<String>,
}

/// How Warden did on one capture.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CaptureScore {
    pub file: String,
    pub malicious: bool,
    pub labelled: Vec<String>,
    /// Some event was judged malicious or suspicious.
    pub detected: bool,
    /// Techniques named on the events judged malicious or suspicious.
    pub predicted: Vec<String>,
    pub technique_hit: bool,
    pub events: u64,
    pub rejected: u64,
}

/// Hits over a total, per technique or tactic.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Tally {
    pub hit: u64,
    pub total: u64,
}

/// The figures over a whole set of captures.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CaptureReport {
    pub captures: Vec<CaptureScore>,
    /// Attack captures detected, of those labelled malicious.
    pub detected: Tally,
    /// Benign captures flagged, of those labelled benign.
    pub flagged: Tally,
    /// Malicious captures with a labelled technique named, of those with techniques.
    pub technique_hit: Tally,
    /// Per labelled technique: captures where it was named.
    pub per_technique: std::collections::BTreeMap<String, Tally>,
    /// Per ATT&CK tactic of the labelled techniques: captures detected.
    pub per_tactic: std::collections::BTreeMap<String, Tally>,
    pub events: u64,
}

/// `T1003.001` names `T1003` and the other way round: techniques match at
/// parent or sub-technique level.
pub fn same_technique(a: &str, b: &str) -> bool {
    match (warden_core::TechniqueId::parse(a), warden_core::TechniqueId::parse(b)) {
        (Ok(a), Ok(b)) => a.parent() == b.parent(),
        // A label that is not an ATT&CK id (a typo in an index) matches only itself.
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// Scores the engine on every capture listed in `index` (paths relative to
/// the index's folder): a capture is detected when any of its events is
/// judged malicious or suspicious; a technique hit when a technique named on
/// such an event matches a labelled one. `on_capture` is told of each
/// capture as it is done (for progress).
pub fn evaluate_captures(
    engine: &Engine,
    index: &std::path::Path,
    on_capture: &mut dyn FnMut(&CaptureScore, usize, usize),
) -> Result<CaptureReport, EngineError> {
    let text = std::fs::read(index).map_err(|e| EngineError::Invalid(format!("{}: {e}", index.display())))?;
    let labels: Vec<CaptureLabel> = serde_json::from_slice(&text)
        .map_err(|e| EngineError::Invalid(format!("{}: not a list of captures: {e}", index.display())))?;
    let dir = index.parent().unwrap_or(std::path::Path::new("."));
    let mut report = CaptureReport::default();
    for (i, label) in labels.iter().enumerate() {
        let path = dir.join(&label.file);
        let bytes = std::fs::read(&path).map_err(|e| EngineError::Invalid(format!("{}: {e}", path.display())))?;
        let mut score = CaptureScore {
            file: label.file.clone(),
            malicious: label.malicious,
            labelled: label.techniques.clone(),
            detected: false,
            predicted: Vec::new(),
            technique_hit: false,
            events: 0,
            rejected: 0,
        };
        engine.triage_input(&bytes, &label.file, None, &mut |ev| match ev {
            Event::Alert(r) => {
                score.events += 1;
                if matches!(r.verdict, Verdict::Malicious | Verdict::Suspicious) {
                    score.detected = true;
                    score.predicted.extend(r.techniques.iter().cloned());
                }
            }
            Event::Rejected(_) => score.rejected += 1,
            _ => {}
        })?;
        score.predicted.sort();
        score.predicted.dedup();
        score.technique_hit = score.labelled.iter().any(|want| score.predicted.iter().any(|p| same_technique(p, want)));
        report.events += score.events;
        if label.malicious {
            report.detected.total += 1;
            report.detected.hit += score.detected as u64;
            if !label.techniques.is_empty() {
                report.technique_hit.total += 1;
                report.technique_hit.hit += score.technique_hit as u64;
            }
            let mut tactics: Vec<String> = Vec::new();
            for t in &label.techniques {
                let e = report.per_technique.entry(t.clone()).or_default();
                e.total += 1;
                e.hit += score.predicted.iter().any(|p| same_technique(p, t)) as u64;
                tactics.extend(warden_analyze::attack::tactics_of(t));
            }
            tactics.sort();
            tactics.dedup();
            for tactic in tactics {
                let e = report.per_tactic.entry(tactic).or_default();
                e.total += 1;
                e.hit += score.detected as u64;
            }
        } else {
            report.flagged.total += 1;
            report.flagged.hit += score.detected as u64;
        }
        on_capture(&score, i + 1, labels.len());
        report.captures.push(score);
    }
    Ok(report)
}
