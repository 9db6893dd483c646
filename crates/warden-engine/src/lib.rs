//! The engine: typed configuration and the pipeline that carries each alert
//! through ingest → protect → analyze → validate → govern → persist, with an
//! audit record for every stage. It is the facade the binary calls.
//!
//! [`Engine::triage`] reads one input and reports each item through a
//! callback only after the batch holding it is durable in the store, so
//! whatever a caller has been told was stored survives a killed process, and a
//! re-run reports those alerts as duplicates instead of analysing them again.
//!
//! The engine knows nothing about HTTP, argv or the terminal.

pub mod actions;
pub mod audit;
mod calls;
pub mod cases;
pub mod casework;
pub mod chat;
pub mod config;
pub mod eval;
pub mod incidents;
pub mod outbound;
pub mod privacy;
pub mod replay;
pub mod report;
pub mod review;
pub mod rules;
pub mod sso;
pub mod workflow;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use jiff::Timestamp;
pub use privacy::{PiiBenchmark, pii_benchmark};
use serde::Serialize;
use sha2_free::sha256_hex;
/// The prompt-injection screen and its labelled corpus (`warden dev injection-score`).
pub use warden_analyze::injection;
use warden_analyze::{Analyzer, LocalAnalyzer};
use warden_core::{Actor, Alert, AlertId, AuditRecord, Format, Origin, RouteKind};
pub use warden_ingest::{Diagnostic, Parsed, Piece, Pieces, Start};
use warden_privacy::Protector;
pub use warden_privacy::corpus;
pub use warden_store::{AlertRecord, Counts, DeadLetter, SessionRow, Store, StoreError};
use warden_store::{Batch, Duplicate, SqliteStore, Triaged};

pub use audit::{AuditError, ConsistencyDoc, InclusionDoc};
pub use config::{Config, ConfigErrors};
/// One input to triage: its bytes, its name in origins, and where it starts
/// in its file when it is a [`Piece`] of a larger one.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub bytes: &'a [u8],
    pub source: &'a str,
    pub start: Start,
}

impl<'a> Input<'a> {
    /// A whole input.
    pub fn whole(bytes: &'a [u8], source: &'a str) -> Self {
        Input { bytes, source, start: Start::default() }
    }
}

pub use warden_analyze::metrics::Report as QualityReport;
pub use warden_audit::{Report as AuditReport, VerifyError};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "warden.db";

/// What the engine reports about one input item.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TriageResult {
    pub alert_id: AlertId,
    pub format: Format,
    pub verdict: warden_core::Verdict,
    pub confidence: f64,
    pub severity: warden_core::Severity,
    pub techniques: Vec<String>,
    pub route: RouteKind,
    /// `code: detail` for each reason the route was chosen.
    pub reasons: Vec<String>,
    pub origin: Origin,
    /// The workflow whose policy routed it.
    pub workflow: String,
    /// True when the alert was stored before and was not analysed again.
    pub duplicate: bool,
    pub summary: String,
}

/// One reported item.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Analysed and durably stored (or a duplicate of a stored alert).
    Alert(Box<TriageResult>),
    /// Could not be read; durably kept in the dead-letter store.
    Rejected(DeadLetter),
    /// Bytes of the input consumed so far, and the total.
    Progress { done: usize, total: usize },
}

/// Totals for one input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub stored: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub routes: BTreeMap<String, u64>,
    /// The run stopped early when asked to (see [`Engine::triage_input_until`]):
    /// what was reported was committed; the rest of the input was not processed.
    pub interrupted: bool,
}

impl Summary {
    pub fn add(&mut self, other: &Summary) {
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.interrupted |= other.interrupted;
        for (k, v) in &other.routes {
            *self.routes.entry(k.clone()).or_insert(0) += v;
        }
    }
}

/// An engine error: the store failed, or the data directory is unusable.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot use data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Audit(Box<AuditError>),
    #[error(transparent)]
    Denied(#[from] warden_govern::Denied),
    #[error(transparent)]
    Gate(warden_govern::GateError),
    #[error("not authenticated")]
    Unauthenticated,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("refused: {0}")]
    Refused(String),
}

/// A filter value nothing defines, refused with the values there are.
pub(crate) fn unknown(what: &str, value: &str, allowed: &str) -> EngineError {
    EngineError::Invalid(format!("unknown {what} {value:?}: use one of {allowed}"))
}

/// A severity as a filter names it.
pub(crate) fn severity_filter(s: &str) -> Result<(), EngineError> {
    s.parse::<warden_core::Severity>()
        .map(|_| ())
        .map_err(|_| unknown("severity", s, "critical, high, medium, low, info"))
}

/// A page size as people give it: 1 to 1,000, 100 when absent.
pub(crate) fn page_limit(limit: Option<usize>) -> Result<usize, EngineError> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(EngineError::Invalid("limit is 1 to 1000; page with offset".into()));
    }
    Ok(limit)
}

impl From<warden_govern::GateError> for EngineError {
    fn from(e: warden_govern::GateError) -> Self {
        match e {
            warden_govern::GateError::Denied(d) => EngineError::Denied(d),
            other => EngineError::Gate(other),
        }
    }
}

impl From<AuditError> for EngineError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Engine(inner) => inner,
            other => EngineError::Audit(Box::new(other)),
        }
    }
}

/// The pipeline with its store and stages.
pub struct Engine {
    store: Box<dyn Store>,
    protector: std::sync::Arc<Protector>,
    /// What people are shown, per role and data class.
    view: warden_privacy::ViewPolicy,
    /// Generative analyzers by provider name.
    providers: BTreeMap<String, std::sync::Arc<dyn warden_analyze::llm::Provider>>,
    screen: warden_analyze::injection::Screen,
    analyzer: Box<dyn Analyzer>,
    workflows: Vec<workflow::Workflow>,
    config: Config,
    /// One triage at a time checks for duplicates and commits, so two
    /// requests carrying the same alert cannot both analyse it.
    write: Mutex<()>,
    audit: audit::AuditState,
    /// Version of the configuration, stamped on every audit entry.
    policy_version: String,
    /// When each alert's current burst of duplicates began (see [`Engine::first_of_burst`]).
    bursts: Mutex<std::collections::HashMap<AlertId, std::time::Instant>>,
    /// What each workflow spent on its model, against its budget.
    workflow_spend: Mutex<BTreeMap<String, warden_analyze::llm::Spend>>,
    /// Signs chat approval links (see `chat.rs`); derived from the master key.
    link_key: [u8; 32],
}

/// Repeats of an alert within this long of the first recorded one are
/// counted on the alert without another audit entry.
pub const DUPLICATE_BURST: std::time::Duration = std::time::Duration::from_secs(3600);

/// Fewest new alerts per core before a batch is shared among cores (below it
/// starting a thread costs more than it saves).
const PER_THREAD: usize = 8;

/// An alert whose processing failed: its origin, the reason, its fields.
type Failed = (Origin, String, Vec<u8>);

/// An alert's first steps, done ahead: see [`Engine::prepare`].
struct Prepared {
    accepted: AuditRecord,
    injection: Vec<String>,
    protected: warden_privacy::ProtectedAlert,
}

impl Engine {
    /// Opens the store (`[store] url` when set, else the SQLite file in
    /// `data_dir`, created if needed) with the local
    /// analyzer, the audit signing key (`<data>/keys/audit-signing.key` unless
    /// configured) and the checkpoint directory (`<data>/checkpoints`).
    pub fn open(data_dir: &Path, config: Config) -> Result<Engine, EngineError> {
        std::fs::create_dir_all(data_dir).map_err(|source| EngineError::DataDir { path: data_dir.into(), source })?;
        let store: Box<dyn Store> = match config
            .store
            .postgres_url()
            .map_err(|e| EngineError::Store(warden_store::StoreError::Open { path: "[store]".into(), reason: e }))?
        {
            Some(url) => {
                let tls = match config.store.tls {
                    true => warden_store::PgTls::Verify { ca_file: config.store.ca_file.clone() },
                    false => warden_store::PgTls::Off,
                };
                Box::new(warden_store::PostgresStore::connect(&url, config.store.schema.as_deref(), &tls)?)
            }
            None => Box::new(SqliteStore::open(&data_dir.join(DB_FILE))?),
        };
        let key = config.audit.signing_key.clone().unwrap_or_else(|| data_dir.join("keys").join("audit-signing.key"));
        let dir = config.audit.checkpoint_dir.clone().unwrap_or_else(|| data_dir.join("checkpoints"));
        let (state, created) = audit::AuditState::open(Some(key), Some(dir))?;
        let master = privacy::master_key(&config, Some(data_dir))?;
        let protector = privacy::protector(&config, master)?;
        let engine = Self::build(store, config, state, protector, chat::link_key(&master));
        // The imported Sigma rule set, if any.
        engine.activate_rules()?;
        // The classifier that last passed the gate is the active one.
        if let Some(body) = engine.store().active_model()?
            && let Ok(m) = serde_json::from_value(body)
        {
            engine.activate_model(Some(std::sync::Arc::new(m)));
        }
        let mut records = Vec::new();
        if created {
            records.push(AuditRecord::new(
                service("audit"),
                "audit.key_created",
                "audit-key",
                serde_json::json!({"key": engine.audit.verifier().label()}),
            ));
        }
        // A workflow's new model or prompt is activated only after a passed (or overridden) replay.
        records.extend(engine.activate_analyzers()?);
        // A configuration in force for the first time is a policy change worth recording.
        let len = engine.store().audit_len()?;
        let previous = match engine.store().audit_entries(len.max(1), 1)?.pop() {
            Some(e) if e.seq == len => Some(e.policy),
            _ => None,
        };
        if previous.as_deref() != Some(engine.policy_version()) {
            records.push(AuditRecord::new(
                service("engine"),
                "policy.activated",
                engine.policy_version(),
                serde_json::json!({
                    "policy": engine.policy_version(),
                    "previous": previous,
                    "confidence_threshold": engine.config.govern.confidence_threshold,
                }),
            ));
        }
        if !records.is_empty() {
            engine.append_audit(records)?;
        }
        Ok(engine)
    }

    /// An engine over an in-memory store (tests, benchmarks): an ephemeral
    /// signing key and no checkpoint directory.
    pub fn in_memory(config: Config) -> Result<Engine, EngineError> {
        let (state, _) = audit::AuditState::open(None, None)?;
        let master = privacy::master_key(&config, None)?;
        let protector = privacy::protector(&config, master)?;
        Ok(Self::build(Box::new(SqliteStore::in_memory()?), config, state, protector, chat::link_key(&master)))
    }

    fn build(
        store: Box<dyn Store>,
        config: Config,
        audit: audit::AuditState,
        protector: Protector,
        link_key: [u8; 32],
    ) -> Engine {
        let protector = std::sync::Arc::new(protector);
        let providers = privacy::llm_providers(&config, &protector);
        let policy_version = {
            let bytes = serde_json::to_vec(&config).unwrap_or_default();
            format!("cfg-{}", &sha256_hex(&[&bytes])[..12])
        };
        Engine {
            store,
            view: config.privacy.view_policy().unwrap_or_default(),
            protector,
            providers,
            screen: warden_analyze::injection::Screen::new(),
            analyzer: Box::new(LocalAnalyzer::new()),
            workflows: workflow::Workflow::all(&config),
            config,
            link_key,
            write: Mutex::new(()),
            audit,
            policy_version,
            bursts: Mutex::new(std::collections::HashMap::new()),
            workflow_spend: Mutex::new(BTreeMap::new()),
        }
    }

    /// The configured workflows, then the default.
    pub fn workflows(&self) -> &[workflow::Workflow] {
        &self.workflows
    }

    /// Whether a workflow is in burn-in; the first time it is seen, its
    /// burn-in start is recorded (and audited).
    pub fn burn_in(&self, wf: &workflow::Workflow) -> Result<bool, EngineError> {
        let (burn_in, start) = self.burn_in_or_start(wf)?;
        if let Some((started, record)) = start {
            self.store.start_workflow(&wf.name, started, vec![record], &self.policy_version)?;
        }
        Ok(burn_in)
    }

    /// Whether a workflow is in burn-in and, the first time it is seen, the
    /// start to record with its audit record (a batch writes them with itself).
    fn burn_in_or_start(
        &self,
        wf: &workflow::Workflow,
    ) -> Result<(bool, Option<(Timestamp, AuditRecord)>), EngineError> {
        if let Some((_, exited)) = self.store.workflow_state(&wf.name)? {
            return Ok((exited.is_none(), None));
        }
        let start = match wf.burn_in_start {
            Some(d) => {
                d.to_zoned(jiff::tz::TimeZone::UTC).map_err(|e| EngineError::Invalid(e.to_string()))?.timestamp()
            }
            None => Timestamp::now(),
        };
        let record = AuditRecord::new(
            service("govern"),
            "workflow.burn_in_started",
            wf.name.as_str(),
            serde_json::json!({"started": start.to_string(), "days": wf.burn_in_days}),
        );
        Ok((true, Some((start, record))))
    }

    /// Version of the configuration in force (recorded in every audit entry).
    pub fn policy_version(&self) -> &str {
        &self.policy_version
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs one input through the whole pipeline and ends attested: a
    /// signed checkpoint covers what it wrote. `source` names it in origins
    /// (a file name, `-`, `http`); `format` forces a format.
    pub fn triage(
        &self,
        input: &[u8],
        source: &str,
        format: Option<Format>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, EngineError> {
        let summary = self.triage_input(input, source, format, on_event)?;
        self.attest()?;
        Ok(summary)
    }

    /// Whether a duplicate of `id` starts a new burst (none recorded in the
    /// last [`DUPLICATE_BURST`]): only those get an audit entry, so a flood of
    /// repeats costs the log one entry per alert per burst, not one per copy.
    fn first_of_burst(&self, id: &AlertId) -> bool {
        let now = std::time::Instant::now();
        let mut bursts = self.bursts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = bursts.get(id)
            && now.duration_since(*at) < DUPLICATE_BURST
        {
            return false;
        }
        if bursts.len() >= 100_000 {
            bursts.retain(|_, at| now.duration_since(*at) < DUPLICATE_BURST);
            if bursts.len() >= 100_000 {
                bursts.clear();
            }
        }
        bursts.insert(id.clone(), now);
        true
    }

    /// Signs a checkpoint of the log now if anything was written since the last one.
    pub fn attest(&self) -> Result<(), EngineError> {
        self.maybe_checkpoint(true)?;
        Ok(())
    }

    /// [`Engine::triage`] without the closing checkpoint, for a caller that
    /// runs many inputs as one job and calls [`Engine::attest`] once at the
    /// end (checkpoints still come every `audit.checkpoint_every` entries).
    pub fn triage_input(
        &self,
        input: &[u8],
        source: &str,
        format: Option<Format>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, EngineError> {
        self.triage_inputs(&[Input::whole(input, source)], format, on_event)
    }

    /// [`Engine::triage_input`] that stops before the next batch once `stop`
    /// says so (a request's time is up, its client went away): every record
    /// reported was committed, nothing after it was processed, and
    /// [`Summary::interrupted`] says it stopped. Work never outlives the
    /// request that asked for it.
    pub fn triage_input_until(
        &self,
        input: &[u8],
        source: &str,
        format: Option<Format>,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, EngineError> {
        self.triage_inputs_until(&[Input::whole(input, source)], format, stop, on_event)
    }

    /// Keeps input that was refused before it could be read (a request body
    /// over the size limit, say) in the dead-letter store, audited, with its
    /// reason and the bytes kept of it; returns the dead letter's id.
    pub fn reject_input(&self, source: &str, reason: String, raw: Vec<u8>) -> Result<String, EngineError> {
        let diag = warden_ingest::Diagnostic {
            origin: warden_core::Origin { file: source.to_owned(), location: warden_core::Location::Whole(true) },
            reason,
            raw,
        };
        let mut id = String::new();
        self.run_batch(vec![Parsed::Rejected(diag)], &mut Summary::default(), &mut |e| {
            if let Event::Rejected(d) = e {
                id = d.id;
            }
        })?;
        Ok(id)
    }

    /// A Splunk-HEC body (concatenated `{"event": …}` objects): each event
    /// triaged, every object that is not one dead-lettered with its reason,
    /// the good records of a mixed body kept. Like [`Engine::triage_input`],
    /// it leaves the closing checkpoint to the caller ([`Engine::attest`]).
    /// It stops between batches once `stop` says so, as [`Engine::triage_input_until`].
    pub fn triage_hec(
        &self,
        body: &[u8],
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, EngineError> {
        let items = warden_ingest::read_hec(body, &self.config.ingest_options(Timestamp::now()));
        let mut summary = Summary::default();
        let batch_size = self.config.pipeline.batch_size.max(1);
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            if stop() {
                summary.interrupted = true;
                break;
            }
            let batch: Vec<Parsed> = items.by_ref().take(batch_size).collect();
            self.run_batch(batch, &mut summary, on_event)?;
            self.maybe_checkpoint(false)?;
        }
        Ok(summary)
    }

    /// Reads an input into records without running the pipeline: what a
    /// node that publishes to the ingest stream sends on (`format` forces one).
    pub fn parse_input(&self, input: &[u8], source: &str, format: Option<Format>) -> Vec<Parsed> {
        let mut opts = self.config.ingest_options(Timestamp::now());
        opts.format = format;
        warden_ingest::read(input, source, &opts).collect()
    }

    /// A Splunk-HEC body read into records, as [`Engine::parse_input`].
    pub fn parse_hec(&self, body: &[u8]) -> Vec<Parsed> {
        warden_ingest::read_hec(body, &self.config.ingest_options(Timestamp::now()))
    }

    /// Runs records taken from the ingest stream through the pipeline, in
    /// batches of `pipeline.batch_size`, each committed before the next.
    /// A record marked redelivered whose alert is stored already is dropped
    /// unseen: the delivery that stored it committed, so it is neither
    /// analysed nor audited again (nor counted as a duplicate). Returns the
    /// summary and how many were dropped so.
    pub fn triage_parsed(
        &self,
        items: Vec<(Parsed, bool)>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(Summary, u64), EngineError> {
        let redelivered: Vec<&warden_core::Fingerprint> = items
            .iter()
            .filter_map(|(p, again)| match p {
                Parsed::Alert(a) if *again => Some(&a.fingerprint),
                _ => None,
            })
            .collect();
        let known = if redelivered.is_empty() { BTreeMap::new() } else { self.store.known(&redelivered)? };
        let mut dropped = 0;
        let keep: Vec<Parsed> = items
            .into_iter()
            .filter(|(p, again)| {
                let stored = *again && matches!(p, Parsed::Alert(a) if known.contains_key(&a.fingerprint));
                dropped += u64::from(stored);
                !stored
            })
            .map(|(p, _)| p)
            .collect();
        let mut summary = Summary::default();
        let batch_size = self.config.pipeline.batch_size.max(1);
        let mut keep = keep.into_iter().peekable();
        while keep.peek().is_some() {
            self.run_batch(keep.by_ref().take(batch_size).collect(), &mut summary, on_event)?;
            self.maybe_checkpoint(false)?;
        }
        Ok((summary, dropped))
    }

    /// Several inputs as one stream: batches run across input boundaries, so
    /// many small files (EVTX captures, say) cost a transaction per
    /// `pipeline.batch_size` records rather than one each. Progress counts
    /// bytes over all the inputs.
    pub fn triage_inputs(
        &self,
        inputs: &[Input<'_>],
        format: Option<Format>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, EngineError> {
        self.triage_inputs_until(inputs, format, &|| false, on_event)
    }

    fn triage_inputs_until(
        &self,
        inputs: &[Input<'_>],
        format: Option<Format>,
        stop: &dyn Fn() -> bool,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Summary, EngineError> {
        let mut opts = self.config.ingest_options(Timestamp::now());
        opts.format = format;
        let mut summary = Summary::default();
        let batch_size = self.config.pipeline.batch_size.max(1);
        let total: usize = inputs.iter().map(|i| i.bytes.len()).sum();
        let mut done_before = 0;
        let mut pending: Vec<Parsed> = Vec::with_capacity(batch_size);
        for input in inputs {
            let mut reader = warden_ingest::read_at(input.bytes, input.source, &opts, input.start);
            loop {
                let room = batch_size - pending.len();
                let before = pending.len();
                pending.extend(reader.by_ref().take(room));
                if pending.len() - before < room {
                    break;
                }
                if stop() {
                    summary.interrupted = true;
                    return Ok(summary);
                }
                self.run_batch(std::mem::take(&mut pending), &mut summary, on_event)?;
                self.maybe_checkpoint(false)?;
                on_event(Event::Progress { done: done_before + reader.position(), total });
            }
            done_before += reader.total();
        }
        if !pending.is_empty() {
            if stop() {
                summary.interrupted = true;
                return Ok(summary);
            }
            self.run_batch(pending, &mut summary, on_event)?;
            self.maybe_checkpoint(false)?;
        }
        on_event(Event::Progress { done: total, total });
        Ok(summary)
    }

    fn run_batch(
        &self,
        items: Vec<Parsed>,
        summary: &mut Summary,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), EngineError> {
        // What depends on each alert alone is done before taking the write
        // lock, on every core, so concurrent requests overlap there.
        let mut ahead = self.prepare_ahead(&items)?.into_iter();
        let _guard = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let known = self.known(&items)?;
        // Workflow state is read once per batch: burn-in, stop switches.
        let switches = self.store.switches()?;
        let global_stop = switches.iter().any(|s| s.scope == actions::GLOBAL && s.engaged);
        let mut states: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        // The active calibration maps, read once per batch: one per analyzer (and model).
        let mut calibrations: BTreeMap<String, (String, warden_analyze::calibration::CalibrationMap)> = BTreeMap::new();
        let infos = std::iter::once(self.analyzer.info()).chain(self.providers.values().map(|p| p.info()));
        for info in infos {
            let key = calibration_key(&info);
            if let Some((v, body)) = self.store.active_calibration(&key)?
                && let Ok(map) = serde_json::from_value(body)
            {
                calibrations.insert(key, (v, map));
            }
        }
        // Analyst-decided alerts for few-shot prompts, loaded once per batch if a provider wants them.
        let examples: std::cell::OnceCell<Vec<FewShot>> = std::cell::OnceCell::new();
        // Analysts' verdicts per detection, loaded once per batch if precedents are on.
        let precedents: std::cell::OnceCell<calls::Precedents> = std::cell::OnceCell::new();
        let mut seen = HashSet::new();
        let mut batch = Batch { policy: self.policy_version.clone(), ..Batch::default() };
        // What to report once the batch is durable, in input order.
        enum Pending {
            /// The next alert to process.
            Work,
            New(Box<TriageResult>),
            Duplicate(AlertId, Origin),
            Rejected(usize),
        }
        /// Keeps a record that cannot go on in the dead-letter store, audited.
        fn reject(batch: &mut Batch, pending: &mut Vec<Pending>, origin: Origin, reason: String, raw: Vec<u8>) {
            let id = format!(
                "dl-{}",
                &sha256_hex(&[origin.to_string().as_bytes(), b"\0", reason.as_bytes(), b"\0", &raw])[..20]
            );
            batch.audit.push(AuditRecord::new(
                service("ingest"),
                "ingest.rejected",
                id.as_str(),
                serde_json::json!({
                    "origin": origin.to_string(),
                    "reason": reason,
                    "bytes": raw.len(),
                    "sha256": sha256_hex(&[&raw]),
                }),
            ));
            pending.push(Pending::Rejected(batch.dead_letters.len()));
            batch.dead_letters.push(DeadLetter { id, received_at: Timestamp::now(), origin, reason, raw });
        }
        let mut pending = Vec::with_capacity(items.len());
        let mut work = Vec::with_capacity(items.len());
        for item in items {
            let early = ahead.next().flatten();
            match item {
                Parsed::Alert(alert) => {
                    let existing = known.get(&alert.fingerprint).cloned();
                    if existing.is_some() || !seen.insert(alert.fingerprint.clone()) {
                        let id = existing.unwrap_or_else(|| alert.id.clone());
                        // One entry per burst of repeats; the alert's count records every one.
                        let audit = self.first_of_burst(&id).then(|| {
                            AuditRecord::new(
                                service("ingest"),
                                "ingest.deduplicated",
                                id.as_str(),
                                serde_json::json!({
                                    "fingerprint": alert.fingerprint.as_str(),
                                    "origin": alert.origin.to_string(),
                                    "burst_secs": DUPLICATE_BURST.as_secs(),
                                }),
                            )
                        });
                        batch.duplicates.push(Duplicate { alert_id: id.clone(), audit });
                        pending.push(Pending::Duplicate(id, alert.origin));
                        continue;
                    }
                    let wf = workflow::select(&self.workflows, &alert);
                    if !states.contains_key(&wf.name) {
                        let (burn_in, start) = self.burn_in_or_start(wf)?;
                        if let Some((started, record)) = start {
                            // Recorded with the batch, in its transaction.
                            batch.workflows_started.push((wf.name.clone(), started));
                            batch.audit.push(record);
                        }
                        let scope = format!("workflow:{}", wf.name);
                        let stopped = global_stop || switches.iter().any(|s| s.scope == scope && s.engaged);
                        states.insert(wf.name.clone(), (burn_in, stopped));
                    }
                    let (burn_in, stopped) = states[&wf.name];
                    let ctx = warden_govern::RouteContext {
                        confidence_threshold: wf.confidence_threshold,
                        stage: wf.stage,
                        burn_in,
                        stopped,
                        qa_sampled: warden_govern::qa_draw(alert.id.as_str(), wf.qa_sample_rate),
                        telemetry: warden_ingest::is_telemetry(alert.format, &alert.fields),
                    };
                    pending.push(Pending::Work);
                    work.push((alert, wf, ctx, early));
                }
                Parsed::Rejected(d) => reject(&mut batch, &mut pending, d.origin, d.reason, d.raw),
            }
        }
        let done = self.process_all(work, &calibrations, &examples, &precedents);
        // Back in input order: a failure inside one alert's processing (a bug,
        // not bad input) costs only that alert: it is kept in the dead-letter
        // store with its origin and fields, and the batch goes on.
        let mut done = done.into_iter();
        let mut ordered = Vec::with_capacity(pending.len());
        for p in pending {
            match p {
                Pending::Work => match done.next().expect("one outcome per alert") {
                    Ok(triaged) => {
                        ordered.push(Pending::New(Box::new(result_of(&triaged.alert, &triaged, false))));
                        batch.triaged.push(triaged);
                    }
                    Err((origin, reason, raw)) => reject(&mut batch, &mut ordered, origin, reason, raw),
                },
                p => ordered.push(p),
            }
        }
        let pending = ordered;
        let dead = batch.dead_letters.clone();
        // The local analyzer received these classes, raw, on the premises: the register says so.
        let mut seen: BTreeMap<warden_core::DataClass, u64> = BTreeMap::new();
        for t in &batch.triaged {
            for (c, n) in &t.classes {
                *seen.entry(*c).or_insert(0) += *n as u64;
            }
        }
        self.correlate(&mut batch)?;
        // The register counts what the local analyzer saw, in the batch's own transaction.
        batch.processing = seen
            .into_iter()
            .map(|(c, n)| warden_store::ProcessingRow {
                provider: "local".into(),
                residency: "on_prem".into(),
                class: c.as_str().into(),
                handling: "raw".into(),
                fields: n,
                first_seen: None,
                last_seen: None,
            })
            .collect();
        let receipt = self.store.commit(batch)?;
        let raced: BTreeMap<_, _> = receipt.raced_duplicates.into_iter().collect();
        for p in pending {
            match p {
                Pending::New(mut r) => {
                    if let Some(stored_id) = raced.get(&r.alert_id) {
                        let origin = r.origin.clone();
                        self.report_duplicate(stored_id, origin, summary, on_event)?;
                        continue;
                    }
                    summary.stored += 1;
                    *summary.routes.entry(r.route.as_str().to_owned()).or_insert(0) += 1;
                    r.duplicate = false;
                    on_event(Event::Alert(r));
                }
                Pending::Duplicate(id, origin) => self.report_duplicate(&id, origin, summary, on_event)?,
                Pending::Rejected(i) => {
                    summary.rejected += 1;
                    on_event(Event::Rejected(dead[i].clone()));
                }
                Pending::Work => unreachable!("every alert was processed above"),
            }
        }
        Ok(())
    }

    /// The batch's alerts the store holds already, by fingerprint.
    fn known(&self, items: &[Parsed]) -> Result<BTreeMap<warden_core::Fingerprint, AlertId>, EngineError> {
        let fingerprints: Vec<_> = items
            .iter()
            .filter_map(|p| match p {
                Parsed::Alert(a) => Some(&a.fingerprint),
                Parsed::Rejected(_) => None,
            })
            .collect();
        Ok(self.store.known(&fingerprints)?)
    }

    /// [`Engine::prepare`] for every alert of a batch that is not stored
    /// already (as far as the store says before the write lock) and not a
    /// repeat within the batch, on a copy, shared among the cores
    /// (`pipeline.threads`); one slot per item. An alert whose preparation
    /// panicked gets none, and is prepared again (and dead-lettered) in turn.
    fn prepare_ahead(&self, items: &[Parsed]) -> Result<Vec<Option<Prepared>>, EngineError> {
        let known = self.known(items)?;
        let mut seen = HashSet::new();
        let wanted: Vec<Option<&Alert>> = items
            .iter()
            .map(|p| match p {
                Parsed::Alert(a) if !known.contains_key(&a.fingerprint) && seen.insert(&a.fingerprint) => Some(&**a),
                _ => None,
            })
            .collect();
        let one = |a: Option<&Alert>| {
            let a = a?;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.prepare(a.clone()))).ok()
        };
        let cores = match self.config.pipeline.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let threads = cores.min(wanted.iter().flatten().count() / PER_THREAD);
        if threads < 2 {
            return Ok(wanted.into_iter().map(one).collect());
        }
        // Contiguous shares, so the slots join back in order.
        let share = wanted.len().div_ceil(threads);
        Ok(std::thread::scope(|scope| {
            let handles: Vec<_> =
                wanted.chunks(share).map(|s| scope.spawn(|| s.iter().copied().map(&one).collect::<Vec<_>>())).collect();
            handles.into_iter().flat_map(|h| h.join().expect("panics are caught per alert")).collect()
        }))
    }

    /// Runs each new alert of a batch through the rest of the pipeline, in
    /// input order (the local analyzer remembers recent events per host, so
    /// the result must not depend on the core count), from what
    /// [`Engine::prepare_ahead`] made of it (or preparing it now). A panic
    /// costs only its alert: it comes back as the alert's origin, the reason
    /// and its fields, for the dead-letter store.
    #[allow(clippy::type_complexity)]
    fn process_all(
        &self,
        work: Vec<(Box<Alert>, &workflow::Workflow, warden_govern::RouteContext, Option<Prepared>)>,
        calibrations: &BTreeMap<String, (String, warden_analyze::calibration::CalibrationMap)>,
        examples: &std::cell::OnceCell<Vec<FewShot>>,
        precedents: &std::cell::OnceCell<calls::Precedents>,
    ) -> Vec<Result<Triaged, Failed>> {
        fn guarded<T>(alert: &Alert, f: impl FnOnce() -> T) -> Result<T, Failed> {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown failure".into());
                (
                    alert.origin.clone(),
                    format!("internal error while processing this alert: {what}"),
                    serde_json::to_vec(&alert.fields).unwrap_or_default(),
                )
            })
        }
        work.into_iter()
            .map(|(alert, wf, ctx, early)| {
                let prepared = match early {
                    Some(p) => p,
                    None => guarded(&alert, || self.prepare((*alert).clone()))?,
                };
                guarded(&alert, || self.process(prepared, wf, &ctx, calibrations, examples, precedents))
            })
            .collect()
    }

    fn report_duplicate(
        &self,
        id: &AlertId,
        origin: Origin,
        summary: &mut Summary,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), EngineError> {
        summary.duplicates += 1;
        let Some(rec) = self.store.alert(id)? else {
            return Ok(());
        };
        if let (Some(a), Some(v), Some(r)) = (rec.assessment, rec.validation, rec.route) {
            let workflow = self.store.alert_workflow(id.as_str())?.unwrap_or_else(|| workflow::DEFAULT.into());
            let t = Triaged {
                alert: rec.alert,
                classes: BTreeMap::new(),
                assessment: a,
                validation: v,
                route: r,
                workflow,
                audit: vec![],
                entities: vec![],
                if_stored_already: None,
            };
            let mut result = result_of(&t.alert, &t, true);
            result.origin = origin;
            on_event(Event::Alert(Box::new(result)));
        }
        Ok(())
    }

    pub(crate) fn set_rules(&self, rules: Option<(String, std::sync::Arc<Vec<warden_analyze::sigma::Rule>>)>) {
        self.analyzer.set_rules(rules);
    }

    /// Makes a classifier the analyzer's active one.
    pub(crate) fn activate_model(&self, model: Option<std::sync::Arc<warden_analyze::classifier::Classifier>>) {
        self.analyzer.set_model(model);
    }

    pub(crate) fn protector(&self) -> &Protector {
        &self.protector
    }

    /// Failures and rejections per generative provider.
    pub fn provider_counters(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.providers.iter().map(|(k, v)| (k.clone(), v.counters())).collect()
    }

    /// Calls, tokens, cost and latency per generative provider, with its currency.
    pub fn provider_spend(&self) -> BTreeMap<String, (warden_analyze::llm::Spend, String)> {
        self.providers
            .iter()
            .map(|(k, v)| {
                let currency = self.config.providers.get(k).map(|p| p.price.currency.clone()).unwrap_or_default();
                (k.clone(), (v.spend(), currency))
            })
            .collect()
    }

    /// A configured generative analyzer.
    pub fn llm(&self, provider: &str) -> Option<&dyn warden_analyze::llm::Provider> {
        self.providers.get(provider).map(|a| a.as_ref())
    }

    /// The analyzer's name and version.
    pub fn analyzer_info(&self) -> warden_core::AnalyzerInfo {
        self.analyzer.info()
    }

    /// What one alert's processing starts with and depends on nothing but the
    /// alert: its acceptance record, the injection screen and the local
    /// protection. Safe to run for many alerts at once.
    fn prepare(&self, alert: Alert) -> Prepared {
        let accepted = AuditRecord::new(
            service("ingest"),
            "ingest.accepted",
            alert.id.as_str(),
            serde_json::json!({
                "format": alert.format.as_str(),
                "fingerprint": alert.fingerprint.as_str(),
                "origin": alert.origin.to_string(),
                "fields": alert.fields.len(),
            }),
        );
        // Attacker-controlled text that reads like instructions to a model: screened on the original.
        let injection = self.screen.screen(&alert);
        let protected = self.protector.protect(alert, &warden_privacy::ProviderPolicy::local());
        Prepared { accepted, injection, protected }
    }

    /// protect → analyze → validate → govern for one new alert, from what
    /// [`Engine::prepare`] made of it. The local analyzer remembers recent
    /// events per host, so alerts go through here one at a time, in order.
    fn process(
        &self,
        prepared: Prepared,
        wf: &workflow::Workflow,
        ctx: &warden_govern::RouteContext,
        calibrations: &BTreeMap<String, (String, warden_analyze::calibration::CalibrationMap)>,
        examples: &std::cell::OnceCell<Vec<FewShot>>,
        precedents: &std::cell::OnceCell<calls::Precedents>,
    ) -> Triaged {
        let Prepared { accepted, injection, protected } = prepared;
        let mut audit = Vec::with_capacity(5);
        let id = protected.alert().id.clone();
        audit.push(accepted);
        let workflow = wf.name.as_str();
        let classes = protected.class_counts();
        audit.push(AuditRecord::new(
            service("privacy"),
            "protect.classified",
            id.as_str(),
            serde_json::json!({ "classes": classes.iter().map(|(k, v)| (k.as_str(), *v)).collect::<BTreeMap<_, _>>() }),
        ));
        // The local analyzer always runs: it is the default, and the cross-check of any other.
        let local = match self.analyzer.analyze(&protected) {
            Ok(a) => a,
            Err(e) => unavailable(self.analyzer.info(), &e.to_string()),
        };
        // Deterministic first: a detection analysts keep confirming needs no model call.
        let precedent = self.providers.get(&wf.analyzer).and_then(|llm| {
            let p = self.precedent_for(protected.alert(), &local, !injection.is_empty(), ctx, precedents)?;
            llm.note_saved();
            Some(p)
        });
        if let Some((key, confirmed)) = &precedent {
            audit.push(AuditRecord::new(
                service("analyze"),
                "analyze.precedent",
                id.as_str(),
                serde_json::json!({
                    "detection": key, "verdict": local.verdict.as_str(), "confirmations": confirmed,
                    "provider_not_called": wf.analyzer,
                }),
            ));
        }
        let remote = self.providers.get(&wf.analyzer).filter(|_| precedent.is_none()).map(|llm| {
            let policy = self.provider_policy(&wf.analyzer).unwrap_or_else(|_| warden_privacy::ProviderPolicy::local());
            let p = self.protector.protect(protected.alert().clone(), &policy);
            let k = self.config.providers.get(&wf.analyzer).and_then(|c| c.few_shot).unwrap_or(0);
            let examples: Vec<(warden_privacy::ProtectedAlert, serde_json::Value)> = if k == 0 {
                Vec::new()
            } else {
                self.few_shot(protected.alert(), k, examples)
                    .into_iter()
                    .map(|(alert, answer)| (self.protector.protect(alert, &policy), answer))
                    .collect()
            };
            let (result, call) = self.call_within_budget(wf, llm.as_ref(), &p, &examples);
            if let Err(e) = self.record_protection(&[&p], &policy) {
                tracing::error!(error = %e, "the data-processing register could not be updated");
            }
            (llm, p, policy, result, call)
        });
        let mut extra_problems = Vec::new();
        let mut fallback = None;
        let (info, assessment, seen) = match &remote {
            None => (self.analyzer.info(), local.clone(), None),
            Some((llm, _, policy, Err(warden_analyze::AnalyzeError::OverBudget(why)), _)) => {
                // Past a budget: the local analyzer stands in, a person reviews, nothing fails.
                audit.push(AuditRecord::new(
                    service("analyze"),
                    "analyze.over_budget",
                    id.as_str(),
                    serde_json::json!({"provider": policy.name, "why": why, "analyzer": llm.info().name}),
                ));
                fallback = Some(format!("{}: {why}", llm.info().name));
                (self.analyzer.info(), local.clone(), None)
            }
            Some((llm, p, policy, result, _)) => {
                if let Err(warden_analyze::AnalyzeError::Refused(why)) = result {
                    // Refused before any connection: audited, and the alert goes to a human.
                    audit.push(AuditRecord::new(
                        service("privacy"),
                        "privacy.provider_refused",
                        id.as_str(),
                        serde_json::json!({"provider": policy.name, "why": why}),
                    ));
                }
                let a = match result {
                    Ok(a) => a.clone(),
                    Err(e) => {
                        extra_problems.push(format!("{}: {e}", llm.info().name));
                        unavailable(llm.info(), &e.to_string())
                    }
                };
                (llm.info(), a, Some(p))
            }
        };
        let mut assessment = assessment;
        if !injection.is_empty() {
            // Flagged: never less severe than the local analyzer says, and only allow-listed actions.
            assessment.severity = assessment.severity.max(local.severity);
            let allowed = &self.config.govern.injection_allowed_actions;
            assessment.recommended_actions.retain(|a| allowed.contains(a));
        }
        let body = serde_json::to_vec(&assessment).unwrap_or_default();
        // What the analyzer was given, by hash: the protected alert's fields.
        let input = serde_json::to_vec(&seen.unwrap_or(&protected).alert().fields).unwrap_or_default();
        audit.push(AuditRecord::new(
            Actor::Analyzer(format!("{}@{}", info.name, info.version)),
            "analyze.assessed",
            id.as_str(),
            serde_json::json!({
                "verdict": assessment.verdict.as_str(),
                "severity": assessment.severity.as_str(),
                "confidence": assessment.confidence.get(),
                "techniques": assessment.techniques,
                "ruleset": info.ruleset,
                "model": info.model,
                "provider": info.provider,
                "input_sha256": sha256_hex(&[&input]),
                "output_sha256": sha256_hex(&[&body]),
                "tokens_used": remote.as_ref().map(|(llm, ..)| llm.tokens_used()),
                "injection": injection,
            }),
        ));
        // Grounding is checked against exactly what the analyzer saw.
        let mut validation = warden_analyze::validate(&assessment, seen.unwrap_or(&protected));
        validation.problems.extend(extra_problems);
        validation.fallback = fallback;
        validation.injection_suspected = !injection.is_empty();
        validation.problems.extend(injection.iter().cloned());
        if remote.is_some() && assessment.verdict != warden_core::Verdict::Unknown {
            let attack = |v| warden_analyze::metrics::positive(v);
            let parents = |a: &warden_core::Assessment| -> std::collections::BTreeSet<String> {
                a.techniques.iter().map(|t| t.parent().to_string()).collect()
            };
            let (mine, theirs) = (parents(&assessment), parents(&local));
            if attack(assessment.verdict) != attack(local.verdict) {
                validation.disagreement = Some(format!("{} (local analyzer)", local.verdict));
            } else if !mine.is_empty() && !theirs.is_empty() && mine.is_disjoint(&theirs) {
                validation.disagreement = Some(format!("techniques {:?} (local analyzer)", theirs));
            }
        }
        let mut confidence = assessment.confidence.get();
        if let Some((version, map)) = calibrations.get(&calibration_key(&assessment.analyzer)) {
            confidence = map.apply(confidence);
            validation.calibration = Some(version.clone());
        }
        // Ungrounded claims lower confidence in proportion.
        if validation.grounding != warden_core::Grounding::Full && validation.cited > 0 {
            confidence *= validation.grounded as f64 / validation.cited as f64;
        }
        if validation.calibration.is_some() || validation.grounding != warden_core::Grounding::Full {
            validation.calibrated_confidence = Some(confidence);
        }
        audit.push(AuditRecord::new(
            service("validate"),
            "validate.checked",
            id.as_str(),
            serde_json::json!({
                "schema_ok": validation.schema_ok,
                "grounding": validation.grounding.as_str(),
                "grounded": validation.grounded,
                "cited": validation.cited,
                "problems": validation.problems.len(),
                "calibration": validation.calibration,
                "calibrated_confidence": validation.calibrated_confidence,
            }),
        ));
        if let Some((_, _, _, _, Some(call))) = &remote {
            // The ledger of the model call: who was asked, what it cost, what came of it.
            let mut entry = serde_json::to_value(call).unwrap_or_default();
            entry["validation"] = serde_json::json!({
                "schema_ok": validation.schema_ok,
                "grounding": validation.grounding.as_str(),
                "problems": validation.problems.len(),
                "injection_suspected": validation.injection_suspected,
            });
            audit.push(AuditRecord::new(service("analyze"), "llm.call", id.as_str(), entry));
        }
        let route = warden_govern::route(ctx, &assessment, &validation);
        audit.push(AuditRecord::new(
            service("govern"),
            "govern.routed",
            id.as_str(),
            serde_json::json!({
                "route": route.kind.as_str(),
                "reasons": route.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
                "workflow": workflow,
                "stage": ctx.stage,
                "burn_in": ctx.burn_in,
                "confidence_threshold": ctx.confidence_threshold,
            }),
        ));
        let alert = protected.into_alert();
        // Another node may store the same alert first: then it is a repeat, recorded as one.
        let if_stored_already = Some(AuditRecord::new(
            service("ingest"),
            "ingest.deduplicated",
            alert.id.as_str(),
            serde_json::json!({
                "fingerprint": alert.fingerprint.as_str(),
                "origin": alert.origin.to_string(),
                "stored_by_another_writer": true,
            }),
        ));
        Triaged {
            if_stored_already,
            entities: incidents::entities(&alert),
            alert,
            classes,
            assessment,
            validation,
            route,
            workflow: workflow.to_owned(),
            audit,
        }
    }
}

/// An analyst-decided alert usable as a few-shot example: its features, the
/// alert, and the answer its decision implies.
pub(crate) type FewShot = (std::collections::BTreeSet<u32>, Alert, serde_json::Value);

impl Engine {
    /// Up to `k` decided alerts most like `alert` (Jaccard similarity of
    /// their tokens, at least 0.2), with the answers analysts gave.
    fn few_shot(
        &self,
        alert: &Alert,
        k: usize,
        pool: &std::cell::OnceCell<Vec<FewShot>>,
    ) -> Vec<(Alert, serde_json::Value)> {
        let pool = pool.get_or_init(|| {
            let mut out = Vec::new();
            for f in self.store.feedback(None).unwrap_or_default().into_iter().rev().take(2000) {
                let Ok(d) = serde_json::from_value::<review::Decision>(f.decision) else { continue };
                let Some(id) = AlertId::parse(&f.alert_id) else { continue };
                let Ok(Some(rec)) = self.store.alert(&id) else { continue };
                let feats = warden_analyze::classifier::features(&rec.alert).into_iter().map(|(i, _)| i).collect();
                let answer = serde_json::json!({
                    "verdict": d.verdict.as_str(),
                    "severity": f.assessment.severity.as_str(),
                    "confidence": 0.9,
                    "techniques": d.techniques,
                    "summary": "Verdict confirmed by an analyst.",
                    "evidence": [],
                    "recommended_actions": [],
                });
                out.push((feats, rec.alert, answer));
            }
            out
        });
        let mine: std::collections::BTreeSet<u32> =
            warden_analyze::classifier::features(alert).into_iter().map(|(i, _)| i).collect();
        let mut scored: Vec<(f64, &FewShot)> = pool
            .iter()
            .filter(|(_, a, _)| a.id != alert.id)
            .map(|ex| {
                let inter = ex.0.intersection(&mine).count() as f64;
                let union = ex.0.union(&mine).count().max(1) as f64;
                (inter / union, ex)
            })
            .filter(|(s, _)| *s >= 0.2)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(k).map(|(_, (_, a, ans))| (a.clone(), ans.clone())).collect()
    }
}

/// Which calibration map applies to an analyzer's output: per analyzer
/// version, and for generative providers per model too.
pub(crate) fn calibration_key(a: &warden_core::AnalyzerInfo) -> String {
    match &a.model {
        Some(m) if a.name.starts_with("llm:") => format!("{}@{}+{m}", a.name, a.version),
        _ => format!("{}@{}", a.name, a.version),
    }
}

pub(crate) fn service(name: &str) -> Actor {
    Actor::Service(name.to_owned())
}

/// An honest assessment for when the analyzer could not run.
fn unavailable(analyzer: warden_core::AnalyzerInfo, why: &str) -> warden_core::Assessment {
    warden_core::Assessment {
        verdict: warden_core::Verdict::Unknown,
        severity: warden_core::Severity::Info,
        confidence: warden_core::Confidence::saturating(0.0),
        techniques: vec![],
        summary: format!("The analyzer could not assess this alert: {why}"),
        evidence: vec![],
        recommended_actions: vec![],
        analyzer,
    }
}

fn result_of(alert: &Alert, t: &Triaged, duplicate: bool) -> TriageResult {
    TriageResult {
        alert_id: alert.id.clone(),
        format: alert.format,
        verdict: t.assessment.verdict,
        // What routing used: calibrated when a map was applied.
        confidence: (t.validation.calibrated_confidence.unwrap_or(t.assessment.confidence.get()) * 1000.0).round()
            / 1000.0,
        severity: t.assessment.severity,
        techniques: t.assessment.techniques.iter().map(|t| t.to_string()).collect(),
        route: t.route.kind,
        reasons: t.route.reasons.iter().map(|r| format!("{}: {}", r.code, r.detail)).collect(),
        origin: alert.origin.clone(),
        workflow: t.workflow.clone(),
        duplicate,
        summary: t.assessment.summary.clone(),
    }
}

/// SHA-256 helpers without exposing a hashing crate in the engine's API.
mod sha2_free {
    pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        warden_ingest::hex(&h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An analyzer with a bug that shows on one kind of alert.
    struct Buggy(LocalAnalyzer);

    impl Analyzer for Buggy {
        fn info(&self) -> warden_core::AnalyzerInfo {
            self.0.info()
        }
        fn analyze(
            &self,
            alert: &warden_analyze::ProtectedAlert,
        ) -> Result<warden_core::Assessment, warden_analyze::AnalyzeError> {
            if warden_core::Fields::iter(alert.alert()).any(|(_, v)| v.to_string() == "boom") {
                panic!("index out of bounds in a detection");
            }
            self.0.analyze(alert)
        }
    }

    #[test]
    fn a_failure_inside_one_alert_costs_only_that_alert() {
        let mut engine = Engine::in_memory(Config::default()).unwrap();
        engine.analyzer = Box::new(Buggy(LocalAnalyzer::new()));
        let input = b"{\"message\":\"one\"}\n{\"message\":\"boom\"}\n{\"message\":\"three\"}\n";
        let (mut alerts, mut rejected) = (Vec::new(), Vec::new());
        let summary = engine
            .triage(input, "t.ndjson", None, &mut |e| match e {
                Event::Alert(r) => alerts.push(r.origin.to_string()),
                Event::Rejected(d) => rejected.push((d.origin.to_string(), d.reason)),
                Event::Progress { .. } => {}
            })
            .expect("the run goes on");
        assert_eq!(alerts, ["t.ndjson:1", "t.ndjson:3"]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].0, "t.ndjson:2");
        assert!(
            rejected[0].1.contains("internal error") && rejected[0].1.contains("index out of bounds"),
            "{rejected:?}"
        );
        assert_eq!((summary.stored, summary.rejected), (2, 1));
        let dead = engine.store().dead_letters(10).unwrap();
        assert_eq!(dead.len(), 1);
        assert!(String::from_utf8_lossy(&dead[0].raw).contains("boom"));
        assert!(engine.verify_audit_log(None).unwrap().is_ok());
    }

    /// The same when the batch is prepared on two cores first: the failing
    /// alert alone is dead-lettered, the others keep their input order.
    #[test]
    fn a_failure_costs_only_its_alert_when_the_batch_is_shared_among_cores() {
        let config = Config::parse("[pipeline]\nthreads = 2\n", "t", Vec::new()).unwrap();
        let mut engine = Engine::in_memory(config).unwrap();
        engine.analyzer = Box::new(Buggy(LocalAnalyzer::new()));
        let mut input = String::new();
        for i in 1..=40 {
            let message = if i == 20 { "boom".to_owned() } else { format!("message {i}") };
            input.push_str(&serde_json::json!({ "message": message }).to_string());
            input.push('\n');
        }
        let (mut alerts, mut rejected) = (Vec::new(), Vec::new());
        engine
            .triage(input.as_bytes(), "t.ndjson", None, &mut |e| match e {
                Event::Alert(r) => alerts.push(r.origin.to_string()),
                Event::Rejected(d) => rejected.push(d.origin.to_string()),
                Event::Progress { .. } => {}
            })
            .expect("the run goes on");
        let expected: Vec<String> = (1..=40).filter(|i| *i != 20).map(|i| format!("t.ndjson:{i}")).collect();
        assert_eq!(alerts, expected);
        assert_eq!(rejected, ["t.ndjson:20"]);
        assert!(engine.verify_audit_log(None).unwrap().is_ok());
    }
}
