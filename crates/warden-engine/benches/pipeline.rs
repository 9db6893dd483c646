//! Throughput of the whole pipeline (alerts per second, in-memory SQLite with
//! every stage and the audit chain) and of ingest alone (bytes per second),
//! over the shipped samples. Run: `cargo bench -p warden-engine`.

use std::path::Path;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use warden_engine::{Config, Engine};

fn main() {
    divan::main();
}

/// The samples that parse cleanly, as (name, bytes).
fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().contains("mixed-with-errors"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// NDJSON made of every JSON sample record, each made unique `copies` times,
/// so the pipeline analyses instead of deduplicating.
fn corpus(copies: usize) -> (Vec<u8>, usize) {
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    let mut records = Vec::new();
    for (name, bytes) in samples() {
        if name.ends_with(".evtx") {
            continue;
        }
        for p in warden_ingest::read(&bytes, &name, &opts) {
            if let warden_ingest::Parsed::Alert(a) = p {
                let mut doc = serde_json::Map::new();
                for (path, v) in warden_core::Fields::iter(&a.fields) {
                    doc.insert(path.to_owned(), serde_json::to_value(v).unwrap());
                }
                records.push(doc);
            }
        }
    }
    let mut out = Vec::new();
    let mut n = 0;
    for i in 0..copies {
        for r in &records {
            let mut r = r.clone();
            r.insert("bench_copy".into(), i.into());
            out.extend(serde_json::to_vec(&r).unwrap());
            out.push(b'\n');
            n += 1;
        }
    }
    (out, n)
}

#[divan::bench(sample_count = 10)]
fn pipeline_end_to_end(b: Bencher) {
    let (input, n) = corpus(40);
    b.counter(ItemsCount::new(n)).with_inputs(|| Engine::in_memory(Config::default()).unwrap()).bench_local_values(
        |engine| {
            let s = engine.triage(&input, "bench", None, &mut |_| {}).unwrap();
            assert_eq!(s.stored as usize, n);
            engine
        },
    );
}

#[divan::bench(sample_count = 20)]
fn ingest_json(b: Bencher) {
    let (input, _) = corpus(40);
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    b.counter(BytesCount::new(input.len())).bench(|| warden_ingest::read(black_box(&input), "bench", &opts).count());
}

#[divan::bench(sample_count = 20)]
fn ingest_evtx(b: Bencher) {
    let files: Vec<Vec<u8>> = samples().into_iter().filter(|(n, _)| n.ends_with(".evtx")).map(|(_, b)| b).collect();
    let total: usize = files.iter().map(Vec::len).sum();
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    b.counter(BytesCount::new(total))
        .bench(|| files.iter().map(|f| warden_ingest::read(black_box(f), "bench", &opts).count()).sum::<usize>());
}

/// The same pipeline on a SQLite file (WAL, synchronous=FULL): what `warden
/// triage` pays for durability.
#[divan::bench(sample_count = 10)]
fn pipeline_on_disk(b: Bencher) {
    let (input, n) = corpus(40);
    b.counter(ItemsCount::new(n))
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap();
            let engine = Engine::open(dir.path(), Config::default()).unwrap();
            (dir, engine)
        })
        .bench_local_values(|(dir, engine)| {
            let s = engine.triage(&input, "bench", None, &mut |_| {}).unwrap();
            assert_eq!(s.stored as usize, n);
            (dir, engine)
        });
}

/// Alerts a grown store already holds before [`pipeline_on_disk_grown`] runs.
const GROWN: usize = 20_000;

/// NDJSON of `n` distinct ECS alerts spread over 300 hosts and 800 users:
/// a store a SOC has been feeding, not one bench corpus repeated.
fn fleet(n: usize, salt: &str) -> Vec<u8> {
    let rules = [
        ("Suspicious Execution via WMI", "high", "T1047"),
        ("PsExec lateral movement", "high", "T1021.002"),
        ("Encoded PowerShell", "medium", "T1059.001"),
        ("Net user discovery", "low", "T1087.001"),
        ("Scheduled task created", "medium", "T1053.005"),
    ];
    let mut out = Vec::new();
    for i in 0..n {
        let (name, severity, technique) = rules[i % rules.len()];
        let doc = serde_json::json!({
            "@timestamp": format!("2026-11-{:02}T{:02}:{:02}:{:02}Z", 1 + i / 86_400 % 28, i / 3600 % 24, i / 60 % 60, i % 60),
            "event.kind": "signal",
            "kibana.alert.rule.name": name,
            "kibana.alert.severity": severity,
            "kibana.alert.rule.threat": [{"technique": [{"id": technique}]}],
            "host.name": format!("WS-{:04}", (i * 7919) % 300),
            "user.name": format!("user{:03}", (i * 104_729) % 800),
            "process.command_line": format!("cmd.exe /c net user x{i}{salt} /add"),
        });
        out.extend(serde_json::to_vec(&doc).unwrap());
        out.push(b'\n');
    }
    out
}

/// A data directory holding [`GROWN`] alerts, made once per bench run.
fn grown_store() -> &'static tempfile::TempDir {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Config::default()).unwrap();
        engine.triage(&fleet(GROWN, "-before"), "grown", None, &mut |_| {}).unwrap();
        dir
    })
}

/// The user's path once the store is no longer new: the same on-disk
/// pipeline, 2,000 new alerts into a copy of a store already holding
/// [`GROWN`] (incidents, queue, audit log and all). Compare with
/// [`pipeline_on_disk_fresh_fleet`]: per-alert work that grows with the
/// store (once, every open incident's alerts recounted on every batch)
/// shows as the ratio between the two.
#[divan::bench(sample_count = 10)]
fn pipeline_on_disk_grown(b: Bencher) {
    let template = grown_store();
    fleet_into(b, || {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(template.path(), dir.path());
        dir
    });
}

/// The same 2,000 alerts into a new store: the baseline for
/// [`pipeline_on_disk_grown`].
#[divan::bench(sample_count = 10)]
fn pipeline_on_disk_fresh_fleet(b: Bencher) {
    fleet_into(b, || tempfile::tempdir().unwrap());
}

/// Times 2,000 new fleet alerts triaged into the data directory `dir` makes.
fn fleet_into(b: Bencher, dir: impl Fn() -> tempfile::TempDir) {
    let input = fleet(2_000, "-new");
    b.counter(ItemsCount::new(2_000usize))
        .with_inputs(|| {
            let dir = dir();
            let engine = Engine::open(dir.path(), Config::default()).unwrap();
            (dir, engine)
        })
        .bench_local_values(|(dir, engine)| {
            let s = engine.triage(&input, "bench", None, &mut |_| {}).unwrap();
            assert_eq!(s.stored, 2_000);
            (dir, engine)
        });
}

/// A data directory copied whole (its files and one level of subdirectories).
fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(to.join(e.file_name())).unwrap();
            for f in std::fs::read_dir(e.path()).unwrap() {
                let f = f.unwrap();
                std::fs::copy(f.path(), to.join(e.file_name()).join(f.file_name())).unwrap();
            }
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Baseline for ingest: serde_json parsing the same bytes into values and
/// nothing else. Ingest's cost over this is flattening, detection, limits
/// and fingerprinting.
#[divan::bench(sample_count = 20)]
fn baseline_serde_json_parse(b: Bencher) {
    let (input, _) = corpus(40);
    b.counter(BytesCount::new(input.len())).bench(|| {
        serde_json::Deserializer::from_slice(black_box(&input))
            .into_iter::<serde_json::Value>()
            .filter(Result::is_ok)
            .count()
    });
}
