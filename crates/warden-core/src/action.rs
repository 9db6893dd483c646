use crate::named_enum;

/// How much harm an action can do if it is wrong; the risk matrix maps each
/// [`ActionKind`] to one. Ordered from least to most dangerous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskTier {
    /// May run automatically.
    Low,
    /// Needs one approval.
    Medium,
    /// Needs two distinct approvers, neither the requester.
    High,
    /// Never automated: a human decides and acts.
    Critical,
}

named_enum!(RiskTier, "risk tier", {
    Low => "low",
    Medium => "medium",
    High => "high",
    Critical => "critical",
});

/// The response actions Warden knows about, with their default tiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    Enrich,
    Tag,
    AddNote,
    OpenTicket,
    IsolateHost,
    DisableAccount,
    BlockIndicator,
    QuarantineFile,
    ResetCredentials,
    DisableService,
    EscalateIncidentCommander,
    DeclareBreach,
    NotifyCustomers,
    NotifyRegulator,
    ShutdownInfrastructure,
    AttributeThreatActor,
    StartDisasterRecovery,
    PageExecutives,
}

named_enum!(ActionKind, "action", {
    Enrich => "enrich",
    Tag => "tag",
    AddNote => "add_note",
    OpenTicket => "open_ticket",
    IsolateHost => "isolate_host",
    DisableAccount => "disable_account",
    BlockIndicator => "block_indicator",
    QuarantineFile => "quarantine_file",
    ResetCredentials => "reset_credentials",
    DisableService => "disable_service",
    EscalateIncidentCommander => "escalate_incident_commander",
    DeclareBreach => "declare_breach",
    NotifyCustomers => "notify_customers",
    NotifyRegulator => "notify_regulator",
    ShutdownInfrastructure => "shutdown_infrastructure",
    AttributeThreatActor => "attribute_threat_actor",
    StartDisasterRecovery => "start_disaster_recovery",
    PageExecutives => "page_executives",
});

impl ActionKind {
    /// The tier an action has before any policy raises it.
    pub fn default_tier(self) -> RiskTier {
        use ActionKind::*;
        match self {
            Enrich | Tag | AddNote | OpenTicket => RiskTier::Low,
            IsolateHost | DisableAccount | BlockIndicator | QuarantineFile => RiskTier::Medium,
            ResetCredentials | DisableService | EscalateIncidentCommander => RiskTier::High,
            DeclareBreach
            | NotifyCustomers
            | NotifyRegulator
            | ShutdownInfrastructure
            | AttributeThreatActor
            | StartDisasterRecovery
            | PageExecutives => RiskTier::Critical,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breach_and_notification_are_critical_by_default() {
        for a in [ActionKind::DeclareBreach, ActionKind::NotifyCustomers, ActionKind::ShutdownInfrastructure] {
            assert_eq!(a.default_tier(), RiskTier::Critical);
        }
        assert_eq!(ActionKind::OpenTicket.default_tier(), RiskTier::Low);
    }
}

/// A person's role; a user may hold several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Analyst,
    SeniorAnalyst,
    Manager,
    Auditor,
    Admin,
}

named_enum!(Role, "role", {
    Analyst => "analyst",
    SeniorAnalyst => "senior_analyst",
    Manager => "manager",
    Auditor => "auditor",
    Admin => "admin",
});

impl ActionKind {
    /// Containment: acting on a host, account, indicator or file. Never
    /// automatic during a workflow's burn-in, whatever its tier.
    pub fn is_containment(self) -> bool {
        matches!(
            self,
            ActionKind::IsolateHost
                | ActionKind::DisableAccount
                | ActionKind::BlockIndicator
                | ActionKind::QuarantineFile
        )
    }
}
