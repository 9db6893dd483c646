//! `warden serve`: the HTTP API (a first slice: health, readiness and alert
//! ingestion; the server issue builds the rest on this).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use warden_engine::{Engine, EngineError, Event};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (overrides `server.bind`).
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Load the sample alerts first, so there is something to look at.
    #[arg(long)]
    demo: bool,
    /// Also take alerts from the JetStream ingest stream (`[queue]`), as
    /// `warden worker` does, with this server's /metrics and /readyz.
    #[arg(long)]
    consume: bool,
}

/// Sample alerts built into the binary for `--demo`.
pub const DEMO_SAMPLES: &[(&str, &[u8])] = &[
    ("samples/suricata-eve.json", include_bytes!("../../../samples/suricata-eve.json")),
    ("samples/sysmon-evtx.json", include_bytes!("../../../samples/sysmon-evtx.json")),
    ("samples/winlogbeat-flat.json", include_bytes!("../../../samples/winlogbeat-flat.json")),
    ("samples/ecs-alerts.ndjson", include_bytes!("../../../samples/ecs-alerts.ndjson")),
    ("samples/ocsf-findings.json", include_bytes!("../../../samples/ocsf-findings.json")),
    ("samples/generic.ndjson", include_bytes!("../../../samples/generic.ndjson")),
    ("samples/new-user-security.evtx", include_bytes!("../../../samples/new-user-security.evtx")),
    ("samples/Security_short_selected.evtx", include_bytes!("../../../samples/Security_short_selected.evtx")),
    ("samples/mixed-with-errors.ndjson", include_bytes!("../../../samples/mixed-with-errors.ndjson")),
    ("samples/zeek.ndjson", include_bytes!("../../../samples/zeek.ndjson")),
    ("samples/linux-syslog.log", include_bytes!("../../../samples/linux-syslog.log")),
    ("samples/firewall-cef.log", include_bytes!("../../../samples/firewall-cef.log")),
    ("samples/qradar-leef.log", include_bytes!("../../../samples/qradar-leef.log")),
];

pub struct AppState {
    pub engine: Engine,
    /// SHA-256 of the bearer token that `/api` calls must present.
    token_hash: [u8; 32],
    pub latency: crate::httpmetrics::Latency,
    pub request_timeout: std::time::Duration,
    /// `server.max_body_bytes`: the largest ingest body accepted.
    pub max_body: usize,
    /// Slots for ingest requests (`server.max_concurrent_ingest`): admission control.
    ingest_slots: Arc<tokio::sync::Semaphore>,
    /// The audit trail's background verification (`GET /api/v1/audit/verify`).
    pub verify_job: Arc<std::sync::Mutex<crate::api::VerifyJob>>,
    /// The server listens on a loopback address only (cookies may then go
    /// without `Secure` to a browser on the same machine).
    pub loopback: bool,
    /// The JetStream ingest stream, when `[queue] nats_url` is set: accepted
    /// input is published to it (with `queue.publish`), and `--consume` works from it.
    pub bus: Option<Arc<crate::queue::Bus>>,
    /// This node's figures as a worker of the stream.
    pub queue_stats: Arc<crate::queue::Stats>,
    pub syslog_stats: Arc<crate::syslog::Stats>,
}

impl AppState {
    /// A worker's state: its engine and stream, for `/metrics` and `/readyz`
    /// only (no API is served, so no token is needed or accepted).
    pub fn for_worker(engine: Engine, bus: Arc<crate::queue::Bus>) -> anyhow::Result<AppState> {
        Ok(AppState {
            engine,
            token_hash: sha256(random_token()?.as_bytes()),
            latency: Default::default(),
            request_timeout: std::time::Duration::from_secs(30),
            max_body: 0,
            ingest_slots: Arc::new(tokio::sync::Semaphore::new(1)),
            verify_job: Arc::default(),
            loopback: true,
            bus: Some(bus),
            queue_stats: Arc::default(),
            syslog_stats: Arc::default(),
        })
    }
}

impl crate::queue::HasEngine for AppState {
    fn engine(&self) -> &Engine {
        &self.engine
    }
}

pub fn run(engine: Engine, args: Args, data: &std::path::Path) -> anyhow::Result<ExitCode> {
    let bind: SocketAddr = match args.bind {
        Some(b) => b,
        None => engine.config().server.bind.parse().context("server.bind")?,
    };
    if args.demo {
        let mut s = warden_engine::Summary::default();
        for (name, bytes) in DEMO_SAMPLES {
            s.add(&engine.triage(bytes, name, None, &mut |_| {})?);
        }
        eprintln!("demo: loaded {} new sample alert(s) ({} already present)", s.stored, s.duplicates);
        demo_people(&engine)?;
    }
    let token = match std::env::var("WARDEN_API_TOKEN") {
        Ok(t) if !t.is_empty() => t,
        _ => {
            let t = random_token()?;
            // Shown once, to the operator who started the server; never logged.
            eprintln!("no WARDEN_API_TOKEN set; this run's API token is: {t}");
            t
        }
    };
    let max_body = engine.config().server.max_body_bytes;
    let request_timeout = std::time::Duration::from_secs(engine.config().server.request_timeout_secs);
    let header_timeout = std::time::Duration::from_secs(engine.config().server.header_timeout_secs);
    let slots = engine.config().server.max_concurrent_ingest.max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let queue = engine.config().queue.clone();
    let bus = match &queue.nats_url {
        Some(_) => Some(Arc::new(rt.block_on(crate::queue::Bus::connect(&queue))?)),
        None if args.consume => {
            anyhow::bail!("--consume needs [queue] nats_url (the JetStream server to take alerts from)")
        }
        None => None,
    };
    let state = Arc::new(AppState {
        engine,
        token_hash: sha256(token.as_bytes()),
        latency: Default::default(),
        request_timeout,
        max_body,
        ingest_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
        verify_job: Arc::default(),
        loopback: bind.ip().is_loopback(),
        bus,
        queue_stats: Arc::default(),
        syslog_stats: Arc::default(),
    });
    let app = router(state.clone(), max_body);
    let interval = state.engine.config().audit.checkpoint_interval_secs;
    let ticker = state.clone();
    let closing = state.clone();
    let recal_hours = state.engine.config().govern.recalibrate_every_hours;
    let recal = state.clone();
    rt.block_on(async move {
        // Calibration refits on a schedule, from whatever decisions there are.
        if recal_hours > 0 {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(recal_hours * 3600));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let s = recal.clone();
                    match tokio::task::spawn_blocking(move || s.engine.recalibrate_on_schedule()).await {
                        Ok(Ok(fits)) => {
                            for (version, map, before, after) in fits {
                                tracing::info!(%version, method = %map.method, n = map.n, before, after, "calibration refitted")
                            }
                        }
                        Ok(Err(e)) => tracing::info!(error = %e, "calibration not refitted"),
                        Err(e) => tracing::error!(error = %e, "calibration task failed"),
                    }
                }
            });
        }
        // Verdicts back to the SIEM: the audit log from the cursor, on a timer.
        if state.engine.config().outbound.enabled() {
            let (s, cursor) = (state.clone(), crate::outbound::cursor_path(data));
            let every = std::time::Duration::from_secs(s.engine.config().outbound.interval_secs);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    let (s, cursor) = (s.clone(), cursor.clone());
                    match tokio::task::spawn_blocking(move || crate::outbound::catch_up(&s.engine, &cursor)).await {
                        Ok(Ok(0)) => {}
                        Ok(Ok(n)) => tracing::info!(findings = n, "OCSF findings delivered"),
                        Ok(Err(e)) => tracing::warn!(error = %e, "OCSF findings not delivered; retrying"),
                        Err(e) => tracing::error!(error = %e, "outbound task failed"),
                    }
                }
            });
        }
        // Signed checkpoints on a timer, so a quiet server's last entries are attested too.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval));
            tick.tick().await;
            loop {
                tick.tick().await;
                let s = ticker.clone();
                match tokio::task::spawn_blocking(move || s.engine.maybe_checkpoint(false)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "checkpoint failed"),
                    Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
                }
            }
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let consumer = match (&state.bus, args.consume) {
            (Some(bus), true) => {
                let (bus, s, stats) = (bus.clone(), state.clone(), state.queue_stats.clone());
                let mut rx = stop_rx.clone();
                Some(tokio::spawn(async move {
                    bus.work(s, stats, async move {
                        let _ = rx.wait_for(|v| *v).await;
                    })
                    .await
                }))
            }
            _ => None,
        };
        let syslog = crate::syslog::start(state.clone()).await?;
        let served =
            listen_until_ctrl_c(bind, app, header_timeout, |addr| format!("warden listening on http://{addr}")).await;
        // The listeners stop reading, and what they queued is committed.
        if let Some(l) = syslog {
            l.stop().await;
        }
        // The consumer finishes the batch in hand (committed and acknowledged) before the process ends.
        let _ = stop_tx.send(true);
        if let Some(c) = consumer {
            match c.await {
                Ok(Err(e)) => tracing::error!(error = %e, "the ingest stream consumer stopped"),
                Err(e) => tracing::error!(error = %e, "the ingest stream consumer failed"),
                Ok(Ok(())) => {}
            }
        }
        drop(stop_rx);
        // The last entries are attested before the process ends, so none is left unprotected.
        let s = closing.clone();
        match tokio::task::spawn_blocking(move || s.engine.attest()).await {
            Ok(Ok(())) => tracing::info!("checkpoint signed at shutdown"),
            Ok(Err(e)) => tracing::error!(error = %e, "checkpoint at shutdown failed"),
            Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
        }
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Binds, announces the bound address on stderr (tests and scripts read it
/// to learn the port chosen for `:0`), and serves until Ctrl-C or SIGTERM, then lets
/// requests in flight finish (up to ten seconds).
///
/// Connections are served by hyper directly rather than `axum::serve` so a
/// client that trickles its headers is cut off after `header_timeout`
/// (slow bodies are the request timeout's job, in `httpmetrics`).
pub async fn listen_until_ctrl_c(
    bind: SocketAddr,
    app: Router,
    header_timeout: std::time::Duration,
    announce: impl FnOnce(SocketAddr) -> String,
) -> anyhow::Result<()> {
    use tower::ServiceExt;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
    eprintln!("{}", announce(listener.local_addr()?));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Ctrl-C, or SIGTERM (what service managers and `kill` send).
    let mut ctrl_c = std::pin::pin!(async {
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r,
                _ = term.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await
    });
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: say so, back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut ctrl_c => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
            tracing::warn!("requests still running after 10 s; stopping anyway");
        }
    }
    Ok(())
}

/// Demo users, one per role (created once, passwords and tokens printed
/// now, only their hashes stored), and a high-tier action waiting for its
/// second approver.
fn demo_people(engine: &Engine) -> anyhow::Result<()> {
    use warden_core::{ActionKind, Actor, Role};
    if engine.store().user("demo-analyst")?.is_some() {
        eprintln!(
            "demo: users exist already (demo-analyst, demo-senior, demo-senior2, demo-manager, demo-auditor, demo-admin)"
        );
        return Ok(());
    }
    let roles = [
        ("demo-analyst", Role::Analyst),
        ("demo-senior", Role::SeniorAnalyst),
        ("demo-senior2", Role::SeniorAnalyst),
        ("demo-manager", Role::Manager),
        ("demo-auditor", Role::Auditor),
        ("demo-admin", Role::Admin),
    ];
    eprintln!("demo: users (shown once; passwords are stored only as Argon2id hashes):");
    let mut passwords = std::collections::BTreeMap::new();
    for (name, role) in roles {
        let password = random_token()?;
        engine.add_user(Actor::Service("demo".into()), name, &[role], &password)?;
        let (_, token) = engine.create_token(Actor::Service("demo".into()), name)?;
        eprintln!("  {name:<14} {:<15} password {password}  token {token}", role.as_str());
        passwords.insert(name, password);
    }
    let analyst = engine.check_password("demo-analyst", &passwords["demo-analyst"])?;
    eprintln!("demo: open the server's address in a browser and sign in as one of these users");
    let escalated = engine.queue(&analyst, None)?.into_iter().find(|e| e.route.as_deref() == Some("escalated"));
    let target = escalated.or_else(|| engine.queue(&analyst, None).ok()?.into_iter().next());
    if let Some(item) = target {
        let req = engine.request_action(
            &analyst,
            warden_engine::actions::ActionInput {
                alert_id: Some(item.item.alert_id.clone()),
                kind: ActionKind::ResetCredentials,
                params: serde_json::json!({"accounts": "every account used on the host"}),
                reason: "credential dumping on the host".into(),
                draft: false,
            },
        )?;
        let senior = engine.check_password("demo-senior", &passwords["demo-senior"])?;
        engine.approve_action(&senior, &req.id, "first approval (demo)", None)?;
        eprintln!("demo: action {} (reset_credentials, high tier) awaits its second approver", req.id);
    }
    demo_decisions(engine, &analyst)?;
    Ok(())
}

/// A third of the demo queue decided by the demo analyst (the AI's verdict
/// kept, except where an unknown or benign call is corrected), so the
/// dashboards have something to show. Marked as demo decisions.
fn demo_decisions(engine: &Engine, analyst: &warden_govern::Identity) -> anyhow::Result<()> {
    use warden_core::Verdict;
    let items = engine.queue(analyst, Some("new"))?;
    let mut n = 0;
    for (i, item) in items.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let Some(ai) = item.ai_verdict else { continue };
        let (verdict, reason_code) = match ai {
            Verdict::Unknown if i % 2 == 0 => {
                (Verdict::Suspicious, Some(warden_engine::review::ReasonCode::MissedAttack))
            }
            Verdict::Unknown => (Verdict::Benign, Some(warden_engine::review::ReasonCode::FalseAlarm)),
            v => (v, None),
        };
        let input = warden_engine::review::DecisionInput {
            verdict,
            techniques: None,
            reason_code,
            comment: "demo decision".into(),
            rating: Some(if reason_code.is_some() { 2 } else { 4 }),
            supersedes: false,
        };
        engine.decide(analyst, &item.item.alert_id, input)?;
        n += 1;
    }
    eprintln!("demo: {n} alert(s) decided by demo-analyst so the dashboards have content");
    Ok(())
}

fn router(state: Arc<AppState>, max_body: usize) -> Router {
    let (api, doc) = crate::api::routes();
    let doc = Arc::new(crate::api::openapi_json(&doc));
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], doc.as_str().to_owned()) }
            }),
        )
        .merge(api.route_layer(axum::middleware::from_fn_with_state(state.clone(), credentials_first)))
        .merge(crate::web::routes())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::httpmetrics::observe))
        .with_state(state)
}

fn random_token() -> anyhow::Result<String> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness for a token: {e}"))?;
    Ok(format!("wd_{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(b).into()
}

/// An API error: a stable code and a message; internals go to the log only.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn internal() -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "internal error; see the server log".into(),
        }
    }

    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "a valid bearer token is required".into(),
        }
    }
}

/// A JSON body whose refusal (not JSON, the wrong content type, a missing or
/// mistyped field) is answered like every other API error,
/// `{"error":{"code","message"}}`, rather than as plain text.
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(v)) => object_body(v).map(ApiJson),
            Err(r) => Err(refused(r.status(), r.body_text())),
        }
    }
}

/// Every API body is a JSON object. Read through a value first, because
/// serde would also take a struct from an array of its fields (`[]`, `["why"]`).
pub(crate) fn object_body<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    let invalid =
        |message: String| ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, code: "invalid_body", message };
    if !v.is_object() {
        return Err(invalid("the body must be a JSON object".into()));
    }
    serde_json::from_value(v).map_err(|e| invalid(format!("the body does not fit: {e}")))
}

/// Query parameters refused the same way.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(r) => Err(refused(r.status(), r.body_text())),
        }
    }
}

fn refused(status: StatusCode, message: String) -> ApiError {
    let code = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        _ => "bad_request",
    };
    ApiError { status, code, message }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
        }
        let mut r =
            (self.status, Json(Body { error: Inner { code: self.code, message: &self.message } })).into_response();
        if self.code == "busy" {
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "request failed");
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        code: "internal",
        message: "internal error; see the server log".into(),
    }
}

/// Ingestion accepts the forwarders' token (`WARDEN_API_TOKEN`) or the
/// bearer token of a user who works alerts (auditors and admins get 403);
/// `Splunk <token>` is accepted as HEC clients send it.
async fn authorise(state: &Arc<AppState>, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = presented_token(headers).ok_or_else(ApiError::unauthorized)?;
    if is_forwarder_token(state, &presented) {
        return Ok(());
    }
    let s = state.clone();
    let who = tokio::task::spawn_blocking(move || s.engine.authenticate(&presented))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|_| ApiError::unauthorized())?;
    // People who work alerts may send them; auditors and admins may not.
    if !who.can(warden_govern::Permission::Review) {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: format!(
                "{} may not ingest alerts: it needs the Review permission (or the forwarders' token)",
                who.user
            ),
        });
    }
    Ok(())
}

/// The token in `Authorization: Bearer …` (or `Splunk …`, as HEC clients send it).
fn presented_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("Splunk ")))
        .map(|t| t.trim().to_owned())
}

/// Whether a token is the forwarders' (`WARDEN_API_TOKEN`). Comparing
/// fixed-length digests keeps the comparison independent of the token's content.
fn is_forwarder_token(state: &AppState, presented: &str) -> bool {
    let h = sha256(presented.as_bytes());
    h.iter().zip(state.token_hash.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// API requests without valid credentials get 401 before anything reads
/// their body (so a bad body never earns an unauthenticated caller a 422);
/// what each credential may do is still checked by the handler.
async fn credentials_first(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if ["/healthz", "/readyz", "/metrics"].contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let Some(presented) = presented_token(req.headers()) else { return ApiError::unauthorized().into_response() };
    if !is_forwarder_token(&state, &presented) {
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.engine.token_is_valid(&presented)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return ApiError::unauthorized().into_response(),
            Ok(Err(e)) => return internal(e).into_response(),
            Err(_) => return ApiError::internal().into_response(),
        }
    }
    next.run(req).await
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String, example = "ok")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: every dependency answers — the store, and the ingest stream
/// when there is one. The body names each (`store: ok`, `stream: ok, 12
/// waiting`); a 503 says which is not.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String, example = "ready\nstore: ok"), (status = 503, body = crate::api::ErrorBody)))]
pub(crate) async fn readyz(State(state): State<Arc<AppState>>) -> Result<String, ApiError> {
    let s = state.clone();
    // A cheap read (the log's length), not a count of every table.
    let store = match tokio::task::spawn_blocking(move || s.engine.store().audit_len()).await.map_err(internal)? {
        Ok(_) => Ok("store: ok".to_owned()),
        Err(e) => {
            tracing::error!(error = %e, "store not ready");
            Err("store: not available".to_owned())
        }
    };
    let stream = match &state.bus {
        None => None,
        Some(bus) => Some(match bus.pending().await {
            Ok(n) => Ok(format!("stream: ok, {n} waiting")),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "ingest stream not ready");
                Err("stream: not available".to_owned())
            }
        }),
    };
    let parts: Vec<Result<String, String>> = std::iter::once(store).chain(stream).collect();
    if parts.iter().all(Result::is_ok) {
        let lines: Vec<String> = parts.into_iter().flatten().collect();
        return Ok(format!("ready\n{}\n", lines.join("\n")));
    }
    let said: Vec<String> = parts.into_iter().map(|p| p.unwrap_or_else(|e| e)).collect();
    Err(ApiError { status: StatusCode::SERVICE_UNAVAILABLE, code: "not_ready", message: said.join("; ") })
}

/// What ingestion did with each record.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub(crate) struct IngestResponse {
    accepted: u64,
    alert_ids: Vec<String>,
    rejected: Vec<Rejected>,
    /// False when the request's time ran out first: what is listed was
    /// committed, records from index `processed` on were not processed
    /// (resend them; any already stored are reported as duplicates).
    complete: bool,
    /// How many records were processed (accepted or rejected), in input order.
    processed: u64,
}

impl Default for IngestResponse {
    fn default() -> Self {
        IngestResponse { accepted: 0, alert_ids: Vec::new(), rejected: Vec::new(), complete: true, processed: 0 }
    }
}

/// A record that was not accepted, kept in the dead-letter store.
#[derive(Serialize, Debug, utoipa::ToSchema)]
pub(crate) struct Rejected {
    index: u64,
    error: String,
    dead_letter: String,
}

/// Ingests alerts: one JSON document, an array, or NDJSON, in any supported
/// format (OCSF, ECS, Suricata EVE, Zeek, Windows event JSON, generic JSON);
/// Windows events in XML; or lines of syslog, CEF or LEEF.
#[utoipa::path(post, path = "/api/v1/alerts", tag = "ingest", security(("bearer" = [])),
    request_body(content = serde_json::Value, description = "Any JSON: a document, an array or NDJSON (`application/x-ndjson`); or Windows events in XML; or lines of syslog (RFC 3164/5424), CEF or LEEF. What is not an alert is kept as a dead letter, never refused as a whole"),
    responses((status = 200, body = IngestResponse),
              (status = 422, description = "Nothing accepted; every record rejected", body = IngestResponse),
              (status = 400, body = crate::api::ErrorBody), (status = 401, body = crate::api::ErrorBody),
              (status = 413, description = "Body over `server.max_body_bytes`"),
              (status = 503, description = "Stopped at the time limit: what is listed was committed, records from `processed` on were not", body = IngestResponse),
              (status = 408, body = crate::api::ErrorBody)))]
pub(crate) async fn post_alerts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<IngestResponse>), ApiError> {
    authorise(&state, &headers).await?;
    let _slot = admit(&state).await?;
    let body = read_body(&state, body, "http").await?;
    ingest(state, body).await
}

/// A slot for one ingest request, waited for up to a second; otherwise 503
/// with `Retry-After` before anything of the body is read.
async fn admit(state: &Arc<AppState>) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    let slots = state.ingest_slots.clone();
    match tokio::time::timeout(std::time::Duration::from_secs(1), slots.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "busy",
            message: "every ingest slot is busy (server.max_concurrent_ingest); nothing was read — retry shortly"
                .into(),
        }),
    }
}

/// How much of a body over the limit the dead-letter store keeps.
const OVERSIZE_PREFIX: usize = 64 << 10;

/// The request body, up to `server.max_body_bytes`. A larger one is read
/// through without being held (hashed as it goes), and kept in the
/// dead-letter store as its first 64 KiB with its size and SHA-256; the
/// answer is 413 naming the dead letter.
async fn read_body(state: &Arc<AppState>, mut body: axum::body::Body, source: &str) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    use sha2::Digest;
    let max = state.max_body;
    let mut buf: Vec<u8> = Vec::new();
    let mut total: u64 = 0;
    let mut over: Option<sha2::Sha256> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "unreadable_body",
            message: format!("the request body could not be read: {e}"),
        })?;
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if over.is_none() && buf.len() + data.len() > max {
            let mut h = sha2::Sha256::new();
            h.update(&buf);
            buf.truncate(OVERSIZE_PREFIX);
            over = Some(h);
        }
        match &mut over {
            Some(h) => {
                h.update(&data);
                let room = OVERSIZE_PREFIX.saturating_sub(buf.len());
                buf.extend_from_slice(&data[..room.min(data.len())]);
            }
            None => buf.extend_from_slice(&data),
        }
    }
    let Some(h) = over else { return Ok(Bytes::from(buf)) };
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let reason = format!(
        "request body of {total} bytes is over server.max_body_bytes ({max}); its first {} bytes are kept, SHA-256 of the whole {digest}",
        buf.len()
    );
    let s = state.clone();
    let source = source.to_owned();
    let id = tokio::task::spawn_blocking(move || s.engine.reject_input(&source, reason, buf))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    Err(ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        message: format!(
            "the body is {total} bytes, over the limit of {max}; nothing was ingested, and its first bytes, size and hash are kept as dead letter {id}"
        ),
    })
}

/// Splunk-HEC-style ingestion: concatenated `{"event": …}` objects (the
/// event an object or a JSON string), answered like `POST /api/v1/alerts`.
#[utoipa::path(post, path = "/services/collector/event", tag = "ingest", security(("splunk" = []), ("bearer" = [])),
    request_body(content = Object, description = "Concatenated `{\"event\": …}` objects"),
    responses((status = 200, body = IngestResponse), (status = 400, body = crate::api::ErrorBody),
              (status = 401, body = crate::api::ErrorBody), (status = 422, body = IngestResponse),
              (status = 503, description = "Stopped at the time limit: what is listed was committed", body = IngestResponse)))]
pub(crate) async fn hec(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<IngestResponse>), ApiError> {
    authorise(&state, &headers).await?;
    let _slot = admit(&state).await?;
    let body = read_body(&state, body, "hec").await?;
    not_empty(&body)?;
    if publishing(&state) {
        return publish(state, move |e| e.parse_hec(&body)).await;
    }
    run_ingest(state, move |e, stop, on_event| e.triage_hec(&body, stop, on_event)).await
}

fn not_empty(body: &Bytes) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "empty_body",
            message: "the request body is empty".into(),
        });
    }
    Ok(())
}

fn respond(resp: &mut IngestResponse, index: &mut u64, event: Event) {
    match event {
        Event::Alert(r) => {
            resp.accepted += 1;
            resp.alert_ids.push(r.alert_id.to_string());
            *index += 1;
        }
        Event::Rejected(d) => {
            resp.rejected.push(Rejected {
                index: *index,
                error: format!("{}: {}", location(&d.origin), d.reason),
                dead_letter: d.id,
            });
            *index += 1;
        }
        Event::Progress { .. } => {}
    }
}

fn status_of(resp: &IngestResponse) -> StatusCode {
    if !resp.complete {
        StatusCode::SERVICE_UNAVAILABLE
    } else if resp.accepted == 0 && !resp.rejected.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

async fn ingest(state: Arc<AppState>, body: Bytes) -> Result<(StatusCode, Json<IngestResponse>), ApiError> {
    not_empty(&body)?;
    if publishing(&state) {
        return publish(state, move |e| e.parse_input(&body, "http", None)).await;
    }
    run_ingest(state, move |e, stop, on_event| e.triage_input_until(&body, "http", None, stop, on_event)).await
}

pub(crate) fn publishing(state: &AppState) -> bool {
    state.bus.is_some() && state.engine.config().queue.publish
}

/// Ingest through the stream: the body is read into records here, records
/// that are not alerts are dead-lettered here (with the same answer as
/// inline ingest), and alerts are published; the answer lists an alert as
/// accepted only once JetStream has stored it. A failed publish answers 503
/// with what did get through (`complete` false): resending the body is safe.
pub(crate) async fn publish<P>(state: Arc<AppState>, parse: P) -> Result<(StatusCode, Json<IngestResponse>), ApiError>
where
    P: FnOnce(&Engine) -> Vec<warden_engine::Parsed> + Send + 'static,
{
    let s = state.clone();
    let (alerts, resp) = tokio::task::spawn_blocking(move || {
        let mut alerts = Vec::new();
        let mut rejects = Vec::new();
        let mut order = Vec::new();
        for p in parse(&s.engine) {
            match p {
                warden_engine::Parsed::Alert(a) => {
                    order.push(true);
                    alerts.push(*a);
                }
                r => {
                    order.push(false);
                    rejects.push((r, false));
                }
            }
        }
        let mut rejected = Vec::new();
        if !rejects.is_empty() {
            s.engine.triage_parsed(rejects, &mut |event| {
                if let Event::Rejected(d) = event {
                    rejected.push(d);
                }
            })?;
        }
        anyhow::Ok((alerts, (order, rejected)))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let bus = state.bus.as_ref().expect("publishing checked the bus");
    let deadline = std::time::Instant::now() + state.request_timeout.mul_f64(0.8);
    let (published, failure) = bus.publish(&alerts, deadline).await;
    let (order, rejected) = resp;
    let mut out = IngestResponse::default();
    let (mut ids, mut rejected) = (published.into_iter(), rejected.into_iter());
    for (index, is_alert) in order.into_iter().enumerate() {
        if is_alert {
            match ids.next() {
                Some(id) => {
                    out.accepted += 1;
                    out.alert_ids.push(id.to_string());
                }
                None => break,
            }
        } else if let Some(d) = rejected.next() {
            out.rejected.push(Rejected {
                index: index as u64,
                error: format!("{}: {}", location(&d.origin), d.reason),
                dead_letter: d.id,
            });
        }
        out.processed = index as u64 + 1;
    }
    out.complete = failure.is_none();
    if let Some(e) = failure {
        tracing::error!(error = %format!("{e:#}"), "publish to the ingest stream failed");
    }
    Ok((status_of(&out), Json(out)))
}

/// Runs one request's ingest work, which ends with the request: it stops
/// before its next batch when the request's time is nearly up (and answers
/// 503 with what was committed) or when the request is dropped (the client
/// went away, or the outer time limit struck). No checkpoint per request:
/// they follow `audit.checkpoint_every`, the server's timer and shutdown.
async fn run_ingest<W>(state: Arc<AppState>, work: W) -> Result<(StatusCode, Json<IngestResponse>), ApiError>
where
    W: FnOnce(&Engine, &dyn Fn() -> bool, &mut dyn FnMut(Event)) -> Result<warden_engine::Summary, EngineError>
        + Send
        + 'static,
{
    struct CancelOnDrop(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let cancelled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _cancel = CancelOnDrop(cancelled.clone());
    let deadline = std::time::Instant::now() + state.request_timeout.mul_f64(0.8);
    let s = state.clone();
    let resp = tokio::task::spawn_blocking(move || {
        let mut resp = IngestResponse::default();
        let mut index = 0u64;
        let stop = || cancelled.load(std::sync::atomic::Ordering::Relaxed) || std::time::Instant::now() >= deadline;
        let summary = work(&s.engine, &stop, &mut |event| respond(&mut resp, &mut index, event))?;
        resp.complete = !summary.interrupted;
        resp.processed = index;
        anyhow::Ok(resp)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok((status_of(&resp), Json(resp)))
}

fn location(o: &warden_core::Origin) -> String {
    match o.location {
        warden_core::Location::Line(n) => format!("line {n}"),
        warden_core::Location::Record(n) => format!("record {n}"),
        warden_core::Location::Chunk(n) => format!("chunk {n}"),
        warden_core::Location::Index(n) => format!("item {n}"),
        warden_core::Location::Whole(_) => "body".into(),
    }
}
