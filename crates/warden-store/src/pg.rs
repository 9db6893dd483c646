//! The scale-out backend: one PostgreSQL database shared by several Warden
//! nodes.
//!
//! Every write that appends to the audit log first takes one transaction-
//! scoped advisory lock, so the hash chain stays one chain however many
//! nodes write: a node reads the chain head and appends under the lock, and
//! the lock is released by its commit or rollback. The audit tables refuse
//! updates, deletes and truncation with triggers, as in SQLite.
//!
//! The trait is synchronous; the `postgres` client runs its own small
//! runtime, so callers inside async code reach it from `spawn_blocking`, as
//! they already do for SQLite.

use std::collections::BTreeMap;

use jiff::Timestamp;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;
use warden_audit::LogItem;
use warden_core::{Alert, AlertId, AuditEntry, AuditRecord, Fingerprint};

use crate::shared::{AuditRow, decode_audit, from_json, from_ms, ms, severity_rank, stamp, time, to_json};
use crate::{
    AlertRecord, AlertStore, AuditStore, Batch, CaseStore, Counts, DeadLetter, Feedback, IdentityStore, IncidentLink,
    IncidentPage, IncidentQuery, IncidentRow, Naming, PolicyStore, ProcessingRow, Receipt, ReviewItem, ReviewQuery,
    SessionRow, StoreError, Switch, TokenRow, UserRecord, VaultRow, VaultStore,
};

/// Whether connections are encrypted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PgTls {
    /// Plain connections: loopback or a private network you trust.
    #[default]
    Off,
    /// TLS through rustls, the server's certificate checked against the
    /// Mozilla roots and `ca_file`; with `sslmode=require` in the URL a server
    /// without TLS is refused, with the default `prefer` it is used when offered.
    Verify { ca_file: Option<std::path::PathBuf> },
}

type Tls = tokio_postgres_rustls::MakeRustlsConnect;
type Pool = r2d2::Pool<PostgresConnectionManager<Tls>>;

fn tls(ca_file: Option<&std::path::Path>) -> Result<Tls, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| format!("CA file {}: {e}", path.display()))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
            roots.add(cert).map_err(|e| format!("CA file {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("CA file {}: no certificate in it", path.display()));
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Key of the advisory lock that serialises the audit chain's head (and
/// migrations): "warden" in ASCII.
const CHAIN_LOCK: i64 = 0x7761_7264_656e;

/// Schema changes, applied in order; `warden_schema` records how many ran.
/// Never edit a migration that has shipped: add a new one.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    format      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    observed_at TEXT,
    origin      TEXT NOT NULL,
    document    TEXT NOT NULL,
    classes     TEXT NOT NULL,
    duplicates  BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE assessments (
    id          BIGSERIAL PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    analyzer    TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    confidence  DOUBLE PRECISION NOT NULL,
    body        TEXT NOT NULL,
    validation  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX assessments_alert ON assessments(alert_id);
CREATE TABLE routes (
    alert_id    TEXT PRIMARY KEY REFERENCES alerts(id),
    route       TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    workflow    TEXT NOT NULL DEFAULT 'default'
);
CREATE INDEX routes_route ON routes(route);
CREATE TABLE dead_letters (
    n           BIGSERIAL UNIQUE,
    id          TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    origin      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    raw         BYTEA NOT NULL
);
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    policy      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    canonical   BYTEA
);
CREATE INDEX audit_log_object ON audit_log(object);
CREATE TABLE audit_pruned (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    leaf_hash   BYTEA NOT NULL
);
CREATE FUNCTION warden_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
-- The only deletion allowed is a purge, which first keeps the entry's hashes.
CREATE FUNCTION warden_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_pruned p WHERE p.seq = OLD.seq AND p.hash = OLD.hash) THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION warden_purge_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER audit_pruned_no_update BEFORE UPDATE OR DELETE ON audit_pruned
    FOR EACH ROW EXECUTE FUNCTION warden_append_only();
CREATE TRIGGER audit_pruned_no_truncate BEFORE TRUNCATE ON audit_pruned EXECUTE FUNCTION warden_append_only();
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false
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
    engaged     BOOLEAN NOT NULL,
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
    sev_rank    BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX review_items_queue ON review_items(state, sev_rank DESC, created_at, alert_id);
CREATE INDEX review_items_order ON review_items(sev_rank DESC, created_at, alert_id);
CREATE TABLE decisions (
    id          BIGSERIAL PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    analyst     TEXT NOT NULL,
    body        TEXT NOT NULL,
    decided_at  TEXT NOT NULL
);
CREATE INDEX decisions_alert ON decisions(alert_id);
CREATE TABLE calibrations (
    n           BIGSERIAL UNIQUE,
    version     TEXT PRIMARY KEY,
    analyzer    TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX calibrations_analyzer ON calibrations(analyzer, created_at);
CREATE TABLE models (
    n           BIGSERIAL UNIQUE,
    version     TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE vault (
    token       TEXT PRIMARY KEY,
    class       TEXT NOT NULL,
    nonce       BYTEA NOT NULL,
    ciphertext  BYTEA NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE processing (
    provider    TEXT NOT NULL,
    residency   TEXT NOT NULL,
    class       TEXT NOT NULL,
    handling    TEXT NOT NULL,
    fields      BIGINT NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    PRIMARY KEY (provider, class, handling)
);
CREATE TABLE rulesets (
    n           BIGSERIAL UNIQUE,
    version     TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE TABLE web_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE TABLE login_failures (
    key         TEXT PRIMARY KEY,
    count       BIGINT NOT NULL,
    last_at     TEXT NOT NULL
);
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    sev_rank    BIGINT NOT NULL,
    verdict     TEXT NOT NULL,
    alert_count BIGINT NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
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
    observed_at BIGINT NOT NULL,
    signature   TEXT NOT NULL
);
CREATE INDEX incident_alerts_incident ON incident_alerts(incident_id, observed_at);
CREATE TABLE alert_entities (
    key         TEXT NOT NULL,
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    observed_at BIGINT NOT NULL,
    route       TEXT NOT NULL,
    PRIMARY KEY (key, alert_id)
);
CREATE INDEX alert_entities_time ON alert_entities(key, observed_at);
"#];

/// A store in one PostgreSQL database (or one schema of it), shared by
/// every node that opens it.
pub struct PostgresStore {
    /// Always Some until dropped.
    pool: Option<Pool>,
    timings: std::sync::Mutex<crate::WriteTimings>,
}

impl Drop for PostgresStore {
    /// The `postgres` client blocks on its own runtime when a connection
    /// closes, which panics on a thread that drives async tasks (the last
    /// owner of a server's engine may be one). Closing on a thread of its own
    /// is safe wherever the store is dropped.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// Whether a schema name is a plain identifier (it is put into SQL as one).
fn plain_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`), in `schema` when
    /// given (created if missing; the database's default search path
    /// otherwise), and applies pending migrations. Several nodes may do this
    /// at once: migrations run under a lock.
    pub fn connect(url: &str, schema: Option<&str>, mode: &PgTls) -> Result<Self, StoreError> {
        let open = |reason: String| StoreError::Open { path: redact(url), reason };
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| open(e.to_string()))?;
        let tls = match mode {
            PgTls::Off => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                tls(None).map_err(open)?
            }
            PgTls::Verify { ca_file } => tls(ca_file.as_deref()).map_err(open)?,
        };
        if let Some(schema) = schema {
            if !plain_identifier(schema) {
                return Err(open(format!(
                    "schema {schema:?} must be lower-case letters, digits and underscores, not starting with a digit"
                )));
            }
            let mut client = config.connect(tls.clone()).map_err(|e| open(StoreError::from(e).to_string()))?;
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .map_err(|e| open(StoreError::from(e).to_string()))?;
            config.options(&format!("-c search_path={schema}"));
        }
        config.application_name("warden");
        config.connect_timeout(std::time::Duration::from_secs(10));
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .connection_timeout(std::time::Duration::from_secs(15))
            .build(PostgresConnectionManager::new(config, tls))
            .map_err(|e| open(e.to_string()))?;
        let store = PostgresStore { pool: Some(pool), timings: Default::default() };
        store.migrate().map_err(|e| open(e.to_string()))?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK])?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS warden_schema (version BIGINT NOT NULL)")?;
        let version: i64 =
            tx.query_opt("SELECT version FROM warden_schema", &[])?.map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::Conflict(format!(
                "the database is at schema {version}, newer than this Warden ({})",
                MIGRATIONS.len()
            )));
        }
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.batch_execute(sql)?;
        }
        tx.execute("DELETE FROM warden_schema", &[])?;
        tx.execute("INSERT INTO warden_schema (version) VALUES ($1)", &[&(MIGRATIONS.len() as i64)])?;
        tx.commit()?;
        Ok(())
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<Tls>>, StoreError> {
        Ok(self.pool.as_ref().expect("the pool lives as long as the store").get()?)
    }

    /// Runs `write` and appends `audit` in one transaction, the chain locked
    /// for its whole length: a change and its audit records land together or
    /// not at all.
    fn audited<T>(
        &self,
        audit: Vec<AuditRecord>,
        policy: &str,
        write: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        let out = write(&mut tx)?;
        append(&mut tx, audit, policy)?;
        tx.commit()?;
        Ok(out)
    }

    /// Review items by state and/or alert, in queue order.
    fn query_review(
        &self,
        q: &ReviewQuery,
        alert: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<(u64, Vec<ReviewItem>), StoreError> {
        let mut conn = self.conn()?;
        let state = q.state.as_deref().or(q.open.then_some(""));
        let wheres = "FROM review_items ri LEFT JOIN routes r ON r.alert_id = ri.alert_id
             WHERE ($1::text IS NULL OR ($1 = '' AND ri.state <> 'decided') OR ri.state = $1)
               AND ($2::text IS NULL OR ri.alert_id = $2) AND ($3::text IS NULL OR ri.severity = $3)
               AND ($4::text IS NULL OR ri.workflow = $4) AND ($5::text IS NULL OR r.route = $5)";
        let args: [&(dyn ToSql + Sync); 5] = [&state, &alert, &q.severity, &q.workflow, &q.route];
        let total: i64 = conn.query_one(&format!("SELECT count(*) {wheres}"), &args)?.try_get(0)?;
        let (limit, offset) = (clamp(limit), clamp(offset));
        let mut all = args.to_vec();
        all.extend([&limit as &(dyn ToSql + Sync), &offset]);
        let rows = conn.query(
            &format!(
                "SELECT ri.alert_id, ri.workflow, ri.state, ri.assignee, ri.severity, ri.created_at, ri.updated_at
                 {wheres} ORDER BY ri.sev_rank DESC, ri.created_at, ri.alert_id LIMIT $6 OFFSET $7"
            ),
            &all,
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let ts = |i: usize| -> Result<Timestamp, StoreError> { time(&r.try_get::<_, String>(i)?, "review time") };
            out.push(ReviewItem {
                alert_id: r.try_get(0)?,
                workflow: r.try_get(1)?,
                state: r.try_get(2)?,
                assignee: r.try_get(3)?,
                severity: r.try_get(4)?,
                created_at: ts(5)?,
                updated_at: ts(6)?,
            });
        }
        Ok((total as u64, out))
    }
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// A count or offset as PostgreSQL's BIGINT.
fn clamp(n: usize) -> i64 {
    n.min(i64::MAX as usize) as i64
}

/// Takes the chain lock for the rest of the transaction.
fn lock_chain(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK])?;
    Ok(())
}

/// Appends records to the audit chain; the caller holds the chain lock.
fn append(
    tx: &mut Transaction<'_>,
    records: impl IntoIterator<Item = AuditRecord>,
    policy: &str,
) -> Result<u64, StoreError> {
    let head = tx.query_opt(
        "SELECT seq, hash FROM (SELECT seq, hash FROM audit_log UNION ALL SELECT seq, hash FROM audit_pruned) h
         ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let mut last: Option<(u64, String)> = match head {
        Some(r) => Some((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?)),
        None => None,
    };
    let at = Timestamp::now();
    let mut cols = AuditColumns::default();
    for record in records {
        let entry = warden_audit::next_entry(last.as_ref().map(|(s, h)| (*s, h.as_str())), at, record, policy);
        cols.seq.push(entry.seq as i64);
        cols.at.push(entry.at.to_string());
        cols.actor.push(to_json(&entry.record.actor));
        cols.action.push(entry.record.action);
        cols.object.push(entry.record.object);
        cols.policy.push(entry.policy);
        cols.prev.push(entry.prev_hash);
        cols.hash.push(entry.hash.clone());
        cols.canonical.push(entry.canonical);
        last = Some((entry.seq, entry.hash));
    }
    // One statement for the whole run of entries: a round trip per batch, not per entry.
    if !cols.seq.is_empty() {
        tx.execute(
            "INSERT INTO audit_log (seq, at, actor, action, object, payload, policy, prev_hash, hash, canonical)
             SELECT seq, at, actor, action, object, '', policy, prev_hash, hash, canonical
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::bytea[])
                  AS e(seq, at, actor, action, object, policy, prev_hash, hash, canonical)",
            &[
                &cols.seq,
                &cols.at,
                &cols.actor,
                &cols.action,
                &cols.object,
                &cols.policy,
                &cols.prev,
                &cols.hash,
                &cols.canonical,
            ],
        )?;
    }
    Ok(last.map_or(0, |(s, _)| s))
}

/// Audit entries as column arrays, for one multi-row insert.
#[derive(Default)]
struct AuditColumns {
    seq: Vec<i64>,
    at: Vec<String>,
    actor: Vec<String>,
    action: Vec<String>,
    object: Vec<String>,
    policy: Vec<String>,
    prev: Vec<String>,
    hash: Vec<String>,
    canonical: Vec<Option<Vec<u8>>>,
}

const ENTRY_COLUMNS: &str =
    "SELECT seq, at, actor, action, object, payload, policy, prev_hash, hash, canonical FROM audit_log";

fn read_entries(
    c: &mut impl GenericClient,
    sql: &str,
    args: &[&(dyn ToSql + Sync)],
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = c.query(sql, args)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(decode_audit(AuditRow {
            seq: r.try_get::<_, i64>(0)? as u64,
            at: r.try_get(1)?,
            actor: r.try_get(2)?,
            action: r.try_get(3)?,
            object: r.try_get(4)?,
            payload: r.try_get(5)?,
            policy: r.try_get(6)?,
            prev_hash: r.try_get(7)?,
            hash: r.try_get(8)?,
            canonical: r.try_get(9)?,
        })?);
    }
    Ok(out)
}

/// One JSON text column of the first row, decoded.
fn json_opt<T: serde::de::DeserializeOwned>(row: Option<Row>, what: &'static str) -> Result<Option<T>, StoreError> {
    row.map(|r| from_json(&r.try_get::<_, String>(0)?, what)).transpose()
}

/// Adds to the data-processing register inside a transaction.
fn write_processing(tx: &mut Transaction<'_>, rows: &[ProcessingRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare(
        "INSERT INTO processing (provider, residency, class, handling, fields, first_seen, last_seen)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT(provider, class, handling) DO UPDATE SET fields = processing.fields + excluded.fields,
         last_seen = excluded.last_seen, residency = excluded.residency",
    )?;
    let now = stamp(Timestamp::now());
    for r in rows {
        let fields = r.fields.min(i64::MAX as u64) as i64;
        tx.execute(&stmt, &[&r.provider, &r.residency, &r.class, &r.handling, &fields, &now])?;
    }
    Ok(())
}

impl AlertStore for PostgresStore {
    fn known(&self, fingerprints: &[&Fingerprint]) -> Result<BTreeMap<Fingerprint, AlertId>, StoreError> {
        let wanted: Vec<&str> = fingerprints.iter().map(|f| f.as_str()).collect();
        let rows = self.conn()?.query("SELECT fingerprint, id FROM alerts WHERE fingerprint = ANY($1)", &[&wanted])?;
        let mut out = BTreeMap::new();
        for r in rows {
            let fp: String = r.try_get(0)?;
            let id: String = r.try_get(1)?;
            let id = AlertId::parse(&id)
                .ok_or(StoreError::Corrupt { what: "alert id", source: serde::de::Error::custom("malformed id") })?;
            if let Some(f) = fingerprints.iter().find(|f| f.as_str() == fp) {
                out.insert((*f).clone(), id);
            }
        }
        Ok(out)
    }

    fn write_timings(&self) -> Option<crate::WriteTimings> {
        Some(*self.timings.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn commit(&self, batch: Batch) -> Result<Receipt, StoreError> {
        let started = std::time::Instant::now();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        let waited = started.elapsed();
        let mut receipt = Receipt::default();
        let mut audit = Vec::new();
        let now = stamp(Timestamp::now());
        // Each table gets one multi-row statement per batch (arrays through
        // unnest): round trips, not rows, are what a network database costs.
        let mut a = AlertColumns::default();
        for t in &batch.triaged {
            let x = &t.alert;
            a.id.push(x.id.to_string());
            a.fingerprint.push(x.fingerprint.as_str().to_owned());
            a.format.push(x.format.as_str().to_owned());
            a.received.push(stamp(x.received_at));
            a.observed.push(x.observed_at.map(stamp));
            a.origin.push(to_json(&x.origin));
            a.document.push(to_json(x));
            a.classes.push(to_json(&t.classes));
        }
        let inserted: std::collections::HashSet<String> = if a.id.is_empty() {
            Default::default()
        } else {
            tx.query(
                "INSERT INTO alerts (id, fingerprint, format, received_at, observed_at, origin, document, classes)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::text[], $8::text[])
                 ON CONFLICT DO NOTHING RETURNING id",
                &[&a.id, &a.fingerprint, &a.format, &a.received, &a.observed, &a.origin, &a.document, &a.classes],
            )?
            .into_iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?
        };
        let mut s = StageColumns::default();
        let mut bumps: BTreeMap<String, i64> = BTreeMap::new();
        for t in batch.triaged {
            let x = &t.alert;
            if !inserted.contains(x.id.as_str()) {
                // Stored already (another writer got there first), or an id taken by another fingerprint.
                let id: String = tx
                    .query_opt("SELECT id FROM alerts WHERE fingerprint = $1", &[&x.fingerprint.as_str()])?
                    .map(|r| r.try_get(0))
                    .transpose()?
                    .ok_or_else(|| StoreError::IdCollision(x.id.to_string()))?;
                *bumps.entry(id.clone()).or_default() += 1;
                // The engine said what to record then.
                audit.extend(t.if_stored_already.clone());
                receipt.raced_duplicates.push((x.id.clone(), AlertId::parse(&id).unwrap_or_else(|| x.id.clone())));
                continue;
            }
            let id = x.id.to_string();
            let a = &t.assessment;
            s.id.push(id.clone());
            s.analyzer.push(format!("{}@{}", a.analyzer.name, a.analyzer.version));
            s.verdict.push(a.verdict.as_str().to_owned());
            s.severity.push(a.severity.as_str().to_owned());
            s.confidence.push(a.confidence.get());
            s.body.push(to_json(a));
            s.validation.push(to_json(&t.validation));
            s.route.push(t.route.kind.as_str().to_owned());
            s.reasons.push(to_json(&t.route.reasons));
            s.workflow.push(t.workflow.clone());
            if matches!(t.route.kind, warden_core::RouteKind::Review | warden_core::RouteKind::Escalated) {
                s.review_id.push(id.clone());
                s.review_workflow.push(t.workflow.clone());
                s.review_severity.push(a.severity.as_str().to_owned());
                s.review_rank.push(severity_rank(a.severity.as_str()));
            }
            let at = ms(x.observed_at.unwrap_or(x.received_at));
            for key in &t.entities {
                s.entity_key.push(key.clone());
                s.entity_alert.push(id.clone());
                s.entity_at.push(at);
                s.entity_route.push(t.route.kind.as_str().to_owned());
            }
            audit.extend(t.audit);
            receipt.stored.push(t.alert.id);
        }
        if !s.id.is_empty() {
            tx.execute(
                "INSERT INTO assessments (alert_id, analyzer, verdict, severity, confidence, body, validation, created_at)
                 SELECT alert_id, analyzer, verdict, severity, confidence, body, validation, $8
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[])
                      WITH ORDINALITY AS v(alert_id, analyzer, verdict, severity, confidence, body, validation, n)
                 ORDER BY n",
                &[&s.id, &s.analyzer, &s.verdict, &s.severity, &s.confidence, &s.body, &s.validation, &now],
            )?;
            tx.execute(
                "INSERT INTO routes (alert_id, route, reasons, decided_at, workflow)
                 SELECT alert_id, route, reasons, $5, workflow
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(alert_id, route, reasons, workflow)",
                &[&s.id, &s.route, &s.reasons, &s.workflow, &now],
            )?;
        }
        if !s.review_id.is_empty() {
            tx.execute(
                "INSERT INTO review_items (alert_id, workflow, state, severity, sev_rank, created_at, updated_at)
                 SELECT alert_id, workflow, 'new', severity, sev_rank, $5, $5
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(alert_id, workflow, severity, sev_rank)",
                &[&s.review_id, &s.review_workflow, &s.review_severity, &s.review_rank, &now],
            )?;
        }
        if !s.entity_key.is_empty() {
            tx.execute(
                "INSERT INTO alert_entities (key, alert_id, observed_at, route)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) ON CONFLICT DO NOTHING",
                &[&s.entity_key, &s.entity_alert, &s.entity_at, &s.entity_route],
            )?;
        }
        for d in batch.duplicates {
            *bumps.entry(d.alert_id.to_string()).or_default() += 1;
            audit.extend(d.audit);
        }
        if !bumps.is_empty() {
            let (ids, ns): (Vec<String>, Vec<i64>) = bumps.into_iter().unzip();
            tx.execute(
                "UPDATE alerts a SET duplicates = a.duplicates + v.n FROM unnest($1::text[], $2::bigint[]) AS v(id, n)
                 WHERE a.id = v.id",
                &[&ids, &ns],
            )?;
        }
        let insert_dead = tx.prepare(
            "INSERT INTO dead_letters (id, received_at, origin, reason, raw) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )?;
        for d in batch.dead_letters {
            tx.execute(&insert_dead, &[&d.id, &stamp(d.received_at), &to_json(&d.origin), &d.reason, &d.raw])?;
        }
        for (name, started) in &batch.workflows_started {
            tx.execute(
                "INSERT INTO workflows (name, burn_in_started) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[name, &stamp(*started)],
            )?;
        }
        // Links only for alerts this commit stored (a raced duplicate's row is another's).
        let stored: std::collections::HashSet<&str> = receipt.stored.iter().map(|id| id.as_str()).collect();
        let links: Vec<&IncidentLink> = batch.links.iter().filter(|l| stored.contains(l.alert_id.as_str())).collect();
        write_incidents(&mut tx, &batch.incidents, &links)?;
        write_processing(&mut tx, &batch.processing)?;
        audit.extend(batch.audit);
        receipt.last_audit_seq = append(&mut tx, audit, &batch.policy)?;
        tx.commit()?;
        let mut t = self.timings.lock().unwrap_or_else(|p| p.into_inner());
        t.commits += 1;
        t.chain_lock_wait += waited;
        t.commit += started.elapsed();
        Ok(receipt)
    }

    fn alert(&self, id: &AlertId) -> Result<Option<AlertRecord>, StoreError> {
        let mut conn = self.conn()?;
        let Some(row) = conn.query_opt("SELECT document, duplicates FROM alerts WHERE id = $1", &[&id.as_str()])?
        else {
            return Ok(None);
        };
        let alert: Alert = from_json(&row.try_get::<_, String>(0)?, "alert")?;
        let duplicates = row.try_get::<_, i64>(1)? as u64;
        let assessment = conn.query_opt(
            "SELECT body, validation FROM assessments WHERE alert_id = $1 ORDER BY id DESC LIMIT 1",
            &[&id.as_str()],
        )?;
        let (assessment, validation) = match assessment {
            Some(r) => (
                Some(from_json(&r.try_get::<_, String>(0)?, "assessment")?),
                Some(from_json(&r.try_get::<_, String>(1)?, "validation")?),
            ),
            None => (None, None),
        };
        let route = match conn.query_opt("SELECT route, reasons FROM routes WHERE alert_id = $1", &[&id.as_str()])? {
            Some(r) => Some(warden_core::Route {
                kind: r
                    .try_get::<_, String>(0)?
                    .parse()
                    .map_err(|e| StoreError::Corrupt { what: "route", source: serde::de::Error::custom(e) })?,
                reasons: from_json(&r.try_get::<_, String>(1)?, "route reasons")?,
            }),
            None => None,
        };
        Ok(Some(AlertRecord { alert, duplicates, assessment, validation, route }))
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT id, received_at, origin, reason, raw FROM dead_letters ORDER BY received_at DESC, n DESC LIMIT $1",
            &[&clamp(limit)],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(DeadLetter {
                id: r.try_get(0)?,
                received_at: time(&r.try_get::<_, String>(1)?, "time")?,
                origin: from_json(&r.try_get::<_, String>(2)?, "origin")?,
                reason: r.try_get(3)?,
                raw: r.try_get(4)?,
            });
        }
        Ok(out)
    }

    fn alert_workflow(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.conn()?
            .query_opt("SELECT workflow FROM routes WHERE alert_id = $1", &[&id])?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let mut conn = self.conn()?;
        let r = conn.query_one(
            "SELECT (SELECT count(*) FROM alerts), (SELECT coalesce(sum(duplicates), 0)::bigint FROM alerts),
                    (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM audit_log)",
            &[],
        )?;
        let n = |i: usize| -> Result<u64, StoreError> { Ok(r.try_get::<_, i64>(i)? as u64) };
        let mut counts = Counts {
            alerts: n(0)?,
            duplicates: n(1)?,
            dead_letters: n(2)?,
            audit_entries: n(3)?,
            routes: BTreeMap::new(),
        };
        for r in conn.query("SELECT route, count(*) FROM routes GROUP BY route", &[])? {
            counts.routes.insert(r.try_get(0)?, r.try_get::<_, i64>(1)? as u64);
        }
        Ok(counts)
    }

    fn naming(
        &self,
        key: &str,
        range: Option<(Timestamp, Timestamp)>,
        limit: usize,
    ) -> Result<(u64, Vec<Naming>), StoreError> {
        let (from, to) = range.map_or((i64::MIN, i64::MAX), |(a, b)| (ms(a), ms(b)));
        let mut conn = self.conn()?;
        let total: i64 = conn
            .query_one(
                "SELECT count(*) FROM alert_entities WHERE key = $1 AND observed_at BETWEEN $2 AND $3",
                &[&key, &from, &to],
            )?
            .try_get(0)?;
        let rows = conn.query(
            "SELECT alert_id, observed_at, route FROM alert_entities WHERE key = $1 AND observed_at BETWEEN $2 AND $3
             ORDER BY observed_at DESC, alert_id LIMIT $4",
            &[&key, &from, &to, &clamp(limit)],
        )?;
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(Naming {
                    alert_id: r.try_get(0)?,
                    observed_at: from_ms(r.try_get(1)?, "entity time")?,
                    route: r.try_get(2)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((total as u64, items))
    }
}

impl AuditStore for PostgresStore {
    fn audit_entries(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        read_entries(
            &mut *self.conn()?,
            &format!("{ENTRY_COLUMNS} WHERE seq >= $1 ORDER BY seq LIMIT $2"),
            &[&(from.min(i64::MAX as u64) as i64), &clamp(limit)],
        )
    }

    fn audit_log(&self, from: u64, limit: usize) -> Result<Vec<LogItem>, StoreError> {
        let mut conn = self.conn()?;
        let from = from.min(i64::MAX as u64) as i64;
        let full = read_entries(
            &mut *conn,
            &format!("{ENTRY_COLUMNS} WHERE seq >= $1 ORDER BY seq LIMIT $2"),
            &[&from, &clamp(limit)],
        )?;
        let rows = conn.query(
            "SELECT seq, prev_hash, hash, leaf_hash FROM audit_pruned WHERE seq >= $1 ORDER BY seq LIMIT $2",
            &[&from, &clamp(limit)],
        )?;
        let mut pruned = Vec::with_capacity(rows.len());
        for r in rows {
            let leaf: Vec<u8> = r.try_get(3)?;
            pruned.push(crate::shared::pruned(r.try_get::<_, i64>(0)? as u64, r.try_get(1)?, r.try_get(2)?, &leaf)?);
        }
        Ok(crate::shared::merge_log(full, pruned, limit))
    }

    fn audit_leaves(&self, from: u64, limit: usize) -> Result<Vec<crate::Leaf>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT seq, prev_hash, hash, canonical FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
            &[&(from.min(i64::MAX as u64) as i64), &clamp(limit)],
        )?;
        let mut raw = Vec::with_capacity(rows.len());
        for r in rows {
            raw.push((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
        }
        match crate::shared::fast_leaves(from, raw) {
            Some(leaves) => leaves,
            None => crate::leaves_of(AuditStore::audit_log(self, from, limit)?),
        }
    }

    fn audit_for_object(&self, object: &str) -> Result<Vec<AuditEntry>, StoreError> {
        read_entries(&mut *self.conn()?, &format!("{ENTRY_COLUMNS} WHERE object = $1 ORDER BY seq"), &[&object])
    }

    fn audit_len(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT greatest(coalesce((SELECT max(seq) FROM audit_log), 0),
                                 coalesce((SELECT max(seq) FROM audit_pruned), 0))",
                &[],
            )?
            .try_get(0)?;
        Ok(n as u64)
    }

    fn append_audit(&self, records: Vec<AuditRecord>, policy: &str) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        let seq = append(&mut tx, records, policy)?;
        tx.commit()?;
        Ok(seq)
    }

    fn purge_audit(&self, up_to: u64, before: Timestamp) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        // Compared as times, not text: entries keep jiff's shortest form.
        let candidates = read_entries(
            &mut tx,
            &format!("{ENTRY_COLUMNS} WHERE seq <= $1 ORDER BY seq"),
            &[&(up_to.min(i64::MAX as u64) as i64)],
        )?;
        let keep =
            tx.prepare("INSERT INTO audit_pruned (seq, at, prev_hash, hash, leaf_hash) VALUES ($1, $2, $3, $4, $5)")?;
        let delete = tx.prepare("DELETE FROM audit_log WHERE seq = $1")?;
        let mut purged = 0;
        for e in candidates.iter().filter(|e| e.at < before) {
            let leaf = warden_audit::merkle::leaf_hash(&warden_audit::entry_bytes(e));
            let seq = e.seq as i64;
            tx.execute(&keep, &[&seq, &e.at.to_string(), &e.prev_hash, &e.hash, &leaf.as_slice()])?;
            tx.execute(&delete, &[&seq])?;
            purged += 1;
        }
        tx.commit()?;
        Ok(purged)
    }
}

impl CaseStore for PostgresStore {
    fn save_action(
        &self,
        id: &str,
        status: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO action_requests (id, status, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body,
                 updated_at = excluded.updated_at",
                &[&id, &status, &to_json(body), &stamp(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn action(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        json_opt(self.conn()?.query_opt("SELECT body FROM action_requests WHERE id = $1", &[&id])?, "action request")
    }

    fn actions(&self, status: Option<&str>, limit: usize) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT body FROM action_requests WHERE ($1::text IS NULL OR status = $1)
             ORDER BY created_at DESC, id LIMIT $2",
            &[&status, &clamp(limit)],
        )?;
        rows.into_iter().map(|r| from_json(&r.try_get::<_, String>(0)?, "action request")).collect()
    }

    fn count_actions_since(&self, status: &str, since: Timestamp) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()?
            .query_one(
                "SELECT count(*) FROM action_requests WHERE status = $1 AND updated_at >= $2",
                &[&status, &stamp(since)],
            )?
            .try_get(0)?;
        Ok(n as u64)
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
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        let n = tx.execute(
            "UPDATE review_items SET state = $2, assignee = $3, updated_at = $4 WHERE alert_id = $1",
            &[&alert_id, &state, &assignee, &stamp(Timestamp::now())],
        )?;
        if n > 0 {
            append(&mut tx, audit, policy)?;
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
            let now = stamp(Timestamp::now());
            tx.execute(
                "INSERT INTO decisions (alert_id, analyst, body, decided_at) VALUES ($1, $2, $3, $4)",
                &[&alert_id, &analyst, &to_json(body), &now],
            )?;
            // An alert decided outside the queue (auto-closed, QA) gets its queue row now.
            let severity: String = tx
                .query_opt("SELECT severity FROM assessments WHERE alert_id = $1 ORDER BY id DESC LIMIT 1", &[&alert_id])?
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or_else(|| "info".into());
            tx.execute(
                "INSERT INTO review_items (alert_id, workflow, state, assignee, severity, sev_rank, created_at, updated_at)
                 SELECT $1::text, coalesce((SELECT workflow FROM routes WHERE alert_id = $1::text), 'default'),
                        'decided', $2::text, $4::text, $5::bigint, $3::text, $3::text
                 ON CONFLICT(alert_id) DO UPDATE SET state = 'decided', assignee = $2::text, updated_at = $3::text",
                &[&alert_id, &analyst, &now, &severity, &severity_rank(&severity)],
            )?;
            Ok(())
        })
    }

    fn decisions(&self, alert_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = self.conn()?.query("SELECT body FROM decisions WHERE alert_id = $1 ORDER BY id", &[&alert_id])?;
        rows.into_iter().map(|r| from_json(&r.try_get::<_, String>(0)?, "decision")).collect()
    }

    fn feedback(&self, workflow: Option<&str>) -> Result<Vec<Feedback>, StoreError> {
        // The latest decision per alert, with the assessment it judged.
        let rows = self.conn()?.query(
            "SELECT d.alert_id, d.body, a.body, r.workflow, r.route, al.received_at, d.decided_at, a.validation, r.reasons
             FROM decisions d
             JOIN (SELECT alert_id, max(id) AS id FROM decisions GROUP BY alert_id) last ON last.id = d.id
             JOIN assessments a ON a.id = (SELECT max(id) FROM assessments WHERE alert_id = d.alert_id)
             JOIN routes r ON r.alert_id = d.alert_id
             JOIN alerts al ON al.id = d.alert_id
             WHERE ($1::text IS NULL OR r.workflow = $1)
             ORDER BY d.id",
            &[&workflow],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let text = |i: usize| r.try_get::<_, String>(i);
            let reasons: Vec<warden_core::Reason> = from_json(&text(8)?, "route reasons")?;
            out.push(Feedback {
                alert_id: text(0)?,
                decision: from_json(&text(1)?, "decision")?,
                assessment: from_json(&text(2)?, "assessment")?,
                validation: serde_json::from_str(&text(7)?).ok(),
                workflow: text(3)?,
                route: text(4)?,
                reasons: reasons.into_iter().map(|r| r.code).collect(),
                received_at: time(&text(5)?, "time")?,
                decided_at: time(&text(6)?, "time")?,
            });
        }
        Ok(out)
    }

    fn open_incidents(&self, keys: &[String], since: Timestamp) -> Result<Vec<IncidentRow>, StoreError> {
        let rows = self.conn()?.query(
            &format!(
                "{INCIDENT_COLUMNS} WHERE state = 'open' AND last_seen >= $2
                   AND id IN (SELECT incident_id FROM incident_keys WHERE key = ANY($1))
                 ORDER BY id"
            ),
            &[&keys, &ms(since)],
        )?;
        rows.into_iter().map(decode_incident).collect()
    }

    fn incidents(&self, q: &IncidentQuery) -> Result<IncidentPage, StoreError> {
        let (filter, order, args) = crate::shared::incident_filter(q, |n| format!("${n}"));
        let mut values: Vec<Box<dyn ToSql + Sync>> = args
            .into_iter()
            .map(|a| -> Box<dyn ToSql + Sync> {
                match a {
                    crate::shared::Arg::Text(s) => Box::new(s),
                    crate::shared::Arg::Int(i) => Box::new(i),
                }
            })
            .collect();
        let mut conn = self.conn()?;
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|a| a.as_ref()).collect();
        let total: i64 = conn.query_one(&format!("SELECT count(*) FROM incidents{filter}"), &refs)?.try_get(0)?;
        values.push(Box::new(clamp(q.limit)));
        values.push(Box::new(clamp(q.offset)));
        let n = values.len();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|a| a.as_ref()).collect();
        let sql = format!("{INCIDENT_COLUMNS}{filter} ORDER BY {order} LIMIT ${} OFFSET ${n}", n - 1);
        let items = conn.query(&sql, &refs)?.into_iter().map(decode_incident).collect::<Result<_, _>>()?;
        Ok(IncidentPage { total: total as u64, items })
    }

    fn incident(&self, id: &str) -> Result<Option<IncidentRow>, StoreError> {
        self.conn()?.query_opt(&format!("{INCIDENT_COLUMNS} WHERE id = $1"), &[&id])?.map(decode_incident).transpose()
    }

    fn incident_links(&self, id: &str) -> Result<Vec<IncidentLink>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT alert_id, incident_id, title, severity, verdict, observed_at, signature FROM incident_alerts
             WHERE incident_id = $1 ORDER BY observed_at, alert_id",
            &[&id],
        )?;
        rows.into_iter()
            .map(|r| {
                Ok(IncidentLink {
                    alert_id: r.try_get(0)?,
                    incident_id: r.try_get(1)?,
                    title: r.try_get(2)?,
                    severity: r.try_get(3)?,
                    verdict: r.try_get(4)?,
                    observed_at: from_ms(r.try_get(5)?, "incident alert time")?,
                    signature: r.try_get(6)?,
                })
            })
            .collect()
    }

    fn incident_of(&self, alert_id: &str) -> Result<Option<String>, StoreError> {
        self.conn()?
            .query_opt("SELECT incident_id FROM incident_alerts WHERE alert_id = $1", &[&alert_id])?
            .map(|r| Ok(r.try_get(0)?))
            .transpose()
    }

    fn save_incidents(
        &self,
        rows: &[IncidentRow],
        links: &[IncidentLink],
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| write_incidents(tx, rows, &links.iter().collect::<Vec<_>>()))
    }
}

impl IdentityStore for PostgresStore {
    fn add_user(&self, user: &UserRecord, audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            let n = tx.execute(
                "INSERT INTO users (name, password_hash, roles, created_at, disabled) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                &[&user.name, &user.password_hash, &to_json(&user.roles), &stamp(user.created_at), &user.disabled],
            )?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("user {} exists already", user.name)));
            }
            Ok(())
        })
    }

    fn set_roles(&self, name: &str, roles: &[String], audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            let n = tx.execute("UPDATE users SET roles = $1 WHERE name = $2", &[&to_json(&roles), &name])?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("no user {name}")));
            }
            Ok(())
        })
    }

    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = self.conn()?.query_opt(
            "SELECT name, password_hash, roles, created_at, disabled FROM users WHERE name = $1",
            &[&name],
        )?;
        row.map(|r| {
            Ok(UserRecord {
                name: r.try_get(0)?,
                password_hash: r.try_get(1)?,
                roles: from_json(&r.try_get::<_, String>(2)?, "user roles")?,
                created_at: time(&r.try_get::<_, String>(3)?, "user time")?,
                disabled: r.try_get(4)?,
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
                "INSERT INTO api_tokens (id, user_name, token_hash, created_at) VALUES ($1, $2, $3, $4)",
                &[&id, &user, &token_hash, &stamp(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn user_by_token(&self, token_hash: &str) -> Result<Option<(String, String)>, StoreError> {
        self.conn()?
            .query_opt(
                "SELECT t.id, t.user_name FROM api_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND NOT u.disabled",
                &[&token_hash],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
    }

    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let rows = self
            .conn()?
            .query("SELECT id, user_name, created_at, revoked_at FROM api_tokens ORDER BY created_at, id", &[])?;
        rows.into_iter()
            .map(|r| {
                Ok(TokenRow {
                    id: r.try_get(0)?,
                    user: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    revoked_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn revoke_token(&self, id: &str, audit: Vec<AuditRecord>, policy: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        let n = tx.execute(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &stamp(Timestamp::now())],
        )?;
        if n == 0 {
            return Ok(false);
        }
        append(&mut tx, audit, policy)?;
        tx.commit()?;
        Ok(true)
    }

    fn put_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, last_seen) VALUES ($1, $2, $3, $4, $5)",
            &[&s.id_hash, &s.user, &s.csrf, &stamp(s.created_at), &stamp(s.last_seen)],
        )?;
        Ok(())
    }

    fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let row = self.conn()?.query_opt(
            "SELECT id_hash, user_name, csrf, created_at, last_seen FROM web_sessions WHERE id_hash = $1",
            &[&id_hash],
        )?;
        row.map(|r| {
            Ok(SessionRow {
                id_hash: r.try_get(0)?,
                user: r.try_get(1)?,
                csrf: r.try_get(2)?,
                created_at: time(&r.try_get::<_, String>(3)?, "session time")?,
                last_seen: time(&r.try_get::<_, String>(4)?, "session time")?,
            })
        })
        .transpose()
    }

    fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError> {
        self.conn()?.execute("UPDATE web_sessions SET last_seen = $2 WHERE id_hash = $1", &[&id_hash, &stamp(at)])?;
        Ok(())
    }

    fn end_sessions(&self, id_hash: Option<&str>, user: Option<&str>) -> Result<u64, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM web_sessions WHERE ($1::text IS NULL OR id_hash = $1) AND ($2::text IS NULL OR user_name = $2)
             AND ($1::text IS NOT NULL OR $2::text IS NOT NULL)",
            &[&id_hash, &user],
        )?)
    }

    fn purge_sessions(&self, idle_before: Timestamp, created_before: Timestamp) -> Result<u64, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM web_sessions WHERE last_seen < $1 OR created_at < $2",
            &[&stamp(idle_before), &stamp(created_before)],
        )?)
    }

    fn login_failures(&self, key: &str) -> Result<Option<(u32, Timestamp)>, StoreError> {
        let row = self.conn()?.query_opt("SELECT count, last_at FROM login_failures WHERE key = $1", &[&key])?;
        row.map(|r| {
            let n: i64 = r.try_get(0)?;
            Ok((n.clamp(0, u32::MAX as i64) as u32, time(&r.try_get::<_, String>(1)?, "login failure time")?))
        })
        .transpose()
    }

    fn set_login_failures(&self, key: &str, count: Option<(u32, Timestamp)>) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        match count {
            Some((n, at)) => conn.execute(
                "INSERT INTO login_failures (key, count, last_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at",
                &[&key, &(n as i64), &stamp(at)],
            )?,
            None => conn.execute("DELETE FROM login_failures WHERE key = $1", &[&key])?,
        };
        Ok(())
    }
}

impl PolicyStore for PostgresStore {
    fn set_switch(&self, s: &Switch, audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError> {
        self.audited(audit, policy, |tx| {
            tx.execute(
                "INSERT INTO switches (scope, engaged, changed_by, changed_at, reason) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT(scope) DO UPDATE SET engaged = excluded.engaged, changed_by = excluded.changed_by,
                 changed_at = excluded.changed_at, reason = excluded.reason",
                &[&s.scope, &s.engaged, &s.changed_by, &stamp(s.changed_at), &s.reason],
            )?;
            Ok(())
        })
    }

    fn switches(&self) -> Result<Vec<Switch>, StoreError> {
        let rows = self
            .conn()?
            .query("SELECT scope, engaged, changed_by, changed_at, reason FROM switches ORDER BY scope", &[])?;
        rows.into_iter()
            .map(|r| {
                Ok(Switch {
                    scope: r.try_get(0)?,
                    engaged: r.try_get(1)?,
                    changed_by: r.try_get(2)?,
                    changed_at: time(&r.try_get::<_, String>(3)?, "switch time")?,
                    reason: r.try_get(4)?,
                })
            })
            .collect()
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
                "INSERT INTO risk_tiers (action, tier, changed_by, changed_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT(action) DO UPDATE SET tier = excluded.tier, changed_by = excluded.changed_by,
                 changed_at = excluded.changed_at",
                &[&action, &tier, &by, &stamp(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn tiers(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.conn()?.query("SELECT action, tier FROM risk_tiers ORDER BY action", &[])?;
        rows.into_iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    fn workflow_state(&self, name: &str) -> Result<Option<(Timestamp, Option<Timestamp>)>, StoreError> {
        let row = self
            .conn()?
            .query_opt("SELECT burn_in_started, burn_in_exited FROM workflows WHERE name = $1", &[&name])?;
        row.map(|r| {
            let started: String = r.try_get(0)?;
            let exited: Option<String> = r.try_get(1)?;
            Ok((time(&started, "workflow time")?, exited.map(|e| time(&e, "workflow time")).transpose()?))
        })
        .transpose()
    }

    fn start_workflow(
        &self,
        name: &str,
        started: Timestamp,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        lock_chain(&mut tx)?;
        let n = tx.execute(
            "INSERT INTO workflows (name, burn_in_started) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&name, &stamp(started)],
        )?;
        if n > 0 {
            append(&mut tx, audit, policy)?;
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
            tx.execute("UPDATE workflows SET burn_in_exited = $2 WHERE name = $1", &[&name, &stamp(at)])?;
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
                "INSERT INTO calibrations (version, analyzer, body, created_at) VALUES ($1, $2, $3, $4)",
                &[&version, &analyzer, &to_json(body), &stamp(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn active_calibration(&self, analyzer: &str) -> Result<Option<(String, serde_json::Value)>, StoreError> {
        let row = self.conn()?.query_opt(
            "SELECT version, body FROM calibrations WHERE analyzer = $1 ORDER BY created_at DESC, n DESC LIMIT 1",
            &[&analyzer],
        )?;
        row.map(|r| Ok((r.try_get(0)?, from_json(&r.try_get::<_, String>(1)?, "calibration")?))).transpose()
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
                "INSERT INTO models (version, body, created_at) VALUES ($1, $2, $3)",
                &[&version, &to_json(body), &stamp(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn active_model(&self) -> Result<Option<serde_json::Value>, StoreError> {
        json_opt(
            self.conn()?.query_opt("SELECT body FROM models ORDER BY created_at DESC, n DESC LIMIT 1", &[])?,
            "model",
        )
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
                "INSERT INTO rulesets (version, body, imported_at) VALUES ($1, $2, $3)
                 ON CONFLICT(version) DO UPDATE SET imported_at = excluded.imported_at",
                &[&version, &to_json(body), &stamp(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn active_ruleset(&self) -> Result<Option<(String, serde_json::Value)>, StoreError> {
        let row = self
            .conn()?
            .query_opt("SELECT version, body FROM rulesets ORDER BY imported_at DESC, n DESC LIMIT 1", &[])?;
        row.map(|r| Ok((r.try_get(0)?, from_json(&r.try_get::<_, String>(1)?, "rule set")?))).transpose()
    }
}

impl VaultStore for PostgresStore {
    fn put_vault(&self, entries: &[VaultRow]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let stmt = tx.prepare(
            "INSERT INTO vault (token, class, nonce, ciphertext, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )?;
        let now = stamp(Timestamp::now());
        for e in entries {
            tx.execute(&stmt, &[&e.token, &e.class, &e.nonce, &e.ciphertext, &now])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn vault_entry(&self, token: &str) -> Result<Option<VaultRow>, StoreError> {
        self.conn()?
            .query_opt("SELECT token, class, nonce, ciphertext FROM vault WHERE token = $1", &[&token])?
            .map(|r| {
                Ok(VaultRow {
                    token: r.try_get(0)?,
                    class: r.try_get(1)?,
                    nonce: r.try_get(2)?,
                    ciphertext: r.try_get(3)?,
                })
            })
            .transpose()
    }

    fn record_processing(&self, rows: &[ProcessingRow]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        write_processing(&mut tx, rows)?;
        tx.commit()?;
        Ok(())
    }

    fn register(&self) -> Result<Vec<ProcessingRow>, StoreError> {
        let rows = self.conn()?.query(
            "SELECT provider, residency, class, handling, fields, first_seen, last_seen FROM processing
             ORDER BY provider, class",
            &[],
        )?;
        rows.into_iter()
            .map(|r| {
                Ok(ProcessingRow {
                    provider: r.try_get(0)?,
                    residency: r.try_get(1)?,
                    class: r.try_get(2)?,
                    handling: r.try_get(3)?,
                    fields: r.try_get::<_, i64>(4)? as u64,
                    first_seen: Some(r.try_get(5)?),
                    last_seen: Some(r.try_get(6)?),
                })
            })
            .collect()
    }
}

/// A batch's alerts as column arrays.
#[derive(Default)]
struct AlertColumns {
    id: Vec<String>,
    fingerprint: Vec<String>,
    format: Vec<String>,
    received: Vec<String>,
    observed: Vec<Option<String>>,
    origin: Vec<String>,
    document: Vec<String>,
    classes: Vec<String>,
}

/// What the stages made of a batch's newly stored alerts, as column arrays.
#[derive(Default)]
struct StageColumns {
    id: Vec<String>,
    analyzer: Vec<String>,
    verdict: Vec<String>,
    severity: Vec<String>,
    confidence: Vec<f64>,
    body: Vec<String>,
    validation: Vec<String>,
    route: Vec<String>,
    reasons: Vec<String>,
    workflow: Vec<String>,
    review_id: Vec<String>,
    review_workflow: Vec<String>,
    review_severity: Vec<String>,
    review_rank: Vec<i64>,
    entity_key: Vec<String>,
    entity_alert: Vec<String>,
    entity_at: Vec<i64>,
    entity_route: Vec<String>,
}

const INCIDENT_COLUMNS: &str = "SELECT id, state, title, severity, verdict, alert_count, first_seen, last_seen, \
                                created_at, updated_at, assignee, keys, body FROM incidents";

fn decode_incident(r: Row) -> Result<IncidentRow, StoreError> {
    let at = |i: usize| -> Result<Timestamp, StoreError> { from_ms(r.try_get(i)?, "incident time") };
    Ok(IncidentRow {
        id: r.try_get(0)?,
        state: r.try_get(1)?,
        title: r.try_get(2)?,
        severity: r.try_get(3)?,
        verdict: r.try_get(4)?,
        alert_count: r.try_get::<_, i64>(5)? as u64,
        first_seen: at(6)?,
        last_seen: at(7)?,
        created_at: at(8)?,
        updated_at: at(9)?,
        assignee: r.try_get(10)?,
        keys: from_json(&r.try_get::<_, String>(11)?, "incident keys")?,
        body: from_json(&r.try_get::<_, String>(12)?, "incident")?,
    })
}

/// Upserts incident rows (their join keys with them) and links alerts,
/// moving an alert that was in another incident; counts follow the links.
fn write_incidents(tx: &mut Transaction<'_>, rows: &[IncidentRow], links: &[&IncidentLink]) -> Result<(), StoreError> {
    if rows.is_empty() && links.is_empty() {
        return Ok(());
    }
    // One statement per table (a row named twice keeps its last version:
    // one statement may not change a row twice).
    let rows: BTreeMap<&str, &IncidentRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let links: BTreeMap<&str, &IncidentLink> = links.iter().map(|l| (l.alert_id.as_str(), *l)).collect();
    if !rows.is_empty() {
        let mut c: [Vec<String>; 7] = Default::default();
        let mut n: [Vec<i64>; 6] = Default::default();
        let mut assignee: Vec<Option<String>> = Vec::with_capacity(rows.len());
        let (mut key, mut key_of) = (Vec::new(), Vec::new());
        for r in rows.values() {
            for (col, v) in c.iter_mut().zip([
                r.id.clone(),
                r.state.clone(),
                r.title.clone(),
                r.severity.clone(),
                r.verdict.clone(),
                to_json(&r.keys),
                to_json(&r.body),
            ]) {
                col.push(v);
            }
            for (col, v) in n.iter_mut().zip([
                severity_rank(&r.severity),
                // A new incident's count is its links' (added below); an existing one keeps its own.
                0,
                ms(r.first_seen),
                ms(r.last_seen),
                ms(r.created_at),
                ms(r.updated_at),
            ]) {
                col.push(v);
            }
            assignee.push(r.assignee.clone());
            for k in &r.keys {
                key.push(k.clone());
                key_of.push(r.id.clone());
            }
        }
        tx.execute(
            "INSERT INTO incidents (id, state, title, severity, sev_rank, verdict, alert_count, first_seen, last_seen,
                                    created_at, updated_at, assignee, keys, body)
             SELECT id, state, title, severity, sev_rank, verdict, alert_count, first_seen, last_seen,
                    created_at, updated_at, assignee, keys, body
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[],
                         $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[])
                  AS v(id, state, title, severity, sev_rank, verdict, alert_count, first_seen, last_seen,
                       created_at, updated_at, assignee, keys, body)
             ON CONFLICT(id) DO UPDATE SET state = excluded.state, title = excluded.title,
                severity = excluded.severity, sev_rank = excluded.sev_rank, verdict = excluded.verdict,
                first_seen = excluded.first_seen, last_seen = excluded.last_seen, updated_at = excluded.updated_at,
                assignee = excluded.assignee, keys = excluded.keys, body = excluded.body",
            &[
                &c[0], &c[1], &c[2], &c[3], &n[0], &c[4], &n[1], &n[2], &n[3], &n[4], &n[5], &assignee, &c[5], &c[6],
            ],
        )?;
        tx.execute(
            "INSERT INTO incident_keys (key, incident_id) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT DO NOTHING",
            &[&key, &key_of],
        )?;
    }
    // Counts move by the links each write adds and moves: the chain lock,
    // held by every write here, makes each read-modify-write of a count the
    // only one at a time, so counts stay true without recounting an
    // incident's whole alert list on every batch.
    let mut delta: BTreeMap<String, i64> = BTreeMap::new();
    if !links.is_empty() {
        let alerts: Vec<&str> = links.keys().copied().collect();
        let mut before: BTreeMap<String, String> = BTreeMap::new();
        for r in tx.query("SELECT alert_id, incident_id FROM incident_alerts WHERE alert_id = ANY($1)", &[&alerts])? {
            before.insert(r.try_get(0)?, r.try_get(1)?);
        }
        let mut c: [Vec<String>; 6] = Default::default();
        let mut at = Vec::with_capacity(links.len());
        for l in links.values() {
            for (col, v) in
                c.iter_mut().zip([&l.alert_id, &l.incident_id, &l.title, &l.severity, &l.verdict, &l.signature])
            {
                col.push(v.clone());
            }
            at.push(ms(l.observed_at));
            match before.get(&l.alert_id) {
                Some(old) if *old == l.incident_id => {}
                Some(old) => {
                    *delta.entry(old.clone()).or_default() -= 1;
                    *delta.entry(l.incident_id.clone()).or_default() += 1;
                }
                None => *delta.entry(l.incident_id.clone()).or_default() += 1,
            }
        }
        tx.execute(
            "INSERT INTO incident_alerts (alert_id, incident_id, title, severity, verdict, observed_at, signature)
             SELECT alert_id, incident_id, title, severity, verdict, observed_at, signature
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
                  AS v(alert_id, incident_id, title, severity, verdict, observed_at, signature)
             ON CONFLICT(alert_id) DO UPDATE SET incident_id = excluded.incident_id",
            &[&c[0], &c[1], &c[2], &c[3], &c[4], &at, &c[5]],
        )?;
    }
    delta.retain(|_, n| *n != 0);
    if !delta.is_empty() {
        let (ids, ns): (Vec<String>, Vec<i64>) = delta.into_iter().unzip();
        tx.execute(
            "UPDATE incidents i SET alert_count = i.alert_count + d.n FROM unnest($1::text[], $2::bigint[]) AS d(id, n)
             WHERE i.id = d.id",
            &[&ids, &ns],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_password_never_reaches_an_error_message() {
        assert_eq!(super::redact("postgres://ann:s3cret@db:5432/w"), "postgres://ann@db:5432/w");
        assert_eq!(super::redact("postgres://db/w"), "postgres://db/w");
        assert_eq!(super::redact("host=db user=ann"), "host=db user=ann");
    }

    #[test]
    fn only_plain_schema_names_are_put_into_sql() {
        assert!(super::plain_identifier("warden_2"));
        for bad in ["", "2x", "a;drop", "A", "a-b", "a b"] {
            assert!(!super::plain_identifier(bad), "{bad}");
        }
    }
}
