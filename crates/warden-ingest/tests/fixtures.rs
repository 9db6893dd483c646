//! Data-driven parser tests: every file under `tests/data/<format>/` is read
//! and the result rendered as text; the rendering must equal the `.expected`
//! file beside it. Adding a case is adding a file; after a deliberate change,
//! `UPDATE_EXPECT=1 cargo test -p warden-ingest --test fixtures` rewrites the
//! expectations (review the diff before committing).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use warden_core::{Canon, Fields};
use warden_ingest::{Options, Parsed, read};

fn render(path: &Path, bytes: &[u8]) -> String {
    // Received on a fixed day, so a syslog date without a year reads as that year's.
    let mut opts = Options::new("2026-12-01T00:00:00Z".parse().unwrap());
    opts.limits.max_field_bytes = 256;
    opts.limits.max_depth = 16;
    opts.json_field_map.insert(Canon::RuleName, vec!["detector.title".to_owned()]);
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut out = String::new();
    for item in read(bytes, &name, &opts) {
        match item {
            Parsed::Alert(a) => {
                let observed = a.observed_at.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
                writeln!(
                    out,
                    "alert {} format={} at={} fields={} observed={observed}",
                    a.origin,
                    a.format,
                    a.id,
                    a.fields.len()
                )
                .unwrap();
                for (canon, p) in &a.canon {
                    let mut v = a.get(p).map(|v| v.to_string()).unwrap_or_default();
                    if v.chars().count() > 60 {
                        v = format!("{}…", v.chars().take(60).collect::<String>());
                    }
                    writeln!(out, "  {canon} = {p} = {v}").unwrap();
                }
            }
            Parsed::Rejected(d) => {
                writeln!(out, "rejected {}: {} ({} raw bytes kept)", d.origin, d.reason, d.raw.len()).unwrap();
            }
        }
    }
    out
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e != "expected") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_matches_its_expected_rendering() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 8, "fixtures missing: found {}", cases.len());
    for case in &cases {
        let got = render(case, &std::fs::read(case).unwrap());
        let expected_path = case.with_extension(format!("{}.expected", case.extension().unwrap().to_string_lossy()));
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(want) if want == got => {}
            Ok(want) => failures.push(format!("{}:\n--- expected\n{want}\n--- got\n{got}", case.display())),
            Err(_) => {
                failures.push(format!("{}: no {} (run with UPDATE_EXPECT=1)", case.display(), expected_path.display()))
            }
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_format_has_fixtures() {
    let cases = cases();
    for dir in ["ocsf", "ecs", "eve", "evtx-json", "winflat", "json", "malformed"] {
        assert!(cases.iter().any(|c| c.parent().unwrap().ends_with(dir)), "no fixture in {dir}");
    }
}
