//! Accuracy and calibration from outcomes: what the AI said against what a
//! person (or a label) says is true.

use std::collections::BTreeMap;

use serde::Serialize;
use warden_core::Verdict;

use crate::attack;

/// One judged assessment.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub ai_verdict: Verdict,
    /// The confidence routing used (calibrated when a map exists).
    pub confidence: f64,
    pub truth: Verdict,
    /// Techniques the truth involves (for per-tactic recall).
    pub truth_techniques: Vec<String>,
}

/// Malicious or suspicious: something a person must act on.
pub fn positive(v: Verdict) -> bool {
    matches!(v, Verdict::Malicious | Verdict::Suspicious)
}

/// Whether the AI's call was right, at the granularity routing acts on
/// (attack or not). None for `unknown`, which claims nothing.
pub fn correct(o: &Outcome) -> Option<bool> {
    (o.ai_verdict != Verdict::Unknown).then(|| positive(o.ai_verdict) == positive(o.truth))
}

/// One reliability-diagram bin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
    /// Fewer than `MIN_BIN` samples: reported, not trusted.
    pub sufficient: bool,
}

/// Bins with fewer samples than this are marked insufficient.
pub const MIN_BIN: usize = 10;

/// Expected calibration error over `bins` equal-width bins, and the bins.
pub fn ece(points: &[(f64, bool)], bins: usize) -> (f64, Vec<Bin>) {
    let mut acc = vec![(0usize, 0.0f64, 0usize); bins];
    for (p, ok) in points {
        let i = ((p * bins as f64) as usize).min(bins - 1);
        acc[i].0 += 1;
        acc[i].1 += p;
        acc[i].2 += *ok as usize;
    }
    let n = points.len().max(1) as f64;
    let mut e = 0.0;
    let out = acc
        .iter()
        .enumerate()
        .map(|(i, (count, sum, hits))| {
            let (mean, accuracy) =
                if *count == 0 { (0.0, 0.0) } else { (sum / *count as f64, *hits as f64 / *count as f64) };
            e += (*count as f64 / n) * (mean - accuracy).abs();
            Bin {
                lo: i as f64 / bins as f64,
                hi: (i + 1) as f64 / bins as f64,
                n: *count,
                mean_confidence: mean,
                accuracy,
                sufficient: *count >= MIN_BIN,
            }
        })
        .collect();
    (e, out)
}

/// Mean squared error of confidence against correctness.
pub fn brier(points: &[(f64, bool)]) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    points.iter().map(|(p, ok)| (p - if *ok { 1.0 } else { 0.0 }).powi(2)).sum::<f64>() / points.len() as f64
}

/// Wilson score 95 % interval for k successes in n trials.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959964f64;
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) / n) + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many are truly of this class.
    pub n: usize,
}

fn prf(tp: usize, fp: usize, fn_: usize) -> Prf {
    let precision = if tp + fp == 0 { 0.0 } else { tp as f64 / (tp + fp) as f64 };
    let recall = if tp + fn_ == 0 { 0.0 } else { tp as f64 / (tp + fn_) as f64 };
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    Prf { precision, recall, f1, n: tp + fn_ }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TacticRecall {
    pub recall: f64,
    pub n: usize,
}

/// Every figure the learning loop reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub n: usize,
    /// Attack (malicious or suspicious) against not: the headline figures.
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Of the truly malicious, the share the AI called malicious.
    pub malicious_recall: f64,
    pub per_verdict: BTreeMap<String, Prf>,
    /// confusion[ai verdict][true verdict] = count.
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
    /// The AI's verdict was the final one.
    pub acceptance_rate: f64,
    pub acceptance_ci95: (f64, f64),
    pub override_rate: f64,
    /// The AI said benign and a person said malicious: the costly miss, on its own.
    pub ai_benign_human_malicious: usize,
    pub ece: f64,
    pub brier: f64,
    pub reliability: Vec<Bin>,
    pub per_tactic: BTreeMap<String, TacticRecall>,
}

/// The figures for a set of outcomes.
pub fn report(outcomes: &[Outcome]) -> Report {
    let n = outcomes.len();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut accepted = 0;
    let mut benign_miss = 0;
    for o in outcomes {
        match (positive(o.ai_verdict), positive(o.truth)) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
        *confusion.entry(o.ai_verdict.as_str().into()).or_default().entry(o.truth.as_str().into()).or_insert(0) += 1;
        if o.ai_verdict == o.truth {
            accepted += 1;
        }
        if o.ai_verdict == Verdict::Benign && o.truth == Verdict::Malicious {
            benign_miss += 1;
        }
    }
    let headline = prf(tp, fp, fn_);
    let mut per_verdict = BTreeMap::new();
    for v in Verdict::ALL {
        let tp = outcomes.iter().filter(|o| o.ai_verdict == *v && o.truth == *v).count();
        let fp = outcomes.iter().filter(|o| o.ai_verdict == *v && o.truth != *v).count();
        let fn_ = outcomes.iter().filter(|o| o.ai_verdict != *v && o.truth == *v).count();
        per_verdict.insert(v.as_str().to_owned(), prf(tp, fp, fn_));
    }
    let malicious = outcomes.iter().filter(|o| o.truth == Verdict::Malicious).count();
    let malicious_hit =
        outcomes.iter().filter(|o| o.truth == Verdict::Malicious && o.ai_verdict == Verdict::Malicious).count();
    let points: Vec<(f64, bool)> = outcomes.iter().filter_map(|o| correct(o).map(|c| (o.confidence, c))).collect();
    let (e, bins) = ece(&points, 15);
    let mut tactics: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| positive(o.truth)) {
        let mut seen = std::collections::BTreeSet::new();
        for t in &o.truth_techniques {
            for tactic in attack::tactics_of(t) {
                if seen.insert(tactic.clone()) {
                    let e = tactics.entry(tactic).or_default();
                    e.1 += 1;
                    if positive(o.ai_verdict) {
                        e.0 += 1;
                    }
                }
            }
        }
    }
    Report {
        n,
        precision: headline.precision,
        recall: headline.recall,
        f1: headline.f1,
        malicious_recall: if malicious == 0 { 0.0 } else { malicious_hit as f64 / malicious as f64 },
        per_verdict,
        confusion,
        acceptance_rate: if n == 0 { 0.0 } else { accepted as f64 / n as f64 },
        acceptance_ci95: wilson(accepted, n),
        override_rate: if n == 0 { 0.0 } else { (n - accepted) as f64 / n as f64 },
        ai_benign_human_malicious: benign_miss,
        ece: e,
        brier: brier(&points),
        reliability: bins,
        per_tactic: tactics
            .into_iter()
            .map(|(k, (hit, n))| (k, TacticRecall { recall: hit as f64 / n as f64, n }))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfectly_calibrated_predictor_has_near_zero_ece() {
        // 80 % right at confidence 0.8.
        let pts: Vec<(f64, bool)> = (0..1000).map(|i| (0.8, i % 5 != 0)).collect();
        assert!(ece(&pts, 15).0 < 1e-9);
        let over: Vec<(f64, bool)> = (0..1000).map(|i| (0.9, i % 10 < 7)).collect();
        assert!((ece(&over, 15).0 - 0.2).abs() < 1e-9);
    }

    #[test]
    fn wilson_interval_brackets_the_rate() {
        let (lo, hi) = wilson(80, 100);
        assert!(lo < 0.8 && hi > 0.8 && lo > 0.7 && hi < 0.88, "{lo} {hi}");
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn the_report_counts_what_it_should() {
        let o = |ai, truth, t: &[&str]| Outcome {
            ai_verdict: ai,
            confidence: 0.9,
            truth,
            truth_techniques: t.iter().map(|s| s.to_string()).collect(),
        };
        let r = report(&[
            o(Verdict::Malicious, Verdict::Malicious, &["T1003.001"]),
            o(Verdict::Benign, Verdict::Malicious, &["T1041"]),
            o(Verdict::Benign, Verdict::Benign, &[]),
            o(Verdict::Suspicious, Verdict::Benign, &[]),
        ]);
        assert_eq!(r.n, 4);
        assert_eq!((r.precision, r.recall), (0.5, 0.5));
        assert_eq!(r.ai_benign_human_malicious, 1);
        assert_eq!(r.per_tactic["Credential Access"], TacticRecall { recall: 1.0, n: 1 });
        assert_eq!(r.per_tactic["Exfiltration"], TacticRecall { recall: 0.0, n: 1 });
        assert_eq!(r.confusion["benign"]["malicious"], 1);
        assert_eq!(r.acceptance_rate, 0.5);
    }
}

/// A tactic the AI is systematically missing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlindSpot {
    pub tactic: String,
    /// Truly malicious (or suspicious) alerts of this tactic.
    pub n: usize,
    pub recall: f64,
    /// Of those, the share the AI let go without a human (auto-closed) or
    /// called benign: the exfiltration-campaign pattern.
    pub let_go: f64,
    pub why: String,
}

/// Thresholds for [`blind_spots`].
#[derive(Clone, Debug, PartialEq)]
pub struct BlindSpotPolicy {
    /// Fewer attacks of a tactic than this say nothing yet.
    pub min_n: usize,
    /// Recall below this is a blind spot.
    pub min_recall: f64,
    /// A share of attacks let go above this is a blind spot.
    pub max_let_go: f64,
}

impl Default for BlindSpotPolicy {
    fn default() -> Self {
        BlindSpotPolicy { min_n: 5, min_recall: 0.8, max_let_go: 0.2 }
    }
}

/// Tactics whose attacks the AI misses or lets go. `auto_closed[i]` says
/// whether outcome `i`'s alert was auto-closed.
pub fn blind_spots(outcomes: &[Outcome], auto_closed: &[bool], policy: &BlindSpotPolicy) -> Vec<BlindSpot> {
    let mut per: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate().filter(|(_, o)| positive(o.truth)) {
        let let_go = auto_closed.get(i).copied().unwrap_or(false) || o.ai_verdict == Verdict::Benign;
        let mut seen = std::collections::BTreeSet::new();
        for t in &o.truth_techniques {
            for tactic in attack::tactics_of(t) {
                if seen.insert(tactic.clone()) {
                    let e = per.entry(tactic).or_default();
                    e.0 += 1;
                    e.1 += positive(o.ai_verdict) as usize;
                    e.2 += let_go as usize;
                }
            }
        }
    }
    per.into_iter()
        .filter(|(_, (n, _, _))| *n >= policy.min_n)
        .filter_map(|(tactic, (n, hit, gone))| {
            let recall = hit as f64 / n as f64;
            let let_go = gone as f64 / n as f64;
            let mut why = Vec::new();
            if recall < policy.min_recall {
                why.push(format!("recall {recall:.2} < {:.2}", policy.min_recall));
            }
            if let_go > policy.max_let_go {
                why.push(format!("{:.0} % of its attacks were called benign or auto-closed", let_go * 100.0));
            }
            (!why.is_empty()).then(|| BlindSpot { tactic, n, recall, let_go, why: why.join("; ") })
        })
        .collect()
}

#[cfg(test)]
mod blind_spot_tests {
    use super::*;

    fn o(ai: Verdict, truth: Verdict, t: &str) -> Outcome {
        Outcome { ai_verdict: ai, confidence: 0.9, truth, truth_techniques: vec![t.to_owned()] }
    }

    #[test]
    fn fires_on_a_systematically_missed_tactic_and_not_on_a_balanced_history() {
        let mut history = Vec::new();
        for _ in 0..20 {
            history.push(o(Verdict::Malicious, Verdict::Malicious, "T1486")); // Impact: caught
            history.push(o(Verdict::Benign, Verdict::Benign, "T1486"));
        }
        for i in 0..10 {
            // Exfiltration: the AI keeps calling it benign, humans say malicious.
            let ai = if i < 2 { Verdict::Malicious } else { Verdict::Benign };
            history.push(o(ai, Verdict::Malicious, "T1041"));
        }
        let closed: Vec<bool> = history.iter().map(|x| x.ai_verdict == Verdict::Benign).collect();
        let spots = blind_spots(&history, &closed, &BlindSpotPolicy::default());
        assert_eq!(spots.len(), 1, "{spots:?}");
        assert_eq!(spots[0].tactic, "Exfiltration");
        assert!((spots[0].recall - 0.2).abs() < 1e-9);

        let balanced: Vec<Outcome> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    o(Verdict::Malicious, Verdict::Malicious, "T1041")
                } else {
                    o(Verdict::Malicious, Verdict::Malicious, "T1486")
                }
            })
            .collect();
        let none = vec![false; balanced.len()];
        assert!(blind_spots(&balanced, &none, &BlindSpotPolicy::default()).is_empty());
    }
}
