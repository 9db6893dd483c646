//! The embedded default: one SQLite file in WAL mode.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use warden_audit::LogItem;
use warden_core::{Alert, AlertId, AuditEntry, AuditRecord, Fingerprint};

use crate::{
    AlertRecord, AlertStore, AuditStore, Batch, CaseStore, Counts, DeadLetter, Feedback, IdentityStore, IncidentLink,
    IncidentPage, IncidentQuery, IncidentRow, Naming, PolicyStore, ProcessingRow, Receipt, ReviewItem, ReviewQuery,
    SessionRow, StoreError, Switch, TokenRow, UserRecord, VaultRow, VaultStore,
};

/// Schema changes, applied in order; `PRAGMA user_version` records how many ran.
/// Never edit a migration that has shipped: add a new one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    observed_at TEXT,
    origin      TEXT NOT NULL,
    document    TEXT NOT NULL,
    classes     TEXT NOT NULL,
    duplicates  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE assessments (
    id          INTEGER PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    analyzer    TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    confidence  REAL NOT NULL,
    body        TEXT NOT NULL,
    validation  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX assessments_alert ON assessments(alert_id);
CREATE TABLE routes (
    alert_id    TEXT PRIMARY KEY REFERENCES alerts(id),
    route       TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    decided_at  TEXT NOT NULL
);
CREATE INDEX routes_route ON routes(route);
CREATE TABLE dead_letters (
    id          TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    origin      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    raw         BLOB NOT NULL
);
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    policy      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log(object);
-- Entries whose content was purged after the retention period: their hashes stay,
-- so the chain and the Merkle tree still verify.
CREATE TABLE audit_pruned (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    leaf_hash   BLOB NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- The only deletion allowed is a purge, which first keeps the entry's hashes.
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_pruned p WHERE p.seq = OLD.seq AND p.hash = OLD.hash)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_pruned_no_update BEFORE UPDATE ON audit_pruned
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_pruned_no_delete BEFORE DELETE ON audit_pruned
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#,
    r#"
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users(name),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE action_requests (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX action_requests_status ON action_requests(status, updated_at);
CREATE TABLE switches (
    scope       TEXT PRIMARY KEY,
    engaged     INTEGER NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE TABLE risk_tiers (
    action      TEXT PRIMARY KEY,
    tier        TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
"#,
    r#"
ALTER TABLE routes ADD COLUMN workflow TEXT NOT NULL DEFAULT 'default';
CREATE TABLE workflows (
    name            TEXT PRIMARY KEY,
    burn_in_started TEXT NOT NULL,
    burn_in_exited  TEXT
);
CREATE TABLE review_items (
    alert_id    TEXT PRIMARY KEY REFERENCES alerts(id),
    workflow    TEXT NOT NULL,
    state       TEXT NOT NULL,
    assignee    TEXT,
    severity    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX review_items_state ON review_items(state, created_at);
-- Decisions never change the AI's assessment; they are linked to it.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    analyst     TEXT NOT NULL,
    body        TEXT NOT NULL,
    decided_at  TEXT NOT NULL
);
CREATE INDEX decisions_alert ON decisions(alert_id);
"#,
    r#"
-- Calibration maps, one per fit; the newest per analyzer is the active one.
CREATE TABLE calibrations (
    version     TEXT PRIMARY KEY,
    analyzer    TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX calibrations_analyzer ON calibrations(analyzer, created_at);
"#,
    r#"
-- Classifier models that passed the go/no-go gate; the newest is active.
CREATE TABLE models (
    version     TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
"#,
    r#"
-- Originals behind tokens, encrypted (AEAD, the key outside the database).
CREATE TABLE vault (
    token       TEXT PRIMARY KEY,
    class       TEXT NOT NULL,
    nonce       BLOB NOT NULL,
    ciphertext  BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
-- The data-processing register: which provider received which classes.
CREATE TABLE processing (
    provider    TEXT NOT NULL,
    residency   TEXT NOT NULL,
    class       TEXT NOT NULL,
    handling    TEXT NOT NULL,
    fields      INTEGER NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    PRIMARY KEY (provider, class, handling)
);
"#,
    r#"
-- Imported Sigma rule sets; the newest is active.
CREATE TABLE rulesets (
    version     TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
"#,
    r#"
-- Web sessions (the id's SHA-256 only) and failed sign-ins, so a restart
-- signs nobody out and forgets no lockout.
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE TABLE login_failures (
    key         TEXT PRIMARY KEY,
    count       INTEGER NOT NULL,
    last_at     TEXT NOT NULL
);
"#,
    r#"
-- Audit entries keep the exact bytes their hash covers (format 2): verification
-- hashes these bytes and never re-serialises what was read. For such rows
-- `payload` is empty (the payload is inside `canonical`); actor, action and
-- object stay as columns for lookups. Rows written before this migration have
-- no bytes and are verified by rebuilding their format 1 canonical form.
ALTER TABLE audit_log ADD COLUMN canonical BLOB;
"#,
    r#"
-- Incidents: alerts grouped by shared entities in a time window. Times are
-- milliseconds since the epoch so ranges and orders are exact.
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    sev_rank    INTEGER NOT NULL,
    verdict     TEXT NOT NULL,
    alert_count INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    assignee    TEXT,
    keys        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX incidents_queue ON incidents(state, sev_rank DESC, last_seen DESC);
CREATE TABLE incident_keys (
    key         TEXT NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    PRIMARY KEY (key, incident_id)
);
CREATE TABLE incident_alerts (
    alert_id    TEXT PRIMARY KEY REFERENCES alerts(id),
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    observed_at INTEGER NOT NULL,
    signature   TEXT NOT NULL
);
CREATE INDEX incident_alerts_incident ON incident_alerts(incident_id, observed_at);
-- Every stored alert and context event by the entities it names.
CREATE TABLE alert_entities (
    key         TEXT NOT NULL,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    observed_at INTEGER NOT NULL,
    route       TEXT NOT NULL,
    PRIMARY KEY (key, alert_id)
);
CREATE INDEX alert_entities_time ON alert_entities(key, observed_at);
"#,
    r#"
-- The queue sorts and filters by a severity's rank with an index, rather
-- than by a CASE expression evaluated over every row of the queue.
ALTER TABLE review_items ADD COLUMN sev_rank INTEGER NOT NULL DEFAULT 0;
UPDATE review_items SET sev_rank = CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3
    WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END;
CREATE INDEX review_items_queue ON review_items(state, sev_rank DESC, created_at, alert_id);
CREATE INDEX review_items_order ON review_items(sev_rank DESC, created_at, alert_id);
"#,
];

mod incidents;

/// A store in one SQLite file. Writers are serialised by a mutex; SQLite's
/// WAL lets readers in other processes proceed meanwhile.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Copies the write-ahead log into the database on its own connection
    /// and thread (file stores only).
    checkpointer: Option<Checkpointer>,
}

/// SQLite copies its write-ahead log back into the database file every so
/// often; done inside a commit, that copy is a pause of tens of milliseconds
/// for whoever commits then (an HTTP request's p99). Here a thread with its
/// own connection runs passive checkpoints (they never block a writer or a
/// reader) every [`CHECKPOINT_EVERY`], and the writer's own automatic
/// checkpoint is only a backstop for a log that grows past
/// [`WAL_BACKSTOP_PAGES`] (a long reader holding the checkpoint back).
struct Checkpointer {
    stop: std::sync::Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
const WAL_BACKSTOP_PAGES: i64 = 50_000;

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_millis(100))?;
        let stop = std::sync::Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let (lock, wake) = &*flag;
                let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                while !*stopped {
                    let (s, _) = wake.wait_timeout(stopped, CHECKPOINT_EVERY).unwrap_or_else(|p| p.into_inner());
                    stopped = s;
                    if *stopped {
                        break;
                    }
                    // Busy or not, the next round tries again; the backstop bounds the log.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl SqliteStore {
    /// Review items by state and/or alert, oldest first.
    fn query_review(
        &self,
        q: &ReviewQuery,
        alert: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<ReviewItem>), StoreError> {
        let conn = self.lock();
        let state = q.state.as_deref().or(q.open.then_some(""));
        let wheres = "FROM review_items ri LEFT JOIN routes r ON r.alert_id = ri.alert_id
             WHERE (?1 IS NULL OR (?1 = '' AND ri.state != 'decided') OR ri.state = ?1)
               AND (?2 IS NULL OR ri.alert_id = ?2) AND (?3 IS NULL OR ri.severity = ?3)
               AND (?4 IS NULL OR ri.workflow = ?4) AND (?5 IS NULL OR r.route = ?5)";
        let args = params![state, alert, q.severity, q.workflow, q.route];
        let total: i64 = conn.prepare_cached(&format!("SELECT count(*) {wheres}"))?.query_row(args, |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT ri.alert_id, ri.workflow, ri.state, ri.assignee, ri.severity, ri.created_at, ri.updated_at {wheres}
             ORDER BY ri.sev_rank DESC, ri.created_at, ri.alert_id
             LIMIT ?6 OFFSET ?7"
        ))?;
        let rows = stmt
            .query_map(params![state, alert, q.severity, q.workflow, q.route, limit as i64, offset as i64], |r| {
                <(String, String, String, Option<String>, String, String, String)>::try_from(r)
            })?;
        let mut out = Vec::new();
        for row in rows {
            let (alert_id, workflow, state, assignee, severity, created, updated) = row?;
            let ts = |s: &str| time(s, "review time");
            out.push(ReviewItem {
                alert_id,
                workflow,
                state,
                assignee,
                severity,
                created_at: ts(&created)?,
                updated_at: ts(&updated)?,
            });
        }
        Ok((total as u64, out))
    }

    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Open { path: path.display().to_string(), reason: e.to_string() })?;
        let mut store = Self::init(conn)?;
        store.lock().pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        store.checkpointer = Some(Checkpointer::start(path)?);
        Ok(store)
    }

    /// An in-memory store, for tests and benchmarks.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        // WAL + FULL: a committed batch survives a killed process and a power cut.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A batch touches a dozen indexes keyed by hashes (random order): a
        // page cache of 64 MiB, rather than SQLite's 2 MiB, keeps their inner
        // pages in memory once the store outgrows the default. Memory, not
        // durability: FULL stays. (File stores checkpoint the log on their
        // own thread: see `Checkpointer`.)
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            return Err(StoreError::Open {
                path: conn.path().unwrap_or("memory").to_owned(),
                reason: format!("the database is at schema {version}, newer than this Warden ({})", MIGRATIONS.len()),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(SqliteStore { conn: Mutex::new(conn), checkpointer: None })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-written transaction
        // (it rolls back on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const ENTRY_COLUMNS: &str =
    "SELECT seq, at, actor, action, object, payload, policy, prev_hash, hash, canonical FROM audit_log";

/// Reads audit rows; a row that cannot be read back is named by its sequence number.
fn read_entries(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        // The bytes are read as whatever SQLite holds (a blob, or text if
        // someone rewrote the row), so an edit is reported by verification
        // rather than as a type error.
        let canonical = match r.get_ref(9)? {
            rusqlite::types::ValueRef::Null => None,
            rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => Some(b.to_vec()),
            other => Some(format!("{other:?}").into_bytes()),
        };
        let text = |i: usize| r.get::<_, String>(i);
        Ok((
            r.get::<_, u64>(0)?,
            text(1)?,
            text(2)?,
            text(3)?,
            text(4)?,
            text(5)?,
            text(6)?,
            text(7)?,
            text(8)?,
            canonical,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, actor, action, object, payload, policy, prev_hash, hash, canonical) = row?;
        out.push(crate::shared::decode_audit(crate::shared::AuditRow {
            seq,
            at,
            actor,
            action,
            object,
            payload,
            policy,
            prev_hash,
            hash,
            canonical,
        })?);
    }
    Ok(out)
}

use crate::shared::{from_json, time, to_json};

impl SqliteStore {
    /// Runs `write` and appends `audit` in one transaction: a change and its
    /// audit records land together or not at all.
    fn audited(
        &self,
        audit: Vec<AuditRecord>,
        policy: &str,
        write: impl FnOnce(&Transaction<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        write(&tx)?;
        append(&tx, audit, policy)?;
        tx.commit()?;
        Ok(())
    }
}

/// Appends records to the audit chain inside a transaction.
fn append(
    tx: &Transaction<'_>,
    records: impl IntoIterator<Item = AuditRecord>,
    policy: &str,
) -> Result<u64, StoreError> {
    let mut last: Option<(u64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM (SELECT seq, hash FROM audit_log UNION ALL SELECT seq, hash FROM audit_pruned)
             ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, action, object, payload, policy, prev_hash, hash, canonical)
         VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, ?8, ?9)",
    )?;
    let at = Timestamp::now();
    for record in records {
        let entry = warden_audit::next_entry(last.as_ref().map(|(s, h)| (*s, h.as_str())), at, record, policy);
        stmt.execute(params![
            entry.seq,
            entry.at.to_string(),
            to_json(&entry.record.actor),
            entry.record.action,
            entry.record.object,
            entry.policy,
            entry.prev_hash,
            entry.hash,
            entry.canonical,
        ])?;
        last = Some((entry.seq, entry.hash));
    }
    Ok(last.map_or(0, |(s, _)| s))
}

/// Adds to the data-processing register inside a transaction.
fn write_processing(tx: &Transaction<'_>, rows: &[ProcessingRow]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO processing (provider, residency, class, handling, fields, first_seen, last_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT(provider, class, handling) DO UPDATE SET fields = fields + excluded.fields,
         last_seen = excluded.last_seen, residency = excluded.residency",
    )?;
    let now = Timestamp::now().to_string();
    for r in rows {
        stmt.execute(params![r.provider, r.residency, r.class, r.handling, r.fields, now])?;
    }
    Ok(())
}

impl AlertStore for SqliteStore {
    fn known(&self, fingerprints: &[&Fingerprint]) -> Result<BTreeMap<Fingerprint, AlertId>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT id FROM alerts WHERE fingerprint = ?1")?;
        let mut out = BTreeMap::new();
        for fp in fingerprints {
            if let Some(id) = stmt.query_row([fp.as_str()], |r| r.get::<_, String>(0)).optional()? {
                let id = AlertId::parse(&id).ok_or(StoreError::Corrupt {
                    what: "alert id",
                    source: serde::de::Error::custom("malformed id"),
                })?;
                out.insert((*fp).clone(), id);
            }
        }
        Ok(out)
    }

    fn commit(&self, batch: Batch) -> Result<Receipt, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut receipt = Receipt::default();
        let mut audit = Vec::new();
        {
            let mut insert_alert = tx.prepare_cached(
                "INSERT INTO alerts (id, fingerprint, format, received_at, observed_at, origin, document, classes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
            )?;
            let mut insert_assessment = tx.prepare_cached(
                "INSERT INTO assessments (alert_id, analyzer, verdict, severity, confidence, body, validation, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut insert_route = tx.prepare_cached(
                "INSERT INTO routes (alert_id, route, reasons, decided_at, workflow) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut insert_review = tx.prepare_cached(
                "INSERT INTO review_items (alert_id, workflow, state, severity, sev_rank, created_at, updated_at)
                 VALUES (?1, ?2, 'new', ?3, ?5, ?4, ?4)",
            )?;
            let mut insert_entity = tx.prepare_cached(
                "INSERT INTO alert_entities (key, alert_id, observed_at, route) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut bump = tx.prepare_cached("UPDATE alerts SET duplicates = duplicates + 1 WHERE id = ?1")?;
            let mut existing = tx.prepare_cached("SELECT id FROM alerts WHERE fingerprint = ?1")?;
            let now = Timestamp::now().to_string();
            for t in batch.triaged {
                let a = &t.alert;
                let inserted = insert_alert.execute(params![
                    a.id.as_str(),
                    a.fingerprint.as_str(),
                    a.format.as_str(),
                    a.received_at.to_string(),
                    a.observed_at.map(|t| t.to_string()),
                    to_json(&a.origin),
                    to_json(a),
                    to_json(&t.classes),
                ])?;
                if inserted == 0 {
                    let id: String = existing
                        .query_row([a.fingerprint.as_str()], |r| r.get(0))
                        .optional()?
                        .ok_or_else(|| StoreError::IdCollision(a.id.to_string()))?;
                    bump.execute([&id])?;
                    // The engine said what to record then.
                    audit.extend(t.if_stored_already.clone());
                    receipt.raced_duplicates.push((a.id.clone(), AlertId::parse(&id).unwrap_or_else(|| a.id.clone())));
                    continue;
                }
                let s = &t.assessment;
                insert_assessment.execute(params![
                    a.id.as_str(),
                    format!("{}@{}", s.analyzer.name, s.analyzer.version),
                    s.verdict.as_str(),
                    s.severity.as_str(),
                    s.confidence.get(),
                    to_json(s),
                    to_json(&t.validation),
                    now,
                ])?;
                insert_route.execute(params![
                    a.id.as_str(),
                    t.route.kind.as_str(),
                    to_json(&t.route.reasons),
                    now,
                    t.workflow
                ])?;
                if matches!(t.route.kind, warden_core::RouteKind::Review | warden_core::RouteKind::Escalated) {
                    let severity = t.assessment.severity.as_str();
                    insert_review.execute(params![
                        a.id.as_str(),
                        t.workflow,
                        severity,
                        now,
                        crate::shared::severity_rank(severity)
                    ])?;
                }
                let at = a.observed_at.unwrap_or(a.received_at).as_millisecond();
                for key in &t.entities {
                    insert_entity.execute(params![key, a.id.as_str(), at, t.route.kind.as_str()])?;
                }
                audit.extend(t.audit);
                receipt.stored.push(t.alert.id);
            }
            for d in batch.duplicates {
                bump.execute([d.alert_id.as_str()])?;
                audit.extend(d.audit);
            }
            let mut insert_dead = tx.prepare_cached(
                "INSERT INTO dead_letters (id, received_at, origin, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
            )?;
            for d in batch.dead_letters {
                insert_dead.execute(params![d.id, d.received_at.to_string(), to_json(&d.origin), d.reason, d.raw])?;
            }
            let mut start = tx.prepare_cached(
                "INSERT INTO workflows (name, burn_in_started) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for (name, started) in &batch.workflows_started {
                start.execute(params![name, started.to_string()])?;
            }
        }
        // Links only for alerts this commit stored (a raced duplicate's row is another's).
        let stored: std::collections::HashSet<&str> = receipt.stored.iter().map(|id| id.as_str()).collect();
        let links: Vec<&crate::IncidentLink> =
            batch.links.iter().filter(|l| stored.contains(l.alert_id.as_str())).collect();
        incidents::write(&tx, &batch.incidents, &links)?;
        write_processing(&tx, &batch.processing)?;
        audit.extend(batch.audit);
        receipt.last_audit_seq = append(&tx, audit, &batch.policy)?;
        tx.commit()?;
        Ok(receipt)
    }

    fn alert(&self, id: &AlertId) -> Result<Option<AlertRecord>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row("SELECT document, duplicates FROM alerts WHERE id = ?1", [id.as_str()], |r| {
                <(String, u64)>::try_from(r)
            })
            .optional()?;
        let Some((doc, duplicates)) = row else {
            return Ok(None);
        };
        let alert: Alert = from_json(&doc, "alert")?;
        let assessment = conn
            .query_row(
                "SELECT body, validation FROM assessments WHERE alert_id = ?1 ORDER BY id DESC LIMIT 1",
                [id.as_str()],
                |r| <(String, String)>::try_from(r),
            )
            .optional()?;
        let (assessment, validation) = match assessment {
            Some((a, v)) => (Some(from_json(&a, "assessment")?), Some(from_json(&v, "validation")?)),
            None => (None, None),
        };
        let route = conn
            .query_row("SELECT route, reasons FROM routes WHERE alert_id = ?1", [id.as_str()], |r| {
                <(String, String)>::try_from(r)
            })
            .optional()?;
        let route = match route {
            Some((kind, reasons)) => Some(warden_core::Route {
                kind: kind
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "route", source: serde::de::Error::custom(e) })?,
                reasons: from_json(&reasons, "route reasons")?,
            }),
            None => None,
        };
        Ok(Some(AlertRecord { alert, duplicates, assessment, validation, route }))
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT id, received_at, origin, reason, raw FROM dead_letters ORDER BY received_at DESC, rowid DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| <(String, String, String, String, Vec<u8>)>::try_from(r))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, origin, reason, raw) = row?;
            out.push(DeadLetter {
                id,
                received_at: at
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "time", source: serde::de::Error::custom(e) })?,
                origin: from_json(&origin, "origin")?,
                reason,
                raw,
            });
        }
        Ok(out)
    }

    fn alert_workflow(&self, id: &str) -> Result<Option<String>, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row("SELECT workflow FROM routes WHERE alert_id = ?1", [id], |r| r.get(0)).optional()?)
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let conn = self.lock();
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, u64>(0));
        let mut counts = Counts {
            alerts: one("SELECT count(*) FROM alerts")?,
            duplicates: one("SELECT coalesce(sum(duplicates), 0) FROM alerts")?,
            dead_letters: one("SELECT count(*) FROM dead_letters")?,
            audit_entries: one("SELECT count(*) FROM audit_log")?,
            routes: BTreeMap::new(),
        };
        let mut stmt = conn.prepare("SELECT route, count(*) FROM routes GROUP BY route")?;
        for row in stmt.query_map([], |r| <(String, u64)>::try_from(r))? {
            let (route, n) = row?;
            counts.routes.insert(route, n);
        }
        Ok(counts)
    }

    fn naming(
        &self,
        key: &str,
        range: Option<(Timestamp, Timestamp)>,
        limit: usize,
    ) -> Result<(u64, Vec<Naming>), StoreError> {
        incidents::naming(&self.lock(), key, range, limit)
    }
}

impl AuditStore for SqliteStore {
    fn audit_entries(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.lock();
        read_entries(
            &conn,
            &format!("{ENTRY_COLUMNS} WHERE seq >= ?1 ORDER BY seq LIMIT ?2"),
            params![from, limit as i64],
        )
    }

    fn audit_log(&self, from: u64, limit: usize) -> Result<Vec<LogItem>, StoreError> {
        let conn = self.lock();
        let full = read_entries(
            &conn,
            &format!("{ENTRY_COLUMNS} WHERE seq >= ?1 ORDER BY seq LIMIT ?2"),
            params![from, limit as i64],
        )?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, prev_hash, hash, leaf_hash FROM audit_pruned WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut pruned = Vec::new();
        for row in stmt.query_map(params![from, limit as i64], |r| <(u64, String, String, Vec<u8>)>::try_from(r))? {
            let (seq, prev_hash, hash, leaf) = row?;
            pruned.push(crate::shared::pruned(seq, prev_hash, hash, &leaf)?);
        }
        Ok(crate::shared::merge_log(full, pruned, limit))
    }

    fn audit_log_sealed(&self, from: u64, limit: usize) -> Result<Vec<LogItem>, StoreError> {
        type Row = (u64, String, String, String, String, String, Option<Vec<u8>>);
        let rows: Vec<Row> = {
            let conn = self.lock();
            // Purged positions, or entries of format 1 (no stored bytes), take the decoding path.
            let pruned: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM audit_pruned WHERE seq >= ?1)")?
                .query_row([from], |r| r.get(0))?;
            if pruned {
                drop(conn);
                return AuditStore::audit_log(self, from, limit);
            }
            let mut stmt = conn.prepare_cached(
                "SELECT seq, action, object, payload, prev_hash, hash, canonical FROM audit_log
                 WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![from, limit as i64], |r| {
                let bytes = match r.get_ref(6)? {
                    rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => Some(b.to_vec()),
                    _ => None,
                };
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, bytes))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        if rows.iter().any(|r| r.6.is_none()) {
            return AuditStore::audit_log(self, from, limit);
        }
        rows.into_iter()
            .map(|(seq, action, object, payload, prev_hash, hash, canonical)| {
                if !payload.is_empty() {
                    // Format 2 keeps the payload only in the hashed bytes.
                    return Err(StoreError::CorruptAudit {
                        seq,
                        what: "its columns differ from the bytes its hash covers (the row was altered)".into(),
                    });
                }
                let canonical = canonical.expect("checked above");
                Ok(LogItem::Sealed(warden_audit::Sealed { seq, action, object, prev_hash, hash, canonical }))
            })
            .collect()
    }

    fn audit_leaves(&self, from: u64, limit: usize) -> Result<Vec<crate::Leaf>, StoreError> {
        let rows: Vec<(u64, String, String, Option<Vec<u8>>)> = {
            let conn = self.lock();
            let mut stmt = conn.prepare_cached(
                "SELECT seq, prev_hash, hash, canonical FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![from, limit as i64], |r| {
                let bytes = match r.get_ref(3)? {
                    rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => Some(b.to_vec()),
                    _ => None,
                };
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, bytes))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        // Entries without stored bytes (format 1) or positions that were purged take the full path.
        match crate::shared::fast_leaves(from, rows) {
            Some(leaves) => leaves,
            None => crate::leaves_of(AuditStore::audit_log(self, from, limit)?),
        }
    }

    fn audit_for_object(&self, object: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.lock();
        read_entries(&conn, &format!("{ENTRY_COLUMNS} WHERE object = ?1 ORDER BY seq"), params![object])
    }

    fn audit_len(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT max(coalesce((SELECT max(seq) FROM audit_log), 0), coalesce((SELECT max(seq) FROM audit_pruned), 0))",
            [],
            |r| r.get::<_, u64>(0),
        )?)
    }

    fn append_audit(&self, records: Vec<AuditRecord>, policy: &str) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let seq = append(&tx, records, policy)?;
        tx.commit()?;
        Ok(seq)
    }

    fn purge_audit(&self, up_to: u64, before: Timestamp) -> Result<u64, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let victims = read_entries(
            &tx,
            &format!("{ENTRY_COLUMNS} WHERE seq <= ?1 AND at < ?2 ORDER BY seq"),
            params![up_to, before.to_string()],
        )?;
        {
            let mut keep = tx.prepare_cached(
                "INSERT INTO audit_pruned (seq, at, prev_hash, hash, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM audit_log WHERE seq = ?1")?;
            for e in &victims {
                let leaf = warden_audit::merkle::leaf_hash(&warden_audit::entry_bytes(e));
                keep.execute(params![e.seq, e.at.to_string(), e.prev_hash, e.hash, leaf.to_vec()])?;
                delete.execute([e.seq])?;
            }
        }
        tx.commit()?;
        Ok(victims.len() as u64)
    }
}

impl CaseStore for SqliteStore {
    fn save_action(
        &self,
        id: &str,
        status: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
        let now = Timestamp::now().to_string();
        tx.execute(
            "INSERT INTO action_requests (id, status, body, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body, updated_at = excluded.updated_at",
            params![id, status, to_json(body), now],
        )?;
            Ok(())
        })
    }

    fn action(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let conn = self.lock();
        let body: Option<String> =
            conn.query_row("SELECT body FROM action_requests WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        body.map(|b| from_json(&b, "action request")).transpose()
    }

    fn actions(&self, status: Option<&str>, limit: usize) -> Result<Vec<serde_json::Value>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT body FROM action_requests WHERE (?1 IS NULL OR status = ?1) ORDER BY created_at DESC, id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![status, limit as i64], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(&row?, "action request")?);
        }
        Ok(out)
    }

    fn count_actions_since(&self, status: &str, since: Timestamp) -> Result<u64, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT count(*) FROM action_requests WHERE status = ?1 AND updated_at >= ?2",
            params![status, since.to_string()],
            |r| r.get(0),
        )?)
    }

    fn review_items(&self, q: &ReviewQuery, offset: usize, limit: usize) -> Result<(u64, Vec<ReviewItem>), StoreError> {
        self.query_review(q, None, offset, limit)
    }

    fn review_item(&self, alert_id: &str) -> Result<Option<ReviewItem>, StoreError> {
        Ok(self.query_review(&ReviewQuery::default(), Some(alert_id), 0, 1)?.1.pop())
    }

    fn set_review(
        &self,
        alert_id: &str,
        state: &str,
        assignee: Option<&str>,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE review_items SET state = ?2, assignee = ?3, updated_at = ?4 WHERE alert_id = ?1",
            params![alert_id, state, assignee, Timestamp::now().to_string()],
        )?;
        if n > 0 {
            append(&tx, audit, policy)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn add_decision(
        &self,
        alert_id: &str,
        analyst: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
        let now = Timestamp::now().to_string();
        tx.execute(
            "INSERT INTO decisions (alert_id, analyst, body, decided_at) VALUES (?1, ?2, ?3, ?4)",
            params![alert_id, analyst, to_json(body), now],
        )?;
        // An alert decided outside the queue (auto-closed, QA) gets its queue row now.
        tx.execute(
            "INSERT INTO review_items (alert_id, workflow, state, assignee, severity, sev_rank, created_at, updated_at)
             SELECT ?1, coalesce((SELECT workflow FROM routes WHERE alert_id = ?1), 'default'), 'decided', ?2, sev,
                    CASE sev WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END,
                    ?3, ?3
             FROM (SELECT coalesce((SELECT severity FROM assessments WHERE alert_id = ?1 ORDER BY id DESC LIMIT 1), 'info') AS sev)
             WHERE true
             ON CONFLICT(alert_id) DO UPDATE SET state = 'decided', assignee = ?2, updated_at = ?3",
            params![alert_id, analyst, now],
        )?;
            Ok(())
        })
    }

    fn decisions(&self, alert_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT body FROM decisions WHERE alert_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([alert_id], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(from_json(&row?, "decision")?);
        }
        Ok(out)
    }

    fn feedback(&self, workflow: Option<&str>) -> Result<Vec<Feedback>, StoreError> {
        let conn = self.lock();
        // The latest decision per alert, with the assessment it judged.
        let mut stmt = conn.prepare_cached(
            "SELECT d.alert_id, d.body, a.body, r.workflow, r.route, al.received_at, d.decided_at, a.validation, r.reasons
             FROM decisions d
             JOIN (SELECT alert_id, max(id) AS id FROM decisions GROUP BY alert_id) last ON last.id = d.id
             JOIN assessments a ON a.id = (SELECT max(id) FROM assessments WHERE alert_id = d.alert_id)
             JOIN routes r ON r.alert_id = d.alert_id
             JOIN alerts al ON al.id = d.alert_id
             WHERE (?1 IS NULL OR r.workflow = ?1)
             ORDER BY d.id",
        )?;
        let rows = stmt.query_map(params![workflow], |r| {
            <(String, String, String, String, String, String, String, String, String)>::try_from(r)
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (alert_id, decision, assessment, workflow, route, received, decided, validation, reasons) = row?;
            let reasons: Vec<warden_core::Reason> = from_json(&reasons, "route reasons")?;
            out.push(Feedback {
                alert_id,
                decision: from_json(&decision, "decision")?,
                assessment: from_json(&assessment, "assessment")?,
                validation: serde_json::from_str(&validation).ok(),
                workflow,
                route,
                reasons: reasons.into_iter().map(|r| r.code).collect(),
                received_at: received
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "time", source: serde::de::Error::custom(e) })?,
                decided_at: decided
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "time", source: serde::de::Error::custom(e) })?,
            });
        }
        Ok(out)
    }

    fn open_incidents(&self, keys: &[String], since: Timestamp) -> Result<Vec<IncidentRow>, StoreError> {
        incidents::open(&self.lock(), keys, since)
    }

    fn incidents(&self, q: &IncidentQuery) -> Result<IncidentPage, StoreError> {
        incidents::page(&self.lock(), q)
    }

    fn incident(&self, id: &str) -> Result<Option<IncidentRow>, StoreError> {
        incidents::one(&self.lock(), id)
    }

    fn incident_links(&self, id: &str) -> Result<Vec<IncidentLink>, StoreError> {
        incidents::links(&self.lock(), id)
    }

    fn incident_of(&self, alert_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .query_row("SELECT incident_id FROM incident_alerts WHERE alert_id = ?1", [alert_id], |r| r.get(0))
            .optional()?)
    }

    fn save_incidents(
        &self,
        rows: &[IncidentRow],
        links: &[IncidentLink],
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| incidents::write(tx, rows, &links.iter().collect::<Vec<_>>()))
    }
}

impl IdentityStore for SqliteStore {
    fn add_user(&self, user: &UserRecord, audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            let n = tx.execute(
                "INSERT INTO users (name, password_hash, roles, created_at, disabled) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
                params![
                    user.name,
                    user.password_hash,
                    to_json(&user.roles),
                    user.created_at.to_string(),
                    user.disabled
                ],
            )?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("user {} exists already", user.name)));
            }
            Ok(())
        })
    }

    fn set_roles(&self, name: &str, roles: &[String], audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            let n = tx.execute("UPDATE users SET roles = ?1 WHERE name = ?2", params![to_json(&roles), name])?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("no user {name}")));
            }
            Ok(())
        })
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT name, password_hash, roles, created_at, disabled FROM users WHERE name = ?1",
                [name],
                |r| <(String, String, String, String, bool)>::try_from(r),
            )
            .optional()?;
        row.map(|(name, password_hash, roles, at, disabled)| {
            Ok(UserRecord {
                name,
                password_hash,
                roles: from_json(&roles, "user roles")?,
                created_at: at
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "user time", source: serde::de::Error::custom(e) })?,
                disabled,
            })
        })
        .transpose()
    }

    fn add_token(
        &self,
        id: &str,
        user: &str,
        token_hash: &str,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO api_tokens (id, user_name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, user, token_hash, Timestamp::now().to_string()],
            )?;
            Ok(())
        })
    }

    fn user_by_token(&self, token_hash: &str) -> Result<Option<(String, String)>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT t.id, t.user_name FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.disabled = 0",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT id, user_name, created_at, revoked_at FROM api_tokens ORDER BY created_at, id")?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenRow { id: r.get(0)?, user: r.get(1)?, created_at: r.get(2)?, revoked_at: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_token(&self, id: &str, audit: Vec<AuditRecord>, policy: &str) -> Result<bool, StoreError> {
        let live: bool = self.lock().query_row(
            "SELECT EXISTS(SELECT 1 FROM api_tokens WHERE id = ?1 AND revoked_at IS NULL)",
            [id],
            |r| r.get(0),
        )?;
        if !live {
            return Ok(false);
        }
        self.audited(audit, policy, |tx| {
            tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, Timestamp::now().to_string()],
            )?;
            Ok(())
        })?;
        Ok(true)
    }

    fn put_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![s.id_hash, s.user, s.csrf, s.created_at.to_string(), s.last_seen.to_string()],
        )?;
        Ok(())
    }

    fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self
            .lock()
            .query_row(
                "SELECT id_hash, user_name, csrf, created_at, last_seen FROM web_sessions WHERE id_hash = ?1",
                [id_hash],
                |r| <(String, String, String, String, String)>::try_from(r),
            )
            .optional()?;
        let ts = |s: &str| time(s, "session time");
        row.map(|(id_hash, user, csrf, created, seen)| {
            Ok(SessionRow { id_hash, user, csrf, created_at: ts(&created)?, last_seen: ts(&seen)? })
        })
        .transpose()
    }

    fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError> {
        self.lock()
            .execute("UPDATE web_sessions SET last_seen = ?2 WHERE id_hash = ?1", params![id_hash, at.to_string()])?;
        Ok(())
    }

    fn end_sessions(&self, id_hash: Option<&str>, user: Option<&str>) -> Result<u64, StoreError> {
        let n = self.lock().execute(
            "DELETE FROM web_sessions WHERE (?1 IS NULL OR id_hash = ?1) AND (?2 IS NULL OR user_name = ?2)
             AND (?1 IS NOT NULL OR ?2 IS NOT NULL)",
            params![id_hash, user],
        )?;
        Ok(n as u64)
    }

    fn purge_sessions(&self, idle_before: Timestamp, created_before: Timestamp) -> Result<u64, StoreError> {
        let n = self.lock().execute(
            "DELETE FROM web_sessions WHERE last_seen < ?1 OR created_at < ?2",
            params![idle_before.to_string(), created_before.to_string()],
        )?;
        Ok(n as u64)
    }

    fn login_failures(&self, key: &str) -> Result<Option<(u32, Timestamp)>, StoreError> {
        let row: Option<(u32, String)> = self
            .lock()
            .query_row("SELECT count, last_at FROM login_failures WHERE key = ?1", [key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(n, at)| Ok((n, time(&at, "login failure time")?))).transpose()
    }

    fn set_login_failures(&self, key: &str, count: Option<(u32, Timestamp)>) -> Result<(), StoreError> {
        let conn = self.lock();
        match count {
            Some((n, at)) => conn.execute(
                "INSERT INTO login_failures (key, count, last_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at",
                params![key, n, at.to_string()],
            )?,
            None => conn.execute("DELETE FROM login_failures WHERE key = ?1", [key])?,
        };
        Ok(())
    }
}

impl PolicyStore for SqliteStore {
    fn set_switch(&self, s: &Switch, audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO switches (scope, engaged, changed_by, changed_at, reason) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(scope) DO UPDATE SET engaged = excluded.engaged, changed_by = excluded.changed_by,
             changed_at = excluded.changed_at, reason = excluded.reason",
                params![s.scope, s.engaged, s.changed_by, s.changed_at.to_string(), s.reason],
            )?;
            Ok(())
        })
    }

    fn switches(&self) -> Result<Vec<Switch>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare_cached("SELECT scope, engaged, changed_by, changed_at, reason FROM switches ORDER BY scope")?;
        let rows = stmt.query_map([], |r| <(String, bool, String, String, String)>::try_from(r))?;
        let mut out = Vec::new();
        for row in rows {
            let (scope, engaged, changed_by, at, reason) = row?;
            out.push(Switch {
                scope,
                engaged,
                changed_by,
                changed_at: at
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "switch time", source: serde::de::Error::custom(e) })?,
                reason,
            });
        }
        Ok(out)
    }

    fn set_tier(
        &self,
        action: &str,
        tier: &str,
        by: &str,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
        tx.execute(
            "INSERT INTO risk_tiers (action, tier, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(action) DO UPDATE SET tier = excluded.tier, changed_by = excluded.changed_by, changed_at = excluded.changed_at",
            params![action, tier, by, Timestamp::now().to_string()],
        )?;
            Ok(())
        })
    }

    fn tiers(&self) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT action, tier FROM risk_tiers ORDER BY action")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn workflow_state(&self, name: &str) -> Result<Option<(Timestamp, Option<Timestamp>)>, StoreError> {
        let conn = self.lock();
        let row: Option<(String, Option<String>)> = conn
            .query_row("SELECT burn_in_started, burn_in_exited FROM workflows WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let ts = |s: &str| time(s, "workflow time");
        row.map(|(a, b)| Ok((ts(&a)?, b.as_deref().map(ts).transpose()?))).transpose()
    }

    fn start_workflow(
        &self,
        name: &str,
        started: Timestamp,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO workflows (name, burn_in_started) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![name, started.to_string()],
        )?;
        if n > 0 {
            append(&tx, audit, policy)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn exit_workflow(
        &self,
        name: &str,
        at: Timestamp,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute("UPDATE workflows SET burn_in_exited = ?2 WHERE name = ?1", params![name, at.to_string()])?;
            Ok(())
        })
    }

    fn save_calibration(
        &self,
        version: &str,
        analyzer: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO calibrations (version, analyzer, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![version, analyzer, to_json(body), Timestamp::now().to_string()],
            )?;
            Ok(())
        })
    }

    fn active_calibration(&self, analyzer: &str) -> Result<Option<(String, serde_json::Value)>, StoreError> {
        let conn = self.lock();
        let row: Option<(String, String)> = conn
            .query_row(
                "SELECT version, body FROM calibrations WHERE analyzer = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 1",
                [analyzer],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(v, b)| Ok((v, from_json(&b, "calibration")?))).transpose()
    }

    fn save_model(
        &self,
        version: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO models (version, body, created_at) VALUES (?1, ?2, ?3)",
                params![version, to_json(body), Timestamp::now().to_string()],
            )?;
            Ok(())
        })
    }

    fn active_model(&self) -> Result<Option<serde_json::Value>, StoreError> {
        let conn = self.lock();
        let body: Option<String> = conn
            .query_row("SELECT body FROM models ORDER BY created_at DESC, rowid DESC LIMIT 1", [], |r| r.get(0))
            .optional()?;
        body.map(|b| from_json(&b, "model")).transpose()
    }

    fn save_ruleset(
        &self,
        version: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO rulesets (version, body, imported_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(version) DO UPDATE SET imported_at = excluded.imported_at",
                params![version, to_json(body), Timestamp::now().to_string()],
            )?;
            Ok(())
        })
    }

    fn active_ruleset(&self) -> Result<Option<(String, serde_json::Value)>, StoreError> {
        let conn = self.lock();
        let row: Option<(String, String)> = conn
            .query_row("SELECT version, body FROM rulesets ORDER BY imported_at DESC, rowid DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(v, b)| Ok((v, from_json(&b, "rule set")?))).transpose()
    }
}

impl VaultStore for SqliteStore {
    fn put_vault(&self, entries: &[VaultRow]) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO vault (token, class, nonce, ciphertext, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
            )?;
            let now = Timestamp::now().to_string();
            for e in entries {
                stmt.execute(params![e.token, e.class, e.nonce, e.ciphertext, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn vault_entry(&self, token: &str) -> Result<Option<VaultRow>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row("SELECT token, class, nonce, ciphertext FROM vault WHERE token = ?1", [token], |r| {
                Ok(VaultRow { token: r.get(0)?, class: r.get(1)?, nonce: r.get(2)?, ciphertext: r.get(3)? })
            })
            .optional()?)
    }

    fn record_processing(&self, rows: &[ProcessingRow]) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        write_processing(&tx, rows)?;
        tx.commit()?;
        Ok(())
    }

    fn register(&self) -> Result<Vec<ProcessingRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached(
            "SELECT provider, residency, class, handling, fields, first_seen, last_seen FROM processing ORDER BY provider, class",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ProcessingRow {
                provider: r.get(0)?,
                residency: r.get(1)?,
                class: r.get(2)?,
                handling: r.get(3)?,
                fields: r.get(4)?,
                first_seen: Some(r.get(5)?),
                last_seen: Some(r.get(6)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
