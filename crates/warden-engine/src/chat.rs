//! Chat approvals: when an action waits for approval, Slack and Microsoft
//! Teams (incoming webhooks) are told, with a link to Warden's own approval
//! page.
//!
//! A link is signed (HMAC-SHA256 under a key derived from the master key,
//! so every node checks it), expires (`notify.link_ttl_minutes`), is bound
//! to the exact action (a hash of its kind, tier, alert and parameters) and
//! to the approvals it had when issued, so it works once: the approval it
//! gives changes what it is bound to. It never approves by itself: it opens
//! Warden's page, where the approver signs in and the gate checks their
//! roles, self-approval and the tier as for any approval. High and critical
//! actions get no link at all — the message only says they wait in Warden.
//!
//! The message names the action, its tier, the request id and who asked —
//! not the reason or the parameters, which may hold personal data, since
//! chat services are outside the SOC.

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use warden_core::{Actor, AuditRecord, RiskTier};
use warden_govern::gate::ActionRequest;
use warden_govern::{Identity, RequestStatus};

use crate::{Engine, EngineError};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The link key: the master key, specialised so it opens nothing else.
pub(crate) fn link_key(master: &[u8; 32]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(b"warden chat approval links v1");
    mac.finalize().into_bytes().into()
}

/// What a link is bound to: the action exactly as it would run.
fn binding(req: &ActionRequest) -> String {
    let params = serde_json::to_string(&req.params).unwrap_or_default();
    crate::sha2_free::sha256_hex(&[
        req.kind.as_str().as_bytes(),
        req.tier.as_str().as_bytes(),
        req.alert_id.as_deref().unwrap_or_default().as_bytes(),
        params.as_bytes(),
    ])
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    /// The request.
    r: String,
    /// [`binding`] of the request when the link was made.
    b: String,
    /// Approvals it had then.
    n: usize,
    /// Expiry, Unix seconds.
    e: i64,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Engine {
    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.link_key).expect("HMAC takes any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// A signed approval link token for a pending low- or medium-tier
    /// request; None for high and critical tiers, which chat never approves.
    pub fn approval_link_token(&self, req: &ActionRequest) -> Option<String> {
        if req.tier >= RiskTier::High || req.status != RequestStatus::Pending {
            return None;
        }
        let ttl = jiff::SignedDuration::from_mins(self.config().notify.link_ttl_minutes as i64);
        let claims = Claims {
            r: req.id.clone(),
            b: binding(req),
            n: req.approvals.len(),
            e: (Timestamp::now() + ttl).as_second(),
        };
        let payload = serde_json::to_vec(&claims).ok()?;
        Some(format!("{}.{}", b64().encode(&payload), b64().encode(self.sign(&payload))))
    }

    /// The request a link is for, if the link still stands: signed by this
    /// deployment, not expired, for a pending low- or medium-tier request
    /// that is exactly the action it was made for and has not been approved
    /// since. Every refusal says which of these failed.
    pub fn check_approval_link(&self, token: &str) -> Result<ActionRequest, EngineError> {
        let bad = || EngineError::Refused("this approval link is not valid".into());
        let (payload, sig) = token.split_once('.').ok_or_else(bad)?;
        let payload = b64().decode(payload).map_err(|_| bad())?;
        let sig = b64().decode(sig).map_err(|_| bad())?;
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.link_key).expect("HMAC takes any key length");
        mac.update(&payload);
        mac.verify_slice(&sig).map_err(|_| bad())?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| bad())?;
        if Timestamp::now().as_second() > claims.e {
            return Err(EngineError::Refused("this approval link has expired; open the request in Warden".into()));
        }
        let req = self.load(&claims.r)?;
        if req.tier >= RiskTier::High {
            return Err(EngineError::Refused(format!(
                "a {} action is never approved from a chat link; approve it in Warden",
                req.tier
            )));
        }
        if binding(&req) != claims.b {
            return Err(EngineError::Refused("the action changed since this link was sent".into()));
        }
        if req.status != RequestStatus::Pending || req.approvals.len() != claims.n {
            return Err(EngineError::Refused("this approval link was used already".into()));
        }
        Ok(req)
    }

    /// Approves through a link, as the signed-in `who`: the link is checked,
    /// then the approval goes through the gate like any other.
    pub fn approve_by_link(&self, who: &Identity, token: &str, note: &str) -> Result<ActionRequest, EngineError> {
        let req = self.check_approval_link(token)?;
        let note = if note.trim().is_empty() {
            "approved from a chat approval link".to_owned()
        } else {
            format!("{note} (approved from a chat approval link)")
        };
        self.approve_action(who, &req.id, &note, None)
    }

    /// Tells the configured chat channels that `req` waits for approval.
    /// A channel that cannot be reached costs nothing but its message: the
    /// request stands, and the attempt is audited.
    pub(crate) fn notify_pending(&self, req: &ActionRequest) -> Result<(), EngineError> {
        let cfg = &self.config().notify;
        let channels: Vec<(&str, &str)> =
            [("slack", cfg.slack_webhook_env.as_deref()), ("teams", cfg.teams_webhook_env.as_deref())]
                .into_iter()
                .filter_map(|(name, var)| var.map(|v| (name, v)))
                .collect();
        if channels.is_empty() || req.status != RequestStatus::Pending {
            return Ok(());
        }
        let base = cfg.public_url.trim_end_matches('/');
        let (link, how) = match self.approval_link_token(req) {
            Some(t) => (format!("{base}/approve/{t}"), "Approve or reject (sign-in required)"),
            None => (format!("{base}/approvals"), "Needs two approvers in Warden; chat cannot approve it"),
        };
        let text = format!(
            "Warden: {} ({} tier) waits for approval. Request {}, asked by {}. {how}: {link}",
            req.kind.as_str().replace('_', " "),
            req.tier,
            req.id,
            req.requester
        );
        let agent = crate::actions::http_agent(Duration::from_secs(cfg.timeout_secs));
        let mut audit = Vec::new();
        for (name, var) in channels {
            let outcome = match std::env::var(var) {
                Err(_) => Err(format!("the webhook variable {var} is not set")),
                Ok(url) => {
                    let body = match name {
                        // Slack incoming webhook; Teams takes a MessageCard's `text` too.
                        "slack" => serde_json::json!({"text": text}),
                        _ => serde_json::json!({"@type": "MessageCard", "@context": "https://schema.org/extensions",
                                                "summary": "Warden approval", "text": text}),
                    };
                    let bytes = serde_json::to_vec(&body).unwrap_or_default();
                    match agent.post(&url).header("Content-Type", "application/json").send(&bytes[..]) {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                        // The error may carry the URL, which is a secret: only its kind is kept.
                        Err(_) => Err("the webhook could not be reached".to_owned()),
                    }
                }
            };
            if let Err(why) = &outcome {
                tracing::warn!(channel = name, %why, "approval notification not sent");
            }
            audit.push(AuditRecord::new(
                Actor::Service("notify".into()),
                if outcome.is_ok() { "notify.sent" } else { "notify.failed" },
                req.id.as_str(),
                serde_json::json!({"channel": name, "link": req.tier < RiskTier::High, "error": outcome.err()}),
            ));
        }
        self.append_audit(audit)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use warden_core::{ActionKind, Role};

    use super::*;
    use crate::actions::ActionInput;

    const PW: &str = "a long enough password";

    fn setup() -> (Engine, Identity, Identity, Identity) {
        let e = Engine::in_memory(crate::Config::default()).unwrap();
        for (n, r) in
            [("ann", Role::Analyst), ("bob", Role::Analyst), ("sam", Role::SeniorAnalyst), ("sue", Role::SeniorAnalyst)]
        {
            e.add_user(Actor::User("setup".into()), n, &[r], PW).unwrap();
        }
        let w = |n| e.check_password(n, PW).unwrap();
        let (ann, sam, sue) = (w("ann"), w("sam"), w("sue"));
        (e, ann, sam, sue)
    }

    fn ask(e: &Engine, who: &Identity, kind: ActionKind) -> ActionRequest {
        let input = ActionInput {
            alert_id: None,
            kind,
            params: serde_json::json!({"host": "ws-1"}),
            reason: "beaconing from ws-1".into(),
            draft: false,
        };
        e.request_action(who, input).unwrap()
    }

    #[test]
    fn a_link_works_once_for_an_eligible_approver_and_for_that_action_only() {
        let (e, ann, sam, sue) = setup();
        let req = ask(&e, &ann, ActionKind::IsolateHost);
        assert_eq!(req.status, RequestStatus::Pending, "medium tier waits for a senior analyst");
        let token = e.approval_link_token(&req).expect("a medium action gets a link");
        assert_eq!(e.check_approval_link(&token).unwrap().id, req.id);

        // Tampered: a changed byte in the claims or the signature.
        let (p, s) = token.split_once('.').unwrap();
        let mut claims = b64().decode(p).unwrap();
        let i = claims.iter().position(|b| *b == b'"').unwrap();
        claims[i + 1] ^= 1;
        for forged in [format!("{}.{s}", b64().encode(&claims)), format!("{p}.{}", b64().encode([0u8; 32])), "x".into()]
        {
            let err = e.check_approval_link(&forged).unwrap_err().to_string();
            assert!(err.contains("not valid"), "{err}");
        }
        // The requester cannot approve their own request through a link
        // either, nor can someone whose role may not approve its tier.
        assert!(e.approve_by_link(&ann, &token, "").is_err());
        let bob = e.check_password("bob", PW).unwrap();
        assert!(e.approve_by_link(&bob, &token, "").is_err(), "an analyst may not approve a medium-tier action");
        assert_eq!(e.check_approval_link(&token).unwrap().approvals.len(), 0, "refusals used nothing up");
        let done = e.approve_by_link(&sam, &token, "seen the beacon").unwrap();
        assert_ne!(done.status, RequestStatus::Pending);
        assert!(done.approvals.iter().any(|a| a.note.contains("chat approval link")));
        let err = e.approve_by_link(&sue, &token, "").unwrap_err().to_string();
        assert!(err.contains("used already"), "{err}");
    }

    #[test]
    fn an_expired_or_rebound_link_is_refused_and_high_tiers_get_none() {
        let (e, ann, ..) = setup();
        let req = ask(&e, &ann, ActionKind::IsolateHost);
        let sign = |c: &Claims| {
            let payload = serde_json::to_vec(c).unwrap();
            format!("{}.{}", b64().encode(&payload), b64().encode(e.sign(&payload)))
        };
        let expired = Claims { r: req.id.clone(), b: binding(&req), n: 0, e: Timestamp::now().as_second() - 1 };
        assert!(e.check_approval_link(&sign(&expired)).unwrap_err().to_string().contains("expired"));
        let other = Claims { r: req.id.clone(), b: "0".repeat(64), n: 0, e: Timestamp::now().as_second() + 60 };
        assert!(e.check_approval_link(&sign(&other)).unwrap_err().to_string().contains("changed"));

        let high = ask(&e, &ann, ActionKind::ResetCredentials);
        assert!(high.tier >= RiskTier::High);
        assert!(e.approval_link_token(&high).is_none());
        let forged = Claims { r: high.id.clone(), b: binding(&high), n: 0, e: Timestamp::now().as_second() + 60 };
        let err = e.check_approval_link(&sign(&forged)).unwrap_err().to_string();
        assert!(err.contains("never approved from a chat link"), "{err}");
    }
}
