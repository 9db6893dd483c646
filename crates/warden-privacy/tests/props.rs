//! Properties over generated inputs: no seeded value survives protection for
//! an external provider, protection is idempotent, tokens round-trip.

use proptest::prelude::*;
use warden_core::DataClass;
use warden_privacy::{Handling, Options, Protector, ProviderPolicy, Residency};

fn luhn_complete(mut digits: Vec<u32>) -> String {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect()
}

/// A PII value of some kind, as raw text.
fn pii() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z]{3,10}", "[a-z]{3,8}").prop_map(|(u, d)| format!("{u}@{d}.example.com")),
        (11u8..=99, any::<u8>(), any::<u8>(), 1u8..=254).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        (any::<u8>(), any::<u8>(), 1u8..=254).prop_map(|(b, c, d)| format!("10.{b}.{c}.{d}")),
        proptest::collection::vec(0u32..10, 14).prop_map(|mut v| {
            v[0] = 4;
            luhn_complete(v)
        }),
        (1u32..=665, 1u32..=99, 1u32..=9999).prop_map(|(a, b, c)| format!("{a:03}-{b:02}-{c:04}")),
        "[A-Z2-7]{16}".prop_map(|k| format!("AKIA{k}")),
        ("[A-Z]{3,6}", "[a-z]{3,10}").prop_map(|(d, u)| format!("{d}\\{u}")),
        "[A-Z][a-z]{3,8}[0-9]{2}[!#%][A-Z][a-z]{2}".prop_map(|p| format!("-Password {p}")),
        "[A-Za-z0-9!#%]{8,14}".prop_map(|p| format!("net use \\\\fs\\s /user:CORP\\bob {p}")),
        (200u32..999, 100u32..999, 0u32..9999).prop_map(|(a, b, c)| format!("({a}) {b}-{c:04}")),
        "[0-9a-f]{3}[a-f]\\.[0-9a-f]{4}\\.[0-9a-f]{4}".prop_map(|m| format!("mac {m}")),
        ("[A-Z][a-z]{3,8}", "[A-Z][a-z]{3,10}").prop_map(|(g, s)| format!("Dear {g} {s},")),
        "[A-Za-z0-9/+]{40}".prop_map(|k| format!("AWS_SECRET_ACCESS_KEY={k}")),
    ]
}

fn noise() -> impl Strategy<Value = String> {
    prop_oneof![Just("login from".to_owned()), Just("cmd.exe /c".to_owned()), Just("user".to_owned()), "[a-z]{1,8}"]
}

fn external() -> ProviderPolicy {
    ProviderPolicy {
        name: "external".into(),
        residency: Residency::External,
        classes: [(DataClass::IpPublic, Handling::Tokenise)].into(),
        unclassified: Handling::Raw,
    }
}

fn alert(fields: &[(String, String)]) -> warden_core::Alert {
    let doc: serde_json::Map<String, serde_json::Value> =
        fields.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    let opts = warden_ingest::Options::new(jiff::Timestamp::UNIX_EPOCH);
    let bytes = serde_json::to_vec(&doc).unwrap();
    match warden_ingest::read(&bytes, "prop", &opts).next().unwrap() {
        warden_ingest::Parsed::Alert(a) => *a,
        warden_ingest::Parsed::Rejected(d) => panic!("{}", d.reason),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_generated_value_survives_and_protection_is_idempotent(
        parts in proptest::collection::vec((noise(), pii()), 1..6),
        key in "[a-z]{3,8}",
    ) {
        let p = Protector::new(Options { tenant: "prop".into(), ..Options::default() }, [9; 32]).unwrap();
        let text: String = parts.iter().map(|(n, v)| format!("{n} {v} ")).collect();
        let a = alert(&[(format!("{key}_msg"), text), ("rule".into(), parts[0].1.clone())]);
        let protected = p.protect(a, &external());
        let body = serde_json::to_string(&protected.alert().fields).unwrap();
        for (_, raw) in &parts {
            let escaped = raw.replace('\\', "\\\\");
            prop_assert!(!body.contains(raw.as_str()) && !body.contains(&escaped), "{raw} in {body}");
        }
        let again = p.protect(protected.alert().clone(), &external());
        prop_assert_eq!(&again.alert().fields, &protected.alert().fields);
        for e in protected.vault_entries() {
            let original = p.open(e).unwrap();
            prop_assert_eq!(p.token(e.class, &original), e.token.clone());
        }
    }
}
