//! A labelled corpus of log lines with personal data and secrets seeded in
//! realistic positions, and decoys that must not be flagged (PIDs, ports,
//! versions, IPv4-shaped versions, timestamps, GUIDs, hashes, SIDs, order
//! numbers, Luhn-failing cards, checksum-failing IBANs, `%%` message ids,
//! schema URLs, `::` in command lines). Deterministic for a seed, so a
//! scorecard is reproducible; `warden dev pii-corpus` writes it for other
//! tools (Presidio) to be scored on the same lines.

use std::collections::BTreeMap;

use serde::Serialize;
use warden_core::DataClass;

use crate::Recognisers;

/// A labelled span, in bytes of [`Sample::text`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
}

/// One log line with what is seeded in it and what must be left alone.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub text: String,
    pub seeded: Vec<Span>,
    pub decoys: Vec<Span>,
}

/// The kinds seeded, as data class names.
pub const KINDS: &[&str] = &[
    "email",
    "ip_public",
    "ip_private",
    "hostname",
    "username",
    "person_name",
    "phone",
    "payment_card",
    "national_id",
    "iban",
    "mac",
    "secret",
];

/// SplitMix64: small, fast and the same everywhere (the labelled corpora's generator).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b"0123456789abcdef"[self.below(16)])).collect()
    }
}

enum Piece {
    Lit(String),
    Seed(&'static str, String),
    Decoy(&'static str, String),
}

use Piece::{Decoy, Lit, Seed};

fn lit(s: &str) -> Piece {
    Lit(s.to_owned())
}

// Names from many places, some in the Census lists the recogniser knows and many not.
const GIVEN: &[&str] = &[
    "Rachel", "Aisha", "Fatima", "Wei", "Hugo", "Ines", "Farah", "Mateo", "Olga", "Kwame", "Priya", "Sven", "Yuki",
    "Amara", "Diego", "Ngozi", "Lars", "Mei", "Tomasz", "Chloe", "James", "Maria", "David", "Sarah", "Ahmed", "Elena",
];
const SURNAMES: &[&str] = &[
    "Okafor",
    "Bello",
    "Novak",
    "Rossi",
    "Smith",
    "Garcia",
    "Kowalski",
    "Nakamura",
    "Haddad",
    "Mensah",
    "Lindqvist",
    "Dubois",
    "Silva",
    "Johnson",
    "Chen",
    "Patel",
    "Schmidt",
    "Ivanova",
    "Brown",
    "Martin",
    "Nguyen",
    "Fischer",
];
const DOMAINS: &[&str] = &["example.com", "mail.example.org", "corp.example.net", "example.co.uk", "example.de"];
const HOST_PREFIXES: &[&str] = &["ws", "hr-db", "fin-app", "dc", "laptop", "srv-web", "vpn-gw", "mail"];

fn given(r: &mut Rng) -> &'static str {
    r.pick(GIVEN)
}
fn surname(r: &mut Rng) -> &'static str {
    r.pick(SURNAMES)
}

fn user(r: &mut Rng) -> String {
    match r.below(3) {
        0 => format!("{}.{}", given(r).to_lowercase(), surname(r).to_lowercase()),
        1 => format!("{}{}", &given(r).to_lowercase()[..1], surname(r).to_lowercase()),
        _ => format!("svc_{}{}", r.pick(&["sql", "backup", "deploy", "scan"]), r.digits(2)),
    }
}

fn email(r: &mut Rng) -> String {
    format!("{}@{}", user(r).replace("svc_", "ops."), r.pick(DOMAINS))
}

fn host(r: &mut Rng) -> String {
    format!(
        "{}-{}.{}",
        r.pick(HOST_PREFIXES),
        r.digits(2),
        r.pick(&["corp.example.com", "internal.example.net", "example.local"])
    )
}

fn ip_public(r: &mut Rng) -> String {
    let a = [23, 31, 45, 52, 81, 91, 104, 151, 185, 203][r.below(10)];
    format!("{a}.{}.{}.{}", r.below(256), r.below(256), 1 + r.below(254))
}

fn ip_private(r: &mut Rng) -> String {
    match r.below(3) {
        0 => format!("10.{}.{}.{}", r.below(256), r.below(256), 1 + r.below(254)),
        1 => format!("192.168.{}.{}", r.below(256), 1 + r.below(254)),
        _ => format!("172.{}.{}.{}", 16 + r.below(16), r.below(256), 1 + r.below(254)),
    }
}

fn luhn_digit(body: &str) -> u32 {
    let sum: u32 = body
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).unwrap_or(0);
            if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn card_digits(r: &mut Rng) -> String {
    let (prefix, len) = [("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)][r.below(5)];
    let body = format!("{prefix}{}", r.digits(len - prefix.len() - 1));
    format!("{body}{}", luhn_digit(&body))
}

fn card(r: &mut Rng) -> String {
    let d = card_digits(r);
    match r.below(3) {
        0 => d,
        sep => {
            let s = if sep == 1 { " " } else { "-" };
            d.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(s)
        }
    }
}

fn iban_check(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem: u64 = 0;
    for ch in rearranged.chars() {
        let v = ch.to_digit(36).unwrap_or(0) as u64;
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    format!("{:02}", 98 - rem)
}

fn iban(r: &mut Rng, valid: bool) -> String {
    let (country, bban) = match r.below(3) {
        0 => ("GB", format!("WEST{}", r.digits(14))),
        1 => ("DE", r.digits(18)),
        _ => ("FR", r.digits(23)),
    };
    let mut check = iban_check(country, &bban);
    if !valid {
        check = format!("{:02}", (check.parse::<u32>().unwrap_or(0) + 1 + r.below(90) as u32) % 100);
        if check == iban_check(country, &bban) {
            check = format!("{:02}", (check.parse::<u32>().unwrap_or(0) + 1) % 100);
        }
    }
    let compact = format!("{country}{check}{bban}");
    if r.below(2) == 0 {
        compact
    } else {
        compact.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
    }
}

fn ssn(r: &mut Rng) -> String {
    format!("{:03}-{:02}-{:04}", 1 + r.below(665), 1 + r.below(99), 1 + r.below(9999))
}

fn national_id(r: &mut Rng) -> Vec<Piece> {
    match r.below(6) {
        0 => vec![lit("ssn="), Seed("national_id", ssn(r))],
        1 => vec![lit("SSN: "), Seed("national_id", ssn(r).replace('-', ""))],
        2 => {
            let g = [50, 65, 70, 78, 88, 90, 92, 94, 99][r.below(9)];
            vec![lit("ITIN "), Seed("national_id", format!("9{}-{g}-{}", r.digits(2), r.digits(4)))]
        }
        3 => {
            let l = "ABCEGHJKLMNPRSTWXYZ".as_bytes();
            let p = format!("{}{}", l[r.below(l.len())] as char, l[r.below(l.len())] as char);
            vec![
                lit("NI number "),
                Seed(
                    "national_id",
                    format!("{p} {} {} {} {}", r.digits(2), r.digits(2), r.digits(2), ["A", "B", "C", "D"][r.below(4)]),
                ),
            ]
        }
        4 => {
            let n: u32 = r.digits(8).parse().unwrap_or(0);
            let letter = "TRWAGMYFPDXBNJZSQVHLCKE".as_bytes()[(n % 23) as usize] as char;
            vec![lit("DNI "), Seed("national_id", format!("{n:08}{letter}"))]
        }
        _ => vec![lit(r#"--where="ssn='"#), Seed("national_id", ssn(r)), lit(r#"'""#)],
    }
}

fn phone(r: &mut Rng) -> Vec<Piece> {
    let v = match r.below(8) {
        0 => format!("+44 20 {} {}", r.digits(4), r.digits(4)),
        1 => format!("({}) {}-{}", 200 + r.below(700), r.digits(3), r.digits(4)),
        2 => format!("{}-{}-{}", 200 + r.below(700), r.digits(3), r.digits(4)),
        3 => format!("{}.{}.{}", 200 + r.below(700), r.digits(3), r.digits(4)),
        4 => format!("07700 {}", r.digits(6)),
        5 => format!("{}{}", 200 + r.below(700), r.digits(7)),
        6 => format!("+33 6 {} {} {} {}", r.digits(2), r.digits(2), r.digits(2), r.digits(2)),
        _ => format!("+49 30 {}", r.digits(7)),
    };
    vec![lit(r.pick(&["phone ", "call back on ", "mobile: ", "tel "])), Seed("phone", v)]
}

fn mac(r: &mut Rng) -> String {
    let b: Vec<String> = (0..6).map(|_| r.hex(2)).collect();
    match r.below(3) {
        0 => b.join(":"),
        1 => b.join("-").to_uppercase(),
        _ => format!("{}{}.{}{}.{}{}", b[0], b[1], b[2], b[3], b[4], b[5]),
    }
}

fn password(r: &mut Rng) -> String {
    let words = ["Winter", "Summer", "Hunter", "Dragon", "Monkey", "Secret", "Welcome", "Spring"];
    match r.below(3) {
        0 => format!("{}{}!{}", r.pick(&words), 2020 + r.below(7), r.pick(&["Pass", "x", "Go", "Qz"])),
        1 => format!("P@ss{}w0rd{}", r.hex(2), r.pick(&["!", "#", "$", "%"])),
        _ => {
            let set = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%^*";
            (0..10 + r.below(6)).map(|_| set[r.below(set.len())] as char).collect()
        }
    }
}

fn secret(r: &mut Rng) -> Vec<Piece> {
    let pw = password(r);
    let u = user(r);
    match r.below(14) {
        0 => vec![
            lit(r"net use \\"),
            Seed("hostname", host(r)),
            lit(r"\share /user:CORP\"),
            Seed("username", u),
            lit(" "),
            Seed("secret", pw),
        ],
        1 => vec![lit("Invoke-Deploy -Password "), Seed("secret", pw)],
        2 => vec![lit("tool.exe --password="), Seed("secret", pw), lit(" --verbose")],
        3 => vec![lit("runas /p:"), Seed("secret", pw), lit(" /user:"), Seed("username", u)],
        4 => vec![lit("sshpass -p '"), Seed("secret", pw), lit("' ssh root@"), Seed("ip_private", ip_private(r))],
        5 => vec![
            lit("curl -u "),
            Seed("username", u),
            lit(":"),
            Seed("secret", pw),
            lit(" https://"),
            Seed("hostname", host(r)),
            lit("/v1"),
        ],
        6 => {
            let key: String = (0..40)
                .map(|_| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"[r.below(64)] as char)
                .collect();
            vec![lit("export AWS_SECRET_ACCESS_KEY="), Seed("secret", key)]
        }
        7 => {
            let key: String = (0..40)
                .map(|_| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[r.below(62)] as char)
                .collect();
            vec![lit("aws_secret_access_key = "), Seed("secret", key)]
        }
        8 => vec![
            lit("Server="),
            Seed("hostname", host(r)),
            lit(";Database=crm;User Id=sa;Password="),
            Seed("secret", pw),
            lit(";"),
        ],
        9 => vec![lit("$p = ConvertTo-SecureString \""), Seed("secret", pw), lit("\" -AsPlainText -Force")],
        10 => vec![lit("access key "), Seed("secret", format!("AKIA{}", r.hex(16).to_uppercase()))],
        11 => vec![lit("token "), Seed("secret", format!("ghp_{}", r.hex(36)))],
        12 => vec![
            lit("Authorization: Bearer "),
            Seed("secret", format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi{}.{}", r.hex(12), r.hex(20))),
        ],
        _ => vec![lit("DB_PASSWORD="), Seed("secret", pw)],
    }
}

fn person(r: &mut Rng) -> Vec<Piece> {
    let name = format!("{} {}", given(r), surname(r));
    let (before, after) = [
        ("Customer ", " reported an unauthorised payment"),
        ("Dear ", ", your password was reset"),
        ("ticket escalated to ", " by the on-call analyst"),
        ("approved by ", " in change CHG0041"),
        ("contact ", " for access"),
        ("employee ", " left the company"),
        ("Hello ", ", your account is locked"),
        ("assigned to ", ""),
    ][r.below(8)];
    vec![lit(before), Seed("person_name", name), lit(after)]
}

fn username(r: &mut Rng) -> Vec<Piece> {
    let u = user(r);
    match r.below(3) {
        0 => vec![lit(r"CORP\"), Seed("username", u)],
        1 => vec![lit("/home/"), Seed("username", u), lit("/.bash_history")],
        _ => vec![lit(r"C:\Users\"), Seed("username", u), lit(r"\AppData\Local\Temp\a.ps1")],
    }
}

fn decoy(r: &mut Rng) -> Vec<Piece> {
    match r.below(16) {
        0 => vec![lit("pid "), Decoy("pid", format!("{}", 100 + r.below(60000)))],
        1 => vec![lit("ProcessId: "), Decoy("pid", format!("{}", 100 + r.below(60000)))],
        2 => vec![lit("dst port "), Decoy("port", format!("{}", [22, 443, 445, 3389, 8443, 5985][r.below(6)]))],
        3 => vec![lit("version "), Decoy("version", format!("10.0.{}.{}", 10000 + r.below(20000), r.below(5000)))],
        4 => vec![
            lit("agent v"),
            Decoy("ipv4_version", format!("{}.{}.{}.{}", 1 + r.below(9), r.below(20), r.below(50), r.below(200))),
        ],
        5 => vec![Decoy(
            "timestamp",
            format!("2026-11-{:02}T{:02}:{:02}:{:02}Z", 1 + r.below(28), r.below(24), r.below(60), r.below(60)),
        )],
        6 => vec![Decoy("guid", format!("{{{}-{}-{}-{}-{}}}", r.hex(8), r.hex(4), r.hex(4), r.hex(4), r.hex(12)))],
        7 => vec![lit("sha256="), Decoy("hash", r.hex(64))],
        8 => vec![lit("md5 "), Decoy("hash", r.hex(32))],
        9 => vec![Decoy(
            "sid",
            format!("S-1-5-21-{}-{}-{}-{}", r.digits(10), r.digits(10), r.digits(9), 1000 + r.below(9000)),
        )],
        10 => vec![lit("order "), Decoy("order_number", r.digits(9))],
        11 => {
            let d = card_digits(r);
            let last = (d.as_bytes()[d.len() - 1] - b'0' + 1 + r.below(9) as u8) % 10;
            vec![lit("ref "), Decoy("luhn_failing", format!("{}{}", &d[..d.len() - 1], last))]
        }
        12 => vec![lit("acct "), Decoy("failing_iban", iban(r, false))],
        13 => vec![lit("DisplayName: "), Decoy("message_id", format!("%%{}", 1793 + r.below(200)))],
        14 => vec![lit("xmlns="), Decoy("schema_url", "http://schemas.microsoft.com/win/2004/08/events/event".into())],
        _ => vec![lit("mimikatz.exe "), Decoy("mimikatz", "\"privilege::debug\" \"sekurlsa::logonpasswords\"".into())],
    }
}

fn slot(r: &mut Rng, kind: &str) -> Vec<Piece> {
    match kind {
        "email" => vec![Seed("email", email(r))],
        "ip_public" => vec![Seed("ip_public", ip_public(r))],
        "ip_private" => vec![Seed("ip_private", ip_private(r))],
        "hostname" => vec![Seed("hostname", host(r))],
        "username" => username(r),
        "person_name" => person(r),
        "phone" => phone(r),
        "payment_card" => vec![lit(r.pick(&["card ", "pan=", "paid with "])), Seed("payment_card", card(r))],
        "national_id" => national_id(r),
        "iban" => vec![lit(r.pick(&["IBAN ", "iban=", "transfer to "])), Seed("iban", iban(r, true))],
        "mac" => vec![lit(r.pick(&["mac ", "MAC address ", "src_mac="])), Seed("mac", mac(r))],
        "secret" => secret(r),
        _ => decoy(r),
    }
}

/// Line shapes: literal text around `{kind}` slots (and `{decoy}`).
const TEMPLATES: &[&str] = &[
    "4688 A new process has been created. CommandLine: {secret} ParentProcessId: {decoy}",
    "Payment by {payment_card} from {ip_public}; {phone}; {decoy}",
    "sshd[{decoy}]: Accepted password for {username} from {ip_private} port 52211",
    "{person_name}; refund sent to {iban} ({decoy})",
    "DHCP lease {ip_private} to {mac} host {hostname} at {decoy}",
    "mail from {email} to {email} subject invoice {decoy}",
    "HR record: {national_id}; {person_name}; {decoy}",
    "firewall allow {ip_private} -> {ip_public} {decoy}",
    "Suspicious login for {email} from {ip_public} on {hostname}",
    "{decoy} {decoy} {decoy}",
    "PowerShell ScriptBlock: {secret}; {decoy}",
    "EDR: {username} ran {decoy} on {hostname}",
    "note: {person_name}. Callback {phone}. {decoy}",
    "CEF:0|Vendor|Proxy|1.0|100|blocked|5|src={ip_private} suser={email} {decoy}",
    "{decoy} user account changed {decoy} {national_id}",
    "card on file {payment_card} {decoy} {mac}",
];

/// `n` samples from `seed`.
pub fn generate(seed: u64, n: usize) -> Vec<Sample> {
    let mut r = Rng(seed);
    (0..n)
        .map(|_| {
            let t = TEMPLATES[r.below(TEMPLATES.len())];
            let mut text = String::new();
            let mut seeded = Vec::new();
            let mut decoys = Vec::new();
            let mut rest = t;
            while let Some(open) = rest.find('{') {
                text.push_str(&rest[..open]);
                let close = open + rest[open..].find('}').expect("templates close their slots");
                for p in slot(&mut r, &rest[open + 1..close]) {
                    match p {
                        Lit(s) => text.push_str(&s),
                        Seed(kind, v) => {
                            seeded.push(Span { start: text.len(), end: text.len() + v.len(), kind });
                            text.push_str(&v);
                        }
                        Decoy(kind, v) => {
                            decoys.push(Span { start: text.len(), end: text.len() + v.len(), kind });
                            text.push_str(&v);
                        }
                    }
                }
                rest = &rest[close + 1..];
            }
            text.push_str(rest);
            Sample { text, seeded, decoys }
        })
        .collect()
}

/// Per-kind figures of one recogniser run over a corpus.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KindScore {
    pub seeded: usize,
    pub found: usize,
    pub flagged: usize,
    pub correct: usize,
}

impl KindScore {
    pub fn recall(&self) -> f64 {
        if self.seeded == 0 { 1.0 } else { self.found as f64 / self.seeded as f64 }
    }
    pub fn precision(&self) -> f64 {
        if self.flagged == 0 { 1.0 } else { self.correct as f64 / self.flagged as f64 }
    }
}

/// A scorecard: per kind, and decoys flagged per decoy kind (of how many).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Scorecard {
    pub kinds: BTreeMap<String, KindScore>,
    pub decoys: BTreeMap<String, (usize, usize)>,
}

fn same_kind(a: &str, b: &str) -> bool {
    a == b || (a.starts_with("ip_") && b.starts_with("ip_"))
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> usize {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

/// Whether findings of a seeded value's kind cover at least 80 % of it.
fn covered(sp: &Span, found: &[(usize, usize, String)]) -> bool {
    let n: usize = found
        .iter()
        .filter(|(_, _, k)| same_kind(k, sp.kind))
        .map(|(a, b, _)| overlap((*a, *b), (sp.start, sp.end)))
        .sum();
    n * 10 >= (sp.end - sp.start) * 8
}

/// Scores findings (`(start, end, kind)` per sample) against the labels: a
/// seeded value is found when a finding of its kind covers most of it; a
/// finding is correct when it lies on a seeded value of its kind.
pub fn score(samples: &[Sample], findings: &[Vec<(usize, usize, String)>]) -> Scorecard {
    let mut card = Scorecard::default();
    for k in KINDS {
        card.kinds.insert((*k).to_owned(), KindScore::default());
    }
    for (s, found) in samples.iter().zip(findings) {
        for sp in &s.seeded {
            let e = card.kinds.entry(sp.kind.to_owned()).or_default();
            e.seeded += 1;
            if covered(sp, found) {
                e.found += 1;
            }
        }
        for (a, b, k) in found {
            let e = card.kinds.entry(k.clone()).or_default();
            e.flagged += 1;
            if s.seeded.iter().any(|sp| same_kind(k, sp.kind) && overlap((*a, *b), (sp.start, sp.end)) > 0) {
                e.correct += 1;
            }
        }
        for d in &s.decoys {
            let e = card.decoys.entry(d.kind.to_owned()).or_default();
            e.1 += 1;
            if found.iter().any(|(a, b, _)| overlap((*a, *b), (d.start, d.end)) > 0) {
                e.0 += 1;
            }
        }
    }
    card
}

/// Seeded values not found and decoys flagged, one line each, for people
/// working on the recognisers.
pub fn misses(samples: &[Sample], findings: &[Vec<(usize, usize, String)>]) -> Vec<String> {
    let mut out = Vec::new();
    for (s, found) in samples.iter().zip(findings) {
        for sp in &s.seeded {
            if !covered(sp, found) {
                out.push(format!("missed {} {:?} in: {}", sp.kind, &s.text[sp.start..sp.end], s.text));
            }
        }
        for d in &s.decoys {
            if let Some((a, b, k)) = found.iter().find(|(a, b, _)| overlap((*a, *b), (d.start, d.end)) > 0) {
                out.push(format!(
                    "flagged {} decoy {:?} as {k} {:?} in: {}",
                    d.kind,
                    &s.text[d.start..d.end],
                    &s.text[*a..*b],
                    s.text
                ));
            }
        }
    }
    out
}

/// Warden's recognisers' findings on a corpus.
pub fn findings(r: &Recognisers, samples: &[Sample]) -> Vec<Vec<(usize, usize, String)>> {
    samples
        .iter()
        .map(|s| r.scan(&s.text, &[]).into_iter().map(|h| (h.start, h.end, h.class.as_str().to_owned())).collect())
        .collect()
}

/// A class name as a corpus kind.
pub fn kind_of(c: DataClass) -> &'static str {
    c.as_str()
}

impl Scorecard {
    /// The table people read.
    pub fn table(&self, name: &str) -> String {
        let mut out = format!("{name}\n{:<14} {:>7} {:>8} {:>10}\n", "kind", "seeded", "recall", "precision");
        for (k, s) in &self.kinds {
            out.push_str(&format!("{k:<14} {:>7} {:>8.3} {:>10.3}\n", s.seeded, s.recall(), s.precision()));
        }
        out.push_str(&format!("{:<14} {:>7} {:>8}\n", "decoy", "shown", "flagged"));
        for (k, (f, n)) in &self.decoys {
            out.push_str(&format!("{k:<14} {n:>7} {f:>8}\n"));
        }
        out
    }
}
