//! Zeek JSON logs: any bytes as the rest of an object that already says it
//! is a Zeek record, so detection, the mapping and the telemetry rule run.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = br#"{"_path":"conn","ts":1.5,"#.to_vec();
    input.extend_from_slice(data);
    warden_fuzz::ingest(&input, None);
});
