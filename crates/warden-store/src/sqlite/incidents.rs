//! Incidents, their alerts, and the entity index, in SQLite.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use crate::{IncidentLink, IncidentPage, IncidentQuery, IncidentRow, Naming, StoreError};

use crate::shared::{Arg, from_ms, incident_filter, ms, severity_rank};

const COLUMNS: &str = "SELECT id, state, title, severity, verdict, alert_count, first_seen, last_seen, created_at, \
                       updated_at, assignee, keys, body FROM incidents";

type Raw = (String, String, String, String, String, u64, i64, i64, i64, i64, Option<String>, String, String);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Raw::try_from(r)
}

fn decode(raw: Raw) -> Result<IncidentRow, StoreError> {
    let (id, state, title, severity, verdict, alert_count, first, last, created, updated, assignee, keys, body) = raw;
    Ok(IncidentRow {
        id,
        state,
        title,
        severity,
        verdict,
        alert_count,
        first_seen: from_ms(first, "incident time")?,
        last_seen: from_ms(last, "incident time")?,
        created_at: from_ms(created, "incident time")?,
        updated_at: from_ms(updated, "incident time")?,
        assignee,
        keys: super::from_json(&keys, "incident keys")?,
        body: super::from_json(&body, "incident")?,
    })
}

fn collect(rows: impl Iterator<Item = rusqlite::Result<Raw>>) -> Result<Vec<IncidentRow>, StoreError> {
    rows.map(|r| decode(r?)).collect()
}

/// Upserts incident rows (their join keys with them) and links alerts,
/// moving an alert that was in another incident. Counts move by the links
/// this write adds and moves, read and changed inside the write transaction
/// (SQLite has one writer at a time), so they stay true without recounting
/// an incident's whole alert list on every batch.
pub(super) fn write(tx: &Transaction<'_>, rows: &[IncidentRow], links: &[&IncidentLink]) -> Result<(), StoreError> {
    if rows.is_empty() && links.is_empty() {
        return Ok(());
    }
    let mut upsert = tx.prepare_cached(
        "INSERT INTO incidents (id, state, title, severity, sev_rank, verdict, alert_count, first_seen, last_seen,
                                created_at, updated_at, assignee, keys, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, title = excluded.title,
            severity = excluded.severity, sev_rank = excluded.sev_rank, verdict = excluded.verdict,
            first_seen = excluded.first_seen, last_seen = excluded.last_seen, updated_at = excluded.updated_at,
            assignee = excluded.assignee, keys = excluded.keys, body = excluded.body",
    )?;
    let mut key =
        tx.prepare_cached("INSERT INTO incident_keys (key, incident_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?;
    for r in rows {
        upsert.execute(params![
            r.id,
            r.state,
            r.title,
            r.severity,
            severity_rank(&r.severity),
            r.verdict,
            // A new incident's count is its links' (added below); an existing one keeps its own.
            0,
            ms(r.first_seen),
            ms(r.last_seen),
            ms(r.created_at),
            ms(r.updated_at),
            r.assignee,
            super::to_json(&r.keys),
            super::to_json(&r.body),
        ])?;
        for k in &r.keys {
            key.execute(params![k, r.id])?;
        }
    }
    let mut link = tx.prepare_cached(
        "INSERT INTO incident_alerts (alert_id, incident_id, title, severity, verdict, observed_at, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(alert_id) DO UPDATE SET incident_id = excluded.incident_id",
    )?;
    let mut before = tx.prepare_cached("SELECT incident_id FROM incident_alerts WHERE alert_id = ?1")?;
    let mut delta: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for l in links {
        let old = before.query_row([&l.alert_id], |r| r.get::<_, String>(0)).optional()?;
        if old.as_deref() != Some(l.incident_id.as_str()) {
            if let Some(old) = old {
                *delta.entry(old).or_insert(0) -= 1;
            }
            *delta.entry(l.incident_id.clone()).or_insert(0) += 1;
        }
        link.execute(params![
            l.alert_id,
            l.incident_id,
            l.title,
            l.severity,
            l.verdict,
            ms(l.observed_at),
            l.signature
        ])?;
    }
    let mut count = tx.prepare_cached("UPDATE incidents SET alert_count = alert_count + ?2 WHERE id = ?1")?;
    for (id, n) in delta.into_iter().filter(|(_, n)| *n != 0) {
        count.execute(params![id, n])?;
    }
    Ok(())
}

/// Open incidents active since `since` that name any of `keys`, each once,
/// in id order: one query whatever the number of keys.
pub(super) fn open(conn: &Connection, keys: &[String], since: Timestamp) -> Result<Vec<IncidentRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{COLUMNS} WHERE state = 'open' AND last_seen >= ?2
           AND id IN (SELECT incident_id FROM incident_keys WHERE key IN (SELECT value FROM json_each(?1)))
         ORDER BY id"
    ))?;
    collect(stmt.query_map(params![super::to_json(&keys), ms(since)], row)?)
}

pub(super) fn one(conn: &Connection, id: &str) -> Result<Option<IncidentRow>, StoreError> {
    conn.query_row(&format!("{COLUMNS} WHERE id = ?1"), [id], row).optional()?.map(decode).transpose()
}

pub(super) fn page(conn: &Connection, q: &IncidentQuery) -> Result<IncidentPage, StoreError> {
    use rusqlite::types::Value as V;
    let (filter, order, args) = incident_filter(q, |n| format!("?{n}"));
    let mut values: Vec<V> = args
        .into_iter()
        .map(|a| match a {
            Arg::Text(s) => V::Text(s),
            Arg::Int(i) => V::Integer(i),
        })
        .collect();
    let total: u64 =
        conn.query_row(&format!("SELECT count(*) FROM incidents{filter}"), params_from_iter(values.iter()), |r| {
            r.get(0)
        })?;
    values.push(V::Integer(q.limit.min(i64::MAX as usize) as i64));
    values.push(V::Integer(q.offset.min(i64::MAX as usize) as i64));
    let n = values.len();
    let mut stmt = conn.prepare(&format!("{COLUMNS}{filter} ORDER BY {order} LIMIT ?{} OFFSET ?{n}", n - 1))?;
    let items = collect(stmt.query_map(params_from_iter(values.iter()), row)?)?;
    Ok(IncidentPage { total, items })
}

pub(super) fn links(conn: &Connection, id: &str) -> Result<Vec<IncidentLink>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT alert_id, incident_id, title, severity, verdict, observed_at, signature FROM incident_alerts
         WHERE incident_id = ?1 ORDER BY observed_at, alert_id",
    )?;
    let rows = stmt.query_map([id], |r| <(String, String, String, String, String, i64, String)>::try_from(r))?;
    let mut out = Vec::new();
    for r in rows {
        let (alert_id, incident_id, title, severity, verdict, at, signature) = r?;
        out.push(IncidentLink {
            alert_id,
            incident_id,
            title,
            severity,
            verdict,
            observed_at: from_ms(at, "incident alert time")?,
            signature,
        });
    }
    Ok(out)
}

pub(super) fn naming(
    conn: &Connection,
    key: &str,
    range: Option<(Timestamp, Timestamp)>,
    limit: usize,
) -> Result<(u64, Vec<Naming>), StoreError> {
    let (from, to) = range.map_or((i64::MIN, i64::MAX), |(a, b)| (ms(a), ms(b)));
    let total: u64 = conn.query_row(
        "SELECT count(*) FROM alert_entities WHERE key = ?1 AND observed_at BETWEEN ?2 AND ?3",
        params![key, from, to],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT alert_id, observed_at, route FROM alert_entities WHERE key = ?1 AND observed_at BETWEEN ?2 AND ?3
         ORDER BY observed_at DESC, alert_id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![key, from, to, limit.min(i64::MAX as usize) as i64], |r| {
        <(String, i64, String)>::try_from(r)
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (alert_id, at, route) = r?;
        out.push(Naming { alert_id, observed_at: from_ms(at, "entity time")?, route });
    }
    Ok((total, out))
}
