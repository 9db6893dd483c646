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

impl crate::Engine {
    /// Imports the usable rules under `dir` as a new, versioned rule set
    /// (version = SHA-256 over the rule files), makes it active, and audits it.
    pub fn import_rules(
        &self,
        by: warden_core::Actor,
        dir: &Path,
    ) -> Result<(String, RulesReport), crate::EngineError> {
        let (report, _) = check(dir).map_err(|e| crate::EngineError::Invalid(format!("{}: {e}", dir.display())))?;
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|e| crate::EngineError::Invalid(e.to_string()))?;
        files.sort();
        let mut body = Vec::new();
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else { continue };
            if warden_analyze::sigma::parse(&text).is_ok() {
                let rel = f.strip_prefix(dir).unwrap_or(f).display().to_string();
                parts.push(rel.clone().into_bytes());
                parts.push(text.clone().into_bytes());
                body.push(serde_json::json!({"path": rel, "text": text}));
            }
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let version = format!("sigma-{}", &crate::sha2_free::sha256_hex(&refs)[..16]);
        let audit = vec![warden_core::AuditRecord::new(
            by,
            "rules.imported",
            version.as_str(),
            serde_json::json!({"total": report.total, "usable": report.usable, "unusable": report.unusable.len(), "source": dir.display().to_string()}),
        )];
        self.store().save_ruleset(&version, &serde_json::Value::Array(body), audit, self.policy_version())?;
        self.activate_rules()?;
        Ok((version, report))
    }

    /// Loads the active rule set into the local analyzer.
    pub(crate) fn activate_rules(&self) -> Result<(), crate::EngineError> {
        if let Some((version, body)) = self.store().active_ruleset()? {
            let rules: Vec<warden_analyze::sigma::Rule> = body
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| warden_analyze::sigma::parse(r["text"].as_str()?).ok())
                .collect();
            self.set_rules(Some((version, std::sync::Arc::new(rules))));
        }
        Ok(())
    }
}
