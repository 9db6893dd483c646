//! Sigma rule sets on disk: which rules load, and why the others cannot be used.

use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Unusable {
    pub path: String,
    pub reason: String,
}

/// What `warden rules check` reports.
#[derive(Debug, Serialize)]
pub struct RulesReport {
    pub total: usize,
    pub usable: usize,
    pub unusable: Vec<Unusable>,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Parses every rule file under `dir`.
pub fn check(dir: &Path) -> std::io::Result<(RulesReport, Vec<warden_analyze::sigma::Rule>)> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let mut rules = Vec::new();
    let mut unusable = Vec::new();
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                unusable.push(Unusable { path: f.display().to_string(), reason: format!("cannot read: {e}") });
                continue;
            }
        };
        match warden_analyze::sigma::parse(&text) {
            Ok(r) => rules.push(r),
            Err(reason) => unusable.push(Unusable { path: f.display().to_string(), reason }),
        }
    }
    Ok((RulesReport { total: files.len(), usable: rules.len(), unusable }, rules))
}
