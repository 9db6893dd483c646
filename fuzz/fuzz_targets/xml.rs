//! Windows events in XML: any bytes behind an `<Event` (the XML reader's
//! framing, its entity handling and its EVTX-shaped rendering).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = Vec::with_capacity(data.len() + 8);
    if !data.starts_with(b"<") {
        input.extend_from_slice(b"<Event ");
    }
    input.extend_from_slice(data);
    warden_fuzz::ingest(&input, None);
});
