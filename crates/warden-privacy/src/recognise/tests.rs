use super::*;
use base64::Engine as _;

fn classes(text: &str) -> Vec<(String, DataClass)> {
    let r = Recognisers::new(&[]).unwrap();
    r.scan(text, &[]).into_iter().map(|h| (text[h.start..h.end].to_owned(), h.class)).collect()
}

fn has(text: &str, value: &str, class: DataClass) -> bool {
    classes(text).iter().any(|(v, c)| v == value && *c == class)
}

#[test]
fn cards_must_pass_luhn() {
    assert_eq!(classes("card 4111 1111 1111 1111 ok"), [("4111 1111 1111 1111".into(), DataClass::PaymentCard)]);
    assert!(classes("order 4111 1111 1111 1112").iter().all(|(_, c)| *c != DataClass::PaymentCard));
}

#[test]
fn ibans_ssns_and_ids_are_checked() {
    assert_eq!(classes("pay GB82 WEST 1234 5698 7654 32 now")[0].1, DataClass::Iban);
    assert!(classes("GB82 WEST 1234 5698 7654 33").is_empty(), "{:?}", classes("GB82 WEST 1234 5698 7654 33"));
    assert_eq!(classes("ssn 123-45-6789")[0].1, DataClass::NationalId);
    assert!(classes("ssn 000-45-6789").is_empty());
    assert_eq!(classes("dni 12345678Z")[0].1, DataClass::NationalId);
    assert!(has("SSN: 536228274 on file", "536228274", DataClass::NationalId));
    assert!(classes("order 536228274 shipped").is_empty(), "nine digits alone are not an SSN");
    assert!(has("itin 912-70-1234", "912-70-1234", DataClass::NationalId));
    assert!(has(r#"--where="ssn='987-65-4321'""#, "987-65-4321", DataClass::NationalId));
    assert!(has("NI number AB 12 34 56 C", "AB 12 34 56 C", DataClass::NationalId));
    assert!(has("CF RSSMRA85T10A562S", "RSSMRA85T10A562S", DataClass::NationalId));
}

#[test]
fn phones_in_national_formats() {
    for (t, v) in [
        ("call 415.555.0199 now", "415.555.0199"),
        ("mobile 07700 900123", "07700 900123"),
        ("phone: 2125557788", "2125557788"),
        ("(415) 555-0199", "(415) 555-0199"),
        ("tel +44 20 7946 0958", "+44 20 7946 0958"),
        ("06 12 34 56 78 est mon numéro", "06 12 34 56 78"),
        ("020 7946 0958", "020 7946 0958"),
    ] {
        assert!(has(t, v, DataClass::Phone), "{t}: {:?}", classes(t));
    }
    for t in ["pid 2125557788", "took 1732060800 ms", "port 8443", "2026-11-20 10:00:00", "version 10.0.19041.1"] {
        assert!(classes(t).iter().all(|(_, c)| *c != DataClass::Phone), "{t}: {:?}", classes(t));
    }
}

#[test]
fn macs_in_all_three_notations() {
    for m in ["00:1a:2b:3c:4d:5e", "00-1A-2B-3C-4D-5E", "001a.2b3c.4d60"] {
        assert!(has(&format!("mac {m} seen"), m, DataClass::Mac), "{m}");
    }
}

#[test]
fn addresses_users_hosts_and_secrets_in_free_text() {
    let t = r"net use \\files.corp.example.com\share /user:CORP\jdoe /password:S3cr3t! from 10.1.2.3 and 2001:db8::1 mail jane@example.org C:\Users\mrossi\x.exe";
    let got = classes(t);
    let h = |v: &str, c: DataClass| got.iter().any(|(x, k)| x == v && *k == c);
    assert!(h("files.corp.example.com", DataClass::Hostname), "{got:?}");
    assert!(h("jdoe", DataClass::Username), "{got:?}");
    assert!(h("S3cr3t!", DataClass::Secret), "{got:?}");
    assert!(h("10.1.2.3", DataClass::IpPrivate), "{got:?}");
    assert!(h("2001:db8::1", DataClass::IpPublic), "{got:?}");
    assert!(h("jane@example.org", DataClass::Email), "{got:?}");
    assert!(h("mrossi", DataClass::Username), "{got:?}");
    assert!(!got.iter().any(|(v, _)| v.ends_with(".exe")), "file names are not hosts: {got:?}");
}

#[test]
fn secrets_on_command_lines_and_in_assignments() {
    let s = DataClass::Secret;
    assert!(has(r"net use \\fs01\share /user:CORP\ana.silva Winter2026!Pass", "Winter2026!Pass", s));
    assert!(has(
        "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        s
    ));
    assert!(has("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI/K7MDENG", s));
    assert!(has("Invoke-Deploy -Password Hunter2", "Hunter2", s));
    assert!(has("powershell -Command New-LocalUser -Password P@ssw0rd", "P@ssw0rd", s));
    assert!(has("Server=db1;User Id=sa;Password=Sql!2026;", "Sql!2026", s));
    assert!(has("Authorization: Bearer abcdef0123456789", "abcdef0123456789", s));
    assert!(has("https://bob:hunter22@example.com/x", "hunter22", s));
    assert!(has(r#"{"password": "p4ss"}"#, "p4ss", s));
    assert!(classes("TokenElevationType: %%1936").is_empty());
    assert!(classes("passwordLastSet: 2026-01-02").is_empty());
}

#[test]
fn nothing_is_found_inside_tokens_that_mean_something_else() {
    for t in [
        r#"mimikatz "privilege::debug" "sekurlsa::logonpasswords""#,
        "S-1-5-21-3623811015-3361044348-30300820-1013",
        "S-1-5-21-1004336348-1177238915-3887364011-2054",
        "{8f14e45f-ceea-467a-9af0-2f6d1f2f8d1e}",
        "%%1793",
        "xmlns=http://schemas.microsoft.com/win/2004/08/events/event",
        "sha256=5d41402abc4b2a76b9719d911017c592e3b0c44298fc1c149afbf4c8996fb924",
        "ProcessId: 4242 port 445",
        "version 10.0.19041.1",
        "GB82 WEST 1234 5698 7654 33",
        "build 999.1.2.3",
        "<EMAIL_0123456789> and <IP_9876543210>",
        "std::vector and a::b",
    ] {
        assert!(classes(t).is_empty(), "{t}: {:?}", classes(t));
    }
}

#[test]
fn encoded_values_are_decoded_before_scanning() {
    assert!(has("u=rachel.okafor%40example.com&x=1", "rachel.okafor%40example.com", DataClass::Email));
    let inner: Vec<u8> =
        "Send-MailMessage -To boss@victim.example".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
    assert_eq!(classes(&format!("powershell -enc {b64}")), [(b64, DataClass::Email)]);
    let hex: String = "mail to ceo@victim.example".bytes().map(|b| format!("{b:02x}")).collect();
    assert!(has(&format!("payload {hex}"), &hex, DataClass::Email));
}

#[test]
fn accounts_inside_ldap_names_are_found() {
    let got = classes("CN=svc_sql_bkp,OU=Service Accounts,DC=corp,DC=example,DC=com");
    assert!(got.contains(&("svc_sql_bkp".into(), DataClass::Username)), "{got:?}");
}

#[test]
fn names_in_free_text() {
    assert!(has("Customer Rachel Okafor reported fraud", "Rachel Okafor", DataClass::PersonName));
    assert!(has("Dear Aisha Bello,", "Aisha Bello", DataClass::PersonName));
    assert!(has("escalated to Fatima Novak", "Fatima Novak", DataClass::PersonName));
}
