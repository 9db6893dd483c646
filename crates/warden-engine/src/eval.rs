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
