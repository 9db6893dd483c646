//! Warden's verdicts back to the SIEM, as OCSF findings.
//!
//! The audit log is the outbox: every assessment, analyst decision and
//! incident change is already an entry there, in order, durably, so the
//! findings are read from it rather than written a second time. An
//! assessment (`govern.routed`) and an analyst's decision (`review.decided`)
//! become Detection Findings (class 2004); an incident's creation, growth,
//! merge, split and decision become Incident Findings (class 2005). Each
//! finding's `metadata.uid` is `warden-audit-<seq>`, so a receiver can drop
//! a repeat (delivery is at least once: a sink that accepted a batch whose
//! cursor was not yet saved sees it again). Telemetry kept as context is
//! not sent: it is not a verdict.

use std::time::Duration;

use serde_json::{Value, json};
use warden_core::AuditEntry;

use crate::config::OutboundConfig;
use crate::{Engine, EngineError};

const OCSF_VERSION: &str = "1.3.0";

fn severity_id(s: &str) -> u8 {
    match s {
        "info" => 1,
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 0,
    }
}

/// OCSF `verdict_id`: Warden's verdicts as the nearest OCSF verdicts.
fn verdict_id(v: &str) -> (u8, &'static str) {
    match v {
        "malicious" => (2, "True Positive"),
        "suspicious" => (4, "Suspicious"),
        "benign" => (5, "Benign"),
        "unknown" => (7, "Insufficient Data"),
        _ => (99, "Other"),
    }
}

fn base(entry: &AuditEntry, class: u32, name: &str, activity: (u8, &str)) -> Value {
    json!({
        "class_uid": class,
        "class_name": name,
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity.0,
        "activity_name": activity.1,
        "type_uid": class * 100 + u32::from(activity.0),
        "time": entry.at.as_millisecond(),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": format!("warden-audit-{}", entry.seq),
            "product": {"name": "Warden", "vendor_name": "Warden", "version": env!("CARGO_PKG_VERSION")},
            "logged_time": entry.at.as_millisecond(),
        },
        "unmapped": {"warden": {"audit_seq": entry.seq, "audit_hash": entry.hash, "event": entry.record.action,
                                "actor": serde_json::to_value(&entry.record.actor).unwrap_or_default()}},
    })
}

impl Engine {
    /// The OCSF findings of the audit entries from `from` (1-based,
    /// inclusive), reading at most `limit` entries: the findings, and the
    /// sequence number to read from next.
    pub fn ocsf_findings(&self, from: u64, limit: usize) -> Result<(Vec<Value>, u64), EngineError> {
        let from = from.max(1);
        let entries = self.store().audit_entries(from, limit.max(1))?;
        let next = entries.last().map_or(from, |e| e.seq + 1);
        let mut out = Vec::new();
        for e in &entries {
            if let Some(f) = self.finding(e)? {
                out.push(f);
            }
        }
        Ok((out, next))
    }

    fn finding(&self, e: &AuditEntry) -> Result<Option<Value>, EngineError> {
        let p = &e.record.payload;
        let object = e.record.object.as_str();
        Ok(match e.record.action.as_str() {
            "govern.routed" => {
                let route = p["route"].as_str().unwrap_or_default();
                if route == warden_core::RouteKind::Context.as_str() {
                    return Ok(None);
                }
                let Some(aid) = warden_core::AlertId::parse(object) else { return Ok(None) };
                let Some(rec) = self.store().alert(&aid)? else { return Ok(None) };
                let Some(a) = rec.assessment.as_ref() else { return Ok(None) };
                let mut f = base(e, 2004, "Detection Finding", (1, "Create"));
                let (vid, vname) = verdict_id(a.verdict.as_str());
                let title = rec
                    .alert
                    .canonical_text(warden_core::Canon::RuleName)
                    .unwrap_or_else(|| a.summary.chars().take(200).collect());
                let closed = route == warden_core::RouteKind::AutoClosed.as_str();
                f["severity_id"] = severity_id(a.severity.as_str()).into();
                f["severity"] = a.severity.as_str().into();
                f["verdict_id"] = vid.into();
                f["verdict"] = vname.into();
                f["status_id"] = if closed { 4 } else { 1 }.into();
                f["status"] = if closed { "Resolved" } else { "New" }.into();
                f["confidence_score"] = ((a.confidence.get() * 100.0).round() as u64).into();
                f["message"] = a.summary.as_str().into();
                f["finding_info"] = json!({
                    "uid": object,
                    "title": title,
                    "types": [route],
                    "analytic": {"name": a.analyzer.name, "type_id": 99, "type": "Other", "version": a.analyzer.version},
                    "attacks": a.techniques.iter().map(|t| json!({"technique": {"uid": t.to_string()}})).collect::<Vec<_>>(),
                    "src_url": Value::Null,
                });
                if let Some(host) = rec.alert.canonical_text(warden_core::Canon::Host) {
                    f["device"] = json!({"hostname": host, "type_id": 0});
                }
                f["unmapped"]["warden"]["route"] = route.into();
                f["unmapped"]["warden"]["source_format"] = rec.alert.format.as_str().into();
                Some(f)
            }
            "review.decided" => {
                let mut f = base(e, 2004, "Detection Finding", (2, "Update"));
                let verdict = p["verdict"].as_str().unwrap_or_default();
                let (vid, vname) = verdict_id(verdict);
                f["verdict_id"] = vid.into();
                f["verdict"] = vname.into();
                f["status_id"] = 4.into();
                f["status"] = "Resolved".into();
                f["finding_info"] = json!({"uid": object, "title": format!("Analyst decision: {verdict}")});
                f["unmapped"]["warden"]["ai_verdict"] = p["ai_verdict"].clone();
                f["unmapped"]["warden"]["accepted"] = p["accepted"].clone();
                f["unmapped"]["warden"]["reason_code"] = p["reason_code"].clone();
                Some(f)
            }
            "incident.created" | "incident.grouped" | "incident.decided" | "incident.merged" | "incident.split" => {
                let Some(row) = self.store().incident(object)? else { return Ok(None) };
                let activity = match e.record.action.as_str() {
                    "incident.created" => (1, "Create"),
                    "incident.decided" => (3, "Close"),
                    _ => (2, "Update"),
                };
                let mut f = base(e, 2005, "Incident Finding", activity);
                let verdict = p["verdict"].as_str().unwrap_or(row.verdict.as_str());
                let (vid, vname) = verdict_id(verdict);
                let body: Value = row.body.clone();
                let techniques = body["techniques"].as_array().cloned().unwrap_or_default();
                let decided = e.record.action == "incident.decided" || row.state == "decided";
                f["severity_id"] = severity_id(&row.severity).into();
                f["severity"] = row.severity.as_str().into();
                f["verdict_id"] = vid.into();
                f["verdict"] = vname.into();
                f["status_id"] = if decided { 4 } else { 1 }.into();
                f["status"] = if decided { "Resolved" } else { "New" }.into();
                f["finding_info_list"] = json!([{
                    "uid": row.id,
                    "title": row.title,
                    "first_seen_time": row.first_seen.as_millisecond(),
                    "last_seen_time": row.last_seen.as_millisecond(),
                    "attacks": techniques.iter().map(|t| json!({"technique": {"uid": t}})).collect::<Vec<_>>(),
                }]);
                f["impact_id"] = 0.into();
                f["priority_id"] = severity_id(&row.severity).min(4).into();
                if let Some(a) = &row.assignee {
                    f["assignee"] = json!({"name": a});
                }
                f["unmapped"]["warden"]["alert_count"] = row.alert_count.into();
                f["unmapped"]["warden"]["tactics"] = body["tactics"].clone();
                Some(f)
            }
            _ => None,
        })
    }
}

/// Sends findings to the configured sinks: appended to `outbound.file` as
/// NDJSON (and flushed to disk), POSTed to `outbound.url` as one NDJSON body
/// (bearer token from `token_env`, retried on timeouts, 429 and 5xx). Ok
/// only when every configured sink has them.
pub fn deliver(cfg: &OutboundConfig, findings: &[Value]) -> Result<(), String> {
    if findings.is_empty() {
        return Ok(());
    }
    let mut body = Vec::new();
    for f in findings {
        body.extend_from_slice(f.to_string().as_bytes());
        body.push(b'\n');
    }
    if let Some(path) = &cfg.file {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("outbound file {path}: {e}"))?;
        file.write_all(&body).and_then(|()| file.sync_data()).map_err(|e| format!("outbound file {path}: {e}"))?;
    }
    if let Some(url) = &cfg.url {
        let token = match &cfg.token_env {
            Some(var) => {
                Some(std::env::var(var).map_err(|_| format!("outbound: the token variable {var} is not set"))?)
            }
            None => None,
        };
        let agent = crate::actions::http_agent(Duration::from_secs(cfg.timeout_secs));
        use warden_analyze::retry::{Attempt, http_failure};
        let policy = crate::actions::retry_policy(cfg.retries);
        let tried = policy.run(|_| {
            let mut req = agent.post(url).header("Content-Type", "application/x-ndjson");
            if let Some(t) = &token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            }
            match req.send(&body[..]) {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Attempt::Done(());
                    }
                    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok());
                    http_failure(status, retry_after)
                }
                Err(e) => Attempt::Retry { why: e.to_string(), after: None },
            }
        });
        tried.result.map_err(|e| format!("outbound {url}: {e}"))?;
    }
    Ok(())
}
