//! Audit trail throughput: entries appended per second (SQLite file, WAL,
//! synchronous=FULL, hash chain), entries verified per second (chain + Merkle
//! tree + checkpoints, read back from the database), and the verifier alone
//! over entries already in memory. Run: `cargo bench -p warden-engine --bench audit`.

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use warden_core::{Actor, AuditRecord};
use warden_engine::{Config, Engine};

fn main() {
    divan::main();
}

fn record(i: usize) -> AuditRecord {
    AuditRecord::new(
        Actor::Service("bench".into()),
        "analyze.assessed",
        format!("al-{i:020}"),
        serde_json::json!({"verdict": "benign", "confidence": 0.9, "output_sha256": "ab".repeat(32), "i": i}),
    )
}

/// Appending in batches of `BATCH` entries per transaction, as the pipeline does.
const BATCH: usize = 100;
const N: usize = 5_000;

#[divan::bench(sample_count = 10)]
fn append_entries_to_sqlite_file(b: Bencher) {
    b.counter(ItemsCount::new(N))
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap();
            let engine = Engine::open(dir.path(), Config::default()).unwrap();
            (dir, engine)
        })
        .bench_local_values(|(dir, engine)| {
            for chunk in (0..N).collect::<Vec<_>>().chunks(BATCH) {
                engine.append_audit(chunk.iter().map(|&i| record(i)).collect()).unwrap();
            }
            (dir, engine)
        });
}

#[divan::bench(sample_count = 10)]
fn verify_log_from_sqlite_file(b: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path(), Config::default()).unwrap();
    for chunk in (0..N).collect::<Vec<_>>().chunks(BATCH) {
        engine.append_audit(chunk.iter().map(|&i| record(i)).collect()).unwrap();
    }
    engine.write_checkpoint().unwrap();
    let n = engine.store().audit_len().unwrap() as usize;
    b.counter(ItemsCount::new(n)).bench_local(|| {
        let report = engine.verify_audit_log(None).unwrap().unwrap();
        assert_eq!(report.entries as usize, n);
    });
}

#[divan::bench(sample_count = 10)]
fn verify_in_memory_entries(b: Bencher) {
    let mut entries = Vec::with_capacity(N);
    for i in 0..N {
        let last: Option<&warden_core::AuditEntry> = entries.last();
        let e = warden_audit::next_entry(
            last.map(|e| (e.seq, e.hash.as_str())),
            jiff::Timestamp::UNIX_EPOCH,
            record(i),
            "cfg",
        );
        entries.push(e);
    }
    b.counter(ItemsCount::new(N)).bench_local(|| {
        let items = entries.iter().cloned().map(warden_audit::LogItem::Full);
        black_box(warden_audit::verify_log(items, &[], &[], None).unwrap());
    });
}
