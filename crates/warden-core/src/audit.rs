use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Who did something: a person, a Warden service, or an analyzer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Actor {
    User(String),
    Service(String),
    /// Analyzer name and version, `local@0.1.0`.
    Analyzer(String),
}

/// What a stage reports about one step, before the log orders and chains it.
///
/// The payload never carries raw PII or secrets: hashes, tokenised values,
/// ids and counts only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub actor: Actor,
    /// Dotted stage.event name: `ingest.accepted`, `govern.routed`, …
    pub action: String,
    /// The id of the object acted on (alert id, dead letter id, …).
    pub object: String,
    pub payload: serde_json::Value,
}

impl AuditRecord {
    pub fn new(actor: Actor, action: &str, object: impl Into<String>, payload: serde_json::Value) -> Self {
        AuditRecord { actor, action: action.to_owned(), object: object.into(), payload }
    }
}

/// A record as the append-only log holds it: numbered, timed and chained
/// to the entry before it by hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1-based position in the log.
    pub seq: u64,
    pub at: Timestamp,
    #[serde(flatten)]
    pub record: AuditRecord,
    /// Version of the configuration (policy) in force when the entry was written.
    pub policy: String,
    /// Hex SHA-256 of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 of this entry's canonical form.
    pub hash: String,
    /// The exact bytes the hash was computed over, as the log stores them.
    /// Verification hashes these bytes and never re-serialises the fields
    /// above, so no value can fail to survive a round trip. `None` only for
    /// entries written before the log kept its bytes (format 1), which are
    /// verified by rebuilding their canonical form.
    #[serde(skip)]
    pub canonical: Option<Vec<u8>>,
}
