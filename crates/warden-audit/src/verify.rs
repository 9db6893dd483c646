//! Verification of a whole log: chain, tree and signed checkpoints in one pass.

use warden_core::AuditEntry;

use crate::merkle::{Frontier, Hash, leaf_hash};
use crate::note::{NoteVerifier, open};
use crate::{GENESIS, agrees_with_bytes, chain_hash, entry_bytes};

/// Checks one entry against its hash and returns its Merkle leaf hash. The
/// hash is recomputed over the bytes the log stores; an entry that carries
/// stored bytes must also say what those bytes say.
pub fn check_entry(e: &AuditEntry) -> Result<Hash, String> {
    let bytes = entry_bytes(e);
    if chain_hash(&bytes) != e.hash {
        return Err("its content does not match its hash (the entry was altered)".into());
    }
    if !agrees_with_bytes(e)? {
        return Err("its fields differ from the bytes its hash covers (the entry was altered)".into());
    }
    Ok(leaf_hash(&bytes))
}

/// An entry as the log stores it, checked from its bytes alone: the
/// verifier needs their hash, position and predecessor, not a decoded
/// payload.
#[derive(Clone, Debug)]
pub struct Sealed {
    pub seq: u64,
    /// The row's own columns, which must say what the bytes say.
    pub action: String,
    pub object: String,
    pub prev_hash: String,
    pub hash: String,
    /// The canonical bytes the hash covers (format 2 and later).
    pub canonical: Vec<u8>,
}

/// The parts of an entry's canonical bytes that verification compares; the
/// rest is parsed (the bytes must be a whole entry) but not kept.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Head<'a> {
    v: u32,
    seq: u64,
    #[allow(dead_code)]
    at: jiff::Timestamp,
    #[allow(dead_code)]
    actor: warden_core::Actor,
    #[serde(borrow)]
    action: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    object: std::borrow::Cow<'a, str>,
    #[allow(dead_code)]
    payload: serde::de::IgnoredAny,
    #[allow(dead_code)]
    policy: serde::de::IgnoredAny,
    #[serde(borrow)]
    prev: std::borrow::Cow<'a, str>,
}

/// Checks a stored entry against its hash and its row, and returns its
/// Merkle leaf hash: what [`check_entry`] does for a decoded entry, without
/// decoding its payload.
pub fn check_sealed(s: &Sealed) -> Result<Hash, String> {
    if chain_hash(&s.canonical) != s.hash {
        return Err("its content does not match its hash (the entry was altered)".into());
    }
    let h: Head<'_> =
        serde_json::from_slice(&s.canonical).map_err(|e| format!("its stored bytes are not a canonical entry: {e}"))?;
    if h.v < 2 {
        return Err(format!("its stored bytes claim format {}, which did not store bytes", h.v));
    }
    if h.seq != s.seq || h.prev != s.prev_hash || h.action != s.action || h.object != s.object {
        return Err("its columns differ from the bytes its hash covers (the row was altered)".into());
    }
    Ok(leaf_hash(&s.canonical))
}

/// Entries checked together, across the cores.
const RUN: usize = 8192;

/// Each item's own check, in order: its leaf hash, or what is wrong with it.
fn check_one(item: &LogItem) -> Result<Hash, String> {
    match item {
        LogItem::Full(e) => check_entry(e),
        LogItem::Sealed(s) => check_sealed(s),
        LogItem::Pruned { leaf, .. } => Ok(*leaf),
    }
}

fn check_all(run: &[LogItem]) -> Vec<Result<Hash, String>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || run.len() < 256 {
        return run.iter().map(check_one).collect();
    }
    let share = run.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            run.chunks(share).map(|c| scope.spawn(move || c.iter().map(check_one).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("checks do not panic")).collect()
    })
}

/// One position of the log as the verifier sees it.
#[derive(Clone, Debug)]
pub enum LogItem {
    /// An entry with its content: its hashes are recomputed.
    Full(AuditEntry),
    /// An entry as stored, checked from its bytes ([`check_sealed`]).
    Sealed(Sealed),
    /// An entry whose content was purged after its retention period: only
    /// its hashes remain, and they are checked against the chain and the
    /// signed checkpoints.
    Pruned { seq: u64, prev_hash: String, hash: String, leaf: Hash },
}

impl LogItem {
    pub fn seq(&self) -> u64 {
        match self {
            LogItem::Full(e) => e.seq,
            LogItem::Sealed(s) => s.seq,
            LogItem::Pruned { seq, .. } => *seq,
        }
    }
}

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub entries: u64,
    pub pruned: u64,
    /// Merkle root over all entries.
    pub root: Hash,
    /// (source, tree size, signing keys) for each checkpoint verified.
    pub checkpoints: Vec<(String, u64, Vec<String>)>,
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{what}", seq.map(|s| format!("audit entry {s}: ")).unwrap_or_default())]
pub struct VerifyError {
    /// The first bad entry, when one can be named.
    pub seq: Option<u64>,
    pub what: String,
}

fn err(seq: Option<u64>, what: impl Into<String>) -> VerifyError {
    VerifyError { seq, what: what.into() }
}

/// Verifies a log from its first entry: sequence numbers 1, 2, 3, …; each
/// entry names its predecessor's hash; each full entry's hash matches its
/// content; and every checkpoint (`(source, note text)`) is signed by a
/// trusted key, names `origin` (when given) and matches the Merkle root of
/// the log at its size.
pub fn verify_log(
    items: impl IntoIterator<Item = LogItem>,
    checkpoints: &[(String, String)],
    trusted: &[NoteVerifier],
    origin: Option<&str>,
) -> Result<Report, VerifyError> {
    let mut opened = Vec::with_capacity(checkpoints.len());
    for (source, text) in checkpoints {
        let (cp, by) = open(text, trusted).map_err(|e| err(None, format!("checkpoint {source}: {e}")))?;
        if let Some(o) = origin
            && cp.origin != o
        {
            return Err(err(None, format!("checkpoint {source} is for log {:?}, not {o:?}", cp.origin)));
        }
        opened.push((source.clone(), cp, by));
    }
    opened.sort_by_key(|(_, cp, _)| cp.size);

    let mut frontier = Frontier::new();
    let mut prev = GENESIS.to_owned();
    let mut pruned = 0;
    let mut next_cp = 0;
    let mut last_good: u64 = 0;
    let mut report_cps = Vec::new();
    // A checkpoint at size 0 commits to the empty tree.
    let check =
        |frontier: &Frontier, next_cp: &mut usize, last_good: &mut u64, out: &mut Vec<(String, u64, Vec<String>)>| {
            while let Some((source, cp, by)) = opened.get(*next_cp) {
                if cp.size != frontier.size() {
                    break;
                }
                if cp.root != frontier.root() {
                    return Err(err(
                        Some(*last_good + 1),
                        format!(
                            "the log does not match checkpoint {source} (size {}): an entry between {} and {} was \
                         rewritten, even though every hash in the chain was recomputed",
                            cp.size,
                            *last_good + 1,
                            cp.size
                        ),
                    ));
                }
                *last_good = cp.size;
                out.push((source.clone(), cp.size, by.clone()));
                *next_cp += 1;
            }
            Ok(())
        };
    check(&frontier, &mut next_cp, &mut last_good, &mut report_cps)?;
    // Each entry's own check (its hash over its bytes, its bytes against its
    // row) depends on nothing before it, so a run of entries is checked on
    // every core; the chain, the tree and the checkpoints follow in order,
    // and the first failure in log order is the one reported.
    let mut items = items.into_iter();
    loop {
        let run: Vec<LogItem> = items.by_ref().take(RUN).collect();
        if run.is_empty() {
            break;
        }
        let checked = check_all(&run);
        for (item, leaf) in run.into_iter().zip(checked) {
            let expected = frontier.size() + 1;
            let seq = item.seq();
            if seq != expected {
                let what = if seq > expected {
                    format!("missing: the next entry present is {seq} (removed or reordered)")
                } else {
                    format!("out of order: entry {seq} appears where {expected} belongs")
                };
                return Err(err(Some(expected), what));
            }
            let leaf = leaf.map_err(|what| err(Some(seq), what))?;
            let (item_prev, hash) = match item {
                LogItem::Full(e) => (e.prev_hash, e.hash),
                LogItem::Sealed(s) => (s.prev_hash, s.hash),
                LogItem::Pruned { prev_hash, hash, .. } => {
                    pruned += 1;
                    (prev_hash, hash)
                }
            };
            if item_prev != prev {
                return Err(err(
                    Some(seq),
                    "it does not name the previous entry's hash (an entry before it was altered or removed)",
                ));
            }
            prev = hash;
            frontier.push(leaf);
            check(&frontier, &mut next_cp, &mut last_good, &mut report_cps)?;
        }
    }
    if let Some((source, cp, _)) = opened.get(next_cp) {
        return Err(err(
            Some(frontier.size() + 1),
            format!(
                "missing: checkpoint {source} covers {} entries but the log ends at {} (truncated)",
                cp.size,
                frontier.size()
            ),
        ));
    }
    Ok(Report { entries: frontier.size(), pruned, root: frontier.root(), checkpoints: report_cps })
}
