//! Sigma matching speed with every SigmaHQ rule loaded (shared reference
//! data), on Windows events from JSON input (the Sysmon and Winlogbeat
//! samples) and from EVTX input (the shared EVTX files), same run:
//!
//! - `*_prefiltered`: what the local analyzer does — the event prepared once
//!   and an Aho-Corasick pass over its text skipping rules whose literals
//!   are absent (`sigma::RuleSet`);
//! - `*_prepared_once`: the event prepared once, every rule evaluated
//!   (`sigma::matching`), the previous method;
//! - `json_each_rule_looks_up`: the first baseline, each rule looking the
//!   event up on its own (`Rule::matches`);
//! - `load_rule_set`: reading, parsing and compiling the whole rule folder;
//! - `devset_prefiltered`: the whole development set of real captures
//!   (`../shared/data/dev-evtx`, every record of every file), read from EVTX;
//! - `events_file_prefiltered`: the events of `WARDEN_BENCH_EVENTS` (NDJSON,
//!   when set), the file another engine is timed on in the same run (see
//!   docs/real-data.md for the RSigma comparison).
//!
//! Run: `cargo bench -p warden-engine --bench sigma`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use warden_analyze::sigma::{self, Rule, RuleSet};
use warden_core::Alert;

fn main() {
    if fixture().is_none() {
        eprintln!("skipped: ../shared/data/sigma/rules is not present (shared reference data)");
        return;
    }
    let f = fixture().unwrap();
    eprintln!(
        "{} rules ({} with prefilter literals); {} JSON events, {} EVTX events, {} dev-set events, {} events from \
         WARDEN_BENCH_EVENTS",
        f.rules.len(),
        f.set.prefiltered(),
        f.json.len(),
        f.evtx.len(),
        f.devset.len(),
        f.events_file.len()
    );
    let matched = |events: &[Alert]| events.iter().filter(|a| !f.set.matching(*a).is_empty()).count();
    eprintln!(
        "events with at least one rule match: dev set {}, WARDEN_BENCH_EVENTS {}",
        matched(&f.devset),
        matched(&f.events_file)
    );
    divan::main();
}

struct Fixture {
    dir: PathBuf,
    rules: Arc<Vec<Rule>>,
    set: RuleSet,
    json: Vec<Alert>,
    evtx: Vec<Alert>,
    devset: Vec<Alert>,
    events_file: Vec<Alert>,
}

fn alerts(path: &Path) -> Vec<Alert> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    warden_ingest::read(&bytes, "bench", &opts)
        .filter_map(|p| match p {
            warden_ingest::Parsed::Alert(a) => Some(*a),
            _ => None,
        })
        .collect()
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = root.join("../shared/data/sigma/rules");
        if !dir.is_dir() {
            return None;
        }
        let (_, rules) = warden_engine::rules::check(&dir).ok()?;
        let rules = Arc::new(rules);
        let set = RuleSet::new(rules.clone());
        let json = ["samples/sysmon-evtx.json", "samples/winlogbeat-flat.json"]
            .iter()
            .flat_map(|p| alerts(&root.join(p)))
            .collect();
        let evtx_dir = root.join("../shared/data/evtx");
        let mut evtx_files: Vec<PathBuf> = std::fs::read_dir(&evtx_dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
            .collect();
        evtx_files.sort();
        let evtx = evtx_files.iter().flat_map(|p| alerts(p)).collect();
        let mut devset_files: Vec<PathBuf> = ["attack", "benign"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join("../shared/data/dev-evtx").join(d)).into_iter().flatten())
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "evtx"))
            .collect();
        devset_files.sort();
        let devset = devset_files.iter().flat_map(|p| alerts(p)).collect();
        let events_file = std::env::var_os("WARDEN_BENCH_EVENTS").map(|p| alerts(Path::new(&p))).unwrap_or_default();
        Some(Fixture { dir, rules, set, json, evtx, devset, events_file })
    })
    .as_ref()
}

#[divan::bench]
fn json_each_rule_looks_up(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.json.len()))
        .bench(|| f.json.iter().map(|a| f.rules.iter().filter(|r| r.matches(black_box(a))).count()).sum::<usize>());
}

#[divan::bench]
fn json_prepared_once(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.json.len()))
        .bench(|| f.json.iter().map(|a| sigma::matching(&f.rules, black_box(a)).len()).sum::<usize>());
}

#[divan::bench]
fn json_prefiltered(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.json.len()))
        .bench(|| f.json.iter().map(|a| f.set.matching(black_box(a)).len()).sum::<usize>());
}

#[divan::bench]
fn evtx_prepared_once(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.evtx.len()))
        .bench(|| f.evtx.iter().map(|a| sigma::matching(&f.rules, black_box(a)).len()).sum::<usize>());
}

#[divan::bench]
fn evtx_prefiltered(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.evtx.len()))
        .bench(|| f.evtx.iter().map(|a| f.set.matching(black_box(a)).len()).sum::<usize>());
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn load_rule_set(b: Bencher) {
    let f = fixture().unwrap();
    b.bench(|| {
        let (_, rules) = warden_engine::rules::check(black_box(&f.dir)).unwrap();
        RuleSet::new(Arc::new(rules)).prefiltered()
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn devset_prefiltered(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.devset.len()))
        .bench(|| f.devset.iter().map(|a| f.set.matching(black_box(a)).len()).sum::<usize>());
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn events_file_prefiltered(b: Bencher) {
    let f = fixture().unwrap();
    b.counter(ItemsCount::new(f.events_file.len()))
        .bench(|| f.events_file.iter().map(|a| f.set.matching(black_box(a)).len()).sum::<usize>());
}
