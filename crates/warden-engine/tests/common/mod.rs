//! What the engine's integration tests share.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use warden_engine::{Engine, Event, TriageResult};

/// Every alert result of triaging `input`, in input order.
pub fn triage(e: &Engine, input: &str) -> Vec<TriageResult> {
    let mut out = Vec::new();
    e.triage(input.as_bytes(), "t", None, &mut |ev| {
        if let Event::Alert(r) = ev {
            out.push(*r)
        }
    })
    .unwrap();
    out
}

/// A person with this role, signed in.
pub fn person(e: &Engine, name: &str, role: warden_core::Role) -> warden_govern::Identity {
    const PASSWORD: &str = "a long enough password";
    e.add_user(warden_core::Actor::User("setup".into()), name, &[role], PASSWORD).unwrap();
    e.check_password(name, PASSWORD).unwrap()
}

/// A request a stand-in received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub auth: String,
    pub body: serde_json::Value,
    /// Non-empty lines of the body (an NDJSON body is not one JSON value).
    pub body_lines: usize,
}

pub type Handler = Box<dyn FnMut(&Seen, &mut serde_json::Value) -> (u16, serde_json::Value) + Send>;

/// A local stand-in for a case system: it answers with `handler`, which
/// implements the part of the product's documented API the executor uses,
/// keeps its records in `state`, and checks each request's shape and key.
pub struct Stand {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub state: Arc<Mutex<serde_json::Value>>,
}

pub fn stand(mut handler: Handler) -> Stand {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new(Mutex::new(serde_json::json!({})));
    let (s, st) = (seen.clone(), state.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap_or(0);
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
            let (mut len, mut auth) = (0, String::new());
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if l.starts_with("authorization:") {
                    auth = line[14..].trim().to_owned();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let body_lines = body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            let req = Seen { method, path, auth, body, body_lines };
            let (status, answer) = handler(&req, &mut st.lock().unwrap());
            s.lock().unwrap().push(req);
            let answer = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    Stand { url, seen, state }
}
