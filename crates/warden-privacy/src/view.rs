//! What people are shown: a policy per role and data class, not a side
//! effect of who may re-identify. Responders see the operational
//! identifiers they act on (hosts, accounts, addresses, URLs, MACs) as they
//! are, and customer personal data and secrets as tokens; auditors see
//! tokens. A token can still be re-identified by someone allowed, audited.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warden_core::{DataClass, Role};

use crate::{Handling, ProviderPolicy, Residency};

/// How one class of data is shown to one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    /// Nothing: a withheld marker in its place.
    Hidden,
    /// A token (the same token the providers and the vault know).
    Tokenised,
    /// The value as it is.
    Shown,
}

/// Operational identifiers: what responders need to act.
const OPERATIONAL: &[DataClass] = &[
    DataClass::Hostname,
    DataClass::Username,
    DataClass::IpPrivate,
    DataClass::IpPublic,
    DataClass::Url,
    DataClass::Mac,
];

/// Per role, per class; a class a role does not list is tokenised.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewPolicy {
    roles: BTreeMap<Role, BTreeMap<DataClass, Display>>,
}

impl Default for ViewPolicy {
    fn default() -> Self {
        let responders: BTreeMap<DataClass, Display> = OPERATIONAL.iter().map(|c| (*c, Display::Shown)).collect();
        let roles = [Role::Analyst, Role::SeniorAnalyst, Role::Manager]
            .into_iter()
            .map(|r| (r, responders.clone()))
            .chain([(Role::Auditor, BTreeMap::new()), (Role::Admin, BTreeMap::new())])
            .collect();
        ViewPolicy { roles }
    }
}

impl ViewPolicy {
    /// The default with configured overrides (`[privacy.view.<role>] <class> = "shown"`).
    pub fn with(overrides: &BTreeMap<Role, BTreeMap<DataClass, Display>>) -> Self {
        let mut p = ViewPolicy::default();
        for (role, classes) in overrides {
            p.roles.entry(*role).or_default().extend(classes.iter().map(|(c, d)| (*c, *d)));
        }
        p
    }

    /// How a class is shown to someone with these roles: the most open any of them allows.
    pub fn display(&self, roles: impl IntoIterator<Item = Role> + Clone, class: DataClass) -> Display {
        roles
            .into_iter()
            .map(|r| self.roles.get(&r).and_then(|m| m.get(&class)).copied().unwrap_or(Display::Tokenised))
            .max()
            .unwrap_or(Display::Hidden)
    }

    /// The same, as the policy the protector applies; `None` when everything is shown.
    pub fn policy(&self, roles: impl IntoIterator<Item = Role> + Clone) -> Option<ProviderPolicy> {
        let classes: BTreeMap<DataClass, Handling> = DataClass::ALL
            .iter()
            .map(|c| {
                let h = match self.display(roles.clone(), *c) {
                    Display::Shown => Handling::Raw,
                    Display::Tokenised => Handling::Tokenise,
                    Display::Hidden => Handling::Never,
                };
                (*c, h)
            })
            .collect();
        if classes.values().all(|h| *h == Handling::Raw) {
            return None;
        }
        let names: Vec<&str> = roles.into_iter().map(|r| r.as_str()).collect();
        Some(ProviderPolicy {
            name: format!("view:{}", names.join("+")),
            residency: Residency::Region("staff".into()),
            classes,
            unclassified: Handling::Raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responders_see_operational_identifiers_and_tokens_for_customer_data() {
        let v = ViewPolicy::default();
        for r in [Role::Analyst, Role::SeniorAnalyst, Role::Manager] {
            assert_eq!(v.display([r], DataClass::Hostname), Display::Shown);
            assert_eq!(v.display([r], DataClass::IpPublic), Display::Shown);
            assert_eq!(v.display([r], DataClass::PaymentCard), Display::Tokenised);
            assert_eq!(v.display([r], DataClass::PersonName), Display::Tokenised);
            assert_eq!(v.display([r], DataClass::Secret), Display::Tokenised);
        }
        assert_eq!(v.display([Role::Auditor], DataClass::Hostname), Display::Tokenised);
        assert_eq!(
            v.display([Role::Auditor, Role::Analyst], DataClass::Hostname),
            Display::Shown,
            "the most open role"
        );
        let p = v.policy([Role::Analyst]).unwrap();
        assert_eq!(p.handling(DataClass::Username), Handling::Raw);
        assert_eq!(p.handling(DataClass::Email), Handling::Tokenise);
    }

    #[test]
    fn overrides_change_one_role_and_class() {
        let o = [(Role::Analyst, [(DataClass::Email, Display::Shown), (DataClass::Hostname, Display::Hidden)].into())]
            .into();
        let v = ViewPolicy::with(&o);
        assert_eq!(v.display([Role::Analyst], DataClass::Email), Display::Shown);
        assert_eq!(v.policy([Role::Analyst]).unwrap().handling(DataClass::Hostname), Handling::Never);
        assert_eq!(v.display([Role::Manager], DataClass::Email), Display::Tokenised);
    }
}
