//! Protection throughput on realistic log lines (the PII corpus and the
//! samples): lines/s and MB/s of recognising, tokenising and sealing for an
//! external provider, against ingest alone on the same bytes in the same run.
//! Run: `cargo bench -p warden-engine --bench privacy`.

use std::path::Path;

use divan::counter::{BytesCount, ItemsCount};
use divan::{Bencher, black_box};
use warden_core::DataClass;
use warden_privacy::{Handling, Options, Protector, ProviderPolicy, Residency};

fn main() {
    divan::main();
}

fn lines() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = std::fs::read(root.join("crates/warden-privacy/tests/data/pii-corpus.ndjson")).unwrap();
    for s in [
        "samples/ecs-alerts.ndjson",
        "samples/suricata-eve.json",
        "samples/winlogbeat-flat.json",
        "samples/generic.ndjson",
    ] {
        out.extend(std::fs::read(root.join(s)).unwrap());
    }
    out
}

fn alerts(bytes: &[u8]) -> Vec<warden_core::Alert> {
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    warden_ingest::read(bytes, "bench", &opts)
        .filter_map(|p| match p {
            warden_ingest::Parsed::Alert(a) => Some(*a),
            _ => None,
        })
        .collect()
}

#[divan::bench(sample_count = 10)]
fn protect_for_external_provider(b: Bencher) {
    let bytes = lines();
    let input = alerts(&bytes);
    let p = Protector::new(Options { tenant: "bench".into(), ..Options::default() }, [1; 32]).unwrap();
    let policy = ProviderPolicy {
        name: "external".into(),
        residency: Residency::External,
        classes: [(DataClass::IpPublic, Handling::Tokenise)].into(),
        unclassified: Handling::Raw,
    };
    b.counter(ItemsCount::new(input.len()))
        .counter(BytesCount::new(bytes.len()))
        .bench_local(|| input.iter().map(|a| p.protect(a.clone(), &policy).withheld()).sum::<usize>());
}

#[divan::bench(sample_count = 10)]
fn baseline_ingest_same_lines(b: Bencher) {
    let bytes = lines();
    let n = alerts(&bytes).len();
    b.counter(ItemsCount::new(n)).counter(BytesCount::new(bytes.len())).bench_local(|| alerts(black_box(&bytes)).len());
}
