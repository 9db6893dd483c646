//! `warden dev test-llm`: an OpenAI-compatible endpoint that answers from a
//! script, for trying Warden's generative path without a model and for tests
//! outside the Rust suite. It records every request body it receives, so you
//! can see exactly what left Warden.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde::Deserialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:8089")]
    bind: SocketAddr,
    /// JSON lines: {"status": 200, "content": "<the assistant's text>", "delay_ms": 0}.
    /// Replies are used in order; the last one repeats. `"content": "ECHO"` sends back
    /// the request's own system prompt (a canary leak).
    #[arg(long, value_name = "FILE")]
    replies: PathBuf,
    /// Append every request body received to this file (JSON lines).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    #[serde(default = "ok")]
    status: u16,
    #[serde(default)]
    content: String,
    #[serde(default)]
    delay_ms: u64,
}

fn ok() -> u16 {
    200
}

struct Script {
    replies: Mutex<VecDeque<Reply>>,
    record: Option<Mutex<std::fs::File>>,
}

pub fn test_llm(args: Args) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(&args.replies).with_context(|| format!("cannot read {}", args.replies.display()))?;
    let mut replies = VecDeque::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        replies.push_back(
            serde_json::from_str::<Reply>(line)
                .with_context(|| format!("{}:{}: not a reply", args.replies.display(), i + 1))?,
        );
    }
    anyhow::ensure!(!replies.is_empty(), "{} has no replies", args.replies.display());
    let record = match &args.record {
        Some(p) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot open {}", p.display()))?,
        )),
        None => None,
    };
    let state = Arc::new(Script { replies: Mutex::new(replies), record });
    let app = Router::new().route("/v1/chat/completions", post(answer)).with_state(state);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(crate::serve::listen_until_ctrl_c(args.bind, app, std::time::Duration::from_secs(10), |addr| {
        format!("test LLM at http://{addr}/v1 (base_url for a [providers.*] block)")
    }))?;
    Ok(ExitCode::SUCCESS)
}

async fn answer(State(s): State<Arc<Script>>, body: Bytes) -> impl IntoResponse {
    if let Some(f) = &s.record {
        use std::io::Write;
        let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
        let _ = f.write_all(&body);
        let _ = f.write_all(b"\n");
    }
    let reply = {
        let mut q = s.replies.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() > 1 { q.pop_front() } else { q.front().cloned() }
    }
    .unwrap_or(Reply { status: 500, content: String::new(), delay_ms: 0 });
    tokio::time::sleep(Duration::from_millis(reply.delay_ms)).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !status.is_success() {
        return (status, axum::Json(serde_json::json!({"error": "scripted failure"})));
    }
    let content = if reply.content == "ECHO" {
        let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        req["messages"][0]["content"].as_str().unwrap_or_default().to_owned()
    } else {
        reply.content
    };
    (
        status,
        axum::Json(serde_json::json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": body.len() / 4, "completion_tokens": 100, "total_tokens": body.len() / 4 + 100}
        })),
    )
}
