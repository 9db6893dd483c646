//! Prompt-injection screening of attacker-controllable text: direct
//! instructions, role play, and the same hidden in base64, hex or UTF-16, or
//! split across fields.

use base64::Engine as _;
use regex::Regex;
use warden_core::{Alert, Canon, Fields};

/// Canonical fields an attacker controls.
const CONTROLLED: &[Canon] =
    &[Canon::CommandLine, Canon::ScriptBlock, Canon::Url, Canon::Message, Canon::RuleName, Canon::DnsQuery];

/// Path fragments of other attacker-controlled fields (subjects, bodies, file names, user agents).
const CONTROLLED_PATHS: &[&str] = &[
    "subject",
    "body",
    "file",
    "filename",
    "user_agent",
    "useragent",
    "http_user_agent",
    "url",
    "title",
    "comment",
    "description",
    "payload",
];

pub struct Screen {
    phrases: Regex,
}

impl Default for Screen {
    fn default() -> Self {
        Self::new()
    }
}

impl Screen {
    pub fn new() -> Self {
        Screen {
            phrases: Regex::new(
                r"(?ix)
                \b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:previous|prior|above|earlier|all|your|the)\b.{0,30}\b(?:instructions?|prompts?|rules?|directions?|context)\b
              | \byou\s+are\s+(?:now\s+)?(?:a|an|the|in)\b.{0,40}\b(?:assistant|ai|model|mode|analyst|developer|dan)\b
              | \b(?:system|assistant)\s*(?:prompt|message)?\s*[:>]
              | \b(?:classify|mark|label|treat|report|rate|consider)\b.{0,40}\b(?:as|this\s+as)\s+(?:benign|safe|harmless|false\s+positive|clean)\b
              | \b(?:close|dismiss|suppress|ignore)\s+(?:this|the)\s+(?:alert|incident|ticket|case)\b
              | \bdo\s+not\s+(?:escalate|alert|report|flag)\b
              | \bnew\s+instructions?\b
              | \bjailbreak\b
              | </?(?:system|instructions?|im_start|im_end)>
              | \[/?INST\]
              ",
            )
            .expect("static pattern"),
        }
    }

    /// What in the alert reads like instructions to a model: (path or
    /// "fields combined", the phrase class found). Empty when clean.
    pub fn screen(&self, alert: &Alert) -> Vec<String> {
        let mut found = Vec::new();
        let mut texts: Vec<(String, String)> = Vec::new();
        for c in CONTROLLED {
            if let Some((p, v)) = alert.canonical(*c) {
                texts.push((p.to_owned(), v.to_string()));
            }
        }
        for (p, v) in alert.iter() {
            let key = p.rsplit('.').next().unwrap_or(p).to_ascii_lowercase();
            if CONTROLLED_PATHS.iter().any(|c| key.contains(c))
                && let Some(s) = v.as_str()
                && !texts.iter().any(|(q, _)| q == p)
            {
                texts.push((p.to_owned(), s.to_owned()));
            }
        }
        for (path, text) in &texts {
            for candidate in std::iter::once(text.clone()).chain(decoded(text)) {
                if self.phrases.is_match(&candidate) {
                    found.push(format!("instruction-like text in {path}"));
                    break;
                }
            }
        }
        // Split across fields: the pieces joined.
        if found.is_empty() && texts.len() > 1 {
            let joined: String = texts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" ");
            if self.phrases.is_match(&joined) {
                found.push("instruction-like text split across fields".into());
            }
        }
        found
    }
}

/// Base64 (UTF-8 or UTF-16LE) and hex runs decoded to text.
fn decoded(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tok in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        let t = tok.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '/' && c != '=');
        if t.len() >= 16
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(t)
        {
            out.extend(as_text(&bytes));
        }
        let h = t.strip_prefix("0x").unwrap_or(t);
        if h.len() >= 16 && h.len().is_multiple_of(2) && h.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes: Vec<u8> =
                (0..h.len()).step_by(2).filter_map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok()).collect();
            out.extend(as_text(&bytes));
        }
    }
    out
}

fn as_text(bytes: &[u8]) -> Option<String> {
    if bytes.len() >= 4 && bytes.len().is_multiple_of(2) && bytes.iter().skip(1).step_by(2).all(|b| *b == 0) {
        let units: Vec<u16> = bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16(&units).ok();
    }
    String::from_utf8(bytes.to_vec()).ok()
}
