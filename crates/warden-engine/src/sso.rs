//! Single sign-on with OpenID Connect: the authorization-code flow with PKCE.
//!
//! `oidc_start` reads the issuer's discovery document and makes the
//! authorization URL with a fresh `state`, `nonce` and PKCE verifier (S256);
//! those three travel in a sealed, expiring cookie (HMAC under a key derived
//! from the master key) and come back with the browser. `oidc_finish`
//! checks `state`, exchanges the code (with the verifier) at the token
//! endpoint, and validates the ID token against the issuer's JWKS: the
//! signature (asymmetric algorithms only, the key found by `kid`), `iss`,
//! `aud`, `exp` and `nonce`. A claim (`roles_claim`, a string or a list) is
//! mapped through `[oidc.roles]` to Warden roles; a person the mapping gives
//! no role is refused. The account is `sso.<username claim>`, its roles set
//! from the token at every sign-in (so a change at the identity provider
//! takes effect at the next one), and it has no password; local accounts
//! stay for break-glass. Every sign-in and refusal is audited with the
//! subject, the claim values and the roles they mapped to.

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use jiff::Timestamp;
use serde_json::Value;
use warden_core::{Actor, AuditRecord, Role};
use warden_govern::Identity;

use crate::{Engine, EngineError};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// What the browser carries between the redirect and the callback.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Where to go after signing in (a local path).
    pub next: String,
    /// Expiry, Unix seconds.
    pub expires: i64,
}

/// The start of a sign-in: where to send the browser, and the sealed cookie value.
pub struct Start {
    pub authorize_url: String,
    pub cookie: String,
}

fn random(n: usize) -> Result<String, EngineError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| EngineError::Invalid(format!("no randomness: {e}")))?;
    Ok(b64().encode(b))
}

fn refused(why: impl Into<String>) -> EngineError {
    EngineError::Refused(format!("single sign-on refused: {}", why.into()))
}

impl Engine {
    fn sso_mac(&self) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.link_key).expect("HMAC takes any key length");
        mac.update(b"oidc pending v1\0");
        mac
    }

    fn agent(&self) -> ureq::Agent {
        crate::actions::http_agent(Duration::from_secs(self.config().oidc.timeout_secs))
    }

    fn get_json(&self, url: &str, what: &str) -> Result<Value, EngineError> {
        let mut resp = self.agent().get(url).call().map_err(|e| refused(format!("{what}: {e}")))?;
        if !resp.status().is_success() {
            return Err(refused(format!("{what}: HTTP {}", resp.status().as_u16())));
        }
        let text = resp.body_mut().read_to_string().map_err(|e| refused(format!("{what}: {e}")))?;
        serde_json::from_str(&text).map_err(|e| refused(format!("{what} is not JSON: {e}")))
    }

    /// The issuer's discovery document, checked to name the issuer configured.
    fn discovery(&self) -> Result<Value, EngineError> {
        let cfg = &self.config().oidc;
        let issuer = cfg.issuer.as_deref().ok_or_else(|| refused("[oidc] issuer is not configured"))?;
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc = self.get_json(&url, "the discovery document")?;
        if doc["issuer"].as_str() != Some(issuer) {
            return Err(refused(format!("the discovery document names issuer {}, not {issuer}", doc["issuer"])));
        }
        Ok(doc)
    }

    /// Where to send the browser to sign in, and the cookie that must come back with it.
    pub fn oidc_start(&self, next: &str) -> Result<Start, EngineError> {
        let cfg = &self.config().oidc;
        let doc = self.discovery()?;
        let endpoint = doc["authorization_endpoint"].as_str().ok_or_else(|| refused("no authorization_endpoint"))?;
        let pending = Pending {
            state: random(24)?,
            nonce: random(24)?,
            verifier: random(48)?,
            next: next.to_owned(),
            expires: (Timestamp::now() + jiff::SignedDuration::from_mins(10)).as_second(),
        };
        let challenge = b64().encode(<sha2::Sha256 as sha2::Digest>::digest(pending.verifier.as_bytes()));
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", &self.redirect_url())
            .append_pair("scope", &cfg.scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        let payload = serde_json::to_vec(&pending).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let mut mac = self.sso_mac();
        mac.update(&payload);
        let cookie = format!("{}.{}", b64().encode(&payload), b64().encode(mac.finalize().into_bytes()));
        Ok(Start { authorize_url: format!("{endpoint}{sep}{query}"), cookie })
    }

    /// The redirect URL registered with the identity provider.
    pub fn redirect_url(&self) -> String {
        let cfg = &self.config().oidc;
        cfg.redirect_url
            .clone()
            .unwrap_or_else(|| format!("{}/login/oidc/callback", self.config().notify.public_url.trim_end_matches('/')))
    }

    fn open_pending(&self, cookie: &str) -> Result<Pending, EngineError> {
        let bad = || refused("the sign-in expired or did not start here; start again");
        let (payload, sig) = cookie.split_once('.').ok_or_else(bad)?;
        let payload = b64().decode(payload).map_err(|_| bad())?;
        let sig = b64().decode(sig).map_err(|_| bad())?;
        let mut mac = self.sso_mac();
        mac.update(&payload);
        mac.verify_slice(&sig).map_err(|_| bad())?;
        let p: Pending = serde_json::from_slice(&payload).map_err(|_| bad())?;
        if Timestamp::now().as_second() > p.expires {
            return Err(bad());
        }
        Ok(p)
    }

    /// Finishes a sign-in: the identity of the person, signed in as
    /// `sso.<name>` with the roles their token maps to, and where to go next.
    /// Every outcome is audited.
    pub fn oidc_finish(&self, cookie: &str, state: &str, code: &str) -> Result<(Identity, String), EngineError> {
        let result = self.oidc_verify(cookie, state, code);
        let cfg = &self.config().oidc;
        let issuer = cfg.issuer.clone().unwrap_or_default();
        match result {
            Ok((claims, next)) => {
                let values = claim_values(&claims[&cfg.roles_claim]);
                let roles: Vec<Role> = {
                    let mut r: Vec<Role> =
                        values.iter().filter_map(|v| cfg.roles.get(v)).filter_map(|r| r.parse().ok()).collect();
                    r.sort();
                    r.dedup();
                    r
                };
                let sub = claims["sub"].as_str().unwrap_or_default().to_owned();
                let name_claim = claims[&cfg.username_claim].as_str().unwrap_or(sub.as_str()).to_owned();
                let user = sso_name(&name_claim);
                let detail = serde_json::json!({"issuer": issuer, "sub": sub, "claim": cfg.roles_claim,
                                                "values": values, "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()});
                if roles.is_empty() {
                    self.append_audit(vec![AuditRecord::new(
                        Actor::Service("sso".into()),
                        "login.sso_refused",
                        user.as_str(),
                        serde_json::json!({"why": "no Warden role", "detail": detail}),
                    )])?;
                    return Err(refused(format!(
                        "your identity provider gives no Warden role ({} = {values:?}); ask an administrator",
                        cfg.roles_claim
                    )));
                }
                self.sso_account(&user, &roles, detail)?;
                Ok((self.identity_of(&user)?, next))
            }
            Err(e) => {
                self.append_audit(vec![AuditRecord::new(
                    Actor::Service("sso".into()),
                    "login.sso_refused",
                    issuer.as_str(),
                    serde_json::json!({"why": e.to_string()}),
                )])?;
                Err(e)
            }
        }
    }

    /// The ID token's claims once every check passed, and the next path.
    fn oidc_verify(&self, cookie: &str, state: &str, code: &str) -> Result<(Value, String), EngineError> {
        let cfg = &self.config().oidc;
        let pending = self.open_pending(cookie)?;
        if pending.state.as_bytes() != state.as_bytes() {
            return Err(refused("the state does not match this browser's sign-in"));
        }
        let doc = self.discovery()?;
        let token_endpoint = doc["token_endpoint"].as_str().ok_or_else(|| refused("no token_endpoint"))?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.redirect_url())
            .append_pair("client_id", &cfg.client_id)
            .append_pair("code_verifier", &pending.verifier);
        if let Some(var) = &cfg.client_secret_env {
            let secret =
                std::env::var(var).map_err(|_| refused(format!("the client secret variable {var} is not set")))?;
            form.append_pair("client_secret", &secret);
        }
        let body = form.finish();
        let mut resp = self
            .agent()
            .post(token_endpoint)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .send(body.as_bytes())
            .map_err(|e| refused(format!("the token endpoint: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(refused(format!("the token endpoint answered HTTP {status}")));
        }
        let tokens: Value = serde_json::from_str(&text).map_err(|_| refused("the token answer is not JSON"))?;
        let id_token = tokens["id_token"].as_str().ok_or_else(|| refused("the token answer has no id_token"))?;

        let header = jsonwebtoken::decode_header(id_token).map_err(|e| refused(format!("the ID token: {e}")))?;
        use jsonwebtoken::Algorithm::*;
        if !matches!(header.alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA) {
            return Err(refused(format!("the ID token is signed with {:?}, which is not accepted", header.alg)));
        }
        let jwks_uri = doc["jwks_uri"].as_str().ok_or_else(|| refused("no jwks_uri"))?;
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(self.get_json(jwks_uri, "the JWKS")?)
            .map_err(|e| refused(format!("the JWKS: {e}")))?;
        let jwk = match &header.kid {
            Some(kid) => jwks.find(kid),
            None if jwks.keys.len() == 1 => jwks.keys.first(),
            None => None,
        }
        .ok_or_else(|| refused("the ID token's key is not in the issuer's JWKS"))?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| refused(format!("the JWKS key: {e}")))?;
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_issuer(&[cfg.issuer.as_deref().unwrap_or_default()]);
        v.set_audience(&[cfg.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 60;
        let data =
            jsonwebtoken::decode::<Value>(id_token, &key, &v).map_err(|e| refused(format!("the ID token: {e}")))?;
        if data.claims["nonce"].as_str() != Some(pending.nonce.as_str()) {
            return Err(refused("the ID token's nonce is not this sign-in's"));
        }
        Ok((data.claims, pending.next))
    }

    /// Creates the SSO account or sets its roles to what the token says.
    fn sso_account(&self, user: &str, roles: &[Role], detail: Value) -> Result<(), EngineError> {
        let names: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
        let audit = vec![AuditRecord::new(Actor::User(user.to_owned()), "login.sso_succeeded", user, detail)];
        match self.store().user(user)? {
            None => {
                let rec = warden_store::UserRecord {
                    name: user.to_owned(),
                    // Not a password hash: no password opens an SSO account.
                    password_hash: "!sso".into(),
                    roles: names,
                    created_at: Timestamp::now(),
                    disabled: false,
                };
                self.store().add_user(&rec, audit, self.policy_version())?;
            }
            Some(u) if u.disabled => return Err(EngineError::Unauthenticated),
            Some(_) => self.store().set_roles(user, &names, audit, self.policy_version())?,
        }
        Ok(())
    }
}

/// A claim's values: a string, a list of strings, or nothing.
fn claim_values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// `sso.` and the name with anything but letters, digits, `.`, `_`, `-`
/// and `@` replaced, at most 64 bytes: never a local account's name.
fn sso_name(claim: &str) -> String {
    let clean: String =
        claim.chars().map(|c| if c.is_ascii_alphanumeric() || "._-@".contains(c) { c } else { '_' }).take(60).collect();
    format!("sso.{clean}")
}
