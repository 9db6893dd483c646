//! Incidents: queued alerts grouped into one story by the entities they
//! share (host, user, source address) within a time
//! window, and by ATT&CK progression (a later kill-chain step on the same
//! entities joins within a longer window). Correlation runs inside the
//! batch's commit, so an alert and its incident land together.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::sha2_free::sha256_hex;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use warden_core::{Alert, Assessment, AuditRecord, Canon, Fields, RouteKind, Severity, Verdict};
use warden_govern::{Identity, Permission};
use warden_store::{IncidentLink, IncidentQuery, IncidentRow, IncidentSort, Triaged};

use crate::config::IncidentsConfig;
use crate::{Engine, EngineError, page_limit, service, severity_filter, unknown};

/// Entity kinds an alert may join an incident by. The others are listed on
/// the incident but never join: destination addresses because servers (a
/// DNS resolver, a domain controller) are shared by everyone; file hashes
/// because the same system binary has the same hash on every host of a
/// release; process GUIDs because they are unique to a host, which joins
/// already.
const JOINING: &[&str] = &["host", "user", "src"];

/// The ATT&CK tactics in kill-chain order, for the incident page's strip.
pub const KILL_CHAIN: &[&str] = warden_analyze::attack::TACTICS;

/// Entity kinds a filter may name.
const KINDS: &[&str] = &["host", "user", "src", "dst", "hash", "process"];

/// Accounts every Windows host has: naming one says nothing about a story.
const GENERIC_USERS: &[&str] = &[
    "system",
    "local service",
    "network service",
    "anonymous logon",
    "nt authority\\system",
    // The well-known SIDs of SYSTEM, LOCAL SERVICE and NETWORK SERVICE, as Sysmon and 4688 write them.
    "s-1-5-18",
    "s-1-5-19",
    "s-1-5-20",
    "-",
    "n/a",
    "null",
    "unknown",
];

/// The entities an alert names, as `kind:value` keys (values lower-cased).
pub(crate) fn entities(alert: &Alert) -> Vec<String> {
    let mut out = BTreeSet::new();
    let text = |c: Canon| alert.canonical_text(c).map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    if let Some(h) = text(Canon::Host).filter(|h| !matches!(h.as_str(), "-" | "localhost")) {
        out.insert(format!("host:{h}"));
    }
    for c in [Canon::User, Canon::TargetUser] {
        if let Some(u) = text(c) {
            // `CORP\ana` and `ana@corp` are the account `ana`.
            let bare = u.rsplit('\\').next().unwrap_or(&u).split('@').next().unwrap_or(&u).to_owned();
            let generic = GENERIC_USERS.contains(&u.as_str())
                || GENERIC_USERS.contains(&bare.as_str())
                || bare.ends_with('$')
                || bare.starts_with("dwm-")
                || bare.starts_with("umfd-");
            if !generic && !bare.is_empty() {
                out.insert(format!("user:{bare}"));
            }
        }
    }
    let unroutable = |ip: &str| matches!(ip, "-" | "::1" | "127.0.0.1" | "0.0.0.0" | "::" | "localhost");
    if let Some(ip) = text(Canon::SourceIp).filter(|ip| !unroutable(ip)) {
        out.insert(format!("src:{ip}"));
    }
    if let Some(ip) = text(Canon::DestinationIp).filter(|ip| !unroutable(ip)) {
        out.insert(format!("dst:{ip}"));
    }
    for (path, value) in alert.iter() {
        let leaf = path.rsplit('.').next().unwrap_or(path);
        let leaf = leaf.split('[').next().unwrap_or(leaf).to_ascii_lowercase();
        if !matches!(
            leaf.as_str(),
            "processguid" | "parentprocessguid" | "entity_id" | "sha256" | "sha1" | "md5" | "hashes"
        ) {
            continue;
        }
        let v = value.to_string();
        match leaf.as_str() {
            "processguid" | "parentprocessguid" | "entity_id" if v.len() >= 8 => {
                out.insert(format!("process:{}", v.trim_matches(|c| c == '{' || c == '}').to_lowercase()));
            }
            "sha256" | "sha1" | "md5" if v.len() >= 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                out.insert(format!("hash:{}", v.to_lowercase()));
            }
            // Sysmon writes `SHA256=…,MD5=…`.
            "hashes" => {
                for part in v.split(',') {
                    if let Some((_, h)) = part.split_once('=')
                        && h.len() >= 32
                        && h.bytes().all(|b| b.is_ascii_hexdigit())
                    {
                        out.insert(format!("hash:{}", h.to_lowercase()));
                    }
                }
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// An entity key's kind and value (`host:ws01`), or why it is not one.
fn entity_parts(key: &str) -> Result<(&str, &str), EngineError> {
    key.split_once(':')
        .filter(|(k, v)| !v.is_empty() && KINDS.contains(k))
        .ok_or_else(|| unknown("entity", key, "host:NAME, user:NAME, src:IP, dst:IP, hash:HEX, process:GUID"))
}

fn joins(key: &str) -> bool {
    key.split_once(':').is_some_and(|(k, _)| JOINING.contains(&k))
}

/// What the incident pages say of one alert: the first line of its assessment.
fn alert_title(summary: &str) -> String {
    let line = summary.lines().next().unwrap_or("");
    let line = line.split(" [detections:").next().unwrap_or(line).trim().trim_end_matches('.');
    if line.chars().count() <= 140 {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(139).collect::<String>())
    }
}

/// The engine's part of an incident row: what it is about.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentBody {
    /// Entity kind → values, most alerts first (at most 20 a kind).
    pub entities: BTreeMap<String, Vec<String>>,
    pub techniques: Vec<String>,
    /// In kill-chain order.
    pub tactics: Vec<String>,
    /// The most severe alert, first of its severity: what the title leads with.
    pub lead: Option<String>,
    pub lead_title: String,
    /// The highest severity of its alerts (the incident's may be higher: see `progression`).
    #[serde(default)]
    pub alert_severity: Option<Severity>,
    /// Severity raised because its alerts form a chain of at least three tactics.
    pub progression: bool,
    #[serde(default)]
    pub merged_into: Option<String>,
    #[serde(default)]
    pub decision: Option<serde_json::Value>,
    /// Entity key → alerts naming it (for the top-20 lists).
    #[serde(default)]
    entity_counts: BTreeMap<String, u64>,
}

fn tactic_rank(t: &str) -> usize {
    warden_analyze::attack::TACTICS.iter().position(|x| *x == t).unwrap_or(usize::MAX)
}

/// Incidents being built from one batch.
pub(crate) struct Correlator<'a> {
    cfg: &'a IncidentsConfig,
    open: Vec<(IncidentRow, IncidentBody, bool)>,
    /// Each open incident's joining keys as a set (its row keeps them in order).
    key_sets: Vec<HashSet<String>>,
    links: Vec<IncidentLink>,
    added: BTreeMap<String, Vec<String>>,
    now: Timestamp,
}

impl<'a> Correlator<'a> {
    pub(crate) fn new(cfg: &'a IncidentsConfig, open: Vec<IncidentRow>, now: Timestamp) -> Self {
        let open = open
            .into_iter()
            .map(|mut r| {
                let body = serde_json::from_value(std::mem::take(&mut r.body)).unwrap_or_default();
                (r, body, false)
            })
            .collect();
        Self::with(cfg, open, now)
    }

    fn with(cfg: &'a IncidentsConfig, open: Vec<(IncidentRow, IncidentBody, bool)>, now: Timestamp) -> Self {
        let key_sets = open.iter().map(|(r, _, _)| r.keys.iter().cloned().collect()).collect();
        Correlator { cfg, open, key_sets, links: Vec::new(), added: BTreeMap::new(), now }
    }

    /// How far back an open incident can still be joined from `t`.
    pub(crate) fn horizon(cfg: &IncidentsConfig, t: Timestamp) -> Timestamp {
        let back = (cfg.window_minutes * 60).max(cfg.progression_window_hours * 3600);
        t.checked_sub(SignedDuration::from_secs(back as i64)).unwrap_or(Timestamp::MIN)
    }

    /// Puts one queued alert into an incident, opening one when none fits.
    pub(crate) fn add(&mut self, t: &Triaged) {
        let at = t.alert.observed_at.unwrap_or(t.alert.received_at);
        let keys: Vec<&String> = t.entities.iter().filter(|k| joins(k)).collect();
        let tactics: Vec<String> =
            t.assessment.techniques.iter().flat_map(|x| warden_analyze::attack::tactics_of(x.as_str())).collect();
        let latest_tactic = tactics.iter().map(|x| tactic_rank(x)).filter(|r| *r != usize::MAX).max();
        let window = SignedDuration::from_secs((self.cfg.window_minutes * 60) as i64);
        let progression = SignedDuration::from_secs((self.cfg.progression_window_hours * 3600) as i64);
        let span = SignedDuration::from_secs((self.cfg.max_span_hours * 3600) as i64);
        let fits = |r: &IncidentRow, b: &IncidentBody, ks: &HashSet<String>| {
            if r.state != "open" || !keys.iter().any(|k| ks.contains(*k)) {
                return false;
            }
            let (first, last) = (r.first_seen.min(at), r.last_seen.max(at));
            if last.duration_since(first) > span {
                return false;
            }
            let near = at >= r.first_seen - window && at <= r.last_seen + window;
            let incident_latest = b.tactics.iter().map(|x| tactic_rank(x)).filter(|r| *r != usize::MAX).max();
            let next_step = latest_tactic.is_some_and(|l| incident_latest.is_none_or(|i| l > i))
                && at >= r.last_seen
                && at <= r.last_seen + progression;
            near || next_step
        };
        let best = self
            .open
            .iter()
            .zip(&self.key_sets)
            .enumerate()
            .filter(|(_, ((r, b, _), ks))| fits(r, b, ks))
            .max_by(|(_, (a, _)), (_, (b, _))| a.0.last_seen.cmp(&b.0.last_seen).then(b.0.id.cmp(&a.0.id)))
            .map(|(i, _)| i);
        let i = match best {
            Some(i) => i,
            None => {
                let id = format!("inc-{}", &sha256_hex(&[t.alert.id.as_str().as_bytes()])[..16]);
                let row = IncidentRow {
                    id,
                    state: "open".into(),
                    title: String::new(),
                    severity: t.assessment.severity.as_str().into(),
                    verdict: t.assessment.verdict.as_str().into(),
                    alert_count: 0,
                    first_seen: at,
                    last_seen: at,
                    created_at: self.now,
                    updated_at: self.now,
                    assignee: None,
                    keys: Vec::new(),
                    body: serde_json::Value::Null,
                };
                self.open.push((row, IncidentBody::default(), true));
                self.key_sets.push(HashSet::new());
                self.open.len() - 1
            }
        };
        self.absorb(i, t.alert.id.as_str(), at, &t.entities, &t.assessment);
    }

    /// Adds one alert to the `i`th incident: counts, times, keys, entities,
    /// techniques, tactics, lead and verdict, and its link.
    fn absorb(&mut self, i: usize, alert_id: &str, at: Timestamp, entities: &[String], a: &Assessment) {
        let keys: Vec<&String> = entities.iter().filter(|k| joins(k)).collect();
        let tactics: Vec<String> =
            a.techniques.iter().flat_map(|x| warden_analyze::attack::tactics_of(x.as_str())).collect();
        let title = alert_title(&a.summary);
        let (row, body, _) = &mut self.open[i];
        let key_set = &mut self.key_sets[i];
        row.alert_count += 1;
        row.first_seen = row.first_seen.min(at);
        row.last_seen = row.last_seen.max(at);
        row.updated_at = self.now;
        for k in keys {
            if key_set.insert(k.clone()) {
                row.keys.push(k.clone());
            }
        }
        for e in entities {
            *body.entity_counts.entry(e.clone()).or_insert(0) += 1;
        }
        for x in &a.techniques {
            if !body.techniques.iter().any(|y| y == x.as_str()) {
                body.techniques.push(x.as_str().to_owned());
            }
        }
        body.techniques.sort();
        for x in tactics {
            if !body.tactics.contains(&x) {
                body.tactics.push(x);
            }
        }
        body.tactics.sort_by_key(|x| tactic_rank(x));
        // The lead is the first alert of the highest severity seen.
        if body.alert_severity.is_none_or(|s| a.severity > s) {
            body.alert_severity = Some(a.severity);
            body.lead = Some(alert_id.to_owned());
            body.lead_title = title.clone();
        }
        let verdict = row.verdict.parse::<Verdict>().unwrap_or(Verdict::Benign);
        if a.verdict.strength() > verdict.strength() {
            row.verdict = a.verdict.as_str().into();
        }
        self.links.push(IncidentLink {
            alert_id: alert_id.to_owned(),
            incident_id: row.id.clone(),
            title: title.clone(),
            severity: a.severity.as_str().into(),
            verdict: a.verdict.as_str().into(),
            observed_at: at,
            signature: sha256_hex(&[title.as_bytes()])[..16].to_owned(),
        });
        self.added.entry(row.id.clone()).or_default().push(alert_id.to_owned());
    }

    /// The rows to write, the links and one audit record per touched incident.
    pub(crate) fn finish(self) -> (Vec<IncidentRow>, Vec<IncidentLink>, Vec<AuditRecord>) {
        let mut rows = Vec::new();
        let mut audit = Vec::new();
        for (mut row, mut body, created) in self.open {
            let Some(added) = self.added.get(&row.id) else { continue };
            finish_body(&mut row, &mut body);
            row.body = serde_json::to_value(&body).unwrap_or_default();
            audit.push(AuditRecord::new(
                service("correlate"),
                if created { "incident.created" } else { "incident.grouped" },
                row.id.as_str(),
                serde_json::json!({
                    "alerts": added,
                    "alert_count": row.alert_count,
                    "severity": row.severity,
                    "verdict": row.verdict,
                    "keys": row.keys.len(),
                }),
            ));
            rows.push(row);
        }
        (rows, self.links, audit)
    }
}

/// Title, severity from progression, and the entity lists, from the counts.
fn finish_body(row: &mut IncidentRow, body: &mut IncidentBody) {
    let mut per_kind: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for (k, n) in &body.entity_counts {
        if let Some((kind, value)) = k.split_once(':') {
            per_kind.entry(kind.to_owned()).or_default().push((*n, value.to_owned()));
        }
    }
    body.entities = per_kind
        .into_iter()
        .map(|(kind, mut v)| {
            v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            (kind, v.into_iter().take(20).map(|(_, s)| s).collect())
        })
        .collect();
    // Keep the counts bounded: the top entities of each kind, and every joining key.
    let keep: BTreeSet<String> =
        body.entities.iter().flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}:{v}"))).collect();
    let joining: HashSet<&String> = row.keys.iter().collect();
    body.entity_counts.retain(|k, _| keep.contains(k) || joining.contains(k));
    // The alerts' highest severity, one step up (to medium at least, high at
    // most) when they chain three or more tactics.
    let severity = body.alert_severity.unwrap_or(Severity::Info);
    let chain = body.tactics.iter().filter(|t| tactic_rank(t) != usize::MAX).count();
    body.progression = chain >= 3 && severity < Severity::High;
    row.severity = match severity {
        _ if !body.progression => severity,
        Severity::Info | Severity::Low => Severity::Medium,
        _ => Severity::High,
    }
    .as_str()
    .into();
    let host = body.entities.get("host").and_then(|h| h.first()).cloned();
    row.title = match (chain, host) {
        (2.., Some(h)) => {
            let steps: Vec<&str> = body.tactics.iter().map(String::as_str).collect();
            let steps = if steps.len() > 4 {
                format!("{} → … → {} ({} tactics)", steps[0], steps[steps.len() - 1], steps.len())
            } else {
                steps.join(" → ")
            };
            format!("{steps} on {h}")
        }
        _ => body.lead_title.clone(),
    };
    if row.alert_count > 1 {
        row.title.push_str(&format!(" · {} alerts", row.alert_count));
    }
}

impl Engine {
    /// One incident rebuilt from exactly these alerts (after a merge or a
    /// split): it keeps its id, state, opening time, assignee, decision and
    /// where it was merged; everything derived from its alerts is computed
    /// again. With the links that put the alerts in it.
    pub(crate) fn rebuild(
        &self,
        base: &IncidentRow,
        alert_ids: &[String],
    ) -> Result<(IncidentRow, Vec<IncidentLink>), EngineError> {
        let old: IncidentBody = serde_json::from_value(base.body.clone()).unwrap_or_default();
        let now = Timestamp::now();
        let row = IncidentRow {
            title: String::new(),
            severity: Severity::Info.as_str().into(),
            verdict: Verdict::Benign.as_str().into(),
            alert_count: 0,
            first_seen: Timestamp::MAX,
            last_seen: Timestamp::MIN,
            updated_at: now,
            keys: Vec::new(),
            body: serde_json::Value::Null,
            ..base.clone()
        };
        let body = IncidentBody { merged_into: old.merged_into, decision: old.decision, ..IncidentBody::default() };
        let mut members = Vec::with_capacity(alert_ids.len());
        for id in alert_ids {
            let rec = warden_core::AlertId::parse(id)
                .map(|a| self.store.alert(&a))
                .transpose()?
                .flatten()
                .ok_or_else(|| EngineError::NotFound(format!("no alert {id}")))?;
            let Some(a) = rec.assessment else { continue };
            let at = rec.alert.observed_at.unwrap_or(rec.alert.received_at);
            members.push((at, id.clone(), entities(&rec.alert), a));
        }
        members.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut c = Correlator::with(&self.config.incidents, vec![(row, body, false)], now);
        for (at, id, ents, a) in &members {
            c.absorb(0, id, *at, ents, a);
        }
        let (mut row, mut body, _) = c.open.pop().expect("one incident");
        if members.is_empty() {
            (row.first_seen, row.last_seen) = (base.first_seen, base.last_seen);
        }
        finish_body(&mut row, &mut body);
        row.body = serde_json::to_value(&body).unwrap_or_default();
        Ok((row, c.links))
    }

    /// Groups a batch's queued alerts into incidents (before the batch commits).
    pub(crate) fn correlate(&self, batch: &mut warden_store::Batch) -> Result<(), EngineError> {
        let queued: Vec<&Triaged> =
            batch.triaged.iter().filter(|t| matches!(t.route.kind, RouteKind::Review | RouteKind::Escalated)).collect();
        if queued.is_empty() {
            return Ok(());
        }
        let cfg = &self.config.incidents;
        let keys: BTreeSet<String> =
            queued.iter().flat_map(|t| t.entities.iter()).filter(|k| joins(k)).cloned().collect();
        let earliest = queued.iter().map(|t| t.alert.observed_at.unwrap_or(t.alert.received_at)).min();
        let since = Correlator::horizon(cfg, earliest.unwrap_or(Timestamp::MIN));
        let open = self.store.open_incidents(&keys.into_iter().collect::<Vec<_>>(), since)?;
        let mut c = Correlator::new(cfg, open, Timestamp::now());
        let mut order: Vec<&&Triaged> = queued.iter().collect();
        order.sort_by_key(|t| t.alert.observed_at.unwrap_or(t.alert.received_at));
        for t in order {
            c.add(t);
        }
        let (rows, links, audit) = c.finish();
        batch.incidents = rows;
        batch.links = links;
        batch.audit.extend(audit);
        Ok(())
    }
}

/// One incident as listed: the row, its SLA, and its kill-chain strip.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentSummary {
    pub incident_id: String,
    /// Every alert in it, in event-time order.
    pub alert_ids: Vec<String>,
    pub title: String,
    pub state: String,
    pub severity: String,
    pub verdict: String,
    pub alert_count: u64,
    pub assignee: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub opened_at: Timestamp,
    pub techniques: Vec<String>,
    pub tactics: Vec<String>,
    pub entities: BTreeMap<String, Vec<String>>,
    /// When an open incident's SLA runs out (from when it was opened here).
    pub sla_due: Option<Timestamp>,
    pub sla_breached: bool,
}

/// A page of incidents with the true total.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentList {
    pub total: u64,
    pub offset: usize,
    pub limit: usize,
    pub items: Vec<IncidentSummary>,
}

/// Filters as people type them; every value is checked.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentFilter {
    pub state: Option<String>,
    pub severity: Option<String>,
    pub assignee: Option<String>,
    pub q: Option<String>,
    pub entity: Option<String>,
    pub sort: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl IncidentFilter {
    fn query(&self) -> Result<IncidentQuery, EngineError> {
        if let Some(s) = &self.state
            && !["open", "decided", "merged"].contains(&s.as_str())
        {
            return Err(unknown("state", s, "open, decided, merged"));
        }
        if let Some(s) = &self.severity {
            severity_filter(s)?;
        }
        let sort = match self.sort.as_deref() {
            None | Some("priority") => IncidentSort::Priority,
            Some("event_age") => IncidentSort::EventAge,
            Some("age") => IncidentSort::Age,
            Some("recent") => IncidentSort::Recent,
            Some(s) => return Err(unknown("sort", s, "priority, event_age, age, recent")),
        };
        if let Some(e) = &self.entity {
            entity_parts(e)?;
        }
        let limit = page_limit(self.limit)?;
        Ok(IncidentQuery {
            state: self.state.clone(),
            min_severity: self.severity.clone(),
            assignee: self.assignee.clone(),
            text: self.q.clone().filter(|q| !q.trim().is_empty()),
            entity: self.entity.as_ref().map(|e| e.to_lowercase()),
            sort,
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// One row of an incident's alert list: repeats of a detection on the same
/// entities folded, with a count and first and last seen.
#[derive(Clone, Debug, Serialize)]
pub struct FoldedRow {
    /// What the repeats share (a hash of the detection's title): names the row.
    pub signature: String,
    pub title: String,
    pub severity: String,
    pub verdict: String,
    pub count: usize,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub alert_ids: Vec<String>,
}

/// One line of the timeline: an alert of the incident or a context event around it.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub alert_id: String,
    /// `alert` or `context`.
    pub kind: &'static str,
    pub title: String,
}

/// A sentence of the narrative and what it cites.
#[derive(Clone, Debug, Serialize)]
pub struct Citation {
    pub alert_id: String,
    pub path: Option<String>,
    /// The cited alert is in the incident and holds the field with that value.
    pub grounded: bool,
}

/// Everything about one incident.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub summary: IncidentSummary,
    pub rows: Vec<FoldedRow>,
    pub timeline: Vec<TimelineEntry>,
    pub narrative: String,
    pub citations: Vec<Citation>,
    /// Every citation is grounded.
    pub grounded: bool,
    pub merged_into: Option<String>,
    /// Cases its alerts were sent to (TheHive, IRIS, Jira), each once.
    pub cases: Vec<warden_govern::Remote>,
}

impl Engine {
    pub(crate) fn summary_of(&self, r: IncidentRow, links: &[IncidentLink]) -> IncidentSummary {
        let body: IncidentBody = serde_json::from_value(r.body.clone()).unwrap_or_default();
        let sla = self.config.incidents.sla_minutes.get(&r.severity).copied();
        let sla_due = sla
            .filter(|_| r.state == "open")
            .and_then(|m| r.created_at.checked_add(SignedDuration::from_secs((m * 60) as i64)).ok());
        IncidentSummary {
            alert_ids: links.iter().map(|l| l.alert_id.clone()).collect(),
            incident_id: r.id,
            title: r.title,
            state: r.state,
            severity: r.severity,
            verdict: r.verdict,
            alert_count: r.alert_count,
            assignee: r.assignee,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            opened_at: r.created_at,
            techniques: body.techniques,
            tactics: body.tactics,
            entities: body.entities,
            sla_breached: sla_due.is_some_and(|d| d < Timestamp::now()),
            sla_due,
        }
    }

    /// A page of incidents, with the true total of those that match. Titles
    /// and entities are shown as this person may see them.
    pub fn incidents(&self, who: &Identity, filter: &IncidentFilter) -> Result<IncidentList, EngineError> {
        who.authorize(Permission::Review, "see incidents")?;
        let mut q = filter.query()?;
        // From what was given, not the lower-cased key: a token is upper case.
        if let Some(e) = &filter.entity {
            q.entity = Some(self.entity_key(e)?);
        }
        let page = self.store.incidents(&q)?;
        let mut views = Vec::new();
        let items = page
            .items
            .into_iter()
            .map(|r| {
                let links = self.store.incident_links(&r.id)?;
                let lead = serde_json::from_value::<IncidentBody>(r.body.clone()).unwrap_or_default().lead;
                let mut summary = self.summary_of(r, &links);
                if let Some(view) = self.lead_view(who, lead.as_deref())? {
                    shown(&view, &mut summary);
                    views.push(view);
                }
                Ok(summary)
            })
            .collect::<Result<_, EngineError>>()?;
        self.keep_views(views.iter())?;
        Ok(IncidentList { total: page.total, offset: q.offset, limit: q.limit, items })
    }

    /// The view of an incident's lead alert for a person who does not see
    /// data as it is (`None` for one who does).
    fn lead_view(&self, who: &Identity, lead: Option<&str>) -> Result<Option<crate::privacy::View>, EngineError> {
        if self.sees_raw(who) {
            return Ok(None);
        }
        let Some(rec) = lead.and_then(warden_core::AlertId::parse).map(|a| self.store.alert(&a)).transpose()?.flatten()
        else {
            return Ok(None);
        };
        Ok(Some(self.view_unsaved(who, &rec.alert)))
    }

    /// An entity key as people type or click it (`host:WS01`, or a token a
    /// view showed in place of the value), as the index holds it.
    fn entity_key(&self, key: &str) -> Result<String, EngineError> {
        let (kind, value) = entity_parts(key)?;
        let mut v = serde_json::Value::String(value.to_owned());
        self.resolve_tokens(&mut v)?;
        Ok(format!("{kind}:{}", v.as_str().unwrap_or(value).to_lowercase()))
    }

    /// The alerts and context events naming an entity, newest first (at most
    /// `limit`), with how many there are in all.
    pub fn naming(
        &self,
        who: &Identity,
        key: &str,
        limit: usize,
    ) -> Result<(u64, Vec<warden_store::Naming>), EngineError> {
        who.authorize(Permission::Review, "see what names a host or user")?;
        let key = self.entity_key(key)?;
        Ok(self.store.naming(&key, None, limit.clamp(1, 10_000))?)
    }

    /// One incident: its alerts folded, the timeline with context events
    /// around them, and a narrative whose every citation is checked.
    pub fn incident(&self, who: &Identity, id: &str) -> Result<IncidentView, EngineError> {
        who.authorize(Permission::Review, "see incidents")?;
        let row = self.store.incident(id)?.ok_or_else(|| EngineError::NotFound(format!("no incident {id}")))?;
        let body: IncidentBody = serde_json::from_value(row.body.clone()).unwrap_or_default();
        let links = self.store.incident_links(id)?;
        let mut rows = folded(&links);
        // The timeline: each folded row once (at its first alert), and the
        // context events on the incident's hosts around it.
        let mut timeline: Vec<TimelineEntry> = rows
            .iter()
            .map(|r| TimelineEntry {
                at: r.first_seen,
                alert_id: r.alert_ids[0].clone(),
                kind: "alert",
                title: if r.count > 1 { format!("{} (×{})", r.title, r.count) } else { r.title.clone() },
            })
            .collect();
        let pad = SignedDuration::from_mins(5);
        let range = (row.first_seen - pad, row.last_seen + pad);
        for host in body.entities.get("host").into_iter().flatten().take(3) {
            let (_, near) = self.store.naming(&format!("host:{host}"), Some(range), 50)?;
            for n in near.into_iter().filter(|n| n.route == RouteKind::Context.as_str()) {
                timeline.push(TimelineEntry {
                    at: n.observed_at,
                    alert_id: n.alert_id,
                    kind: "context",
                    title: String::new(),
                });
            }
        }
        timeline.sort_by(|a, b| a.at.cmp(&b.at).then(a.alert_id.cmp(&b.alert_id)));
        timeline.dedup_by(|a, b| a.alert_id == b.alert_id);
        // Context events get a line from their stored record.
        for t in timeline.iter_mut().filter(|t| t.kind == "context") {
            if let Some(aid) = warden_core::AlertId::parse(&t.alert_id)
                && let Some(rec) = self.store.alert(&aid)?
            {
                let a = &rec.alert;
                let code = a.canonical_text(Canon::EventCode).unwrap_or_default();
                let what =
                    a.canonical_text(Canon::Image).or_else(|| a.canonical_text(Canon::Channel)).unwrap_or_default();
                t.title = format!("event {code} {what}").trim().to_owned();
            }
        }
        let (narrative, citations) = self.narrate(&row, &body, &rows)?;
        let grounded = citations.iter().all(|c| c.grounded);
        let merged_into = body.merged_into.clone();
        // Shown as this person may see it: a view from the lead alert.
        let mut summary = self.summary_of(row, &links);
        let mut narrative = narrative;
        if let Some(view) = self.lead_view(who, body.lead.as_deref())? {
            shown(&view, &mut summary);
            narrative = view.text(&narrative);
            for r in &mut rows {
                r.title = view.text(&r.title);
            }
            for t in &mut timeline {
                t.title = view.text(&t.title);
            }
            self.keep_views(std::iter::once(&view))?;
        }
        let cases = self.cases_of(&links)?;
        Ok(IncidentView { summary, rows, timeline, narrative, citations, grounded, merged_into, cases })
    }

    /// The remote records that executed actions on these alerts made or found.
    fn cases_of(&self, links: &[IncidentLink]) -> Result<Vec<warden_govern::Remote>, EngineError> {
        let ids: std::collections::HashSet<&str> = links.iter().map(|l| l.alert_id.as_str()).collect();
        let mut out: Vec<warden_govern::Remote> = Vec::new();
        for body in self.store.actions(Some("executed"), 500)? {
            let Ok(req) = serde_json::from_value::<warden_govern::ActionRequest>(body) else { continue };
            if !req.alert_id.as_deref().is_some_and(|a| ids.contains(a)) {
                continue;
            }
            if let Some(r) = req.execution.and_then(|x| x.remote)
                && !out.iter().any(|o| o.system == r.system && o.id == r.id)
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// What a case system is sent for an incident: its title, the
    /// narrative, its techniques and its entities as observables (raw: these
    /// are the SOC's own case systems, not AI providers).
    pub(crate) fn incident_case(&self, id: &str) -> Result<crate::cases::Case, EngineError> {
        let row = self.store.incident(id)?.ok_or_else(|| EngineError::NotFound(format!("no incident {id}")))?;
        let body: IncidentBody = serde_json::from_value(row.body.clone()).unwrap_or_default();
        let links = self.store.incident_links(id)?;
        let rows = folded(&links);
        let (narrative, _) = self.narrate(&row, &body, &rows)?;
        let mut observables = Vec::new();
        for kind in KINDS {
            for v in body.entities.get(*kind).into_iter().flatten() {
                observables.push(((*kind).to_owned(), v.clone()));
            }
        }
        let description = format!(
            "{narrative}\n\n{} alert(s) from {} to {}; tactics: {}. Warden incident {id}.",
            row.alert_count,
            row.first_seen,
            row.last_seen,
            if body.tactics.is_empty() { "none named".to_owned() } else { body.tactics.join(" → ") }
        );
        Ok(crate::cases::Case {
            key: id.to_owned(),
            title: row.title.clone(),
            description,
            severity: row.severity.clone(),
            techniques: body.techniques.clone(),
            observables,
        })
    }

    /// The local analyzer's account of an incident: what happened, in
    /// kill-chain order, citing alerts and the fields that show it. Every
    /// citation is checked against the stored alerts.
    fn narrate(
        &self,
        row: &IncidentRow,
        body: &IncidentBody,
        rows: &[FoldedRow],
    ) -> Result<(String, Vec<Citation>), EngineError> {
        let mut text = format!(
            "Between {} and {}, {} alert(s)",
            row.first_seen.strftime("%Y-%m-%d %H:%M:%S UTC"),
            row.last_seen.strftime("%Y-%m-%d %H:%M:%S UTC"),
            row.alert_count
        );
        if let Some(hosts) = body.entities.get("host") {
            text.push_str(&format!(" on {}", hosts.iter().take(3).cloned().collect::<Vec<_>>().join(", ")));
        }
        if let Some(users) = body.entities.get("user") {
            text.push_str(&format!(" involving {}", users.iter().take(3).cloned().collect::<Vec<_>>().join(", ")));
        }
        text.push('.');
        if body.tactics.len() >= 2 {
            text.push_str(&format!(" The activity moves through {}.", body.tactics.join(" → ")));
        }
        if body.progression {
            text.push_str(" Several steps of one chain: the incident is rated above its alerts.");
        }
        let mut citations = Vec::new();
        let members: BTreeSet<&str> = rows.iter().flat_map(|r| r.alert_ids.iter().map(String::as_str)).collect();
        // The most severe rows first, at most five, each citing its first alert and its first evidence.
        let mut lead: Vec<&FoldedRow> = rows.iter().collect();
        lead.sort_by_key(|r| {
            (std::cmp::Reverse(r.severity.parse::<Severity>().unwrap_or(Severity::Info)), r.first_seen)
        });
        for r in lead.into_iter().take(5) {
            let id = &r.alert_ids[0];
            let rec = warden_core::AlertId::parse(id).map(|a| self.store.alert(&a)).transpose()?.flatten();
            let evidence = rec.as_ref().and_then(|rec| rec.assessment.as_ref()?.evidence.first().cloned());
            let grounded_alert = members.contains(id.as_str()) && rec.is_some();
            match (&evidence, &rec) {
                (Some(e), Some(rec)) => {
                    let holds = warden_analyze::evidence_holds(&rec.alert, e);
                    text.push_str(&format!(
                        "\n- {} ({}{}) [{id}]: `{}` = \"{}\".",
                        r.title,
                        r.severity,
                        if r.count > 1 { format!(", {} times", r.count) } else { String::new() },
                        e.path,
                        clip(&e.value.to_string())
                    ));
                    citations.push(Citation {
                        alert_id: id.clone(),
                        path: Some(e.path.clone()),
                        grounded: grounded_alert && holds,
                    });
                }
                _ => {
                    text.push_str(&format!("\n- {} ({}) [{id}].", r.title, r.severity));
                    citations.push(Citation { alert_id: id.clone(), path: None, grounded: grounded_alert });
                }
            }
        }
        if rows.len() > 5 {
            text.push_str(&format!("\n- and {} more kind(s) of alert.", rows.len() - 5));
        }
        Ok((text, citations))
    }
}

/// An incident's title and entities through a person's view.
fn shown(view: &crate::privacy::View, summary: &mut IncidentSummary) {
    summary.title = view.text(&summary.title);
    for vs in summary.entities.values_mut() {
        for v in vs.iter_mut() {
            *v = view.text(v);
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= 80 { s.to_owned() } else { format!("{}…", s.chars().take(79).collect::<String>()) }
}

/// An incident's alerts with repeats of one detection on the same entities
/// folded into one row (a count, first and last seen).
fn folded(links: &[IncidentLink]) -> Vec<FoldedRow> {
    let mut rows: Vec<FoldedRow> = Vec::new();
    let mut by_signature: BTreeMap<&str, usize> = BTreeMap::new();
    for l in links {
        match by_signature.get(l.signature.as_str()) {
            Some(&i) => {
                let r = &mut rows[i];
                r.count += 1;
                r.last_seen = r.last_seen.max(l.observed_at);
                r.first_seen = r.first_seen.min(l.observed_at);
                if r.alert_ids.len() < 50 {
                    r.alert_ids.push(l.alert_id.clone());
                }
            }
            None => {
                by_signature.insert(&l.signature, rows.len());
                rows.push(FoldedRow {
                    signature: l.signature.clone(),
                    title: l.title.clone(),
                    severity: l.severity.clone(),
                    verdict: l.verdict.clone(),
                    count: 1,
                    first_seen: l.observed_at,
                    last_seen: l.observed_at,
                    alert_ids: vec![l.alert_id.clone()],
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_accounts_and_loopback_name_no_entity() {
        let mut f = warden_core::FieldMap::default();
        f.insert("Event.System.Computer", "WS01.corp.local".into());
        f.insert("Event.EventData.SubjectUserName", "WS01$".into());
        f.insert("Event.EventData.TargetUserName", "CORP\\Ana".into());
        f.insert("Event.EventData.IpAddress", "127.0.0.1".into());
        f.insert("Event.EventData.Hashes", "MD5=0123456789abcdef0123456789abcdef,SHA256=zz".into());
        let alert = warden_ingest::read(
            serde_json::to_string(&f).unwrap().as_bytes(),
            "t",
            &warden_ingest::Options::new(Timestamp::UNIX_EPOCH),
        )
        .find_map(|p| match p {
            warden_ingest::Parsed::Alert(a) => Some(*a),
            _ => None,
        })
        .unwrap();
        let e = entities(&alert);
        assert!(e.contains(&"host:ws01.corp.local".to_owned()), "{e:?}");
        assert!(e.contains(&"hash:0123456789abcdef0123456789abcdef".to_owned()), "{e:?}");
        assert!(e.contains(&"user:ana".to_owned()), "the domain is not part of the account: {e:?}");
        assert!(!e.iter().any(|k| k.starts_with("src:") || k.contains('$')), "{e:?}");
        // Sysmon names SYSTEM by its SID on some builds; a named account still counts.
        assert_eq!(queued(1, "ws01", "S-1-5-18", 0, Severity::Low, &[]).entities, vec!["host:ws01".to_owned()]);
        assert!(queued(1, "ws01", "CORP\\bob", 0, Severity::Low, &[]).entities.contains(&"user:bob".to_owned()));
    }

    /// A queued alert on `host` (and `user`), `minutes` after a fixed start,
    /// with these techniques.
    fn queued(n: u32, host: &str, user: &str, minutes: i64, severity: Severity, techniques: &[&str]) -> Triaged {
        let at = Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50) + SignedDuration::from_mins(minutes);
        let doc = serde_json::json!({
            "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": host, "User": user,
            "UtcTime": at.to_string(), "CommandLine": format!("step {n}"),
        });
        let alert = match warden_ingest::read(doc.to_string().as_bytes(), "t", &warden_ingest::Options::new(at)).next()
        {
            Some(warden_ingest::Parsed::Alert(a)) => *a,
            other => panic!("{other:?}"),
        };
        assert_eq!(alert.observed_at, Some(at));
        let techniques: Vec<warden_core::TechniqueId> =
            techniques.iter().map(|t| warden_core::TechniqueId::parse(t).unwrap()).collect();
        Triaged {
            entities: entities(&alert),
            alert,
            classes: BTreeMap::new(),
            assessment: warden_core::Assessment {
                verdict: Verdict::Suspicious,
                severity,
                confidence: warden_core::Confidence::new(0.7).unwrap(),
                techniques,
                summary: format!("Step {n} on {host}. [detections: d{n}]"),
                evidence: vec![],
                recommended_actions: vec![],
                analyzer: warden_core::AnalyzerInfo {
                    name: "t".into(),
                    version: "0".into(),
                    model: None,
                    provider: None,
                    ruleset: None,
                },
            },
            validation: warden_core::Validation::clean(0),
            route: warden_core::Route { kind: RouteKind::Review, reasons: vec![] },
            workflow: "default".into(),
            audit: vec![],
            if_stored_already: None,
        }
    }

    /// Runs alerts through one correlator; returns (incident of each alert, rows, audit actions).
    fn correlate(open: Vec<IncidentRow>, alerts: &[Triaged]) -> (Vec<String>, Vec<IncidentRow>, Vec<String>) {
        let cfg = IncidentsConfig::default();
        let mut c = Correlator::new(&cfg, open, Timestamp::UNIX_EPOCH);
        for a in alerts {
            c.add(a);
        }
        let (rows, links, audit) = c.finish();
        let of = alerts
            .iter()
            .map(|a| links.iter().find(|l| l.alert_id == a.alert.id.as_str()).unwrap().incident_id.clone())
            .collect();
        (of, rows, audit.into_iter().map(|r| r.action).collect())
    }

    #[test]
    fn alerts_group_by_shared_host_within_the_window_and_split_beyond_it() {
        let alerts = [
            queued(1, "ws01", "ana", 0, Severity::Low, &[]),
            queued(2, "ws01", "SYSTEM", 50, Severity::Low, &[]),
            queued(3, "ws02", "SYSTEM", 55, Severity::Low, &[]),
            // 60 minutes after the last alert on ws01: still the same story.
            queued(4, "ws01", "SYSTEM", 110, Severity::Medium, &[]),
            // Over an hour after it, with no later kill-chain step: a new incident.
            queued(5, "ws01", "SYSTEM", 200, Severity::Low, &[]),
        ];
        let (of, rows, audit) = correlate(vec![], &alerts);
        assert_eq!(of[0], of[1]);
        assert_ne!(of[0], of[2], "SYSTEM is on every host: it joins nothing");
        assert_eq!(of[0], of[3]);
        assert_ne!(of[0], of[4]);
        assert_eq!(rows.len(), 3);
        assert_eq!(audit, ["incident.created"; 3]);
        let first = rows.iter().find(|r| r.id == of[0]).unwrap();
        assert_eq!((first.alert_count, first.severity.as_str()), (3, "medium"));
        assert_eq!(first.title, "Step 4 on ws01 · 3 alerts", "led by its most severe alert");
    }

    #[test]
    fn a_named_account_links_hosts_and_a_later_kill_chain_step_joins_beyond_the_window() {
        let alerts = [
            queued(1, "ws01", "ana", 0, Severity::Low, &["T1033"]),
            // The same account on another host: lateral movement is one story.
            queued(2, "srv02", "CORP\\ana", 20, Severity::Medium, &["T1003.001"]),
            // Five hours later, a later step on the same entities still joins.
            queued(3, "srv02", "ana", 320, Severity::Medium, &["T1021.002"]),
            // Five hours later again, an earlier step does not.
            queued(4, "srv02", "ana", 620, Severity::Low, &["T1033"]),
        ];
        let (of, rows, _) = correlate(vec![], &alerts);
        assert_eq!((of[0] == of[1], of[1] == of[2], of[2] == of[3]), (true, true, false));
        let story = rows.iter().find(|r| r.id == of[0]).unwrap();
        let body: IncidentBody = serde_json::from_value(story.body.clone()).unwrap();
        assert_eq!(body.tactics, ["Credential Access", "Discovery", "Lateral Movement"]);
        // Medium alerts in a chain of three tactics make a high incident.
        assert!(body.progression);
        assert_eq!(story.severity, "high");
        assert!(story.title.starts_with("Credential Access → Discovery → Lateral Movement on "), "{}", story.title);
    }

    #[test]
    fn the_next_batch_grows_an_open_incident_and_says_so() {
        let (_, rows, _) = correlate(vec![], &[queued(1, "ws01", "ana", 0, Severity::Low, &[])]);
        let (of, again, audit) = correlate(rows.clone(), &[queued(2, "ws01", "bob", 30, Severity::High, &[])]);
        assert_eq!(of[0], rows[0].id);
        assert_eq!(audit, ["incident.grouped"]);
        assert_eq!((again[0].alert_count, again[0].severity.as_str()), (2, "high"));
        // Decided incidents take no new alerts.
        let mut decided = rows.clone();
        decided[0].state = "decided".into();
        let (of, _, audit) = correlate(decided, &[queued(3, "ws01", "ana", 40, Severity::Low, &[])]);
        assert_ne!(of[0], rows[0].id);
        assert_eq!(audit, ["incident.created"]);
    }

    #[test]
    fn no_incident_spans_more_than_the_maximum() {
        // One alert every 50 minutes on one host for four days: each joins the last, until 72 hours.
        let alerts: Vec<Triaged> =
            (0..115).map(|i| queued(i, "ws01", "ana", i as i64 * 50, Severity::Low, &[])).collect();
        let (of, rows, _) = correlate(vec![], &alerts);
        assert_eq!(rows.len(), 2);
        let first = rows.iter().find(|r| r.id == of[0]).unwrap();
        assert!(first.last_seen.duration_since(first.first_seen) <= SignedDuration::from_hours(72));
    }

    #[test]
    fn titles_are_the_first_line_without_the_detection_list() {
        assert_eq!(
            alert_title("Mimikatz on ws01 (user ana). [detections: x, y]\n- more"),
            "Mimikatz on ws01 (user ana)"
        );
    }
}
