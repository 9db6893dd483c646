//! Scale-out on loopback: one PostgreSQL database, one JetStream stream, a
//! server publishing HTTP input to the stream and three worker processes,
//! one of them killed with SIGKILL mid-stream and restarted. Afterwards
//! every alert the HTTP client was given back is stored exactly once, with
//! one assessment and one set of audit entries, and the audit log verifies.
//!
//! Needs `WARDEN_TEST_POSTGRES_URL` and `WARDEN_TEST_NATS_URL` (skipped with
//! the reason printed otherwise). `WARDEN_SCALE_ALERTS` sets how many alerts
//! (default 6,000; the figures in the notes use 100,000).

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{announced, request, warden};

struct Killer(Vec<Child>);

impl Drop for Killer {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn worker(config: &Path, data: &Path) -> Child {
    let mut child = warden(data)
        .arg("--config")
        .arg(config)
        .arg("worker")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    announced(&mut child, "warden worker: taking alerts");
    child
}

/// A worker with its metrics served; returns it and the metrics address.
fn worker_with_metrics(config: &Path, data: &Path) -> (Child, String) {
    let mut child = warden(data)
        .arg("--config")
        .arg(config)
        .args(["worker", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced(&mut child, "warden worker: metrics on http://");
    (child, addr)
}

fn count(pg: &mut postgres::Client, sql: &str) -> i64 {
    pg.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn three_workers_one_killed_mid_stream_store_every_accepted_alert_exactly_once() {
    let (Ok(pg_url), Ok(nats_url)) = (std::env::var("WARDEN_TEST_POSTGRES_URL"), std::env::var("WARDEN_TEST_NATS_URL"))
    else {
        eprintln!(
            "skipped: WARDEN_TEST_POSTGRES_URL and WARDEN_TEST_NATS_URL are needed (a PostgreSQL and a NATS JetStream server)"
        );
        return;
    };
    let total: usize = std::env::var("WARDEN_SCALE_ALERTS").ok().and_then(|v| v.parse().ok()).unwrap_or(6_000);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let tag = format!("{}_{nanos}", std::process::id());
    let schema = format!("warden_scale_{tag}");
    let dir = tempfile::tempdir().unwrap();
    // Every node signs checkpoints with one key into one directory (shared storage in a real deployment).
    let key = dir.path().join("shared/audit-signing.key");
    let checkpoints = dir.path().join("shared/checkpoints");
    let config = |publish: bool| {
        let path = dir.path().join(if publish { "server.toml" } else { "worker.toml" });
        std::fs::write(
            &path,
            format!(
                "[audit]\nsigning_key = {key:?}\ncheckpoint_dir = {checkpoints:?}\ncheckpoint_every = 2000\n\n[store]\nurl = {pg_url:?}\nschema = {schema:?}\n\n[queue]\nnats_url = {nats_url:?}\nstream = \"WARDEN_SCALE_{tag}\"\nsubject = \"warden.scale.{tag}\"\npublish = {publish}\nack_wait_secs = 5\nfetch = 250\n"
            ),
        )
        .unwrap();
        path
    };
    let (server_toml, worker_toml) = (config(true), config(false));
    let data = |name: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    };
    let mut pg = postgres::Client::connect(&pg_url, postgres::NoTls).unwrap();

    let mut server = warden(&data("server"))
        .arg("--config")
        .arg(&server_toml)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("WARDEN_API_TOKEN", "forwarder")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced(&mut server, "warden listening on http://");
    let mut procs = Killer(vec![server]);
    let (status, ready) = request(&addr, "GET", "/readyz", None, "text/plain", b"");
    assert!(status == 200 && ready.contains("store: ok") && ready.contains("stream: ok"), "{status} {ready}");
    for name in ["w1", "w2"] {
        procs.0.push(worker(&worker_toml, &data(name)));
    }
    let (w3, metrics) = worker_with_metrics(&worker_toml, &data("w3"));
    procs.0.push(w3);

    // The HTTP client posts its alerts in bodies of 500 after a first one of 5,200 (more than the NATS
    // client's 5,000 pending acknowledgements: it is published in windows); one worker is killed a
    // third of the way in.
    let mut accepted: Vec<String> = Vec::with_capacity(total);
    let started = Instant::now();
    let mut killed = false;
    let all: Vec<usize> = (0..total).collect();
    let first = all.len().min(5_200);
    for chunk in std::iter::once(&all[..first]).chain(all[first..].chunks(500)) {
        let body: String = chunk
            .iter()
            .map(|i| {
                format!(
                    "{{\"message\":\"powershell.exe -nop -w hidden -enc {i:08x}\",\"host\":\"ws{}\",\"user\":\"u{}\",\"event_id\":4688}}\n",
                    i % 40,
                    i % 13
                )
            })
            .collect();
        let (status, resp) =
            request(&addr, "POST", "/api/v1/alerts", Some("forwarder"), "application/x-ndjson", body.as_bytes());
        assert_eq!(status, 200, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
        assert_eq!(v["complete"], true, "{resp}");
        accepted.extend(v["alert_ids"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()));
        if !killed && accepted.len() >= total / 3 {
            // SIGKILL: no chance to finish its batch or acknowledge anything.
            procs.0[1].kill().unwrap();
            procs.0[1].wait().unwrap();
            killed = true;
            std::thread::sleep(Duration::from_millis(500));
            procs.0[1] = worker(&worker_toml, &data("w1"));
        }
    }
    assert_eq!(accepted.len(), total, "every alert was accepted");
    // What is not an alert is dead-lettered by the node that received it, with its reason.
    let (status, resp) =
        request(&addr, "POST", "/api/v1/alerts", Some("forwarder"), "application/x-ndjson", b"{\"bad\": \xff}\n");
    assert_eq!(status, 422, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    let dead = v["rejected"][0]["dead_letter"].as_str().unwrap().to_owned();
    let kept = count(&mut pg, &format!("SELECT count(*) FROM {schema}.dead_letters WHERE id = '{dead}'"));
    assert_eq!(kept, 1, "{resp}");
    let published = started.elapsed();

    // Wait for the workers to drain the stream.
    let alerts = format!("SELECT count(*) FROM {schema}.alerts");
    let deadline = Instant::now() + Duration::from_secs(600);
    while count(&mut pg, &alerts) < total as i64 {
        assert!(Instant::now() < deadline, "only {} of {total} stored", count(&mut pg, &alerts));
        std::thread::sleep(Duration::from_millis(250));
    }
    let drained = started.elapsed();
    // A little longer, so a late duplicate would show.
    std::thread::sleep(Duration::from_secs(6));
    eprintln!("{total} alerts: published in {published:?}, stored in {drained:?}");

    assert_eq!(count(&mut pg, &alerts), total as i64, "each exactly once");
    let n = count(&mut pg, &format!("SELECT count(*) FROM {schema}.assessments"));
    assert_eq!(n, total as i64, "one assessment each");
    let twice = count(
        &mut pg,
        &format!(
            "SELECT count(*) FROM (SELECT object FROM {schema}.audit_log WHERE action = 'ingest.accepted'
             GROUP BY object HAVING count(*) > 1) x"
        ),
    );
    assert_eq!(twice, 0, "no alert has a second set of audit entries");
    let accepted_entries =
        count(&mut pg, &format!("SELECT count(*) FROM {schema}.audit_log WHERE action = 'ingest.accepted'"));
    assert_eq!(accepted_entries, total as i64);
    assert_eq!(count(&mut pg, &format!("SELECT coalesce(sum(duplicates), 0)::bigint FROM {schema}.alerts")), 0);
    let stored: std::collections::HashSet<String> =
        pg.query(&format!("SELECT id FROM {schema}.alerts"), &[]).unwrap().into_iter().map(|r| r.get(0)).collect();
    let missing = accepted.iter().filter(|id| !stored.contains(*id)).count();
    assert_eq!(missing, 0, "every id the HTTP client was given back is stored");

    // A worker's own /metrics shows what it did and where the time went.
    let (status, m) = request(&metrics, "GET", "/metrics", None, "text/plain", b"");
    assert_eq!(status, 200, "{m}");
    let figure = |name: &str| -> f64 {
        m.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).and_then(|v| v.trim().parse().ok()).unwrap_or(-1.0)
    };
    assert!(figure("warden_queue_delivered") > 0.0 && figure("warden_store_commits") > 0.0, "{m}");
    assert_eq!(figure("warden_queue_pending"), 0.0, "drained: {m}");
    let (status, ready) = request(&metrics, "GET", "/readyz", None, "text/plain", b"");
    assert!(status == 200 && ready.contains("stream: ok"), "{ready}");
    // Nothing else is served there.
    assert_eq!(request(&metrics, "GET", "/api/v1/queue", None, "text/plain", b"").0, 404);

    // Every node stops cleanly on SIGTERM (workers finish the batch in hand and sign a checkpoint).
    for c in &mut procs.0 {
        let pid = c.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = c.wait().unwrap();
        assert!(status.success(), "a node ended with {status} on SIGTERM");
    }
    drop(procs);
    let verify = warden(&data("w2")).arg("--config").arg(&worker_toml).args(["audit", "verify"]).output().unwrap();
    let said = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "{said}");
    assert!(said.contains("audit log intact"), "{said}");
    // Checkpoints written by several nodes into the shared directory all verify with the one public key.
    let written = std::fs::read_dir(&checkpoints)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "checkpoint"))
        .count();
    assert!(written >= 3, "{written} checkpoints");
    assert_eq!(said.matches("verified (").count(), written, "{said}");
    let _ = pg.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        if let Ok(c) = async_nats::connect(&nats_url).await {
            let _ = async_nats::jetstream::new(c).delete_stream(format!("WARDEN_SCALE_{tag}")).await;
        }
    });
}

/// A NATS server of the test's own that wants a token: a worker given it
/// (through the variable `queue.token_env` names) connects, one without is
/// refused with the reason.
#[test]
fn a_worker_signs_in_to_a_nats_server_that_wants_a_token() {
    let server = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(server) = server else {
        eprintln!("skipped: no nats-server binary on this machine");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let store = dir.path().join("js");
    let nats = std::process::Command::new(server)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&store)
        .args(["--auth", "s3cret-token"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _nats = Killer(vec![nats]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let config = dir.path().join("w.toml");
    std::fs::write(&config, format!("[queue]\nnats_url = \"nats://127.0.0.1:{port}\"\ntoken_env = \"NATS_TOKEN\"\n"))
        .unwrap();
    let data = dir.path().join("data");

    let refused = warden(&data).arg("--config").arg(&config).arg("worker").env("NATS_TOKEN", "wrong").output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("cannot connect to NATS"), "{err}");
    assert!(!err.contains("wrong"), "the token is never printed: {err}");
    let unset = warden(&data).arg("--config").arg(&config).arg("worker").env_remove("NATS_TOKEN").output().unwrap();
    assert!(String::from_utf8_lossy(&unset.stderr).contains("NATS_TOKEN is not set"));

    let mut ok = warden(&data)
        .arg("--config")
        .arg(&config)
        .arg("worker")
        .env("NATS_TOKEN", "s3cret-token")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    announced(&mut ok, "warden worker: taking alerts");
    let _ = ok.kill();
    let _ = ok.wait();

    // A server on the stream reports each dependency, and says which one is gone.
    let mut serve = warden(&data)
        .arg("--config")
        .arg(&config)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("NATS_TOKEN", "s3cret-token")
        .env("WARDEN_API_TOKEN", "t")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced(&mut serve, "warden listening on http://");
    let _serve = Killer(vec![serve]);
    let (status, body) = request(&addr, "GET", "/readyz", None, "text/plain", b"");
    assert!(status == 200 && body.contains("store: ok") && body.contains("stream: ok"), "{status} {body}");
    drop(_nats);
    let (status, body) = request(&addr, "GET", "/readyz", None, "text/plain", b"");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stream: not available") && body.contains("store: ok"), "{body}");
}
