//! What people do with an incident: decide it (the decision is recorded on
//! each of its alerts, each audited), take or hand it over, merge incidents
//! that tell one story, and split off alerts that do not belong. Every
//! change is audited on the incident and written with its audit entry in
//! one transaction.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;
use warden_core::{Actor, AuditRecord};
use warden_govern::{Identity, Permission};
use warden_store::{IncidentLink, IncidentRow};

use crate::incidents::{IncidentBody, IncidentSummary};
use crate::review::DecisionInput;
use crate::sha2_free::sha256_hex;
use crate::{Engine, EngineError};

/// What deciding an incident did.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentDecision {
    pub incident_id: String,
    pub verdict: String,
    /// Alerts the decision was recorded on.
    pub decided: Vec<String>,
    /// Alerts already decided this way by the same person (left as they were).
    pub unchanged: Vec<String>,
}

/// Incidents a merge may take: open or decided, not already merged.
fn mergeable(r: &IncidentRow) -> Result<(), EngineError> {
    if r.state == "merged" {
        return Err(EngineError::Refused(format!(
            "incident {} was merged; work the incident it was merged into",
            r.id
        )));
    }
    Ok(())
}

/// A reason people give for a change: not blank, at most 2000 bytes.
pub(crate) fn reason_ok(reason: &str) -> Result<(), EngineError> {
    if reason.trim().is_empty() {
        return Err(EngineError::Invalid("say why (a reason is kept in the audit trail)".into()));
    }
    if reason.len() > 2_000 {
        return Err(EngineError::Invalid("the reason is over 2000 bytes".into()));
    }
    Ok(())
}

impl Engine {
    fn incident_row(&self, id: &str) -> Result<IncidentRow, EngineError> {
        self.store.incident(id)?.ok_or_else(|| EngineError::NotFound(format!("no incident {id}")))
    }

    fn summary(&self, id: &str) -> Result<IncidentSummary, EngineError> {
        let row = self.incident_row(id)?;
        let links = self.store.incident_links(id)?;
        Ok(self.summary_of(row, &links))
    }

    /// Records one decision on every alert of an incident and marks the
    /// incident decided. A verdict that contradicts the person's own earlier
    /// verdict on any of its alerts is refused for the whole incident unless
    /// the decision says it supersedes them; nothing is written then.
    pub fn decide_incident(
        &self,
        who: &Identity,
        id: &str,
        input: DecisionInput,
    ) -> Result<IncidentDecision, EngineError> {
        who.authorize(Permission::Review, "decide incidents")?;
        let mut row = self.incident_row(id)?;
        mergeable(&row)?;
        let links = self.store.incident_links(id)?;
        let mut todo = Vec::new();
        let mut unchanged = Vec::new();
        for l in &links {
            let mine = self.store.decisions(&l.alert_id)?;
            let last = mine.iter().rev().find(|d| d["analyst"] == who.user.as_str());
            match last {
                Some(d) if d["verdict"] == input.verdict.as_str() => unchanged.push(l.alert_id.clone()),
                Some(d) if !input.supersedes => {
                    return Err(EngineError::Refused(format!(
                        "you already decided alert {} of this incident as {}; to change it to {}, say that this \
                         decision supersedes it",
                        l.alert_id,
                        d["verdict"].as_str().unwrap_or("?"),
                        input.verdict.as_str()
                    )));
                }
                _ => todo.push(l.alert_id.clone()),
            }
        }
        let mut decided = Vec::with_capacity(todo.len());
        for alert_id in todo {
            self.decide(who, &alert_id, input.clone())?;
            decided.push(alert_id);
        }
        let mut body: IncidentBody = serde_json::from_value(row.body.clone()).unwrap_or_default();
        body.decision = Some(serde_json::json!({
            "analyst": who.user,
            "verdict": input.verdict.as_str(),
            "decided_at": Timestamp::now(),
            "alerts": links.len(),
            "comment": input.comment,
        }));
        row.state = "decided".into();
        row.verdict = input.verdict.as_str().into();
        row.updated_at = Timestamp::now();
        row.body = serde_json::to_value(&body).unwrap_or_default();
        let audit = AuditRecord::new(
            Actor::User(who.user.clone()),
            "incident.decided",
            id,
            serde_json::json!({
                "verdict": input.verdict.as_str(),
                "decided": decided,
                "unchanged": unchanged.len(),
                "supersedes": input.supersedes,
            }),
        );
        self.store.save_incidents(&[row], &[], vec![audit], self.policy_version())?;
        Ok(IncidentDecision { incident_id: id.to_owned(), verdict: input.verdict.as_str().into(), decided, unchanged })
    }

    /// Takes an incident (`to` = yourself), hands it to another person who
    /// may work the queue, or releases it (`None`).
    pub fn assign_incident(&self, who: &Identity, id: &str, to: Option<&str>) -> Result<IncidentSummary, EngineError> {
        who.authorize(Permission::Review, "assign incidents")?;
        let mut row = self.incident_row(id)?;
        mergeable(&row)?;
        if let Some(name) = to {
            let target =
                self.identity_of(name).map_err(|_| EngineError::Invalid(format!("no active user {name:?}")))?;
            if !target.can(Permission::Review) {
                return Err(EngineError::Invalid(format!("{name} may not work the queue")));
            }
        }
        let before = row.assignee.clone();
        row.assignee = to.map(str::to_owned);
        row.updated_at = Timestamp::now();
        let audit = AuditRecord::new(
            Actor::User(who.user.clone()),
            "incident.assigned",
            id,
            serde_json::json!({"from": before, "to": row.assignee}),
        );
        self.store.save_incidents(&[row], &[], vec![audit], self.policy_version())?;
        self.summary(id)
    }

    /// Merges incidents into `into`: their alerts move to it, and each is
    /// left as `merged`, pointing at it.
    pub fn merge_incidents(
        &self,
        who: &Identity,
        into: &str,
        from: &[String],
        reason: &str,
    ) -> Result<IncidentSummary, EngineError> {
        who.authorize(Permission::Review, "merge incidents")?;
        reason_ok(reason)?;
        let from: BTreeSet<&str> = from.iter().map(String::as_str).filter(|f| *f != into).collect();
        if from.is_empty() {
            return Err(EngineError::Invalid("name at least one other incident to merge into this one".into()));
        }
        let target = self.incident_row(into)?;
        mergeable(&target)?;
        let mut alert_ids: Vec<String> = self.store.incident_links(into)?.into_iter().map(|l| l.alert_id).collect();
        let mut rows = Vec::new();
        let mut moved = Vec::new();
        let mut audit = Vec::new();
        for f in &from {
            let mut r = self.incident_row(f)?;
            mergeable(&r)?;
            let ids: Vec<String> = self.store.incident_links(f)?.into_iter().map(|l| l.alert_id).collect();
            let mut body: IncidentBody = serde_json::from_value(r.body.clone()).unwrap_or_default();
            body.merged_into = Some(into.to_owned());
            r.state = "merged".into();
            r.updated_at = Timestamp::now();
            r.body = serde_json::to_value(&body).unwrap_or_default();
            audit.push(AuditRecord::new(
                Actor::User(who.user.clone()),
                "incident.merged_into",
                *f,
                serde_json::json!({"into": into, "alerts": ids.len(), "reason": reason}),
            ));
            moved.extend(ids.iter().cloned());
            alert_ids.extend(ids);
            rows.push(r);
        }
        let (row, links) = self.rebuild(&target, &alert_ids)?;
        audit.push(AuditRecord::new(
            Actor::User(who.user.clone()),
            "incident.merged",
            into,
            serde_json::json!({"from": from, "alerts_moved": moved, "alert_count": alert_ids.len(), "reason": reason}),
        ));
        rows.push(row);
        self.store.save_incidents(&rows, &links, audit, self.policy_version())?;
        self.summary(into)
    }

    /// Splits alerts off an incident into a new one (each keeps the rest of
    /// its own). Returns (what is left, the new incident).
    pub fn split_incident(
        &self,
        who: &Identity,
        id: &str,
        alert_ids: &[String],
        reason: &str,
    ) -> Result<(IncidentSummary, IncidentSummary), EngineError> {
        who.authorize(Permission::Review, "split incidents")?;
        reason_ok(reason)?;
        let base = self.incident_row(id)?;
        mergeable(&base)?;
        let links: Vec<IncidentLink> = self.store.incident_links(id)?;
        let members: BTreeSet<&str> = links.iter().map(|l| l.alert_id.as_str()).collect();
        let off: BTreeSet<&str> = alert_ids.iter().map(String::as_str).collect();
        if off.is_empty() {
            return Err(EngineError::Invalid("name the alerts to split off".into()));
        }
        if let Some(stranger) = off.iter().find(|a| !members.contains(**a)) {
            return Err(EngineError::Invalid(format!("alert {stranger} is not in incident {id}")));
        }
        if off.len() == members.len() {
            return Err(EngineError::Invalid("an incident cannot be split into itself and nothing: leave some".into()));
        }
        let keep: Vec<String> =
            links.iter().filter(|l| !off.contains(l.alert_id.as_str())).map(|l| l.alert_id.clone()).collect();
        let leave: Vec<String> =
            links.iter().filter(|l| off.contains(l.alert_id.as_str())).map(|l| l.alert_id.clone()).collect();
        let now = Timestamp::now();
        let new_id = format!(
            "inc-{}",
            &sha256_hex(&[id.as_bytes(), leave.join(",").as_bytes(), now.to_string().as_bytes()])[..16]
        );
        let fresh = IncidentRow {
            id: new_id.clone(),
            state: "open".into(),
            created_at: now,
            assignee: None,
            body: serde_json::to_value(IncidentBody::default()).unwrap_or_default(),
            ..base.clone()
        };
        let (left, mut kept_links) = self.rebuild(&base, &keep)?;
        let (new, new_links) = self.rebuild(&fresh, &leave)?;
        kept_links.extend(new_links);
        let actor = || Actor::User(who.user.clone());
        let audit = vec![
            AuditRecord::new(
                actor(),
                "incident.split",
                id,
                serde_json::json!({"into": new_id, "alerts": leave, "left": keep.len(), "reason": reason}),
            ),
            AuditRecord::new(
                actor(),
                "incident.created",
                new_id.as_str(),
                serde_json::json!({"split_from": id, "alerts": leave, "reason": reason}),
            ),
        ];
        self.store.save_incidents(&[left, new], &kept_links, audit, self.policy_version())?;
        Ok((self.summary(id)?, self.summary(&new_id)?))
    }
}
