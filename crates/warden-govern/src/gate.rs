//! The risk matrix and the approval gate: a request for an action moves
//! from pending to approved only by the approvals its tier requires, and only
//! [`authorize_execution`] makes the [`ApprovedAction`] an executor accepts.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use warden_core::{ActionKind, RiskTier, Role};

use crate::access::{Denied, Identity, Permission};

/// Action → tier. Starts from each action's default tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskMatrix {
    tiers: BTreeMap<ActionKind, RiskTier>,
}

impl Default for RiskMatrix {
    fn default() -> Self {
        RiskMatrix { tiers: ActionKind::ALL.iter().map(|k| (*k, k.default_tier())).collect() }
    }
}

/// A change of an action's tier, for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierChange {
    pub action: ActionKind,
    pub from: RiskTier,
    pub to: RiskTier,
    pub by: String,
}

impl RiskMatrix {
    /// The defaults raised by configuration. Configuration may only raise a
    /// tier; lowering one needs a manager ([`RiskMatrix::set_tier`]).
    pub fn with_raised(raised: &BTreeMap<ActionKind, RiskTier>) -> Result<Self, Vec<String>> {
        let mut m = RiskMatrix::default();
        let mut errors = Vec::new();
        for (kind, tier) in raised {
            if *tier < kind.default_tier() {
                errors.push(format!(
                    "actions.{kind}: {tier} is below its default tier {}; lowering a tier needs a manager \
                     (warden actions set-tier)",
                    kind.default_tier()
                ));
            } else {
                m.tiers.insert(*kind, *tier);
            }
        }
        if errors.is_empty() { Ok(m) } else { Err(errors) }
    }

    pub fn tier(&self, kind: ActionKind) -> RiskTier {
        self.tiers.get(&kind).copied().unwrap_or(RiskTier::Critical)
    }

    /// Changes a tier: raising needs `ChangePolicy`, lowering `LowerTier` (managers).
    pub fn set_tier(&mut self, who: &Identity, kind: ActionKind, to: RiskTier) -> Result<TierChange, GateError> {
        let from = self.tier(kind);
        if to < from {
            who.authorize(Permission::LowerTier, &format!("lower {kind} from {from} to {to}"))?;
        } else {
            who.authorize(Permission::ChangePolicy, &format!("set {kind} to {to}"))?;
        }
        self.tiers.insert(kind, to);
        Ok(TierChange { action: kind, from, to, by: who.user.clone() })
    }

    /// (action, tier) for every action.
    pub fn entries(&self) -> impl Iterator<Item = (ActionKind, RiskTier)> + '_ {
        self.tiers.iter().map(|(k, t)| (*k, *t))
    }
}

/// How far a workflow trusts automation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The AI runs and is recorded; nothing it says is acted on.
    Shadow,
    /// Everything goes to a human with the AI's view attached.
    Assist,
    /// Routing and low-tier actions by policy.
    Supervised,
}

/// The state of the world a gate decision depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateContext {
    pub stage: Stage,
    /// The workflow is in its burn-in period.
    pub burn_in: bool,
    /// The stop switch is on (globally or for this workflow).
    pub stopped: bool,
}

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Expired,
    Executed,
    Failed,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Expired => "expired",
            RequestStatus::Executed => "executed",
            RequestStatus::Failed => "failed",
            RequestStatus::Cancelled => "cancelled",
        }
    }
}

/// One approval, with the roles the approver held when they gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub user: String,
    pub roles: BTreeSet<Role>,
    pub at: Timestamp,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub user: String,
    pub at: Timestamp,
    pub reason: String,
}

/// Text the AI drafted for a human to edit and approve (a customer
/// notification, a breach summary, an attribution rationale).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub text: String,
    /// The analyzer that wrote it, `local@0.1.0`.
    pub generated_by: String,
    /// Always true: the draft is marked as AI-generated wherever it is shown.
    pub ai_generated: bool,
}

/// What an executor did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub at: Timestamp,
    pub executor: String,
    pub ok: bool,
    pub detail: String,
    pub attempts: u32,
    /// What it made in another system (a TheHive alert, an IRIS case, a Jira issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Remote>,
}

/// A record in another system that an action made or found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// `thehive`, `iris` or `jira`.
    pub system: String,
    /// That system's own id (`~41016`, `12`, `SOC-7`).
    pub id: String,
    /// Where a person opens it.
    pub url: String,
    /// Whether this run made it (false: it was there already, from an earlier run).
    pub created: bool,
}

/// A request for one action, and everything that happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub id: String,
    pub alert_id: Option<String>,
    pub kind: ActionKind,
    /// The tier when requested; execution re-checks against the current matrix.
    pub tier: RiskTier,
    pub params: serde_json::Value,
    pub requester: String,
    pub reason: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub status: RequestStatus,
    /// Approved by policy, without a human (low tier, supervised, no burn-in).
    pub automatic: bool,
    pub approvals: Vec<Approval>,
    pub rejection: Option<Rejection>,
    pub draft: Option<Draft>,
    /// The text a human approved (edited from the draft, or the draft as is).
    pub final_text: Option<String>,
    pub execution: Option<Execution>,
}

/// Why the gate said no.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("{0} approved this request already; one person counts once")]
    DoubleApproval(String),
    #[error("{0} requested this action and may not approve it")]
    SelfApproval(String),
    #[error("the request is {0}, not pending")]
    NotPending(&'static str),
    #[error("the request expired at {0}")]
    Expired(Timestamp),
    #[error("a {0}-tier action needs a written reason")]
    ReasonRequired(RiskTier),
    #[error("the stop switch is on: nothing executes")]
    Stopped,
    #[error("not approved: {0}")]
    NotApproved(String),
}

fn holds(a: &Approval, p: Permission) -> bool {
    Identity::new(&a.user, a.roles.iter().copied()).can(p)
}

/// What a pending request still needs before it may run, or None when its
/// approvals satisfy its tier.
pub fn still_needed(req: &ActionRequest) -> Option<String> {
    missing(req.tier, &req.requester, &req.approvals)
}

/// What `tier` still needs from these approvals, or None when it is satisfied.
fn missing(tier: RiskTier, requester: &str, approvals: &[Approval]) -> Option<String> {
    let need = Permission::to_approve(tier);
    let mut users = BTreeSet::new();
    let valid: Vec<&Approval> =
        approvals.iter().filter(|a| a.user != requester && holds(a, need) && users.insert(a.user.clone())).collect();
    match tier {
        RiskTier::Low | RiskTier::Medium if valid.is_empty() => Some("one approval by a senior analyst".into()),
        RiskTier::Low | RiskTier::Medium => None,
        RiskTier::High if valid.len() < 2 => {
            Some(format!("two approvals by distinct senior analysts or managers ({} so far)", valid.len()))
        }
        RiskTier::High => None,
        RiskTier::Critical => {
            let manager = valid.iter().any(|a| holds(a, Permission::ApproveCritical));
            if valid.len() >= 2 && manager {
                None
            } else {
                Some(format!(
                    "two approvals by distinct people, one of them a manager ({} so far{})",
                    valid.len(),
                    if manager { ", including a manager" } else { ", no manager yet" }
                ))
            }
        }
    }
}

/// Whether policy lets this action run without a human: low tier, a
/// supervised workflow out of burn-in, stop switch off. (So during burn-in
/// nothing runs unattended, containment included, whatever its tier.)
fn automatic(tier: RiskTier, ctx: &GateContext) -> bool {
    tier == RiskTier::Low && ctx.stage == Stage::Supervised && !ctx.burn_in && !ctx.stopped
}

/// What a new request needs besides the action itself.
pub struct NewRequest {
    pub id: String,
    pub alert_id: Option<String>,
    pub kind: ActionKind,
    pub params: serde_json::Value,
    pub reason: String,
    pub draft: Option<Draft>,
    pub ttl: jiff::SignedDuration,
}

/// Files a request. Low-tier actions are approved at once when policy allows
/// automation; everything else waits for people.
pub fn request(
    who: &Identity,
    new: NewRequest,
    matrix: &RiskMatrix,
    ctx: &GateContext,
    now: Timestamp,
) -> Result<ActionRequest, GateError> {
    who.authorize(Permission::RequestAction, &format!("request {}", new.kind))?;
    let tier = matrix.tier(new.kind);
    if tier == RiskTier::Critical && new.reason.trim().is_empty() {
        return Err(GateError::ReasonRequired(tier));
    }
    let auto = automatic(tier, ctx);
    Ok(ActionRequest {
        id: new.id,
        alert_id: new.alert_id,
        kind: new.kind,
        tier,
        params: new.params,
        requester: who.user.clone(),
        reason: new.reason,
        created_at: now,
        expires_at: now + new.ttl,
        status: if auto { RequestStatus::Approved } else { RequestStatus::Pending },
        automatic: auto,
        approvals: Vec::new(),
        rejection: None,
        draft: new.draft,
        final_text: None,
        execution: None,
    })
}

/// Marks a pending request expired once its time is up. True when it changed.
pub fn expire(req: &mut ActionRequest, now: Timestamp) -> bool {
    if req.status == RequestStatus::Pending && now >= req.expires_at {
        req.status = RequestStatus::Expired;
        true
    } else {
        false
    }
}

fn pending(req: &mut ActionRequest, now: Timestamp) -> Result<(), GateError> {
    if expire(req, now) {
        return Err(GateError::Expired(req.expires_at));
    }
    if req.status != RequestStatus::Pending {
        return Err(GateError::NotPending(req.status.as_str()));
    }
    Ok(())
}

/// Adds one approval. For critical actions the approver writes a note (the
/// reason) and may replace the AI's draft with their own text. Returns true
/// when this approval completed what the tier needs.
pub fn approve(
    req: &mut ActionRequest,
    who: &Identity,
    note: &str,
    edited_text: Option<String>,
    now: Timestamp,
) -> Result<bool, GateError> {
    pending(req, now)?;
    if who.user == req.requester {
        return Err(GateError::SelfApproval(who.user.clone()));
    }
    if req.approvals.iter().any(|a| a.user == who.user) {
        return Err(GateError::DoubleApproval(who.user.clone()));
    }
    who.authorize(Permission::to_approve(req.tier), &format!("approve a {}-tier action", req.tier))?;
    if req.tier == RiskTier::Critical && note.trim().is_empty() {
        return Err(GateError::ReasonRequired(req.tier));
    }
    req.approvals.push(Approval { user: who.user.clone(), roles: who.roles.clone(), at: now, note: note.to_owned() });
    if let Some(text) = edited_text {
        req.final_text = Some(text);
    }
    if missing(req.tier, &req.requester, &req.approvals).is_none() {
        req.status = RequestStatus::Approved;
        if req.final_text.is_none() {
            req.final_text = req.draft.as_ref().map(|d| d.text.clone());
        }
        return Ok(true);
    }
    Ok(false)
}

/// Ends a request with a written reason.
pub fn reject(req: &mut ActionRequest, who: &Identity, reason: &str, now: Timestamp) -> Result<(), GateError> {
    pending(req, now)?;
    who.authorize(Permission::to_approve(req.tier), &format!("reject a {}-tier action", req.tier))?;
    if reason.trim().is_empty() {
        return Err(GateError::NotApproved("a rejection needs a reason".into()));
    }
    req.rejection = Some(Rejection { user: who.user.clone(), at: now, reason: reason.to_owned() });
    req.status = RequestStatus::Rejected;
    Ok(())
}

/// The stop switch cancels automatic work not yet executed; requests
/// waiting for people stay pending. True when it changed.
pub fn cancel_if_automatic(req: &mut ActionRequest) -> bool {
    if req.automatic && req.status == RequestStatus::Approved {
        req.status = RequestStatus::Cancelled;
        true
    } else {
        false
    }
}

/// An action governance has allowed to run. Executors accept only this type;
/// its fields are private and only this crate makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedAction {
    request_id: String,
    kind: ActionKind,
    tier: RiskTier,
    params: serde_json::Value,
    approvers: Vec<String>,
    final_text: Option<String>,
}

impl ApprovedAction {
    /// Also the idempotency key: a retry of the same action carries the same one.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
    pub fn kind(&self) -> ActionKind {
        self.kind
    }
    pub fn tier(&self) -> RiskTier {
        self.tier
    }
    pub fn params(&self) -> &serde_json::Value {
        &self.params
    }
    pub fn approvers(&self) -> &[String] {
        &self.approvers
    }
    pub fn final_text(&self) -> Option<&str> {
        self.final_text.as_deref()
    }
}

/// The one way to an [`ApprovedAction`]: the request is approved, the stop
/// switch is off, and the approvals still satisfy the action's tier in the
/// current matrix (a tier raised since the request needs the new approvals).
/// Critical actions are never automatic, whatever the request says.
pub fn authorize_execution(
    req: &ActionRequest,
    matrix: &RiskMatrix,
    ctx: &GateContext,
) -> Result<ApprovedAction, GateError> {
    if ctx.stopped {
        return Err(GateError::Stopped);
    }
    if req.status != RequestStatus::Approved {
        return Err(GateError::NotApproved(format!("the request is {}", req.status.as_str())));
    }
    let tier = req.tier.max(matrix.tier(req.kind));
    if req.automatic {
        if !automatic(tier, ctx) {
            return Err(GateError::NotApproved(format!(
                "a {tier}-tier {} may not run automatically now (stage, burn-in or tier changed)",
                req.kind
            )));
        }
    } else if let Some(need) = missing(tier, &req.requester, &req.approvals) {
        return Err(GateError::NotApproved(format!("a {tier}-tier action needs {need}")));
    }
    Ok(ApprovedAction {
        request_id: req.id.clone(),
        kind: req.kind,
        tier,
        params: req.params.clone(),
        approvers: req.approvals.iter().map(|a| a.user.clone()).collect(),
        final_text: req.final_text.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> GateContext {
        GateContext { stage: Stage::Supervised, burn_in: false, stopped: false }
    }
    fn who(name: &str, roles: &[Role]) -> Identity {
        Identity::new(name, roles.iter().copied())
    }
    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }
    fn new(kind: ActionKind) -> NewRequest {
        NewRequest {
            id: "ar-1".into(),
            alert_id: Some("al-1".into()),
            kind,
            params: serde_json::json!({"host": "ws-1"}),
            reason: "contain the infection on ws-1".into(),
            draft: None,
            ttl: jiff::SignedDuration::from_hours(24),
        }
    }
    fn filed(kind: ActionKind, c: &GateContext) -> ActionRequest {
        request(&who("requester", &[Role::Analyst]), new(kind), &RiskMatrix::default(), c, now()).unwrap()
    }

    #[test]
    fn low_tier_runs_automatically_only_when_supervised_and_out_of_burn_in() {
        let r = filed(ActionKind::OpenTicket, &ctx());
        assert!(r.automatic && r.status == RequestStatus::Approved);
        assert!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).is_ok());
        for c in [
            GateContext { burn_in: true, ..ctx() },
            GateContext { stage: Stage::Assist, ..ctx() },
            GateContext { stage: Stage::Shadow, ..ctx() },
            GateContext { stopped: true, ..ctx() },
        ] {
            let r = filed(ActionKind::OpenTicket, &c);
            assert_eq!(r.status, RequestStatus::Pending, "{c:?}");
        }
    }

    #[test]
    fn medium_needs_one_senior_analyst() {
        let mut r = filed(ActionKind::IsolateHost, &ctx());
        assert_eq!(r.status, RequestStatus::Pending);
        let e = approve(&mut r, &who("ann", &[Role::Analyst]), "", None, now()).unwrap_err();
        assert!(matches!(e, GateError::Denied(_)), "{e}");
        assert!(approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), "ok", None, now()).unwrap());
        assert_eq!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).unwrap().approvers(), ["sam"]);
    }

    #[test]
    fn high_needs_two_distinct_approvers_with_the_role() {
        let mut r = filed(ActionKind::ResetCredentials, &ctx());
        assert!(!approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), "", None, now()).unwrap());
        assert_eq!(
            approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), "", None, now()),
            Err(GateError::DoubleApproval("sam".into()))
        );
        assert!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).is_err());
        assert!(approve(&mut r, &who("mia", &[Role::Manager]), "", None, now()).unwrap());
        assert!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).is_ok());
    }

    #[test]
    fn nobody_approves_their_own_request() {
        let mut r =
            request(&who("mia", &[Role::Manager]), new(ActionKind::IsolateHost), &RiskMatrix::default(), &ctx(), now())
                .unwrap();
        assert_eq!(
            approve(&mut r, &who("mia", &[Role::Manager]), "", None, now()),
            Err(GateError::SelfApproval("mia".into()))
        );
    }

    #[test]
    fn critical_needs_two_humans_one_a_manager_and_written_reasons() {
        let mut n = new(ActionKind::NotifyCustomers);
        n.reason = String::new();
        assert_eq!(
            request(&who("ann", &[Role::Analyst]), n, &RiskMatrix::default(), &ctx(), now()),
            Err(GateError::ReasonRequired(RiskTier::Critical))
        );
        let mut n = new(ActionKind::NotifyCustomers);
        n.draft =
            Some(Draft { text: "Dear customer, ...".into(), generated_by: "local@0.1.0".into(), ai_generated: true });
        let mut r = request(&who("ann", &[Role::Analyst]), n, &RiskMatrix::default(), &ctx(), now()).unwrap();
        assert!(!r.automatic, "critical is never automatic");
        assert_eq!(
            approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), " ", None, now()),
            Err(GateError::ReasonRequired(RiskTier::Critical))
        );
        assert!(!approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), "confirmed exfiltration", None, now()).unwrap());
        assert!(
            !approve(&mut r, &who("sue", &[Role::SeniorAnalyst]), "agree", None, now()).unwrap(),
            "two, but no manager"
        );
        assert_eq!(r.status, RequestStatus::Pending);
        assert!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).is_err());
        // Even marked approved by hand, the approvals do not satisfy a critical action.
        let mut forged = r.clone();
        forged.status = RequestStatus::Approved;
        let e = authorize_execution(&forged, &RiskMatrix::default(), &ctx()).unwrap_err();
        assert!(e.to_string().contains("no manager yet"), "{e}");
        let edited = "Dear customer, on 20 November we found ...".to_owned();
        assert!(
            approve(&mut r, &who("mia", &[Role::Manager]), "approved with edits", Some(edited.clone()), now()).unwrap()
        );
        let a = authorize_execution(&r, &RiskMatrix::default(), &ctx()).unwrap();
        assert_eq!(a.final_text(), Some(edited.as_str()));
        assert_eq!(r.draft.as_ref().unwrap().text, "Dear customer, ...", "the AI draft is kept beside the human text");
    }

    #[test]
    fn a_forged_automatic_critical_request_still_does_not_execute() {
        let mut r = filed(ActionKind::DeclareBreach, &ctx());
        r.status = RequestStatus::Approved;
        r.automatic = true;
        assert!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).is_err());
        r.automatic = false;
        assert!(authorize_execution(&r, &RiskMatrix::default(), &ctx()).is_err());
    }

    #[test]
    fn containment_never_runs_automatically_in_burn_in_even_when_lowered() {
        let mut m = RiskMatrix::default();
        m.set_tier(&who("mia", &[Role::Manager]), ActionKind::IsolateHost, RiskTier::Low).unwrap();
        let burn = GateContext { burn_in: true, ..ctx() };
        let r = request(&who("ann", &[Role::Analyst]), new(ActionKind::IsolateHost), &m, &burn, now()).unwrap();
        assert_eq!(r.status, RequestStatus::Pending);
        let r = request(&who("ann", &[Role::Analyst]), new(ActionKind::IsolateHost), &m, &ctx(), now()).unwrap();
        assert!(r.automatic);
        assert!(authorize_execution(&r, &m, &burn).is_err(), "burn-in rechecked at execution time");
    }

    #[test]
    fn lowering_a_tier_needs_a_manager_raising_needs_policy_rights() {
        let mut m = RiskMatrix::default();
        assert!(m.set_tier(&who("sam", &[Role::SeniorAnalyst]), ActionKind::IsolateHost, RiskTier::Low).is_err());
        assert!(m.set_tier(&who("adm", &[Role::Admin]), ActionKind::IsolateHost, RiskTier::Low).is_err());
        let c = m.set_tier(&who("mia", &[Role::Manager]), ActionKind::IsolateHost, RiskTier::Low).unwrap();
        assert_eq!((c.from, c.to), (RiskTier::Medium, RiskTier::Low));
        assert!(RiskMatrix::with_raised(&[(ActionKind::OpenTicket, RiskTier::High)].into()).is_ok());
        assert!(RiskMatrix::with_raised(&[(ActionKind::DeclareBreach, RiskTier::Low)].into()).is_err());
    }

    #[test]
    fn a_raised_tier_needs_the_new_approvals_at_execution() {
        let mut r = filed(ActionKind::IsolateHost, &ctx());
        approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), "", None, now()).unwrap();
        let mut m = RiskMatrix::default();
        m.set_tier(&who("mia", &[Role::Manager]), ActionKind::IsolateHost, RiskTier::High).unwrap();
        assert!(authorize_execution(&r, &m, &ctx()).is_err());
    }

    #[test]
    fn requests_expire_and_rejections_end_them() {
        let mut r = filed(ActionKind::IsolateHost, &ctx());
        let later = now() + jiff::SignedDuration::from_hours(25);
        assert!(matches!(
            approve(&mut r, &who("sam", &[Role::SeniorAnalyst]), "", None, later),
            Err(GateError::Expired(_))
        ));
        assert_eq!(r.status, RequestStatus::Expired);
        let mut r = filed(ActionKind::IsolateHost, &ctx());
        assert!(reject(&mut r, &who("sam", &[Role::SeniorAnalyst]), "", now()).is_err());
        reject(&mut r, &who("sam", &[Role::SeniorAnalyst]), "maintenance window", now()).unwrap();
        assert_eq!(
            approve(&mut r, &who("mia", &[Role::Manager]), "", None, now()),
            Err(GateError::NotPending("rejected"))
        );
    }

    #[test]
    fn the_stop_switch_blocks_execution_and_cancels_automatic_work() {
        let mut r = filed(ActionKind::OpenTicket, &ctx());
        let stopped = GateContext { stopped: true, ..ctx() };
        assert_eq!(authorize_execution(&r, &RiskMatrix::default(), &stopped), Err(GateError::Stopped));
        assert!(cancel_if_automatic(&mut r));
        let mut human = filed(ActionKind::IsolateHost, &ctx());
        assert!(!cancel_if_automatic(&mut human));
        assert_eq!(human.status, RequestStatus::Pending, "pending approvals stay pending");
    }
}
