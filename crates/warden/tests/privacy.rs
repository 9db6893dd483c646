//! The privacy faults found by trying Warden as a new user would, each as a
//! regression test through the binary: what `warden preview --provider
//! external` may show, what an analyst's evidence bundle shows, and that an
//! export without a token is refused.

use std::path::{Path, PathBuf};

mod common;

use common::{user_with_token, warden};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the report, each with the values that must not reach the provider.
const LEAKS: &[(&str, &[&str])] = &[
    (
        r#"{"process":{"command_line":"net use \\\\fs01\\share /user:CORP\\ana.silva Winter2026!Pass"}}"#,
        &["Winter2026!Pass", "ana.silva"],
    ),
    (
        r#"{"message":"export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY; aws_secret_access_key=AbCdEf0123456789GhIjKlMnOpQrStUvWxYz98"}"#,
        &["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AbCdEf0123456789GhIjKlMnOpQrStUvWxYz98"],
    ),
    (
        r#"{"process":{"command_line":"powershell -NoP -Command New-LocalUser -Name x -Password P@ssw0rd"}}"#,
        &["P@ssw0rd"],
    ),
    (r#"{"process":{"command_line":"Invoke-Deploy -Password Hunter2"}}"#, &["Hunter2"]),
    (
        r#"{"message":"SSN 536228274 on file; ITIN 912-70-1234; sqlcmd --where=\"ssn='987-65-4321'\""}"#,
        &["536228274", "912-70-1234", "987-65-4321"],
    ),
    (
        r#"{"message":"Customer Rachel Okafor wrote in. Dear Aisha Bello, your case was escalated to Fatima Novak."}"#,
        &["Rachel Okafor", "Aisha Bello", "Fatima Novak", "Okafor"],
    ),
    (
        r#"{"message":"callback 415.555.0199, mobile 07700 900123, phone 2125557788"}"#,
        &["415.555.0199", "07700 900123", "2125557788"],
    ),
    (r#"{"message":"new device mac 001a.2b3c.4d60 on port 12"}"#, &["001a.2b3c.4d60"]),
    (r#"{"url":{"full":"https://crm.example.com/search?q=rachel.okafor%40example.com"}}"#, &["rachel.okafor"]),
    (
        r#"{"host":{"name":"hr-db-02.corp.example.com"},"user":{"name":"mjones"},"rule":{"name":"Mass download by mjones on hr-db-02"}}"#,
        &["mjones", "hr-db-02"],
    ),
];

#[test]
fn preview_for_the_external_provider_shows_none_of_the_reported_values_and_the_egress_check_agrees() {
    let data = tempfile::tempdir().unwrap();
    let input = data.path().join("leaks.ndjson");
    std::fs::write(&input, LEAKS.iter().map(|(l, _)| format!("{l}\n")).collect::<String>()).unwrap();
    let o = warden(data.path())
        .arg("--config")
        .arg(repo().join("examples/warden.toml"))
        .arg("preview")
        .arg(&input)
        .args(["--provider", "external"])
        .output()
        .unwrap();
    // Exit 0: the egress check, run on exactly what is shown, blocked nothing.
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), LEAKS.len(), "{out}");
    let folded = out.to_lowercase();
    for ((line, values), shown) in LEAKS.iter().zip(out.lines()) {
        for v in *values {
            let json = serde_json::to_string(v).unwrap();
            let json = json.trim_matches('"');
            assert!(
                !shown.contains(v) && !shown.contains(json) && !folded.contains(&v.to_lowercase()),
                "{v} from {line} reached the preview:\n{shown}"
            );
        }
    }
}

#[test]
fn an_analysts_evidence_bundle_keeps_operational_identifiers_and_tokenises_customer_data() {
    let data = tempfile::tempdir().unwrap();
    let input = data.path().join("a.ndjson");
    let line = r#"{"@timestamp":"2026-11-20T10:00:00Z","event":{"kind":"alert"},"host":{"name":"ws-042"},"user":{"name":"jdoe"},"source":{"ip":"203.0.113.7"},"process":{"command_line":"mimikatz \"privilege::debug\" \"sekurlsa::logonpasswords\" exit"},"message":"S-1-5-21-1004336348-1177238915-3887364011-2054 DisplayName %%1793 xmlns http://schemas.microsoft.com/win/2004/08/events/event card 4111 1111 1111 1111 for Customer Rachel Okafor"}"#;
    std::fs::write(&input, format!("{line}\n")).unwrap();
    let t = warden(data.path()).arg("triage").arg(&input).output().unwrap();
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let conn = rusqlite::Connection::open(data.path().join("warden.db")).unwrap();
    let id: String = conn.query_row("SELECT id FROM alerts LIMIT 1", [], |r| r.get(0)).unwrap();
    drop(conn);

    let refused =
        warden(data.path()).args(["audit", "export", "--alert", &id]).env_remove("WARDEN_TOKEN").output().unwrap();
    assert!(!refused.status.success(), "an export without a token is refused");
    let auditor = user_with_token(data.path(), "aud", "auditor");
    let analyst = user_with_token(data.path(), "ann", "analyst");
    let admin = user_with_token(data.path(), "adm", "admin");
    let export = |token: &str| {
        warden(data.path()).args(["audit", "export", "--alert", &id]).env("WARDEN_TOKEN", token).output().unwrap()
    };
    assert!(!export("not-a-token").status.success(), "a token that is not one is refused");
    // An analyst's bundle follows the analyst's view: the host as it is, the customer's data as tokens.
    let a = export(analyst.trim());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let ab: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let aa = ab["alert"].to_string();
    assert!(aa.contains("ws-042") && aa.contains("jdoe") && aa.contains("203.0.113.7"), "{aa}");
    assert!(!aa.contains("4111 1111") && !aa.contains("Okafor"), "{aa}");
    assert!(export(admin.trim()).status.success(), "admins read the audit trail");
    let ok = warden(data.path())
        .args(["audit", "export", "--alert", &id])
        .env("WARDEN_TOKEN", auditor.trim())
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let bundle: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    let alert = bundle["alert"].to_string();
    assert!(!alert.contains("4111 1111") && !alert.contains("Okafor"), "{alert}");
    assert!(!alert.contains("ws-042"), "auditors see tokens for hosts too: {alert}");
    for kept in [
        r#"\"privilege::debug\" \"sekurlsa::logonpasswords\""#,
        "S-1-5-21-1004336348-1177238915-3887364011-2054",
        "%%1793",
        "http://schemas.microsoft.com/win/2004/08/events/event",
    ] {
        assert!(alert.contains(kept), "{kept} must come through unchanged: {alert}");
    }
}
