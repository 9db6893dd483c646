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

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use regex::Regex;
use warden_core::{Alert, Canon, DataClass, Fields, Value};

/// An alert that has been through the privacy stage. Its fields are private
/// and it has no public constructor, so holding one proves the stage ran.
#[derive(Clone, Debug)]
pub struct ProtectedAlert {
    alert: Alert,
    classes: BTreeMap<String, BTreeSet<DataClass>>,
}

impl ProtectedAlert {
    /// The alert as the analyzer may see it.
    pub fn alert(&self) -> &Alert {
        &self.alert
    }

    /// Field path → the data classes found in it.
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

/// The privacy stage. Build once, share across threads.
pub struct Protector {
    email: Regex,
    ipv4: Regex,
    mac: Regex,
    secrets: Vec<Regex>,
    url_credentials: Regex,
}

impl Default for Protector {
    fn default() -> Self {
        Self::new()
    }
}

impl Protector {
    pub fn new() -> Self {
        let re = |s: &str| Regex::new(s).expect("built-in pattern compiles");
        Protector {
            email: re(r"(?i)\b[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,24}\b"),
            ipv4: re(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
            mac: re(r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}\b"),
            secrets: vec![
                re(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
                re(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
                re(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
                re(r"(?i)(?:--password[= ]|/password:|\s-p\s*[^\s-]|\bpassword=)\S+"),
                re(r"\b(?:ghp|gho|github_pat|xox[bp]|sk)_[A-Za-z0-9_]{16,}"),
            ],
            url_credentials: re(r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
        }
    }

    /// Classifies every field and wraps the alert.
    pub fn protect(&self, alert: Alert) -> ProtectedAlert {
        let mut classes: BTreeMap<String, BTreeSet<DataClass>> = BTreeMap::new();
        let by_path: BTreeMap<&str, DataClass> = [
            (Canon::User, DataClass::Username),
            (Canon::TargetUser, DataClass::Username),
            (Canon::Host, DataClass::Hostname),
        ]
        .into_iter()
        .filter_map(|(c, class)| alert.canon.get(&c).map(|p| (p.as_str(), class)))
        .collect();
        for (path, value) in alert.fields.iter() {
            let mut found = BTreeSet::new();
            if let Some(class) = by_path.get(path) {
                found.insert(*class);
            }
            if let Value::Str(s) = value {
                self.scan(s, &mut found);
            }
            if !found.is_empty() {
                classes.insert(path.to_owned(), found);
            }
        }
        ProtectedAlert { alert, classes }
    }

    fn scan(&self, s: &str, found: &mut BTreeSet<DataClass>) {
        if let Ok(ip) = s.trim().parse::<IpAddr>() {
            found.insert(ip_class(ip));
            return;
        }
        if self.email.is_match(s) {
            found.insert(DataClass::Email);
        }
        for m in self.ipv4.find_iter(s) {
            if let Ok(ip) = m.as_str().parse::<IpAddr>() {
                found.insert(ip_class(ip));
            }
        }
        if self.mac.is_match(s) {
            found.insert(DataClass::Mac);
        }
        if self.url_credentials.is_match(s) || self.secrets.iter().any(|r| r.is_match(s)) {
            found.insert(DataClass::Secret);
        }
    }
}

fn ip_class(ip: IpAddr) -> DataClass {
    let private = match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    if private { DataClass::IpPrivate } else { DataClass::IpPublic }
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

    #[test]
    fn classes_are_found_by_path_and_by_value() {
        let p = Protector::new().protect(alert(&[
            ("user", "alice"),
            ("src", "10.1.2.3"),
            ("dst", "8.8.8.8"),
            ("msg", "mail bob@example.com from 192.168.0.1"),
            ("cmd", "net use \\\\srv /user:admin /password:Hunter2"),
            ("key", "AKIAIOSFODNN7EXAMPLE"),
            ("note", "nothing here"),
        ]));
        let c = p.classes();
        assert_eq!(c["user"], [DataClass::Username].into());
        assert_eq!(c["src"], [DataClass::IpPrivate].into());
        assert_eq!(c["dst"], [DataClass::IpPublic].into());
        assert_eq!(c["msg"], [DataClass::Email, DataClass::IpPrivate].into());
        assert!(c["cmd"].contains(&DataClass::Secret));
        assert!(c["key"].contains(&DataClass::Secret));
        assert!(!c.contains_key("note"));
    }

    #[test]
    fn version_strings_are_not_addresses() {
        let p = Protector::new().protect(alert(&[("v", "build 999.1.2.3")]));
        assert!(p.classes().is_empty(), "{:?}", p.classes());
    }
}
