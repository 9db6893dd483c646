//! The architecture checks itself: the dependency edges between workspace
//! crates must be the ones ARCHITECTURE.md allows, only the binary may know
//! HTTP and the terminal, and every crate opens with its `//!` paragraph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `crate → allowed workspace dependencies`, read from the table between the
/// `tidy:edges` markers in ARCHITECTURE.md.
fn allowed_edges() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let start = text.find("<!-- tidy:edges -->").expect("ARCHITECTURE.md has a tidy:edges table");
    let end = text.find("<!-- /tidy:edges -->").expect("the tidy:edges table is closed");
    let mut out = BTreeMap::new();
    for line in text[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let deps = cells[1]
            .split(',')
            .map(|d| d.trim().trim_matches('`').to_owned())
            .filter(|d| !d.is_empty() && d != "—")
            .collect();
        out.insert(name, deps);
    }
    out
}

fn crates() -> Vec<(String, toml::Table, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap().parse().unwrap();
        let name = manifest["package"]["name"].as_str().unwrap().to_owned();
        out.push((name, manifest, dir));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn deps(manifest: &toml::Table) -> BTreeSet<String> {
    manifest.get("dependencies").and_then(|d| d.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn workspace_edges_are_the_ones_the_map_allows() {
    let allowed = allowed_edges();
    let mut problems = Vec::new();
    for (name, manifest, _) in crates() {
        let Some(ok) = allowed.get(&name) else {
            problems.push(format!("{name} is not in ARCHITECTURE.md's tidy:edges table"));
            continue;
        };
        for dep in deps(&manifest).into_iter().filter(|d| d.starts_with("warden")) {
            if !ok.contains(&dep) {
                problems.push(format!("{name} depends on {dep}, which ARCHITECTURE.md does not allow"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn only_the_binary_knows_http_argv_and_the_terminal() {
    const OUTER: &[&str] =
        &["axum", "tokio", "clap", "indicatif", "anstream", "anstyle", "tracing-subscriber", "anyhow"];
    let mut problems = Vec::new();
    for (name, manifest, _) in crates() {
        if name == "warden" {
            continue;
        }
        for dep in deps(&manifest) {
            if OUTER.contains(&dep.as_str()) {
                problems.push(format!("{name} depends on {dep}; only the warden binary may"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn only_the_store_knows_the_databases_and_only_the_binary_the_message_bus() {
    let mut problems = Vec::new();
    for (name, manifest, _) in crates() {
        for dep in deps(&manifest) {
            let database = ["rusqlite", "postgres", "r2d2", "r2d2_postgres"].contains(&dep.as_str());
            if database && name != "warden-store" {
                problems.push(format!("{name} depends on {dep}; only warden-store may talk to a database"));
            }
            if dep == "async-nats" && name != "warden" {
                problems.push(format!("{name} depends on {dep}; only the warden binary may"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_crate_starts_with_its_doc_paragraph() {
    for (name, _, dir) in crates() {
        let lib = dir.join("src/lib.rs");
        let file = if lib.exists() { lib } else { dir.join("src/main.rs") };
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{name}: {} must open with a //! paragraph", file.display());
    }
}

#[test]
fn the_example_configurations_parse() {
    for name in [
        "examples/warden.toml",
        "examples/ollama.toml",
        "examples/scale-out/server.toml",
        "examples/scale-out/worker.toml",
    ] {
        let text = std::fs::read_to_string(root().join(name)).unwrap();
        warden_engine::Config::parse(&text, name, Vec::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
