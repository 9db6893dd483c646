//! Cross-checks against an independent implementation (the `ct-merkle`
//! crate): same roots for the same entries, and the proofs Warden produces
//! verify there; plus tamper properties of the whole log.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use jiff::Timestamp;
use proptest::prelude::*;
use sha2::Sha256;
use warden_audit::merkle::{self, Hash};
use warden_audit::{LogItem, NoteSigner, entry_bytes, next_entry, verify_log};
use warden_core::{Actor, AuditEntry, AuditRecord};

fn out(h: &Hash) -> sha2::digest::Output<Sha256> {
    (*h).into()
}

fn log(n: usize) -> Vec<AuditEntry> {
    let mut v: Vec<AuditEntry> = Vec::new();
    for i in 0..n {
        let rec = AuditRecord::new(
            Actor::Service("test".into()),
            "ingest.accepted",
            format!("al-{i:04}"),
            serde_json::json!({"i": i, "text": "é ✓"}),
        );
        let last = v.last().map(|e| (e.seq, e.hash.as_str()));
        v.push(next_entry(last, Timestamp::from_second(1_800_000_000 + i as i64).unwrap(), rec, "cfg-1"));
    }
    v
}

#[test]
fn roots_and_proofs_agree_with_ct_merkle() {
    let entries = log(41);
    let bytes: Vec<Vec<u8>> = entries.iter().map(|e| entry_bytes(e).into_owned()).collect();
    let leaves: Vec<Hash> = bytes.iter().map(|b| merkle::leaf_hash(b)).collect();
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for (n, b) in bytes.iter().enumerate() {
        theirs.push(b.clone());
        let size = n + 1;
        let ours = merkle::root(&leaves[..size]);
        assert_eq!(theirs.root().as_bytes().as_slice(), ours.as_slice(), "root at size {size}");
        let root = RootHash::<Sha256>::new(out(&ours), size as u64);
        for (m, value) in bytes[..size].iter().enumerate() {
            let p = merkle::inclusion_proof(m, &leaves[..size]).unwrap();
            let p = InclusionProof::<Sha256>::from_digests(p.iter().map(out).collect::<Vec<_>>().iter());
            root.verify_inclusion(value, m as u64, &p).unwrap_or_else(|e| panic!("inclusion {m}/{size}: {e:?}"));
        }
        for m in 1..size {
            let p = merkle::consistency_proof(m, &leaves[..size]).unwrap();
            let p = ConsistencyProof::<Sha256>::from_digests(p.iter().map(out).collect::<Vec<_>>().iter());
            let old = RootHash::<Sha256>::new(out(&merkle::root(&leaves[..m])), m as u64);
            root.verify_consistency(&old, &p).unwrap_or_else(|e| panic!("consistency {m}/{size}: {e:?}"));
        }
    }
}

fn items(entries: &[AuditEntry]) -> Vec<LogItem> {
    entries.iter().cloned().map(LogItem::Full).collect()
}

fn checkpoint(signer: &NoteSigner, entries: &[AuditEntry]) -> (String, String) {
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(&entry_bytes(e))).collect();
    let cp = warden_audit::Checkpoint {
        origin: "warden.test/log".into(),
        size: entries.len() as u64,
        root: merkle::root(&leaves),
    };
    (format!("{}.checkpoint", entries.len()), signer.sign(&cp))
}

/// Changes one byte of one field of an entry, by its text.
fn flip(e: &mut AuditEntry, field: u8, at: usize) {
    fn poke(s: &mut String, at: usize) {
        let mut b = std::mem::take(s).into_bytes();
        if b.is_empty() {
            b.push(b'x');
        } else {
            let i = at % b.len();
            b[i] = if b[i] == b'x' { b'y' } else { b'x' };
        }
        *s = String::from_utf8_lossy(&b).into_owned();
    }
    match field % 6 {
        0 => poke(&mut e.record.action, at),
        1 => poke(&mut e.record.object, at),
        2 => poke(&mut e.policy, at),
        3 => poke(&mut e.prev_hash, at),
        4 => poke(&mut e.hash, at),
        _ => e.record.payload = serde_json::json!({"i": at}),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_changed_byte_is_found_and_named(n in 2usize..40, victim in 0usize..40, field in 0u8..6, at in 0usize..200) {
        let mut entries = log(n);
        let victim = victim % n;
        flip(&mut entries[victim], field, at);
        let e = verify_log(items(&entries), &[], &[], None).unwrap_err();
        // A changed hash or prev-hash is found at that entry or, for the hash, at the next one that names it.
        let seq = e.seq.unwrap();
        prop_assert!(seq == victim as u64 + 1 || (field % 6 == 4 && seq == victim as u64 + 2), "{e} for victim {}", victim + 1);
    }

    #[test]
    fn deletion_reordering_and_truncation_are_found(n in 3usize..40, a in 0usize..40, b in 0usize..40, cut in 1usize..40) {
        let signer = NoteSigner::from_seed("warden.test", [5; 32]).unwrap();
        let entries = log(n);
        let cp = checkpoint(&signer, &entries);
        let trusted = [signer.verifier()];

        let mut deleted = entries.clone();
        let i = a % (n - 1);
        deleted.remove(i);
        let e = verify_log(items(&deleted), &[], &[], None).unwrap_err();
        prop_assert_eq!(e.seq, Some(i as u64 + 1));

        let (x, y) = (a % n, b % n);
        if x != y {
            let mut swapped = entries.clone();
            swapped.swap(x, y);
            let e = verify_log(items(&swapped), &[], &[], None).unwrap_err();
            prop_assert_eq!(e.seq, Some(x.min(y) as u64 + 1));
        }

        let keep = n - 1 - (cut % (n - 1));
        let truncated = &entries[..keep];
        prop_assert!(verify_log(items(truncated), &[], &[], None).is_ok(), "a prefix alone is a valid log");
        let e = verify_log(items(truncated), std::slice::from_ref(&cp), &trusted, None).unwrap_err();
        prop_assert_eq!(e.seq, Some(keep as u64 + 1), "{}", e);
    }

    #[test]
    fn a_rewritten_log_with_recomputed_hashes_fails_the_signed_checkpoint(n in 2usize..40, victim in 0usize..40) {
        let signer = NoteSigner::from_seed("warden.test", [5; 32]).unwrap();
        let entries = log(n);
        let cp = checkpoint(&signer, &entries);
        // The attacker changes one entry and recomputes every hash after it, but has no key.
        let victim = victim % n;
        let mut forged: Vec<AuditEntry> = entries[..victim].to_vec();
        for e in &entries[victim..] {
            let mut rec = e.record.clone();
            if e.seq as usize == victim + 1 {
                rec.payload = serde_json::json!({"forged": true});
            }
            let last = forged.last().map(|e| (e.seq, e.hash.as_str()));
            forged.push(next_entry(last, e.at, rec, &e.policy));
        }
        prop_assert!(verify_log(items(&forged), &[], &[], None).is_ok(), "the chain alone cannot tell");
        let e = verify_log(items(&forged), std::slice::from_ref(&cp), &[signer.verifier()], None).unwrap_err();
        prop_assert!(e.what.contains("does not match checkpoint"), "{}", e);
        // And a checkpoint the attacker signs with their own key is not trusted.
        let mallory = NoteSigner::from_seed("warden.test", [6; 32]).unwrap();
        let fake = checkpoint(&mallory, &forged);
        prop_assert!(verify_log(items(&forged), &[fake], &[signer.verifier()], None).is_err());
    }
}

#[test]
fn pruned_entries_keep_the_log_verifiable() {
    let signer = NoteSigner::from_seed("warden.test", [5; 32]).unwrap();
    let entries = log(20);
    let cp = checkpoint(&signer, &entries);
    let mut pruned: Vec<LogItem> = entries[..8]
        .iter()
        .map(|e| LogItem::Pruned {
            seq: e.seq,
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
            leaf: merkle::leaf_hash(&entry_bytes(e)),
        })
        .collect();
    pruned.extend(items(&entries[8..]));
    let r = verify_log(pruned.clone(), std::slice::from_ref(&cp), &[signer.verifier()], None).unwrap();
    assert_eq!((r.entries, r.pruned), (20, 8));
    // A forged leaf among the pruned ones does not match the checkpoint.
    if let LogItem::Pruned { leaf, .. } = &mut pruned[3] {
        leaf[0] ^= 1;
    }
    assert!(verify_log(pruned, &[cp], &[signer.verifier()], None).is_err());
}

/// Entries are checked many at a time across the cores; the failure reported
/// is still the first in log order, whichever core found which.
#[test]
fn in_a_long_log_the_first_bad_entry_in_order_is_named() {
    let entries = log(20_000);
    let mut bad = items(&entries);
    // A later entry edited, an earlier one removed: the removal comes first.
    if let LogItem::Full(e) = &mut bad[15_000] {
        e.record.payload = serde_json::json!({"edited": true});
    }
    bad.remove(9_000);
    let e = verify_log(bad.clone(), &[], &[], None).unwrap_err();
    assert_eq!(e.seq, Some(9_001), "{e}");
    assert!(e.what.contains("missing"), "{e}");
    // Without the removal, the edit is named.
    let mut edited = items(&entries);
    if let LogItem::Full(e) = &mut edited[15_000] {
        e.record.payload = serde_json::json!({"edited": true});
    }
    let e = verify_log(edited, &[], &[], None).unwrap_err();
    assert_eq!(e.seq, Some(15_001), "{e}");
    assert_eq!(verify_log(items(&entries), &[], &[], None).unwrap().entries, 20_000);
}
