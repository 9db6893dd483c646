//! Request latency per route, method and status, kept as Prometheus
//! histograms for `/metrics`, and the per-request time limit that stops a
//! slow client from holding the server's work open.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::serve::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    /// Observations at or below each bucket's bound (not cumulative here).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// (route template, method, status) → histogram.
#[derive(Default)]
pub struct Latency(Mutex<BTreeMap<(String, String, u16), Histogram>>);

impl Latency {
    fn observe(&self, route: String, method: String, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let h = map.entry((route, method, status)).or_default();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.counts[i] += 1;
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The histograms in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP warden_http_request_duration_seconds Time to answer an HTTP request.\n");
        out.push_str("# TYPE warden_http_request_duration_seconds histogram\n");
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for ((route, method, status), h) in map.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "warden_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(out, "warden_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "warden_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "warden_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
    }
}

/// Times every request, and answers 408 when one runs past the limit
/// (reading a slowly sent body included).
pub async fn observe(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    // Route templates, never raw paths: ids in URLs would make the label set unbounded.
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = match tokio::time::timeout(s.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            tracing::info!(%route, "request timed out");
            crate::serve::ApiError {
                status: StatusCode::REQUEST_TIMEOUT,
                code: "timeout",
                message: "the request took too long".into(),
            }
            .into_response()
        }
    };
    s.latency.observe(route, method, resp.status().as_u16(), start.elapsed());
    resp
}
