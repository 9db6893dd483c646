//! Sigma matching speed: every SigmaHQ rule (shared reference data) against
//! the Sysmon sample events, with the event prepared once for all the rules
//! (`sigma::matching`, what the local analyzer does) against the baseline of
//! each rule looking the event up on its own (`Rule::matches`), same run.
//! Run: `cargo bench -p warden-engine --bench sigma`.

use std::path::Path;
use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use warden_analyze::sigma::{self, Rule};
use warden_core::Alert;

fn main() {
    if fixture().is_none() {
        eprintln!("skipped: ../shared/data/sigma/rules is not present (shared reference data)");
        return;
    }
    divan::main();
}

fn fixture() -> Option<&'static (Vec<Rule>, Vec<Alert>)> {
    static F: OnceLock<Option<(Vec<Rule>, Vec<Alert>)>> = OnceLock::new();
    F.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = root.join("../shared/data/sigma/rules");
        if !dir.is_dir() {
            return None;
        }
        let (_, rules) = warden_engine::rules::check(&dir).ok()?;
        let bytes = std::fs::read(root.join("samples/sysmon-evtx.json")).ok()?;
        let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
        let alerts = warden_ingest::read(&bytes, "bench", &opts)
            .filter_map(|p| match p {
                warden_ingest::Parsed::Alert(a) => Some(*a),
                _ => None,
            })
            .collect();
        Some((rules, alerts))
    })
    .as_ref()
}

#[divan::bench]
fn each_rule_looks_up_the_event(b: Bencher) {
    let (rules, alerts) = fixture().unwrap();
    b.counter(ItemsCount::new(alerts.len()))
        .bench(|| alerts.iter().map(|a| rules.iter().filter(|r| r.matches(black_box(a))).count()).sum::<usize>());
}

#[divan::bench]
fn event_prepared_once(b: Bencher) {
    let (rules, alerts) = fixture().unwrap();
    b.counter(ItemsCount::new(alerts.len()))
        .bench(|| alerts.iter().map(|a| sigma::matching(rules, black_box(a)).len()).sum::<usize>());
}
