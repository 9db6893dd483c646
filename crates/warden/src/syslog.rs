//! `[ingest.syslog]`: syslog, CEF and LEEF over UDP and TCP.
//!
//! Sockets → a bounded queue → batches through the pipeline. UDP: one
//! message per datagram. TCP (RFC 6587): a frame that starts with a digit is
//! octet-counted (`LEN SP MSG`), anything else runs to the line feed. When
//! the queue is full a TCP connection is simply not read until there is room,
//! so the sender's TCP window closes and it waits (back-pressure all the way
//! to the forwarder); UDP cannot wait, so a datagram that finds the queue
//! full is dropped and counted (`warden_syslog_dropped`). A message over
//! `max_message_bytes` and a message that does not parse are dead-lettered
//! with their reason. On shutdown the listeners stop first and what is queued
//! is committed before the process ends. Syslog has no acknowledgement, so a
//! message read from a socket and not yet committed when the process is
//! killed outright is lost; a forwarder that must not lose any should send
//! over HTTP (`/api/v1/alerts`, which answers only once committed).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use warden_engine::config::SyslogConfig;
use warden_engine::{Diagnostic, Parsed};

use crate::serve::AppState;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub received: AtomicU64,
    pub dropped: AtomicU64,
    pub oversize: AtomicU64,
    pub connections: AtomicU64,
    pub batches: AtomicU64,
    pub failed_batches: AtomicU64,
}

impl Stats {
    pub fn prometheus(&self) -> String {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        for (name, help, kind, v) in [
            ("warden_syslog_received", "Syslog messages read from the sockets.", "counter", n(&self.received)),
            (
                "warden_syslog_dropped",
                "UDP datagrams dropped because the queue was full (UDP cannot wait).",
                "counter",
                n(&self.dropped),
            ),
            ("warden_syslog_oversize", "Messages over max_message_bytes, dead-lettered.", "counter", n(&self.oversize)),
            ("warden_syslog_connections", "TCP connections open.", "gauge", n(&self.connections)),
            ("warden_syslog_batches", "Batches committed.", "counter", n(&self.batches)),
            ("warden_syslog_failed_batches", "Batches the pipeline failed on.", "counter", n(&self.failed_batches)),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"));
        }
        out
    }
}

/// One message as it came off a socket.
struct Message {
    /// `syslog-udp:PEER` or `syslog-tcp:PEER`, the origin's file.
    source: String,
    bytes: Vec<u8>,
    /// The whole message's length when it was over the limit (only its first bytes are kept).
    oversize: Option<usize>,
}

/// The running listener: call [`Listener::stop`] to stop reading and commit what is queued.
pub struct Listener {
    sockets: Vec<tokio::task::JoinHandle<()>>,
    batcher: tokio::task::JoinHandle<()>,
}

impl Listener {
    pub async fn stop(self) {
        for s in &self.sockets {
            s.abort();
        }
        for s in self.sockets {
            let _ = s.await;
        }
        // With every sender gone the batcher drains the queue and ends.
        if let Err(e) = self.batcher.await {
            tracing::error!(error = %e, "the syslog batcher failed");
        }
    }
}

/// Binds what `[ingest.syslog]` asks for and starts reading; None when no `bind` is set.
pub async fn start(state: Arc<AppState>) -> anyhow::Result<Option<Listener>> {
    let cfg = state.engine.config().ingest.syslog.clone();
    let Some(bind) = &cfg.bind else { return Ok(None) };
    let addr: SocketAddr = bind.parse().context("ingest.syslog.bind")?;
    let (tx, rx) = mpsc::channel::<Message>(cfg.queue);
    let stats = state.syslog_stats.clone();
    let mut sockets = Vec::new();
    let mut announced = Vec::new();
    if cfg.udp {
        let socket = tokio::net::UdpSocket::bind(addr).await.with_context(|| format!("cannot listen on udp {addr}"))?;
        announced.push(format!("udp://{}", socket.local_addr()?));
        sockets.push(tokio::spawn(udp(socket, tx.clone(), cfg.max_message_bytes, stats.clone())));
    }
    if cfg.tcp {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on tcp {addr}"))?;
        announced.push(format!("tcp://{}", listener.local_addr()?));
        sockets.push(tokio::spawn(tcp(listener, tx.clone(), cfg.clone(), stats.clone())));
    }
    drop(tx);
    eprintln!("syslog listening on {}", announced.join(" and "));
    let batcher = tokio::spawn(batches(state, rx, cfg));
    Ok(Some(Listener { sockets, batcher }))
}

async fn udp(socket: tokio::net::UdpSocket, tx: mpsc::Sender<Message>, max: usize, stats: Arc<Stats>) {
    // One byte more than the limit tells an oversize datagram from one exactly at it.
    let mut buf = vec![0u8; max.saturating_add(1).min(65_536)];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "syslog udp receive failed");
                continue;
            }
        };
        stats.received.fetch_add(1, Ordering::Relaxed);
        let (bytes, oversize) = if n > max { (buf[..max].to_vec(), Some(n)) } else { (buf[..n].to_vec(), None) };
        let msg = Message { source: format!("syslog-udp:{peer}"), bytes, oversize };
        if tx.try_send(msg).is_err() {
            let dropped = stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "syslog queue full: UDP datagrams are being dropped (raise ingest.syslog.queue)"
                );
            }
        }
    }
}

async fn tcp(listener: tokio::net::TcpListener, tx: mpsc::Sender<Message>, cfg: SyslogConfig, stats: Arc<Stats>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "syslog accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (tx, stats, max) = (tx.clone(), stats.clone(), cfg.max_message_bytes);
        // The connections end with this task (aborted at shutdown).
        conns.spawn(async move {
            stats.connections.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = connection(stream, &format!("syslog-tcp:{peer}"), &tx, max, &stats).await {
                tracing::debug!(error = %e, %peer, "syslog connection ended with an error");
            }
            stats.connections.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
        while conns.try_join_next().is_some() {}
    }
}

/// Reads frames until the peer closes; each waits for room in the queue.
async fn connection(
    stream: tokio::net::TcpStream,
    source: &str,
    tx: &mpsc::Sender<Message>,
    max: usize,
    stats: &Stats,
) -> std::io::Result<()> {
    let mut r = BufReader::new(stream);
    loop {
        let first = match r.fill_buf().await? {
            [] => return Ok(()),
            b => b[0],
        };
        let msg = if first.is_ascii_digit() { octet_counted(&mut r, max).await? } else { line(&mut r, max).await? };
        let Some((bytes, oversize)) = msg else { return Ok(()) };
        if bytes.iter().all(u8::is_ascii_whitespace) && oversize.is_none() {
            continue;
        }
        stats.received.fetch_add(1, Ordering::Relaxed);
        if tx.send(Message { source: source.to_owned(), bytes, oversize }).await.is_err() {
            return Ok(());
        }
    }
}

/// `LEN SP MSG`. A length over the limit keeps the first `max` bytes and skips the rest.
async fn octet_counted(r: &mut BufReader<tokio::net::TcpStream>, max: usize) -> std::io::Result<Option<Frame>> {
    let mut digits = Vec::new();
    let n = r.read_until(b' ', &mut digits).await?;
    if n == 0 || digits.last() != Some(&b' ') {
        return Ok(None);
    }
    digits.pop();
    let len: usize = match std::str::from_utf8(&digits).ok().and_then(|d| d.parse().ok()) {
        Some(len) if digits.len() <= 10 => len,
        // Not a count after all: the frame is a line that starts with digits.
        _ => {
            let mut rest = line(r, max.saturating_sub(digits.len() + 1)).await?.unwrap_or_default();
            let mut bytes = digits;
            bytes.push(b' ');
            bytes.append(&mut rest.0);
            return Ok(Some((bytes, rest.1.map(|n| n + 1))));
        }
    };
    let keep = len.min(max);
    let mut bytes = vec![0u8; keep];
    r.read_exact(&mut bytes).await?;
    if len > keep {
        tokio::io::copy(&mut (&mut *r).take((len - keep) as u64), &mut tokio::io::sink()).await?;
        return Ok(Some((bytes, Some(len))));
    }
    Ok(Some((bytes, None)))
}

/// The message bytes and, when over the limit, the whole length.
type Frame = (Vec<u8>, Option<usize>);

/// Up to the next line feed (not kept). A longer line keeps its first `max` bytes.
async fn line(r: &mut BufReader<tokio::net::TcpStream>, max: usize) -> std::io::Result<Option<Frame>> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok((total > 0).then(|| (bytes, (total > max).then_some(total))));
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i, true),
            None => (buf.len(), false),
        };
        let room = max.saturating_sub(bytes.len());
        bytes.extend_from_slice(&buf[..take.min(room)]);
        total += take;
        r.consume(take + usize::from(done));
        if done {
            if bytes.last() == Some(&b'\r') && total <= max {
                bytes.pop();
            }
            return Ok(Some((bytes, (total > max).then_some(total))));
        }
    }
}

/// Takes messages off the queue in batches (`batch` messages, or whatever
/// came within `flush_ms`) and runs each batch through the pipeline, or
/// publishes it to the ingest stream when this node publishes. Ends when
/// every sender is gone and the queue is empty.
async fn batches(state: Arc<AppState>, mut rx: mpsc::Receiver<Message>, cfg: SyslogConfig) {
    let flush = std::time::Duration::from_millis(cfg.flush_ms);
    loop {
        let Some(first) = rx.recv().await else { return };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + flush;
        while batch.len() < cfg.batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(m)) => batch.push(m),
                Ok(None) | Err(_) => break,
            }
        }
        commit(&state, batch).await;
    }
}

async fn commit(state: &Arc<AppState>, batch: Vec<Message>) {
    let s = state.clone();
    let parse = move |e: &warden_engine::Engine| -> Vec<Parsed> {
        let mut items = Vec::with_capacity(batch.len());
        for m in batch {
            match m.oversize {
                Some(len) => {
                    s.syslog_stats.oversize.fetch_add(1, Ordering::Relaxed);
                    items.push(Parsed::Rejected(Diagnostic {
                        origin: warden_core::Origin { file: m.source, location: warden_core::Location::Whole(true) },
                        reason: format!(
                            "message is {len} bytes, over ingest.syslog.max_message_bytes ({}); its first {} bytes are kept",
                            e.config().ingest.syslog.max_message_bytes,
                            m.bytes.len()
                        ),
                        raw: m.bytes,
                    }))
                }
                None => items.extend(e.parse_input(&m.bytes, &m.source, None)),
            }
        }
        items
    };
    let stats = state.syslog_stats.clone();
    if crate::serve::publishing(state) {
        match crate::serve::publish(state.clone(), parse).await {
            Ok(_) => stats.batches.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::error!(error = %e.message, "syslog batch not published");
                stats.failed_batches.fetch_add(1, Ordering::Relaxed)
            }
        };
        return;
    }
    let s = state.clone();
    let done = tokio::task::spawn_blocking(move || {
        let items = parse(&s.engine).into_iter().map(|p| (p, false)).collect();
        s.engine.triage_parsed(items, &mut |_| {})
    })
    .await;
    match done {
        Ok(Ok(_)) => stats.batches.fetch_add(1, Ordering::Relaxed),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "syslog batch failed");
            stats.failed_batches.fetch_add(1, Ordering::Relaxed)
        }
        Err(e) => {
            tracing::error!(error = %e, "syslog batch task failed");
            stats.failed_batches.fetch_add(1, Ordering::Relaxed)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A full queue stops a TCP connection being read (the sender waits)
    /// and loses nothing; a full queue drops UDP datagrams and counts them.
    #[tokio::test]
    async fn a_full_queue_holds_tcp_senders_back_and_counts_udp_drops() {
        let (tx, mut rx) = mpsc::channel::<Message>(1);
        let stats = Arc::new(Stats::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (t, s) = (tx.clone(), stats.clone());
        let reader = tokio::spawn(async move {
            let (stream, peer) = listener.accept().await.unwrap();
            connection(stream, &format!("syslog-tcp:{peer}"), &t, 1024, &s).await
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        for i in 0..3 {
            client.write_all(format!("<13>Oct 11 22:14:15 h app: message {i}\n").as_bytes()).await.unwrap();
        }
        client.write_all(b"9 <13>x: ok").await.unwrap();
        // One message fills the queue; the reader waits for room with the
        // second in hand instead of reading on (however long it is left).
        for _ in 0..250 {
            if stats.received.load(Ordering::Relaxed) == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(stats.received.load(Ordering::Relaxed), 2, "the first queued, the second waiting to be");
        assert!(!reader.is_finished());
        drop(client);
        let mut got = Vec::new();
        while let Some(m) = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await.unwrap() {
            got.push(String::from_utf8(m.bytes).unwrap());
            if got.len() == 4 {
                break;
            }
        }
        assert_eq!(got.len(), 4, "nothing was lost: {got:?}");
        assert_eq!(got[3], "<13>x: ok", "an octet-counted frame after line-framed ones");
        reader.await.unwrap().unwrap();

        // UDP cannot wait: with the queue full, the datagram is dropped and counted.
        let (tx, _rx) = mpsc::channel::<Message>(1);
        tx.try_send(Message { source: "x".into(), bytes: vec![], oversize: None }).unwrap();
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = socket.local_addr().unwrap();
        let ustats = Arc::new(Stats::default());
        let task = tokio::spawn(udp(socket, tx, 1024, ustats.clone()));
        let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender.send_to(b"<13>Oct 11 22:14:15 h app: dropped", at).await.unwrap();
        for _ in 0..50 {
            if ustats.dropped.load(Ordering::Relaxed) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(ustats.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(ustats.received.load(Ordering::Relaxed), 1);
        task.abort();
    }
}
