//! The engine's side of the tamper-evident log: the signing key (a file
//! outside the database), signed checkpoints written to a directory that can
//! be shipped elsewhere, verification, proofs, evidence bundles and
//! retention.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use jiff::Timestamp;
use serde::Serialize;
use warden_audit::merkle::{self, Hash};
use warden_audit::{Checkpoint, Frontier, LogItem, NoteSigner, NoteVerifier, Report, VerifyError, b64, entry_bytes};
use warden_core::{Actor, AlertId, AuditEntry, AuditRecord};

use crate::{Engine, EngineError, StoreError};

const KEY_NAME: &str = "warden-audit";
const PAGE: usize = 5_000;

/// Key, checkpoint directory and the running Merkle frontier.
pub(crate) struct AuditState {
    signer: Mutex<NoteSigner>,
    /// Retired public keys, still trusted for the checkpoints they signed.
    retired: Mutex<Vec<NoteVerifier>>,
    key_path: Option<PathBuf>,
    pub(crate) checkpoint_dir: Option<PathBuf>,
    /// Leaves of the log seen so far, the last entry's hash, and whether that
    /// state was checked against the store (a frontier resumed from its file
    /// is checked once, on first use).
    tree: Mutex<(Frontier, String, bool)>,
    /// Size of the newest checkpoint written, and when.
    last: Mutex<(u64, Instant)>,
}

/// An inclusion proof in the transparency-dev test-vector layout, with the
/// entry and the signed checkpoint it verifies against.
#[derive(Debug, Serialize)]
pub struct InclusionDoc {
    pub entry: Option<AuditEntry>,
    /// The exact bytes the leaf hash covers (canonical JSON text), when the
    /// entry's content is kept: hash these, not a re-serialisation of `entry`.
    #[serde(rename = "entryBytes", skip_serializing_if = "Option::is_none")]
    pub entry_bytes: Option<String>,
    #[serde(rename = "leafIdx")]
    pub leaf_idx: u64,
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
    #[serde(rename = "leafHash")]
    pub leaf_hash: String,
    pub proof: Vec<String>,
    pub root: String,
    pub checkpoint: String,
    pub public_key: String,
}

/// A consistency proof between two tree sizes, in the test-vector layout.
#[derive(Debug, Serialize)]
pub struct ConsistencyDoc {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub proof: Vec<String>,
    /// Signed checkpoints at either size, when they exist.
    pub checkpoints: Vec<String>,
    pub public_key: String,
}

/// Why an audit operation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("audit key: {0}")]
    Key(String),
    #[error("{0}")]
    Invalid(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("the log is damaged: {0}")]
    Damaged(VerifyError),
}

impl From<StoreError> for AuditError {
    fn from(e: StoreError) -> Self {
        AuditError::Engine(EngineError::Store(e))
    }
}

fn io(path: &Path, e: std::io::Error) -> AuditError {
    AuditError::Key(format!("{}: {e}", path.display()))
}

fn random_seed() -> Result<[u8; 32], AuditError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AuditError::Key(format!("no randomness for a key: {e}")))?;
    Ok(seed)
}

/// A temporary name beside `path` that no other writer — thread or
/// process — uses at the same time, so concurrent atomic writes of the same
/// file cannot rename each other's half-written text.
fn tmp_path(path: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Writes a file readable by its owner only, atomically.
fn write_private(path: &Path, text: &str) -> Result<(), AuditError> {
    let tmp = tmp_path(path);
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(text.as_bytes()).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn write_public(path: &Path, text: &str) -> Result<(), AuditError> {
    let tmp = tmp_path(path);
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn pub_path(key: &Path) -> PathBuf {
    key.with_extension("pub")
}

impl AuditState {
    /// Loads the signing key (creating it on first use) and retired keys.
    /// Returns the state and whether a key was created.
    pub(crate) fn open(key_path: Option<PathBuf>, checkpoint_dir: Option<PathBuf>) -> Result<(Self, bool), AuditError> {
        let mut created = false;
        let mut retired = Vec::new();
        let signer = match &key_path {
            None => NoteSigner::from_seed(KEY_NAME, random_seed()?).map_err(|e| AuditError::Key(e.to_string()))?,
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                    let retired_dir = dir.join("retired");
                    if let Ok(rd) = std::fs::read_dir(&retired_dir) {
                        for f in rd.flatten() {
                            let text = std::fs::read_to_string(f.path()).map_err(|e| io(&f.path(), e))?;
                            retired.push(
                                NoteVerifier::from_text(&text)
                                    .map_err(|e| AuditError::Key(format!("{}: {e}", f.path().display())))?,
                            );
                        }
                    }
                }
                match std::fs::read_to_string(path) {
                    Ok(text) => {
                        NoteSigner::from_text(&text).map_err(|e| AuditError::Key(format!("{}: {e}", path.display())))?
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        let s = NoteSigner::from_seed(KEY_NAME, random_seed()?)
                            .map_err(|e| AuditError::Key(e.to_string()))?;
                        write_private(path, &s.to_text())?;
                        created = true;
                        s
                    }
                    Err(e) => return Err(io(path, e)),
                }
            }
        };
        if let Some(path) = &key_path {
            write_public(&pub_path(path), &format!("{}\n", signer.verifier().to_text()))?;
        }
        if let Some(dir) = &checkpoint_dir {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        let last_size = match &checkpoint_dir {
            Some(dir) => list_checkpoints(dir)?.last().map_or(0, |(size, _)| *size),
            None => 0,
        };
        let tree = resume_frontier(checkpoint_dir.as_deref());
        Ok((
            AuditState {
                signer: Mutex::new(signer),
                retired: Mutex::new(retired),
                key_path,
                checkpoint_dir,
                tree: Mutex::new(tree),
                last: Mutex::new((last_size, Instant::now())),
            },
            created,
        ))
    }

    pub(crate) fn verifier(&self) -> NoteVerifier {
        self.signer.lock().unwrap_or_else(|p| p.into_inner()).verifier()
    }

    fn trusted(&self) -> Vec<NoteVerifier> {
        let mut v = self.retired.lock().unwrap_or_else(|p| p.into_inner()).clone();
        v.push(self.verifier());
        v
    }
}

/// Where the running frontier is kept between runs, beside the checkpoints.
const FRONTIER_FILE: &str = ".frontier";

/// The frontier a previous run left (checked against the store on first
/// use), or an empty one.
fn resume_frontier(dir: Option<&Path>) -> (Frontier, String, bool) {
    let empty = || (Frontier::new(), warden_audit::GENESIS.to_owned(), true);
    let Some(dir) = dir else { return empty() };
    let Ok(text) = std::fs::read_to_string(dir.join(FRONTIER_FILE)) else { return empty() };
    let Some((last, frontier)) = text.split_once('\n') else { return empty() };
    match Frontier::from_text(frontier) {
        Some(f) if f.size() > 0 => (f, last.trim().to_owned(), false),
        _ => empty(),
    }
}

/// Checkpoint files in a directory, by tree size.
fn list_checkpoints(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir, e)),
    };
    for f in rd.flatten() {
        let path = f.path();
        if path.extension().is_some_and(|e| e == "checkpoint")
            && let Some(size) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok())
        {
            out.push((size, path));
        }
    }
    out.sort();
    Ok(out)
}

impl Engine {
    fn audit_state(&self) -> &AuditState {
        &self.audit
    }

    /// The public key that verifies this log's checkpoints, in signed-note form.
    pub fn audit_public_key(&self) -> String {
        self.audit.verifier().to_text()
    }

    /// Brings the running frontier up to the end of the log, checking the
    /// chain as it goes: a damaged log is never signed.
    fn sync_tree(&self) -> Result<(u64, Hash), AuditError> {
        let mut guard = self.audit_state().tree.lock().unwrap_or_else(|p| p.into_inner());
        let (frontier, last_hash, checked) = &mut *guard;
        if !*checked {
            // A resumed frontier must end where the stored log has that entry;
            // otherwise it is rebuilt from the first entry.
            let holds = match self.store().audit_leaves(frontier.size(), 1) {
                Ok(page) => page.first().is_some_and(|(seq, _, hash, _)| *seq == frontier.size() && hash == last_hash),
                Err(_) => false,
            };
            if !holds {
                tracing::warn!("the saved audit frontier does not match the log; rebuilding it from the first entry");
                *frontier = Frontier::new();
                *last_hash = warden_audit::GENESIS.to_owned();
            }
            *checked = true;
        }
        loop {
            let page = match self.store().audit_leaves(frontier.size() + 1, PAGE) {
                Ok(p) => p,
                Err(StoreError::CorruptAudit { seq, what }) => {
                    return Err(AuditError::Damaged(VerifyError { seq: Some(seq), what }));
                }
                Err(e) => return Err(e.into()),
            };
            if page.is_empty() {
                break;
            }
            for (seq, prev, hash, leaf) in page {
                if seq != frontier.size() + 1 || prev != *last_hash {
                    return Err(AuditError::Damaged(VerifyError {
                        seq: Some(frontier.size() + 1),
                        what: "the chain is broken here".into(),
                    }));
                }
                frontier.push(leaf);
                *last_hash = hash;
            }
        }
        Ok((frontier.size(), frontier.root()))
    }

    /// Signs and writes a checkpoint of the whole log now. Returns its path,
    /// or None when the engine has no checkpoint directory or the log is empty.
    pub fn write_checkpoint(&self) -> Result<Option<PathBuf>, AuditError> {
        let Some(dir) = self.audit_state().checkpoint_dir.clone() else { return Ok(None) };
        // One checkpoint writer at a time: requests that find a checkpoint due
        // together write it once.
        let mut last = self.audit_state().last.lock().unwrap_or_else(|p| p.into_inner());
        let (size, root) = self.sync_tree()?;
        if size == 0 {
            return Ok(None);
        }
        let path = dir.join(format!("{size:012}.checkpoint"));
        if last.0 == size && path.exists() {
            return Ok(Some(path));
        }
        let cp = Checkpoint { origin: self.config().audit.origin.clone(), size, root };
        let note = self.audit_state().signer.lock().unwrap_or_else(|p| p.into_inner()).sign(&cp);
        write_public(&path, &note)?;
        *last = (size, Instant::now());
        self.save_frontier(&dir)?;
        Ok(Some(path))
    }

    /// Keeps the running frontier beside the checkpoints (written whole, then
    /// renamed), so the next start resumes it instead of re-reading every entry.
    fn save_frontier(&self, dir: &Path) -> Result<(), AuditError> {
        let text = {
            let guard = self.audit_state().tree.lock().unwrap_or_else(|p| p.into_inner());
            format!("{}\n{}", guard.1, guard.0.to_text())
        };
        // Nodes sharing a checkpoint directory each write through a name of their own.
        write_public(&dir.join(FRONTIER_FILE), &text)
    }

    /// Writes a checkpoint when `checkpoint_every` entries have accumulated
    /// since the last one, or — with `or_any_new` — when there is anything new
    /// at all, or when the interval has passed and there is something new.
    pub fn maybe_checkpoint(&self, or_any_new: bool) -> Result<Option<PathBuf>, AuditError> {
        let (last_size, at) = *self.audit_state().last.lock().unwrap_or_else(|p| p.into_inner());
        let len = self.store().audit_len()?;
        let new = len.saturating_sub(last_size);
        let cfg = &self.config().audit;
        let due = new >= cfg.checkpoint_every
            || (new > 0 && (or_any_new || at.elapsed().as_secs() >= cfg.checkpoint_interval_secs));
        if due { self.write_checkpoint() } else { Ok(None) }
    }

    /// The newest signed checkpoint (written now if there is none yet).
    pub fn latest_checkpoint(&self) -> Result<String, EngineError> {
        let size = self.store().audit_len()?.max(1);
        let (_, note) = self.checkpoint_covering(size)?;
        Ok(note)
    }

    /// Appends records outside a pipeline batch, stamped with the policy version.
    pub fn append_audit(&self, records: Vec<AuditRecord>) -> Result<u64, AuditError> {
        Ok(self.store().append_audit(records, &self.policy_version)?)
    }

    /// Verifies the whole log: chain, tree, and every checkpoint in the
    /// checkpoint directory against this log's keys — or, with `external`
    /// (a checkpoint text and a public key text), only that checkpoint
    /// against only that key.
    pub fn verify_audit_log(&self, external: Option<(&str, &str)>) -> Result<Result<Report, VerifyError>, AuditError> {
        self.verify_audit_log_counting(external, &std::sync::atomic::AtomicU64::new(0))
    }

    /// [`Engine::verify_audit_log`], counting in `checked` the entries read so
    /// far (for progress while a long log is verified in the background).
    pub fn verify_audit_log_counting(
        &self,
        external: Option<(&str, &str)>,
        checked: &std::sync::atomic::AtomicU64,
    ) -> Result<Result<Report, VerifyError>, AuditError> {
        let (checkpoints, trusted) = match external {
            Some((note, key)) => {
                let v = NoteVerifier::from_text(key).map_err(|e| AuditError::Invalid(format!("public key: {e}")))?;
                (vec![("given checkpoint".to_owned(), note.to_owned())], vec![v])
            }
            None => {
                let mut cps = Vec::new();
                if let Some(dir) = &self.audit_state().checkpoint_dir {
                    for (_, path) in list_checkpoints(dir)? {
                        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
                        cps.push((path.display().to_string(), text));
                    }
                }
                (cps, self.audit_state().trusted())
            }
        };
        // Stream the log page by page; a row that cannot even be read is reported by its number.
        let failure: std::cell::RefCell<Option<StoreError>> = std::cell::RefCell::new(None);
        let store = self.store();
        let mut next = 1u64;
        let mut page: std::vec::IntoIter<LogItem> = Vec::new().into_iter();
        let items = std::iter::from_fn(|| {
            loop {
                if let Some(item) = page.next() {
                    checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Some(item);
                }
                if failure.borrow().is_some() {
                    return None;
                }
                match store.audit_log_sealed(next, PAGE) {
                    Ok(p) if p.is_empty() => return None,
                    Ok(p) => {
                        next = p.last().map_or(next, |i| i.seq() + 1);
                        page = p.into_iter();
                    }
                    Err(e) => {
                        *failure.borrow_mut() = Some(e);
                        return None;
                    }
                }
            }
        });
        let result = warden_audit::verify_log(items, &checkpoints, &trusted, Some(&self.config().audit.origin));
        match failure.into_inner() {
            Some(StoreError::CorruptAudit { seq, what }) => Ok(Err(VerifyError { seq: Some(seq), what })),
            Some(e) => Err(e.into()),
            None => Ok(result),
        }
    }

    /// All leaf hashes of the log's first `size` entries, and those entries (when not purged).
    fn leaves(&self, size: u64) -> Result<(Vec<Hash>, Vec<Option<AuditEntry>>), AuditError> {
        let mut leaves = Vec::with_capacity(size as usize);
        let mut entries = Vec::with_capacity(size as usize);
        while (leaves.len() as u64) < size {
            let page =
                self.store().audit_log(leaves.len() as u64 + 1, PAGE.min((size - leaves.len() as u64) as usize))?;
            if page.is_empty() {
                break;
            }
            for item in page {
                match item {
                    LogItem::Full(e) => {
                        leaves.push(merkle::leaf_hash(&entry_bytes(&e)));
                        entries.push(Some(e));
                    }
                    LogItem::Sealed(e) => {
                        // Not what `audit_log` answers, but whole all the same.
                        leaves.push(merkle::leaf_hash(&e.canonical));
                        entries.push(None);
                    }
                    LogItem::Pruned { leaf, .. } => {
                        leaves.push(leaf);
                        entries.push(None);
                    }
                }
            }
        }
        Ok((leaves, entries))
    }

    /// The newest checkpoint covering at least `size` entries, writing one if none does.
    fn checkpoint_covering(&self, size: u64) -> Result<(Checkpoint, String), AuditError> {
        let dir = self
            .audit_state()
            .checkpoint_dir
            .clone()
            .ok_or_else(|| AuditError::Invalid("this engine keeps no checkpoints".into()))?;
        let mut found = list_checkpoints(&dir)?.into_iter().rev().find(|(s, _)| *s >= size).map(|(_, p)| p);
        if found.is_none() {
            found = self.write_checkpoint()?;
        }
        let path = found.ok_or_else(|| AuditError::Invalid(format!("the log has fewer than {size} entries")))?;
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let (cp, _) = warden_audit::note::open(&text, &self.audit_state().trusted())
            .map_err(|e| AuditError::Invalid(format!("{}: {e}", path.display())))?;
        Ok((cp, text))
    }

    /// An inclusion proof for entry `seq` against the newest signed checkpoint.
    pub fn prove_entry(&self, seq: u64) -> Result<InclusionDoc, AuditError> {
        if seq == 0 {
            return Err(AuditError::Invalid("entries are numbered from 1".into()));
        }
        let (cp, note) = self.checkpoint_covering(seq)?;
        let (leaves, mut entries) = self.leaves(cp.size)?;
        self.inclusion(seq, &cp, &note, &leaves, entries.get_mut(seq as usize - 1).and_then(Option::take))
    }

    fn inclusion(
        &self,
        seq: u64,
        cp: &Checkpoint,
        note: &str,
        leaves: &[Hash],
        entry: Option<AuditEntry>,
    ) -> Result<InclusionDoc, AuditError> {
        if merkle::root(leaves) != cp.root {
            return Err(AuditError::Damaged(VerifyError {
                seq: None,
                what: format!("the log no longer matches its checkpoint at size {}", cp.size),
            }));
        }
        let idx = seq as usize - 1;
        let proof = merkle::inclusion_proof(idx, leaves)
            .ok_or_else(|| AuditError::Invalid(format!("entry {seq} is not in the log")))?;
        let entry_bytes = entry.as_ref().map(|e| String::from_utf8_lossy(&entry_bytes(e)).into_owned());
        Ok(InclusionDoc {
            entry,
            entry_bytes,
            leaf_idx: idx as u64,
            tree_size: cp.size,
            leaf_hash: b64(&leaves[idx]),
            proof: proof.iter().map(|h| b64(h)).collect(),
            root: b64(&cp.root),
            checkpoint: note.to_owned(),
            public_key: self.audit_public_key(),
        })
    }

    /// A consistency proof between tree sizes `from` and `to` (default: the newest checkpoint).
    pub fn prove_consistency(&self, from: u64, to: Option<u64>) -> Result<ConsistencyDoc, AuditError> {
        let (cp, note) = self.checkpoint_covering(to.unwrap_or(1).max(from))?;
        let to = to.unwrap_or(cp.size);
        if from == 0 || from > to {
            return Err(AuditError::Invalid(format!("need 0 < from ≤ to, got from {from}, to {to}")));
        }
        let (leaves, _) = self.leaves(to)?;
        if (leaves.len() as u64) < to {
            return Err(AuditError::Invalid(format!("the log has only {} entries", leaves.len())));
        }
        let proof = merkle::consistency_proof(from as usize, &leaves).expect("0 < from ≤ to");
        let mut checkpoints = Vec::new();
        if let Some(dir) = &self.audit_state().checkpoint_dir {
            for (size, path) in list_checkpoints(dir)? {
                if size == from || size == to {
                    checkpoints.push(std::fs::read_to_string(&path).map_err(|e| io(&path, e))?);
                }
            }
        }
        if cp.size == to && !checkpoints.contains(&note) {
            checkpoints.push(note);
        }
        Ok(ConsistencyDoc {
            size1: from,
            size2: to,
            root1: b64(&merkle::root(&leaves[..from as usize])),
            root2: b64(&merkle::root(&leaves)),
            proof: proof.iter().map(|h| b64(h)).collect(),
            checkpoints,
            public_key: self.audit_public_key(),
        })
    }

    /// Everything an auditor needs about one alert, with an inclusion proof
    /// for each of its audit entries against one signed checkpoint.
    pub fn export_alert(&self, id: &AlertId) -> Result<serde_json::Value, AuditError> {
        let record =
            self.store().alert(id)?.ok_or_else(|| AuditError::Invalid(format!("no alert {id} in this store")))?;
        let entries = self.store().audit_for_object(id.as_str())?;
        let last = entries.iter().map(|e| e.seq).max().unwrap_or(1);
        let (cp, note) = self.checkpoint_covering(last)?;
        let (leaves, _) = self.leaves(cp.size)?;
        let mut proofs = Vec::new();
        for e in entries {
            let seq = e.seq;
            proofs.push(self.inclusion(seq, &cp, &note, &leaves, Some(e))?);
        }
        let decisions = self.store().decisions(id.as_str())?;
        let actions: Vec<serde_json::Value> = self
            .store()
            .actions(None, 100_000)?
            .into_iter()
            .filter(|a| a["alert_id"].as_str() == Some(id.as_str()))
            .collect();
        Ok(serde_json::json!({
            "format": "warden-evidence-bundle/1",
            "exported_at": Timestamp::now().to_string(),
            "alert": record.alert,
            "duplicates": record.duplicates,
            "assessments": record.assessment.into_iter().collect::<Vec<_>>(),
            "validation": record.validation,
            "route": record.route,
            "review_decisions": decisions,
            "actions": actions,
            "audit": proofs,
            "checkpoint": note,
            "public_key": self.audit_public_key(),
            "how_to_verify": "Each audit item's leafHash is SHA-256(0x00 || entryBytes), the UTF-8 bytes of the \
                entry's canonical JSON exactly as the log stores them (hash them as they are; entry is the \
                same content parsed); its proof is an \
                RFC 9162 inclusion proof (leafIdx, treeSize) to root; root is signed in checkpoint (C2SP \
                tlog-checkpoint, Ed25519 signed note) by public_key.",
        }))
    }

    /// Purges the content of entries older than `before`, which must be at
    /// least the configured retention in the past. Hashes stay, a checkpoint
    /// covering the purged entries is written first, and both the purge and
    /// a refusal are audited.
    pub fn purge_audit(&self, before: Timestamp, actor: Actor) -> Result<u64, AuditError> {
        let days = self.config().audit.min_retention_days;
        let limit = Timestamp::now() - jiff::SignedDuration::from_hours(24 * days as i64);
        if before > limit {
            self.append_audit(vec![AuditRecord::new(
                actor,
                "audit.purge_refused",
                "audit-log",
                serde_json::json!({"before": before.to_string(), "min_retention_days": days}),
            )])?;
            return Err(AuditError::Refused(format!(
                "entries younger than {days} days are kept; the latest allowed cut-off is {}",
                limit.round(jiff::Unit::Second).unwrap_or(limit)
            )));
        }
        let (cp, _) = self.checkpoint_covering(self.store().audit_len()?.max(1))?;
        let n = self.store().purge_audit(cp.size, before)?;
        self.append_audit(vec![AuditRecord::new(
            actor,
            "audit.purged",
            "audit-log",
            serde_json::json!({"before": before.to_string(), "entries": n, "checkpoint_size": cp.size}),
        )])?;
        self.write_checkpoint()?;
        Ok(n)
    }

    /// Replaces the signing key. The old public key is kept (in `retired/`)
    /// so the checkpoints it signed still verify; the rotation is audited and
    /// a checkpoint is signed with the new key at once.
    pub fn rotate_audit_key(&self, actor: Actor) -> Result<(String, String), AuditError> {
        let state = self.audit_state();
        let path = state.key_path.clone().ok_or_else(|| AuditError::Invalid("this engine has no key file".into()))?;
        let new = NoteSigner::from_seed(KEY_NAME, random_seed()?).map_err(|e| AuditError::Key(e.to_string()))?;
        let old_label = state.verifier().label();
        let new_label = new.verifier().label();
        let retired_dir = path.parent().unwrap_or(Path::new(".")).join("retired");
        std::fs::create_dir_all(&retired_dir).map_err(|e| io(&retired_dir, e))?;
        write_public(
            &retired_dir.join(format!("{}.pub", old_label.replace('+', "-"))),
            &format!("{}\n", state.verifier().to_text()),
        )?;
        self.append_audit(vec![AuditRecord::new(
            actor,
            "audit.key_rotated",
            "audit-key",
            serde_json::json!({"old_key": old_label, "new_key": new_label}),
        )])?;
        write_private(&path, &new.to_text())?;
        write_public(&pub_path(&path), &format!("{}\n", new.verifier().to_text()))?;
        let old = std::mem::replace(&mut *state.signer.lock().unwrap_or_else(|p| p.into_inner()), new);
        state.retired.lock().unwrap_or_else(|p| p.into_inner()).push(old.verifier());
        self.write_checkpoint()?;
        Ok((old_label, new_label))
    }
}
