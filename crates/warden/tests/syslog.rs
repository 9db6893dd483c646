//! `[ingest.syslog]`: syslog, CEF and LEEF over UDP and TCP reach the
//! pipeline with their formats named; what does not parse or is too long
//! is dead-lettered with its reason; a clean stop commits what was queued.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::{request, warden};

fn metric(text: &str, name: &str) -> u64 {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0)
}

#[test]
fn syslog_cef_and_leef_over_udp_and_tcp_are_triaged_and_bad_messages_dead_lettered() {
    let data = tempfile::tempdir().unwrap();
    let config = data.path().join("warden.toml");
    std::fs::write(
        &config,
        "[ingest.syslog]\nbind = \"127.0.0.1:0\"\nmax_message_bytes = 2048\nbatch = 50\nflush_ms = 50\nqueue = 100\n",
    )
    .unwrap();
    let mut child = warden(data.path())
        .arg("--config")
        .arg(&config)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("WARDEN_API_TOKEN", "t0ken")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut udp, mut tcp, mut http) = (String::new(), String::new(), String::new());
    let mut line = String::new();
    while http.is_empty() {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "the server exited before listening");
        if let Some(rest) = line.trim().strip_prefix("syslog listening on ") {
            let (u, t) = rest.split_once(" and ").unwrap();
            udp = u.strip_prefix("udp://").unwrap().to_owned();
            tcp = t.strip_prefix("tcp://").unwrap().to_owned();
        } else if let Some(rest) = line.trim().strip_prefix("warden listening on http://") {
            http = rest.to_owned();
        }
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    assert!(!udp.is_empty() && !tcp.is_empty(), "the syslog listener is announced before the HTTP one");

    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for msg in [
        "<134>1 2026-11-20T09:16:00.123Z db-02 postgres 4412 - [meta@47450 db=\"billing\"] connection authorized".to_owned(),
        "<134>Nov 20 09:20:11 fw-edge CEF:0|Palo Alto Networks|PAN-OS|10.2|THREAT|C2 traffic|8|src=10.20.30.41 dst=198.51.100.77 dpt=443".to_owned(),
        "hello, this is not syslog".to_owned(),
        format!("<13>Nov 20 09:00:00 h app: {}", "x".repeat(3000)),
    ] {
        sock.send_to(msg.as_bytes(), &udp).unwrap();
    }
    let mut s = std::net::TcpStream::connect(&tcp).unwrap();
    let leef = "<13>Nov 20 09:22:30 qr-1 LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^dstPort=21";
    s.write_all(format!("{} {leef}", leef.len()).as_bytes()).unwrap();
    s.write_all(b"<38>Nov 20 09:14:02 web-01 sshd[2211]: Failed password for invalid user admin from 203.0.113.45\n")
        .unwrap();
    s.write_all(b"<38>Nov 20 09:14:05 web-01 sshd[2211]: Failed password for root from 203.0.113.46\r\n").unwrap();
    s.write_all(format!("<13>Nov 20 09:00:00 h app: {}\n", "y".repeat(5000)).as_bytes()).unwrap();
    s.write_all(b"<13>Nov 20 09:30:00 web-01 cron[1]: the last line before the peer closes\n").unwrap();
    drop(s);

    // Eight messages read; five alerts and three dead letters committed.
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = request(&http, "GET", "/metrics", None, "text/plain", b"").1;
        if metric(&metrics, "warden_syslog_received") == 9
            && metric(&metrics, "warden_dead_letters") == 3
            && metric(&metrics, "warden_alerts_stored") == 6
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(metric(&metrics, "warden_syslog_received"), 9, "{metrics}");
    assert_eq!(metric(&metrics, "warden_syslog_oversize"), 2, "{metrics}");
    assert_eq!(metric(&metrics, "warden_syslog_dropped"), 0, "{metrics}");
    assert_eq!(metric(&metrics, "warden_alerts_stored"), 6, "{metrics}");
    assert_eq!(metric(&metrics, "warden_dead_letters"), 3, "{metrics}");

    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(child.wait().unwrap().success());

    let auditor = common::user_with_token(data.path(), "aud", "auditor");
    let out = warden(data.path()).args(["dead-letters", "--token", &auditor]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let body = String::from_utf8_lossy(&out.stdout);
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(body.contains("not a recognised format"), "{body}");
    assert!(body.contains("over ingest.syslog.max_message_bytes"), "{body}");
    assert!(body.contains("syslog-udp:") && body.contains("syslog-tcp:"), "{body}");
    assert!(!body.contains("\"raw\""), "raw bytes only on request");
    let out = warden(data.path()).args(["audit", "verify"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let analyst = common::user_with_token(data.path(), "ana", "analyst");
    let out = warden(data.path()).args(["review", "list", "--token", &analyst]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The CEF and LEEF alerts are queued; syslog lines are telemetry, kept as context.
    let ids: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids.len(), 2, "{text}");
    let mut formats = Vec::new();
    for id in ids {
        let out = warden(data.path()).args(["review", "show", id, "--token", &analyst]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        formats.push(v["alert"]["format"].as_str().unwrap_or_default().to_owned());
    }
    formats.sort();
    assert_eq!(formats, ["cef", "leef"]);
}
