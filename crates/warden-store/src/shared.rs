//! What both backends do the same way once a row is read: decoding audit
//! rows, merging kept and purged positions, the fast path of the Merkle
//! leaves, and the JSON and time columns.

use jiff::Timestamp;
use warden_audit::LogItem;
use warden_core::{AuditEntry, AuditRecord};

use crate::{IncidentQuery, IncidentSort, Leaf, StoreError};

/// An audit row's columns as stored.
pub(crate) struct AuditRow {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub payload: String,
    pub policy: String,
    pub prev_hash: String,
    pub hash: String,
    /// The bytes the hash covers (format 2); none for format 1 rows.
    pub canonical: Option<Vec<u8>>,
}

/// Decodes a row; a row that cannot be read back is named by its sequence number.
pub(crate) fn decode_audit(row: AuditRow) -> Result<AuditEntry, StoreError> {
    let AuditRow { seq, at, actor, action, object, payload, policy, prev_hash, hash, canonical } = row;
    let bad = |what: &str| StoreError::CorruptAudit { seq, what: what.to_owned() };
    if let Some(bytes) = canonical {
        // Format 2: everything but the hash comes from the hashed bytes.
        let e = warden_audit::decode_entry(bytes, hash).map_err(|w| bad(&w))?;
        if e.seq != seq
            || e.prev_hash != prev_hash
            || e.record.object != object
            || e.record.action != action
            || !payload.is_empty()
        {
            return Err(bad("its columns differ from the bytes its hash covers (the row was altered)"));
        }
        return Ok(e);
    }
    Ok(AuditEntry {
        seq,
        at: at.parse().map_err(|_| bad("its time cannot be read"))?,
        record: AuditRecord {
            actor: serde_json::from_str(&actor).map_err(|_| bad("its actor cannot be read"))?,
            action,
            object,
            payload: serde_json::from_str(&payload).map_err(|_| bad("its payload is not JSON"))?,
        },
        policy,
        prev_hash,
        hash,
        canonical: None,
    })
}

/// A purged position as stored; its leaf hash must be 32 bytes.
pub(crate) fn pruned(seq: u64, prev_hash: String, hash: String, leaf: &[u8]) -> Result<LogItem, StoreError> {
    let leaf = <[u8; 32]>::try_from(leaf)
        .map_err(|_| StoreError::CorruptAudit { seq, what: "purged entry's leaf hash is not 32 bytes".into() })?;
    Ok(LogItem::Pruned { seq, prev_hash, hash, leaf })
}

/// Merges the ordered runs of kept and purged positions, keeping the first `limit`.
pub(crate) fn merge_log(full: Vec<AuditEntry>, pruned: Vec<LogItem>, limit: usize) -> Vec<LogItem> {
    let mut out: Vec<LogItem> = Vec::with_capacity(full.len() + pruned.len());
    let (mut f, mut p) = (full.into_iter().peekable(), pruned.into_iter().peekable());
    while out.len() < limit {
        let take_full = match (f.peek(), p.peek()) {
            (Some(e), Some(LogItem::Pruned { seq, .. })) => e.seq < *seq,
            (Some(_), _) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_full {
            out.push(LogItem::Full(f.next().expect("peeked")));
        } else {
            out.push(p.next().expect("peeked"));
        }
    }
    out
}

/// The Merkle leaves straight from stored bytes, when positions `from…` are
/// contiguous format 2 rows; `None` sends the caller down the full path.
pub(crate) fn fast_leaves(
    from: u64,
    rows: Vec<(u64, String, String, Option<Vec<u8>>)>,
) -> Option<Result<Vec<Leaf>, StoreError>> {
    let contiguous = rows.iter().enumerate().all(|(i, (seq, ..))| *seq == from + i as u64);
    if !contiguous || rows.iter().any(|(.., b)| b.is_none()) || rows.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(rows.len());
    for (seq, prev, hash, bytes) in rows {
        let bytes = bytes.expect("checked above");
        // The bytes must hash to the hash, and name the position and predecessor the row claims.
        let text = std::str::from_utf8(&bytes).unwrap_or_default();
        let names = |needle: String| text.contains(&needle);
        if warden_audit::chain_hash(&bytes) != hash
            || !names(format!("\"prev\":\"{prev}\""))
            || !names(format!("\"seq\":{seq},"))
        {
            return Some(Err(crate::altered(seq)));
        }
        out.push((seq, prev, hash, warden_audit::merkle::leaf_hash(&bytes)));
    }
    Some(Ok(out))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("vocabulary types serialise")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &'static str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|source| StoreError::Corrupt { what, source })
}

/// A stored RFC 3339 time; `what` names it if the row is corrupt.
pub(crate) fn time(s: &str, what: &'static str) -> Result<Timestamp, StoreError> {
    s.parse::<Timestamp>().map_err(|e| StoreError::Corrupt { what, source: serde::de::Error::custom(e) })
}

/// A time as stored in text columns: fixed nine fractional digits, so text
/// order is time order (`…:00Z` would otherwise sort after `…:00.5Z`).
pub(crate) fn stamp(t: Timestamp) -> String {
    format!("{t:.9}")
}

/// Milliseconds since the epoch, for the incident and entity columns.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn from_ms(v: i64, what: &'static str) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(v).map_err(|e| StoreError::Corrupt { what, source: serde::de::Error::custom(e) })
}

/// A severity's place in order (info 0 … critical 4), stored beside its
/// name so lists sort and filter by it with an index.
pub(crate) fn severity_rank(s: &str) -> i64 {
    s.parse::<warden_core::Severity>().map_or(0, |s| s as i64)
}

/// A LIKE pattern matching `word` anywhere, the user's wildcards escaped
/// (with `\`): words, not patterns.
pub(crate) fn like_word(word: &str) -> String {
    let escaped = word.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// A value bound to a query built at run time.
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// The incident list's query, the same on both backends: the WHERE clause
/// (placeholders written by `mark`, numbered from 1), the ORDER BY, and the
/// values the placeholders stand for. LIMIT and OFFSET are the caller's next two.
pub(crate) fn incident_filter(q: &IncidentQuery, mark: fn(usize) -> String) -> (String, &'static str, Vec<Arg>) {
    let mut wheres: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut arg = |v: Arg| {
        args.push(v);
        mark(args.len())
    };
    match &q.state {
        Some(s) => wheres.push(format!("state = {}", arg(Arg::Text(s.clone())))),
        // Merged incidents live on inside the one they joined.
        None => wheres.push("state <> 'merged'".into()),
    }
    if let Some(s) = &q.min_severity {
        wheres.push(format!("sev_rank >= {}", arg(Arg::Int(severity_rank(s)))));
    }
    if let Some(who) = &q.assignee {
        wheres.push(format!("assignee = {}", arg(Arg::Text(who.clone()))));
    }
    if let Some(e) = &q.entity {
        wheres.push(format!("id IN (SELECT incident_id FROM incident_keys WHERE key = {})", arg(Arg::Text(e.clone()))));
    }
    for word in q.text.iter().flat_map(|t| t.split_whitespace()) {
        let a = arg(Arg::Text(like_word(word)));
        wheres.push(format!("(lower(title) LIKE {a} ESCAPE '\\' OR lower(keys) LIKE {a} ESCAPE '\\')"));
    }
    let order = match q.sort {
        IncidentSort::Priority => "sev_rank DESC, last_seen DESC, id",
        IncidentSort::EventAge => "first_seen, id",
        IncidentSort::Age => "created_at, id",
        IncidentSort::Recent => "last_seen DESC, id",
    };
    (format!(" WHERE {}", wheres.join(" AND ")), order, args)
}
