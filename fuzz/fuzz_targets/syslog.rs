//! Syslog lines (RFC 3164 and 5424 behind a priority): any bytes behind `<13>`, one record per line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"<13>".to_vec();
    input.extend_from_slice(data);
    warden_fuzz::ingest(&input, None);
});
