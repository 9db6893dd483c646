//! A small learned classifier for the local analyzer: logistic regression
//! over hashed tokens of an alert's canonical fields, trained from analysts'
//! decisions. Deterministic (fixed order, no randomness), sparse, and
//! explainable: every prediction can name the fields that pushed it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warden_core::{Alert, Canon};

const DIM: u32 = 1 << 16;

/// A trained model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classifier {
    pub version: String,
    /// Feature index → weight (only non-zero weights are kept).
    pub weights: BTreeMap<u32, f64>,
    pub bias: f64,
    pub trained_on: usize,
}

/// The fields and token kinds features come from.
const SOURCES: &[(Canon, &str)] = &[
    (Canon::EventCode, "code"),
    (Canon::Channel, "chan"),
    (Canon::RuleName, "rule"),
    (Canon::CommandLine, "cmd"),
    (Canon::Image, "img"),
    (Canon::ParentImage, "parent"),
    (Canon::DnsQuery, "dns"),
    (Canon::Url, "url"),
    (Canon::ScriptBlock, "script"),
    (Canon::ServiceName, "svc"),
    (Canon::VendorSeverity, "sev"),
];

fn hash(s: &str) -> u32 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    (h % DIM as u64) as u32
}

/// Features of an alert: (index, the original path it came from).
pub fn features(a: &Alert) -> Vec<(u32, String)> {
    let mut out = vec![(hash(&format!("fmt:{}", a.format)), String::new())];
    for (canon, kind) in SOURCES {
        let Some((path, v)) = a.canonical(*canon) else { continue };
        let text = v.to_string().to_lowercase();
        for tok in text
            .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
            .filter(|t| t.len() >= 2 && t.len() <= 40)
            .take(64)
        {
            out.push((hash(&format!("{kind}:{tok}")), path.to_owned()));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Classifier {
    /// Trains by full-batch gradient descent with L2, for `iterations` passes.
    pub fn train(version: &str, examples: &[(Vec<u32>, bool)], iterations: u32) -> Classifier {
        let (lr, l2) = (0.5, 1e-3);
        let mut w: BTreeMap<u32, f64> = BTreeMap::new();
        let mut b = 0.0;
        let n = examples.len().max(1) as f64;
        for _ in 0..iterations {
            let mut grad: BTreeMap<u32, f64> = BTreeMap::new();
            let mut gb = 0.0;
            for (x, y) in examples {
                let z = b + x.iter().map(|i| w.get(i).copied().unwrap_or(0.0)).sum::<f64>();
                let r = sigmoid(z) - if *y { 1.0 } else { 0.0 };
                for i in x {
                    *grad.entry(*i).or_insert(0.0) += r;
                }
                gb += r;
            }
            for (i, g) in grad {
                let wi = w.entry(i).or_insert(0.0);
                *wi -= lr * (g / n + l2 * *wi);
            }
            b -= lr * gb / n;
        }
        w.retain(|_, v| v.abs() > 1e-6);
        Classifier { version: version.to_owned(), weights: w, bias: b, trained_on: examples.len() }
    }

    /// Probability that the alert is an attack.
    pub fn predict(&self, x: &[u32]) -> f64 {
        sigmoid(self.bias + x.iter().map(|i| self.weights.get(i).copied().unwrap_or(0.0)).sum::<f64>())
    }

    /// The paths whose tokens pushed most towards the prediction's side.
    pub fn reasons(&self, feats: &[(u32, String)], towards_attack: bool, k: usize) -> Vec<String> {
        let mut by_path: BTreeMap<&str, f64> = BTreeMap::new();
        for (i, path) in feats.iter().filter(|(_, p)| !p.is_empty()) {
            *by_path.entry(path).or_insert(0.0) += self.weights.get(i).copied().unwrap_or(0.0);
        }
        let mut v: Vec<(&str, f64)> =
            by_path.into_iter().filter(|(_, w)| if towards_attack { *w > 0.0 } else { *w < 0.0 }).collect();
        v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        v.into_iter().take(k).map(|(p, _)| p.to_owned()).collect()
    }
}

/// F1 for "attack" of predictions against truth.
pub fn f1(pred: &[bool], truth: &[bool]) -> f64 {
    let tp = pred.iter().zip(truth).filter(|(p, t)| **p && **t).count() as f64;
    let fp = pred.iter().zip(truth).filter(|(p, t)| **p && !**t).count() as f64;
    let fn_ = pred.iter().zip(truth).filter(|(p, t)| !**p && **t).count() as f64;
    if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_token_signal_and_an_untrained_model_knows_nothing() {
        let ex: Vec<(Vec<u32>, bool)> = (0..200)
            .map(|i| (vec![hash("dns:evil"), hash(&format!("dns:h{i}"))], true))
            .chain((0..200).map(|i| (vec![hash("dns:good"), hash(&format!("dns:g{i}"))], false)))
            .collect();
        let m = Classifier::train("t", &ex, 200);
        assert!(m.predict(&[hash("dns:evil")]) > 0.8);
        assert!(m.predict(&[hash("dns:good")]) < 0.2);
        let untrained = Classifier::train("t", &ex, 0);
        assert_eq!(untrained.predict(&[hash("dns:evil")]), 0.5);
    }
}
