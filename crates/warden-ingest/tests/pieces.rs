//! Reading an input in pieces gives exactly what reading it whole gives:
//! the same alerts and rejections, in order, with the same origins (lines
//! and chunk numbers counted across pieces) and reasons.

use std::path::{Path, PathBuf};

use warden_ingest::{Options, Parsed, Pieces, read, read_at};

fn opts() -> Options {
    Options::new(jiff::Timestamp::UNIX_EPOCH)
}

fn describe(item: Parsed) -> String {
    match item {
        Parsed::Alert(a) => format!("alert {} {}", a.origin, a.id),
        // The reason up to the evtx crate's own words, which count chunks within a piece.
        Parsed::Rejected(d) => {
            let reason = d.reason.split(": Failed to").next().unwrap_or_default().to_owned();
            format!("rejected {}: {reason} ({} bytes)", d.origin, d.raw.len())
        }
    }
}

fn whole(bytes: &[u8]) -> Vec<String> {
    read(bytes, "f", &opts()).map(describe).collect()
}

/// Pieces of the smallest size (one EVTX chunk, 68 KiB of JSON).
fn in_pieces(bytes: &[u8]) -> (Vec<String>, usize) {
    let o = opts();
    let mut out = Vec::new();
    let mut n = 0;
    for piece in Pieces::seekable(std::io::Cursor::new(bytes), 0) {
        let piece = piece.unwrap();
        n += 1;
        out.extend(read_at(&piece.bytes, "f", &o, piece.start).map(describe));
    }
    (out, n)
}

fn shared(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(name);
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} is not here (the shared data set is absent)", p.display());
        None
    }
}

#[test]
fn ndjson_with_errors_reads_the_same_in_pieces() {
    let mut bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/mixed-with-errors.ndjson")).unwrap();
    for i in 0..20_000 {
        let line = match i % 97 {
            13 => "{\"broken\": \n".to_owned(),
            29 => "{\"a\":1,\"a\":2}\n".to_owned(),
            41 => "not json at all }\n".to_owned(),
            _ => format!("{{\"event\":{{\"id\":{i}}},\"host\":\"h{}\",\"msg\":\"{}\"}}\n", i % 7, "x".repeat(i % 40)),
        };
        bytes.extend_from_slice(line.as_bytes());
    }
    bytes.extend_from_slice(b"{\"last\": true, \"no newline\": 1}");
    let (pieces, n) = in_pieces(&bytes);
    assert!(n > 10, "the input is cut into {n} pieces");
    let whole = whole(&bytes);
    assert!(whole.iter().any(|l| l.starts_with("rejected")) && whole.iter().any(|l| l.starts_with("alert")));
    assert_eq!(pieces, whole);
}

#[test]
fn evtx_with_a_bad_chunk_and_cut_short_reads_the_same_in_pieces() {
    let Some(path) = shared("evtx/sample_with_a_bad_chunk_magic.evtx") else { return };
    let bytes = std::fs::read(path).unwrap();
    for cut in [bytes.len(), 4096 + 7 * 65536 + 30_000, 4096 + 3 * 65536] {
        let bytes = &bytes[..cut];
        let (pieces, n) = in_pieces(bytes);
        assert!(n > 1, "cut at {cut}: {n} pieces");
        let whole = whole(bytes);
        assert!(whole.len() > 10, "cut at {cut}: {} items", whole.len());
        assert_eq!(pieces, whole, "cut at {cut}");
    }
}

#[test]
fn a_multi_chunk_capture_reads_the_same_in_pieces() {
    let Some(path) = shared("dev-evtx/benign/velocidex-evtx-Security.evtx") else { return };
    let bytes = std::fs::read(path).unwrap();
    let (pieces, n) = in_pieces(&bytes);
    assert!(n > 10, "{n} pieces");
    assert_eq!(pieces, whole(&bytes));
}
