//! EVTX binary: any bytes after the file magic, read with format detection
//! (the magic routes them to the EVTX reader, its chunk recovery included).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = Vec::with_capacity(data.len() + 8);
    if !data.starts_with(b"ElfFile\0") {
        input.extend_from_slice(b"ElfFile\0");
    }
    input.extend_from_slice(data);
    warden_fuzz::ingest(&input, None);
});
