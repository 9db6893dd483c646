//! The `warden` binary as a user runs it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;

use common::{announced, request, user_with_token, warden};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("samples")).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

fn jsonl(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn triage_over_the_samples_prints_the_contract_fields_for_every_format() {
    let data = tempfile::tempdir().unwrap();
    let out = warden(data.path()).arg("triage").args(samples()).args(["--output", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = jsonl(&out.stdout);
    assert!(rows.len() >= 40, "{} rows", rows.len());
    let mut formats = BTreeSet::new();
    for r in &rows {
        for key in
            ["alert_id", "format", "verdict", "confidence", "severity", "techniques", "route", "reasons", "origin"]
        {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        let origin = &r["origin"];
        assert!(origin["file"].is_string());
        assert!(origin["line"].is_u64() || origin["record"].is_u64(), "{origin}");
        formats.insert(r["format"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        formats,
        ["cef", "ecs", "eve", "evtx", "json", "leef", "ocsf", "syslog", "zeek"].map(String::from).into()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The mixed sample's broken lines, each with its line and reason.
    for needle in [
        "mixed-with-errors.ndjson:2: invalid JSON at column 81",
        "mixed-with-errors.ndjson:4: invalid UTF-8",
        "mixed-with-errors.ndjson:5: expected a JSON object",
        "mixed-with-errors.ndjson:6: nesting deeper than 64 levels",
        "mixed-with-errors.ndjson:7: field `CommandLine` is 1126411 bytes",
        "mixed-with-errors.ndjson:9: invalid JSON",
    ] {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}:\n{stderr}");
    }
    assert!(stderr.contains("6 rejected (kept in the dead-letter store)"), "{stderr}");
    // EVTX records are traced by record number.
    assert!(
        rows.iter().any(|r| r["origin"]["record"].is_u64() && r["origin"]["file"].as_str().unwrap().ends_with(".evtx"))
    );
}

#[test]
fn table_output_reads_stdin_and_summarises() {
    let data = tempfile::tempdir().unwrap();
    let mut child =
        warden(data.path()).args(["triage", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let input = std::fs::read(repo().join("samples/suricata-eve.json")).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ROUTE"), "{text}");
    assert!(text.contains("-:1"), "stdin origin shown as `-`: {text}");
    // Out of the box every workflow is in burn-in and in assist mode: a human sees everything.
    assert!(text.contains("7 new alert(s) from 1 input(s): 0 escalated, 7 to review, 0 auto-closed"), "{text}");
}

#[test]
fn usage_errors_exit_2_and_missing_files_exit_1() {
    let data = tempfile::tempdir().unwrap();
    assert_eq!(warden(data.path()).args(["triage", "--output", "xml", "x"]).output().unwrap().status.code(), Some(2));
    assert_eq!(warden(data.path()).arg("triage").output().unwrap().status.code(), Some(2));
    let out = warden(data.path()).args(["triage", "/nonexistent/alerts.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/alerts.json"));
}

#[test]
fn an_empty_evtx_file_produces_a_message() {
    let data = tempfile::tempdir().unwrap();
    let empty = data.path().join("empty.evtx");
    std::fs::write(&empty, b"").unwrap();
    let out = warden(data.path())
        .arg("triage")
        .arg(&empty)
        .arg(repo().join("samples/new-user-security.evtx"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "an empty input is not a failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("empty.evtx is empty: it holds no records"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() > 2, "the other input is still triaged");
}

#[test]
fn a_file_larger_than_a_piece_is_read_in_pieces_with_the_whole_files_line_numbers() {
    // Three records of 3.6 MB (more than the 8 MiB a piece holds, together)
    // and a bad line and a good one after them: every record is triaged or
    // rejected with the line it has in the whole file.
    let data = tempfile::tempdir().unwrap();
    let path = data.path().join("big.ndjson");
    let mut text = String::new();
    let pad = "x".repeat(900_000);
    for i in 0..3 {
        text.push_str(&format!(
            "{{\"event\":{{\"kind\":\"alert\",\"id\":\"{i}\"}},\"a\":\"{pad}\",\"b\":\"{pad}\",\"c\":\"{pad}\",\"d\":\"{pad}\"}}\n"
        ));
    }
    text.push_str(
        "{\"broken\": \n{\"event\":{\"kind\":\"alert\",\"id\":\"last\"},\"rule\":{\"name\":\"after the cut\"}}\n",
    );
    std::fs::write(&path, &text).unwrap();
    let out = warden(data.path()).arg("triage").arg(&path).args(["--output", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<u64> = jsonl(&out.stdout).iter().map(|r| r["origin"]["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 3, 5]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("big.ndjson:4: invalid JSON"), "{stderr}");
}

#[test]
fn damaged_evtx_is_processed_as_far_as_it_can_be_read() {
    let path = repo().join("../shared/data/evtx/sample_with_a_bad_chunk_magic.evtx");
    if !path.exists() {
        eprintln!("skipped: {} is not present (shared reference data)", path.display());
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let out = warden(data.path()).arg("triage").arg(&path).args(["--output", "jsonl"]).output().unwrap();
    assert!(out.status.success(), "a damaged file is processed, not fatal");
    assert!(jsonl(&out.stdout).len() > 100);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chunk") && stderr.contains("cannot be read"), "{stderr}");
}

#[test]
fn killing_mid_batch_loses_nothing_reported_and_duplicates_nothing() {
    let data = tempfile::tempdir().unwrap();
    let input = data.path().join("big.ndjson");
    let total = 30_000;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for i in 0..total {
            writeln!(f, r#"{{"timestamp":"2026-11-20T09:00:00Z","flow_id":{i},"event_type":"dns","src_ip":"10.0.{}.{}","dest_ip":"10.0.0.2","dns":{{"rrname":"host{i}.example"}}}}"#, i / 250, i % 250).unwrap();
        }
    }
    let mut child = warden(data.path())
        .arg("triage")
        .arg(&input)
        .args(["--output", "jsonl"])
        .env("WARDEN_PIPELINE__BATCH_SIZE", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut reported = BTreeSet::new();
    let mut line = String::new();
    while reported.len() < 300 && reader.read_line(&mut line).unwrap() > 0 {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        reported.insert(v["alert_id"].as_str().unwrap().to_owned());
        line.clear();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(reported.len(), 300);

    let rerun = |data: &Path| {
        let out = warden(data).arg("triage").arg(&input).args(["--output", "jsonl"]).output().unwrap();
        assert!(out.status.success());
        jsonl(&out.stdout)
    };
    let second = rerun(data.path());
    assert_eq!(second.len(), total);
    let dup: BTreeMap<String, bool> = second
        .iter()
        .map(|r| (r["alert_id"].as_str().unwrap().to_owned(), r["duplicate"].as_bool().unwrap()))
        .collect();
    assert_eq!(dup.len(), total, "every alert has its own id");
    for id in &reported {
        assert_eq!(dup.get(id), Some(&true), "{id} was reported stored before the kill but was not found stored");
    }
    assert!(dup.values().any(|d| !d), "the kill came after the whole input was done; nothing was tested");
    let third = rerun(data.path());
    assert!(third.iter().all(|r| r["duplicate"] == true), "after the re-run, every alert is stored exactly once");
    let verify = warden(data.path()).args(["audit", "verify"]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[test]
fn config_check_reports_every_error_together() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[govern]\nconfidence_threshold = 2.0\n[pipeline]\nbatch_size = 0\n").unwrap();
    let out = warden(dir.path()).arg("--config").arg(&cfg).args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("confidence_threshold") && err.contains("batch_size") && err.contains("2 error(s)"), "{err}");
    for example in ["examples/warden.toml", "examples/scale-out/server.toml", "examples/scale-out/worker.toml"] {
        let ok =
            warden(dir.path()).arg("--config").arg(repo().join(example)).args(["config", "check"]).output().unwrap();
        assert!(ok.status.success(), "{example}: {}", String::from_utf8_lossy(&ok.stderr));
    }
    // A store that is not PostgreSQL, or publishing with nowhere to publish to, is refused with a reason.
    std::fs::write(&cfg, "[store]\nurl = \"mysql://db/w\"\n[queue]\npublish = true\n").unwrap();
    let out = warden(dir.path()).arg("--config").arg(&cfg).args(["config", "check"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.url must be a postgres://") && err.contains("queue.publish needs queue.nats_url"),
        "{err}"
    );
}

fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    request(addr, method, path, token, "application/x-ndjson", body)
}

/// Starts `warden serve` on a free port with a forwarders' token and global
/// options (such as `--config FILE`); returns the process and its address.
fn serve_with(data: &Path, token: &str, global: &[&std::ffi::OsStr]) -> (std::process::Child, String) {
    let mut child = warden(data)
        .args(global)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("WARDEN_API_TOKEN", token)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = announced(&mut child, "warden listening on http://");
    (child, addr)
}

/// Runs `f` with the address and process id of a server started with
/// [`serve_with`], then stops the server whatever `f` did.
fn with_server(
    data: &Path,
    token: &str,
    global: &[&std::ffi::OsStr],
    f: impl FnOnce(&str, u32) + std::panic::UnwindSafe,
) {
    let (mut child, addr) = serve_with(data, token, global);
    let pid = child.id();
    let result = std::panic::catch_unwind(|| f(&addr, pid));
    child.kill().unwrap();
    child.wait().unwrap();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn serve_accepts_alerts_over_http_with_a_token() {
    let data = tempfile::tempdir().unwrap();
    with_server(data.path(), "test-token", &[], |addr, _| {
        assert_eq!(http(addr, "GET", "/healthz", None, b""), (200, "ok".to_owned()));
        assert_eq!(http(addr, "POST", "/api/v1/alerts", None, b"{}").0, 401);
        assert_eq!(http(addr, "POST", "/api/v1/alerts", Some("wrong"), b"{}").0, 401);
        let body = b"{\"event_type\":\"dns\",\"src_ip\":\"10.0.0.1\",\"dns\":{\"rrname\":\"a.example\"}}\nnot json\n[{\"EventID\":1102,\"Channel\":\"Security\",\"Hostname\":\"dc1\"}]\n";
        let (status, text) = http(addr, "POST", "/api/v1/alerts", Some("test-token"), body);
        assert_eq!(status, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["accepted"], 2);
        assert_eq!(v["alert_ids"].as_array().unwrap().len(), 2);
        assert_eq!(v["rejected"][0]["index"], 1);
        assert!(v["rejected"][0]["error"].as_str().unwrap().starts_with("line 2: invalid JSON"), "{v}");
        let (status, text) = http(addr, "POST", "/api/v1/alerts", Some("test-token"), b"nope");
        assert_eq!(status, 422, "{text}");
        assert_eq!(http(addr, "GET", "/readyz", None, b"").0, 200);
    });
}

/// Runs `f` against a server (forwarders' token `t`) started with this configuration.
fn with_config(toml: &str, f: impl FnOnce(&str) + std::panic::UnwindSafe) {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("warden.toml");
    std::fs::write(&config, toml).unwrap();
    with_server(data.path(), "t", &["--config".as_ref(), config.as_os_str()], |addr, _| f(addr));
}

#[test]
fn a_client_that_sends_its_body_too_slowly_gets_408() {
    with_config("[server]\nrequest_timeout_secs = 1\n", |addr| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        // Promise 100 bytes, send 10, then stall.
        write!(s, "POST /api/v1/alerts HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer t\r\nContent-Length: 100\r\n\r\n{{\"a\": 1,").unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        let resp = String::from_utf8_lossy(&buf[..n]);
        assert!(resp.starts_with("HTTP/1.1 408"), "{resp}");
        assert!(resp.contains("\"code\":\"timeout\""), "{resp}");
        assert_eq!(http(addr, "GET", "/healthz", None, b"").0, 200, "the server keeps serving");
    });
}

#[test]
fn a_client_that_trickles_its_headers_is_disconnected() {
    with_config("[server]\nheader_timeout_secs = 1\n", |addr| {
        // Slowloris: open many connections, each with half a request line, then stall.
        let mut stalled: Vec<std::net::TcpStream> = (0..20)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                write!(s, "GET /healthz HTTP/1.1\r\nHost: te").unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
                s
            })
            .collect();
        for s in &mut stalled {
            let mut buf = Vec::new();
            // The server closes the connection (perhaps after a 408); without the
            // header timeout this read would run into its own 20 s timeout and fail.
            s.read_to_end(&mut buf).expect("the server closes a connection whose headers stall");
            let text = String::from_utf8_lossy(&buf);
            assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
        }
        assert_eq!(http(addr, "GET", "/healthz", None, b"").0, 200, "the server keeps serving");
    });
}

/// `warden dev crash`: the server is killed (SIGKILL) under load, round
/// after round; every alert it acknowledged must be stored once and the
/// audit log must verify.
#[test]
fn killing_the_server_under_load_loses_no_acknowledged_alert() {
    let data = tempfile::tempdir().unwrap();
    let out = warden(data.path())
        .args(["dev", "crash", "--rounds", "3", "--min-ms", "700", "--max-ms", "1500", "--seed", "7"])
        .args(["--connections", "2", "--batch", "5"])
        .arg(repo().join("samples/ecs-alerts.ndjson"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("over 3 kills: 0 missing, 0 with other content, 0 stored or audited more than once"),
        "{text}"
    );
    assert!(text.contains("audit log intact"), "{text}");
    let acked: u64 =
        text.lines().find(|l| l.contains("alerts acknowledged")).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(acked > 0, "{text}");
    // Nothing is left running: the data directory is free for the next server.
    let out = warden(data.path()).args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_load_generator_reports_throughput_latency_and_server_memory() {
    let data = tempfile::tempdir().unwrap();
    with_server(data.path(), "test-token", &[], |addr, pid| {
        let pid = pid.to_string();
        let load = |token: &str| {
            warden(data.path())
                .args(["dev", "load", "--url", &format!("http://{addr}"), "--token", token, "--seconds", "2"])
                .args(["--connections", "2", "--batch", "5", "--json", "--server-pid", &pid, "--sample", "1"])
                .arg(repo().join("samples/ecs-alerts.ndjson"))
                .output()
                .unwrap()
        };
        let out = load("test-token");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v["alerts_accepted"].as_u64().unwrap() >= 5, "{v}");
        assert_eq!(v["failed_requests"], 0, "{v}");
        assert!(v["latency_ms"]["p50"].as_f64().unwrap() > 0.0, "{v}");
        assert!(v["latency_ms"]["p99"].as_f64() >= v["latency_ms"]["p50"].as_f64(), "{v}");
        assert!(v["server_rss_kib"].as_u64().unwrap() > 0, "{v}");
        // A soak run's intervals: each with its rate, latency and the server's memory.
        let samples = v["samples"].as_array().unwrap();
        assert!(!samples.is_empty(), "{v}");
        for s in samples {
            assert!(s["server_rss_kib"].as_u64().unwrap() > 0 && s["p99_ms"].as_f64() >= s["p50_ms"].as_f64(), "{s}");
        }
        let out = load("wrong");
        assert!(!out.status.success(), "refused requests make the run fail");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["alerts_accepted"], 0);
        assert_eq!(v["failures"][0][0], "HTTP 401", "{v}");
        // Input that is not alerts is refused up front, naming the item.
        let bad = data.path().join("bad.json");
        std::fs::write(&bad, "[{\"a\": 1}, 5]").unwrap();
        let out = warden(data.path())
            .args(["dev", "load", "--url", &format!("http://{addr}"), "--token", "test-token", "--seconds", "1"])
            .arg(&bad)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("item 2 is a JSON number"), "{out:?}");
    });
}

#[test]
fn people_request_and_approve_actions_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let ann = user_with_token(data.path(), "ann", "analyst");
    let sam = user_with_token(data.path(), "sam", "senior_analyst");
    let mia = user_with_token(data.path(), "mia", "manager");
    let run = |tok: &str, args: &[&str]| warden(data.path()).args(args).env("WARDEN_TOKEN", tok).output().unwrap();

    let o =
        run(&ann, &["actions", "request", "--action", "isolate_host", "--param", "host=ws-1", "--reason", "C2 beacon"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let req: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = req["id"].as_str().unwrap().to_owned();
    assert_eq!(req["status"], "pending");
    assert_eq!(req["params"]["host"], "ws-1");

    let o = run(&ann, &["actions", "approve", &id]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ann requested this action and may not approve it"));
    let o = run(&sam, &["actions", "approve", &id, "--note", "confirmed"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let done: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(done["status"], "executed");
    assert_eq!(done["execution"]["executor"], "log");

    let o = run(&ann, &["stop", "on", "--reason", "x"]);
    assert_eq!(o.status.code(), Some(1), "analysts may not stop the line");
    assert!(run(&mia, &["stop", "on", "--reason", "incident bridge open"]).status.success());
    let out = warden(data.path())
        .args(["triage", "--output", "jsonl"])
        .arg(repo().join("samples/suricata-eve.json"))
        .output()
        .unwrap();
    assert!(jsonl(&out.stdout).iter().all(|r| r["route"] == "review"), "stop switch: everything to review");
    assert!(
        String::from_utf8_lossy(&warden(data.path()).args(["stop", "status"]).output().unwrap().stdout).contains("ON")
    );
    let verify = warden(data.path()).args(["audit", "verify"]).output().unwrap();
    assert!(verify.status.success());
}

/// `warden eval ARGS --report FILE` in `dir`: what it printed, and the report it wrote.
fn eval_with_report(dir: &Path, args: &[&std::ffi::OsStr]) -> (String, serde_json::Value) {
    let report = dir.join("report.json");
    let o = warden(dir).arg("eval").args(args).arg("--report").arg(&report).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (String::from_utf8_lossy(&o.stdout).into_owned(), r)
}

#[test]
fn eval_prints_the_figures_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let input = repo().join("examples/eval/labelled.ndjson");
    let (text, r) = eval_with_report(dir.path(), &[input.as_os_str()]);
    for needle in ["precision", "recall", "F1", "ECE", "per-tactic recall", "Exfiltration"] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    for k in ["n", "precision", "recall", "f1", "ece", "brier"] {
        assert!(r[k].is_number(), "{k} missing in {r}");
    }
    assert_eq!(r["per_tactic"]["Exfiltration"]["recall"], 0.0);
    assert!(r["per_tactic"]["Exfiltration"]["n"].is_u64());
    assert!(!dir.path().join("warden.db").exists(), "eval does not touch the live store");
}

#[test]
fn analysts_work_the_review_queue_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let tok = user_with_token(data.path(), "ann", "analyst");
    let tok = tok.as_str();
    let out = warden(data.path())
        .args(["triage", "--output", "jsonl"])
        .arg(repo().join("samples/suricata-eve.json"))
        .output()
        .unwrap();
    let id = jsonl(&out.stdout)[0]["alert_id"].as_str().unwrap().to_owned();
    let list = warden(data.path()).args(["review", "list"]).env("WARDEN_TOKEN", tok).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains(&id));
    let d = warden(data.path())
        .args([
            "review",
            "decide",
            &id,
            "--verdict",
            "benign",
            "--reason-code",
            "false_alarm",
            "--comment",
            "test traffic",
            "--rating",
            "2",
        ])
        .env("WARDEN_TOKEN", tok)
        .output()
        .unwrap();
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let v: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["ai_verdict"].as_str(), v["accepted"].as_bool()),
        (Some("benign"), Some("malicious"), Some(false))
    );
    let m = warden(data.path()).args(["metrics", "--json"]).output().unwrap();
    let m: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
    assert_eq!(m["n"], 1);
    let wf =
        warden(data.path()).args(["workflows", "exit-burn-in", "default"]).env("WARDEN_TOKEN", tok).output().unwrap();
    assert_eq!(wf.status.code(), Some(1), "analysts may not end burn-in");
    // The token is listed (never shown again) and, once revoked, refused.
    let list = warden(data.path()).args(["tokens", "list", "--user", "ann"]).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(!listed.contains(tok), "a listing never shows the token");
    let row = listed.lines().find(|l| l.contains(" ann ")).expect("ann's token is listed");
    let id = row.split_whitespace().next().unwrap().to_owned();
    assert!(row.trim_end().ends_with('-'), "not revoked yet: {row}");
    let r = warden(data.path()).args(["tokens", "revoke", &id]).output().unwrap();
    assert!(r.status.success(), "{r:?}");
    let list = warden(data.path()).args(["review", "list"]).env("WARDEN_TOKEN", tok).output().unwrap();
    assert!(!list.status.success(), "a revoked token no longer works");
    let again = warden(data.path()).args(["tokens", "revoke", &id]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("no live token"), "{again:?}");
}

#[test]
fn coverage_exports_navigator_layers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("layer.json");
    let o = warden(dir.path()).args(["coverage", "--navigator"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let layer: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(layer["domain"], "enterprise-attack");
    assert_eq!(layer["versions"]["layer"], "4.5");
    let ids: Vec<&str> =
        layer["techniques"].as_array().unwrap().iter().map(|t| t["techniqueID"].as_str().unwrap()).collect();
    assert!(ids.contains(&"T1003.001") && ids.contains(&"T1490"), "{ids:?}");
    assert!(dir.path().join("layer-labelled.json").exists());
}

#[test]
fn preview_for_the_external_provider_shows_no_seeded_value_and_reidentification_is_guarded() {
    let data = tempfile::tempdir().unwrap();
    let corpus = repo().join("crates/warden-privacy/tests/data/pii-corpus.ndjson");
    let config = repo().join("examples/warden.toml");
    let o = warden(data.path())
        .arg("--config")
        .arg(&config)
        .arg("preview")
        .arg(&corpus)
        .args(["--provider", "external"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 100);
    let values: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("crates/warden-privacy/tests/data/pii-values.json")).unwrap(),
    )
    .unwrap();
    let folded = out.to_lowercase();
    // examples/warden.toml lets `external` see public IP addresses as they are; nothing else.
    for v in values["values"].as_array().unwrap().iter().filter(|v| v["class"] != "ip_public") {
        let raw = v["value"].as_str().unwrap();
        let escaped = raw.replace('\\', "\\\\");
        assert!(
            !out.contains(raw) && !out.contains(&escaped) && !folded.contains(&escaped.to_lowercase()),
            "{} {raw} reached the preview",
            v["class"]
        );
    }
    // A token from the preview, back to its original: only with the permission, and audited.
    let token = out.split("<EMAIL_").nth(1).map(|s| format!("<EMAIL_{}", &s[..11])).unwrap();
    let ann = user_with_token(data.path(), "ann", "analyst");
    let mia = user_with_token(data.path(), "mia", "manager");
    let tok = |n: &str| if n == "ann" { ann.clone() } else { mia.clone() };
    let denied = warden(data.path())
        .args(["privacy", "reidentify", &token, "--reason", "curious"])
        .env("WARDEN_TOKEN", tok("ann").trim())
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&denied.stderr).contains("may not re-identify"));
    let ok = warden(data.path())
        .args(["privacy", "reidentify", &token, "--reason", "incident 42: notify the user"])
        .env("WARDEN_TOKEN", tok("mia").trim())
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains('@'));
    let invented = warden(data.path())
        .args(["privacy", "reidentify", "<EMAIL_0000000000>", "--reason", "model said so"])
        .env("WARDEN_TOKEN", tok("mia").trim())
        .output()
        .unwrap();
    assert_eq!(invented.status.code(), Some(1), "tokens a model invents are never re-identified");
    let conn = rusqlite::Connection::open(data.path().join("warden.db")).unwrap();
    let (n, payload): (u64, String) = conn
        .query_row(
            "SELECT count(*), max(CAST(canonical AS TEXT)) FROM audit_log WHERE action = 'privacy.reidentified'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert!(payload.contains("incident 42") && !payload.contains('@'), "who, what and why; never the value: {payload}");
    // The register shows what the local analyzer received after a triage run.
    warden(data.path()).arg("triage").arg(&corpus).output().unwrap();
    let reg = warden(data.path()).args(["privacy", "register", "--format", "csv"]).output().unwrap();
    let csv = String::from_utf8(reg.stdout).unwrap();
    assert!(csv.starts_with("provider,residency,class,handling,fields,first_seen,last_seen"));
    assert!(csv.contains("local,on_prem,email,raw,"), "{csv}");
}

#[test]
fn the_dev_test_llm_serves_a_workflow_and_records_what_left_warden() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("requests.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["dev", "test-llm", "--bind", "127.0.0.1:0", "--replies"])
        .arg(repo().join("examples/test-llm-replies.jsonl"))
        .arg("--record")
        .arg(&record)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = announced(&mut child, "test LLM at ").split_whitespace().next().unwrap().to_owned();
    let config = dir.path().join("w.toml");
    std::fs::write(
        &config,
        format!("[govern]\nanalyzer = \"dev\"\n[providers.dev]\nresidency = \"external\"\nunclassified = \"raw\"\nbase_url = \"{url}\"\nmodel = \"scripted\"\n"),
    )
    .unwrap();
    let out = warden(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["triage", "--output", "jsonl"])
        .arg(repo().join("samples/winlogbeat-flat.json"))
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = jsonl(&out.stdout);
    assert!(rows.iter().all(|r| r["verdict"] == "suspicious"), "the model's verdicts");
    let sent = std::fs::read_to_string(&record).unwrap();
    assert_eq!(sent.lines().count(), rows.len());
    assert!(sent.contains("ALERT-DATA"));
    for raw in ["akim", "WS-ENG-112.corp.example.com", "svc_sql_bkp"] {
        assert!(!sent.contains(raw), "{raw} left Warden");
    }
}

/// An HTTP request with a JSON body; returns (status, body).
fn http_json(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    request(addr, method, path, token, "application/json", body.as_bytes())
}

#[test]
fn the_api_checks_the_permission_matrix_on_every_route() {
    let data = tempfile::tempdir().unwrap();
    let mut tokens = BTreeMap::new();
    for (name, role) in
        [("ann", "analyst"), ("sam", "senior_analyst"), ("mia", "manager"), ("aud", "auditor"), ("adm", "admin")]
    {
        tokens.insert(name, user_with_token(data.path(), name, role));
    }
    with_server(data.path(), "forwarder-token", &[], |addr, _| {
        let t = |n: &str| tokens[n].clone();
        // Ingestion: the forwarders' token, a user's token, and Splunk HEC.
        let (st, body) = http_json(
            addr,
            "POST",
            "/api/v1/alerts",
            Some("forwarder-token"),
            r#"{"event_type":"alert","src_ip":"10.0.0.1","dest_ip":"45.9.148.3","alert":{"signature":"ET MALWARE test","severity":1}}"#,
        );
        assert_eq!(st, 200, "{body}");
        let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["alert_ids"][0].as_str().unwrap().to_owned();
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let hec = r#"{"event":{"event_type":"dns","src_ip":"10.0.0.2","dns":{"rrname":"x.example"}},"sourcetype":"suricata"}"#;
        write!(s, "POST /services/collector/event HTTP/1.1\r\nHost: t\r\nAuthorization: Splunk forwarder-token\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{hec}", hec.len()).unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200") && resp.contains("\"accepted\":1"), "{resp}");

        // Every route × every role, against the permission matrix as the product
        // brief states it (written out here, not read from the code under test):
        // allowed → 2xx, denied → 403 with code "forbidden"; no token → 401.
        const ALL: [&str; 5] = ["ann", "sam", "mia", "aud", "adm"];
        const REVIEW: &[&str] = &["ann", "sam", "mia"];
        const AUDIT: &[&str] = &["mia", "aud", "adm"];
        const STOP: &[&str] = &["mia", "adm"];
        let action = format!(r#"{{"alert_id":"{id}","action":"tag","params":{{"tag":"grid"}},"reason":"grid"}}"#);
        let decision = format!("/api/v1/alerts/{id}/decision");
        let alert = format!("/api/v1/alerts/{id}");
        let (st, list) = http_json(addr, "GET", "/api/v1/incidents?limit=10", Some(&t("ann")), "");
        assert_eq!(st, 200, "{list}");
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        // The IDS alert and the HEC record, each queued, each its own incident (no entity in common).
        assert_eq!(list["total"], 2, "{list}");
        let mine = list["items"].as_array().unwrap().iter().find(|i| i["alert_ids"][0] == id.as_str()).unwrap();
        let incident = format!("/api/v1/incidents/{}", mine["incident_id"].as_str().unwrap());
        let (st, q) = http_json(addr, "GET", "/api/v1/queue?limit=1", Some(&t("ann")), "");
        let q: serde_json::Value = serde_json::from_str(&q).unwrap();
        assert_eq!((st, q["total"].as_u64(), q["items"].as_array().map(Vec::len)), (200, Some(2), Some(1)), "{q}");
        let (st, q) = http_json(addr, "GET", "/api/v1/queue?limit=1&offset=1", Some(&t("ann")), "");
        assert!(st == 200 && q.contains("\"offset\":1"), "the second page: {q}");
        let (st, b) = http_json(addr, "GET", "/api/v1/queue?state=closed", Some(&t("ann")), "");
        assert!(st == 400 && b.contains("unknown state"), "{st} {b}");
        let (st, b) = http_json(addr, "GET", "/api/v1/incidents?severity=urgent", Some(&t("ann")), "");
        assert!(st == 400 && b.contains("unknown severity"), "an unknown filter value is refused: {st} {b}");
        // A body or query the API cannot read is refused in the API's own error shape, not as plain text.
        for (method, path, body, status, code) in [
            ("POST", decision.as_str(), "{not json", 400, "bad_request"),
            ("POST", decision.as_str(), r#"{"verdict":5}"#, 422, "invalid_body"),
            ("GET", "/api/v1/queue?limit=many", "", 400, "bad_request"),
        ] {
            let (st, b) = http_json(addr, method, path, Some(&t("ann")), body);
            let v: serde_json::Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{path}: not JSON: {b}"));
            assert_eq!((st, v["error"]["code"].as_str()), (status, Some(code)), "{path} {body}: {b}");
            assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        }
        // The stop switch comes last: while it is on, actions are refused.
        let grid: &[(&str, &str, &str, &[&str])] = &[
            ("GET", "/api/v1/queue", "", REVIEW),
            ("GET", "/api/v1/incidents", "", REVIEW),
            ("GET", &incident, "", REVIEW),
            ("POST", &format!("{incident}/assign"), r#"{"assignee":null}"#, REVIEW),
            ("GET", &alert, "", REVIEW),
            ("GET", "/api/v1/metrics/quality", "", REVIEW),
            ("POST", &decision, r#"{"verdict":"malicious"}"#, REVIEW),
            // After the alert's own decision: the same verdict on its incident leaves it as it is.
            ("POST", &format!("{incident}/decision"), r#"{"verdict":"malicious"}"#, REVIEW),
            ("POST", "/api/v1/actions", &action, REVIEW),
            ("GET", "/api/v1/audit/checkpoint", "", AUDIT),
            ("GET", "/api/v1/audit/verify", "", AUDIT),
            ("POST", "/api/v1/stop", r#"{"reason":"drill"}"#, STOP),
            ("DELETE", "/api/v1/stop", r#"{"reason":"drill over"}"#, STOP),
        ];
        for (method, path, body, allowed) in grid {
            for who in ALL {
                let (st, b) = http_json(addr, method, path, Some(&t(who)), body);
                if allowed.contains(&who) {
                    assert!((200..300).contains(&st), "{method} {path}: {who} is allowed, got {st}: {b}");
                } else {
                    assert_eq!(st, 403, "{method} {path}: {who} is denied: {b}");
                    assert!(b.contains("\"code\":\"forbidden\""), "{b}");
                }
            }
            assert_eq!(http_json(addr, method, path, None, body).0, 401, "{method} {path}: no token");
        }
        let (st, b) = http_json(addr, "POST", "/api/v1/actions", Some(&t("ann")), &action);
        assert_eq!(st, 201, "the stop switch was released: {b}");
        // Merge and split: people who review, with a reason; the split gives the alert its own incident again.
        let other = list["items"].as_array().unwrap().iter().find(|i| i["alert_ids"][0] != id.as_str()).unwrap();
        let (other_id, other_alert) = (other["incident_id"].as_str().unwrap(), other["alert_ids"][0].as_str().unwrap());
        let merge = format!(r#"{{"from":["{other_id}"],"reason":"one story"}}"#);
        for who in ["aud", "adm"] {
            assert_eq!(http_json(addr, "POST", &format!("{incident}/merge"), Some(&t(who)), &merge).0, 403);
        }
        let (st, b) = http_json(addr, "POST", &format!("{incident}/merge"), Some(&t("sam")), &merge);
        assert_eq!(st, 200, "{b}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&b).unwrap()["alert_count"], 2, "{b}");
        let (st, b) = http_json(addr, "POST", &format!("{incident}/merge"), Some(&t("sam")), &merge);
        assert_eq!(st, 409, "a merged incident cannot be merged again: {b}");
        let split = format!(r#"{{"alert_ids":["{other_alert}"],"reason":"not one story"}}"#);
        let (st, b) = http_json(addr, "POST", &format!("{incident}/split"), Some(&t("sam")), &split);
        assert_eq!(st, 200, "{b}");
        let b: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!((b["left"]["alert_count"].as_u64(), b["new"]["alert_count"].as_u64()), (Some(1), Some(1)), "{b}");
        let (st, b) =
            http_json(addr, "POST", &format!("{incident}/split"), Some(&t("sam")), r#"{"alert_ids":[],"reason":"x"}"#);
        assert_eq!(st, 400, "{b}");
        assert_eq!(http_json(addr, "GET", "/api/v1/alerts/al-nope", Some(&t("ann")), "").0, 404);
        let (_, v) = http_json(addr, "GET", "/api/v1/audit/verify", Some(&t("aud")), "");
        assert!(v.contains("\"intact\":true"), "{v}");
        // Verification runs in the background; each call that finds the log grown (every
        // authenticated call records a token use) verifies it again.
        let (st, again) = http_json(addr, "GET", "/api/v1/audit/verify", Some(&t("aud")), "");
        assert_eq!(st, 200, "{again}");
        assert!(again.contains("\"intact\":true") && again != v, "{again}");

        // Actions: request, self-approval refused, approval by another, read back.
        let (st, b) = http_json(
            addr,
            "POST",
            "/api/v1/actions",
            Some(&t("ann")),
            &format!(r#"{{"alert_id":"{id}","action":"isolate_host","params":{{"host":"ws-1"}},"reason":"C2"}}"#),
        );
        assert_eq!(st, 201, "{b}");
        let req: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!((req["tier"].as_str(), req["status"].as_str()), (Some("medium"), Some("pending")));
        let aid = req["id"].as_str().unwrap();
        assert_eq!(
            http_json(addr, "POST", "/api/v1/actions", Some(&t("aud")), r#"{"action":"tag","reason":"x"}"#).0,
            403
        );
        let (st, b) =
            http_json(addr, "POST", &format!("/api/v1/actions/{aid}/approve"), Some(&t("ann")), r#"{"reason":"mine"}"#);
        assert_eq!(st, 409, "self-approval: {b}");
        assert_eq!(http_json(addr, "POST", &format!("/api/v1/actions/{aid}/approve"), Some(&t("ann")), "{}").0, 409);
        let (st, b) =
            http_json(addr, "POST", &format!("/api/v1/actions/{aid}/approve"), Some(&t("sam")), r#"{"reason":"ok"}"#);
        assert_eq!(st, 200, "{b}");
        assert!(b.contains("\"status\":\"executed\""), "{b}");
        let (st, b) = http_json(addr, "GET", &format!("/api/v1/actions/{aid}"), Some(&t("ann")), "");
        assert_eq!(st, 200);
        assert!(b.contains("\"approvals\""));
        let (st, b) =
            http_json(addr, "POST", &format!("/api/v1/actions/{aid}/reject"), Some(&t("sam")), r#"{"reason":"late"}"#);
        assert_eq!(st, 409, "{b}");

        let (st, m) = http_json(addr, "GET", "/metrics", None, "");
        assert_eq!(st, 200);
        assert!(m.contains("warden_alerts_stored 2"), "{m}");
        assert!(m.contains("# TYPE warden_http_request_duration_seconds histogram"), "{m}");
        let ok_posts =
            "warden_http_request_duration_seconds_count{route=\"/api/v1/alerts\",method=\"POST\",status=\"200\"}";
        assert!(m.contains(ok_posts), "latency is kept per route template: {m}");
        let by_id: Vec<&str> = m.lines().filter(|l| l.contains("route=\"/api/v1/alerts/")).collect();
        assert!(
            !by_id.is_empty() && by_id.iter().all(|l| l.contains("route=\"/api/v1/alerts/{id}")),
            "ids never become labels: {m}"
        );
    });
}

#[test]
fn rules_check_reports_each_unusable_rule_with_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yml"),
        "title: Good\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s:\n    Image|endswith: '\\\\x.exe'\n  condition: s\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/bad.yml"),
        "title: Bad\nlogsource: {}\ndetection:\n  s:\n    a|expand: '%x%'\n  condition: s\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("corr.yml"), "title: C\ncorrelation: {type: event_count, rules: [x]}\n").unwrap();
    let o = warden(dir.path()).args(["rules", "check"]).arg(dir.path()).args(["--output", "json"]).output().unwrap();
    assert!(o.status.success());
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((r["total"].as_u64(), r["usable"].as_u64()), (Some(3), Some(1)));
    let reasons: Vec<String> =
        r["unusable"].as_array().unwrap().iter().map(|u| format!("{} {}", u["path"], u["reason"])).collect();
    assert!(reasons.iter().any(|x| x.contains("bad.yml") && x.contains("unsupported modifier expand")), "{reasons:?}");
    assert!(reasons.iter().any(|x| x.contains("corr.yml") && x.contains("correlation")), "{reasons:?}");
}

#[test]
fn imported_sigma_rules_drive_the_local_analyzer() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("notepad.yml"),
        "title: Notepad Opens An Agenda\nid: 1\nlevel: high\ntags: [attack.t1204.002]\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s:\n    Image|endswith: '\\\\notepad.exe'\n    CommandLine|contains: 'agenda'\n  condition: s\n",
    )
    .unwrap();
    let o = warden(dir.path()).args(["rules", "import"]).arg(&rules).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("1 of 1 rules usable"), "{text}");
    let out = warden(dir.path())
        .args(["triage", "--output", "jsonl"])
        .arg(repo().join("samples/sysmon-evtx.json"))
        .output()
        .unwrap();
    let rows = jsonl(&out.stdout);
    let notepad = rows.iter().find(|r| r["origin"]["line"] == 210).unwrap();
    assert_eq!(notepad["verdict"], "malicious", "{notepad}");
    assert!(notepad["summary"].as_str().unwrap().contains("Sigma: Notepad Opens An Agenda"));
    assert_eq!(notepad["techniques"][0], "T1204.002");
    let conn = rusqlite::Connection::open(dir.path().join("warden.db")).unwrap();
    let n: u64 =
        conn.query_row("SELECT count(*) FROM audit_log WHERE action = 'rules.imported'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn eval_scores_a_labelled_folder_of_captures_per_capture() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    std::fs::create_dir_all(set.join("attack")).unwrap();
    std::fs::create_dir_all(set.join("benign")).unwrap();
    let mimikatz = serde_json::json!({"EventID": 4688, "Channel": "Security", "Computer": "ws-9",
        "SubjectUserName": "eve", "NewProcessName": "C:\\Users\\eve\\m.exe",
        "CommandLine": "m.exe \"sekurlsa::logonpasswords\" exit"});
    std::fs::write(set.join("attack/dump.json"), mimikatz.to_string()).unwrap();
    std::fs::copy(repo().join("samples/Security_short_selected.evtx"), set.join("attack/quiet.evtx")).unwrap();
    // Windows setup creating its first user: the machine's own account, so context only.
    std::fs::copy(repo().join("samples/new-user-security.evtx"), set.join("benign/setup.evtx")).unwrap();
    let index = serde_json::json!([
        {"file": "attack/dump.json", "malicious": true, "techniques": ["T1003"], "source": "test"},
        {"file": "attack/quiet.evtx", "malicious": true, "techniques": ["T1110"]},
        {"file": "benign/setup.evtx", "malicious": false, "techniques": []},
    ]);
    std::fs::write(set.join("index.json"), index.to_string()).unwrap();
    let index = set.join("index.json");
    let (text, r) = eval_with_report(dir.path(), &["--evtx-index".as_ref(), index.as_os_str()]);
    for needle in [
        "detected (attack captures):  1/2 (50.0%)",
        "flagged (benign captures):   0/1 (0.0%)",
        "technique hit:               1/2 (50.0%)",
        "Credential Access",
        "missed attack captures:\n  attack/quiet.evtx  T1110",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
    assert_eq!(r["per_technique"]["T1003"]["hit"], 1);
    assert!(r["captures"][0]["predicted"].as_array().unwrap().iter().any(|t| t.as_str().unwrap().starts_with("T1003")));
    assert!(!dir.path().join("warden.db").exists(), "eval does not touch the live store");

    let bad = warden(dir.path()).args(["eval", "--evtx-index"]).arg(dir.path().join("none.json")).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("none.json"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn injection_score_reports_every_set_with_recall_and_false_positives() {
    let data = tempfile::tempdir().unwrap();
    let out = warden(data.path()).args(["dev", "injection-score", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sets = v["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 8, "{sets:?}");
    let generated = &sets["generated (seed)"];
    assert!(generated["recall"].as_f64().unwrap() >= 0.95, "{generated}");
    assert!(generated["false_positive_rate"].as_f64().unwrap() <= 0.01, "{generated}");
    assert_eq!(generated["by_language"].as_object().unwrap().len(), 11);
    assert!(v["texts_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_call_budget_sends_the_next_alert_to_the_local_analyzer_and_the_spend_shows_on_metrics() {
    let mut llm = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["dev", "test-llm", "--bind", "127.0.0.1:0", "--replies"])
        .arg(repo().join("examples/test-llm-replies.jsonl"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = announced(&mut llm, "test LLM at ").split_whitespace().next().unwrap().to_owned();
    let toml = format!(
        "[govern]\nanalyzer = \"dev\"\n[providers.dev]\nresidency = \"external\"\nunclassified = \"raw\"\nbase_url = \"{url}\"\nmodel = \"scripted\"\n[providers.dev.budget]\ncalls_per_hour = 2\n[providers.dev.price]\nprompt_per_1k = 0.01\ncompletion_per_1k = 0.03\n"
    );
    let result = std::panic::catch_unwind(|| {
        with_config(&toml, |addr| {
            let body: String = (1..=3)
                .map(|i| format!("{{\"EventID\":4625,\"Channel\":\"Security\",\"Hostname\":\"ws-{i}\",\"TargetUserName\":\"u{i}\"}}\n"))
                .collect();
            let (st, text) = http(addr, "POST", "/api/v1/alerts", Some("t"), body.as_bytes());
            assert_eq!(st, 200, "{text}");
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["accepted"], 3, "{v}");
            let (st, m) = http_json(addr, "GET", "/metrics", None, "");
            assert_eq!(st, 200);
            assert!(m.contains("warden_provider_calls{provider=\"dev\",window=\"hour\"} 2"), "{m}");
            assert!(m.contains("warden_provider_over_budget{provider=\"dev\"} 1"), "{m}");
            // The third was decided by the local analyzer and waits for a person like the others.
            assert!(m.contains("warden_alerts_routed{route=\"review\"} 3"), "{m}");
            let cost = m
                .lines()
                .find(|l| l.starts_with("warden_provider_cost{provider=\"dev\",currency=\"USD\",window=\"total\"}"))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|n| n.parse::<f64>().ok())
                .unwrap();
            assert!(cost > 0.0, "{m}");
        })
    });
    llm.kill().unwrap();
    llm.wait().unwrap();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn replay_reports_on_a_candidate_rule_set_and_says_when_there_is_nothing_to_measure() {
    let data = tempfile::tempdir().unwrap();
    let rules = data.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("r.yml"),
        "title: Test zzdump\nid: 6b1f6e4c-0000-4000-8000-000000000001\nstatus: test\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\zzdump.exe'\n  condition: selection\nlevel: high\ntags: [attack.credential-access, attack.t1003]\n",
    )
    .unwrap();
    let out = warden(data.path()).args(["replay", "--candidate-rules"]).arg(&rules).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no decided alerts") && text.contains("gate: passed"), "{text}");
    let out =
        warden(data.path()).args(["replay", "--output", "json", "--candidate-rules"]).arg(&rules).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["decided"].as_u64(), v["passed"].as_bool()), (Some(0), Some(true)));
    assert!(v["candidate"].as_str().unwrap().starts_with("sigma-"));
    // --override-reason needs a manager's token.
    let out = warden(data.path())
        .args(["rules", "import", "--override-reason", "x"])
        .arg(&rules)
        .env_remove("WARDEN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn incidents_list_gives_one_object_per_incident_with_the_contract_fields_and_refuses_unknown_filters() {
    let data = tempfile::tempdir().unwrap();
    let tok = user_with_token(data.path(), "ann", "analyst");
    let out = warden(data.path()).arg("triage").arg(repo().join("samples/sysmon-evtx.json")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = warden(data.path())
        .args(["incidents", "list", "--output", "jsonl"])
        .env("WARDEN_TOKEN", &tok)
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let incidents = jsonl(&list.stdout);
    assert!(!incidents.is_empty());
    for i in &incidents {
        for key in [
            "incident_id",
            "title",
            "severity",
            "verdict",
            "alert_ids",
            "entities",
            "techniques",
            "first_seen",
            "last_seen",
        ] {
            assert!(i.get(key).is_some(), "{key} missing from {i}");
        }
        assert!(!i["alert_ids"].as_array().unwrap().is_empty());
    }
    let id = incidents[0]["incident_id"].as_str().unwrap();
    let show = warden(data.path()).args(["incidents", "show", id]).env("WARDEN_TOKEN", &tok).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["incident_id"], id);
    assert!(v["narrative"].as_str().is_some_and(|n| !n.is_empty()));
    let table =
        warden(data.path()).args(["incidents", "list", "--limit", "1"]).env("WARDEN_TOKEN", &tok).output().unwrap();
    let total = incidents.len();
    assert!(
        String::from_utf8_lossy(&table.stderr).contains(&format!("1–1 of {total} incident(s)")),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let bad = warden(data.path())
        .args(["incidents", "list", "--severity", "urgent"])
        .env("WARDEN_TOKEN", &tok)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown severity \"urgent\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // Working it: take it, decide it (on every alert), and a contradiction needs --supersedes.
    let run = |args: &[&str]| warden(data.path()).args(args).env("WARDEN_TOKEN", &tok).output().unwrap();
    let took = run(&["incidents", "assign", id, "--to", "ann"]);
    assert!(took.status.success(), "{}", String::from_utf8_lossy(&took.stderr));
    let decided = run(&["incidents", "decide", id, "--verdict", "malicious", "--comment", "one story"]);
    assert!(decided.status.success(), "{}", String::from_utf8_lossy(&decided.stderr));
    let d: serde_json::Value = serde_json::from_slice(&decided.stdout).unwrap();
    assert_eq!(d["decided"].as_array().unwrap().len(), incidents[0]["alert_ids"].as_array().unwrap().len(), "{d}");
    let changed = run(&["incidents", "decide", id, "--verdict", "benign"]);
    assert!(!changed.status.success());
    assert!(
        String::from_utf8_lossy(&changed.stderr).contains("supersedes"),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(run(&["incidents", "decide", id, "--verdict", "benign", "--supersedes"]).status.success());
    let after = run(&["incidents", "show", id]);
    let v: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(
        (v["state"].as_str(), v["verdict"].as_str(), v["assignee"].as_str()),
        (Some("decided"), Some("benign"), Some("ann"))
    );
}

#[test]
fn export_ocsf_prints_findings_for_people_who_read_the_audit_trail_only() {
    let data = tempfile::tempdir().unwrap();
    let out = warden(data.path()).arg("triage").arg(repo().join("samples/suricata-eve.json")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let auditor = user_with_token(data.path(), "aud", "auditor");
    let out = warden(data.path()).args(["export-ocsf", "--token", &auditor]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = jsonl(&out.stdout);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["class_uid"] == 2004 || r["class_uid"] == 2005), "{rows:?}");
    // From a later entry on, fewer; with an analyst's token, refused.
    let after_first = (rows[0]["unmapped"]["warden"]["audit_seq"].as_u64().unwrap() + 1).to_string();
    let later =
        warden(data.path()).args(["export-ocsf", "--from", &after_first, "--token", &auditor]).output().unwrap();
    assert_eq!(jsonl(&later.stdout).len(), rows.len() - 1, "reading starts where --from says");
    let analyst = user_with_token(data.path(), "ana", "analyst");
    let refused = warden(data.path()).args(["export-ocsf", "--token", &analyst]).output().unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("ReadAudit"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
