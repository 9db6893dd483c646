//! Recognisers: what kind of personal data or secret a piece of text holds.

use std::net::IpAddr;

use base64::Engine as _;
use regex::Regex;
use serde::{Deserialize, Serialize};
use warden_core::DataClass;

/// A recognised span of a string.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub class: DataClass,
    pub recogniser: &'static str,
    pub confidence: f64,
}

/// A configurable extra recogniser (`[[privacy.recognisers]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRecogniser {
    pub name: String,
    /// A data class name (email, ip_public, hostname, username, person_name, phone,
    /// payment_card, national_id, iban, mac, url, secret, …).
    pub class: String,
    /// A regular expression; the whole match is the value.
    pub pattern: String,
    #[serde(default = "default_confidence")]
    pub confidence: f64,
}

fn default_confidence() -> f64 {
    0.8
}

type Check = fn(&str) -> Option<DataClass>;

struct Builtin {
    name: &'static str,
    class: DataClass,
    confidence: f64,
    re: Regex,
    /// Validates a match (checksums, ranges) and may refine its class.
    check: Option<Check>,
}

/// Every recogniser, built once.
pub struct Recognisers {
    builtins: Vec<Builtin>,
    /// All built-in patterns at once: one pass says which can match at all.
    prefilter: regex::RegexSet,
    custom: Vec<(String, DataClass, f64, Regex)>,
    base64: Regex,
    token: Regex,
}

fn luhn(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 == 1 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    sum.is_multiple_of(10) && matches!(d[0], 2..=6)
}

fn iban_ok(s: &str) -> bool {
    let c: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if c.len() < 15 || c.len() > 34 {
        return false;
    }
    let rearranged = format!("{}{}", &c[4..], &c[..4]);
    let mut rem: u64 = 0;
    for ch in rearranged.chars() {
        let v = match ch {
            '0'..='9' => ch as u64 - '0' as u64,
            'A'..='Z' => ch as u64 - 'A' as u64 + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn ssn_ok(s: &str) -> bool {
    let p: Vec<&str> = s.split('-').collect();
    p.len() == 3 && p[0] != "000" && p[0] != "666" && !p[0].starts_with('9') && p[1] != "00" && p[2] != "0000"
}

fn dni_ok(s: &str) -> bool {
    let (n, l) = s.split_at(8);
    n.parse::<u32>().ok().and_then(|n| "TRWAGMYFPDXBNJZSQVHLCKE".chars().nth((n % 23) as usize)) == l.chars().next()
}

fn ip_class(ip: IpAddr) -> DataClass {
    let private = match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    if private { DataClass::IpPrivate } else { DataClass::IpPublic }
}

/// File extensions that make `name.ext` a file, not a host.
const FILE_EXT: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "js", "hta", "txt", "log", "json", "xml", "csv", "doc",
    "docx", "docm", "xls", "xlsx", "pdf", "zip", "dmp", "tmp", "dat", "ini", "cfg", "lnk", "msi", "sct", "evtx", "py",
    "sh", "so", "jar", "png", "jpg", "html", "htm", "php", "aspx",
];

impl Recognisers {
    pub fn new(custom: &[CustomRecogniser]) -> Result<Self, String> {
        let re = |s: &str| Regex::new(s).expect("built-in pattern compiles");
        let b = |name, class, confidence, pattern: &str, check: Option<Check>| Builtin {
            name,
            class,
            confidence,
            re: re(pattern),
            check,
        };
        let builtins = vec![
            b(
                "secret_private_key",
                DataClass::Secret,
                0.99,
                r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z]+ )?PRIVATE KEY-----|$)",
                None,
            ),
            b(
                "secret_url_credentials",
                DataClass::Secret,
                0.95,
                r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
                None,
            ),
            b(
                "secret_cloud_key",
                DataClass::Secret,
                0.95,
                r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{35}\b",
                None,
            ),
            b(
                "secret_api_token",
                DataClass::Secret,
                0.9,
                r"\b(?:ghp|gho|ghs|github_pat|xox[abp]|sk|sk_live|rk_live)_[A-Za-z0-9_]{16,}",
                None,
            ),
            b(
                "secret_jwt",
                DataClass::Secret,
                0.95,
                r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
                None,
            ),
            b(
                "secret_password_argument",
                DataClass::Secret,
                0.85,
                r#"(?i)(?:--password[= ]|/password:|/pass:|\s-p\s?|\bpassword=|\bpwd=|-Password\s+)("[^"]+"|'[^']+'|[^\s"']+)"#,
                None,
            ),
            // The common name in an LDAP distinguished name is an account or a person.
            b("ldap_common_name", DataClass::Username, 0.85, r"(?i)\bCN=([^,=\\]{2,64})", None),
            b("secret_user_password", DataClass::Secret, 0.85, r"(?:\s-u\s*|--user[= ])[^\s:@/]+:([^\s@]+)", None),
            b(
                "person_name_context",
                DataClass::PersonName,
                0.6,
                r"\b(?:for|by|from|to|contact|employee|user|owner|Mr\.?|Ms\.?|Mrs\.?|Dr\.?|name[:=]?)\s+([A-Z][a-z]{1,20}(?:[ '-][A-Z][a-z]{1,20}){1,2})\b",
                None,
            ),
            b(
                "secret_assignment",
                DataClass::Secret,
                0.8,
                r#"(?i)\b(?:api[_-]?key|access[_-]?token|secret|client[_-]?secret)\s*[=:]\s*["']?[A-Za-z0-9_\-+/=]{8,}"#,
                None,
            ),
            b(
                "email",
                DataClass::Email,
                0.98,
                r"(?i)\b[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,24}\b",
                None,
            ),
            b(
                "iban",
                DataClass::Iban,
                0.97,
                r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
                Some(|s| iban_ok(s).then_some(DataClass::Iban)),
            ),
            b(
                "payment_card",
                DataClass::PaymentCard,
                0.97,
                r"\b(?:\d[ -]?){12,18}\d\b",
                Some(|s| luhn(s).then_some(DataClass::PaymentCard)),
            ),
            b(
                "us_ssn",
                DataClass::NationalId,
                0.9,
                r"\b\d{3}-\d{2}-\d{4}\b",
                Some(|s| ssn_ok(s).then_some(DataClass::NationalId)),
            ),
            b(
                "uk_nino",
                DataClass::NationalId,
                0.9,
                r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                None,
            ),
            b(
                "es_dni",
                DataClass::NationalId,
                0.85,
                r"\b\d{8}[A-Z]\b",
                Some(|s| dni_ok(s).then_some(DataClass::NationalId)),
            ),
            b("mac", DataClass::Mac, 0.95, r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b", None),
            b(
                "ipv4",
                DataClass::IpPublic,
                0.99,
                r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
                Some(|s| s.parse::<IpAddr>().ok().map(ip_class)),
            ),
            b(
                "ipv6",
                DataClass::IpPublic,
                0.95,
                r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}",
                Some(|s| if s.matches(':').count() >= 2 { s.parse::<IpAddr>().ok().map(ip_class) } else { None }),
            ),
            b(
                "phone",
                DataClass::Phone,
                0.8,
                r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}\b|\(\d{3}\) ?\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b)",
                None,
            ),
            b(
                "username_domain",
                DataClass::Username,
                0.9,
                // NetBIOS domains are written in capitals: `CORP\jdoe`, not `Program Files\Microsoft`.
                r"\b[A-Z0-9][A-Z0-9_-]{1,14}\\[A-Za-z0-9._$-]{2,64}",
                Some(username_domain),
            ),
            b(
                "username_home",
                DataClass::Username,
                0.9,
                r"(?i)(?:/home/|/Users/|\\Users\\)[A-Za-z0-9._-]{2,64}",
                Some(username_path),
            ),
            b(
                "hostname_fqdn",
                DataClass::Hostname,
                0.8,
                r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|local|lan|internal|corp|intra|example|eu|uk|de|fr|es|it|nl|us|ca|au|biz|info|cloud|dev|app|ru|cn)\b",
                Some(|s| {
                    let last = s.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
                    (!FILE_EXT.contains(&last.as_str())).then_some(DataClass::Hostname)
                }),
            ),
        ];
        let prefilter =
            regex::RegexSet::new(builtins.iter().map(|b| b.re.as_str())).expect("built-in patterns compile");
        let mut out = Vec::new();
        for c in custom {
            let class = c.class.parse::<DataClass>().map_err(|e| format!("recogniser {}: {e}", c.name))?;
            let re = Regex::new(&c.pattern).map_err(|e| format!("recogniser {}: {e}", c.name))?;
            out.push((c.name.clone(), class, c.confidence, re));
        }
        Ok(Recognisers {
            builtins,
            prefilter,
            custom: out,
            base64: re(r"[A-Za-z0-9+/]{20,}={0,2}"),
            token: re(r"<[A-Z]+_(?:[0-9a-f]{10}|WITHHELD)>|<WITHHELD>"),
        })
    }

    /// Names of the built-in recognisers (for configuration and reports).
    pub fn names(&self) -> Vec<&'static str> {
        self.builtins.iter().map(|b| b.name).collect()
    }

    /// Every hit in `text`, non-overlapping, earliest and longest first;
    /// Warden's own tokens are never matched (protection is idempotent).
    /// `disabled` names recognisers turned off by configuration.
    pub fn scan(&self, text: &str, disabled: &[String]) -> Vec<Hit> {
        let mut hits = Vec::new();
        let tokens: Vec<(usize, usize)> = self.token.find_iter(text).map(|m| (m.start(), m.end())).collect();
        let inside_token = |s: usize, e: usize| tokens.iter().any(|(a, b)| s < *b && e > *a);
        let candidates = self.prefilter.matches(text);
        for (i, b) in self.builtins.iter().enumerate() {
            if !candidates.matched(i) || disabled.iter().any(|d| d == b.name) {
                continue;
            }
            for m in b.re.find_iter(text) {
                let (mut s, mut e) = (m.start(), m.end());
                let mut class = b.class;
                if let Some(check) = b.check {
                    match check(m.as_str()) {
                        Some(c) => class = c,
                        None => continue,
                    }
                }
                // Values after a marker: only the value is the secret / user.
                if matches!(
                    b.name,
                    "secret_password_argument" | "secret_user_password" | "person_name_context" | "ldap_common_name"
                ) {
                    if let Some(g) = b.re.captures(&text[m.start()..]).and_then(|c| c.get(1)) {
                        s = m.start() + g.start();
                        e = m.start() + g.end();
                    }
                } else if b.name == "username_domain"
                    && (text[..m.start()].ends_with(['\\', '/']) || text[m.end()..].starts_with(['\\', '/']))
                {
                    // A segment of a longer path, not DOMAIN\user.
                    continue;
                } else if b.name == "username_home" || b.name == "username_domain" {
                    let sep = m.as_str().rfind(['/', '\\']).map_or(0, |i| i + 1);
                    s = m.start() + sep;
                    e = m.end();
                }
                if s < e && !inside_token(s, e) {
                    hits.push(Hit { start: s, end: e, class, recogniser: b.name, confidence: b.confidence });
                }
            }
        }
        for (name, class, conf, re) in &self.custom {
            if disabled.contains(name) {
                continue;
            }
            for m in re.find_iter(text) {
                if !inside_token(m.start(), m.end()) {
                    let name: &'static str = "custom";
                    hits.push(Hit {
                        start: m.start(),
                        end: m.end(),
                        class: *class,
                        recogniser: name,
                        confidence: *conf,
                    });
                }
            }
            let _ = name;
        }
        // Base64 blobs (encoded command lines): decode, scan inside, and treat
        // the whole blob as the class found there.
        for m in self.base64.find_iter(text) {
            if inside_token(m.start(), m.end()) {
                continue;
            }
            if let Some(inner) = decode_text(m.as_str()) {
                let inner_hits = self.scan(&inner, disabled);
                if let Some(best) = inner_hits.iter().max_by(|a, b| a.confidence.total_cmp(&b.confidence)) {
                    hits.push(Hit {
                        start: m.start(),
                        end: m.end(),
                        class: best.class,
                        recogniser: "base64",
                        confidence: best.confidence,
                    });
                }
            }
        }
        // Keep non-overlapping hits: earliest first, then longest, then most confident.
        hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(b.confidence.total_cmp(&a.confidence)));
        let mut kept: Vec<Hit> = Vec::new();
        for h in hits {
            if kept.last().is_none_or(|k| h.start >= k.end) {
                kept.push(h);
            } else if let Some(k) = kept.last_mut()
                && h.start == k.start
                && h.end > k.end
            {
                *k = h;
            }
        }
        kept
    }
}

fn username_domain(s: &str) -> Option<DataClass> {
    // `C:\Windows`, `HKLM\Software`, `\\host\share` are paths, not DOMAIN\user.
    let (dom, _) = s.split_once('\\')?;
    let d = dom.to_ascii_uppercase();
    let not_domains = [
        "C",
        "D",
        "E",
        "HKLM",
        "HKCU",
        "HKU",
        "HKCR",
        "SYSTEM32",
        "WINDOWS",
        "SOFTWARE",
        "SYSTEM",
        "TEMP",
        "USERS",
        "PROGRAM",
        "APPDATA",
        "LOCAL",
        "ROAMING",
        "DEVICE",
        "HARDDISKVOLUME",
    ];
    (!not_domains.iter().any(|n| d == *n || d.starts_with("HARDDISKVOLUME")) && d.len() >= 2)
        .then_some(DataClass::Username)
}

fn username_path(s: &str) -> Option<DataClass> {
    let user = s.rsplit(['/', '\\']).next()?.to_ascii_lowercase();
    (!["public", "default", "all users", "shared", "administrator"].contains(&user.as_str()))
        .then_some(DataClass::Username)
}

/// Base64 that decodes to text (UTF-16LE as PowerShell writes it, or UTF-8).
fn decode_text(s: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    if bytes.len() >= 4 && bytes.len().is_multiple_of(2) && bytes.iter().skip(1).step_by(2).all(|b| *b == 0) {
        let units: Vec<u16> = bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16(&units).ok();
    }
    let text = String::from_utf8(bytes).ok()?;
    text.chars().all(|c| !c.is_control() || c.is_whitespace()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str) -> Vec<(String, DataClass)> {
        let r = Recognisers::new(&[]).unwrap();
        r.scan(text, &[]).into_iter().map(|h| (text[h.start..h.end].to_owned(), h.class)).collect()
    }

    #[test]
    fn cards_must_pass_luhn() {
        assert_eq!(classes("card 4111 1111 1111 1111 ok"), [("4111 1111 1111 1111".into(), DataClass::PaymentCard)]);
        assert!(classes("order 4111 1111 1111 1112").iter().all(|(_, c)| *c != DataClass::PaymentCard));
    }

    #[test]
    fn ibans_ssns_and_ids_are_checked() {
        assert_eq!(classes("pay GB82 WEST 1234 5698 7654 32 now")[0].1, DataClass::Iban);
        assert!(classes("GB82 WEST 1234 5698 7654 33").iter().all(|(_, c)| *c != DataClass::Iban));
        assert_eq!(classes("ssn 123-45-6789")[0].1, DataClass::NationalId);
        assert!(classes("ssn 000-45-6789").is_empty());
        assert_eq!(classes("dni 12345678Z")[0].1, DataClass::NationalId);
    }

    #[test]
    fn addresses_users_hosts_and_secrets_in_free_text() {
        let got = classes(
            r"net use \\files.corp.example.com\share /user:CORP\jdoe /password:S3cr3t! from 10.1.2.3 and 2001:db8::1 mail jane@example.org C:\Users\mrossi\x.exe",
        );
        let has = |v: &str, c: DataClass| got.iter().any(|(x, k)| x == v && *k == c);
        assert!(has("files.corp.example.com", DataClass::Hostname), "{got:?}");
        assert!(has("jdoe", DataClass::Username), "{got:?}");
        assert!(has("S3cr3t!", DataClass::Secret), "{got:?}");
        assert!(has("10.1.2.3", DataClass::IpPrivate), "{got:?}");
        assert!(has("2001:db8::1", DataClass::IpPublic), "{got:?}");
        assert!(has("jane@example.org", DataClass::Email), "{got:?}");
        assert!(has("mrossi", DataClass::Username), "{got:?}");
        assert!(!got.iter().any(|(v, _)| v.ends_with(".exe")), "file names are not hosts: {got:?}");
    }

    #[test]
    fn pii_inside_base64_command_lines_is_found() {
        let inner: Vec<u8> =
            "Send-MailMessage -To boss@victim.example".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
        let got = classes(&format!("powershell -enc {b64}"));
        assert_eq!(got, [(b64, DataClass::Email)]);
    }

    #[test]
    fn accounts_inside_ldap_names_are_found() {
        let got = classes("CN=svc_sql_bkp,OU=Service Accounts,DC=corp,DC=example,DC=com");
        assert!(got.contains(&("svc_sql_bkp".into(), DataClass::Username)), "{got:?}");
    }

    #[test]
    fn version_strings_and_tokens_are_left_alone() {
        assert!(classes("build 999.1.2.3").is_empty());
        assert!(classes("<EMAIL_0123456789> and <IP_9876543210>").is_empty());
    }
}
