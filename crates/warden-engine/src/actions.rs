//! People and actions: local accounts and API tokens, the stop switch, the
//! risk matrix as configured and as changed by managers, action requests
//! through the approval gate, and the executors that run approved actions.

use std::time::Duration;

use jiff::Timestamp;
use warden_core::{ActionKind, Actor, AuditRecord, RiskTier, Role};
use warden_govern::gate::{self, ActionRequest, Draft, GateContext, NewRequest, RequestStatus, RiskMatrix};
use warden_govern::{ApprovedAction, Identity, Permission};
use warden_store::{Switch, UserRecord};

use crate::sha2_free::sha256_hex;
use crate::{Engine, EngineError};

/// The scope of the global stop switch.
pub const GLOBAL: &str = "global";

fn user_actor(who: &Identity) -> Actor {
    Actor::User(who.user.clone())
}

fn random_hex(n: usize) -> Result<String, EngineError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| EngineError::Invalid(format!("no randomness: {e}")))?;
    Ok(warden_ingest::hex(&b))
}

fn valid_user_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

/// The HTTP client every outbound call uses (executors, chat, SIEM, SSO):
/// one timeout for the whole exchange, and statuses as answers, not errors.
pub(crate) fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().new_agent()
}

/// Retries after a timeout, a connection error, a 429 or a 5xx: exponential
/// backoff with jitter from 200 ms, honouring `Retry-After` up to a minute.
pub(crate) fn retry_policy(retries: u32) -> warden_analyze::retry::RetryPolicy {
    warden_analyze::retry::RetryPolicy {
        retries,
        base: Duration::from_millis(200),
        jitter: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(60),
    }
}

/// What happened when an approved action was handed to its executor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub detail: String,
    pub attempts: u32,
    /// What it made or found in another system.
    pub remote: Option<warden_govern::Remote>,
}

/// What an action is about: its alert, and for the case executors the case
/// (the alert's incident, or the alert alone) built from the store.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    pub alert_id: Option<&'a str>,
    pub case: Option<&'a crate::cases::Case>,
}

/// Runs approved actions. Only an [`ApprovedAction`] can be executed.
pub trait Executor: Send + Sync {
    fn name(&self) -> &str;
    fn execute(&self, action: &ApprovedAction, target: &Target) -> Outcome;
    /// Whether it needs [`Target::case`] (the case-management executors do).
    fn wants_case(&self) -> bool {
        false
    }
}

/// A dry run: the action is recorded in the audit trail and nothing else happens.
pub struct LogExecutor;

impl Executor for LogExecutor {
    fn name(&self) -> &str {
        "log"
    }
    fn execute(&self, a: &ApprovedAction, _: &Target) -> Outcome {
        Outcome { ok: true, detail: format!("dry run: {} recorded, not sent", a.kind()), attempts: 1, remote: None }
    }
}

/// HTTP POST of a JSON body, signed with HMAC-SHA256 over the exact bytes
/// (`X-Warden-Signature: sha256=<hex>`), with the request id as
/// `Idempotency-Key` so a retried delivery is recognisable; retries on
/// timeouts, connection errors, 429 and 5xx with exponential backoff and jitter.
pub struct WebhookExecutor {
    name: String,
    url: String,
    secret: Vec<u8>,
    timeout: Duration,
    retries: u32,
}

impl WebhookExecutor {
    pub fn new(name: &str, url: &str, secret: Vec<u8>, timeout: Duration, retries: u32) -> Self {
        WebhookExecutor { name: name.to_owned(), url: url.to_owned(), secret, timeout, retries }
    }

    fn body(a: &ApprovedAction, alert_id: Option<&str>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "request_id": a.request_id(),
            "action": a.kind().as_str(),
            "tier": a.tier().as_str(),
            "params": a.params(),
            "approvers": a.approvers(),
            "text": a.final_text(),
            "alert_id": alert_id,
        }))
        .unwrap_or_default()
    }

    /// `sha256=<hex of HMAC-SHA256(secret, body)>`.
    pub fn signature(secret: &[u8], body: &[u8]) -> String {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(body);
        format!("sha256={}", warden_ingest::hex(&mac.finalize().into_bytes()))
    }
}

impl Executor for WebhookExecutor {
    fn name(&self) -> &str {
        &self.name
    }

    fn execute(&self, a: &ApprovedAction, target: &Target) -> Outcome {
        let body = Self::body(a, target.alert_id);
        let sig = Self::signature(&self.secret, &body);
        let agent = http_agent(self.timeout);
        use warden_analyze::retry::{Attempt, http_failure};
        let policy = retry_policy(self.retries);
        let tried = policy.run(|_| {
            let result = agent
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", a.request_id())
                .header("X-Warden-Signature", &sig)
                .send(&body[..]);
            match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (200..300).contains(&status) {
                        return Attempt::Done(format!("HTTP {status}"));
                    }
                    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok());
                    http_failure(status, retry_after)
                }
                Err(e) => Attempt::Retry { why: e.to_string(), after: None },
            }
        });
        match tried.result {
            Ok(detail) => Outcome { ok: true, detail, attempts: tried.attempts, remote: None },
            Err(detail) => Outcome { ok: false, detail, attempts: tried.attempts, remote: None },
        }
    }
}

/// A request's `params` and the rest of what `request_action` needs.
pub struct ActionInput {
    pub alert_id: Option<String>,
    pub kind: ActionKind,
    pub params: serde_json::Value,
    pub reason: String,
    /// Ask the analyzer to draft the text a critical action needs, from the
    /// alert's assessment (needs `alert_id`).
    pub draft: bool,
}

impl Engine {
    /// Creates a local account; the password is stored as an Argon2id hash.
    /// `by` names who did it (the CLI operator, or an admin's identity).
    pub fn add_user(&self, by: Actor, name: &str, roles: &[Role], password: &str) -> Result<(), EngineError> {
        use argon2::password_hash::PasswordHasher;
        if !valid_user_name(name) {
            return Err(EngineError::Invalid(format!("user name {name:?}: use letters, digits, '.', '_', '-', '@'")));
        }
        if name.starts_with("sso.") {
            return Err(EngineError::Invalid(format!(
                "user name {name:?}: names starting sso. are single sign-on accounts"
            )));
        }
        if roles.is_empty() {
            return Err(EngineError::Invalid("give the user at least one role".into()));
        }
        if password.chars().count() < 12 {
            return Err(EngineError::Invalid("passwords need at least 12 characters".into()));
        }
        let hash = argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| EngineError::Invalid(format!("cannot hash the password: {e}")))?
            .to_string();
        let roles: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
        let rec = UserRecord {
            name: name.to_owned(),
            password_hash: hash,
            roles: roles.clone(),
            created_at: Timestamp::now(),
            disabled: false,
        };
        let audit = vec![AuditRecord::new(by, "user.created", name, serde_json::json!({ "roles": roles }))];
        Ok(self.store().add_user(&rec, audit, self.policy_version())?)
    }

    /// A user's identity as the store holds it now (roles re-read on every
    /// call, so a change of roles or a disabled account takes effect at once).
    pub fn identity_of(&self, name: &str) -> Result<Identity, EngineError> {
        let u = self.store().user(name)?.ok_or_else(|| EngineError::NotFound(format!("no user {name}")))?;
        if u.disabled {
            return Err(EngineError::Unauthenticated);
        }
        let roles = u.roles.iter().filter_map(|r| r.parse::<Role>().ok());
        Ok(Identity::new(&u.name, roles))
    }

    /// Checks a password; the same error whether the user or the password is wrong.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Identity, EngineError> {
        use argon2::password_hash::PasswordVerifier;
        // An unknown user costs the same Argon2id work as a wrong password, so
        // response times do not tell which user names exist.
        static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let user = self.store().user(name)?;
        let hash = match &user {
            Some(u) => u.password_hash.clone(),
            None => DECOY
                .get_or_init(|| {
                    use argon2::password_hash::PasswordHasher;
                    argon2::Argon2::default()
                        .hash_password(b"decoy password that no account has")
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone(),
        };
        let parsed = argon2::password_hash::phc::PasswordHash::new(&hash).map_err(|_| EngineError::Unauthenticated)?;
        let verified = argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        if !verified || user.is_none() {
            return Err(EngineError::Unauthenticated);
        }
        self.identity_of(name)
    }

    /// Creates an API token for a user and returns it; only its hash is kept.
    /// Returns (token id, token): the id names it in listings and revocation.
    pub fn create_token(&self, by: Actor, user: &str) -> Result<(String, String), EngineError> {
        self.identity_of(user)?;
        let id = format!("tk-{}", random_hex(6)?);
        let token = format!("wdn_{}", random_hex(32)?);
        let audit = vec![AuditRecord::new(by, "token.created", id.as_str(), serde_json::json!({ "user": user }))];
        self.store().add_token(&id, user, &sha256_hex(&[token.as_bytes()]), audit, self.policy_version())?;
        Ok((id, token))
    }

    /// Every API token: id, user, when created and revoked (never the token or its hash).
    pub fn tokens(&self) -> Result<Vec<warden_store::TokenRow>, EngineError> {
        Ok(self.store().tokens()?)
    }

    /// Revokes a token: it stops working at once. Audited.
    pub fn revoke_token(&self, by: Actor, id: &str) -> Result<(), EngineError> {
        let audit = vec![AuditRecord::new(by, "token.revoked", id, serde_json::json!({}))];
        if self.store().revoke_token(id, audit, self.policy_version())? {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("no live token {id} (see `warden tokens list`)")))
        }
    }

    /// The identity behind a bearer token. Every use is audited (token id, never the token).
    /// Whether a bearer token is one Warden issued and has not revoked, without
    /// recording a use (for a gate in front of the handler that will authenticate).
    pub fn token_is_valid(&self, token: &str) -> Result<bool, EngineError> {
        Ok(self.store().user_by_token(&sha256_hex(&[token.trim().as_bytes()]))?.is_some())
    }

    pub fn authenticate(&self, token: &str) -> Result<Identity, EngineError> {
        let Some((id, user)) = self.store().user_by_token(&sha256_hex(&[token.trim().as_bytes()]))? else {
            return Err(EngineError::Unauthenticated);
        };
        let who = self.identity_of(&user)?;
        self.append_audit(vec![AuditRecord::new(Actor::User(user), "token.used", id, serde_json::json!({}))])?;
        Ok(who)
    }

    /// The risk matrix: defaults, raised by configuration, then as set by people.
    pub fn risk_matrix(&self) -> Result<RiskMatrix, EngineError> {
        let raised = self
            .config()
            .actions
            .iter()
            .filter_map(|(k, a)| Some((k.parse::<ActionKind>().ok()?, a.tier.as_ref()?.parse::<RiskTier>().ok()?)))
            .collect();
        let mut m = RiskMatrix::with_raised(&raised).map_err(|e| EngineError::Invalid(e.join("; ")))?;
        let system = Identity::new("policy-store", [Role::Manager]);
        for (action, tier) in self.store().tiers()? {
            if let (Ok(k), Ok(t)) = (action.parse::<ActionKind>(), tier.parse::<RiskTier>()) {
                let _ = m.set_tier(&system, k, t);
            }
        }
        Ok(m)
    }

    /// Changes an action's tier: raising needs policy rights, lowering a manager. Audited.
    pub fn set_action_tier(
        &self,
        who: &Identity,
        kind: ActionKind,
        tier: RiskTier,
    ) -> Result<gate::TierChange, EngineError> {
        let mut m = self.risk_matrix()?;
        let change = m.set_tier(who, kind, tier).map_err(EngineError::from)?;
        let audit = vec![AuditRecord::new(
            user_actor(who),
            if change.to < change.from { "policy.tier_lowered" } else { "policy.tier_set" },
            kind.as_str(),
            serde_json::json!({"from": change.from.as_str(), "to": change.to.as_str()}),
        )];
        self.store().set_tier(kind.as_str(), tier.as_str(), &who.user, audit, self.policy_version())?;
        Ok(change)
    }

    /// Whether the stop switch is on (globally).
    pub fn stopped(&self) -> Result<bool, EngineError> {
        Ok(self.store().switches()?.iter().any(|s| s.scope == GLOBAL && s.engaged))
    }

    pub fn switches(&self) -> Result<Vec<Switch>, EngineError> {
        Ok(self.store().switches()?)
    }

    /// The gate's view of the world now, for a workflow.
    pub fn gate_context(&self, workflow: &str) -> Result<GateContext, EngineError> {
        let wf = self
            .workflows()
            .iter()
            .find(|w| w.name == workflow)
            .ok_or_else(|| EngineError::NotFound(format!("no workflow {workflow}")))?;
        let scope = format!("workflow:{workflow}");
        let stopped = self.store().switches()?.iter().any(|s| (s.scope == GLOBAL || s.scope == scope) && s.engaged);
        Ok(GateContext { stage: wf.stage, burn_in: self.burn_in(wf)?, stopped })
    }

    /// The workflow an action belongs to: its alert's, or the default.
    fn workflow_of(&self, alert_id: Option<&str>) -> Result<String, EngineError> {
        Ok(match alert_id {
            Some(id) => self.store().alert_workflow(id)?.unwrap_or_else(|| crate::workflow::DEFAULT.into()),
            None => crate::workflow::DEFAULT.into(),
        })
    }

    /// Turns the stop switch on or off (audited). Turning it on cancels
    /// automatic actions not yet executed; requests waiting for people stay.
    /// `workflow`: one workflow's switch; None: the global one.
    pub fn set_stop(&self, who: &Identity, workflow: Option<&str>, on: bool, reason: &str) -> Result<u64, EngineError> {
        who.authorize(
            Permission::OperateStopSwitch,
            if on { "engage the stop switch" } else { "release the stop switch" },
        )?;
        if reason.trim().is_empty() {
            return Err(EngineError::Invalid("say why the stop switch changes".into()));
        }
        let scope = match workflow {
            Some(w) if self.workflows().iter().any(|x| x.name == w) => format!("workflow:{w}"),
            Some(w) => return Err(EngineError::NotFound(format!("no workflow {w}"))),
            None => GLOBAL.into(),
        };
        let s = Switch {
            scope: scope.clone(),
            engaged: on,
            changed_by: who.user.clone(),
            changed_at: Timestamp::now(),
            reason: reason.into(),
        };
        let audit = vec![AuditRecord::new(
            user_actor(who),
            if on { "stop.engaged" } else { "stop.released" },
            scope.as_str(),
            serde_json::json!({ "reason": reason }),
        )];
        self.store().set_switch(&s, audit, self.policy_version())?;
        let mut cancelled = 0;
        if on {
            for body in self.store().actions(Some("approved"), 10_000)? {
                let mut req: ActionRequest = decode(body)?;
                let in_scope =
                    workflow.is_none() || self.workflow_of(req.alert_id.as_deref())? == workflow.unwrap_or_default();
                if in_scope && gate::cancel_if_automatic(&mut req) {
                    self.save(
                        &req,
                        "action.cancelled",
                        Actor::Service("stop-switch".into()),
                        serde_json::json!({"reason": "stop switch"}),
                    )?;
                    cancelled += 1;
                }
            }
        }
        Ok(cancelled)
    }

    fn save(
        &self,
        req: &ActionRequest,
        event: &str,
        actor: Actor,
        extra: serde_json::Value,
    ) -> Result<(), EngineError> {
        let mut payload = serde_json::json!({
            "action": req.kind.as_str(),
            "tier": req.tier.as_str(),
            "status": req.status.as_str(),
            "alert_id": req.alert_id,
            "approvals": req.approvals.len(),
        });
        if let (Some(p), serde_json::Value::Object(e)) = (payload.as_object_mut(), extra) {
            p.extend(e);
        }
        let body = serde_json::to_value(req).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let audit = vec![AuditRecord::new(actor, event, req.id.as_str(), payload)];
        Ok(self.store().save_action(&req.id, req.status.as_str(), &body, audit, self.policy_version())?)
    }

    pub(crate) fn load(&self, id: &str) -> Result<ActionRequest, EngineError> {
        decode(self.store().action(id)?.ok_or_else(|| EngineError::NotFound(format!("no action request {id}")))?)
    }

    /// One request, for anyone who may review (its texts in the staff view
    /// for people who may not re-identify; see [`Engine::alert_view`]).
    pub fn action(&self, who: &Identity, id: &str) -> Result<ActionRequest, EngineError> {
        who.authorize(Permission::Review, "see action requests")?;
        self.as_seen_by(who, self.load(id)?)
    }

    /// Requests as `who` may see them: [`Engine::actions`], each in the
    /// staff view of its alert for people who may not re-identify.
    pub fn actions_seen_by(
        &self,
        who: &Identity,
        status: Option<RequestStatus>,
    ) -> Result<Vec<ActionRequest>, EngineError> {
        let mut views = Vec::new();
        let out = self
            .actions(who, status)?
            .into_iter()
            .map(|r| self.seen_by(who, r, &mut views))
            .collect::<Result<Vec<_>, _>>()?;
        // One write for the whole page, not one per request.
        self.keep_views(views.iter())?;
        Ok(out)
    }

    fn as_seen_by(&self, who: &Identity, r: ActionRequest) -> Result<ActionRequest, EngineError> {
        let mut views = Vec::new();
        let r = self.seen_by(who, r, &mut views)?;
        self.keep_views(views.iter())?;
        Ok(r)
    }

    /// A request in the staff view of its alert; the view is added to
    /// `views` for the caller to keep.
    fn seen_by(
        &self,
        who: &Identity,
        r: ActionRequest,
        views: &mut Vec<crate::privacy::View>,
    ) -> Result<ActionRequest, EngineError> {
        if self.sees_raw(who) {
            return Ok(r);
        }
        let Some(alert) = r.alert_id.as_deref().and_then(warden_core::AlertId::parse) else { return Ok(r) };
        match self.store().alert(&alert)? {
            Some(rec) => {
                let view = self.view_unsaved(who, &rec.alert);
                let r = view.action(r);
                views.push(view);
                Ok(r)
            }
            None => Ok(r),
        }
    }

    /// Requests, newest first. Pending requests past their time are marked
    /// expired (and audited) on the way.
    pub fn actions(&self, who: &Identity, status: Option<RequestStatus>) -> Result<Vec<ActionRequest>, EngineError> {
        who.authorize(Permission::Review, "see action requests")?;
        let now = Timestamp::now();
        for body in self.store().actions(Some("pending"), 10_000)? {
            let mut req = decode(body)?;
            if gate::expire(&mut req, now) {
                self.save(&req, "action.expired", Actor::Service("gate".into()), serde_json::json!({}))?;
            }
        }
        self.store().actions(status.map(RequestStatus::as_str), 500)?.into_iter().map(decode).collect()
    }

    /// Files a request; when policy lets it run unattended, it runs now.
    pub fn request_action(&self, who: &Identity, input: ActionInput) -> Result<ActionRequest, EngineError> {
        // Whoever asks to act says why; the reason goes to approvers and the audit trail.
        crate::casework::reason_ok(&input.reason)?;
        // An action about an alert must be about one this store holds.
        if let Some(id) = input.alert_id.as_deref() {
            let aid = warden_core::AlertId::parse(id)
                .ok_or_else(|| EngineError::Invalid(format!("not an alert id: {id:?}")))?;
            if self.store().alert(&aid)?.is_none() {
                return Err(EngineError::NotFound(format!("no alert {id}")));
            }
        }
        let matrix = self.risk_matrix()?;
        let ctx = self.gate_context(&self.workflow_of(input.alert_id.as_deref())?)?;
        let draft = if input.draft { self.draft(input.kind, input.alert_id.as_deref())? } else { None };
        // Someone shown a token asks to act on what it stands for (block this
        // address, notify this customer): the executor needs the value itself.
        // It is kept with the request, and people see it by their view policy.
        let mut params = input.params;
        let resolved = self.resolve_tokens(&mut params)?;
        let new = NewRequest {
            id: format!("ar-{}", random_hex(8)?),
            alert_id: input.alert_id,
            kind: input.kind,
            params,
            reason: input.reason,
            draft,
            ttl: jiff::SignedDuration::from_hours(self.config().execution.approval_ttl_hours as i64),
        };
        let req = gate::request(who, new, &matrix, &ctx, Timestamp::now())?;
        self.save(
            &req,
            "action.requested",
            user_actor(who),
            serde_json::json!({"reason": req.reason, "automatic": req.automatic, "tokens_resolved": resolved}),
        )?;
        if req.status == RequestStatus::Approved {
            return self.run(req, None);
        }
        // The request stands whatever happens to its announcement (audited, or logged when even that fails).
        if let Err(e) = self.notify_pending(&req) {
            tracing::warn!(request = %req.id, error = %e, "approval notification not recorded");
        }
        Ok(req)
    }

    fn draft(&self, kind: ActionKind, alert_id: Option<&str>) -> Result<Option<Draft>, EngineError> {
        let id =
            alert_id.ok_or_else(|| EngineError::Invalid("a draft is written from an alert: give its id".into()))?;
        let aid =
            warden_core::AlertId::parse(id).ok_or_else(|| EngineError::Invalid(format!("not an alert id: {id:?}")))?;
        let rec = self.store().alert(&aid)?.ok_or_else(|| EngineError::NotFound(format!("no alert {id}")))?;
        let assessment =
            rec.assessment.ok_or_else(|| EngineError::NotFound(format!("alert {id} has no assessment")))?;
        Ok(warden_analyze::draft_for(kind, &assessment, id).map(|text| Draft {
            text,
            generated_by: format!("{}@{}", assessment.analyzer.name, assessment.analyzer.version),
            ai_generated: true,
        }))
    }

    /// Adds an approval; when it completes the tier's requirement, the action runs.
    pub fn approve_action(
        &self,
        who: &Identity,
        id: &str,
        note: &str,
        edited_text: Option<String>,
    ) -> Result<ActionRequest, EngineError> {
        let mut req = self.load(id)?;
        let result = gate::approve(&mut req, who, note, edited_text, Timestamp::now());
        if let Err(gate::GateError::Expired(_)) = &result {
            self.save(&req, "action.expired", Actor::Service("gate".into()), serde_json::json!({}))?;
        }
        let done = result?;
        self.save(&req, "action.approved", user_actor(who), serde_json::json!({"note": note, "complete": done}))?;
        if !done {
            return Ok(req);
        }
        // The approval stands whatever happens next; when the gate will not
        // run it now (the stop switch), the answer is the approved request,
        // not a refusal, and `action.blocked` says why it waits. A person
        // runs it later with `execute_action`.
        match self.run(req.clone(), None) {
            Err(EngineError::Gate(gate::GateError::Stopped)) => Ok(req),
            other => other,
        }
    }

    /// Ends a request with a reason.
    pub fn reject_action(&self, who: &Identity, id: &str, reason: &str) -> Result<ActionRequest, EngineError> {
        let mut req = self.load(id)?;
        gate::reject(&mut req, who, reason, Timestamp::now())?;
        self.save(&req, "action.rejected", user_actor(who), serde_json::json!({"reason": reason}))?;
        Ok(req)
    }

    /// A person runs an approved action that waited (behind the stop switch
    /// or the hourly cap), or retries one whose executor failed. The answer
    /// carries the executor's own result (`execution.detail`; the `log`
    /// executor says it was a dry run).
    pub fn execute_action(&self, who: &Identity, id: &str) -> Result<ActionRequest, EngineError> {
        let mut req = self.load(id)?;
        who.authorize(Permission::to_approve(req.tier), "execute an approved action")?;
        match req.status {
            RequestStatus::Approved => {}
            RequestStatus::Failed => req.status = RequestStatus::Approved,
            other => {
                return Err(EngineError::Refused(format!(
                    "the request is {}; only an approved or failed action can be run",
                    other.as_str()
                )));
            }
        }
        self.run(req, Some(who))
    }

    /// Through the gate to an executor. Automatic runs respect the hourly cap;
    /// a person's explicit run does not.
    fn run(&self, mut req: ActionRequest, by: Option<&Identity>) -> Result<ActionRequest, EngineError> {
        let matrix = self.risk_matrix()?;
        let ctx = self.gate_context(&self.workflow_of(req.alert_id.as_deref())?)?;
        let approved = match gate::authorize_execution(&req, &matrix, &ctx) {
            Ok(a) => a,
            Err(e) => {
                self.save(
                    &req,
                    "action.blocked",
                    Actor::Service("gate".into()),
                    serde_json::json!({"why": e.to_string()}),
                )?;
                return Err(e.into());
            }
        };
        if by.is_none() {
            let since = Timestamp::now() - jiff::SignedDuration::from_hours(1);
            let recent = self.store().count_actions_since("executed", since)?;
            if recent >= self.config().execution.max_per_hour {
                self.save(
                    &req,
                    "action.deferred",
                    Actor::Service("gate".into()),
                    serde_json::json!({"why": format!("{recent} actions ran in the last hour; the cap is {}", self.config().execution.max_per_hour)}),
                )?;
                return Ok(req);
            }
        }
        let executor = self.executor_for(req.kind)?;
        let case = if executor.wants_case() { self.case_for(req.alert_id.as_deref())? } else { None };
        let target = Target { alert_id: req.alert_id.as_deref(), case: case.as_ref() };
        let outcome = executor.execute(&approved, &target);
        req.status = if outcome.ok { RequestStatus::Executed } else { RequestStatus::Failed };
        req.execution = Some(gate::Execution {
            at: Timestamp::now(),
            executor: executor.name().to_owned(),
            ok: outcome.ok,
            detail: outcome.detail.clone(),
            attempts: outcome.attempts,
            remote: outcome.remote.clone(),
        });
        let actor = by.map(user_actor).unwrap_or_else(|| Actor::Service(format!("executor:{}", executor.name())));
        self.save(
            &req,
            if outcome.ok { "action.executed" } else { "action.failed" },
            actor,
            serde_json::json!({"executor": executor.name(), "attempts": outcome.attempts, "detail": outcome.detail, "approvers": approved.approvers(), "remote": outcome.remote}),
        )?;
        Ok(req)
    }

    fn executor_for(&self, kind: ActionKind) -> Result<Box<dyn Executor>, EngineError> {
        let name =
            self.config().actions.get(kind.as_str()).and_then(|a| a.executor.clone()).unwrap_or_else(|| "log".into());
        if name == "log" {
            return Ok(Box::new(LogExecutor));
        }
        let x =
            self.config().executors.get(&name).ok_or_else(|| EngineError::Invalid(format!("no executor {name}")))?;
        match x.kind.as_str() {
            "webhook" => {
                let var = x.secret_env.clone().unwrap_or_default();
                let secret = std::env::var(&var).map_err(|_| {
                    EngineError::Invalid(format!("executor {name}: the secret variable {var} is not set"))
                })?;
                Ok(Box::new(WebhookExecutor::new(
                    &name,
                    x.url.as_deref().unwrap_or_default(),
                    secret.into_bytes(),
                    Duration::from_secs(x.timeout_secs),
                    x.retries,
                )))
            }
            "thehive" | "iris" | "jira" => crate::cases::executor(&name, x),
            _ => Ok(Box::new(LogExecutor)),
        }
    }
}

fn decode(v: serde_json::Value) -> Result<ActionRequest, EngineError> {
    serde_json::from_value(v).map_err(|e| EngineError::Invalid(format!("stored action request cannot be read: {e}")))
}
