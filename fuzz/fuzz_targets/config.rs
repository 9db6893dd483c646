//! Configuration TOML: any text is a configuration or a list of errors
//! (never a panic), and a configuration that loads validates again.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match warden_engine::Config::parse(text, "fuzz.toml", std::iter::empty()) {
        Ok(config) => assert!(config.validate().is_ok(), "a loaded configuration fails validation"),
        Err(errors) => assert!(!errors.0.is_empty(), "a refusal without an error"),
    }
});
