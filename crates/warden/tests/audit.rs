//! The tamper-evident audit trail as an operator and an auditor use it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::warden;

fn run(data: &Path, args: &[&str]) -> Output {
    warden(data).args(args).output().unwrap()
}

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

fn triaged() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let out = warden(data.path()).arg("triage").args(samples()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    data
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_hand_edited_row_is_found_and_named() {
    let data = triaged();
    let ok = run(data.path(), &["audit", "verify"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("hash chain and Merkle tree verified"), "{}", text(&ok));

    // Someone with the database file bypasses the append-only trigger and edits row 10.
    let conn = rusqlite::Connection::open(data.path().join("warden.db")).unwrap();
    assert!(conn.execute("UPDATE audit_log SET action = 'x' WHERE seq = 10", []).is_err(), "the trigger refuses");
    conn.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET canonical = replace(canonical, '\"payload\":{', '\"payload\":{\"route\":\"auto_closed\",') WHERE seq = 10;").unwrap();
    drop(conn);
    let bad = run(data.path(), &["audit", "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains("audit entry 10:"), "{}", text(&bad));
}

#[test]
fn a_deleted_tail_is_caught_by_the_checkpoints() {
    let data = triaged();
    let conn = rusqlite::Connection::open(data.path().join("warden.db")).unwrap();
    let n: u64 = conn.query_row("SELECT max(seq) FROM audit_log", [], |r| r.get(0)).unwrap();
    conn.execute_batch(&format!("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq > {};", n - 3))
        .unwrap();
    drop(conn);
    let bad = run(data.path(), &["audit", "verify"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad).contains(&format!("audit entry {}: missing", n - 2)), "{}", text(&bad));
}

#[test]
fn a_checkpoint_kept_elsewhere_verifies_with_only_the_public_key() {
    let data = triaged();
    let elsewhere = tempfile::tempdir().unwrap();
    let cps: Vec<PathBuf> = std::fs::read_dir(data.path().join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "checkpoint"))
        .collect();
    let newest = cps.iter().max().unwrap();
    let cp = elsewhere.path().join("kept.checkpoint");
    std::fs::copy(newest, &cp).unwrap();
    let key = elsewhere.path().join("audit.pub");
    std::fs::write(&key, run(data.path(), &["audit", "public-key"]).stdout).unwrap();
    let args = |k: &Path| {
        vec![
            "audit".to_owned(),
            "verify".into(),
            "--checkpoint".into(),
            cp.display().to_string(),
            "--public-key".into(),
            k.display().to_string(),
        ]
    };
    let ok = warden(data.path()).args(args(&key)).output().unwrap();
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("given checkpoint"), "{}", text(&ok));

    // A key that did not sign it is refused.
    let other = tempfile::tempdir().unwrap();
    let foreign = other.path().join("other.pub");
    std::fs::write(&foreign, run(other.path(), &["audit", "public-key"]).stdout).unwrap();
    let bad = warden(data.path()).args(args(&foreign)).output().unwrap();
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert!(text(&bad).contains("no signature by a trusted key"), "{}", text(&bad));
}

fn b64_hash(v: &serde_json::Value) -> [u8; 32] {
    B64.decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

#[test]
fn printed_proofs_verify_with_an_independent_implementation() {
    use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
    use sha2::Sha256;
    let data = triaged();
    let doc: serde_json::Value =
        serde_json::from_slice(&run(data.path(), &["audit", "prove", "--entry", "7"]).stdout).unwrap();
    let size = doc["treeSize"].as_u64().unwrap();
    let proof: Vec<[u8; 32]> = doc["proof"].as_array().unwrap().iter().map(b64_hash).collect();
    assert!(proof.len() * 32 <= 32 * (size as f64).log2().ceil() as usize, "proof within 32·⌈log2 n⌉ bytes");
    let entry = entry_bytes(&doc);
    let root = RootHash::<Sha256>::new(b64_hash(&doc["root"]).into(), size);
    let digests: Vec<sha2::digest::Output<Sha256>> = proof.iter().map(|h| (*h).into()).collect();
    root.verify_inclusion(&entry, 6, &InclusionProof::<Sha256>::from_digests(digests.iter()))
        .expect("ct-merkle accepts Warden's inclusion proof");
    // The root is the one the signed checkpoint commits to.
    assert!(doc["checkpoint"].as_str().unwrap().contains(doc["root"].as_str().unwrap()));

    let c: serde_json::Value =
        serde_json::from_slice(&run(data.path(), &["audit", "consistency", "--from", "5"]).stdout).unwrap();
    let (s1, s2) = (c["size1"].as_u64().unwrap(), c["size2"].as_u64().unwrap());
    let digests: Vec<sha2::digest::Output<Sha256>> =
        c["proof"].as_array().unwrap().iter().map(|h| b64_hash(h).into()).collect();
    let new = RootHash::<Sha256>::new(b64_hash(&c["root2"]).into(), s2);
    let old = RootHash::<Sha256>::new(b64_hash(&c["root1"]).into(), s1);
    new.verify_consistency(&old, &ConsistencyProof::<Sha256>::from_digests(digests.iter()))
        .expect("ct-merkle accepts Warden's consistency proof");
}

/// The bytes an inclusion proof's leaf covers, as the proof carries them, after
/// checking that they say what the proof's parsed `entry` says.
fn entry_bytes(doc: &serde_json::Value) -> Vec<u8> {
    let bytes = doc["entryBytes"].as_str().expect("a kept entry comes with its bytes").as_bytes().to_vec();
    let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let entry = &doc["entry"];
    for (k, field) in [
        ("seq", "seq"),
        ("at", "at"),
        ("action", "action"),
        ("object", "object"),
        ("payload", "payload"),
        ("policy", "policy"),
        ("prev", "prev_hash"),
        ("actor", "actor"),
    ] {
        assert_eq!(parsed[k], entry[field], "entryBytes and entry agree on {k}");
    }
    bytes
}

#[test]
fn an_evidence_bundle_carries_every_entry_about_the_alert_with_its_proof() {
    let data = triaged();
    let out = warden(data.path())
        .args(["triage", "--output", "jsonl"])
        .arg(samples().into_iter().find(|p| p.ends_with("suricata-eve.json")).unwrap())
        .output()
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let id = first["alert_id"].as_str().unwrap();
    let file = data.path().join("bundle.json");
    let refused = run(data.path(), &["audit", "export", "--alert", id, "--out", file.to_str().unwrap()]);
    assert!(!refused.status.success(), "an export without a token is refused");
    let token = common::user_with_token(data.path(), "aud", "auditor");
    let o = warden(data.path())
        .args(["audit", "export", "--alert", id, "--out", file.to_str().unwrap()])
        .env("WARDEN_TOKEN", token.trim())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(b["alert"]["id"], id);
    assert_eq!(b["route"]["kind"], first["route"]);
    let audit = b["audit"].as_array().unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a["entry"]["action"].as_str().unwrap()).collect();
    for a in [
        "ingest.accepted",
        "protect.classified",
        "analyze.assessed",
        "validate.checked",
        "govern.routed",
        "ingest.deduplicated",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    for a in audit {
        assert_eq!(a["root"], audit[0]["root"], "all proofs verify against one checkpoint");
        let leaf = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update([0u8]);
            h.update(entry_bytes(a));
            <[u8; 32]>::from(h.finalize())
        };
        assert_eq!(leaf, b64_hash(&a["leafHash"]));
    }
}

#[test]
fn purging_inside_the_retention_period_is_refused_and_audited() {
    let data = triaged();
    let o = run(data.path(), &["audit", "purge", "--before", "2099-01-01"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("purge refused: entries younger than 183 days are kept"), "{}", text(&o));
    let conn = rusqlite::Connection::open(data.path().join("warden.db")).unwrap();
    let n: u64 = conn
        .query_row("SELECT count(*) FROM audit_log WHERE action = 'audit.purge_refused'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    // An old enough cut-off purges nothing here (everything is new) and the log still verifies.
    let o = run(data.path(), &["audit", "purge", "--before", "2020-01-01"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(run(data.path(), &["audit", "verify"]).status.success());
}

#[test]
fn old_checkpoints_still_verify_after_the_key_is_rotated() {
    let data = triaged();
    let before = String::from_utf8(run(data.path(), &["audit", "public-key"]).stdout).unwrap();
    let o = run(data.path(), &["audit", "rotate-key"]);
    assert!(o.status.success(), "{}", text(&o));
    let after = String::from_utf8(run(data.path(), &["audit", "public-key"]).stdout).unwrap();
    assert_ne!(before, after);
    let v = run(data.path(), &["audit", "verify"]);
    assert!(v.status.success(), "{}", text(&v));
    let t = text(&v);
    // `name+id+key`: the key's base64 may contain '+', so take the first two fields.
    let label = |k: &str| k.trim().splitn(3, '+').take(2).collect::<Vec<_>>().join("+");
    let (old_label, new_label) = (label(&before), label(&after));
    assert!(t.contains(&old_label) && t.contains(&new_label), "{t}");
}

#[test]
fn entries_after_the_newest_checkpoint_are_reported_as_unprotected_with_their_count() {
    let data = triaged();
    let add = warden(data.path())
        .args(["users", "add", "zed", "--role", "analyst"])
        .env("WARDEN_PASSWORD", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", text(&add));
    let v = run(data.path(), &["audit", "verify"]);
    assert!(v.status.success(), "{}", text(&v));
    assert!(text(&v).contains("1 entries after the newest checkpoint"), "{}", text(&v));
    assert!(run(data.path(), &["audit", "checkpoint"]).status.success());
    assert!(!text(&run(data.path(), &["audit", "verify"])).contains("not yet protected"));
}
