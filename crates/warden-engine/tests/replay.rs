//! Replay before activation: a candidate rule set that drops a tactic's
//! rules is refused with a report naming the tactic; a better one passes;
//! only a manager with a written reason overrides the gate, audited.

use std::path::Path;

use warden_core::{Actor, Role, TechniqueId, Verdict};
use warden_engine::review::DecisionInput;
use warden_engine::{Config, Engine};

mod common;
use common::{person, triage};

fn rule(title: &str, image: &str, tags: &str) -> String {
    format!(
        "title: {title}\nid: {}\nstatus: test\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\{image}'\n  condition: selection\nlevel: high\ntags: [{tags}]\n",
        uuid_like(title)
    )
}

fn uuid_like(seed: &str) -> String {
    let h: u64 = seed.bytes().fold(1469598103934665603u64, |a, b| (a ^ b as u64).wrapping_mul(1099511628211));
    format!("{:08x}-0000-4000-8000-{:012x}", h as u32, h & 0xffff_ffff_ffff)
}

/// A rule directory with these (file name, rule) pairs.
fn rules(root: &Path, name: &str, files: &[(&str, String)]) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

fn event(host: &str, image: &str) -> String {
    format!(
        r#"{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"{host}","Image":"C:\\tmp\\{image}","CommandLine":"{image} -a","User":"CORP\\bob"}}"#
    )
}

#[test]
fn a_candidate_that_drops_a_tactic_is_refused_and_a_better_one_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = ("dump.yml", rule("Test dumper zzdump", "zzdump.exe", "attack.credential-access, attack.t1003"));
    let run = ("run.yml", rule("Test runner zzrun", "zzrun.exe", "attack.execution, attack.t1059"));
    let extra = ("hide.yml", rule("Test hider zzhide", "zzhide.exe", "attack.defense-evasion, attack.t1564"));
    let active = rules(tmp.path(), "active", &[dump.clone(), run.clone()]);
    let worse = rules(tmp.path(), "worse", std::slice::from_ref(&run));
    let better = rules(tmp.path(), "better", &[dump.clone(), run.clone(), extra]);

    let e = Engine::in_memory(Config::default()).unwrap();
    let ann = person(&e, "ann", Role::Analyst);
    let mia = person(&e, "mia", Role::Manager);
    // Nothing decided yet: the first import has nothing to measure and passes.
    let first = e.import_rules(Actor::User("ops".into()), &active, None).unwrap();
    assert_eq!((first.replay.decided, first.replay.passed), (0, true));

    let lines: Vec<String> = (0..3)
        .map(|i| event(&format!("ws-{i}"), "zzdump.exe"))
        .chain((0..3).map(|i| event(&format!("ws-{i}"), "zzrun.exe")))
        .chain((0..2).map(|i| event(&format!("ws-{i}"), "notepad.exe")))
        .collect();
    let r = triage(&e, &lines.join("\n"));
    assert_eq!(r.len(), 8);
    for (i, x) in r.iter().enumerate() {
        let (verdict, technique) = match i {
            0..=2 => (Verdict::Malicious, Some("T1003")),
            3..=5 => (Verdict::Malicious, Some("T1059")),
            _ => (Verdict::Benign, None),
        };
        let techniques = technique.map(|t| vec![TechniqueId::parse(t).unwrap()]);
        let d = DecisionInput { techniques, ..DecisionInput::new(verdict) };
        e.decide(&ann, x.alert_id.as_str(), d).unwrap();
    }

    // Worse: the credential-access rules are gone.
    let report = e.replay_rules(&worse, None).unwrap();
    assert_eq!(report.decided, 8);
    assert!(!report.passed);
    let text = report.text();
    assert!(text.to_lowercase().contains("credential"), "{text}");
    assert!(report.failures.iter().any(|f| f.to_lowercase().contains("credential")), "{:?}", report.failures);
    assert_eq!(report.new_blind_spots.len(), 1, "{:?}", report.new_blind_spots);
    assert!(report.active.recall > report.proposed.recall);
    assert!(report.flips.values().sum::<usize>() >= 3, "{:?}", report.flips);
    let refused = e.import_rules(Actor::User("ops".into()), &worse, None).unwrap_err().to_string();
    assert!(refused.to_lowercase().contains("credential"), "{refused}");
    // An analyst cannot override; a manager can, with a reason, and it is audited.
    let not_yours = e.import_rules(Actor::User("ops".into()), &worse, Some((&ann, "trust me"))).unwrap_err();
    assert!(not_yours.to_string().contains("only a manager"), "{not_yours}");
    assert!(e.import_rules(Actor::User("ops".into()), &worse, Some((&mia, "  "))).is_err(), "a reason is written");
    let forced = e
        .import_rules(Actor::User("ops".into()), &worse, Some((&mia, "dumper rule misfires; replaced next week")))
        .unwrap();
    assert_eq!(forced.overridden.as_deref(), Some("dumper rule misfires; replaced next week"));
    let status = e.ruleset_status().unwrap().expect("a rule set is active");
    assert_eq!(status["version"], forced.version.as_str());
    assert_eq!(status["replay"]["passed"], false);
    assert_eq!(status["overridden"]["reason"], "dumper rule misfires; replaced next week");
    let audit = e.store().audit_for_object(&forced.version).unwrap();
    let over = audit.iter().find(|a| a.record.action == "replay.gate_overridden").expect("audited");
    assert_eq!(over.record.actor, Actor::User("mia".into()));
    assert!(audit.iter().any(|a| a.record.action == "replay.completed" && a.record.payload["passed"] == false));

    // Better (against the worse one now active): it passes and activates without an override.
    let report = e.replay_rules(&better, None).unwrap();
    assert!(report.passed, "{}", report.text());
    let ok = e.import_rules(Actor::User("ops".into()), &better, None).unwrap();
    assert!(ok.overridden.is_none());
    assert_eq!(e.store().active_ruleset().unwrap().unwrap().0, ok.version);
}
