//! A model's answer text: the closed schema either refuses it with a reason
//! code or makes an assessment, which validation then grounds against a
//! sample alert without panicking; an assessment whose evidence validation
//! accepts cites only fields the alert holds with the values it holds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let info = warden_core::AnalyzerInfo {
        name: "fuzz".into(),
        version: "0".into(),
        model: None,
        provider: None,
        ruleset: None,
    };
    match warden_analyze::llm::decode_answer(text, info) {
        Err((code, reason)) => assert!(!code.is_empty() && !reason.is_empty()),
        Ok(assessment) => {
            let alert = warden_fuzz::sample_alert();
            let _ = warden_analyze::validate(&assessment, alert);
            for e in &assessment.evidence {
                let _ = warden_analyze::evidence_holds(alert, e);
            }
        }
    }
});
