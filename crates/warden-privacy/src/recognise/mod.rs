//! Recognisers: what kind of personal data or secret a piece of text holds.
//!
//! One call to [`Recognisers::scan`] runs, over one string:
//! - the pattern recognisers (addresses, cards, ids, phones, keys), each
//!   with its own check (checksums, ranges, boundaries);
//! - the credential grammar (`credentials`) and person names (`names`);
//! - the same over the string's percent-, base64- and hex-decoded forms,
//!   with what is found there mapped back onto the original text;
//! - and drops every pattern hit inside a token that means something else
//!   (`mask`: SIDs, GUIDs, `%%NNNN` message ids, hashes, schema URLs,
//!   versions, timestamps, ports, checksum-failing IBANs).

mod checks;
mod credentials;
pub mod decode;
mod names;

use std::net::IpAddr;

use regex::Regex;
use serde::{Deserialize, Serialize};
use warden_core::DataClass;

pub(crate) use checks::ip_class;
use checks::{dni_ok, iban_ok, itin_ok, luhn, nie_ok, ssn_ok, username_domain, username_path};

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

type Check = fn(&str, &str, usize, usize) -> Option<DataClass>;

struct Builtin {
    name: &'static str,
    class: DataClass,
    confidence: f64,
    re: Regex,
    /// The value is this capture group (default: the whole match).
    group: usize,
    /// Validates a match (checksums, ranges, context) and may refine its class:
    /// (value, whole text, start, end).
    check: Option<Check>,
}

/// Every recogniser, built once.
pub struct Recognisers {
    builtins: Vec<Builtin>,
    /// All built-in patterns at once: one pass says which can match at all.
    prefilter: regex::RegexSet,
    custom: Vec<(String, DataClass, f64, Regex)>,
    mask: Regex,
    iban_shape: Regex,
    assignment: Regex,
    url_credentials: Regex,
    /// Words whose presence means the credential grammar has work to do.
    credential_cues: aho_corasick::AhoCorasick,
    base64: Regex,
    hex: Regex,
    token: Regex,
}

/// File extensions that make `name.ext` a file, not a host.
const FILE_EXT: &[&str] = &[
    "exe", "dll", "sys", "ps1", "psm1", "bat", "cmd", "vbs", "js", "hta", "txt", "log", "json", "xml", "csv", "doc",
    "docx", "docm", "xls", "xlsx", "pdf", "zip", "dmp", "tmp", "dat", "ini", "cfg", "lnk", "msi", "sct", "evtx", "py",
    "sh", "so", "jar", "png", "jpg", "html", "htm", "php", "aspx",
];

/// Log text is mostly ASCII: ASCII word boundaries, digits and spaces keep
/// the patterns' automata small (Unicode `\b` and `\d` make the lazy DFA
/// give up and fall back to slower engines).
fn ascii_classes(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]").replace(r"\s", r"[\t\n\x0B\x0C\r ]")
}

/// Text just before `start` (up to `n` bytes, on a character boundary), lower-cased.
fn before(text: &str, start: usize, n: usize) -> String {
    let mut s = start.saturating_sub(n);
    while !text.is_char_boundary(s) {
        s += 1;
    }
    text[s..start].to_lowercase()
}

/// Whether a context word appears just before a match.
fn context(text: &str, start: usize, words: &[&str]) -> bool {
    // Close before the value (`SSN: 536228274`, `phone 2125557788`), as a word of its own.
    let b = before(text, start, 20);
    words.iter().any(|w| {
        b.match_indices(w).any(|(i, _)| {
            let glued_before = b[..i].chars().next_back().is_some_and(char::is_alphanumeric);
            let glued_after = b[i + w.len()..].chars().next().is_some_and(char::is_alphabetic);
            !glued_before && !glued_after
        })
    })
}

fn byte_before(text: &str, i: usize) -> Option<u8> {
    i.checked_sub(1).map(|j| text.as_bytes()[j])
}

fn byte_at(text: &str, i: usize) -> Option<u8> {
    text.as_bytes().get(i).copied()
}

/// Whether the match `start..end` runs into its neighbours: the byte before
/// it satisfies `before`, or the byte after it `after`.
fn glued(text: &str, start: usize, end: usize, before: impl Fn(u8) -> bool, after: impl Fn(u8) -> bool) -> bool {
    byte_before(text, start).is_some_and(before) || byte_at(text, end).is_some_and(after)
}

const PHONE_CONTEXT: &[&str] = &["phone", "tel", "mobile", "cell", "call", "fax", "sms", "whatsapp", "contact", "ring"];
const SSN_CONTEXT: &[&str] = &["ssn", "social security", "soc sec", "itin", "taxpayer", "tin", "tax id"];

impl Recognisers {
    pub fn new(custom: &[CustomRecogniser]) -> Result<Self, String> {
        // A larger lazy-DFA cache than the default: these run over every string of every alert.
        let re = |s: &str| {
            regex::RegexBuilder::new(&ascii_classes(s))
                .dfa_size_limit(8 << 20)
                .build()
                .expect("built-in pattern compiles")
        };
        let b = |name, class, confidence, pattern: &str, check: Option<Check>| Builtin {
            name,
            class,
            confidence,
            re: re(pattern),
            group: 0,
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
                r"\b(?:ghp|gho|ghs|ghu|github_pat|xox[abpr]|sk|sk_live|rk_live|glpat)[_-][A-Za-z0-9_-]{16,}",
                None,
            ),
            b(
                "secret_jwt",
                DataClass::Secret,
                0.95,
                r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
                None,
            ),
            // The common name in an LDAP distinguished name is an account or a person.
            Builtin { group: 1, ..b("ldap_common_name", DataClass::Username, 0.85, r"(?i)\bCN=([^,=\\]{2,64})", None) },
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
                Some(|s, _, _, _| iban_ok(s).then_some(DataClass::Iban)),
            ),
            b(
                "payment_card",
                DataClass::PaymentCard,
                0.97,
                r"\b(?:\d[ -]?){12,18}\d\b",
                Some(|s, t, a, e| {
                    // Not a run inside a longer number or identifier.
                    let inside = glued(
                        t,
                        a,
                        e,
                        |c| c.is_ascii_alphanumeric() || b"-.".contains(&c),
                        |c| c.is_ascii_alphanumeric() || b"-.".contains(&c),
                    );
                    (!inside && luhn(s)).then_some(DataClass::PaymentCard)
                }),
            ),
            b(
                "us_ssn",
                DataClass::NationalId,
                0.9,
                r"\b\d{3}-\d{2}-\d{4}\b|\b\d{9}\b",
                Some(|s, t, a, _| {
                    let dashed = s.contains('-');
                    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                    let ok = if dashed {
                        ssn_ok(&digits) || itin_ok(&digits)
                    } else {
                        context(t, a, SSN_CONTEXT) && (ssn_ok(&digits) || itin_ok(&digits))
                    };
                    ok.then_some(DataClass::NationalId)
                }),
            ),
            b(
                "uk_nino",
                DataClass::NationalId,
                0.9,
                r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                None,
            ),
            b(
                "es_dni_nie",
                DataClass::NationalId,
                0.85,
                r"\b\d{8}[A-Z]\b|\b[XYZ]\d{7}[A-Z]\b",
                Some(|s, _, _, _| (dni_ok(s) || nie_ok(s)).then_some(DataClass::NationalId)),
            ),
            b(
                "it_codice_fiscale",
                DataClass::NationalId,
                0.9,
                r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b",
                None,
            ),
            b(
                "ca_sin",
                DataClass::NationalId,
                0.8,
                r"\b\d{3}[ -]\d{3}[ -]\d{3}\b",
                Some(|s, t, a, _| {
                    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                    (context(t, a, &["sin", "social insurance"]) && checks::luhn_any(&digits))
                        .then_some(DataClass::NationalId)
                }),
            ),
            b(
                "in_aadhaar",
                DataClass::NationalId,
                0.8,
                r"\b[2-9]\d{3} \d{4} \d{4}\b",
                Some(|s, _, _, _| checks::verhoeff(&s.replace(' ', "")).then_some(DataClass::NationalId)),
            ),
            b(
                "mac",
                DataClass::Mac,
                0.95,
                r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b|\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b",
                Some(|s, t, a, e| {
                    // Cisco's dotted form needs a hex letter or the word MAC, so it is not a version.
                    let dotted = s.contains('.');
                    let stuck = glued(t, a, e, |c| c == b':' || c == b'.', |c| c == b':' || c == b'.');
                    let ok =
                        !stuck && (!dotted || s.bytes().any(|c| c.is_ascii_alphabetic()) || context(t, a, &["mac"]));
                    ok.then_some(DataClass::Mac)
                }),
            ),
            b(
                "ipv4",
                DataClass::IpPublic,
                0.99,
                r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
                Some(|s, t, a, e| {
                    // Not four parts of a longer dotted number (an OID, a version).
                    let glued = byte_before(t, a).is_some_and(|c| c == b'.')
                        || (byte_at(t, e) == Some(b'.') && byte_at(t, e + 1).is_some_and(|c| c.is_ascii_digit()));
                    if glued {
                        return None;
                    }
                    s.parse::<IpAddr>().ok().map(ip_class)
                }),
            ),
            b(
                "ipv6",
                DataClass::IpPublic,
                0.95,
                r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:%[0-9a-z]+)?",
                Some(|s, t, a, e| {
                    // Bounded on both sides (so `privilege::debug` holds no address) and
                    // with a digit or at least four groups (so `a::b` is not one).
                    let stuck = glued(
                        t,
                        a,
                        e,
                        |c| c.is_ascii_alphanumeric() || b"_.".contains(&c),
                        |c| c.is_ascii_alphanumeric() || c == b'_',
                    );
                    let s = s.split('%').next().unwrap_or(s);
                    let groups = s.split(':').filter(|g| !g.is_empty()).count();
                    if stuck || s.matches(':').count() < 2 || !(s.bytes().any(|c| c.is_ascii_digit()) || groups >= 4) {
                        return None;
                    }
                    s.parse::<IpAddr>().ok().map(ip_class)
                }),
            ),
            b(
                "phone",
                DataClass::Phone,
                0.8,
                concat!(
                    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}\b",
                    r"|(?:\b1[ .-])?\(\d{3}\) ?\d{3}[ .-]\d{4}\b",
                    r"|(?:\b1[ .-])?\b\d{3}[.-]\d{3}[.-]\d{4}\b",
                    r"|\b\d{3} \d{3} \d{4}\b",
                    r"|\b0\d{3,4} ?\d{6}\b|\b0\d{2} \d{4} \d{4}\b",
                    r"|\b0[1-9](?:[ .]\d{2}){4}\b",
                    r"|\b\d{10,11}\b",
                ),
                Some(|s, t, a, e| {
                    let digits = s.bytes().filter(u8::is_ascii_digit).count();
                    let stuck = glued(
                        t,
                        a,
                        e,
                        |c| c.is_ascii_alphanumeric() || b"-.".contains(&c),
                        |c| c.is_ascii_alphanumeric() || c == b'-',
                    );
                    let bare = s.bytes().all(|c| c.is_ascii_digit());
                    // A bare run of digits is a phone number only where the text says so
                    // (or a UK mobile, 07 and eleven digits); grouped forms stand alone.
                    let ok = !stuck
                        && (7..=15).contains(&digits)
                        && (!bare || context(t, a, PHONE_CONTEXT) || (digits == 11 && s.starts_with("07")));
                    ok.then_some(DataClass::Phone)
                }),
            ),
            b(
                "username_domain",
                DataClass::Username,
                0.9,
                // NetBIOS domains are written in capitals: `CORP\jdoe`, not `Program Files\Microsoft`.
                r"\b[A-Z0-9][A-Z0-9_-]{1,14}\\[A-Za-z0-9._$-]{2,64}",
                Some(|s, t, a, e| {
                    // A segment of a longer path is not DOMAIN\user.
                    if t[..a].ends_with(['\\', '/']) || t[e..].starts_with(['\\', '/']) {
                        return None;
                    }
                    username_domain(s)
                }),
            ),
            b(
                "username_home",
                DataClass::Username,
                0.9,
                r"(?i)(?:/home/|/Users/|\\Users\\)[A-Za-z0-9._-]{2,64}",
                Some(|s, _, _, _| username_path(s)),
            ),
            b(
                "hostname_fqdn",
                DataClass::Hostname,
                0.8,
                r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|local|lan|internal|corp|intra|example|eu|uk|de|fr|es|it|nl|us|ca|au|biz|info|cloud|dev|app|ru|cn)\b",
                Some(|s, t, _, e| {
                    let last = s.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
                    // `name.exe` is a file.
                    let _ = (t, e);
                    (!FILE_EXT.contains(&last.as_str())).then_some(DataClass::Hostname)
                }),
            ),
        ];
        let mut out = Vec::new();
        for c in custom {
            let class = c.class.parse::<DataClass>().map_err(|e| format!("recogniser {}: {e}", c.name))?;
            let re = Regex::new(&c.pattern).map_err(|e| format!("recogniser {}: {e}", c.name))?;
            out.push((c.name.clone(), class, c.confidence, re));
        }
        let mask = [
            r"\bS-1-\d{1,2}(?:-\d+){1,14}\b",
            r"(?i)\{?\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b\}?",
            r"%%\d{3,5}",
            r"(?i)\b[0-9a-f]{32}\b|\b[0-9a-f]{40}\b|\b[0-9a-f]{64}\b|\b[0-9a-f]{96}\b|\b[0-9a-f]{128}\b",
            r"(?i)(?:https?://)?(?:schemas\.(?:microsoft|xmlsoap|openxmlformats|android)\.(?:com|org)|www\.w3\.org|purl\.org|ns\.adobe\.com|docs\.oasis-open\.org)(?:/[^\s\x22'<>]*)?",
            r"(?i)\bv\d+(?:\.\d+){1,4}\b",
            r"(?i)\b(?:[a-z]*version|ver|build|release|revision|rev)[\s:=\x22']{0,3}\d+(?:\.\d+){1,4}\b",
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?",
            r"(?:^|[^:0-9A-Fa-f])\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:[^:0-9A-Fa-f]|$)",
            r"(?i)\bports?[\s:=#]{1,3}\d{1,5}\b",
            r"(?i)\b(?:pid|process ?id|ppid|thread ?id|tid)[\s:=#\x22]{1,4}(?:0x)?[0-9a-f]{1,10}\b",
            r"\b0x[0-9a-fA-F]+\b",
        ]
        .join("|");
        let mask = re(&mask);
        let base64 = re(r"[A-Za-z0-9+/]{20,}={0,2}");
        let hex = re(r"\b(?:0x)?(?:[0-9a-fA-F]{2}){8,}\b");
        let token = re(r"<[A-Z]+_(?:[0-9a-f]{10}|WITHHELD)>|<WITHHELD>");
        // One pass says which patterns can match at all: every built-in, then
        // Warden's tokens, base64 and hex. (The mask, a large alternation, is
        // cheaper as a pass of its own than inside the set.)
        let prefilter = regex::RegexSetBuilder::new(builtins.iter().map(|b| b.re.as_str()).chain([
            token.as_str(),
            base64.as_str(),
            hex.as_str(),
        ]))
        .dfa_size_limit(32 << 20)
        .build()
        .expect("built-in patterns compile");
        Ok(Recognisers {
            builtins,
            prefilter,
            custom: out,
            mask,
            iban_shape: re(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
            assignment: re(
                r#"(?i)([A-Za-z0-9_.-]*(?:pass|pwd|pw|secret|token|key|credential|connectionstring|authorization)[A-Za-z0-9_.-]*)["']?[ \t]*[:=][ \t]*("[^"\n]*"|'[^'\n]*'|[^\s;&,"'}\])]+)"#,
            ),
            url_credentials: re(r"(?i)\b[a-z][a-z0-9+.-]*://([^/\s:@]+):([^/\s@]+)@"),
            credential_cues: aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([
                    "pass",
                    "pwd",
                    " -p",
                    "/p:",
                    "secret",
                    "token",
                    "key",
                    " -u",
                    "--user",
                    "/user",
                    "://",
                    "net ",
                    "net.exe",
                    "securestring",
                    "credential",
                    "authorization",
                    "-pw",
                ])
                .expect("static"),
            base64,
            hex,
            token,
        })
    }

    /// Names of the built-in recognisers (for configuration and reports).
    pub fn names(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.builtins.iter().map(|b| b.name).collect();
        v.extend(["credentials", "person_name", "percent_decoded", "base64", "hex"]);
        v
    }

    /// Every hit in `text`, non-overlapping, earliest and longest first;
    /// Warden's own tokens are never matched (protection is idempotent).
    /// `disabled` names recognisers turned off by configuration.
    pub fn scan(&self, text: &str, disabled: &[String]) -> Vec<Hit> {
        self.scan_at(text, disabled, 0)
    }

    fn scan_at(&self, text: &str, disabled: &[String], depth: usize) -> Vec<Hit> {
        if text.len() < 3 {
            return Vec::new();
        }
        let off = |name: &str| disabled.iter().any(|d| d == name);
        let mut hits = Vec::new();
        let candidates = self.prefilter.matches(text);
        let n = self.builtins.len();
        let spans = |re: &Regex, i: usize| -> Vec<(usize, usize)> {
            if candidates.matched(i) { re.find_iter(text).map(|m| (m.start(), m.end())).collect() } else { Vec::new() }
        };
        // The mask only ever removes pattern hits: no pattern candidate, no mask pass.
        let any_pattern = (0..n).any(|i| candidates.matched(i));
        let mut masked: Vec<(usize, usize)> =
            if any_pattern { self.mask.find_iter(text).map(|m| (m.start(), m.end())).collect() } else { Vec::new() };
        let tokens = spans(&self.token, n);
        for (i, b) in self.builtins.iter().enumerate() {
            if !candidates.matched(i) {
                continue;
            }
            if b.name == "iban" {
                // A checksum-failing IBAN is still not a card, a phone or an id.
                masked.extend(
                    self.iban_shape.find_iter(text).filter(|m| !iban_ok(m.as_str())).map(|m| (m.start(), m.end())),
                );
            }
            if off(b.name) {
                continue;
            }
            let found: Vec<regex::Match<'_>> = if b.group == 0 {
                b.re.find_iter(text).collect()
            } else {
                b.re.captures_iter(text).filter_map(|c| c.get(b.group)).collect()
            };
            for m in found {
                let (mut s, mut e) = (m.start(), m.end());
                let class = match b.check {
                    Some(check) => match check(m.as_str(), text, s, e) {
                        Some(c) => c,
                        // A card number followed by more digits (`3783 1392 5175 722 2026`):
                        // try it without the trailing groups.
                        None if b.name == "payment_card" => {
                            let Some(end) = shorter_card(text, s, e, check) else { continue };
                            e = end;
                            DataClass::PaymentCard
                        }
                        None => continue,
                    },
                    None => b.class,
                };
                if matches!(b.name, "username_home" | "username_domain") {
                    s += m.as_str().rfind(['/', '\\']).map_or(0, |i| i + 1);
                }
                hits.push(Hit { start: s, end: e, class, recogniser: b.name, confidence: b.confidence });
            }
        }
        // Pattern hits inside something that means something else are dropped.
        let overlaps = |spans: &[(usize, usize)], s: usize, e: usize| spans.iter().any(|(a, b)| s < *b && e > *a);
        hits.retain(|h| !overlaps(&masked, h.start, h.end));
        // Context recognisers judge their own values.
        if !off("credentials") && self.credential_cues.is_match(text) {
            credentials::command_line(text, &mut hits);
            credentials::assignments(&self.assignment, text, &mut hits);
            credentials::url_credentials(&self.url_credentials, text, &mut hits);
        }
        // A name is two words, or a cue and a word: text without a space holds none.
        if !off("person_name") && text.contains(' ') {
            names::scan(text, &mut hits);
        }
        for (name, class, conf, re) in &self.custom {
            if off(name) {
                continue;
            }
            for m in re.find_iter(text) {
                hits.push(Hit {
                    start: m.start(),
                    end: m.end(),
                    class: *class,
                    recogniser: "custom",
                    confidence: *conf,
                });
            }
        }
        if depth < 2 {
            let blobs = [candidates.matched(n + 1), candidates.matched(n + 2)];
            self.decoded(text, disabled, depth, blobs, &mut hits);
        }
        hits.retain(|h| h.start < h.end && !overlaps(&tokens, h.start, h.end));
        resolve(hits)
    }

    /// What the percent-, base64- and hex-decoded forms of `text` hold, mapped onto `text`.
    fn decoded(&self, text: &str, disabled: &[String], depth: usize, blobs: [bool; 2], hits: &mut Vec<Hit>) {
        if !disabled.iter().any(|d| d == "percent_decoded")
            && let Some((plain, map)) = decode::percent(text)
        {
            for h in self.scan_at(&plain, disabled, depth + 1) {
                let (s, e) = (map[h.start], map[h.end]);
                hits.push(Hit { start: s, end: e, recogniser: "percent_decoded", ..h });
            }
        }
        // Encoded blobs (command lines, payloads): the whole blob takes the class found inside.
        let blobs = [("base64", &self.base64, blobs[0]), ("hex", &self.hex, blobs[1])];
        for (name, re, maybe) in blobs {
            if !maybe || disabled.iter().any(|d| d == name) {
                continue;
            }
            for m in re.find_iter(text) {
                let inner =
                    if name == "base64" { decode::base64_text(m.as_str()) } else { decode::hex_text(m.as_str()) };
                let Some(inner) = inner else { continue };
                let inner_hits = self.scan_at(&inner, disabled, depth + 1);
                if let Some(best) = inner_hits.iter().max_by(|a, b| a.confidence.total_cmp(&b.confidence)) {
                    hits.push(Hit {
                        start: m.start(),
                        end: m.end(),
                        class: best.class,
                        recogniser: name,
                        confidence: best.confidence,
                    });
                }
            }
        }
    }
}

/// The longest prefix of a digit run, ending at a separator, that passes the card check.
fn shorter_card(text: &str, s: usize, e: usize, check: Check) -> Option<usize> {
    let cuts: Vec<usize> = text[s..e].match_indices([' ', '-']).map(|(i, _)| s + i).collect();
    cuts.into_iter().rev().find(|&end| check(&text[s..end], text, s, end).is_some())
}

/// Non-overlapping hits. What the credential grammar found (from context)
/// comes first; then the rest, earliest first, then longest, then most confident.
fn resolve(hits: Vec<Hit>) -> Vec<Hit> {
    let (mut kept, rest): (Vec<Hit>, Vec<Hit>) = hits.into_iter().partition(|h| h.recogniser.starts_with("credential"));
    kept = greedy(kept, &[]);
    let mut out = greedy(rest, &kept);
    out.extend(kept);
    out.sort_by_key(|h| h.start);
    out
}

fn greedy(mut hits: Vec<Hit>, taken: &[Hit]) -> Vec<Hit> {
    hits.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(b.confidence.total_cmp(&a.confidence)));
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits {
        if taken.iter().any(|t| h.start < t.end && h.end > t.start) {
            continue;
        }
        if kept.last().is_none_or(|k| h.start >= k.end) {
            kept.push(h);
        }
    }
    kept
}

#[cfg(test)]
mod tests;
