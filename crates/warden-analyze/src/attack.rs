//! The ATT&CK catalogue (Enterprise v18.1, © The MITRE Corporation; see
//! `data/ATTACK-NOTICE.md`): technique ids, names and tactics, and the
//! crosswalk from the v19 ids some rule sets already use.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One technique or sub-technique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub tactics: Vec<String>,
    pub deprecated: bool,
}

const CSV: &str = include_str!("../data/attack-techniques.csv");

fn catalogue() -> &'static BTreeMap<String, Technique> {
    static CAT: OnceLock<BTreeMap<String, Technique>> = OnceLock::new();
    CAT.get_or_init(|| {
        let mut m = BTreeMap::new();
        for line in CSV.lines().skip(1) {
            // id,name,tactics,platforms,is_subtechnique,deprecated — names may be quoted and hold commas.
            let (id, rest) = match line.split_once(',') {
                Some(x) => x,
                None => continue,
            };
            let (name, rest) = if let Some(r) = rest.strip_prefix('"') {
                match r.split_once("\",") {
                    Some((n, rest)) => (n.to_owned(), rest),
                    None => continue,
                }
            } else {
                match rest.split_once(',') {
                    Some((n, rest)) => (n.to_owned(), rest),
                    None => continue,
                }
            };
            let mut cols = rest.split(',');
            let tactics =
                cols.next().unwrap_or_default().split(';').filter(|t| !t.is_empty()).map(str::to_owned).collect();
            let deprecated = rest.trim_end().ends_with("true");
            m.insert(id.to_owned(), Technique { id: id.to_owned(), name, tactics, deprecated });
        }
        m
    })
}

/// A technique by id (`T1059.001`).
pub fn technique(id: &str) -> Option<&'static Technique> {
    catalogue().get(id)
}

const CROSSWALK: &str = include_str!("../data/attack-v18-to-v19-crosswalk.csv");

/// The v18.1 technique a technique id that ATT&CK v19 introduced stands for
/// (SigmaHQ's rules are tagged with v19 ids). Where several v18 ids became
/// one v19 id, the one most rules were re-tagged from is taken. A v19
/// sub-technique the crosswalk does not list falls back to the v18 parent
/// technique that every listed member of its family came from (`T1686.002`
/// → `T1562`, since all `T1686.*` came from `T1562.*`): coarser, never wrong.
/// `None` when the id is not a v19 renaming known to the crosswalk.
pub fn from_v19(id: &str) -> Option<&'static str> {
    static MAP: OnceLock<BTreeMap<&'static str, (&'static str, u32)>> = OnceLock::new();
    let map = MAP.get_or_init(|| {
        let mut m: BTreeMap<&'static str, (&'static str, u32)> = BTreeMap::new();
        for line in CROSSWALK.lines().skip(1) {
            let mut cols = line.split(',');
            let (Some(v18), Some(v19), Some(n)) = (cols.next(), cols.next(), cols.next()) else { continue };
            let n = n.parse().unwrap_or(0);
            if m.get(v19).is_none_or(|(_, best)| n > *best) {
                m.insert(v19, (v18, n));
            }
        }
        m
    });
    if let Some((v18, _)) = map.get(id) {
        return Some(v18);
    }
    let family = id.split_once('.')?.0;
    let mut parents = map
        .iter()
        .filter(|(v19, _)| **v19 == family || v19.strip_prefix(family).is_some_and(|r| r.starts_with('.')))
        .map(|(_, (v18, _))| v18.get(..5).unwrap_or(v18));
    let first = parents.next()?;
    parents.all(|p| p == first).then_some(first)
}

/// The tactics a technique belongs to; a sub-technique unknown to the
/// catalogue falls back to its parent's.
pub fn tactics_of(id: &str) -> Vec<String> {
    technique(id).or_else(|| technique(id.get(..5)?)).map(|t| t.tactics.clone()).unwrap_or_default()
}

const PLAYBOOKS: &str = include_str!("../data/playbooks.tsv");

/// Recommended next steps for a technique: from the per-technique playbook
/// table (by the technique's parent), else from its first tactic's.
/// Returns (what the steps are for, the steps).
pub fn next_steps(id: &str) -> Option<(String, &'static str)> {
    static TABLE: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    let table = TABLE
        .get_or_init(|| PLAYBOOKS.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_once('\t')).collect());
    let parent = id.get(..5).unwrap_or(id);
    if let Some(steps) = table.get(parent) {
        return Some((parent.to_owned(), steps));
    }
    let tactic = tactics_of(id).into_iter().next()?;
    table.get(tactic.as_str()).map(|steps| (tactic, *steps))
}

/// Every technique and sub-technique, by id.
pub fn all() -> impl Iterator<Item = &'static Technique> {
    catalogue().values()
}

/// The enterprise tactics in kill-chain order, as the catalogue names them.
pub const TACTICS: &[&str] = &[
    "Reconnaissance",
    "Resource Development",
    "Initial Access",
    "Execution",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
    "Credential Access",
    "Discovery",
    "Lateral Movement",
    "Collection",
    "Command and Control",
    "Exfiltration",
    "Impact",
];

/// Number of techniques in the catalogue.
pub fn len() -> usize {
    catalogue().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbooks_cover_techniques_and_fall_back_to_tactics() {
        let (key, steps) = next_steps("T1003.001").unwrap();
        assert_eq!(key, "T1003");
        assert!(steps.contains("reset the passwords"));
        // No entry of its own: the tactic's.
        let (key, _) = next_steps("T1595").unwrap();
        assert_eq!(key, "Reconnaissance");
        assert!(next_steps("T9999").is_none());
        for line in PLAYBOOKS.lines().filter(|l| !l.starts_with('#')) {
            let (k, v) = line.split_once('\t').expect("key<TAB>steps");
            assert!(!v.trim().is_empty());
            assert!(technique(k).is_some() || TACTICS.contains(&k), "{k} is neither a technique nor a tactic");
        }
        for t in TACTICS {
            assert!(PLAYBOOKS.lines().any(|l| l.starts_with(&format!("{t}\t"))), "no fallback for {t}");
        }
    }

    #[test]
    fn the_catalogue_loads_with_tactics() {
        assert_eq!(len(), 835);
        assert_eq!(tactics_of("T1003.001"), ["Credential Access"]);
        assert!(tactics_of("T1059.001").contains(&"Execution".to_owned()));
        assert!(tactics_of("T9999").is_empty());
        assert_eq!(technique("T1003.001").unwrap().name, "LSASS Memory");
    }
}
