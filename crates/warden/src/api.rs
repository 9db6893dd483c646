//! The HTTP API beyond ingestion: every call authenticates with a user's
//! bearer token and the engine checks the permission matrix for the
//! operation; errors are JSON with a stable code, internals only logged.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use warden_engine::EngineError;
use warden_engine::actions::ActionInput;
use warden_engine::review::DecisionInput;
use warden_govern::{Identity, Permission};

use crate::serve::{ApiError, AppState};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/alerts/{id}", get(alert))
        .route("/api/v1/alerts/{id}/decision", post(decide))
        .route("/api/v1/queue", get(queue))
        .route("/api/v1/actions", post(request_action))
        .route("/api/v1/actions/{id}", get(action))
        .route("/api/v1/actions/{id}/approve", post(approve))
        .route("/api/v1/actions/{id}/reject", post(reject))
        .route("/api/v1/stop", post(stop_on).delete(stop_off))
        .route("/api/v1/metrics/quality", get(quality))
        .route("/api/v1/audit/checkpoint", get(checkpoint))
        .route("/api/v1/audit/verify", get(verify))
        .route("/metrics", get(prometheus))
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (status, code) = match &e {
            EngineError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthorized"),
            EngineError::Denied(_) => (StatusCode::FORBIDDEN, "forbidden"),
            EngineError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            EngineError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
            EngineError::Gate(_) | EngineError::Refused(_) => (StatusCode::CONFLICT, "refused"),
            _ => {
                tracing::error!(error = %e, "request failed");
                return ApiError::internal();
            }
        };
        ApiError { status, code, message: e.to_string() }
    }
}

/// Runs an engine operation off the async threads, as the caller.
async fn as_user<T: Send + 'static>(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    f: impl FnOnce(&warden_engine::Engine, &Identity) -> Result<T, EngineError> + Send + 'static,
) -> Result<T, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .ok_or_else(ApiError::unauthorized)?;
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        let who = s.engine.authenticate(&token)?;
        f(&s.engine, &who)
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(ApiError::from)
}

async fn alert(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, move |e, who| e.alert_view(who, &id)).await?;
    Ok(Json(v).into_response())
}

async fn decide(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(input): Json<DecisionInput>,
) -> Result<Response, ApiError> {
    let d = as_user(&s, &headers, move |e, who| e.decide(who, &id, input)).await?;
    Ok(Json(d).into_response())
}

#[derive(Deserialize)]
struct QueueQuery {
    state: Option<String>,
}

async fn queue(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ApiError> {
    let items = as_user(&s, &headers, move |e, who| e.queue(who, q.state.as_deref())).await?;
    Ok(Json(items).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    alert_id: Option<String>,
    action: warden_core::ActionKind,
    #[serde(default)]
    params: serde_json::Value,
    reason: String,
    #[serde(default)]
    draft: bool,
}

async fn request_action(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(b): Json<ActionBody>,
) -> Result<Response, ApiError> {
    let input =
        ActionInput { alert_id: b.alert_id, kind: b.action, params: b.params, reason: b.reason, draft: b.draft };
    let r = as_user(&s, &headers, move |e, who| e.request_action(who, input)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": r.id, "tier": r.tier.as_str(), "status": r.status.as_str()})),
    )
        .into_response())
}

async fn action(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.action(who, &id)).await?;
    Ok(Json(r).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: String,
    /// For approvals of critical actions: the human text replacing the AI draft.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    workflow: Option<String>,
}

async fn approve(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.approve_action(who, &id, &b.reason, b.text)).await?;
    Ok(Json(serde_json::json!({"id": r.id, "tier": r.tier.as_str(), "status": r.status.as_str()})).into_response())
}

async fn reject(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.reject_action(who, &id, &b.reason)).await?;
    Ok(Json(serde_json::json!({"id": r.id, "tier": r.tier.as_str(), "status": r.status.as_str()})).into_response())
}

async fn stop_on(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(b): Json<ReasonBody>,
) -> Result<Response, ApiError> {
    let n = as_user(&s, &headers, move |e, who| e.set_stop(who, b.workflow.as_deref(), true, &b.reason)).await?;
    Ok(Json(serde_json::json!({"stopped": true, "cancelled_actions": n})).into_response())
}

async fn stop_off(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Option<Json<ReasonBody>>,
) -> Result<Response, ApiError> {
    let b = body.map(|Json(b)| b).unwrap_or(ReasonBody { reason: String::new(), text: None, workflow: None });
    let reason = if b.reason.is_empty() { "released over the API".to_owned() } else { b.reason };
    as_user(&s, &headers, move |e, who| e.set_stop(who, b.workflow.as_deref(), false, &reason)).await?;
    Ok(Json(serde_json::json!({"stopped": false})).into_response())
}

async fn quality(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, |e, who| {
        who.authorize(Permission::Review, "see quality figures")?;
        let mut v = serde_json::to_value(e.quality(None)?).map_err(|x| EngineError::Invalid(x.to_string()))?;
        v["blind_spots"] = serde_json::to_value(e.blind_spots(None)?).unwrap_or_default();
        v["per_analyzer"] = serde_json::to_value(e.acceptance_by_analyzer()?).unwrap_or_default();
        Ok(v)
    })
    .await?;
    Ok(Json(v).into_response())
}

async fn checkpoint(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let note = as_user(&s, &headers, |e, who| {
        who.authorize(Permission::ReadAudit, "read the audit trail")?;
        e.latest_checkpoint()
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

async fn verify(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, |e, who| {
        who.authorize(Permission::ReadAudit, "read the audit trail")?;
        Ok(match e.verify_audit_log(None)? {
            Ok(r) => serde_json::json!({"intact": true, "entries": r.entries, "pruned": r.pruned, "checkpoints": r.checkpoints.len()}),
            Err(err) => serde_json::json!({"intact": false, "first_bad_entry": err.seq, "error": err.to_string()}),
        })
    })
    .await?;
    Ok(Json(v).into_response())
}

/// Prometheus text exposition: stored alerts, routes, dead letters, audit
/// entries, and each generative provider's calls and failures.
async fn prometheus(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let st = s.clone();
    let text = tokio::task::spawn_blocking(move || -> Result<String, EngineError> {
        let c = st.engine.store().counts()?;
        let mut out = String::new();
        out.push_str("# HELP warden_alerts_stored Alerts stored.\n# TYPE warden_alerts_stored gauge\n");
        out.push_str(&format!("warden_alerts_stored {}\n", c.alerts));
        out.push_str("# HELP warden_alerts_routed Alerts per route.\n# TYPE warden_alerts_routed gauge\n");
        for (route, n) in &c.routes {
            out.push_str(&format!("warden_alerts_routed{{route=\"{route}\"}} {n}\n"));
        }
        out.push_str("# HELP warden_duplicates Repeated alerts merged.\n# TYPE warden_duplicates gauge\n");
        out.push_str(&format!("warden_duplicates {}\n", c.duplicates));
        out.push_str("# HELP warden_dead_letters Records kept in the dead-letter store.\n# TYPE warden_dead_letters gauge\n");
        out.push_str(&format!("warden_dead_letters {}\n", c.dead_letters));
        out.push_str("# HELP warden_audit_entries Audit log entries.\n# TYPE warden_audit_entries gauge\n");
        out.push_str(&format!("warden_audit_entries {}\n", c.audit_entries));
        out.push_str("# HELP warden_provider_events Generative provider failures and rejections by reason.\n# TYPE warden_provider_events counter\n");
        for (name, counters) in st.engine.provider_counters() {
            for (what, n) in counters {
                out.push_str(&format!("warden_provider_events{{provider=\"{name}\",event=\"{what}\"}} {n}\n"));
            }
        }
        st.latency.render(&mut out);
        Ok(out)
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(ApiError::from)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
