//! Where each format keeps things: one mapping file per format under
//! `crates/warden-ingest/mappings/`, compiled in and read once.
//!
//! A mapping says, for each canonical field, the candidate paths in a
//! record of its format (the first one present is the one cited as
//! evidence), and for Sigma field names, where that format keeps them. A
//! new format is a parser plus one of these files; nothing downstream of
//! ingest needs to learn its field names.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;
use warden_core::{Canon, Format};

/// The mapping files, in the order their Sigma paths are tried.
const FILES: &[(Format, &str)] = &[
    (Format::Evtx, include_str!("../mappings/evtx.toml")),
    (Format::Ecs, include_str!("../mappings/ecs.toml")),
    (Format::Ocsf, include_str!("../mappings/ocsf.toml")),
    (Format::Eve, include_str!("../mappings/eve.toml")),
    (Format::Zeek, include_str!("../mappings/zeek.toml")),
    (Format::Syslog, include_str!("../mappings/syslog.toml")),
    (Format::Cef, include_str!("../mappings/cef.toml")),
    (Format::Leef, include_str!("../mappings/leef.toml")),
    (Format::Json, include_str!("../mappings/json.toml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    #[serde(default)]
    sigma_patterns: Vec<String>,
    #[serde(default)]
    event_data_patterns: Vec<String>,
    canonical: toml::Table,
    #[serde(default)]
    sigma: BTreeMap<String, Vec<String>>,
}

/// One format's mapping, read from its file.
#[derive(Debug)]
pub struct Mapping {
    pub format: Format,
    /// Canonical field → candidate paths, in the file's order.
    pub canonical: Vec<(Canon, Vec<String>)>,
    sigma_patterns: Vec<String>,
    event_data_patterns: Vec<String>,
    sigma: BTreeMap<String, Vec<String>>,
}

fn parse(format: Format, text: &str) -> Result<Mapping, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.format != format.as_str() {
        return Err(format!("says format {:?}", file.format));
    }
    let mut canonical = Vec::new();
    for (name, paths) in file.canonical {
        let canon: Canon = name.parse().map_err(|e| format!("{e}"))?;
        let paths: Vec<String> = paths
            .as_array()
            .and_then(|a| a.iter().map(|p| p.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| format!("{name}: expected a list of paths"))?;
        canonical.push((canon, paths));
    }
    if let Some(p) = file.sigma_patterns.iter().chain(&file.event_data_patterns).find(|p| !p.contains("{field}")) {
        return Err(format!("pattern {p:?} has no {{field}}"));
    }
    Ok(Mapping {
        format,
        canonical,
        sigma_patterns: file.sigma_patterns,
        event_data_patterns: file.event_data_patterns,
        sigma: file.sigma,
    })
}

fn all() -> &'static [Mapping] {
    static ALL: OnceLock<Vec<Mapping>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|(format, text)| {
                // The files are part of the program; a broken one is a build defect.
                parse(*format, text).unwrap_or_else(|e| panic!("mappings/{format}.toml: {e}"))
            })
            .collect()
    })
}

/// The mapping of one format.
pub fn mapping(format: Format) -> &'static Mapping {
    all().iter().find(|m| m.format == format).expect("every format has a mapping file")
}

/// Where a Sigma field may be in a record of any format, in the order to
/// try them: the name itself, then each format's patterns and paths.
pub fn sigma_candidates(field: &str) -> Vec<String> {
    let mut out = vec![field.to_owned()];
    for m in all() {
        for p in &m.sigma_patterns {
            out.push(p.replace("{field}", field));
        }
        out.extend(m.sigma.get(field).into_iter().flatten().cloned());
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

/// Where a Windows event's named data field may be (`ImagePath`,
/// `ServiceName`, …), in every rendering the mapping files know, in order.
pub fn event_data_candidates(name: &str) -> Vec<String> {
    all().iter().flat_map(|m| m.event_data_patterns.iter().map(|p| p.replace("{field}", name))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_a_mapping_file_that_reads() {
        for format in Format::ALL {
            let m = mapping(*format);
            assert!(!m.canonical.is_empty(), "{format}");
            assert!(m.canonical.iter().any(|(c, _)| *c == Canon::Timestamp), "{format} has no timestamp");
        }
        assert_eq!(all().len(), Format::ALL.len());
    }

    #[test]
    fn sigma_candidates_put_the_name_first_and_follow_the_files() {
        let c = sigma_candidates("Image");
        assert_eq!(c[0], "Image");
        assert_eq!(c[1], "Event.EventData.Image");
        let at = |p: &str| c.iter().position(|x| x == p).unwrap_or_else(|| panic!("{p} missing from {c:?}"));
        assert!(at("Event.EventData.NewProcessName") < at("process.executable"));
        assert!(at("process.executable") < at("process.file.path"));
        assert!(sigma_candidates("dst_ip").contains(&"id.resp_h".to_owned()));
        assert_eq!(
            event_data_candidates("ImagePath"),
            ["Event.EventData.ImagePath", "ImagePath", "winlog.event_data.ImagePath"]
        );
    }

    #[test]
    fn a_broken_file_is_named() {
        assert!(
            parse(Format::Eve, "format = \"eve\"\n[canonical]\nnot_a_field = [\"x\"]\n")
                .unwrap_err()
                .contains("not_a_field")
        );
        assert!(parse(Format::Eve, "format = \"ecs\"\n[canonical]\n").unwrap_err().contains("ecs"));
    }
}
