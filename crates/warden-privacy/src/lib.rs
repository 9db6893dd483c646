//! The privacy stage: classifies every field of an alert and is the only
//! maker of a [`ProtectedAlert`], the one type an analyzer accepts.
//!
//! Today the stage recognises the data classes each field holds (by field
//! path and by scanning values) and records them; values pass through
//! unchanged because the only analyzer is local. Tokenisation, the vault and
//! provider clearance arrive with the privacy issue, behind the same type, so
//! no analyzer can be handed an alert that skipped this stage.
//!
//! Privacy knows nothing about storage, HTTP or how analyzers work.

mod recognise;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use warden_core::{Alert, Canon, DataClass, Fields, Value};

pub use recognise::{CustomRecogniser, Hit, Recognisers};

/// What a provider may receive of one data class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// The value as it is.
    Raw,
    /// A keyed, deterministic token in its place (`<EMAIL_7f3a2c91d0>`).
    Tokenise,
    /// Nothing: the value is withheld.
    Never,
}

/// Where a provider processes data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Residency {
    OnPrem,
    Region(String),
    External,
}

impl Residency {
    pub fn parse(s: &str) -> Option<Residency> {
        match s {
            "on_prem" => Some(Residency::OnPrem),
            "external" => Some(Residency::External),
            r => r.strip_prefix("region:").filter(|x| !x.is_empty()).map(|x| Residency::Region(x.to_owned())),
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Residency::OnPrem => "on_prem".into(),
            Residency::Region(r) => format!("region:{r}"),
            Residency::External => "external".into(),
        }
    }
}

/// What one provider may see.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderPolicy {
    pub name: String,
    pub residency: Residency,
    /// Per class; a class not listed gets the residency's default.
    pub classes: BTreeMap<DataClass, Handling>,
    /// Fields where no recogniser found anything. Off-premises providers
    /// default to `never`: unknown data does not leave.
    pub unclassified: Handling,
}

impl ProviderPolicy {
    /// The local analyzer: on the premises, sees everything as it is.
    pub fn local() -> Self {
        ProviderPolicy {
            name: "local".into(),
            residency: Residency::OnPrem,
            classes: BTreeMap::new(),
            unclassified: Handling::Raw,
        }
    }

    pub fn handling(&self, class: DataClass) -> Handling {
        if let Some(h) = self.classes.get(&class) {
            return *h;
        }
        match (&self.residency, class) {
            (Residency::OnPrem, _) => Handling::Raw,
            (_, DataClass::Secret) => Handling::Never,
            _ => Handling::Tokenise,
        }
    }
}

/// An encrypted original, for the vault.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultEntry {
    pub token: String,
    pub class: DataClass,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for VaultEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VaultEntry({}, {})", self.token, self.class)
    }
}

/// An alert that has been through the privacy stage for one provider. Its
/// fields are private and it has no public constructor, so holding one
/// proves the stage ran; its fields are what that provider may see.
#[derive(Clone)]
pub struct ProtectedAlert {
    alert: Alert,
    classes: BTreeMap<String, BTreeSet<DataClass>>,
    provider: String,
    /// (original, token) pairs replaced: what the egress check looks for.
    replaced: Vec<(String, String)>,
    vault: Vec<VaultEntry>,
    withheld: usize,
}

impl std::fmt::Debug for ProtectedAlert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtectedAlert")
            .field("id", &self.alert.id)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl ProtectedAlert {
    /// The alert as the provider may see it.
    pub fn alert(&self) -> &Alert {
        &self.alert
    }

    /// Field path → the data classes found in it (in the original).
    pub fn classes(&self) -> &BTreeMap<String, BTreeSet<DataClass>> {
        &self.classes
    }

    /// How many fields hold each class; what the audit trail records.
    pub fn class_counts(&self) -> BTreeMap<DataClass, usize> {
        let mut counts = BTreeMap::new();
        for set in self.classes.values() {
            for c in set {
                *counts.entry(*c).or_insert(0) += 1;
            }
        }
        counts
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Originals to keep in the vault for re-identification.
    pub fn vault_entries(&self) -> &[VaultEntry] {
        &self.vault
    }

    /// Values withheld entirely (never-send classes, unclassified fields).
    pub fn withheld(&self) -> usize {
        self.withheld
    }

    /// Gives the alert back (for storage after analysis).
    pub fn into_alert(self) -> Alert {
        self.alert
    }
}

impl Fields for ProtectedAlert {
    fn get(&self, path: &str) -> Option<&Value> {
        self.alert.get(path)
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&str, &Value)> + '_> {
        self.alert.iter()
    }

    fn values<'a>(&'a self, path: &'a str) -> Vec<&'a Value> {
        self.alert.values(path)
    }
}

/// Options from configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// Tokens are keyed per tenant: the same value gives the same token
    /// within a tenant, different tokens across tenants.
    pub tenant: String,
    /// Built-in recognisers to turn off, by name.
    pub disabled: Vec<String>,
    pub custom: Vec<CustomRecogniser>,
}

/// Why the privacy stage could not do something.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("invalid privacy configuration: {0}")]
    Config(String),
    #[error("the vault entry for {0} cannot be decrypted (wrong key or altered)")]
    Decrypt(String),
}

/// Field paths whose whole value is of a class, by name (in any format).
const PATH_CLASSES: &[(&str, DataClass)] = &[
    ("fullname", DataClass::PersonName),
    ("full_name", DataClass::PersonName),
    ("displayname", DataClass::PersonName),
    ("display_name", DataClass::PersonName),
    ("givenname", DataClass::PersonName),
    ("surname", DataClass::PersonName),
    ("username", DataClass::Username),
    ("user_name", DataClass::Username),
    ("accountname", DataClass::Username),
    ("samaccountname", DataClass::Username),
    ("user", DataClass::Username),
    ("computer", DataClass::Hostname),
    ("hostname", DataClass::Hostname),
    ("workstationname", DataClass::Hostname),
    ("workstation", DataClass::Hostname),
];

/// The privacy stage. Build once, share across threads.
pub struct Protector {
    recognisers: Recognisers,
    options: Options,
    token_key: [u8; 32],
    vault_key: [u8; 32],
    token_re: regex::Regex,
    token_any: regex::Regex,
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(master).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

fn label(c: DataClass) -> &'static str {
    match c {
        DataClass::Email => "EMAIL",
        DataClass::IpPrivate | DataClass::IpPublic => "IP",
        DataClass::Hostname => "HOST",
        DataClass::Username => "USER",
        DataClass::PersonName => "NAME",
        DataClass::Phone => "PHONE",
        DataClass::PaymentCard => "CARD",
        DataClass::NationalId => "NATID",
        DataClass::Iban => "IBAN",
        DataClass::Mac => "MAC",
        DataClass::Url => "URL",
        DataClass::Secret => "SECRET",
    }
}

impl Protector {
    /// `master_key` comes from configuration, the environment or a key file,
    /// never from the database; the token and vault keys derive from it.
    pub fn new(options: Options, master_key: [u8; 32]) -> Result<Self, PrivacyError> {
        let recognisers = Recognisers::new(&options.custom).map_err(PrivacyError::Config)?;
        let token_key = derive(&master_key, &format!("warden-token:{}", options.tenant));
        let vault_key = derive(&master_key, "warden-vault");
        Ok(Protector {
            recognisers,
            options,
            token_key,
            vault_key,
            token_re: regex::Regex::new(r"^<[A-Z]+_[0-9a-f]{10}>$").expect("static"),
            token_any: regex::Regex::new(r"<[A-Z]+_(?:[0-9a-f]{10}|WITHHELD)>|<WITHHELD>").expect("static"),
        })
    }

    /// The recognisers in use.
    pub fn recognisers(&self) -> &Recognisers {
        &self.recognisers
    }

    /// The deterministic token for a value of a class.
    pub fn token(&self, class: DataClass, value: &str) -> String {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.token_key).expect("any key length");
        mac.update(label(class).as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let d = mac.finalize().into_bytes();
        format!("<{}_{}>", label(class), d[..5].iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    fn seal(&self, token: &str, class: DataClass, value: &str) -> VaultEntry {
        let cipher = ChaCha20Poly1305::new((&self.vault_key).into());
        let mut nonce = [0u8; 12];
        // A nonce from the OS; if randomness fails, derive one from the token (unique per value).
        if getrandom_fill(&mut nonce).is_err() {
            nonce.copy_from_slice(&derive(&self.vault_key, token)[..12]);
        }
        let ciphertext = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: value.as_bytes(), aad: token.as_bytes() })
            .expect("encryption of a short value cannot fail");
        VaultEntry { token: token.to_owned(), class, nonce: nonce.to_vec(), ciphertext }
    }

    /// Decrypts a vault entry (the caller checks who may, and audits it).
    pub fn open(&self, e: &VaultEntry) -> Result<String, PrivacyError> {
        let cipher = ChaCha20Poly1305::new((&self.vault_key).into());
        let nonce: [u8; 12] = e.nonce.as_slice().try_into().map_err(|_| PrivacyError::Decrypt(e.token.clone()))?;
        let plain = cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: &e.ciphertext, aad: e.token.as_bytes() })
            .map_err(|_| PrivacyError::Decrypt(e.token.clone()))?;
        String::from_utf8(plain).map_err(|_| PrivacyError::Decrypt(e.token.clone()))
    }

    /// Whether a string is one of Warden's tokens in shape (the vault says whether it issued it).
    pub fn is_token(&self, s: &str) -> bool {
        self.token_re.is_match(s)
    }

    /// The class a field has by its path alone, for whole-value fields.
    fn path_class(&self, alert: &Alert, path: &str, value: &str) -> Option<DataClass> {
        for (c, class) in [
            (Canon::User, DataClass::Username),
            (Canon::TargetUser, DataClass::Username),
            (Canon::Host, DataClass::Hostname),
        ] {
            if alert.canon.get(&c).is_some_and(|p| p == path) {
                return Some(class);
            }
        }
        if [Canon::SourceIp, Canon::DestinationIp].iter().any(|c| alert.canon.get(c).is_some_and(|p| p == path))
            && let Ok(ip) = value.trim().parse::<IpAddr>()
        {
            let hit = self.recognisers.scan(&ip.to_string(), &[]);
            return hit.first().map(|h| h.class);
        }
        let last = path
            .rsplit('.')
            .next()
            .unwrap_or(path)
            .trim_end_matches(|c: char| c == ']' || c.is_ascii_digit() || c == '[');
        let key = last.to_ascii_lowercase();
        let key = key.strip_prefix("target").or_else(|| key.strip_prefix("subject")).unwrap_or(&key);
        PATH_CLASSES.iter().find(|(k, _)| *k == key).map(|(_, c)| *c)
    }

    /// Classifies every field and produces what `policy`'s provider may see.
    pub fn protect(&self, mut alert: Alert, policy: &ProviderPolicy) -> ProtectedAlert {
        let mut classes: BTreeMap<String, BTreeSet<DataClass>> = BTreeMap::new();
        let mut replaced: BTreeMap<String, String> = BTreeMap::new();
        let mut vault: BTreeMap<String, VaultEntry> = BTreeMap::new();
        let mut withheld = 0;
        let mut out = warden_core::FieldMap::new();
        let fields: Vec<(String, Value)> = alert.fields.iter().map(|(p, v)| (p.to_owned(), v.clone())).collect();
        let tokenise = |class: DataClass,
                        raw: &str,
                        replaced: &mut BTreeMap<String, String>,
                        vault: &mut BTreeMap<String, VaultEntry>|
         -> String {
            let t = self.token(class, raw);
            replaced.insert(raw.to_owned(), t.clone());
            vault.entry(t.clone()).or_insert_with(|| self.seal(&t, class, raw));
            t
        };
        for (path, value) in fields {
            let text = value.to_string();
            if let Value::Str(s) = &value
                && self.is_token(s)
            {
                out.insert(path, value);
                continue;
            }
            if let Some(class) = self.path_class(&alert, &path, &text).filter(|_| !text.is_empty() && text != "-") {
                classes.entry(path.clone()).or_default().insert(class);
                match policy.handling(class) {
                    Handling::Raw => out.insert(path, value),
                    Handling::Tokenise => {
                        let t = tokenise(class, &text, &mut replaced, &mut vault);
                        out.insert(path, Value::Str(t))
                    }
                    Handling::Never => withheld += 1,
                }
                continue;
            }
            let hits = match &value {
                Value::Str(s) => self.recognisers.scan(s, &self.options.disabled),
                _ => Vec::new(),
            };
            if hits.is_empty() {
                match policy.unclassified {
                    Handling::Never => withheld += 1,
                    _ => out.insert(path, value),
                }
                continue;
            }
            let set = classes.entry(path.clone()).or_default();
            let mut rebuilt = String::with_capacity(text.len());
            let mut at = 0;
            for h in &hits {
                set.insert(h.class);
                rebuilt.push_str(&text[at..h.start]);
                let raw = &text[h.start..h.end];
                match policy.handling(h.class) {
                    Handling::Raw => rebuilt.push_str(raw),
                    Handling::Tokenise => rebuilt.push_str(&tokenise(h.class, raw, &mut replaced, &mut vault)),
                    Handling::Never => {
                        withheld += 1;
                        rebuilt.push_str(&format!("<{}_WITHHELD>", label(h.class)));
                        replaced.insert(raw.to_owned(), String::new());
                    }
                }
                at = h.end;
            }
            rebuilt.push_str(&text[at..]);
            out.insert(path, Value::Str(rebuilt));
        }
        // A value found in one field is replaced wherever else it appears,
        // whatever its case, even where no recogniser would have seen it.
        let propagate = propagation(replaced.iter());
        if !propagate.is_empty() {
            let paths: Vec<String> =
                out.iter().filter(|(_, v)| matches!(v, Value::Str(_))).map(|(p, _)| p.to_owned()).collect();
            for path in paths {
                let Some(Value::Str(s)) = out.get(&path) else { continue };
                let fixed = self.outside_tokens(s, |seg| replace_folded(seg, &propagate));
                if &fixed != s {
                    out.insert(path, Value::Str(fixed));
                }
            }
        }
        // Canonical paths point only at fields the provider still has.
        alert.canon.retain(|_, p| out.get(p).is_some());
        alert.fields = out;
        ProtectedAlert {
            alert,
            classes,
            provider: policy.name.clone(),
            replaced: replaced.into_iter().filter(|(raw, _)| raw.chars().count() >= 3).collect(),
            vault: vault.into_values().collect(),
            withheld,
        }
    }

    /// Replaces, in any text about a protected alert (its summary, a cited
    /// value, a comment), every original that protection replaced with its
    /// token (or `<WITHHELD>`), whatever its case. Tokens already in the text stay.
    pub fn redact(&self, protected: &ProtectedAlert, text: &str) -> String {
        let pairs = propagation(protected.replaced.iter().map(|(a, b)| (a, b)));
        if pairs.is_empty() {
            return text.to_owned();
        }
        self.outside_tokens(text, |seg| replace_folded(seg, &pairs))
    }

    /// Applies `f` to the parts of `s` that are not Warden tokens.
    fn outside_tokens(&self, s: &str, f: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for m in self.token_any.find_iter(s) {
            out.push_str(&f(&s[at..m.start()]));
            out.push_str(m.as_str());
            at = m.end();
        }
        out.push_str(&f(&s[at..]));
        out
    }

    /// The last check before anything leaves for a provider: the exact body
    /// is searched for every original that protection replaced (as is and
    /// case-folded), and scanned by the recognisers for anything the policy
    /// does not allow raw. Returns what was found (classes and recognisers,
    /// never the values); empty means the body may leave.
    pub fn egress_check(&self, body: &str, protected: &ProtectedAlert, policy: &ProviderPolicy) -> Vec<String> {
        let mut found = Vec::new();
        for (raw, token) in &protected.replaced {
            // As is anywhere; case-folded as a whole word (so `Users` is not found in `SubjectUserSid`).
            let folded = regex::RegexBuilder::new(&format!(
                r"(?:^|[^\p{{L}}\p{{N}}]){}(?:$|[^\p{{L}}\p{{N}}])",
                regex::escape(raw)
            ))
            .case_insensitive(true)
            .build()
            .map(|re| re.is_match(body))
            .unwrap_or(false);
            if body.contains(raw.as_str()) || folded {
                found.push(format!(
                    "an original value replaced by {} is present",
                    if token.is_empty() { "a withheld marker" } else { token }
                ));
            }
        }
        for h in self.recognisers.scan(body, &self.options.disabled) {
            if policy.handling(h.class) != Handling::Raw {
                found.push(format!("{} recogniser found {} data", h.recogniser, h.class));
            }
        }
        found
    }
}

/// Replaces every case-insensitive occurrence of each `(lower-cased raw, with)`.
/// (original lower-cased, replacement) pairs, longest original first, for
/// originals of three characters or more.
fn propagation<'a>(replaced: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = replaced
        .filter(|(raw, _)| raw.chars().count() >= 3)
        .map(|(raw, token)| {
            (raw.to_lowercase(), if token.is_empty() { "<WITHHELD>".to_owned() } else { token.clone() })
        })
        .collect();
    v.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
    v
}

fn replace_folded(seg: &str, pairs: &[(String, String)]) -> String {
    let mut seg = seg.to_owned();
    for (raw, with) in pairs {
        let lower = seg.to_lowercase();
        // Lower-casing can change byte lengths outside ASCII; fall back to exact matching there.
        if lower.len() != seg.len() {
            if seg.contains(raw.as_str()) {
                seg = seg.replace(raw.as_str(), with);
            }
            continue;
        }
        if !lower.contains(raw.as_str()) {
            continue;
        }
        let mut out = String::with_capacity(seg.len());
        let mut at = 0;
        while let Some(i) = lower[at..].find(raw.as_str()) {
            out.push_str(&seg[at..at + i]);
            out.push_str(with);
            at += i + raw.len();
        }
        out.push_str(&seg[at..]);
        seg = out;
    }
    seg
}

fn getrandom_fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{AlertId, FieldMap, Fingerprint, Format, Location, Origin};

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        let mut fields = FieldMap::new();
        for (p, v) in pairs {
            fields.insert(*p, Value::from(*v));
        }
        let fp = Fingerprint::from_hex("00".repeat(32));
        Alert {
            id: AlertId::from_fingerprint(&fp),
            format: Format::Json,
            received_at: jiff::Timestamp::UNIX_EPOCH,
            observed_at: None,
            fingerprint: fp,
            origin: Origin { file: "t".into(), location: Location::Line(1) },
            fields,
            canon: [(Canon::User, "user".to_owned())].into_iter().collect(),
        }
    }

    fn protector() -> Protector {
        Protector::new(Options { tenant: "t1".into(), ..Options::default() }, [7; 32]).unwrap()
    }

    fn external() -> ProviderPolicy {
        ProviderPolicy {
            name: "external".into(),
            residency: Residency::External,
            classes: BTreeMap::new(),
            unclassified: Handling::Raw,
        }
    }

    #[test]
    fn text_about_a_protected_alert_is_redacted_the_same_way() {
        let pr = protector();
        let p =
            pr.protect(alert(&[("user", "alice"), ("host", "ws-042.corp.example"), ("note", "nothing")]), &external());
        let token = p.alert().get("user").unwrap().as_str().unwrap().to_owned();
        assert_ne!(token, "alice");
        let summary = "Credential dumping by ALICE on ws-042.corp.example; nothing else";
        let redacted = pr.redact(&p, summary);
        assert!(!redacted.to_lowercase().contains("alice") && !redacted.contains("ws-042"), "{redacted}");
        assert!(redacted.contains(&token) && redacted.ends_with("nothing else"), "{redacted}");
        assert_eq!(pr.redact(&p, &redacted), redacted, "tokens are not touched again");
        let local = pr.protect(alert(&[("user", "alice")]), &ProviderPolicy::local());
        assert_eq!(pr.redact(&local, summary), summary, "nothing replaced, nothing redacted");
    }

    #[test]
    fn classes_are_found_by_path_and_by_value() {
        let p = protector().protect(
            alert(&[
                ("user", "alice"),
                ("src", "10.1.2.3"),
                ("dst", "8.8.8.8"),
                ("msg", "mail bob@example.com from 192.168.0.1"),
                ("cmd", "net use \\\\srv /user:admin /password:Hunter2"),
                ("key", "AKIAIOSFODNN7EXAMPLE"),
                ("note", "nothing here"),
            ]),
            &ProviderPolicy::local(),
        );
        let c = p.classes();
        assert_eq!(c["user"], [DataClass::Username].into());
        assert_eq!(c["src"], [DataClass::IpPrivate].into());
        assert_eq!(c["dst"], [DataClass::IpPublic].into());
        assert_eq!(c["msg"], [DataClass::Email, DataClass::IpPrivate].into());
        assert!(c["cmd"].contains(&DataClass::Secret));
        assert!(c["key"].contains(&DataClass::Secret));
        assert!(!c.contains_key("note"));
        assert_eq!(
            p.alert().get("msg").unwrap().as_str(),
            Some("mail bob@example.com from 192.168.0.1"),
            "local sees raw"
        );
    }

    #[test]
    fn an_external_provider_sees_tokens_and_no_secrets() {
        let pr = protector();
        let p = pr.protect(
            alert(&[("user", "alice"), ("msg", "mail bob@example.com; key AKIAIOSFODNN7EXAMPLE")]),
            &external(),
        );
        let msg = p.alert().get("msg").unwrap().as_str().unwrap().to_owned();
        assert!(msg.starts_with("mail <EMAIL_") && msg.ends_with("key <SECRET_WITHHELD>"), "{msg}");
        assert_eq!(p.alert().get("user").unwrap().as_str().unwrap(), pr.token(DataClass::Username, "alice"));
        // Same value, same token: correlation survives.
        let again = pr.protect(alert(&[("msg", "from bob@example.com")]), &external());
        assert!(
            again
                .alert()
                .get("msg")
                .unwrap()
                .as_str()
                .unwrap()
                .contains(&pr.token(DataClass::Email, "bob@example.com"))
        );
        // Another tenant, another token.
        let other = Protector::new(Options { tenant: "t2".into(), ..Options::default() }, [7; 32]).unwrap();
        assert_ne!(other.token(DataClass::Email, "bob@example.com"), pr.token(DataClass::Email, "bob@example.com"));
        // Round trip through the vault.
        let e = p.vault_entries().iter().find(|e| e.class == DataClass::Email).unwrap();
        assert_eq!(pr.open(e).unwrap(), "bob@example.com");
        let mut forged = e.clone();
        forged.token = pr.token(DataClass::Email, "eve@example.com");
        assert!(pr.open(&forged).is_err(), "a ciphertext is bound to its token");
        // Protection is idempotent.
        let twice = pr.protect(p.alert().clone(), &external());
        assert_eq!(twice.alert().fields, p.alert().fields);
    }

    #[test]
    fn the_egress_check_catches_what_slipped_through() {
        let pr = protector();
        let p = pr.protect(alert(&[("msg", "contact bob@example.com")]), &external());
        let clean = serde_json::to_string(&p.alert().fields).unwrap();
        assert!(pr.egress_check(&clean, &p, &external()).is_empty());
        let leaky = format!("{clean} BOB@EXAMPLE.COM");
        assert!(!pr.egress_check(&leaky, &p, &external()).is_empty());
    }

    #[test]
    fn unknown_fields_do_not_leave_by_default_off_premises() {
        let pr = protector();
        let strict = ProviderPolicy { unclassified: Handling::Never, ..external() };
        let p = pr.protect(alert(&[("note", "harmless"), ("msg", "bob@example.com")]), &strict);
        assert!(p.alert().get("note").is_none());
        assert_eq!(p.withheld(), 1);
    }
}
