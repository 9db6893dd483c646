//! The audit trail's integrity: a canonical, versioned serialisation of
//! every audit entry and the hash chain that links each entry to the one
//! before it.
//!
//! The store appends entries; this crate says what their bytes are and how to
//! check them. Changing, removing or reordering any entry breaks the chain at
//! that entry, and [`verify_chain`] names it. Merkle checkpoints and
//! signatures build on the same canonical bytes in a later issue.
//!
//! Audit knows nothing about storage, HTTP or the pipeline's stages.

use jiff::Timestamp;
use serde_json::Value as J;
use sha2::{Digest, Sha256};
use warden_core::{AuditEntry, AuditRecord};

/// Version of the canonical entry format; part of every hashed entry.
pub const FORMAT_VERSION: u32 = 1;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical bytes of an entry: JSON with sorted keys and no whitespace,
/// over the version, position, time, record and previous hash.
pub fn canonical_bytes(seq: u64, at: Timestamp, record: &AuditRecord, prev_hash: &str) -> Vec<u8> {
    let doc = serde_json::json!({
        "v": FORMAT_VERSION,
        "seq": seq,
        "at": at.to_string(),
        "actor": serde_json::to_value(&record.actor).unwrap_or(J::Null),
        "action": record.action,
        "object": record.object,
        "payload": record.payload,
        "prev": prev_hash,
    });
    let mut out = Vec::with_capacity(256);
    write_canonical(&doc, &mut out);
    out
}

/// SHA-256 of the canonical bytes, lower-case hex.
pub fn entry_hash(seq: u64, at: Timestamp, record: &AuditRecord, prev_hash: &str) -> String {
    let digest = Sha256::digest(canonical_bytes(seq, at, record, prev_hash));
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Builds the next entry of a chain whose last entry is `(last_seq, last_hash)`.
pub fn next_entry(last: Option<(u64, &str)>, at: Timestamp, record: AuditRecord) -> AuditEntry {
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h.to_owned()),
        None => (1, GENESIS.to_owned()),
    };
    let hash = entry_hash(seq, at, &record, &prev);
    AuditEntry { seq, at, record, prev_hash: prev, hash }
}

/// What is wrong with the first bad entry of a chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {what}")]
pub struct ChainError {
    pub seq: u64,
    pub what: String,
}

/// Checks that entries are numbered 1, 2, 3, …, each names its predecessor's
/// hash, and each hash matches its content. Returns how many were checked.
pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Result<u64, ChainError> {
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    for e in entries {
        if e.seq != expected_seq {
            return Err(ChainError { seq: e.seq, what: format!("expected sequence number {expected_seq}") });
        }
        if e.prev_hash != prev {
            return Err(ChainError { seq: e.seq, what: "does not name the previous entry's hash".into() });
        }
        let h = entry_hash(e.seq, e.at, &e.record, &e.prev_hash);
        if h != e.hash {
            return Err(ChainError { seq: e.seq, what: "content does not match its hash (altered)".into() });
        }
        prev = h;
        expected_seq += 1;
    }
    Ok(expected_seq - 1)
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace,
/// strings escaped as serde_json escapes them.
fn write_canonical(v: &J, out: &mut Vec<u8>) {
    match v {
        J::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend(serde_json::to_vec(k).unwrap_or_default());
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        J::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend(serde_json::to_vec(scalar).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::Actor;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let rec = AuditRecord::new(
                Actor::Service("t".into()),
                "x.y",
                format!("o{i}"),
                serde_json::json!({"b": 1, "a": [i]}),
            );
            let last = out.last().map(|e| (e.seq, e.hash.as_str()));
            let e = next_entry(last, Timestamp::from_second(1_700_000_000 + i as i64).unwrap(), rec);
            out.push(e);
        }
        out
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let at = Timestamp::UNIX_EPOCH;
        let a = AuditRecord::new(Actor::User("u".into()), "a", "o", serde_json::json!({"x": 1, "y": {"b": 2, "a": 1}}));
        let mut b = a.clone();
        b.payload = serde_json::from_str(r#"{"y": {"a": 1, "b": 2}, "x": 1}"#).unwrap();
        assert_eq!(entry_hash(1, at, &a, GENESIS), entry_hash(1, at, &b, GENESIS));
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
    }

    #[test]
    fn the_first_altered_removed_or_reordered_entry_is_named() {
        let mut altered = chain(5);
        altered[2].record.object = "tampered".into();
        assert_eq!(verify_chain(&altered).unwrap_err().seq, 3);

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(
            verify_chain(&removed).unwrap_err(),
            ChainError { seq: 3, what: "expected sequence number 2".into() }
        );

        let mut swapped = chain(5);
        swapped.swap(3, 4);
        assert_eq!(verify_chain(&swapped).unwrap_err().seq, 5);
    }
}
