//! Who may do what: roles, permissions and the matrix between them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use warden_core::{RiskTier, Role};

/// Everything an engine operation can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Work the review queue: see alerts, decide, flag.
    Review,
    /// Ask for a response action.
    RequestAction,
    /// Approve or reject low- and medium-tier actions.
    ApproveMedium,
    /// Approve or reject high-tier actions (and be one of a critical action's approvers).
    ApproveHigh,
    /// Be the manager a critical action needs.
    ApproveCritical,
    /// Change routing and risk policy (raise tiers, thresholds).
    ChangePolicy,
    /// Move an action to a lower tier than its default.
    LowerTier,
    /// Turn the stop switch on or off.
    OperateStopSwitch,
    /// Read the audit trail and evidence bundles.
    ReadAudit,
    /// See tokenised data in the clear.
    Reidentify,
    /// Manage users and tokens.
    Administer,
}

impl Permission {
    pub const ALL: &'static [Permission] = &[
        Permission::Review,
        Permission::RequestAction,
        Permission::ApproveMedium,
        Permission::ApproveHigh,
        Permission::ApproveCritical,
        Permission::ChangePolicy,
        Permission::LowerTier,
        Permission::OperateStopSwitch,
        Permission::ReadAudit,
        Permission::Reidentify,
        Permission::Administer,
    ];

    /// The permission needed to approve or reject an action of this tier.
    pub fn to_approve(tier: RiskTier) -> Permission {
        match tier {
            RiskTier::Low | RiskTier::Medium => Permission::ApproveMedium,
            RiskTier::High | RiskTier::Critical => Permission::ApproveHigh,
        }
    }
}

/// The permission matrix: what each role grants.
pub fn grants(role: Role) -> &'static [Permission] {
    use Permission::*;
    match role {
        Role::Analyst => &[Review, RequestAction],
        Role::SeniorAnalyst => &[Review, RequestAction, ApproveMedium, ApproveHigh],
        Role::Manager => &[
            Review,
            RequestAction,
            ApproveMedium,
            ApproveHigh,
            ApproveCritical,
            ChangePolicy,
            LowerTier,
            OperateStopSwitch,
            ReadAudit,
            Reidentify,
        ],
        Role::Auditor => &[ReadAudit],
        Role::Admin => &[Administer, ReadAudit, OperateStopSwitch],
    }
}

/// An authenticated person (or, for automation, a service) and their roles.
///
/// `user` is always a local account name: permissions, approvals and the
/// audit trail refer to it. A person who signs in through single sign-on
/// keeps a local account too (created on first sign-in, roles granted
/// locally or mapped from the provider's groups), and `external` records the
/// provider's subject so the same person is recognised whatever name the
/// provider shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user: String,
    pub roles: BTreeSet<Role>,
    /// Set when the session came from an external identity provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalSubject>,
}

/// Who an external identity provider (OpenID Connect) says someone is:
/// the issuer URL and the stable subject within it (`iss`, `sub`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternalSubject {
    pub issuer: String,
    pub subject: String,
}

/// A refused operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{user} may not {what}: it needs the {permission:?} permission, which none of their roles ({roles}) grants")]
pub struct Denied {
    pub user: String,
    pub permission: Permission,
    pub what: String,
    pub roles: String,
}

impl Identity {
    pub fn new(user: &str, roles: impl IntoIterator<Item = Role>) -> Self {
        Identity { user: user.to_owned(), roles: roles.into_iter().collect(), external: None }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.roles.iter().any(|r| grants(*r).contains(&p))
    }

    /// Ok when some role grants `p`; otherwise a `Denied` naming what was attempted.
    pub fn authorize(&self, p: Permission, what: &str) -> Result<(), Denied> {
        if self.can(p) {
            Ok(())
        } else {
            Err(Denied {
                user: self.user.clone(),
                permission: p,
                what: what.to_owned(),
                roles: if self.roles.is_empty() {
                    "none".into()
                } else {
                    self.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole matrix, spelled out: every (role, permission) pair is either
    /// allowed or denied here, and the test checks both directions.
    const EXPECTED: &[(Role, &[Permission])] = &[
        (Role::Analyst, &[Permission::Review, Permission::RequestAction]),
        (
            Role::SeniorAnalyst,
            &[Permission::Review, Permission::RequestAction, Permission::ApproveMedium, Permission::ApproveHigh],
        ),
        (
            Role::Manager,
            &[
                Permission::Review,
                Permission::RequestAction,
                Permission::ApproveMedium,
                Permission::ApproveHigh,
                Permission::ApproveCritical,
                Permission::ChangePolicy,
                Permission::LowerTier,
                Permission::OperateStopSwitch,
                Permission::ReadAudit,
                Permission::Reidentify,
            ],
        ),
        (Role::Auditor, &[Permission::ReadAudit]),
        (Role::Admin, &[Permission::Administer, Permission::ReadAudit, Permission::OperateStopSwitch]),
    ];

    #[test]
    fn every_permission_is_allowed_and_denied_exactly_as_the_matrix_says() {
        for (role, allowed) in EXPECTED {
            let who = Identity::new("u", [*role]);
            for p in Permission::ALL {
                let want = allowed.contains(p);
                assert_eq!(who.can(*p), want, "{role} / {p:?}");
                assert_eq!(who.authorize(*p, "x").is_ok(), want, "{role} / {p:?}");
            }
        }
        assert_eq!(EXPECTED.len(), Role::ALL.len());
    }

    #[test]
    fn roles_add_up_and_no_roles_grant_nothing() {
        let both = Identity::new("u", [Role::Auditor, Role::Analyst]);
        assert!(both.can(Permission::ReadAudit) && both.can(Permission::Review));
        let none = Identity::new("u", []);
        let e = none.authorize(Permission::Review, "review alerts").unwrap_err();
        assert!(e.to_string().contains("none of their roles (none)"), "{e}");
    }
}
