//! Confidence calibration: a monotone map from an analyzer's stated
//! confidence to how often it is right, fitted on analyst outcomes —
//! isotonic regression (pool adjacent violators), or Platt scaling when the
//! data is too thin for isotonic steps to mean anything.

use serde::{Deserialize, Serialize};

/// Fewer outcomes than this and the fit is Platt scaling.
pub const ISOTONIC_MIN: usize = 200;

/// A fitted map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationMap {
    /// `isotonic` or `platt`.
    pub method: String,
    /// Outcomes it was fitted on.
    pub n: usize,
    /// Isotonic: (stated, calibrated) knots, increasing in both.
    pub knots: Vec<(f64, f64)>,
    /// Platt: calibrated = σ(a · logit(stated) + b).
    pub platt: Option<(f64, f64)>,
}

impl CalibrationMap {
    /// Fits on (stated confidence, was right) pairs.
    pub fn fit(points: &[(f64, bool)]) -> CalibrationMap {
        if points.len() >= ISOTONIC_MIN { fit_isotonic(points) } else { fit_platt(points) }
    }

    /// The calibrated confidence: monotone non-decreasing in `p`, within [0, 1].
    pub fn apply(&self, p: f64) -> f64 {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        if let Some((a, b)) = self.platt {
            return sigmoid(a * logit(p) + b);
        }
        match self.knots.as_slice() {
            [] => p,
            [only] => only.1,
            k => {
                if p <= k[0].0 {
                    return k[0].1;
                }
                if p >= k[k.len() - 1].0 {
                    return k[k.len() - 1].1;
                }
                let i = k.partition_point(|(x, _)| *x <= p);
                let ((x0, y0), (x1, y1)) = (k[i - 1], k[i]);
                if x1 == x0 { y1 } else { y0 + (y1 - y0) * (p - x0) / (x1 - x0) }
            }
        }
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Pool adjacent violators over points sorted by stated confidence; each
/// pooled block becomes a knot at its mean stated confidence.
fn fit_isotonic(points: &[(f64, bool)]) -> CalibrationMap {
    let mut sorted: Vec<(f64, f64)> =
        points.iter().map(|(p, ok)| (p.clamp(0.0, 1.0), if *ok { 1.0 } else { 0.0 })).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // (sum of x, sum of y, count) per block.
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    for (x, y) in sorted {
        blocks.push((x, y, 1.0));
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (a, b) = (blocks[n - 2], blocks[n - 1]);
            if a.1 / a.2 <= b.1 / b.2 {
                break;
            }
            blocks.truncate(n - 2);
            blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
        }
    }
    let knots = blocks.iter().map(|(sx, sy, n)| (sx / n, sy / n)).collect();
    CalibrationMap { method: "isotonic".into(), n: points.len(), knots, platt: None }
}

/// Logistic regression of outcome on logit(stated), by Newton's method with
/// a little ridge so tiny or separable data still gives finite weights.
fn fit_platt(points: &[(f64, bool)]) -> CalibrationMap {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    let lambda = 1e-3;
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (lambda * (a - 1.0), lambda * b, lambda, 0.0, lambda);
        for (p, ok) in points {
            let x = logit(*p);
            let q = sigmoid(a * x + b);
            let r = q - if *ok { 1.0 } else { 0.0 };
            let w = (q * (1.0 - q)).max(1e-9);
            ga += r * x;
            gb += r;
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    // A negative slope would make the map decreasing; calibration must keep order.
    let a = a.max(0.0);
    CalibrationMap { method: "platt".into(), n: points.len(), knots: Vec::new(), platt: Some((a, b)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ece;

    /// A small deterministic generator (xorshift), so the test is repeatable.
    fn rng(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn an_overconfident_predictor_is_calibrated_on_a_separate_split() {
        let mut r = rng(42);
        // Stated 0.9, right 70 % of the time.
        let data: Vec<(f64, bool)> = (0..4000).map(|_| (0.9, r() < 0.7)).collect();
        let (train, test) = data.split_at(2000);
        let before = ece(test, 15).0;
        assert!((before - 0.2).abs() < 0.03, "ECE before {before}");
        let map = CalibrationMap::fit(train);
        assert_eq!(map.method, "isotonic");
        let after: Vec<(f64, bool)> = test.iter().map(|(p, ok)| (map.apply(*p), *ok)).collect();
        let after = ece(&after, 15).0;
        assert!(after < 0.05, "ECE after {after}");
    }

    #[test]
    fn maps_are_monotone_within_the_unit_interval() {
        let mut r = rng(7);
        let data: Vec<(f64, bool)> = (0..1000)
            .map(|_| {
                let p = r();
                (p, r() < p * p)
            })
            .collect();
        for map in [CalibrationMap::fit(&data), CalibrationMap::fit(&data[..100])] {
            let mut last = -1.0;
            for i in 0..=1000 {
                let y = map.apply(i as f64 / 1000.0);
                assert!((0.0..=1.0).contains(&y), "{} out of range: {y}", map.method);
                assert!(y >= last - 1e-12, "{} not monotone at {i}", map.method);
                last = y;
            }
        }
        assert_eq!(CalibrationMap::fit(&data[..100]).method, "platt");
    }
}
