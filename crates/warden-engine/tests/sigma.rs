//! The SigmaHQ rule set (shared reference data): how much of it loads, and
//! that well-known rules fire on the samples they describe.

use std::path::Path;

#[test]
fn sigmahq_rules_load_and_fire_on_the_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma/rules");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not present (shared reference data)", dir.display());
        return;
    }
    let (report, rules) = warden_engine::rules::check(&dir).unwrap();
    let share = report.usable as f64 / report.total as f64;
    eprintln!("{} of {} SigmaHQ rules usable ({:.1} %)", report.usable, report.total, share * 100.0);
    assert!(share >= 0.95, "{:?}", &report.unusable[..report.unusable.len().min(10)]);

    // Rules carry ATT&CK v19 ids; with the crosswalk they land on the v18.1 catalogue.
    let tags: Vec<&str> = rules.iter().flat_map(|r| r.techniques.iter().map(|t| t.as_str())).collect();
    let unknown: std::collections::BTreeSet<&str> =
        tags.iter().copied().filter(|t| warden_analyze::attack::tactics_of(t).is_empty()).collect();
    eprintln!("{} technique tags, {} distinct ids outside the catalogue: {unknown:?}", tags.len(), unknown.len());
    assert!(!tags.iter().any(|t| warden_analyze::attack::from_v19(t).is_some()), "v19 ids are mapped");
    let outside = tags.iter().filter(|t| unknown.contains(*t)).count();
    assert!(outside * 100 <= tags.len(), "{outside} of {} tags are outside the catalogue", tags.len());

    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/sysmon-evtx.json");
    let bytes = std::fs::read(samples).unwrap();
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    let alerts: Vec<warden_core::Alert> = warden_ingest::read(&bytes, "s", &opts)
        .filter_map(|p| match p {
            warden_ingest::Parsed::Alert(a) => Some(*a),
            _ => None,
        })
        .collect();
    let start = std::time::Instant::now();
    let mut hits: Vec<(String, String)> = Vec::new();
    for a in &alerts {
        for r in warden_analyze::sigma::matching(&rules, a) {
            hits.push((a.origin.to_string(), r.title.clone()));
        }
    }
    let per_event = start.elapsed() / alerts.len() as u32;
    eprintln!("{} hits on {} events, {per_event:?} per event against every rule", hits.len(), alerts.len());
    for (o, t) in &hits {
        eprintln!("  {o}: {t}");
    }
    let fired = |needle: &str| hits.iter().any(|(_, t)| t.to_lowercase().contains(needle));
    assert!(fired("certutil"), "a certutil download rule fires");
    assert!(fired("mimikatz") || fired("hacktool"), "a credential-dumping tool rule fires");

    // The literal prefilter never changes an answer: on every sample alert of
    // every format, the prefiltered set matches exactly the rules a full
    // evaluation matches.
    let rules = std::sync::Arc::new(rules);
    let set = warden_analyze::sigma::RuleSet::new(rules.clone());
    eprintln!("{} of {} rules carry prefilter literals", set.prefiltered(), rules.len());
    assert!(set.prefiltered() * 2 > rules.len(), "most rules can be prefiltered");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(root.join("samples")).unwrap().map(|f| f.unwrap().path()).collect();
    files.extend(std::fs::read_dir(root.join("../shared/data/evtx")).unwrap().map(|f| f.unwrap().path()));
    let mut checked = 0;
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        for p in warden_ingest::read(&bytes, "s", &opts) {
            let warden_ingest::Parsed::Alert(a) = p else { continue };
            let full: Vec<&str> = warden_analyze::sigma::matching(&rules, &*a).iter().map(|r| r.id.as_str()).collect();
            let fast: Vec<&str> = set.matching(&*a).iter().map(|r| r.id.as_str()).collect();
            assert_eq!(fast, full, "{}", a.origin);
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} alerts compared");
}

/// With the SigmaHQ rules active, the attack samples are flagged with the
/// right techniques, the benign ones stay benign or unknown, and every
/// piece of evidence cites a field the alert has, with that value.
#[test]
fn with_sigmahq_active_attacks_are_flagged_and_benign_samples_are_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/data/sigma/rules");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not present (shared reference data)", dir.display());
        return;
    }
    let engine = warden_engine::Engine::in_memory(warden_engine::Config::default()).unwrap();
    engine.import_rules(warden_core::Actor::Service("test".into()), &dir, None).unwrap();
    let mut results = Vec::new();
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir(root.join("samples")).unwrap().map(|f| f.unwrap().path()).collect();
    files.sort();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        engine
            .triage(&bytes, &name, None, &mut |e| {
                if let warden_engine::Event::Alert(r) = e {
                    results.push(r)
                }
            })
            .unwrap();
    }
    // (text in the alert that identifies the sample, expected technique; None = benign)
    let expected: &[(&str, Option<&str>)] = &[
        ("-Enc SQBFAFgA", Some("T1059.001")),
        ("sekurlsa::logonpasswords", Some("T1003.001")),
        ("certutil.exe -urlcache", Some("T1105")),
        ("comsvcs.dll, MiniDump", Some("T1003.001")),
        ("PsExec", Some("T1569.002")),
        ("vssadmin", Some("T1490")),
        ("ET MALWARE", Some("T1071.001")),
        ("notepad.exe\" C:\\Users\\mrossi\\Documents\\agenda.txt", None),
        // PowerShell started by WMI's provider host: the lateral-movement sample.
        ("Get-Service", Some("T1047")),
        ("github.com", None),
    ];
    let mut table = Vec::new();
    for r in &results {
        let rec = engine.store().alert(&r.alert_id).unwrap().unwrap();
        let text: String =
            warden_core::Fields::iter(&rec.alert).map(|(_, v)| v.to_string()).collect::<Vec<_>>().join("\n");
        let v = rec.validation.as_ref().unwrap();
        assert_eq!(v.grounded, v.cited, "{}: {:?}", r.origin, v.problems);
        for (needle, technique) in expected {
            if !text.contains(needle) {
                continue;
            }
            let verdict = r.verdict.as_str();
            match technique {
                Some(t) => {
                    assert!(matches!(verdict, "malicious" | "suspicious"), "{needle}: {verdict}");
                    assert!(r.techniques.iter().any(|x| x == t), "{needle}: {:?} lacks {t}", r.techniques);
                }
                None => assert!(matches!(verdict, "benign" | "unknown"), "{needle}: {verdict}: {}", r.summary),
            }
            table.push(*needle);
        }
    }
    for (needle, _) in expected {
        assert!(table.contains(needle), "no sample contains {needle:?}");
    }
}
