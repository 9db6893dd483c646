//! The queue at volume: listing incidents (first page, last page, a text
//! search), opening one, against the per-alert review queue read at the same
//! volume as the baseline. One store of 200,000 queued alerts on 2,000 hosts,
//! built once through the real pipeline (burn-in: everything queued), on a
//! SQLite file as `warden serve` uses. Run: `cargo bench -p warden-engine --bench incidents`.
//! `WARDEN_BENCH_ALERTS` sets the number of alerts (default 200000).

use std::sync::OnceLock;

use divan::Bencher;
use warden_core::{Actor, Role};
use warden_engine::incidents::IncidentFilter;
use warden_engine::review::QueueFilter;
use warden_engine::{Config, Engine};
use warden_govern::Identity;

fn main() {
    divan::main();
}

const HOSTS: usize = 2000;

struct Fixture {
    _dir: tempfile::TempDir,
    engine: Engine,
    who: Identity,
    total: u64,
    largest: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let n: usize = std::env::var("WARDEN_BENCH_ALERTS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Config::default()).unwrap();
        let start = jiff::Timestamp::from_second(1_714_557_600).unwrap();
        let started = std::time::Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
            let mut input = String::new();
            for &i in chunk {
                // One event a second across the hosts: each host every 2000 s, one story per host.
                let at = start + jiff::SignedDuration::from_secs(i as i64);
                let doc = serde_json::json!({
                    "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                    "Hostname": format!("ws{:04}", i % HOSTS), "User": format!("CORP\\u{:04}", i % HOSTS),
                    "UtcTime": at.to_string(), "Image": "C:\\Windows\\System32\\whoami.exe",
                    "CommandLine": "whoami /all",
                });
                input.push_str(&doc.to_string());
                input.push('\n');
            }
            engine.triage(input.as_bytes(), "bench", None, &mut |_| {}).unwrap();
        }
        engine.add_user(Actor::User("bench".into()), "ann", &[Role::Analyst], "a long enough password").unwrap();
        let who = engine.check_password("ann", "a long enough password").unwrap();
        let first = engine.incidents(&who, &IncidentFilter::default()).unwrap();
        eprintln!("fixture: {n} alerts → {} incidents in {:.0} s", first.total, started.elapsed().as_secs_f64());
        let largest = first.items[0].incident_id.clone();
        Fixture { _dir: dir, engine, total: first.total, who, largest }
    })
}

#[divan::bench(sample_count = 20)]
fn incidents_first_page(b: Bencher) {
    let f = fixture();
    b.bench(|| f.engine.incidents(&f.who, &IncidentFilter::default()).unwrap().items.len());
}

#[divan::bench(sample_count = 20)]
fn incidents_last_page(b: Bencher) {
    let f = fixture();
    let last = IncidentFilter { offset: Some(f.total.saturating_sub(100) as usize), ..IncidentFilter::default() };
    b.bench(|| f.engine.incidents(&f.who, &last).unwrap().items.len());
}

#[divan::bench(sample_count = 20)]
fn incidents_text_search(b: Bencher) {
    let f = fixture();
    let q = IncidentFilter { q: Some("ws1999".into()), ..IncidentFilter::default() };
    b.bench(|| f.engine.incidents(&f.who, &q).unwrap().total);
}

#[divan::bench(sample_count = 20)]
fn incident_show(b: Bencher) {
    let f = fixture();
    b.bench(|| f.engine.incident(&f.who, &f.largest).unwrap().rows.len());
}

/// The alert queue's last page of 100, with its true total (what a web or API page reads).
#[divan::bench(sample_count = 20)]
fn alert_queue_last_page(b: Bencher) {
    let f = fixture();
    let all = f.engine.queue_page(&f.who, &QueueFilter { limit: Some(1), ..QueueFilter::default() }).unwrap().total;
    let last = QueueFilter { offset: Some(all.saturating_sub(100) as usize), ..QueueFilter::default() };
    b.bench(|| f.engine.queue_page(&f.who, &last).unwrap().items.len());
}

/// Baseline: the first 1,000 of the per-alert review queue, as the queue was
/// read before it paged (and as `Engine::queue` still reads it).
#[divan::bench(sample_count = 10)]
fn baseline_alert_queue(b: Bencher) {
    let f = fixture();
    b.bench(|| f.engine.queue(&f.who, None).unwrap().len());
}
