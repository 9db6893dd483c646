//! Splunk HEC bodies: split, read and checked per event.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| warden_fuzz::hec(data));
