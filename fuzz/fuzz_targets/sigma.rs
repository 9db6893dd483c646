//! Sigma YAML: any text parsed as a rule; a rule that parses is evaluated
//! against a sample alert, and a match cites only fields the alert has.
#![no_main]

use warden_core::Fields;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(rule) = warden_analyze::sigma::parse(text) else { return };
    let alert = warden_fuzz::sample_alert();
    if rule.matches(alert) {
        for (path, value) in rule.cited_fields(alert) {
            assert_eq!(alert.get(&path), Some(&value), "a cited field the alert does not hold");
        }
    }
});
