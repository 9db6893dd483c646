//! `warden dev load`: a load generator for `POST /api/v1/alerts`. Several
//! keep-alive connections post batches of alerts for a fixed time; the
//! report gives sustained alerts/s, latency percentiles, failures by
//! status, and (with `--server-pid`) the server's memory after the run.
//! With `--sample SECS` it is a soak test: every interval gets a line (and a
//! row in the JSON report) with its alerts/s, p50/p99 latency, failures and
//! the server's resident memory, so a slow leak or a slowing server shows.
//!
//! Every alert sent is made unique (a `warden_load_seq` field, counted from
//! the clock so that runs differ too), so the server does the full work of a
//! new alert rather than a duplicate check.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8088")]
    url: String,
    /// Bearer token of a user allowed to submit alerts (or the server's WARDEN_API_TOKEN).
    #[arg(long, env = "WARDEN_LOAD_TOKEN", hide_env_values = true)]
    token: String,
    /// NDJSON or JSON files whose alerts are sent round-robin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Alerts per request.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// How long to send for.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Read this process's resident memory after the run (Linux).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Report every SECS seconds: that interval's alerts/s, p50/p99 latency,
    /// failures and (with --server-pid) the server's memory — a soak test.
    #[arg(long, value_name = "SECS")]
    sample: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// One request as the soak samples see it.
#[derive(Clone, Copy)]
pub(crate) struct Done {
    latency_ms: f64,
    accepted: u64,
    failed: bool,
}

/// One interval of a soak run.
#[derive(Serialize, Debug)]
struct Sample {
    /// End of the interval, seconds from the start.
    at_s: f64,
    alerts_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed_requests: u64,
    server_rss_kib: Option<u64>,
}

fn sample(done: &[Done], from: f64, to: f64, rss_kib: Option<u64>) -> Sample {
    let mut lat: Vec<f64> = done.iter().map(|d| d.latency_ms).collect();
    lat.sort_unstable_by(f64::total_cmp);
    let pct = |q: f64| lat.get(((lat.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0);
    Sample {
        at_s: to,
        alerts_per_second: done.iter().map(|d| d.accepted).sum::<u64>() as f64 / (to - from).max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        failed_requests: done.iter().filter(|d| d.failed).count() as u64,
        server_rss_kib: rss_kib,
    }
}

#[derive(Serialize, Debug)]
struct Report {
    seconds: f64,
    connections: usize,
    batch: usize,
    requests: u64,
    alerts_accepted: u64,
    alerts_rejected: u64,
    failed_requests: u64,
    failures: Vec<(String, u64)>,
    alerts_per_second: f64,
    requests_per_second: f64,
    latency_ms: Percentiles,
    server_rss_kib: Option<u64>,
    server_peak_rss_kib: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    samples: Vec<Sample>,
}

#[derive(Serialize, Debug, Default)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

#[derive(Default)]
pub(crate) struct Tally {
    latencies: Vec<Duration>,
    accepted: u64,
    rejected: u64,
    pub(crate) failures: std::collections::BTreeMap<String, u64>,
}

/// The JSON objects of NDJSON or JSON files, to send round-robin.
pub(crate) fn read_alerts(files: &[PathBuf]) -> anyhow::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let mut alerts: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let docs: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Array(items)) => items,
            Ok(one) => vec![one],
            Err(_) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .enumerate()
                .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}:{}: not JSON", f.display(), i + 1)))
                .collect::<anyhow::Result<_>>()?,
        };
        for (i, d) in docs.into_iter().enumerate() {
            match d {
                serde_json::Value::Object(m) => alerts.push(m),
                // The generator makes every alert unique by adding a field; only objects can take one.
                other => anyhow::bail!(
                    "{}: item {} is a JSON {}, not an object; the load generator sends alerts, which are objects",
                    f.display(),
                    i + 1,
                    match other {
                        serde_json::Value::Array(_) => "array",
                        serde_json::Value::String(_) => "string",
                        serde_json::Value::Number(_) => "number",
                        serde_json::Value::Bool(_) => "boolean",
                        _ => "null",
                    }
                ),
            }
        }
    }
    anyhow::ensure!(!alerts.is_empty(), "the files hold no JSON objects to send");
    Ok(alerts)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.batch > 0 && args.connections > 0 && args.seconds > 0,
        "batch, connections and seconds must be positive"
    );
    let alerts = read_alerts(&args.files)?;
    let alerts = Arc::new(alerts);
    let url = format!("{}/api/v1/alerts", args.url.trim_end_matches('/'));
    // Sequence numbers start from the clock, so a second run sends new alerts
    // too rather than measuring duplicate checks.
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let seq = Arc::new(AtomicU64::new(start));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let log: Arc<Mutex<Vec<Done>>> = Arc::default();
    let workers: Vec<_> = (0..args.connections)
        .map(|_| {
            let (alerts, url, seq, stop, token, batch, log) =
                (alerts.clone(), url.clone(), seq.clone(), stop.clone(), args.token.clone(), args.batch, log.clone());
            let sampled = args.sample.is_some().then_some(log);
            std::thread::spawn(move || worker(&alerts, &url, &token, batch, &seq, &stop, sampled, None))
        })
        .collect();
    let bar = indicatif::ProgressBar::new(args.seconds).with_style(
        indicatif::ProgressStyle::with_template("sending {bar:30} {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let deadline = started + Duration::from_secs(args.seconds);
    let every = args.sample.map(|s| s.max(1) as f64);
    let mut samples: Vec<Sample> = Vec::new();
    let (mut from, mut seen) = (0.0, 0);
    if every.is_some() && !args.json {
        // Around the bar, not through it: a hidden bar (output not a terminal) drops its lines.
        let line =
            format!("{:>7} {:>9} {:>8} {:>8} {:>7} {:>9}", "AT s", "ALERTS/s", "P50 ms", "P99 ms", "FAILED", "RSS MiB");
        bar.suspend(|| println!("{line}"));
    }
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200).min(deadline.saturating_duration_since(Instant::now())));
        bar.set_position(started.elapsed().as_secs());
        bar.set_message(format!("{} alerts sent", seq.load(Ordering::Relaxed) - start));
        let now = started.elapsed().as_secs_f64();
        if let Some(every) = every
            && now - from >= every
        {
            let done: Vec<Done> = log.lock().unwrap_or_else(|p| p.into_inner())[seen..].to_vec();
            seen += done.len();
            let rss_kib = args.server_pid.and_then(|p| rss(p).ok()).map(|m| m.0);
            let s = sample(&done, from, now, rss_kib);
            if !args.json {
                let line = format!(
                    "{:>7.0} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>9}",
                    s.at_s,
                    s.alerts_per_second,
                    s.p50_ms,
                    s.p99_ms,
                    s.failed_requests,
                    s.server_rss_kib.map_or("-".into(), |k| (k / 1024).to_string())
                );
                bar.suspend(|| println!("{line}"));
            }
            samples.push(s);
            from = now;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    for w in workers {
        let t = w.join().map_err(|_| anyhow::anyhow!("a load worker panicked"))?;
        all.latencies.extend(t.latencies);
        all.accepted += t.accepted;
        all.rejected += t.rejected;
        for (k, n) in t.failures {
            *all.failures.entry(k).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    all.latencies.sort_unstable();
    let pct = |q: f64| {
        all.latencies
            .get(((all.latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let mem = args.server_pid.map(rss).transpose()?;
    let failed: u64 = all.failures.values().sum();
    let requests = all.latencies.len() as u64;
    let report = Report {
        seconds: elapsed,
        connections: args.connections,
        batch: args.batch,
        requests,
        alerts_accepted: all.accepted,
        alerts_rejected: all.rejected,
        failed_requests: failed,
        failures: all.failures.into_iter().collect(),
        alerts_per_second: all.accepted as f64 / elapsed,
        requests_per_second: requests as f64 / elapsed,
        latency_ms: Percentiles { p50: pct(0.50), p90: pct(0.90), p99: pct(0.99), max: pct(1.0) },
        server_rss_kib: mem.map(|m| m.0),
        server_peak_rss_kib: mem.map(|m| m.1),
        samples,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{:.0} alerts/s accepted ({} alerts in {} requests over {:.1} s, {} connections × {} per request)",
            report.alerts_per_second,
            report.alerts_accepted,
            report.requests,
            report.seconds,
            report.connections,
            report.batch
        );
        let l = &report.latency_ms;
        println!("latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}", l.p50, l.p90, l.p99, l.max);
        if report.alerts_rejected > 0 {
            println!("{} alerts rejected by the server (see its dead letters)", report.alerts_rejected);
        }
        for (why, n) in &report.failures {
            println!("{n} requests failed: {why}");
        }
        if let (Some(now), Some(peak)) = (report.server_rss_kib, report.server_peak_rss_kib) {
            println!("server memory after the run: {} MiB resident, peak {} MiB", now / 1024, peak / 1024);
        }
        let rss: Vec<u64> = report.samples.iter().filter_map(|s| s.server_rss_kib).collect();
        if let (Some(first), Some(last)) = (rss.first(), rss.last()) {
            let low = report.samples.iter().map(|s| s.alerts_per_second).fold(f64::INFINITY, f64::min);
            let high = report.samples.iter().map(|s| s.alerts_per_second).fold(0.0, f64::max);
            println!(
                "soak: server memory {} MiB at the first sample, {} MiB at the last ({:+.1} %); alerts/s per interval {low:.0} to {high:.0}",
                first / 1024,
                last / 1024,
                (*last as f64 - *first as f64) * 100.0 / *first as f64
            );
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Acknowledged alerts: (the `warden_load_seq` sent, the alert id the server answered).
pub(crate) type Acked = Mutex<Vec<(u64, String)>>;

/// Posts batches until `stop`; with `acked`, records every alert the server
/// acknowledged as committed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn worker(
    alerts: &[serde_json::Map<String, serde_json::Value>],
    url: &str,
    token: &str,
    batch: usize,
    seq: &AtomicU64,
    stop: &AtomicBool,
    sampled: Option<Arc<Mutex<Vec<Done>>>>,
    acked: Option<&Acked>,
) -> Tally {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .new_agent();
    let auth = format!("Bearer {token}");
    let mut t = Tally::default();
    let mut body = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        body.clear();
        let mut seqs = Vec::with_capacity(batch);
        for _ in 0..batch {
            let n = seq.fetch_add(1, Ordering::Relaxed);
            seqs.push(n);
            let mut a = alerts[n as usize % alerts.len()].clone();
            a.insert("warden_load_seq".into(), n.into());
            // Serialising a Map into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut body, &a);
            body.extend_from_slice(b"\n");
        }
        let sent = Instant::now();
        let res = agent
            .post(url)
            .header("authorization", &auth)
            .header("content-type", "application/x-ndjson")
            .send(&body[..]);
        let mut accepted = 0;
        let outcome = match res {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                if let Some(acked) = acked
                    && (status == 200 || status == 503)
                {
                    // Committed, in input order, whether or not the request completed.
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    let mut ids = v["alert_ids"].as_array().into_iter().flatten().filter_map(|i| i.as_str());
                    let rejected: Vec<u64> =
                        v["rejected"].as_array().into_iter().flatten().filter_map(|r| r["index"].as_u64()).collect();
                    let processed = v["processed"].as_u64().unwrap_or(0) as usize;
                    let mut got = acked.lock().unwrap_or_else(|p| p.into_inner());
                    for (i, n) in seqs.iter().enumerate().take(processed) {
                        if rejected.contains(&(i as u64)) {
                            continue;
                        }
                        if let Some(id) = ids.next() {
                            got.push((*n, id.to_owned()));
                        }
                    }
                }
                if status == 200 {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    accepted = v["accepted"].as_u64().unwrap_or(0);
                    t.accepted += accepted;
                    t.rejected += v["rejected"].as_array().map_or(0, |r| r.len() as u64);
                    None
                } else {
                    Some(format!("HTTP {status}"))
                }
            }
            Err(e) => Some(e.to_string()),
        };
        let latency = sent.elapsed();
        t.latencies.push(latency);
        if let Some(log) = &sampled {
            log.lock().unwrap_or_else(|p| p.into_inner()).push(Done {
                latency_ms: latency.as_secs_f64() * 1e3,
                accepted,
                failed: outcome.is_some(),
            });
        }
        if let Some(why) = outcome {
            *t.failures.entry(why).or_default() += 1;
            // A server that refuses will keep refusing: do not spin.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    t
}

/// (resident, peak resident) in KiB from /proc.
fn rss(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read the memory of process {pid}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}
