//! Any bytes read as Ocsf records (format forced): no panic, and every alert keeps the reader's promises.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::ingest(data, Some(warden_core::Format::Ocsf)));
