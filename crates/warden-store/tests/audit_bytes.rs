//! The audit log hashes exactly the bytes it stores: whatever a payload holds
//! (floats that do not survive a parse, integers beyond 53 bits, every Unicode
//! plane, NUL, huge strings), an entry appended, read back after reopening the
//! database and verified is intact.

use proptest::prelude::*;
use warden_core::{Actor, AuditRecord};
use warden_store::SqliteStore;
use warden_store::prelude::*;

fn record(payload: serde_json::Value) -> AuditRecord {
    AuditRecord::new(Actor::Analyzer("local@0.1.0".into()), "analyze.assessed", "al-0123456789abcdef0123", payload)
}

/// Appends the payloads, reopens the database and verifies the whole log.
fn append_reopen_verify(payloads: Vec<serde_json::Value>) -> Vec<warden_core::AuditEntry> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let n = payloads.len() as u64;
    SqliteStore::open(&path).unwrap().append_audit(payloads.into_iter().map(record).collect(), "cfg-1").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let report = warden_audit::verify_log(store.audit_log(1, usize::MAX >> 1).unwrap(), &[], &[], None)
        .unwrap_or_else(|e| panic!("an honest log verifies: {e}"));
    assert_eq!(report.entries, n);
    store.audit_entries(1, usize::MAX >> 1).unwrap()
}

#[test]
fn float_round_trip_0_9039999999999999_does_not_damage_the_log() {
    // The value from the real-data run that made `warden triage` call its own log tampered.
    let confidence = 0.9039999999999999_f64;
    let entries =
        append_reopen_verify(vec![serde_json::json!({"confidence": confidence, "calibrated": 0.9039999999999999})]);
    assert_eq!(entries[0].record.payload["confidence"].as_f64(), Some(confidence), "read back as the same f64");
    let text = String::from_utf8(entries[0].canonical.clone().unwrap()).unwrap();
    assert!(text.contains("\"confidence\":0.9039999999999999"), "{text}");
}

#[test]
fn an_entry_whose_bytes_or_columns_are_edited_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let s = SqliteStore::open(&path).unwrap();
    s.append_audit((0..3).map(|i| record(serde_json::json!({"i": i}))).collect(), "p").unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    // The log refuses updates; a tamperer with file access drops the trigger first.
    conn.execute_batch("DROP TRIGGER audit_log_no_update").unwrap();
    conn.execute("UPDATE audit_log SET canonical = replace(canonical, '\"i\":1', '\"i\":7') WHERE seq = 2", [])
        .unwrap();
    let s = SqliteStore::open(&path).unwrap();
    let e = warden_audit::verify_log(s.audit_log(1, 10).unwrap(), &[], &[], None).unwrap_err();
    assert_eq!(e.seq, Some(2), "{e}");
    // The verifier's own reading (bytes, hash and row, no payload decoded) names it too.
    let sealed = s.audit_log_sealed(1, 10).unwrap();
    assert!(sealed.iter().all(|i| matches!(i, warden_audit::LogItem::Sealed(_))));
    let e = warden_audit::verify_log(sealed, &[], &[], None).unwrap_err();
    assert_eq!((e.seq, e.what.contains("does not match its hash")), (Some(2), true), "{e}");
    conn.execute("UPDATE audit_log SET object = 'other' WHERE seq = 3", []).unwrap();
    let err = s.audit_log(1, 10).unwrap_err().to_string();
    assert!(err.contains("audit entry 3"), "{err}");
    // Put entry 2 back; the edited column of entry 3 is still found from the bytes.
    conn.execute("UPDATE audit_log SET canonical = replace(canonical, '\"i\":7', '\"i\":1') WHERE seq = 2", [])
        .unwrap();
    let e = warden_audit::verify_log(s.audit_log_sealed(1, 10).unwrap(), &[], &[], None).unwrap_err();
    assert_eq!((e.seq, e.what.contains("columns differ")), (Some(3), true), "{e}");
    // A payload column filled in beside the bytes is refused by the store.
    conn.execute(
        "UPDATE audit_log SET object = (SELECT object FROM audit_log WHERE seq = 1), payload = '{}' WHERE seq = 3",
        [],
    )
    .unwrap();
    let err = s.audit_log_sealed(1, 10).unwrap_err().to_string();
    assert!(err.contains("audit entry 3"), "{err}");
}

/// Reading the log for verification without decoding payloads gives the
/// same report as decoding every entry.
#[test]
fn the_sealed_reading_verifies_exactly_as_the_decoded_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("w.db")).unwrap();
    let payloads = [
        serde_json::json!({"confidence": 0.9039999999999999, "n": 18446744073709551615u64}),
        serde_json::json!({"text": "quote \" backslash \\ tab \t nul \u{0} emoji 🦀 and \u{202e}"}),
        serde_json::json!({"nested": {"a": [1, 2, {"b": null}]}}),
    ];
    s.append_audit(payloads.iter().cloned().map(record).collect(), "p").unwrap();
    let decoded = warden_audit::verify_log(s.audit_log(1, 10).unwrap(), &[], &[], None).unwrap();
    let sealed = warden_audit::verify_log(s.audit_log_sealed(1, 10).unwrap(), &[], &[], None).unwrap();
    assert_eq!(decoded, sealed);
    assert_eq!(sealed.entries, 3);
}

#[test]
fn entries_written_before_the_log_kept_its_bytes_still_verify() {
    // A format 1 row, as the previous version wrote it: fields only, and a hash
    // over their canonical form (sorted keys, no whitespace, "v":1).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    drop(SqliteStore::open(&path).unwrap());
    let at = "2026-11-30T10:00:00Z";
    let actor = serde_json::json!({"kind": "service", "name": "ingest"});
    let payload = serde_json::json!({"confidence": 0.9039999999999999, "n": 1});
    let prev = warden_audit::GENESIS;
    let v1 = format!(
        r#"{{"action":"ingest.accepted","actor":{{"kind":"service","name":"ingest"}},"at":"{at}","object":"al-1","payload":{{"confidence":0.9039999999999999,"n":1}},"policy":"p","prev":"{prev}","seq":1,"v":1}}"#
    );
    let hash = warden_audit::chain_hash(v1.as_bytes());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO audit_log (seq, at, actor, action, object, payload, policy, prev_hash, hash)
         VALUES (1, ?1, ?2, 'ingest.accepted', 'al-1', ?3, 'p', ?4, ?5)",
        rusqlite::params![at, actor.to_string(), payload.to_string(), prev, hash],
    )
    .unwrap();
    let s = SqliteStore::open(&path).unwrap();
    s.append_audit(vec![record(serde_json::json!({"after": true}))], "p").unwrap();
    let items = s.audit_log(1, 10).unwrap();
    assert!(matches!(&items[0], warden_audit::LogItem::Full(e) if e.canonical.is_none()));
    assert_eq!(warden_audit::verify_log(items, &[], &[], None).unwrap().entries, 2);
}

fn scalar() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        any::<u64>().prop_map(|u| serde_json::json!(u)),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        (0.0f64..1.0).prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(serde_json::Value::String),
        "\\PC*".prop_map(serde_json::Value::String),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| serde_json::Value::String(String::from_utf8_lossy(&b).into_owned())),
        Just(serde_json::Value::String("nul\0inside\u{10FFFF}\u{FFFD}\u{1F600}\u{E000}".into())),
        any::<bool>().prop_map(serde_json::Value::Bool),
    ]
}

fn payload() -> impl Strategy<Value = serde_json::Value> {
    let leaf = scalar();
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn any_payload_survives_append_reopen_verify(payloads in proptest::collection::vec(payload(), 1..8)) {
        let entries = append_reopen_verify(payloads.clone());
        for (e, p) in entries.iter().zip(&payloads) {
            prop_assert_eq!(&e.record.payload, p);
        }
    }
}

#[test]
fn a_huge_string_survives_append_reopen_verify() {
    let big: String = "é\u{1F600}\0x".repeat(2_000_000);
    let entries = append_reopen_verify(vec![serde_json::json!({"text": big})]);
    assert_eq!(entries[0].record.payload["text"].as_str().map(str::len), Some(big.len()));
}

#[test]
fn the_trees_leaves_are_the_verifiers_and_an_edited_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let s = SqliteStore::open(&path).unwrap();
    s.append_audit((0..4).map(|i| record(serde_json::json!({"i": i}))).collect(), "p").unwrap();
    // Without decoding (the store's fast path) and through the full entries (the trait's default) alike.
    let fast = s.audit_leaves(1, 10).unwrap();
    let full = warden_store::leaves_of(s.audit_log(1, 10).unwrap()).unwrap();
    assert_eq!(fast, full);
    assert_eq!(fast.len(), 4);
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_update").unwrap();
    // The bytes rewritten with a recomputed hash, but naming another position: the row claims seq 3.
    let s = SqliteStore::open(&path).unwrap();
    let e2 = s.audit_entries(2, 1).unwrap().remove(0);
    let moved = String::from_utf8(e2.canonical.clone().unwrap()).unwrap();
    let hash = warden_audit::chain_hash(moved.as_bytes());
    conn.execute(
        "UPDATE audit_log SET canonical = ?1, hash = ?2 WHERE seq = 3",
        rusqlite::params![moved.as_bytes(), hash],
    )
    .unwrap();
    let err = s.audit_leaves(1, 10).unwrap_err().to_string();
    assert!(err.contains("audit entry 3"), "{err}");
    conn.execute("UPDATE audit_log SET canonical = x'00' WHERE seq = 4", []).unwrap();
    let err = s.audit_leaves(4, 10).unwrap_err().to_string();
    assert!(err.contains("audit entry 4"), "{err}");
}

/// The write-ahead log is copied into the database by the store's own
/// checkpoint thread, not inside a writer's commit: shortly after a write the
/// database file holds it, although the writer's automatic checkpoint (a
/// backstop far above this much data) never ran.
#[test]
fn the_write_ahead_log_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = SqliteStore::open(&path).unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    let big = "x".repeat(4000);
    for _ in 0..20 {
        store.append_audit((0..10).map(|_| record(serde_json::json!({"text": big}))).collect(), "cfg-1").unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::metadata(&path).unwrap().len() < before + 500_000 {
        assert!(std::time::Instant::now() < deadline, "nothing was checkpointed within 20 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // And the store is whole after the copy.
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    warden_audit::verify_log(store.audit_log(1, usize::MAX >> 1).unwrap(), &[], &[], None).unwrap();
}
