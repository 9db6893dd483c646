//! The HTTP API beyond ingestion: every call authenticates with a user's
//! bearer token and the engine checks the permission matrix for the
//! operation; errors are JSON with a stable code, internals only logged.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use warden_core::{TechniqueId, Verdict};
use warden_engine::EngineError;
use warden_engine::actions::ActionInput;
use warden_engine::review::{DecisionInput, ReasonCode};
use warden_govern::{Identity, Permission};

use crate::serve::{ApiError, ApiJson, ApiQuery, AppState};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warden API",
        description = "Governed AI triage for security operations. Every /api/v1 call authenticates with a \
                       user's bearer token (`warden tokens create`) and is checked against the permission \
                       matrix; ingestion also accepts the forwarders' token. Errors are JSON: \
                       `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&Security),
    tags(
        (name = "ingest", description = "Alerts in"),
        (name = "review", description = "The review queue and decisions"),
        (name = "actions", description = "Response actions, approvals and the stop switch"),
        (name = "audit", description = "The tamper-evident audit trail"),
        (name = "operations", description = "Health, readiness, metrics")
    )
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("opaque").build()),
        );
        c.add_security_scheme(
            "splunk",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::with_description(
                    "Authorization",
                    "`Splunk <token>`, as HTTP Event Collector clients send it",
                ),
            )),
        );
    }
}

/// The refusals every operation of a kind can answer, documented once: a
/// body that is not JSON (400), not `application/json` (415) or not of the
/// body's schema (422); a malformed path id (400); a missing or unknown
/// token (401) and a permission the token's user lacks (403).
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Ref, ResponseBuilder, path::HttpMethod};
        let refusal = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        for (path, item) in api.paths.paths.iter_mut() {
            for method in [HttpMethod::Get, HttpMethod::Post, HttpMethod::Delete, HttpMethod::Put, HttpMethod::Patch] {
                let op = match method {
                    HttpMethod::Get => item.get.as_mut(),
                    HttpMethod::Post => item.post.as_mut(),
                    HttpMethod::Delete => item.delete.as_mut(),
                    HttpMethod::Put => item.put.as_mut(),
                    HttpMethod::Patch => item.patch.as_mut(),
                    _ => None,
                };
                let Some(op) = op else { continue };
                let mut add = |code: &str, what: &str| {
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| refusal(what).into());
                };
                if path.contains('{') {
                    add("400", "The request is malformed (a path id of the wrong shape, say)");
                }
                let has_body = op.request_body.is_some();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                if has_body {
                    add("400", "The body is not JSON");
                    add("415", "The body is not `application/json`");
                    add("422", "The body does not fit its schema");
                }
                if secured {
                    add("401", "No token, or one that is unknown, expired or revoked");
                    add("403", "The token's user lacks the permission");
                }
            }
        }
    }
}

/// The API routes and the OpenAPI document describing them. Both come from
/// the same registrations (each handler's `#[utoipa::path]`), so the
/// document cannot list a route the server lacks or miss one it has.
pub fn routes() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(crate::serve::post_alerts))
        .routes(routes!(crate::serve::hec))
        .routes(routes!(alert))
        .routes(routes!(decide))
        .routes(routes!(queue))
        .routes(routes!(incidents))
        .routes(routes!(incident))
        .routes(routes!(decide_incident))
        .routes(routes!(assign_incident))
        .routes(routes!(merge_incidents))
        .routes(routes!(split_incident))
        .routes(routes!(request_action))
        .routes(routes!(action))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(execute))
        .routes(routes!(stop_on, stop_off))
        .routes(routes!(quality))
        .routes(routes!(checkpoint))
        .routes(routes!(verify))
        .routes(routes!(crate::serve::healthz))
        .routes(routes!(crate::serve::readyz))
        .routes(routes!(prometheus))
        .split_for_parts();
    // After the routes: their operations exist only now.
    utoipa::Modify::modify(&CommonResponses, &mut doc);
    (router, doc)
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi_json(doc: &utoipa::openapi::OpenApi) -> String {
    doc.to_pretty_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "OpenAPI document not serialisable");
        "{}".to_owned()
    })
}

/// An error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code: `unauthorized`, `forbidden`, `not_found`, `invalid`, `refused`,
    /// `invalid_json`, `no_event`, `empty_body`, `not_ready`, `timeout`, `internal`.
    code: String,
    message: String,
}

/// A request's id, tier and status, and what its executor answered when it ran.
#[derive(Serialize, ToSchema)]
pub struct ActionState {
    id: String,
    #[schema(example = "medium")]
    tier: String,
    /// `approved` after a complete approval means it has not run (the stop switch, the hourly cap).
    #[schema(example = "pending")]
    status: String,
    /// The executor's own answer (`dry run: …` for the log executor); absent until it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "dry run: isolate_host recorded, not sent")]
    result: Option<String>,
}

impl From<&warden_govern::ActionRequest> for ActionState {
    fn from(r: &warden_govern::ActionRequest) -> Self {
        ActionState {
            id: r.id.clone(),
            tier: r.tier.as_str().into(),
            status: r.status.as_str().into(),
            result: r.execution.as_ref().map(|x| x.detail.clone()),
        }
    }
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

/// One alert with its assessment, validation, route and reasons, decisions,
/// actions, per-evidence verification and technique names.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "Alert id, `al-…`", pattern = r"^al-[0-9a-f]{20}$")),
    responses((status = 200, description = "The alert and everything known about it", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn alert(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, move |e, who| e.alert_view(who, &id)).await?;
    Ok(Json(v).into_response())
}

/// Records an analyst's decision; the assessment is never changed.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/decision", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "Alert id", pattern = r"^al-[0-9a-f]{20}$")), request_body = DecisionBody,
    responses((status = 200, description = "The stored decision, with the AI's view beside it", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "It changes your own earlier verdict and `supersedes` is not set", body = ErrorBody)))]
async fn decide(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let input = input.into_input()?;
    let d = as_user(&s, &headers, move |e, who| e.decide(who, &id, input)).await?;
    Ok(Json(d).into_response())
}

/// An ATT&CK technique or sub-technique id as text.
#[derive(ToSchema)]
#[schema(value_type = String, pattern = r"^T[0-9]{4}(\.[0-9]{3})?$", example = "T1003.001")]
#[allow(dead_code)]
struct TechniqueIdText(String);

/// A decision on an alert.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    #[schema(example = "malicious", pattern = r"^(malicious|suspicious|benign|unknown)$")]
    verdict: String,
    /// ATT&CK ids; absent keeps the AI's techniques.
    #[serde(default)]
    #[schema(example = json!(["T1003.001"]), inline, value_type = Option<Vec<TechniqueIdText>>)]
    techniques: Option<Vec<String>>,
    /// `hallucinated_evidence`, `wrong_technique`, `missed_attack`, `false_alarm` or `other`.
    #[serde(default)]
    #[schema(pattern = r"^(hallucinated_evidence|wrong_technique|missed_attack|false_alarm|other)$")]
    reason_code: Option<String>,
    #[serde(default)]
    comment: String,
    /// How useful the AI's output was, 1 to 5.
    #[serde(default)]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    rating: Option<serde_json::Number>,
    /// Replaces your own earlier, different verdict on the alert (refused without it).
    #[serde(default)]
    supersedes: bool,
}

impl DecisionBody {
    fn into_input(self) -> Result<DecisionInput, ApiError> {
        let invalid = |m: String| ApiError { status: StatusCode::BAD_REQUEST, code: "invalid", message: m };
        let verdict: Verdict = self.verdict.parse().map_err(|e: warden_core::VocabError| invalid(e.to_string()))?;
        let techniques = self
            .techniques
            .map(|ts| ts.iter().map(|t| TechniqueId::parse(t).map_err(|e| invalid(e.to_string()))).collect())
            .transpose()?;
        let reason_code = self
            .reason_code
            .map(|c| serde_json::from_value::<ReasonCode>(serde_json::json!(c)).map_err(|e| invalid(e.to_string())))
            .transpose()?;
        Ok(DecisionInput {
            verdict,
            techniques,
            reason_code,
            comment: self.comment,
            rating: self
                .rating
                // JSON Schema's integers include 5.0: an integral number is one.
                .map(|n| match n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as u64)) {
                    Some(r @ 1..=5) => Ok(r as u8),
                    _ => Err(invalid(format!("rating {n} is not a whole number from 1 to 5"))),
                })
                .transpose()?,
            supersedes: self.supersedes,
        })
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct IncidentsQuery {
    /// `open`, `decided` or `merged`; open and decided when absent.
    #[param(pattern = r"^(|open|decided|merged)$")]
    state: Option<String>,
    /// At least this severity.
    #[param(pattern = r"^(|info|low|medium|high|critical)$")]
    severity: Option<String>,
    assignee: Option<String>,
    /// Words that must all appear in the title or the entities.
    q: Option<String>,
    /// Only incidents naming this entity, e.g. `host:ws01`.
    entity: Option<String>,
    /// `priority` (default), `event_age`, `age` or `recent`.
    #[param(pattern = r"^(|priority|event_age|age|recent)$")]
    sort: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Incidents with the true total of those that match; page with `offset`.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "review", security(("bearer" = [])), params(IncidentsQuery),
    responses((status = 200, description = "`total`, `offset`, `limit` and `items`", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn incidents(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<IncidentsQuery>,
) -> Result<Response, ApiError> {
    let filter = warden_engine::incidents::IncidentFilter {
        state: given(q.state),
        severity: given(q.severity),
        assignee: given(q.assignee),
        q: given(q.q),
        entity: given(q.entity),
        sort: given(q.sort),
        limit: q.limit,
        offset: q.offset,
    };
    let page = as_user(&s, &headers, move |e, who| e.incidents(who, &filter)).await?;
    Ok(Json(page).into_response())
}

/// One incident: its alerts folded, entities, timeline with context events, and a narrative whose citations are checked.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id, `inc-…`", pattern = r"^inc-[0-9a-f]{16}$")),
    responses((status = 200, description = "The incident", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn incident(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, move |e, who| e.incident(who, &id)).await?;
    Ok(Json(v).into_response())
}

/// Decides an incident: the decision is recorded on each of its alerts (each audited) and the incident is marked decided.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/decision", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id", pattern = r"^inc-[0-9a-f]{16}$")), request_body = DecisionBody,
    responses((status = 200, description = "The alerts decided and those already decided so", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Contradicts your earlier verdict", body = ErrorBody)))]
async fn decide_incident(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionBody>,
) -> Result<Response, ApiError> {
    let input = input.into_input()?;
    let d = as_user(&s, &headers, move |e, who| e.decide_incident(who, &id, input)).await?;
    Ok(Json(d).into_response())
}

/// Who works an incident.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// A user who may work the queue; null releases the incident.
    #[schema(example = "ann")]
    assignee: Option<String>,
}

/// Takes, hands over or releases an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/assign", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id", pattern = r"^inc-[0-9a-f]{16}$")), request_body = AssignBody,
    responses((status = 200, description = "The incident", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn assign_incident(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AssignBody>,
) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, move |e, who| e.assign_incident(who, &id, b.assignee.as_deref())).await?;
    Ok(Json(v).into_response())
}

/// Incidents to fold into this one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    #[schema(example = json!(["inc-0123456789abcdef"]), min_items = 1)]
    from: Vec<String>,
    /// Kept in the audit trail.
    #[schema(pattern = r"\S", max_length = 2000)]
    reason: String,
}

/// Merges incidents into this one: their alerts move here and each is left as `merged`, pointing here.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/merge", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "The incident that stays", pattern = r"^inc-[0-9a-f]{16}$")), request_body = MergeBody,
    responses((status = 200, description = "The merged incident", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn merge_incidents(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MergeBody>,
) -> Result<Response, ApiError> {
    let v = as_user(&s, &headers, move |e, who| e.merge_incidents(who, &id, &b.from, &b.reason)).await?;
    Ok(Json(v).into_response())
}

/// Alerts to move out of an incident into a new one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SplitBody {
    #[schema(min_items = 1)]
    alert_ids: Vec<String>,
    /// Kept in the audit trail.
    #[schema(pattern = r"\S", max_length = 2000)]
    reason: String,
}

/// Splits alerts off an incident into a new incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/split", tag = "review", security(("bearer" = [])),
    params(("id" = String, Path, description = "Incident id", pattern = r"^inc-[0-9a-f]{16}$")), request_body = SplitBody,
    responses((status = 200, description = "`left` (this incident) and `new`", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn split_incident(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SplitBody>,
) -> Result<Response, ApiError> {
    let (left, new) = as_user(&s, &headers, move |e, who| e.split_incident(who, &id, &b.alert_ids, &b.reason)).await?;
    Ok(Json(serde_json::json!({"left": left, "new": new})).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    /// `new`, `in_review`, `decided` or `open` (not decided); all when absent.
    #[param(pattern = r"^(|new|in_review|decided|open)$")]
    state: Option<String>,
    /// Exactly this severity.
    #[param(pattern = r"^(|info|low|medium|high|critical)$")]
    severity: Option<String>,
    workflow: Option<String>,
    /// The route that queued it: `review` or `escalated`.
    #[param(pattern = r"^(|review|escalated)$")]
    route: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    offset: Option<usize>,
}

/// A filter left blank (`?severity=`, as a form sends it) is no filter.
fn given(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// The review queue, highest priority first (severity, then age), a page at a time with the true total.
#[utoipa::path(get, path = "/api/v1/queue", tag = "review", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, description = "`{total, offset, limit, items}`", body = Object),
              (status = 400, description = "An unknown filter value", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn queue(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Response, ApiError> {
    let filter = warden_engine::review::QueueFilter {
        state: given(q.state),
        severity: given(q.severity),
        workflow: given(q.workflow),
        route: given(q.route),
        limit: q.limit,
        offset: q.offset,
    };
    let page = as_user(&s, &headers, move |e, who| e.queue_page(who, &filter)).await?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    #[schema(pattern = r"^al-[0-9a-f]{20}$")]
    alert_id: Option<String>,
    /// An action name, e.g. `isolate_host`, `reset_credentials`, `notify_customers`.
    #[schema(value_type = String, example = "isolate_host", pattern = r"^(enrich|tag|add_note|open_ticket|isolate_host|disable_account|block_indicator|quarantine_file|reset_credentials|disable_service|escalate_incident_commander|declare_breach|notify_customers|notify_regulator|shutdown_infrastructure|attribute_threat_actor|start_disaster_recovery|page_executives)$")]
    action: warden_core::ActionKind,
    #[serde(default)]
    #[schema(value_type = Object)]
    params: serde_json::Value,
    #[schema(pattern = r"\S", max_length = 2000)]
    reason: String,
    #[serde(default)]
    draft: bool,
}

/// Requests a response action; the risk matrix gives its tier.
#[utoipa::path(post, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])), request_body = ActionBody,
    responses((status = 201, body = ActionState), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "No such alert", body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn request_action(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<ActionBody>,
) -> Result<Response, ApiError> {
    let input =
        ActionInput { alert_id: b.alert_id, kind: b.action, params: b.params, reason: b.reason, draft: b.draft };
    let r = as_user(&s, &headers, move |e, who| e.request_action(who, input)).await?;
    Ok((StatusCode::CREATED, Json(ActionState::from(&r))).into_response())
}

/// One action request with its approvals, draft and execution.
#[utoipa::path(get, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id, `ar-…`", pattern = r"^ar-[0-9a-f]{16}$")),
    responses((status = 200, description = "The request", body = Object), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn action(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.action(who, &id)).await?;
    Ok(Json(r).into_response())
}

#[derive(Deserialize, ToSchema)]
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

/// Approves a request (never one's own; high and critical need two people).
#[utoipa::path(post, path = "/api/v1/actions/{id}/approve", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id", pattern = r"^ar-[0-9a-f]{16}$")), request_body = ReasonBody,
    responses((status = 200, body = ActionState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Self-approval, double approval, expired", body = ErrorBody)))]
async fn approve(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.approve_action(who, &id, &b.reason, b.text)).await?;
    Ok(Json(ActionState::from(&r)).into_response())
}

/// Runs an approved action that waited (the stop switch, the hourly cap) or retries a failed one; answers with the executor's result.
#[utoipa::path(post, path = "/api/v1/actions/{id}/execute", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id", pattern = r"^ar-[0-9a-f]{16}$")),
    responses((status = 200, body = ActionState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, description = "Not approved, already run, or the stop switch is on", body = ErrorBody)))]
async fn execute(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.execute_action(who, &id)).await?;
    Ok(Json(ActionState::from(&r)).into_response())
}

/// Rejects a request, with a reason.
#[utoipa::path(post, path = "/api/v1/actions/{id}/reject", tag = "actions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id", pattern = r"^ar-[0-9a-f]{16}$")), request_body = ReasonBody,
    responses((status = 200, body = ActionState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reject(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    let r = as_user(&s, &headers, move |e, who| e.reject_action(who, &id, &b.reason)).await?;
    Ok(Json(ActionState::from(&r)).into_response())
}

/// Why the stop switch is engaged, and for which workflow (all when absent).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StopBody {
    #[schema(pattern = r"\S")]
    reason: String,
    #[serde(default)]
    workflow: Option<String>,
}

/// Engages the stop switch (globally, or for one workflow).
#[utoipa::path(post, path = "/api/v1/stop", tag = "actions", security(("bearer" = [])), request_body = StopBody,
    responses((status = 200, description = "`{\"stopped\": true, \"cancelled_actions\": n}`", body = Object),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "No such workflow", body = ErrorBody)))]
async fn stop_on(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<StopBody>,
) -> Result<Response, ApiError> {
    let workflow = given(b.workflow);
    let n = as_user(&s, &headers, move |e, who| e.set_stop(who, workflow.as_deref(), true, &b.reason)).await?;
    Ok(Json(serde_json::json!({"stopped": true, "cancelled_actions": n})).into_response())
}

/// Releases the stop switch.
#[utoipa::path(delete, path = "/api/v1/stop", tag = "actions", security(("bearer" = [])),
    request_body(content = Option<ReasonBody>, description = "Optional reason and workflow"),
    responses((status = 200, description = "`{\"stopped\": false}`", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "No such workflow", body = ErrorBody)))]
async fn stop_off(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let none = ReasonBody { reason: String::new(), text: None, workflow: None };
    let b = if body.trim_ascii().is_empty() {
        none
    } else {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Null) => none,
            Ok(v) => crate::serve::object_body(v)?,
            Err(e) => {
                return Err(ApiError {
                    status: StatusCode::BAD_REQUEST,
                    code: "bad_request",
                    message: format!("the body is not JSON: {e}"),
                });
            }
        }
    };
    let reason = if b.reason.is_empty() { "released over the API".to_owned() } else { b.reason };
    let workflow = given(b.workflow);
    as_user(&s, &headers, move |e, who| e.set_stop(who, workflow.as_deref(), false, &reason)).await?;
    Ok(Json(serde_json::json!({"stopped": false})).into_response())
}

/// The validation workflow's figures: confusion matrix, precision/recall,
/// acceptance, calibration, per-tactic recall, blind spots.
#[utoipa::path(get, path = "/api/v1/metrics/quality", tag = "review", security(("bearer" = [])),
    responses((status = 200, description = "Quality report", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
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

/// The latest signed checkpoint (C2SP signed-note text).
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "Signed checkpoint", body = String, content_type = "text/plain"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn checkpoint(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let note = as_user(&s, &headers, |e, who| {
        who.authorize(Permission::ReadAudit, "read the audit trail")?;
        e.latest_checkpoint()
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// Verifies the whole audit trail: hash chain, Merkle tree, checkpoints.
/// Verification runs in the background: a long log answers 202 with its
/// progress (`checked` of `total` entries) and the next call after it is done
/// gets the result, which is kept for as long as the log does not grow.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "`{\"intact\": true, \"entries\": n, …}` or the first bad entry", body = Object),
              (status = 202, description = "`{\"state\": \"running\", \"checked\": n, \"total\": m}`: still verifying; ask again", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn verify(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let size = as_user(&s, &headers, |e, who| {
        who.authorize(Permission::ReadAudit, "read the audit trail")?;
        Ok(e.store().audit_len()?)
    })
    .await?;
    let job = s.verify_job.clone();
    let started = {
        let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, v)) = &j.result
            && *at == size
        {
            return Ok(Json(v.clone()).into_response());
        }
        if j.running.is_none() {
            let checked = Arc::new(std::sync::atomic::AtomicU64::new(0));
            j.running = Some((checked.clone(), size));
            let (st, job2) = (s.clone(), job.clone());
            tokio::task::spawn_blocking(move || {
                let v = audit_status_counting(&st.engine, &checked)
                    .unwrap_or_else(|e| serde_json::json!({"intact": false, "error": e.to_string()}));
                let mut j = job2.lock().unwrap_or_else(|p| p.into_inner());
                j.running = None;
                j.result = Some((size, v));
            });
            true
        } else {
            false
        }
    };
    // A short log is done at once; give it a moment before answering with progress.
    let wait = if started { 50 } else { 0 };
    for _ in 0..wait {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let j = job.lock().unwrap_or_else(|p| p.into_inner());
        if j.running.is_none()
            && let Some((_, v)) = &j.result
        {
            return Ok(Json(v.clone()).into_response());
        }
    }
    let j = job.lock().unwrap_or_else(|p| p.into_inner());
    let progress = match &j.running {
        Some((checked, total)) => serde_json::json!({
            "state": "running",
            "checked": checked.load(std::sync::atomic::Ordering::Relaxed),
            "total": total,
        }),
        None => match &j.result {
            Some((_, v)) => return Ok(Json(v.clone()).into_response()),
            None => serde_json::json!({"state": "running", "checked": 0, "total": size}),
        },
    };
    Ok((axum::http::StatusCode::ACCEPTED, Json(progress)).into_response())
}

/// A background verification of the audit trail: the one running (entries
/// checked so far, the log's size when it began) and the last result (for the size it covered).
#[derive(Default)]
pub struct VerifyJob {
    running: Option<(Arc<std::sync::atomic::AtomicU64>, u64)>,
    result: Option<(u64, serde_json::Value)>,
}

fn audit_status_counting(
    e: &warden_engine::Engine,
    checked: &std::sync::atomic::AtomicU64,
) -> Result<serde_json::Value, EngineError> {
    Ok(status_json(e.verify_audit_log_counting(None, checked)?))
}

fn status_json(r: Result<warden_engine::AuditReport, warden_engine::VerifyError>) -> serde_json::Value {
    match r {
        Ok(r) => {
            serde_json::json!({"intact": true, "entries": r.entries, "pruned": r.pruned, "checkpoints": r.checkpoints.len()})
        }
        Err(err) => serde_json::json!({"intact": false, "first_bad_entry": err.seq, "error": err.to_string()}),
    }
}

/// The audit trail's verification, as the API and the audit page show it.
pub fn audit_status(e: &warden_engine::Engine) -> Result<serde_json::Value, EngineError> {
    Ok(status_json(e.verify_audit_log(None)?))
}

/// Prometheus text exposition: stored alerts, routes, dead letters, audit
/// entries, each generative provider's calls and failures, request latency.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain")))]
pub(crate) async fn prometheus(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
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
        if st.bus.is_some() {
            out.push_str(&st.queue_stats.prometheus(st.engine.store()));
        }
        if st.engine.config().ingest.syslog.bind.is_some() {
            out.push_str(&st.syslog_stats.prometheus());
        }
        out.push_str("# HELP warden_provider_events Generative provider failures and rejections by reason.\n# TYPE warden_provider_events counter\n");
        for (name, counters) in st.engine.provider_counters() {
            for (what, n) in counters {
                out.push_str(&format!("warden_provider_events{{provider=\"{name}\",event=\"{what}\"}} {n}\n"));
            }
        }
        let spend = st.engine.provider_spend();
        if !spend.is_empty() {
            out.push_str("# HELP warden_provider_calls Model calls made, this clock hour, today (UTC) and since start.\n# TYPE warden_provider_calls gauge\n");
            for (name, (s, _)) in &spend {
                for (window, u) in [("hour", &s.this_hour), ("day", &s.today), ("total", &s.total)] {
                    out.push_str(&format!("warden_provider_calls{{provider=\"{name}\",window=\"{window}\"}} {}\n", u.calls));
                }
            }
            out.push_str("# HELP warden_provider_tokens Tokens used since start.\n# TYPE warden_provider_tokens counter\n");
            for (name, (s, _)) in &spend {
                out.push_str(&format!("warden_provider_tokens{{provider=\"{name}\",kind=\"prompt\"}} {}\n", s.prompt_tokens));
                out.push_str(&format!("warden_provider_tokens{{provider=\"{name}\",kind=\"completion\"}} {}\n", s.completion_tokens));
            }
            out.push_str("# HELP warden_provider_cost Spend from the price table, this clock hour, today and since start.\n# TYPE warden_provider_cost gauge\n");
            for (name, (s, currency)) in &spend {
                for (window, u) in [("hour", &s.this_hour), ("day", &s.today), ("total", &s.total)] {
                    out.push_str(&format!(
                        "warden_provider_cost{{provider=\"{name}\",currency=\"{currency}\",window=\"{window}\"}} {}\n",
                        u.cost
                    ));
                }
            }
            out.push_str("# HELP warden_provider_over_budget Calls not made because a budget was used up (the local analyzer stood in).\n# TYPE warden_provider_over_budget counter\n");
            for (name, (s, _)) in &spend {
                out.push_str(&format!("warden_provider_over_budget{{provider=\"{name}\"}} {}\n", s.over_budget));
            }
            out.push_str("# HELP warden_provider_calls_saved Alerts an analyst-confirmed precedent decided without calling the model.\n# TYPE warden_provider_calls_saved counter\n");
            for (name, (s, _)) in &spend {
                out.push_str(&format!("warden_provider_calls_saved{{provider=\"{name}\"}} {}\n", s.saved));
            }
            out.push_str("# HELP warden_provider_latency_seconds Time spent in model calls.\n# TYPE warden_provider_latency_seconds summary\n");
            for (name, (s, _)) in &spend {
                out.push_str(&format!("warden_provider_latency_seconds_sum{{provider=\"{name}\"}} {}\n", s.latency_seconds));
                out.push_str(&format!("warden_provider_latency_seconds_count{{provider=\"{name}\"}} {}\n", s.total.calls));
            }
        }
        let per_workflow = st.engine.workflow_spend();
        if !per_workflow.is_empty() {
            out.push_str("# HELP warden_workflow_calls Model calls per workflow, this clock hour, today (UTC) and since start.\n# TYPE warden_workflow_calls gauge\n");
            for (name, s) in &per_workflow {
                for (window, u) in [("hour", &s.this_hour), ("day", &s.today), ("total", &s.total)] {
                    out.push_str(&format!("warden_workflow_calls{{workflow=\"{name}\",window=\"{window}\"}} {}\n", u.calls));
                }
            }
            out.push_str("# HELP warden_workflow_cost Model spend per workflow from the price table.\n# TYPE warden_workflow_cost gauge\n");
            for (name, s) in &per_workflow {
                for (window, u) in [("hour", &s.this_hour), ("day", &s.today), ("total", &s.total)] {
                    out.push_str(&format!("warden_workflow_cost{{workflow=\"{name}\",window=\"{window}\"}} {}\n", u.cost));
                }
            }
            out.push_str("# HELP warden_workflow_over_budget Alerts whose workflow budget was used up (the local analyzer stood in).\n# TYPE warden_workflow_over_budget counter\n");
            for (name, s) in &per_workflow {
                out.push_str(&format!("warden_workflow_over_budget{{workflow=\"{name}\"}} {}\n", s.over_budget));
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
