//! Impact and adoption: whether the AI helps, from the stored records —
//! time to triage, acceptance and overrides over time, analysts' ratings,
//! documentation completeness — each compared before AI assistance (alerts
//! handled in `shadow` workflows) and with it; and the weekly report a SOC
//! manager can forward.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use warden_core::Grounding;

use crate::review::Decision;
use crate::{Engine, EngineError};

/// p50 / p90 of a set of durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles::default();
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    Percentiles { n: v.len(), p50: at(0.5), p90: at(0.9) }
}

/// The figures for one group of decided alerts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    pub decided: usize,
    /// Seconds from arrival to the human decision, per severity.
    pub time_to_triage: BTreeMap<String, Percentiles>,
    /// Seconds from arrival to resolution (the decision, or the last executed
    /// response action when there was one), per severity.
    pub time_to_resolve: BTreeMap<String, Percentiles>,
    pub acceptance_rate: f64,
    pub override_rate: f64,
    /// Mean usefulness rating (1–5) where analysts gave one.
    pub mean_rating: Option<f64>,
    /// Share of decided alerts with a summary and fully verified evidence.
    pub documentation_completeness: f64,
}

/// Acceptance and overrides for one ISO week.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Week {
    pub week: String,
    pub decided: usize,
    pub acceptance_rate: f64,
    pub override_rate: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Impact {
    pub generated_at: String,
    pub period_from: String,
    pub period_to: String,
    /// Alerts handled in shadow workflows: the baseline without AI assistance.
    pub before_ai: Figures,
    pub with_ai: Figures,
    pub weeks: Vec<Week>,
    pub alerts_total: u64,
    pub routes: BTreeMap<String, u64>,
}

/// (decision, severity, seconds to triage, seconds to resolve, documented).
type Row = (Decision, String, f64, f64, bool);

fn figures(rows: &[Row]) -> Figures {
    let n = rows.len();
    if n == 0 {
        return Figures::default();
    }
    let mut by_sev: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut resolve: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (_, sev, secs, done, _) in rows {
        by_sev.entry(sev.clone()).or_default().push(*secs);
        resolve.entry(sev.clone()).or_default().push(*done);
    }
    let accepted = rows.iter().filter(|(d, ..)| d.accepted).count();
    let ratings: Vec<f64> = rows.iter().filter_map(|(d, ..)| d.rating.map(f64::from)).collect();
    Figures {
        decided: n,
        time_to_triage: by_sev.into_iter().map(|(k, v)| (k, percentiles(v))).collect(),
        time_to_resolve: resolve.into_iter().map(|(k, v)| (k, percentiles(v))).collect(),
        acceptance_rate: accepted as f64 / n as f64,
        override_rate: (n - accepted) as f64 / n as f64,
        mean_rating: (!ratings.is_empty()).then(|| ratings.iter().sum::<f64>() / ratings.len() as f64),
        documentation_completeness: rows.iter().filter(|(.., documented)| *documented).count() as f64 / n as f64,
    }
}

impl Engine {
    /// Impact figures over decisions made since `since` (all when None).
    pub fn impact(&self, since: Option<Timestamp>) -> Result<Impact, EngineError> {
        let from = since.unwrap_or(Timestamp::UNIX_EPOCH);
        let mut before = Vec::new();
        let mut with = Vec::new();
        let mut weeks: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        // When each alert's last response action ran.
        let mut executed: BTreeMap<String, Timestamp> = BTreeMap::new();
        for body in self.store().actions(Some("executed"), 100_000)? {
            let (Some(alert), Some(at)) =
                (body["alert_id"].as_str(), body["execution"]["at"].as_str().and_then(|t| t.parse::<Timestamp>().ok()))
            else {
                continue;
            };
            let e = executed.entry(alert.to_owned()).or_insert(at);
            *e = (*e).max(at);
        }
        for f in self.store().feedback(None)? {
            if f.decided_at < from {
                continue;
            }
            let Ok(d) = serde_json::from_value::<Decision>(f.decision) else { continue };
            let secs = f.decided_at.duration_since(f.received_at).as_secs_f64().max(0.0);
            let documented = !f.assessment.summary.trim().is_empty()
                && f.validation.as_ref().is_some_and(|v| v.grounding == Grounding::Full);
            let date = f.decided_at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let iso = date.iso_week_date();
            let week = format!("{}-W{:02}", iso.year(), iso.week());
            let shadow = f.reasons.iter().any(|r| r == "shadow");
            if !shadow {
                let e = weeks.entry(week).or_default();
                e.0 += 1;
                e.1 += d.accepted as usize;
            }
            let resolved = executed.get(&f.alert_id).map_or(f.decided_at, |at| (*at).max(f.decided_at));
            let done = resolved.duration_since(f.received_at).as_secs_f64().max(0.0);
            let row = (d, f.assessment.severity.as_str().to_owned(), secs, done, documented);
            if shadow { before.push(row) } else { with.push(row) }
        }
        let counts = self.store().counts()?;
        Ok(Impact {
            generated_at: Timestamp::now().to_string(),
            period_from: from.to_string(),
            period_to: Timestamp::now().to_string(),
            before_ai: figures(&before),
            with_ai: figures(&with),
            weeks: weeks
                .into_iter()
                .map(|(week, (n, acc))| Week {
                    week,
                    decided: n,
                    acceptance_rate: acc as f64 / n as f64,
                    override_rate: (n - acc) as f64 / n as f64,
                })
                .collect(),
            alerts_total: counts.alerts,
            routes: counts.routes,
        })
    }

    /// The weekly report: impact over the last seven days, quality figures,
    /// blind spots and analyst patterns, as Markdown and as JSON.
    pub fn weekly_report(&self) -> Result<(String, serde_json::Value), EngineError> {
        let since = Timestamp::now() - jiff::SignedDuration::from_hours(24 * 7);
        let impact = self.impact(Some(since))?;
        let quality = self.quality(None)?;
        let spots = self.blind_spots(None)?;
        let analysts = self.analyst_patterns()?;
        let pct = |x: f64| format!("{:.0} %", x * 100.0);
        let mut md = String::new();
        md.push_str(&format!(
            "# Warden weekly report\n\nPeriod: {} to {}\n\n",
            &impact.period_from[..10],
            &impact.period_to[..10]
        ));
        md.push_str(&format!(
            "## Volume\n\n{} alerts stored in total; routes: {}.\n\n",
            impact.alerts_total,
            impact.routes.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        ));
        md.push_str("## Before and with AI assistance\n\n| | before AI (shadow) | with AI |\n|---|---|---|\n");
        let (b, w) = (&impact.before_ai, &impact.with_ai);
        md.push_str(&format!("| alerts decided | {} | {} |\n", b.decided, w.decided));
        md.push_str(&format!(
            "| acceptance of the AI's verdict | {} | {} |\n",
            pct(b.acceptance_rate),
            pct(w.acceptance_rate)
        ));
        md.push_str(&format!(
            "| documentation completeness | {} | {} |\n",
            pct(b.documentation_completeness),
            pct(w.documentation_completeness)
        ));
        let rating = |r: Option<f64>| r.map(|x| format!("{x:.1} / 5")).unwrap_or_else(|| "—".into());
        md.push_str(&format!("| usefulness rating | {} | {} |\n", rating(b.mean_rating), rating(w.mean_rating)));
        for (label, bm, wm) in [
            ("time to triage", &b.time_to_triage, &w.time_to_triage),
            ("time to resolve", &b.time_to_resolve, &w.time_to_resolve),
        ] {
            for (sev, p) in wm {
                let before =
                    bm.get(sev).map(|p| format!("{:.0} s / {:.0} s", p.p50, p.p90)).unwrap_or_else(|| "—".into());
                md.push_str(&format!("| {label}, {sev} (p50 / p90) | {before} | {:.0} s / {:.0} s |\n", p.p50, p.p90));
            }
        }
        md.push_str(&format!(
            "\n## Accuracy (all decisions)\n\n{} decisions: precision {:.2}, recall {:.2}, F1 {:.2}; recall on malicious {:.2}; \
             calibration error {:.3}; the AI called {} malicious alert(s) benign.\n\n",
            quality.n, quality.precision, quality.recall, quality.f1, quality.malicious_recall, quality.ece, quality.ai_benign_human_malicious
        ));
        md.push_str("## Blind spots\n\n");
        if spots.is_empty() {
            md.push_str("None detected.\n\n");
        }
        for s in &spots {
            md.push_str(&format!("- **{}**: {} ({} attacks)\n", s.tactic, s.why, s.n));
        }
        let flagged: Vec<_> = analysts.iter().filter(|a| !a.flags.is_empty()).collect();
        if !flagged.is_empty() {
            md.push_str("\n## For the manager's attention\n\n");
            for a in flagged {
                md.push_str(&format!("- {}: {}\n", a.analyst, a.flags.join("; ")));
            }
        }
        if !impact.weeks.is_empty() {
            md.push_str(
                "\n## Acceptance over time\n\n| week | decided | acceptance | overrides |\n|---|---|---|---|\n",
            );
            for wk in &impact.weeks {
                md.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    wk.week,
                    wk.decided,
                    pct(wk.acceptance_rate),
                    pct(wk.override_rate)
                ));
            }
        }
        let json =
            serde_json::json!({"impact": impact, "quality": quality, "blind_spots": spots, "analysts": analysts});
        Ok((md, json))
    }
}
