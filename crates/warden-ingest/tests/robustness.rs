//! No input makes a parser panic, and damaged real EVTX files are read as far
//! as they can be.

use std::path::Path;

use proptest::prelude::*;
use warden_core::Location;
use warden_ingest::{Options, Parsed, read};

fn opts() -> Options {
    Options::new(jiff::Timestamp::UNIX_EPOCH)
}

/// Every byte of the input is accounted for: each item is an alert or a
/// diagnostic, and iteration ends.
fn drain(bytes: &[u8]) -> (usize, usize) {
    let o = opts();
    let mut alerts = 0;
    let mut rejected = 0;
    for item in read(bytes, "prop", &o) {
        match item {
            Parsed::Alert(_) => alerts += 1,
            Parsed::Rejected(d) => {
                assert!(!d.reason.is_empty());
                rejected += 1;
            }
        }
    }
    (alerts, rejected)
}

/// Fragments that look like the inputs parsers meet, to be glued at random.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\n",
    " ",
    "\"EventID\"",
    "\"Event\"",
    "{\"System\":",
    "\"event_type\"",
    "\"class_uid\"",
    "4624",
    "-1e999",
    "null",
    "true",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\u{feff}",
    "\r\n",
    "\\",
    "\"@timestamp\":\"2026-01-01T00:00:00Z\"",
    "{\"a\":{\"b\":[1,{\"c\":2}]}}",
    "ElfFile\0",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain(&bytes);
    }

    #[test]
    fn json_like_noise_never_panics(parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..64)) {
        let text: String = parts.into_iter().map(|i| FRAGMENTS[i]).collect();
        drain(text.as_bytes());
    }

    #[test]
    fn evtx_magic_with_garbage_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..8192)) {
        let mut bytes = b"ElfFile\0".to_vec();
        bytes.extend(tail);
        let (alerts, rejected) = drain(&bytes);
        prop_assert!(alerts + rejected >= 1, "a broken EVTX file must at least be reported");
    }

    #[test]
    fn every_good_line_survives_its_broken_neighbours(good in 1usize..20, junk in proptest::collection::vec("[^\n]{0,40}", 0..20)) {
        let mut lines: Vec<String> = (0..good).map(|i| format!("{{\"n\":{i},\"event_type\":\"x\"}}")).collect();
        for (i, j) in junk.iter().enumerate() {
            lines.insert((i * 7) % (lines.len() + 1), format!("{{{j}"));
        }
        let (alerts, _) = drain(lines.join("\n").as_bytes());
        prop_assert!(alerts >= good, "{alerts} alerts from {good} good lines");
    }
}

fn shared_evtx(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/evtx").join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            eprintln!("skipped: {} is not present (shared reference data)", path.display());
            None
        }
    }
}

#[test]
fn real_evtx_files_are_read_record_by_record() {
    let Some(bytes) = shared_evtx("Security_short_selected.evtx") else {
        return;
    };
    let o = opts();
    let items: Vec<Parsed> = read(&bytes, "s.evtx", &o).collect();
    assert!(!items.is_empty());
    for item in &items {
        match item {
            Parsed::Alert(a) => {
                assert!(matches!(a.origin.location, Location::Record(_)));
                assert_eq!(a.format, warden_core::Format::Evtx);
                assert!(a.canon.contains_key(&warden_core::Canon::EventCode), "{:?}", a.fields);
            }
            Parsed::Rejected(d) => panic!("clean file rejected a record: {}", d.reason),
        }
    }
}

#[test]
fn damaged_evtx_file_reports_its_bad_chunk_and_keeps_the_rest() {
    let Some(bytes) = shared_evtx("sample_with_a_bad_chunk_magic.evtx") else {
        return;
    };
    let o = opts();
    let items: Vec<Parsed> = read(&bytes, "bad.evtx", &o).collect();
    let alerts = items.iter().filter(|i| matches!(i, Parsed::Alert(_))).count();
    let bad: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Parsed::Rejected(d) => Some(d),
            _ => None,
        })
        .collect();
    assert!(alerts > 100, "only {alerts} records read from the damaged file");
    assert!(!bad.is_empty(), "the bad chunk was not reported");
    let chunk = bad.iter().find(|d| matches!(d.origin.location, Location::Chunk(_))).expect("a chunk-level diagnostic");
    assert!(chunk.reason.contains("chunk"), "{}", chunk.reason);
    assert_eq!(chunk.raw.len(), 65536, "the whole bad chunk is kept for the dead-letter store");
}

/// Records complete before a cut are read at every cut point of a one-chunk
/// file; records are never invented from the zeros past the cut.
#[test]
fn a_truncated_evtx_file_keeps_every_record_complete_before_the_cut() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/new-user-security.evtx");
    let bytes = std::fs::read(path).unwrap();
    let o = opts();
    let records = |items: &[Parsed]| -> Vec<u64> {
        items
            .iter()
            .filter_map(|p| match p {
                Parsed::Alert(a) => match a.origin.location {
                    warden_core::Location::Record(r) => Some(r),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    };
    let whole = records(&read(&bytes, "w.evtx", &o).collect::<Vec<_>>());
    assert!(whole.len() >= 2, "{whole:?}");
    // Where each record ends: the smallest cut at which it is read.
    let mut last = 0;
    let mut cuts = 0;
    for cut in (4096 + 512..bytes.len()).step_by(97).chain([10104]) {
        let items: Vec<Parsed> = read(&bytes[..cut], "cut.evtx", &o).collect();
        let got = records(&items);
        assert_eq!(&whole[..got.len()], &got[..], "cut at {cut}: records in order, none invented");
        if cut != 10104 {
            assert!(got.len() >= last, "cut at {cut}: a longer prefix never yields fewer records");
            last = got.len();
        }
        assert!(
            items.iter().any(|p| matches!(p, Parsed::Rejected(d) if d.reason.contains("truncated"))),
            "cut at {cut}: the cut is reported"
        );
        cuts += 1;
    }
    assert!(cuts > 10);
    let at_10104: usize = read(&bytes[..10104], "cut.evtx", &o).filter(|p| matches!(p, Parsed::Alert(_))).count();
    assert_eq!(at_10104, whole.len(), "the end of the chunk's used data: every record is whole");
}
