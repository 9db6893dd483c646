//! Persistence: the [`Store`] trait and its SQLite implementation.
//!
//! A store keeps alerts (one row per fingerprint, with a duplicate count),
//! their assessments, validations and routes, the dead letters, and the
//! append-only audit log. A [`Batch`] is written in one transaction: after
//! [`Store::commit`] returns, everything in it survives a killed process;
//! before, none of it is visible. The audit table refuses updates and deletes
//! at the database level, and each entry is chained to the previous one with
//! `warden-audit`.
//!
//! Callers see only the trait and plain vocabulary types, so a PostgreSQL
//! implementation can follow without changing them. The store knows nothing
//! about parsing, analysis policy, HTTP or the terminal.

mod pg;
mod shared;
mod sqlite;

use std::collections::BTreeMap;

use jiff::Timestamp;
pub use warden_audit::LogItem;
use warden_core::{
    Alert, AlertId, Assessment, AuditEntry, AuditRecord, DataClass, Fingerprint, Origin, Route, Validation,
};

pub use pg::{PgTls, PostgresStore};
pub use sqlite::SqliteStore;

/// One alert carried through the pipeline, ready to be stored.
#[derive(Clone, Debug)]
pub struct Triaged {
    pub alert: Alert,
    /// Data classes found by the privacy stage, with field counts.
    pub classes: BTreeMap<DataClass, usize>,
    pub assessment: Assessment,
    pub validation: Validation,
    pub route: Route,
    /// The workflow whose policy routed it.
    pub workflow: String,
    /// The stages' audit records for this alert, written only if it is stored.
    pub audit: Vec<AuditRecord>,
    /// The entities it names (`host:ws01`, `user:ana`, …), indexed for
    /// correlation, search and the host and user pages.
    pub entities: Vec<String>,
    /// What to record instead of `audit` if another writer stored this
    /// alert's fingerprint first (the alert is then counted as a repeat).
    pub if_stored_already: Option<AuditRecord>,
}

/// Raw input that could not become an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub id: String,
    pub received_at: Timestamp,
    pub origin: Origin,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// A repeat of an alert that is already stored.
#[derive(Clone, Debug)]
pub struct Duplicate {
    pub alert_id: AlertId,
    /// The entry that records it, when the engine wants one (the first
    /// duplicate of a burst); the alert's duplicate count goes up either way.
    pub audit: Option<AuditRecord>,
}

/// Everything one commit writes, atomically.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub triaged: Vec<Triaged>,
    pub duplicates: Vec<Duplicate>,
    pub dead_letters: Vec<DeadLetter>,
    /// Audit records not tied to one alert (dead letters, batch summaries).
    pub audit: Vec<AuditRecord>,
    /// Version of the configuration in force, stamped on every audit entry.
    pub policy: String,
    /// Incidents created or changed by this batch's alerts (whole rows).
    pub incidents: Vec<IncidentRow>,
    /// Which incident each of this batch's queued alerts joined.
    pub links: Vec<IncidentLink>,
    /// What the batch adds to the data-processing register.
    pub processing: Vec<ProcessingRow>,
    /// Workflows seen for the first time, with their burn-in start (kept
    /// if another writer recorded one first); their audit records are in `audit`.
    pub workflows_started: Vec<(String, Timestamp)>,
}

/// Alerts that tell one story: grouped by the entities they share within a
/// time window. The engine owns what goes in; the store keeps it and answers
/// queries with true totals.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncidentRow {
    pub id: String,
    /// `open`, `decided` or `merged` (into the incident named in the body).
    pub state: String,
    pub title: String,
    pub severity: String,
    pub verdict: String,
    pub alert_count: u64,
    /// Event time of its first and last alert.
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub assignee: Option<String>,
    /// The entity keys alerts may join it by.
    pub keys: Vec<String>,
    /// Entities, techniques, tactics, history: the engine's, opaque here.
    pub body: serde_json::Value,
}

/// One alert's place in an incident, with what the incident pages list.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncidentLink {
    pub alert_id: String,
    pub incident_id: String,
    pub title: String,
    pub severity: String,
    pub verdict: String,
    pub observed_at: Timestamp,
    /// Equal for repeats of one detection on the same entities (they fold into one row).
    pub signature: String,
}

/// Which queue items to list. Values are checked by the caller (the engine).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReviewQuery {
    /// `new`, `in_review` or `decided`.
    pub state: Option<String>,
    /// Everything not decided (ignored when `state` is given).
    pub open: bool,
    pub severity: Option<String>,
    pub workflow: Option<String>,
    /// The route that queued it (`review`, `escalated`, …).
    pub route: Option<String>,
}

/// A page of incidents and how many match in all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentPage {
    pub total: u64,
    pub items: Vec<IncidentRow>,
}

/// How to list incidents. Values are checked by the caller (the engine).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentQuery {
    pub state: Option<String>,
    /// At least this severity.
    pub min_severity: Option<String>,
    pub assignee: Option<String>,
    /// Words that must all appear in the title or the entity keys.
    pub text: Option<String>,
    /// Only incidents naming this entity key.
    pub entity: Option<String>,
    pub sort: IncidentSort,
    pub limit: usize,
    pub offset: usize,
}

/// Orders of the incident list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncidentSort {
    /// Most severe first, then most recently active.
    #[default]
    Priority,
    /// Oldest first by when the first alert happened (event time).
    EventAge,
    /// Oldest first by when it was opened here (ingestion).
    Age,
    /// Most recently active first.
    Recent,
}

/// An alert or context event naming an entity.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Naming {
    pub alert_id: String,
    pub observed_at: Timestamp,
    pub route: String,
}

/// What a commit did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Receipt {
    /// Alerts written, in batch order.
    pub stored: Vec<AlertId>,
    /// Triaged alerts that turned out to be stored already (another writer
    /// got there first), with the stored alert's id.
    pub raced_duplicates: Vec<(AlertId, AlertId)>,
    /// Sequence number of the last audit entry written.
    pub last_audit_seq: u64,
}

/// An alert as stored, with what the pipeline made of it.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRecord {
    pub alert: Alert,
    pub duplicates: u64,
    pub assessment: Option<Assessment>,
    pub validation: Option<Validation>,
    pub route: Option<Route>,
}

/// Row counts, for summaries and health checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub alerts: u64,
    pub duplicates: u64,
    pub dead_letters: u64,
    pub audit_entries: u64,
    /// Route name → alerts.
    pub routes: BTreeMap<String, u64>,
}

/// A local account. The password is only ever stored as an Argon2id hash.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserRecord {
    pub name: String,
    /// PHC string (`$argon2id$…`).
    pub password_hash: String,
    /// Role names (see `warden_core::Role`).
    pub roles: Vec<String>,
    pub created_at: Timestamp,
    pub disabled: bool,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord").field("name", &self.name).field("roles", &self.roles).finish_non_exhaustive()
    }
}

/// The stop switch for one scope (`global`, or `workflow:<name>`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Switch {
    pub scope: String,
    pub engaged: bool,
    pub changed_by: String,
    pub changed_at: Timestamp,
    pub reason: String,
}

/// An alert waiting for, or having had, a human.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReviewItem {
    pub alert_id: String,
    pub workflow: String,
    /// `new`, `in_review` or `decided`.
    pub state: String,
    pub assignee: Option<String>,
    pub severity: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A human decision with the AI assessment it judged: the learning signal.
#[derive(Clone, Debug, PartialEq)]
pub struct Feedback {
    pub alert_id: String,
    pub decision: serde_json::Value,
    pub assessment: Assessment,
    pub validation: Option<Validation>,
    pub workflow: String,
    pub route: String,
    /// Reason codes of the route.
    pub reasons: Vec<String>,
    pub received_at: Timestamp,
    pub decided_at: Timestamp,
}

/// A signed-in browser session as stored: the SHA-256 of its id (never the
/// id), its user and its CSRF token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: String,
    pub user: String,
    pub csrf: String,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
}

/// An API token as listed: who it belongs to and whether it still works.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenRow {
    pub id: String,
    pub user: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// An encrypted original behind a token.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultRow {
    pub token: String,
    pub class: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for VaultRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultRow({})", self.token)
    }
}

/// One line of the data-processing register.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProcessingRow {
    pub provider: String,
    pub residency: String,
    pub class: String,
    /// raw, tokenise or never.
    pub handling: String,
    /// Fields of this class handled so.
    pub fields: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

/// A store error. Messages name what failed, never the data involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend's own error, as text (the store's callers are backend-neutral).
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data could not be read back ({what}): {source}")]
    Corrupt { what: &'static str, source: serde_json::Error },
    #[error("{0}")]
    Conflict(String),
    #[error("audit entry {seq}: {what}")]
    CorruptAudit { seq: u64, what: String },
    #[error("alert id {0} is already taken by an alert with a different fingerprint")]
    IdCollision(String),
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // The server's message, not only "db error".
        match e.as_db_error() {
            Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
            None => StoreError::Database(e.to_string()),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Database(format!("no database connection: {e}"))
    }
}

/// Where a store's batch commits spent their time, since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WriteTimings {
    pub commits: u64,
    /// Waiting for the audit chain's lock (other nodes' commits).
    pub chain_lock_wait: std::time::Duration,
    /// Whole commits, lock wait included.
    pub commit: std::time::Duration,
}

/// Alerts as the pipeline stores them: batches, what was stored, dead letters, the entity index.
pub trait AlertStore: Send + Sync {
    /// Where batch commits spent their time, for stores that share a chain lock.
    fn write_timings(&self) -> Option<WriteTimings> {
        None
    }

    /// Which of these fingerprints are stored already, and under which id.
    fn known(&self, fingerprints: &[&Fingerprint]) -> Result<BTreeMap<Fingerprint, AlertId>, StoreError>;

    /// Writes a batch in one transaction.
    fn commit(&self, batch: Batch) -> Result<Receipt, StoreError>;

    /// One alert with its assessment, validation and route.
    fn alert(&self, id: &AlertId) -> Result<Option<AlertRecord>, StoreError>;

    /// Dead letters, newest first.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;

    /// The workflow that routed an alert.
    fn alert_workflow(&self, id: &str) -> Result<Option<String>, StoreError>;

    fn counts(&self) -> Result<Counts, StoreError>;

    /// Alerts and context events naming an entity key, newest first, within
    /// an event-time range when given, at most `limit`, with the total.
    fn naming(
        &self,
        key: &str,
        range: Option<(Timestamp, Timestamp)>,
        limit: usize,
    ) -> Result<(u64, Vec<Naming>), StoreError>;
}

/// The append-only audit log: reading it as entries, as the verifier and the Merkle tree read it, appending and purging.
pub trait AuditStore: Send + Sync {
    /// Audit entries with `seq >= from`, in order, at most `limit`; purged
    /// positions are skipped.
    fn audit_entries(&self, from: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;

    /// The log as the verifier reads it: every position from `from` on, full
    /// or purged, in order, at most `limit`.
    fn audit_log(&self, from: u64, limit: usize) -> Result<Vec<LogItem>, StoreError>;

    /// The same positions for `warden audit verify`, which needs each stored
    /// entry's bytes, hash and row, not its decoded payload: a backend may
    /// answer with [`LogItem::Sealed`] items (checked from the bytes, about
    /// ten times cheaper than decoding) where it has the bytes.
    fn audit_log_sealed(&self, from: u64, limit: usize) -> Result<Vec<LogItem>, StoreError> {
        self.audit_log(from, limit)
    }

    /// The log as the Merkle tree reads it, without decoding entries: every
    /// position from `from` on as (seq, prev_hash, hash, leaf hash), at most
    /// `limit`. A kept entry whose stored bytes do not hash to its hash is
    /// reported as [`StoreError::CorruptAudit`].
    fn audit_leaves(&self, from: u64, limit: usize) -> Result<Vec<Leaf>, StoreError> {
        leaves_of(self.audit_log(from, limit)?)
    }

    /// Entries about one object (an alert id, an action id), in order.
    fn audit_for_object(&self, object: &str) -> Result<Vec<AuditEntry>, StoreError>;

    /// Number of positions in the log (full and purged).
    fn audit_len(&self) -> Result<u64, StoreError>;

    /// Appends audit records outside a batch (policy changes, logins, …).
    /// Returns the last sequence number written.
    fn append_audit(&self, records: Vec<AuditRecord>, policy: &str) -> Result<u64, StoreError>;

    /// Purges the content of entries `1..=up_to` that are older than
    /// `before`, keeping the hashes the chain and the Merkle tree need.
    /// Returns how many entries were purged.
    fn purge_audit(&self, up_to: u64, before: Timestamp) -> Result<u64, StoreError>;
}

/// What people work: the review queue and decisions, action requests, incidents.
pub trait CaseStore: Send + Sync {
    /// Creates or updates an action request (an opaque JSON body the engine
    /// owns) together with the audit records of the change, atomically.
    fn save_action(
        &self,
        id: &str,
        status: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    fn action(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Action requests, newest first, optionally only those in one status.
    fn actions(&self, status: Option<&str>, limit: usize) -> Result<Vec<serde_json::Value>, StoreError>;

    /// Requests that reached `status` at or after `since` (for rate caps).
    fn count_actions_since(&self, status: &str, since: Timestamp) -> Result<u64, StoreError>;

    /// A page of queue items, most severe first and oldest first within a
    /// severity (so a page never hides a critical alert behind older low
    /// ones), optionally in one state, with how many there are in all.
    fn review_items(&self, q: &ReviewQuery, offset: usize, limit: usize) -> Result<(u64, Vec<ReviewItem>), StoreError>;

    /// The review item of one alert, if it went to review.
    fn review_item(&self, alert_id: &str) -> Result<Option<ReviewItem>, StoreError>;

    /// Moves an item (claim, release), with its audit records; false when there is no such item.
    fn set_review(
        &self,
        alert_id: &str,
        state: &str,
        assignee: Option<&str>,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<bool, StoreError>;

    /// Records a decision (the assessment is never changed) and marks the item decided.
    fn add_decision(
        &self,
        alert_id: &str,
        analyst: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    /// Every decision about one alert, oldest first.
    fn decisions(&self, alert_id: &str) -> Result<Vec<serde_json::Value>, StoreError>;

    /// The latest decision per alert with the assessment it judged, optionally for one workflow.
    fn feedback(&self, workflow: Option<&str>) -> Result<Vec<Feedback>, StoreError>;

    /// Open incidents joinable by any of these entity keys whose last alert
    /// happened at or after `since`, each once, in id order.
    fn open_incidents(&self, keys: &[String], since: Timestamp) -> Result<Vec<IncidentRow>, StoreError>;

    /// A page of incidents with the total that match.
    fn incidents(&self, q: &IncidentQuery) -> Result<IncidentPage, StoreError>;

    fn incident(&self, id: &str) -> Result<Option<IncidentRow>, StoreError>;

    /// An incident's alerts, in event-time order.
    fn incident_links(&self, id: &str) -> Result<Vec<IncidentLink>, StoreError>;

    /// The incident an alert is in.
    fn incident_of(&self, alert_id: &str) -> Result<Option<String>, StoreError>;

    /// Writes incident rows and (re)links alerts to them, with the audit
    /// records of the change, atomically (merge, split, decisions).
    fn save_incidents(
        &self,
        rows: &[IncidentRow],
        links: &[IncidentLink],
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;
}

/// Who may do what: accounts, API tokens (hashes only), web sessions and failed sign-ins.
pub trait IdentityStore: Send + Sync {
    /// Creates a user (refused when the name is taken), with its audit records.
    fn add_user(&self, user: &UserRecord, audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError>;

    fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Replaces a user's roles (single sign-on sets them from each sign-in's
    /// token), with its audit records; Conflict for an unknown user.
    fn set_roles(&self, name: &str, roles: &[String], audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError>;

    /// Stores an API token's hash (never the token), with its audit records.
    fn add_token(
        &self,
        id: &str,
        user: &str,
        token_hash: &str,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    /// (token id, user name) for a live token of an enabled user.
    fn user_by_token(&self, token_hash: &str) -> Result<Option<(String, String)>, StoreError>;

    /// Every API token (never its hash), oldest first.
    fn tokens(&self) -> Result<Vec<TokenRow>, StoreError>;

    /// Revokes a live token with its audit records; false when there is no
    /// such live token (nothing is written then).
    fn revoke_token(&self, id: &str, audit: Vec<AuditRecord>, policy: &str) -> Result<bool, StoreError>;

    /// Stores a new web session.
    fn put_session(&self, s: &SessionRow) -> Result<(), StoreError>;

    /// A web session by the SHA-256 of its id.
    fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError>;

    /// Records that a session was used.
    fn touch_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Ends one session (by id hash) or every session of a user; returns how many.
    fn end_sessions(&self, id_hash: Option<&str>, user: Option<&str>) -> Result<u64, StoreError>;

    /// Removes sessions idle since `idle_before` or created before `created_before`.
    fn purge_sessions(&self, idle_before: Timestamp, created_before: Timestamp) -> Result<u64, StoreError>;

    /// Failed sign-ins counted for a key (a user name or an address): count and the last one's time.
    fn login_failures(&self, key: &str) -> Result<Option<(u32, Timestamp)>, StoreError>;

    /// Sets (or, with None, clears) a key's failed sign-ins.
    fn set_login_failures(&self, key: &str, count: Option<(u32, Timestamp)>) -> Result<(), StoreError>;
}

/// What governs the pipeline: stop switches, risk tiers, workflow burn-in, and the active calibration, model and rule set.
pub trait PolicyStore: Send + Sync {
    /// Sets a stop switch, with its audit records.
    fn set_switch(&self, s: &Switch, audit: Vec<AuditRecord>, policy: &str) -> Result<(), StoreError>;

    fn switches(&self) -> Result<Vec<Switch>, StoreError>;

    /// Records a risk tier set by a person, with its audit records.
    fn set_tier(
        &self,
        action: &str,
        tier: &str,
        by: &str,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    /// (action, tier) set by people, overriding configuration.
    fn tiers(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// (burn-in start, burn-in exit) of a workflow seen before.
    fn workflow_state(&self, name: &str) -> Result<Option<(Timestamp, Option<Timestamp>)>, StoreError>;

    /// Records a workflow's burn-in start the first time it is seen; true when it was new.
    fn start_workflow(
        &self,
        name: &str,
        started: Timestamp,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<bool, StoreError>;

    /// Ends a workflow's burn-in, with its audit records.
    fn exit_workflow(&self, name: &str, at: Timestamp, audit: Vec<AuditRecord>, policy: &str)
    -> Result<(), StoreError>;

    /// Stores a fitted calibration map (it becomes the analyzer's active one), with its audit records.
    fn save_calibration(
        &self,
        version: &str,
        analyzer: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    /// (version, map) of the analyzer's newest calibration.
    fn active_calibration(&self, analyzer: &str) -> Result<Option<(String, serde_json::Value)>, StoreError>;

    /// Stores a model that passed the gate (it becomes the active one), with its audit records.
    fn save_model(
        &self,
        version: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    /// The newest stored model.
    fn active_model(&self) -> Result<Option<serde_json::Value>, StoreError>;

    /// Stores an imported rule set (it becomes the active one), with its audit records.
    fn save_ruleset(
        &self,
        version: &str,
        body: &serde_json::Value,
        audit: Vec<AuditRecord>,
        policy: &str,
    ) -> Result<(), StoreError>;

    /// (version, rule files) of the active rule set.
    fn active_ruleset(&self) -> Result<Option<(String, serde_json::Value)>, StoreError>;
}

/// The privacy vault (encrypted originals behind tokens) and the data-processing register.
pub trait VaultStore: Send + Sync {
    /// Keeps encrypted originals (an existing token keeps its first entry).
    fn put_vault(&self, entries: &[VaultRow]) -> Result<(), StoreError>;

    fn vault_entry(&self, token: &str) -> Result<Option<VaultRow>, StoreError>;

    /// Adds to the data-processing register.
    fn record_processing(&self, rows: &[ProcessingRow]) -> Result<(), StoreError>;

    /// The data-processing register.
    fn register(&self) -> Result<Vec<ProcessingRow>, StoreError>;
}

/// Persistence for the pipeline: every role. Implementations are shared
/// across threads; callers hold a `dyn Store` and bring the roles they use
/// into scope (`use warden_store::prelude::*`).
pub trait Store: AlertStore + AuditStore + CaseStore + IdentityStore + PolicyStore + VaultStore {}

impl<T: AlertStore + AuditStore + CaseStore + IdentityStore + PolicyStore + VaultStore> Store for T {}

/// The role traits, for `use warden_store::prelude::*`.
pub mod prelude {
    pub use super::{AlertStore, AuditStore, CaseStore, IdentityStore, PolicyStore, Store, VaultStore};
}

/// One position of the log as the Merkle tree needs it: (seq, prev_hash, hash, leaf hash).
pub type Leaf = (u64, String, String, [u8; 32]);

/// The leaves of log items, each kept entry's hash checked against its bytes.
pub fn leaves_of(items: Vec<LogItem>) -> Result<Vec<Leaf>, StoreError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(match item {
            LogItem::Full(e) => {
                let bytes = warden_audit::entry_bytes(&e).into_owned();
                if warden_audit::chain_hash(&bytes) != e.hash {
                    return Err(altered(e.seq));
                }
                (e.seq, e.prev_hash, e.hash, warden_audit::merkle::leaf_hash(&bytes))
            }
            LogItem::Sealed(e) => {
                if warden_audit::chain_hash(&e.canonical) != e.hash {
                    return Err(altered(e.seq));
                }
                let leaf = warden_audit::merkle::leaf_hash(&e.canonical);
                (e.seq, e.prev_hash, e.hash, leaf)
            }
            LogItem::Pruned { seq, prev_hash, hash, leaf } => (seq, prev_hash, hash, leaf),
        });
    }
    Ok(out)
}

/// An entry whose content does not match its hash.
pub fn altered(seq: u64) -> StoreError {
    StoreError::CorruptAudit { seq, what: "its content does not match its hash (the entry was altered)".into() }
}
