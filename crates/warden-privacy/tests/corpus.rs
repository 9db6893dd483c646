//! A corpus written for this project with PII seeded into every field kind
//! (top-level and nested fields, arrays, free text, rule titles, URLs,
//! base64-wrapped command lines): protected for an external provider, no
//! seeded value may remain; per-kind recall and precision are printed.

use std::collections::{BTreeMap, BTreeSet};

use warden_core::DataClass;
use warden_privacy::{Handling, Options, ProtectedAlert, Protector, ProviderPolicy, Residency};

fn external() -> ProviderPolicy {
    ProviderPolicy {
        name: "external".into(),
        residency: Residency::External,
        classes: [(DataClass::IpPublic, Handling::Tokenise)].into(),
        unclassified: Handling::Raw,
    }
}

/// The protected corpus, the protector, the seeded (value, class) pairs and the Luhn-failing decoys.
type Corpus = (Vec<ProtectedAlert>, Protector, Vec<(String, String)>, Vec<String>);

fn corpus() -> Corpus {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let bytes = std::fs::read(dir.join("pii-corpus.ndjson")).unwrap();
    let values: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("pii-values.json")).unwrap()).unwrap();
    let seeded: Vec<(String, String)> = values["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["value"].as_str().unwrap().to_owned(), v["class"].as_str().unwrap().to_owned()))
        .collect();
    let not_cards = values["not_cards"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let p = Protector::new(Options { tenant: "corpus".into(), ..Options::default() }, [3; 32]).unwrap();
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    let policy = external();
    let protected = warden_ingest::read(&bytes, "corpus", &opts)
        .map(|item| match item {
            warden_ingest::Parsed::Alert(a) => p.protect(*a, &policy),
            warden_ingest::Parsed::Rejected(d) => panic!("corpus line rejected: {}", d.reason),
        })
        .collect();
    (protected, p, seeded, not_cards)
}

/// The body a provider would receive: every field value, serialised.
fn body(p: &ProtectedAlert) -> String {
    serde_json::to_string(&p.alert().fields).unwrap()
}

fn leaks(text: &str, raw: &str) -> bool {
    // JSON escapes backslashes; look for the raw value both ways, and case-folded.
    let escaped = raw.replace('\\', "\\\\");
    let t = text.to_lowercase();
    text.contains(raw)
        || text.contains(&escaped)
        || t.contains(&raw.to_lowercase())
        || t.contains(&escaped.to_lowercase())
}

#[test]
fn no_seeded_value_reaches_an_external_provider_and_recall_meets_the_targets() {
    let (protected, p, seeded, not_cards) = corpus();
    let all: String = protected.iter().map(body).collect::<Vec<_>>().join("\n");
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut leaked = Vec::new();
    for (raw, class) in &seeded {
        let e = per_kind.entry(class.clone()).or_default();
        e.1 += 1;
        if leaks(&all, raw) {
            leaked.push(format!("{class}: {raw}"));
        } else {
            e.0 += 1;
        }
    }
    // Precision: of the originals behind each class's tokens, how many were seeded as that class.
    let seeded_by_value: BTreeMap<&str, &str> = seeded.iter().map(|(v, c)| (v.as_str(), c.as_str())).collect();
    let mut tokens: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut cards_from_decoys = 0;
    let mut seen = BTreeSet::new();
    for pa in &protected {
        for e in pa.vault_entries() {
            if !seen.insert(e.token.clone()) {
                continue;
            }
            let original = p.open(e).unwrap();
            let t = tokens.entry(e.class.as_str().to_owned()).or_default();
            t.1 += 1;
            let cls = e.class.as_str();
            let same = |c: &str| c == cls || (cls.starts_with("ip_") && c.starts_with("ip_"));
            let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            if seeded_by_value.get(original.as_str()).is_some_and(|c| same(c))
                || seeded.iter().any(|(v, c)| {
                    same(c) && (squash(v).contains(&squash(&original)) || squash(&original).contains(&squash(v)))
                })
            {
                t.0 += 1;
            }
            if e.class == DataClass::PaymentCard && not_cards.iter().any(|d| original.contains(d.as_str())) {
                cards_from_decoys += 1;
            }
        }
    }
    eprintln!("{:<14} {:>8} {:>10}", "kind", "recall", "precision");
    for (kind, (hit, n)) in &per_kind {
        let prec = tokens.get(kind).map(|(ok, n)| *ok as f64 / (*n).max(1) as f64);
        eprintln!(
            "{kind:<14} {:>8.3} {:>10}",
            *hit as f64 / *n as f64,
            prec.map(|p| format!("{p:.3}")).unwrap_or_else(|| "-".into())
        );
    }
    assert!(leaked.is_empty(), "{} seeded values reached the provider:\n{}", leaked.len(), leaked.join("\n"));
    for kind in ["email", "ip_public", "ip_private", "payment_card", "iban", "national_id", "secret"] {
        let (hit, n) = per_kind[kind];
        assert!(hit as f64 / n as f64 >= 0.99, "{kind} recall {hit}/{n}");
    }
    assert_eq!(cards_from_decoys, 0, "a number failing Luhn is not a card");
    for pa in &protected {
        let found = p.egress_check(&body(pa), pa, &external());
        assert!(found.is_empty(), "{:?}: {found:?}\n{}", pa, body(pa));
    }
}

#[test]
fn protection_is_idempotent_and_tokens_round_trip_on_the_corpus() {
    let (protected, p, _, _) = corpus();
    for pa in &protected {
        let again = p.protect(pa.alert().clone(), &external());
        assert_eq!(again.alert().fields, pa.alert().fields);
        for e in pa.vault_entries() {
            let original = p.open(e).unwrap();
            assert_eq!(p.token(e.class, &original), e.token);
        }
    }
}
