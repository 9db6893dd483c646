//! The generated corpus (fixed seed, values of every kind in realistic
//! positions, decoys beside them): per-kind recall and precision, decoys
//! left alone, and nothing seeded reaching an external provider.

use warden_core::Fields as _;
use warden_privacy::corpus::{self, Sample};
use warden_privacy::{Options, Protector, ProviderPolicy, Recognisers, Residency};

fn samples() -> Vec<Sample> {
    corpus::generate(7, 4000)
}

#[test]
fn recall_and_precision_meet_the_targets_on_the_generated_corpus() {
    let s = samples();
    let r = Recognisers::new(&[]).unwrap();
    let card = corpus::score(&s, &corpus::findings(&r, &s));
    eprintln!("{}", card.table("warden, seed 7, 4000 lines"));
    let mut misses = Vec::new();
    for (kind, k) in &card.kinds {
        let floor = if kind == "person_name" { 0.95 } else { 0.99 };
        if k.recall() < floor {
            misses.push(format!("{kind} recall {:.3}", k.recall()));
        }
        if k.precision() < 0.99 {
            misses.push(format!("{kind} precision {:.3}", k.precision()));
        }
    }
    for (kind, (flagged, _)) in &card.decoys {
        if *flagged > 0 {
            misses.push(format!("{flagged} {kind} decoys flagged"));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn no_seeded_value_reaches_an_external_provider_on_the_generated_corpus() {
    let p = Protector::new(Options { tenant: "t".into(), ..Options::default() }, [9; 32]).unwrap();
    let policy = ProviderPolicy {
        name: "external".into(),
        residency: Residency::External,
        classes: Default::default(),
        unclassified: warden_privacy::Handling::Raw,
    };
    let mut leaks = Vec::new();
    for (i, s) in samples().iter().enumerate() {
        let mut fields = warden_core::FieldMap::new();
        fields.insert("message", warden_core::Value::from(s.text.as_str()));
        let alert = warden_core::Alert {
            id: warden_core::AlertId::parse(&format!("al-{i}")).unwrap(),
            format: warden_core::Format::Json,
            received_at: jiff::Timestamp::UNIX_EPOCH,
            observed_at: None,
            fingerprint: warden_core::Fingerprint::from_hex("00".repeat(32)),
            origin: warden_core::Origin { file: "corpus".into(), location: warden_core::Location::Line(i as u64) },
            fields,
            canon: Default::default(),
        };
        let out = p.protect(alert, &policy);
        let body = serde_json::to_string(&out.alert().fields).unwrap();
        let text = out.alert().get("message").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        for sp in &s.seeded {
            let v = &s.text[sp.start..sp.end];
            if text.contains(v) {
                leaks.push(format!("{}: {v} in {text}", sp.kind));
            }
        }
        assert!(p.egress_check(&body, &out, &policy).is_empty(), "{text}");
        let again = p.protect(out.alert().clone(), &policy);
        assert_eq!(again.alert().fields, out.alert().fields, "protection is idempotent");
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks[..leaks.len().min(30)].join("\n"));
}
