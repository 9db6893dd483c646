//! `[outbound]`: OCSF findings from the audit log to the configured sinks,
//! from a cursor kept in the data directory (`outbound.cursor`: the next
//! audit sequence number to read), saved only after every sink has a batch.

use std::path::{Path, PathBuf};

use anyhow::Context;
use warden_engine::Engine;

pub fn cursor_path(data: &Path) -> PathBuf {
    data.join("outbound.cursor")
}

fn read_cursor(path: &Path) -> anyhow::Result<u64> {
    match std::fs::read_to_string(path) {
        Ok(t) => t.trim().parse().with_context(|| format!("{}: not a sequence number", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(1),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Written beside and renamed over, so a crash leaves the old cursor or the new one.
fn write_cursor(path: &Path, next: u64) -> anyhow::Result<()> {
    let tmp = path.with_extension("cursor.tmp");
    std::fs::write(&tmp, format!("{next}\n")).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Delivers everything from the cursor to the end of the log, a batch at a
/// time; returns how many findings went out. A sink that fails stops the
/// run with the cursor where the failed batch starts, so it is sent again.
pub fn catch_up(engine: &Engine, cursor: &Path) -> anyhow::Result<usize> {
    let cfg = &engine.config().outbound;
    let mut sent = 0;
    loop {
        let from = read_cursor(cursor)?;
        let (findings, next) = engine.ocsf_findings(from, cfg.batch)?;
        if next == from {
            return Ok(sent);
        }
        warden_engine::outbound::deliver(cfg, &findings).map_err(anyhow::Error::msg)?;
        write_cursor(cursor, next)?;
        sent += findings.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catching_up_sends_each_finding_once_and_a_failed_sink_keeps_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("findings.ndjson");
        let text = format!("[outbound]\nfile = {:?}\n", out.display().to_string());
        let engine = Engine::in_memory(warden_engine::Config::parse(&text, "t", Vec::new()).unwrap()).unwrap();
        let sample = include_bytes!("../../../samples/suricata-eve.json");
        engine.triage(sample, "s", None, &mut |_| {}).unwrap();
        let cursor = cursor_path(dir.path());
        let n = catch_up(&engine, &cursor).unwrap();
        assert!(n > 0);
        let lines = || std::fs::read_to_string(&out).unwrap().lines().count();
        assert_eq!(lines(), n);
        assert_eq!(catch_up(&engine, &cursor).unwrap(), 0, "nothing is sent twice");
        let at = read_cursor(&cursor).unwrap();
        assert_eq!(at, engine.store().counts().unwrap().audit_entries + 1);

        // A sink that cannot take the next batch leaves the cursor where it was.
        engine.triage(br#"{"event_type":"alert","src_ip":"10.9.9.9","dest_ip":"10.0.0.1","alert":{"signature":"ET TEST","severity":2}}"#, "t", None, &mut |_| {}).unwrap();
        let blocked = dir.path().join("not-a-dir");
        std::fs::write(&blocked, "").unwrap();
        let text = format!("[outbound]\nfile = {:?}\n", blocked.join("x").display().to_string());
        let broken = warden_engine::Config::parse(&text, "t", Vec::new()).unwrap();
        let cfg = broken.outbound.clone();
        let (findings, _) = engine.ocsf_findings(at, 100).unwrap();
        assert!(warden_engine::outbound::deliver(&cfg, &findings).is_err());
        assert_eq!(read_cursor(&cursor).unwrap(), at);
        assert!(catch_up(&engine, &cursor).unwrap() >= 1, "the working sink takes it next time");
    }
}
