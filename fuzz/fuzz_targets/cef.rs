//! CEF records (header escapes, extension keys and values): any bytes behind
//! `CEF:0|`, one record per line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"CEF:0|".to_vec();
    input.extend_from_slice(data);
    warden_fuzz::ingest(&input, None);
});
