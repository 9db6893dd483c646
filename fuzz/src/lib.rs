//! What every fuzz target checks beyond "no panic": the invariants a reader
//! promises its callers, so a wrong answer fails as loudly as a crash.

use warden_core::{Alert, Fields, Format};
use warden_ingest::{Options, Parsed};

fn options(format: Option<Format>) -> Options {
    let mut o = Options::new(jiff::Timestamp::UNIX_EPOCH);
    o.format = format;
    o
}

/// Reads `data` as one input, forced to `format` (or detected), and checks
/// each item: an alert has fields, the forced format, an id made from its
/// fingerprint and fields within the limits; a rejection says why; the
/// reader's position never passes the input's end.
pub fn ingest(data: &[u8], format: Option<Format>) {
    let opts = options(format);
    let mut reader = warden_ingest::read(data, "fuzz", &opts);
    let mut n = 0usize;
    while let Some(item) = reader.next() {
        n += 1;
        assert!(reader.position() <= reader.total(), "position past the end");
        match item {
            Parsed::Alert(a) => check_alert(&a, format, &opts),
            Parsed::Rejected(d) => assert!(!d.reason.is_empty(), "a rejection without a reason"),
        }
        // Every item costs input: a reader that yields forever is a bug.
        assert!(n <= data.len() + 1, "more items than input bytes");
    }
}

fn check_alert(a: &Alert, format: Option<Format>, opts: &Options) {
    assert!(!a.fields.is_empty(), "an alert without fields");
    if let Some(f) = format {
        assert_eq!(a.format, f, "the forced format was not kept");
    }
    assert_eq!(a.id, warden_core::AlertId::from_fingerprint(&a.fingerprint), "id not from fingerprint");
    assert_eq!(a.fingerprint, warden_ingest::fingerprint(a.format, &a.fields), "fingerprint not from fields");
    let mut count = 0;
    // (An empty path is legal: JSON allows the key "".)
    for (_, value) in a.fields.iter() {
        count += 1;
        if let warden_core::Value::Str(s) = value {
            assert!(s.len() <= opts.limits.max_field_bytes, "a field over the limit");
        }
    }
    assert!(count <= opts.limits.max_fields, "more fields than the limit");
}

/// A HEC body: every event read as an alert or rejected with a reason.
pub fn hec(data: &[u8]) {
    let opts = options(None);
    for item in warden_ingest::read_hec(data, &opts) {
        match item {
            Parsed::Alert(a) => check_alert(&a, None, &opts),
            Parsed::Rejected(d) => assert!(!d.reason.is_empty(), "a rejection without a reason"),
        }
    }
}

/// The alert the Sigma and model-output targets are checked against.
pub fn sample_alert() -> &'static Alert {
    static ALERT: std::sync::OnceLock<Alert> = std::sync::OnceLock::new();
    ALERT.get_or_init(|| {
        let doc = br#"{"EventID":4688,"Channel":"Security","Computer":"ws01.corp.example",
            "NewProcessName":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami /all",
            "SubjectUserName":"ana","ParentProcessName":"C:\\Windows\\explorer.exe","Count":3,"Ratio":0.5}"#;
        match warden_ingest::read(doc, "sample", &options(Some(Format::Evtx))).next() {
            Some(Parsed::Alert(a)) => *a,
            other => panic!("the sample alert does not parse: {other:?}"),
        }
    })
}
