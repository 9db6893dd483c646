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

pub mod corpus;
mod recognise;
/// Decoded forms of a string (percent escapes, base64, hex, UTF-16LE), shared with the injection screen.
pub use recognise::decode;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, XChaCha20Poly1305, XNonce};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use warden_core::{Alert, Canon, DataClass, Fields, Value};

pub use recognise::{CustomRecogniser, Hit, Recognisers};
pub use view::{Display, ViewPolicy};

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
    policy: ProviderPolicy,
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
    /// HMAC-SHA256 keyed with the tenant's token key (the key schedule done once).
    token_mac: hmac::Hmac<sha2::Sha256>,
    vault_key: [u8; 32],
    token_re: regex::Regex,
    token_any: regex::Regex,
    /// XChaCha20 nonces: 16 random bytes drawn once, then a counter, so
    /// sealing a value costs no system call and nonces never repeat.
    nonce_prefix: [u8; 16],
    nonce_counter: std::sync::atomic::AtomicU64,
    /// Values sealed lately (hosts, users and addresses repeat across
    /// alerts): the same token and ciphertext without the work again.
    sealed: std::sync::Mutex<std::collections::HashMap<(DataClass, String), VaultEntry>>,
}

/// How many sealed values [`Protector`] remembers before it starts over.
const SEALED_CACHE: usize = 65_536;

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
            token_mac: <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&token_key).expect("any key length"),
            vault_key,
            nonce_prefix: {
                let mut p = [0u8; 16];
                getrandom_fill(&mut p).map_err(|e| PrivacyError::Config(format!("no randomness for nonces: {e}")))?;
                p
            },
            nonce_counter: std::sync::atomic::AtomicU64::new(0),
            sealed: std::sync::Mutex::new(std::collections::HashMap::new()),
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
        let mut mac = self.token_mac.clone();
        mac.update(label(class).as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let d = mac.finalize().into_bytes();
        let mut t = String::with_capacity(18);
        t.push('<');
        t.push_str(label(class));
        t.push('_');
        for b in &d[..5] {
            t.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
            t.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
        }
        t.push('>');
        t
    }

    fn seal(&self, token: &str, class: DataClass, value: &str) -> VaultEntry {
        let cipher = XChaCha20Poly1305::new((&self.vault_key).into());
        let mut nonce = [0u8; 24];
        nonce[..16].copy_from_slice(&self.nonce_prefix);
        let n = self.nonce_counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        nonce[16..].copy_from_slice(&n.to_le_bytes());
        let ciphertext = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: value.as_bytes(), aad: token.as_bytes() })
            .expect("encryption of a short value cannot fail");
        VaultEntry { token: token.to_owned(), class, nonce: nonce.to_vec(), ciphertext }
    }

    /// Forgets the values sealed lately (the next protection of each seals it
    /// afresh); for measuring the cold path.
    pub fn forget_sealed(&self) {
        self.sealed.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The token and sealed original for a value, from the cache when it was sealed lately.
    fn sealed(&self, class: DataClass, value: &str) -> VaultEntry {
        let key = (class, value.to_owned());
        if let Some(e) = self.sealed.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return e.clone();
        }
        let token = self.token(class, value);
        let e = self.seal(&token, class, value);
        let mut cache = self.sealed.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= SEALED_CACHE {
            cache.clear();
        }
        cache.insert(key, e.clone());
        e
    }

    /// Decrypts a vault entry (the caller checks who may, and audits it).
    pub fn open(&self, e: &VaultEntry) -> Result<String, PrivacyError> {
        let bad = || PrivacyError::Decrypt(e.token.clone());
        let payload = Payload { msg: &e.ciphertext, aad: e.token.as_bytes() };
        let plain = match e.nonce.len() {
            24 => {
                let nonce: [u8; 24] = e.nonce.as_slice().try_into().map_err(|_| bad())?;
                XChaCha20Poly1305::new((&self.vault_key).into()).decrypt(&XNonce::from(nonce), payload)
            }
            // Entries sealed before nonces were extended: ChaCha20-Poly1305 with a random 12-byte nonce.
            12 => {
                let nonce: [u8; 12] = e.nonce.as_slice().try_into().map_err(|_| bad())?;
                ChaCha20Poly1305::new((&self.vault_key).into()).decrypt(&Nonce::from(nonce), payload)
            }
            _ => return Err(bad()),
        }
        .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    /// Whether a string is one of Warden's tokens in shape (the vault says whether it issued it).
    pub fn is_token(&self, s: &str) -> bool {
        self.token_re.is_match(s)
    }

    /// The class a field has by its path alone, for whole-value fields.
    fn path_class(&self, alert: &Alert, path: &str, value: &str) -> Option<DataClass> {
        if placeholder(value) {
            return None;
        }
        for (c, class) in [
            (Canon::User, DataClass::Username),
            (Canon::TargetUser, DataClass::Username),
            (Canon::Host, DataClass::Hostname),
        ] {
            if alert.canon.get(&c).is_some_and(|p| p == path) {
                return Some(canonical_class(class, value));
            }
        }
        if [Canon::SourceIp, Canon::DestinationIp].iter().any(|c| alert.canon.get(c).is_some_and(|p| p == path))
            && let Ok(ip) = value.trim().parse::<IpAddr>()
        {
            return Some(recognise::ip_class(ip));
        }
        let last = path
            .rsplit('.')
            .next()
            .unwrap_or(path)
            .trim_end_matches(|c: char| c == ']' || c.is_ascii_digit() || c == '[');
        let key = last.to_ascii_lowercase();
        let key = key.strip_prefix("target").or_else(|| key.strip_prefix("subject")).unwrap_or(&key);
        PATH_CLASSES.iter().find(|(k, _)| *k == key).map(|(_, c)| canonical_class(*c, value))
    }

    /// Classifies every field and produces what `policy`'s provider may see.
    pub fn protect(&self, mut alert: Alert, policy: &ProviderPolicy) -> ProtectedAlert {
        let mut run = Run::new(self, policy);
        let mut out = warden_core::FieldMap::new();
        for (path, value) in std::mem::take(&mut alert.fields) {
            if let Value::Str(s) = &value
                && self.is_token(s)
            {
                out.insert(path, value);
                continue;
            }
            let text: std::borrow::Cow<'_, str> = match &value {
                Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                other => std::borrow::Cow::Owned(other.to_string()),
            };
            if let Some(class) = self.path_class(&alert, &path, &text).filter(|_| !text.is_empty()) {
                run.classes.entry(path.clone()).or_default().insert(class);
                match run.replace(class, &text) {
                    Some(t) if t == text => out.insert(path, value),
                    Some(t) => out.insert(path, Value::Str(t)),
                    None => run.withheld += 1,
                }
                continue;
            }
            let (rebuilt, found) = match &value {
                Value::Str(s) => run.text(s),
                _ => (String::new(), BTreeSet::new()),
            };
            if found.is_empty() {
                match policy.unclassified {
                    Handling::Never => run.withheld += 1,
                    _ => out.insert(path, value),
                }
                continue;
            }
            run.classes.entry(path.clone()).or_default().extend(found);
            out.insert(path, Value::Str(rebuilt));
        }
        // A value found in one field is replaced wherever else it appears,
        // even where no recogniser would have seen it.
        if let Some(ac) = run.propagation() {
            let paths: Vec<String> =
                out.iter().filter(|(_, v)| matches!(v, Value::Str(_))).map(|(p, _)| p.to_owned()).collect();
            for path in paths {
                let Some(Value::Str(s)) = out.get(&path) else { continue };
                let fixed = ac.apply(s, &self.token_any);
                if &fixed != s {
                    out.insert(path, Value::Str(fixed));
                }
            }
        }
        // Canonical paths point only at fields the provider still has.
        alert.canon.retain(|_, p| out.get(p).is_some());
        alert.fields = out;
        let Run { classes, replaced, vault, withheld, .. } = run;
        ProtectedAlert {
            alert,
            classes,
            provider: policy.name.clone(),
            policy: policy.clone(),
            replaced: replaced.into_iter().filter(|(raw, _)| raw.chars().count() >= 3).collect(),
            vault: vault.into_values().collect(),
            withheld,
        }
    }

    /// Replaces, in any text about a protected alert (its summary, a cited
    /// value, a comment, a reason someone typed), every original that
    /// protection replaced with its token (or a withheld marker), and
    /// protects whatever else the recognisers find in it under the same
    /// policy. Tokens already in the text stay.
    pub fn redact(&self, protected: &ProtectedAlert, text: &str) -> String {
        self.redact_sealed(protected, text).0
    }

    /// [`Protector::redact`], with the vault entries for values found only in the text.
    pub fn redact_sealed(&self, protected: &ProtectedAlert, text: &str) -> (String, Vec<VaultEntry>) {
        let mut run = Run::new(self, &protected.policy);
        for (raw, token) in &protected.replaced {
            run.assigned.insert(raw.clone(), (if token.is_empty() { None } else { Some(token.clone()) }, false));
        }
        let (scanned, _) = run.text(text);
        let out = match run.propagation() {
            Some(ac) => ac.apply(&scanned, &self.token_any),
            None => scanned,
        };
        (out, run.vault.into_values().collect())
    }

    /// The last check before anything leaves for a provider: the exact body
    /// is searched for every original that protection replaced or withheld
    /// (as is, case-folded as a whole word, JSON-escaped, percent- and
    /// base64-encoded), and scanned by the recognisers (which decode
    /// percent, base64 and hex themselves) for anything the policy does not
    /// allow raw. Returns what was found (classes and recognisers, never the
    /// values); empty means the body may leave.
    pub fn egress_check(&self, body: &str, protected: &ProtectedAlert, policy: &ProviderPolicy) -> Vec<String> {
        let mut found = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        for (i, (raw, _)) in protected.replaced.iter().enumerate() {
            for form in encodings(raw) {
                patterns.push(form);
                owner.push(i);
            }
        }
        if !patterns.is_empty() {
            let finder = Finder::new(&patterns, aho_corasick::MatchKind::Standard);
            let mut seen = BTreeSet::new();
            for (start, end, k) in finder.overlapping(body) {
                let i = owner[k];
                if seen.contains(&i) {
                    continue;
                }
                if body[start..end] == patterns[k] || bounded(body, start, end) {
                    seen.insert(i);
                    let token = &protected.replaced[i].1;
                    found.push(format!(
                        "an original value replaced by {} is present",
                        if token.is_empty() { "a withheld marker" } else { token }
                    ));
                }
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

/// What a field holds that is a placeholder, not data: `-`, `%%1793`, `<value not set>`.
fn placeholder(v: &str) -> bool {
    let t = v.trim();
    t.is_empty()
        || t == "-"
        || t == "?"
        || (t.starts_with("%%") && t[2..].bytes().all(|b| b.is_ascii_digit()))
        || ["<value not set>", "n/a", "null", "none", "unknown", "(null)"].contains(&t.to_ascii_lowercase().as_str())
        || [
            "SYSTEM",
            "LOCAL SERVICE",
            "NETWORK SERVICE",
            "ANONYMOUS LOGON",
            "NT AUTHORITY",
            "BUILTIN",
            "Window Manager",
            "Font Driver Host",
        ]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
}

/// One value, one token, whatever found it: an address is an address even
/// in a host-name field, an e-mail address an e-mail address in a user field.
fn canonical_class(class: DataClass, value: &str) -> DataClass {
    if let Ok(ip) = value.trim().parse::<IpAddr>() {
        return recognise::ip_class(ip);
    }
    if matches!(class, DataClass::Username | DataClass::PersonName | DataClass::Hostname)
        && value.contains('@')
        && value.rsplit('@').next().is_some_and(|d| d.contains('.') && !d.contains(' '))
    {
        return DataClass::Email;
    }
    class
}

/// Forms an original can take in a request body.
fn encodings(raw: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut v = vec![raw.to_owned()];
    let json = serde_json::to_string(raw).unwrap_or_default();
    let json = json.trim_matches('"').to_owned();
    if json != raw {
        v.push(json.replace('<', "\\u003c"));
        v.push(json);
    }
    let pct: String = raw
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if pct != raw {
        v.push(pct);
    }
    if raw.len() >= 6 {
        v.push(base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()).trim_end_matches('=').to_owned());
        let utf16: Vec<u8> = raw.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        v.push(base64::engine::general_purpose::STANDARD.encode(utf16).trim_end_matches('=').to_owned());
    }
    v.dedup();
    v
}

/// Whether a match stands as a word of its own (no letter or digit glued to either side).
fn bounded(text: &str, s: usize, e: usize) -> bool {
    let before = text[..s].chars().next_back();
    let after = text[e..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// The protection of one alert (or one text about it): which value got
/// which token, what the vault must keep, what was withheld.
struct Run<'a> {
    p: &'a Protector,
    policy: &'a ProviderPolicy,
    classes: BTreeMap<String, BTreeSet<DataClass>>,
    /// Original → (its token, or `None` when withheld; whether only an exact-case match counts).
    assigned: BTreeMap<String, (Option<String>, bool)>,
    /// (original, token or empty when withheld): what the egress check looks for.
    replaced: BTreeMap<String, String>,
    vault: BTreeMap<String, VaultEntry>,
    withheld: usize,
}

impl<'a> Run<'a> {
    fn new(p: &'a Protector, policy: &'a ProviderPolicy) -> Self {
        Run {
            p,
            policy,
            classes: BTreeMap::new(),
            assigned: BTreeMap::new(),
            replaced: BTreeMap::new(),
            vault: BTreeMap::new(),
            withheld: 0,
        }
    }

    /// What `raw` (of `class`) becomes: itself, its token, or `None` when withheld.
    fn replace(&mut self, class: DataClass, raw: &str) -> Option<String> {
        if let Some((t, _)) = self.assigned.get(raw) {
            return Some(t.clone().unwrap_or_else(|| format!("<{}_WITHHELD>", label(class))));
        }
        let class = canonical_class(class, raw);
        match self.policy.handling(class) {
            Handling::Raw => Some(raw.to_owned()),
            Handling::Tokenise => {
                let e = self.p.sealed(class, raw);
                let t = e.token.clone();
                self.vault.entry(t.clone()).or_insert(e);
                self.assigned.insert(raw.to_owned(), (Some(t.clone()), false));
                self.replaced.insert(raw.to_owned(), t.clone());
                self.also(class, raw);
                Some(t)
            }
            Handling::Never => {
                self.assigned.insert(raw.to_owned(), (None, false));
                self.replaced.insert(raw.to_owned(), String::new());
                None
            }
        }
    }

    /// Parts of a value that identify it on their own: a host's short name,
    /// the words of a person's name (exact case only).
    fn also(&mut self, class: DataClass, raw: &str) {
        let parts: Vec<(String, bool)> = match class {
            DataClass::Hostname if raw.contains('.') && raw.parse::<IpAddr>().is_err() => {
                let short = raw.split('.').next().unwrap_or_default();
                let distinctive = short.len() >= 5 || short.bytes().any(|b| b.is_ascii_digit() || b == b'-');
                if short.len() >= 3 && distinctive { vec![(short.to_owned(), false)] } else { vec![] }
            }
            DataClass::PersonName => raw
                .split([' ', '-'])
                .filter(|w| w.chars().count() >= 4 && w.chars().next().is_some_and(char::is_uppercase))
                .map(|w| (w.to_owned(), true))
                .collect(),
            _ => vec![],
        };
        for (part, exact) in parts {
            if self.assigned.contains_key(&part) {
                continue;
            }
            let e = self.p.sealed(class, &part);
            let t = e.token.clone();
            self.vault.entry(t.clone()).or_insert(e);
            self.assigned.insert(part.clone(), (Some(t.clone()), exact));
            self.replaced.insert(part, t);
        }
    }

    /// One string: every recogniser hit replaced as the policy says.
    /// Returns the new text and the classes found.
    fn text(&mut self, s: &str) -> (String, BTreeSet<DataClass>) {
        let hits = self.p.recognisers.scan(s, &self.p.options.disabled);
        let mut found = BTreeSet::new();
        if hits.is_empty() {
            return (s.to_owned(), found);
        }
        let mut rebuilt = String::with_capacity(s.len());
        let mut at = 0;
        for h in &hits {
            found.insert(h.class);
            rebuilt.push_str(&s[at..h.start]);
            let raw = &s[h.start..h.end];
            match self.replace(h.class, raw) {
                Some(t) => rebuilt.push_str(&t),
                None => {
                    self.withheld += 1;
                    rebuilt.push_str(&format!("<{}_WITHHELD>", label(h.class)));
                }
            }
            at = h.end;
        }
        rebuilt.push_str(&s[at..]);
        (rebuilt, found)
    }

    /// Every original (three characters or more) and what replaces it, as one automaton.
    fn propagation(&self) -> Option<Propagation> {
        let mut pairs: Vec<(String, String, bool)> = self
            .assigned
            .iter()
            .filter(|(raw, _)| raw.chars().count() >= 3)
            .map(|(raw, (t, exact))| (raw.clone(), t.clone().unwrap_or_else(|| "<WITHHELD>".to_owned()), *exact))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let patterns: Vec<String> = pairs.iter().map(|p| p.0.clone()).collect();
        Some(Propagation { finder: Finder::new(&patterns, aho_corasick::MatchKind::LeftmostLongest), pairs })
    }
}

/// Finds originals in a text, ASCII case-insensitively. Built per alert, so
/// for the usual handful of values a search per value over the lower-cased
/// text (memchr-fast) beats building an automaton; many values get one.
enum Finder {
    /// One searcher per pattern, by index (`None` for an empty pattern, which matches nothing).
    Few(Vec<Option<memchr::memmem::Finder<'static>>>),
    Many(aho_corasick::AhoCorasick),
}

fn few(patterns: &[String]) -> Finder {
    Finder::Few(
        patterns
            .iter()
            .map(|p| {
                (!p.is_empty()).then(|| memchr::memmem::Finder::new(p.to_ascii_lowercase().as_bytes()).into_owned())
            })
            .collect(),
    )
}

const FEW: usize = 48;

impl Finder {
    fn new(patterns: &[String], kind: aho_corasick::MatchKind) -> Finder {
        if patterns.len() <= FEW || patterns.iter().any(String::is_empty) {
            return few(patterns);
        }
        match aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
            .match_kind(kind)
            .build(patterns)
        {
            Ok(ac) => Finder::Many(ac),
            Err(_) => few(patterns),
        }
    }

    /// Every occurrence of every pattern: (start, end, pattern), by start.
    fn overlapping(&self, hay: &str) -> Vec<(usize, usize, usize)> {
        match self {
            Finder::Many(ac) => {
                ac.find_overlapping_iter(hay).map(|m| (m.start(), m.end(), m.pattern().as_usize())).collect()
            }
            Finder::Few(ps) => {
                let lower = hay.to_ascii_lowercase();
                let mut out = Vec::new();
                for (k, f) in ps.iter().enumerate() {
                    let Some(f) = f else { continue };
                    let n = f.needle().len();
                    out.extend(f.find_iter(lower.as_bytes()).map(|i| (i, i + n, k)));
                }
                out.sort_unstable();
                // A match inside a multi-byte character is not one.
                out.retain(|(s, e, _)| hay.is_char_boundary(*s) && hay.is_char_boundary(*e));
                out
            }
        }
    }

    /// Non-overlapping occurrences, leftmost and then longest (patterns come longest first).
    fn leftmost_longest(&self, hay: &str) -> Vec<(usize, usize, usize)> {
        match self {
            Finder::Many(ac) => ac.find_iter(hay).map(|m| (m.start(), m.end(), m.pattern().as_usize())).collect(),
            Finder::Few(_) => {
                let mut all = self.overlapping(hay);
                all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                let mut out: Vec<(usize, usize, usize)> = Vec::new();
                for m in all {
                    if out.last().is_none_or(|l| m.0 >= l.1) {
                        out.push(m);
                    }
                }
                out
            }
        }
    }
}

/// Replaces originals wherever they appear in a text, outside Warden's tokens.
struct Propagation {
    finder: Finder,
    pairs: Vec<(String, String, bool)>,
}

impl Propagation {
    fn apply(&self, s: &str, tokens: &regex::Regex) -> String {
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for m in tokens.find_iter(s) {
            self.segment(&s[at..m.start()], &mut out);
            out.push_str(m.as_str());
            at = m.end();
        }
        self.segment(&s[at..], &mut out);
        out
    }

    fn segment(&self, seg: &str, out: &mut String) {
        let mut at = 0;
        for (start, end, k) in self.finder.leftmost_longest(seg) {
            let (raw, with, exact) = &self.pairs[k];
            let hit = &seg[start..end];
            // Exactly as found (an original made only of letters and digits must
            // stand as a word: `alice`, not `malice`), or case-folded as a word of its own.
            let alnum = raw.chars().all(char::is_alphanumeric);
            let word = bounded(seg, start, end);
            let ok = if hit == raw { !alnum || word } else { !exact && word };
            if ok {
                out.push_str(&seg[at..start]);
                out.push_str(with);
                at = end;
            }
        }
        out.push_str(&seg[at..]);
    }
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
