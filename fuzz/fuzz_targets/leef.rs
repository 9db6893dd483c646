//! LEEF 1.0/2.0 records (delimiters, attributes): any bytes behind
//! `LEEF:2.0|`, one record per line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = b"LEEF:2.0|".to_vec();
    input.extend_from_slice(data);
    warden_fuzz::ingest(&input, None);
});
