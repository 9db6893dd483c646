//! `warden dev crash`: the crash test. Starts `warden serve` on the data
//! directory, puts it under load (the load generator's workers), kills it
//! with SIGKILL at a random moment, and does that again for every round.
//! Then it opens the store itself and checks what a SOC depends on: every
//! alert the server acknowledged is stored, once (its own content, never
//! counted as a duplicate, one acceptance entry in the audit log), and the
//! audit log verifies.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::load::{Acked, read_alerts, worker};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// NDJSON or JSON files whose alerts are sent round-robin (each made unique).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// How many times the server is killed.
    #[arg(long, default_value_t = 10)]
    rounds: u32,
    /// Shortest time under load before a kill, in milliseconds.
    #[arg(long, default_value_t = 500)]
    min_ms: u64,
    /// Longest time under load before a kill, in milliseconds.
    #[arg(long, default_value_t = 4000)]
    max_ms: u64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Alerts per request.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Seed for the kill times (default: from the clock; the report says which).
    #[arg(long)]
    seed: Option<u64>,
}

/// xorshift64*: enough to spread kill times; the seed makes a run repeatable.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `warden serve` on `data` and waits until it answers `/healthz`.
fn start(data: &Path, config: Option<&Path>, token: &str, port: u16, log: &Path) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("cannot find this program to start the server")?;
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--data").arg(data);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("WARDEN_API_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .context("cannot start warden serve")?;
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().new_agent();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("warden serve exited with {status} before it was ready (its output: {})", log.display());
        }
        if agent.get(format!("http://127.0.0.1:{port}/healthz")).call().is_ok() {
            return Ok(child);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    anyhow::bail!("warden serve was not ready within 60 s (its output: {})", log.display())
}

pub fn run(args: Args, data: &Path, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.rounds > 0 && args.connections > 0 && args.batch > 0,
        "rounds, connections and batch must be positive"
    );
    anyhow::ensure!(args.min_ms <= args.max_ms, "--min-ms must not exceed --max-ms");
    let alerts = Arc::new(read_alerts(&args.files)?);
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let seed = args.seed.unwrap_or(clock);
    let mut draw = Draw(seed | 1);
    let token = format!("crash-{:016x}", Draw(clock | 1).next());
    let log = data.join("crash-test-server.log");
    // Sequence numbers from the clock: a second run on the same store sends new alerts.
    let seq = Arc::new(AtomicU64::new(clock));
    let acked: Arc<Acked> = Arc::default();
    println!("crash test: {} rounds, seed {seed}, server output in {}", args.rounds, log.display());
    println!("{:>5} {:>9} {:>10} {:>10}", "ROUND", "KILLED AT", "ACKED", "FAILED");
    for round in 1..=args.rounds {
        let port = free_port()?;
        let mut child = start(data, config, &token, port, &log)?;
        let url = format!("http://127.0.0.1:{port}/api/v1/alerts");
        let stop = Arc::new(AtomicBool::new(false));
        let before = acked.lock().unwrap_or_else(|p| p.into_inner()).len();
        let workers: Vec<_> = (0..args.connections)
            .map(|_| {
                let (alerts, url, seq, stop, token, acked) =
                    (alerts.clone(), url.clone(), seq.clone(), stop.clone(), token.clone(), acked.clone());
                let batch = args.batch;
                std::thread::spawn(move || worker(&alerts, &url, &token, batch, &seq, &stop, None, Some(&acked)))
            })
            .collect();
        let wait = args.min_ms + draw.next() % (args.max_ms - args.min_ms + 1);
        std::thread::sleep(Duration::from_millis(wait));
        // SIGKILL: no shutdown hook runs, whatever was in flight is cut.
        child.kill().context("cannot kill the server")?;
        child.wait()?;
        stop.store(true, Ordering::Relaxed);
        let mut failed = 0;
        for w in workers {
            let t = w.join().map_err(|_| anyhow::anyhow!("a load worker panicked"))?;
            failed += t.failures.values().sum::<u64>();
        }
        let now = acked.lock().unwrap_or_else(|p| p.into_inner()).len();
        println!("{round:>5} {:>7} ms {:>10} {failed:>10}", wait, now - before);
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap_or_else(|p| p.into_inner()));
    let engine = crate::open(data, config)?;
    let store = engine.store();
    let (mut missing, mut wrong, mut twice) = (Vec::new(), Vec::new(), Vec::new());
    let bar = indicatif::ProgressBar::new(acked.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("checking {bar:30} {pos}/{len} acknowledged alerts")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (n, id) in &acked {
        bar.inc(1);
        let Some(alert_id) = warden_core::AlertId::parse(id) else {
            wrong.push(format!("{id}: not an alert id"));
            continue;
        };
        let Some(rec) = store.alert(&alert_id)? else {
            missing.push(id.clone());
            continue;
        };
        let sent = warden_core::Fields::get(&rec.alert.fields, "warden_load_seq").map(|v| v.to_string());
        if sent.as_deref() != Some(n.to_string().as_str()) {
            wrong.push(format!("{id}: holds warden_load_seq {sent:?}, was sent {n}"));
        }
        let accepted = store.audit_for_object(id)?.iter().filter(|e| e.record.action == "ingest.accepted").count();
        if rec.duplicates != 0 || accepted != 1 {
            twice.push(format!("{id}: {} duplicate(s), {accepted} acceptance entries", rec.duplicates));
        }
    }
    bar.finish_and_clear();
    let verified = engine.verify_audit_log(None)?;
    println!(
        "{} alerts acknowledged over {} kills: {} missing, {} with other content, {} stored or audited more than once",
        acked.len(),
        args.rounds,
        missing.len(),
        wrong.len(),
        twice.len()
    );
    for line in missing
        .iter()
        .map(|m| format!("missing: {m}"))
        .chain(wrong.iter().cloned())
        .chain(twice.iter().cloned())
        .take(20)
    {
        println!("  {line}");
    }
    let audit_ok = match &verified {
        Ok(r) => {
            println!(
                "audit log intact: {} entries, hash chain, Merkle tree and {} checkpoint(s) verified",
                r.entries,
                r.checkpoints.len()
            );
            true
        }
        Err(e) => {
            println!("audit log damaged: {e}");
            false
        }
    };
    let ok = audit_ok && missing.is_empty() && wrong.is_empty() && twice.is_empty() && !acked.is_empty();
    if acked.is_empty() {
        println!("nothing was acknowledged: raise --min-ms so the server has time to commit");
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
