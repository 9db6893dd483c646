//! The audit trail's integrity: the canonical, versioned serialisation of
//! every audit entry, the hash chain linking each entry to the one before,
//! the RFC 9162 Merkle tree over the entries, signed checkpoints in the
//! transparency-log note format, proofs, and the verifier.
//!
//! The store appends entries; this crate says what their bytes are and how to
//! prove and check them. Changing, removing or reordering any entry breaks the
//! chain at that entry and [`verify_log`] names it; rewriting entries and
//! recomputing every hash still fails against a checkpoint signed with a key
//! the rewriter does not hold.
//!
//! Audit knows nothing about storage, files, HTTP or the pipeline's stages:
//! callers hand it entries, checkpoint texts and keys.

pub mod merkle;
pub mod note;
mod verify;

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::Value as J;
use sha2::{Digest, Sha256};
use warden_core::{AuditEntry, AuditRecord};

pub use merkle::{Frontier, Hash};
pub use note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
pub use verify::{LogItem, Report, Sealed, VerifyError, check_entry, check_sealed, verify_log};

/// Version of the canonical entry format; part of every hashed entry.
///
/// Format 2 entries are stored as the exact bytes that were hashed, and
/// verified over those bytes alone. Format 1 entries (written before the log
/// kept its bytes) are verified by rebuilding their canonical form from the
/// stored fields, as they were written.
pub const FORMAT_VERSION: u32 = 2;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical bytes of an entry: JSON with keys sorted by their UTF-8
/// bytes and no whitespace, over the format version, position, time, actor,
/// action, object, payload, policy version and previous hash. These bytes are
/// what the chain hashes, what the Merkle tree's leaves are made of, and
/// (from format 2 on) what the log stores.
///
/// Numbers have one written form: integers exactly as they are (any `i64` or
/// `u64`), every other number in the shortest decimal that reads back as the
/// same `f64` (what `serde_json` writes). Strings are UTF-8 with JSON's
/// escapes; a Rust string cannot hold a lone surrogate, so none is ever
/// written.
pub fn canonical_bytes(seq: u64, at: Timestamp, record: &AuditRecord, policy: &str, prev_hash: &str) -> Vec<u8> {
    canonical_bytes_v(FORMAT_VERSION, seq, at, record, policy, prev_hash)
}

fn canonical_bytes_v(v: u32, seq: u64, at: Timestamp, record: &AuditRecord, policy: &str, prev_hash: &str) -> Vec<u8> {
    // Written field by field in sorted key order (action, actor, at, object,
    // payload, policy, prev, seq, v): the same bytes as sorting a document of
    // these fields, without copying the payload into one.
    let string = |out: &mut Vec<u8>, s: &str| out.extend(serde_json::to_vec(s).unwrap_or_default());
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"action\":");
    string(&mut out, &record.action);
    out.extend_from_slice(b",\"actor\":");
    write_canonical(&serde_json::to_value(&record.actor).unwrap_or(J::Null), &mut out);
    out.extend_from_slice(b",\"at\":");
    string(&mut out, &at.to_string());
    out.extend_from_slice(b",\"object\":");
    string(&mut out, &record.object);
    out.extend_from_slice(b",\"payload\":");
    write_canonical(&record.payload, &mut out);
    out.extend_from_slice(b",\"policy\":");
    string(&mut out, policy);
    out.extend_from_slice(b",\"prev\":");
    string(&mut out, prev_hash);
    out.extend_from_slice(format!(",\"seq\":{seq},\"v\":{v}}}").as_bytes());
    out
}

/// The bytes an entry's hash covers: the stored bytes when the entry has
/// them, otherwise (format 1) its canonical form rebuilt from its fields.
pub fn entry_bytes(e: &AuditEntry) -> Cow<'_, [u8]> {
    match &e.canonical {
        Some(bytes) => Cow::Borrowed(bytes),
        None => Cow::Owned(canonical_bytes_v(1, e.seq, e.at, &e.record, &e.policy, &e.prev_hash)),
    }
}

/// The fields of an entry, read back from its stored canonical bytes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Decoded {
    v: u32,
    seq: u64,
    at: Timestamp,
    actor: warden_core::Actor,
    action: String,
    object: String,
    payload: J,
    policy: String,
    prev: String,
}

fn decode(canonical: &[u8]) -> Result<Decoded, String> {
    let d: Decoded =
        serde_json::from_slice(canonical).map_err(|e| format!("its stored bytes are not a canonical entry: {e}"))?;
    if d.v < 2 {
        return Err(format!("its stored bytes claim format {}, which did not store bytes", d.v));
    }
    Ok(d)
}

/// Whether an entry's fields say what its stored bytes say (always true of
/// a format 1 entry, which has no stored bytes).
pub(crate) fn agrees_with_bytes(e: &AuditEntry) -> Result<bool, String> {
    let Some(stored) = &e.canonical else { return Ok(true) };
    let d = decode(stored)?;
    Ok(d.seq == e.seq
        && d.prev == e.prev_hash
        && d.at == e.at
        && d.actor == e.record.actor
        && d.action == e.record.action
        && d.object == e.record.object
        && d.payload == e.record.payload
        && d.policy == e.policy)
}

/// Reads an entry from the bytes the log stores and the hash stored beside
/// them. The bytes are kept as they are: [`verify_log`] hashes them, never a
/// re-serialisation of what was read.
pub fn decode_entry(canonical: Vec<u8>, hash: String) -> Result<AuditEntry, String> {
    let d = decode(&canonical)?;
    Ok(AuditEntry {
        seq: d.seq,
        at: d.at,
        record: AuditRecord { actor: d.actor, action: d.action, object: d.object, payload: d.payload },
        policy: d.policy,
        prev_hash: d.prev,
        hash,
        canonical: Some(canonical),
    })
}

/// Standard base64, as checkpoints and proofs write hashes.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// SHA-256 of canonical bytes, lower-case hex: an entry's chain hash.
pub fn chain_hash(canonical: &[u8]) -> String {
    hex(&Sha256::digest(canonical))
}

/// Builds the next entry of a chain whose last entry is `(last_seq, last_hash)`.
pub fn next_entry(last: Option<(u64, &str)>, at: Timestamp, record: AuditRecord, policy: &str) -> AuditEntry {
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h.to_owned()),
        None => (1, GENESIS.to_owned()),
    };
    let bytes = canonical_bytes(seq, at, &record, policy, &prev);
    let hash = chain_hash(&bytes);
    AuditEntry { seq, at, record, policy: policy.to_owned(), prev_hash: prev, hash, canonical: Some(bytes) }
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
    let items = entries.into_iter().map(|e| LogItem::Full(e.clone()));
    match verify_log(items, &[], &[], None) {
        Ok(r) => Ok(r.entries),
        Err(e) => Err(ChainError { seq: e.seq.unwrap_or(0), what: e.what }),
    }
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
            let e = next_entry(last, Timestamp::from_second(1_700_000_000 + i as i64).unwrap(), rec, "p1");
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
        assert_eq!(canonical_bytes(1, at, &a, "p", GENESIS), canonical_bytes(1, at, &b, "p", GENESIS));
    }

    #[test]
    fn the_entry_is_written_exactly_as_its_sorted_document() {
        let at = Timestamp::from_second(1_700_000_000).unwrap();
        let rec = AuditRecord::new(
            Actor::Analyzer("local@1".into()),
            "analyze.assessed",
            "al-\u{1F600}\"x",
            serde_json::json!({"z": [1, 0.9039999999999999, {"b": null, "a": "\u{0}"}], "a": u64::MAX}),
        );
        let doc = serde_json::json!({
            "v": FORMAT_VERSION, "seq": 7, "at": at.to_string(), "actor": rec.actor, "action": rec.action,
            "object": rec.object, "payload": rec.payload, "policy": "p", "prev": GENESIS,
        });
        let mut expected = Vec::new();
        write_canonical(&doc, &mut expected);
        assert_eq!(
            String::from_utf8(canonical_bytes(7, at, &rec, "p", GENESIS)).unwrap(),
            String::from_utf8(expected).unwrap()
        );
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
        let e = verify_chain(&removed).unwrap_err();
        assert_eq!(e.seq, 2, "the missing entry is named: {e}");

        let mut swapped = chain(5);
        swapped.swap(3, 4);
        assert_eq!(verify_chain(&swapped).unwrap_err().seq, 4);
    }
}
