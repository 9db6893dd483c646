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

/// The usable rules under `dir`, their stored form and the rule set's
/// version (SHA-256 over each usable file's relative path and text).
fn collect(dir: &Path) -> Result<(String, serde_json::Value, Vec<warden_analyze::sigma::Rule>), crate::EngineError> {
    let mut files = Vec::new();
    walk(dir, &mut files).map_err(|e| crate::EngineError::Invalid(format!("{}: {e}", dir.display())))?;
    files.sort();
    let mut body = Vec::new();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut rules = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        if let Ok(rule) = warden_analyze::sigma::parse(&text) {
            let rel = f.strip_prefix(dir).unwrap_or(f).display().to_string();
            parts.push(rel.clone().into_bytes());
            parts.push(text.clone().into_bytes());
            body.push(serde_json::json!({"path": rel, "text": text}));
            rules.push(rule);
        }
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let version = format!("sigma-{}", &crate::sha2_free::sha256_hex(&refs)[..16]);
    Ok((version, serde_json::Value::Array(body), rules))
}

/// The candidate rule set under `dir`: its version and rules.
pub(crate) fn candidate(dir: &Path) -> Result<(String, Vec<warden_analyze::sigma::Rule>), crate::EngineError> {
    collect(dir).map(|(v, _, r)| (v, r))
}

/// The rules of a stored rule set.
pub(crate) fn parse_body(body: &serde_json::Value) -> Vec<warden_analyze::sigma::Rule> {
    body.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| warden_analyze::sigma::parse(r["text"].as_str()?).ok())
        .collect()
}

/// How `import_rules` went: the version, what loaded, and the replay that gated it.
#[derive(Debug, Serialize)]
pub struct Imported {
    pub version: String,
    pub report: RulesReport,
    pub replay: crate::replay::ReplayReport,
    /// The written reason a failed gate was overridden with.
    pub overridden: Option<String>,
}

impl crate::Engine {
    /// Imports the usable rules under `dir` as a new, versioned rule set and
    /// makes it active, once a replay of it on the decided alerts passed the
    /// gate (`govern.replay`). A refused replay can be overridden only by a
    /// manager with a written reason. The import, the replay and any override
    /// are audited.
    pub fn import_rules(
        &self,
        by: warden_core::Actor,
        dir: &Path,
        override_by: Option<(&warden_govern::Identity, &str)>,
    ) -> Result<Imported, crate::EngineError> {
        let (report, _) = check(dir).map_err(|e| crate::EngineError::Invalid(format!("{}: {e}", dir.display())))?;
        let (version, body, _) = collect(dir)?;
        let replay = self.replay_rules(dir, None)?;
        let reason = override_by.map(|(_, r)| r.trim()).filter(|r| !r.is_empty());
        if !replay.passed
            && let Some((who, _)) = override_by
            && !who.roles.contains(&warden_core::Role::Manager)
        {
            return Err(crate::EngineError::Invalid(format!(
                "{} may not override the replay gate: only a manager may",
                who.user
            )));
        }
        if !replay.passed && reason.is_none() {
            return Err(crate::EngineError::Invalid(format!(
                "rule set {version} not activated: its replay on {} decided alert(s) failed the gate: {}; \
                 a manager may activate it anyway with a written reason (--override-reason)",
                replay.decided,
                replay.failures.join("; ")
            )));
        }
        let mut audit = vec![warden_core::AuditRecord::new(
            by.clone(),
            "rules.imported",
            version.as_str(),
            serde_json::json!({"total": report.total, "usable": report.usable, "unusable": report.unusable.len(), "source": dir.display().to_string(), "replay_passed": replay.passed}),
        )];
        let overridden = (!replay.passed).then(|| reason.unwrap_or_default().to_owned());
        if let Some(why) = &overridden {
            let manager = override_by.map_or(by.clone(), |(who, _)| warden_core::Actor::User(who.user.clone()));
            audit.push(warden_core::AuditRecord::new(
                manager,
                "replay.gate_overridden",
                version.as_str(),
                serde_json::json!({"reason": why, "failures": replay.failures}),
            ));
        }
        self.store().save_ruleset(&version, &body, audit, self.policy_version())?;
        self.activate_rules()?;
        Ok(Imported { version, report, replay, overridden })
    }

    /// Loads the active rule set into the local analyzer.
    pub(crate) fn activate_rules(&self) -> Result<(), crate::EngineError> {
        if let Some((version, body)) = self.store().active_ruleset()? {
            self.set_rules(Some((version, std::sync::Arc::new(parse_body(&body)))));
        }
        Ok(())
    }
}
