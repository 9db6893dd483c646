//! The NATS JetStream ingest stream: `warden serve` publishes what it
//! accepts, `warden worker` (or `serve --consume`) takes it in batches,
//! runs the pipeline and acknowledges each message only once its batch has
//! committed.
//!
//! Exactly once, end to end: a publish carries the alert's fingerprint as its
//! message id, so JetStream drops a retried publish within its duplicate
//! window; a redelivered message (its worker died between commit and
//! acknowledgement) whose alert is stored is acknowledged without being
//! analysed or audited again; a message no worker can process is kept as a
//! dead letter, with its reason, at its last allowed delivery.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::{self, AckKind, consumer::pull, message::PublishMessage, stream};
use futures_util::StreamExt;
use warden_core::{Alert, AlertId};
use warden_engine::config::QueueConfig;
use warden_engine::{Engine, Parsed};

/// Publishes awaited at once: well under the client's limit of pending
/// acknowledgements (5,000).
pub const IN_FLIGHT: usize = 1_000;

/// What holds the engine a worker runs (the server's state, or a lone engine).
pub trait HasEngine: Send + Sync + 'static {
    fn engine(&self) -> &Engine;
}

/// A connection to the ingest stream.
pub struct Bus {
    js: jetstream::Context,
    config: QueueConfig,
}

/// A worker's figures, for `/metrics`.
#[derive(Default)]
pub struct Stats {
    pub delivered: AtomicU64,
    pub redelivered: AtomicU64,
    pub skipped_redelivered: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub batches: AtomicU64,
    /// Time spent in the pipeline and its commit, microseconds.
    pub batch_micros: AtomicU64,
    /// Messages waiting for the consumer at the last look.
    pub pending: AtomicU64,
}

impl Stats {
    pub fn prometheus(&self, store: &dyn warden_engine::Store) -> String {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        if let Some(t) = store.write_timings() {
            for (name, help, v) in [
                ("warden_store_commit_seconds_sum", "Time in batch commits (lock wait included).", t.commit),
                (
                    "warden_store_chain_lock_wait_seconds_sum",
                    "Time batch commits waited for the audit chain's lock.",
                    t.chain_lock_wait,
                ),
            ] {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n", v.as_secs_f64()));
            }
            out.push_str(&format!("# HELP warden_store_commits Batch commits.\n# TYPE warden_store_commits counter\nwarden_store_commits {}\n", t.commits));
        }
        for (name, help, kind, v) in [
            (
                "warden_queue_pending",
                "Messages in the ingest stream not yet delivered to a worker (consumer lag).",
                "gauge",
                n(&self.pending),
            ),
            (
                "warden_queue_delivered",
                "Messages this worker took from the ingest stream.",
                "counter",
                n(&self.delivered),
            ),
            (
                "warden_queue_redeliveries",
                "Messages delivered again (a worker did not acknowledge in time).",
                "counter",
                n(&self.redelivered),
            ),
            (
                "warden_queue_redelivered_stored",
                "Redelivered messages whose alert was stored already: acknowledged unseen.",
                "counter",
                n(&self.skipped_redelivered),
            ),
            (
                "warden_queue_dead_lettered",
                "Messages kept as dead letters after their last allowed delivery.",
                "counter",
                n(&self.dead_lettered),
            ),
            ("warden_queue_batches", "Batches committed.", "counter", n(&self.batches)),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"));
        }
        out.push_str(&format!(
            "# HELP warden_queue_batch_seconds_sum Time in the pipeline and its commit.\n# TYPE warden_queue_batch_seconds_sum counter\nwarden_queue_batch_seconds_sum {}\n",
            n(&self.batch_micros) as f64 / 1e6
        ));
        out
    }
}

impl Bus {
    /// Connects and makes sure the stream exists (a work queue with a
    /// duplicate window, kept on disk).
    pub async fn connect(config: &QueueConfig) -> anyhow::Result<Bus> {
        let url = config.nats_url.as_deref().context("queue.nats_url is not set")?;
        let secret = |var: &str| std::env::var(var).with_context(|| format!("queue: the variable {var} is not set"));
        let mut options = async_nats::ConnectOptions::new().name("warden").connection_timeout(Duration::from_secs(10));
        if let Some(var) = &config.token_env {
            options = options.token(secret(var)?);
        }
        if let (Some(user), Some(var)) = (&config.user, &config.password_env) {
            options = options.user_and_password(user.clone(), secret(var)?);
        }
        if config.tls {
            options = options.require_tls(true);
        }
        if let Some(ca) = &config.ca_file {
            options = options.add_root_certificates(ca.clone());
        }
        let client = options.connect(url).await.with_context(|| format!("cannot connect to NATS at {url}"))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: config.stream.clone(),
            subjects: vec![config.subject.clone()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(config.duplicate_window_secs),
            ..Default::default()
        })
        .await
        .with_context(|| format!("cannot open the JetStream stream {}", config.stream))?;
        Ok(Bus { js, config: config.clone() })
    }

    /// Publishes alerts and waits until JetStream has stored every one, at
    /// most [`IN_FLIGHT`] unacknowledged at a time (the client holds one
    /// permit per pending acknowledgement, so publishing more before
    /// awaiting any would wait forever). Returns the ids of those it
    /// acknowledged, in order, and the first failure (the rest are not
    /// accepted; the client resends them, and a resent alert that did get
    /// through is dropped by its message id). Stops at `deadline` with what
    /// got through, so a request's time limit is answered, not cut off.
    pub async fn publish(
        &self,
        alerts: &[Alert],
        deadline: std::time::Instant,
    ) -> (Vec<AlertId>, Option<anyhow::Error>) {
        let mut done = Vec::with_capacity(alerts.len());
        for window in alerts.chunks(IN_FLIGHT) {
            if std::time::Instant::now() >= deadline {
                return (done, Some(anyhow::anyhow!("the request's time ran out; resend what was not accepted")));
            }
            let mut acks = Vec::with_capacity(window.len());
            let mut failure = None;
            for a in window {
                let body = match serde_json::to_vec(a) {
                    Ok(b) => b,
                    Err(e) => {
                        failure = Some(e.into());
                        break;
                    }
                };
                let msg = PublishMessage::build().payload(body.into()).message_id(a.fingerprint.as_str());
                match self.js.send_publish(self.config.subject.clone(), msg).await {
                    Ok(ack) => acks.push((a.id.clone(), ack)),
                    Err(e) => {
                        failure = Some(anyhow::Error::new(e).context("publish to JetStream"));
                        break;
                    }
                }
            }
            let (ok, failure) = collect(acks, failure).await;
            done.extend(ok);
            if failure.is_some() {
                return (done, failure);
            }
        }
        (done, None)
    }

    /// Messages waiting for the workers' consumer.
    pub async fn pending(&self) -> anyhow::Result<u64> {
        let mut c = self.consumer().await?;
        Ok(c.info().await?.num_pending)
    }

    async fn consumer(&self) -> anyhow::Result<jetstream::consumer::Consumer<pull::Config>> {
        let stream = self.js.get_stream(&self.config.stream).await?;
        Ok(stream
            .get_or_create_consumer(
                &self.config.consumer,
                pull::Config {
                    durable_name: Some(self.config.consumer.clone()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(self.config.ack_wait_secs),
                    max_deliver: self.config.max_deliver,
                    ..Default::default()
                },
            )
            .await?)
    }

    /// Takes batches from the stream until `stop` resolves, running each
    /// through the pipeline on a blocking thread and acknowledging its
    /// messages once it has committed.
    pub async fn work<S: HasEngine>(
        &self,
        engine: Arc<S>,
        stats: Arc<Stats>,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let consumer = self.consumer().await?;
        let mut stop = std::pin::pin!(stop);
        loop {
            let fetched = tokio::select! {
                f = consumer.fetch().max_messages(self.config.fetch).expires(Duration::from_secs(1)).messages() => f,
                _ = &mut stop => return Ok(()),
            };
            let mut batch = match fetched {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "fetch from the ingest stream failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut messages = Vec::new();
            while let Some(m) = batch.next().await {
                match m {
                    Ok(m) => messages.push(m),
                    Err(e) => tracing::warn!(error = %e, "a message could not be received"),
                }
            }
            if messages.is_empty() {
                if let Ok(n) = self.pending().await {
                    stats.pending.store(n, Ordering::Relaxed);
                }
                continue;
            }
            self.handle(&engine, &stats, messages).await;
            if let Ok(n) = self.pending().await {
                stats.pending.store(n, Ordering::Relaxed);
            }
        }
    }

    async fn handle<S: HasEngine>(&self, engine: &Arc<S>, stats: &Stats, messages: Vec<jetstream::Message>) {
        stats.delivered.fetch_add(messages.len() as u64, Ordering::Relaxed);
        let mut items = Vec::with_capacity(messages.len());
        let mut last_chance = Vec::with_capacity(messages.len());
        for m in &messages {
            let delivered = m.info().map(|i| i.delivered).unwrap_or(1);
            if delivered > 1 {
                stats.redelivered.fetch_add(1, Ordering::Relaxed);
            }
            last_chance.push(delivered >= self.config.max_deliver);
            let parsed = match serde_json::from_slice::<Alert>(&m.payload) {
                Ok(a) => Parsed::Alert(Box::new(a)),
                // Not an alert this Warden can read (a foreign publisher, a newer version): kept, with why.
                Err(e) => Parsed::Rejected(queue_diagnostic(&m.payload, format!("not a Warden alert: {e}"))),
            };
            items.push((parsed, delivered > 1));
        }
        let e = engine.clone();
        let started = std::time::Instant::now();
        let outcome = tokio::task::spawn_blocking(move || e.engine().triage_parsed(items, &mut |_| {})).await;
        match outcome {
            Ok(Ok((_, skipped))) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.batch_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                stats.skipped_redelivered.fetch_add(skipped, Ordering::Relaxed);
                for m in &messages {
                    // Committed: a lost acknowledgement only means a redelivery, which is recognised.
                    if let Err(e) = m.ack().await {
                        tracing::warn!(error = %e, "acknowledgement failed; the message will be redelivered and recognised");
                    }
                }
            }
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => format!("the pipeline stopped: {e}"),
                    Ok(Ok(_)) => unreachable!("the first arm takes a committed batch"),
                };
                tracing::error!(error = %reason, messages = messages.len(), "batch failed; not acknowledged");
                for (m, last) in messages.iter().zip(last_chance) {
                    if last {
                        // Its last allowed delivery: kept as a dead letter so it is not lost silently.
                        let e = engine.clone();
                        let raw = m.payload.to_vec();
                        let why = format!(
                            "ingest stream: still failing after {} deliveries: {reason}",
                            self.config.max_deliver
                        );
                        let kept =
                            tokio::task::spawn_blocking(move || e.engine().reject_input("queue", why, raw)).await;
                        if matches!(kept, Ok(Ok(_))) {
                            stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                            let _ = m.ack_with(AckKind::Term).await;
                            continue;
                        }
                    }
                    let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(2)))).await;
                }
            }
        }
    }
}

async fn collect(
    acks: Vec<(AlertId, jetstream::context::PublishAckFuture)>,
    mut failure: Option<anyhow::Error>,
) -> (Vec<AlertId>, Option<anyhow::Error>) {
    let mut ok = Vec::with_capacity(acks.len());
    for (id, ack) in acks {
        match ack.await {
            Ok(_) if failure.is_none() => ok.push(id),
            Ok(_) => {}
            Err(e) => {
                failure.get_or_insert_with(|| anyhow::Error::new(e).context("JetStream did not acknowledge"));
            }
        }
    }
    (ok, failure)
}

fn queue_diagnostic(raw: &[u8], reason: String) -> warden_engine::Diagnostic {
    warden_engine::Diagnostic {
        origin: warden_core::Origin { file: "queue".into(), location: warden_core::Location::Whole(true) },
        reason,
        raw: raw.to_vec(),
    }
}

#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// Also serve this worker's `/metrics` (consumer lag, redeliveries, batch
    /// and commit time) and `/readyz` on this address; nothing else is served.
    #[arg(long, value_name = "ADDR")]
    bind: Option<std::net::SocketAddr>,
}

/// `warden worker`: works from the stream until Ctrl-C or SIGTERM, then
/// finishes the batch in hand and signs a checkpoint of what it wrote.
pub fn worker(engine: Engine, args: WorkerArgs) -> anyhow::Result<std::process::ExitCode> {
    let config = engine.config().queue.clone();
    anyhow::ensure!(
        config.nats_url.is_some(),
        "warden worker needs [queue] nats_url (the JetStream server to take alerts from)"
    );
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let bus = Arc::new(Bus::connect(&config).await?);
        let state = Arc::new(crate::serve::AppState::for_worker(engine, bus.clone())?);
        let stats = state.queue_stats.clone();
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let http = match args.bind {
            Some(bind) => {
                let app = axum::Router::new()
                    .route("/metrics", axum::routing::get(crate::api::prometheus))
                    .route("/readyz", axum::routing::get(crate::serve::readyz))
                    .with_state(state.clone());
                let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind}"))?;
                eprintln!("warden worker: metrics on http://{}", listener.local_addr()?);
                let mut rx = stop_rx.clone();
                Some(tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = rx.wait_for(|v| *v).await;
                        })
                        .await
                }))
            }
            None => None,
        };
        eprintln!("warden worker: taking alerts from stream {} (consumer {})", config.stream, config.consumer);
        let report = stats.clone();
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
                tracing::info!(
                    delivered = n(&report.delivered),
                    redelivered = n(&report.redelivered),
                    dead_lettered = n(&report.dead_lettered),
                    pending = n(&report.pending),
                    "worker progress"
                );
            }
        });
        let stop = async {
            #[cfg(unix)]
            {
                if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    return;
                }
            }
            let _ = tokio::signal::ctrl_c().await;
        };
        let worked = bus.work(state.clone(), stats.clone(), stop).await;
        ticker.abort();
        let _ = stop_tx.send(true);
        if let Some(h) = http {
            let _ = h.await;
        }
        let _ = stop_rx.borrow_and_update();
        let s = state.clone();
        tokio::task::spawn_blocking(move || s.engine.attest()).await??;
        let t = state.engine.store().write_timings().unwrap_or_default();
        eprintln!(
            "warden worker: stopped after {} message(s), {} batch(es), {} dead-lettered; {:.2} s in the pipeline, {:.2} s of it committing, {:.2} s of that waiting for the chain lock",
            stats.delivered.load(Ordering::Relaxed),
            stats.batches.load(Ordering::Relaxed),
            stats.dead_lettered.load(Ordering::Relaxed),
            stats.batch_micros.load(Ordering::Relaxed) as f64 / 1e6,
            t.commit.as_secs_f64(),
            t.chain_lock_wait.as_secs_f64(),
        );
        worked
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
