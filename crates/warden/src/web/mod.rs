//! The web UI: server-rendered pages for analysts, approvers, auditors and
//! managers, on the same engine calls and permission checks as the API.
//!
//! Every page needs a session (see [`session`]); every form carries the
//! session's CSRF token and is refused without it or from another origin.
//! Pages are minijinja templates with HTML auto-escaping; nothing the alert
//! or a model wrote is ever marked safe. Charts are SVG drawn here
//! ([`charts`]). Responses carry a strict Content-Security-Policy: no script
//! at all, styles only from `/static/app.css`.

pub mod charts;
pub mod session;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use warden_core::{ActionKind, Actor, AuditRecord, Fields, TechniqueId, Verdict};
use warden_engine::review::{DecisionInput, ReasonCode};
use warden_engine::{Engine, EngineError};
use warden_govern::{Identity, Permission, RequestStatus};

use crate::serve::AppState;
use session::{COOKIE, LOGIN_COOKIE, Session};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/alerts/{id}", get(alert))
        .route("/alerts/{id}/decision", post(decide))
        .route("/alerts/{id}/claim", post(claim))
        .route("/actions", post(request_action))
        .route("/approvals", get(approvals))
        .route("/actions/{id}/approve", post(approve))
        .route("/actions/{id}/reject", post(reject))
        .route("/dashboards", get(dashboards))
        .route("/audit", get(audit))
        .route("/audit/bundle", get(bundle))
        .route("/settings", get(settings))
        .route("/settings/stop", post(stop))
        .route("/static/app.css", get(css))
        .layer(axum::middleware::from_fn(security_headers))
}

/// No script, no plugins, no framing, no foreign origins; forms post only here.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // `same-origin` rather than `no-referrer`: with the latter, browsers send
    // `Origin: null` on form posts, and the origin check needs the real one.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    resp
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        for (name, src) in [
            ("layout.html", include_str!("../../templates/layout.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("queue.html", include_str!("../../templates/queue.html")),
            ("alert.html", include_str!("../../templates/alert.html")),
            ("approvals.html", include_str!("../../templates/approvals.html")),
            ("dashboards.html", include_str!("../../templates/dashboards.html")),
            ("audit.html", include_str!("../../templates/audit.html")),
            ("settings.html", include_str!("../../templates/settings.html")),
            ("error.html", include_str!("../../templates/error.html")),
        ] {
            env.add_template(name, src).expect("templates are checked by the tests");
        }
        env.add_filter("pct", |v: f64| format!("{:.0}%", v * 100.0));
        env.add_filter("duration", charts::minutes);
        // RFC 3339 times to the second, in UTC; anything else as it is.
        env.add_filter("when", |t: String| match t.parse::<jiff::Timestamp>() {
            Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
            Err(_) => t,
        });
        env
    })
}

/// Renders a page. SVG strings under `svg` are the only values rendered
/// unescaped: they are built by [`charts`], which escapes every label.
fn render(status: StatusCode, name: &str, ctx: Json, svg: BTreeMap<&str, String>) -> Response {
    let svg: BTreeMap<&str, minijinja::Value> =
        svg.into_iter().map(|(k, v)| (k, minijinja::Value::from_safe_string(v))).collect();
    let ctx = minijinja::context! { svg => svg, ..minijinja::Value::from(minijinja::value::Serde(&ctx)) };
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, template = name, "page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log").into_response()
        }
    }
}

/// What every page shows about the signed-in user.
fn me(who: &Identity, s: &Session) -> Json {
    json!({
        "user": who.user,
        "roles": who.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "csrf": s.csrf,
        "can": {
            "review": who.can(Permission::Review),
            "request": who.can(Permission::RequestAction),
            "approve": who.can(Permission::ApproveMedium) || who.can(Permission::ApproveHigh),
            "audit": who.can(Permission::ReadAudit),
            "stop": who.can(Permission::OperateStopSwitch),
            "reidentify": who.can(Permission::Reidentify),
        },
    })
}

/// Why a page could not be shown.
enum UiError {
    /// No session: go and log in, then come back to `next`.
    Login(String),
    Engine(EngineError),
    /// A form without this session's CSRF token, or from another site.
    Forged,
    Bad(String),
}

impl From<EngineError> for UiError {
    fn from(e: EngineError) -> Self {
        UiError::Engine(e)
    }
}

impl From<warden_engine::AuditError> for UiError {
    fn from(e: warden_engine::AuditError) -> Self {
        UiError::Engine(EngineError::Audit(Box::new(e)))
    }
}

impl UiError {
    fn into_response(self, me: Option<Json>) -> Response {
        let (status, title, message) = match self {
            UiError::Login(next) => {
                return Redirect::to(&format!("/login?next={}", encode_path(&next))).into_response();
            }
            UiError::Forged => (
                StatusCode::FORBIDDEN,
                "Form refused",
                "The form did not carry this session's security token (or came from another site). Reload the page and try again.".to_owned(),
            ),
            UiError::Bad(m) => (StatusCode::BAD_REQUEST, "Not accepted", m),
            UiError::Engine(e) => match &e {
                EngineError::Unauthenticated => return Redirect::to("/login").into_response(),
                EngineError::Denied(_) => (StatusCode::FORBIDDEN, "Not allowed", e.to_string()),
                EngineError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found", e.to_string()),
                EngineError::Invalid(_) => (StatusCode::BAD_REQUEST, "Not accepted", e.to_string()),
                EngineError::Gate(_) | EngineError::Refused(_) => (StatusCode::CONFLICT, "Refused", e.to_string()),
                _ => {
                    tracing::error!(error = %e, "page failed");
                    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "See the server log.".to_owned())
                }
            },
        };
        render(status, "error.html", json!({"me": me, "title": title, "message": message}), BTreeMap::new())
    }
}

/// Percent-encodes a local path for a query parameter.
fn encode_path(p: &str) -> String {
    p.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The session behind the request's cookie, and its id (blocking: call off
/// the async threads).
fn session_of(e: &Engine, headers: &HeaderMap) -> Option<(String, Session)> {
    let id = session::cookie(headers, COOKIE)?;
    match session::get(e.store(), id) {
        Ok(s) => Some((id.to_owned(), s?)),
        Err(err) => {
            tracing::error!(error = %err, "session store failed");
            None
        }
    }
}

/// Runs blocking work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
}

/// Runs a page's work off the async threads as the signed-in user.
async fn page<F>(s: Arc<AppState>, headers: HeaderMap, here: String, f: F) -> Response
where
    F: FnOnce(&Engine, &Identity, &Session) -> Result<Response, UiError> + Send + 'static,
{
    blocking(move || {
        let Some((_, sess)) = session_of(&s.engine, &headers) else {
            return UiError::Login(here).into_response(None);
        };
        let who = match s.engine.identity_of(&sess.user) {
            Ok(w) => w,
            Err(_) => return UiError::Login(here).into_response(None),
        };
        let me = me(&who, &sess);
        f(&s.engine, &who, &sess).unwrap_or_else(|e| e.into_response(Some(me)))
    })
    .await
    .unwrap_or_else(|r| r)
}

/// A form post: same as [`page`], after checking the origin and the CSRF token.
async fn form<F>(s: Arc<AppState>, headers: HeaderMap, csrf: String, f: F) -> Response
where
    F: FnOnce(&Engine, &Identity, &Session) -> Result<Response, UiError> + Send + 'static,
{
    blocking(move || {
        let sess = session_of(&s.engine, &headers);
        let genuine = same_origin(&headers) && sess.as_ref().is_some_and(|(_, x)| session::same_secret(&csrf, &x.csrf));
        let Some((_, sess)) = sess.filter(|_| genuine) else {
            let me =
                session_of(&s.engine, &headers).and_then(|(_, x)| Some(me(&s.engine.identity_of(&x.user).ok()?, &x)));
            return UiError::Forged.into_response(me);
        };
        let who = match s.engine.identity_of(&sess.user) {
            Ok(w) => w,
            Err(_) => return UiError::Login("/queue".into()).into_response(None),
        };
        let me = me(&who, &sess);
        f(&s.engine, &who, &sess).unwrap_or_else(|e| e.into_response(Some(me)))
    })
    .await
    .unwrap_or_else(|r| r)
}

/// Browsers say where a post comes from; refuse posts from another site.
fn same_origin(headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v == "cross-site") {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---- login -------------------------------------------------------------

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths, so the login page cannot be used to send people elsewhere.
fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/queue".to_owned(),
    }
}

fn login_form(s: &AppState, headers: &HeaderMap, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let Ok(token) = session::random_hex(32) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response();
    };
    let mut r = render(status, "login.html", json!({"csrf": token, "next": next, "error": error}), BTreeMap::new());
    let cookie = session::set_cookie(LOGIN_COOKIE, &token, std::time::Duration::from_secs(1800), secure(s, headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Cookies are `Secure` unless the server is reached over plain HTTP on a
/// loopback address (a browser on the same machine); behind a TLS proxy the
/// proxy's `X-Forwarded-Proto: https` keeps them secure.
fn secure(s: &AppState, headers: &HeaderMap) -> bool {
    let proxied_tls =
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"));
    proxied_tls || !s.loopback
}

async fn login_page(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let next = local_next(q.next.as_deref());
    let st = s.clone();
    let h = headers.clone();
    if blocking(move || session_of(&st.engine, &h).is_some()).await.unwrap_or(false) {
        return see_other(&next);
    }
    login_form(&s, &headers, &next, None, StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(
    State(s): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local_next(f.next.as_deref());
    let pre = session::cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !same_origin(&headers) || pre.is_empty() || !session::same_secret(pre, &f.csrf) {
        return login_form(&s, &headers, &next, Some("The form expired; please sign in again."), StatusCode::FORBIDDEN);
    }
    let user_key = session::user_key(&f.user);
    let addr_key = session::addr_key(peer.ip());
    let st = s.clone();
    let (name, password) = (f.user.trim().to_owned(), f.password);
    let outcome = blocking(move || -> anyhow::Result<Result<(Identity, String), Option<std::time::Duration>>> {
        let store = st.engine.store();
        let address = json!({"address": peer.ip().to_string()});
        let locked = match session::locked_for(store, &user_key, session::MAX_FAILURES)? {
            Some(w) => Some(w),
            None => session::locked_for(store, &addr_key, session::MAX_FAILURES_PER_ADDRESS)?,
        };
        if let Some(wait) = locked {
            st.engine.append_audit(vec![AuditRecord::new(
                Actor::Service("web".into()),
                "login.throttled",
                name.as_str(),
                address,
            )])?;
            return Ok(Err(Some(wait)));
        }
        match st.engine.check_password(&name, &password) {
            Ok(who) => {
                // Only the name's count is cleared: one good password must not
                // wipe out an address's record of guessing.
                session::succeeded(store, &user_key)?;
                let id = session::start(store, &who.user)?;
                st.engine.append_audit(vec![AuditRecord::new(
                    Actor::User(name.clone()),
                    "login.succeeded",
                    name.as_str(),
                    address,
                )])?;
                Ok(Ok((who, id)))
            }
            Err(_) => {
                session::failed(store, &user_key)?;
                session::failed(store, &addr_key)?;
                st.engine.append_audit(vec![AuditRecord::new(
                    Actor::Service("web".into()),
                    "login.failed",
                    name.as_str(),
                    address,
                )])?;
                Ok(Err(None))
            }
        }
    })
    .await;
    match outcome {
        Ok(Ok(Ok((who, id)))) => {
            // People who do not review (auditors, administrators) start where they work.
            let next = if next == "/queue" && !who.can(Permission::Review) {
                if who.can(Permission::ReadAudit) { "/audit".to_owned() } else { "/settings".to_owned() }
            } else {
                next
            };
            let mut r = see_other(&next);
            let secure = secure(&s, &headers);
            for c in [
                session::set_cookie(COOKIE, &id, session::ABSOLUTE, secure),
                session::set_cookie(LOGIN_COOKIE, "", std::time::Duration::ZERO, secure),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Ok(Ok(Err(Some(wait)))) => {
            let msg = format!(
                "Too many failed sign-ins. Try again in {} minute(s), or ask an administrator (warden users unlock).",
                wait.as_secs().div_ceil(60)
            );
            login_form(&s, &headers, &next, Some(&msg), StatusCode::TOO_MANY_REQUESTS)
        }
        Ok(Ok(Err(None))) => {
            login_form(&s, &headers, &next, Some("Unknown user or wrong password."), StatusCode::UNAUTHORIZED)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sign-in failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log").into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(s): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<CsrfOnly>) -> Response {
    let st = s.clone();
    let h = headers.clone();
    let ended = blocking(move || {
        let (id, sess) = session_of(&st.engine, &h)?;
        if !same_origin(&h) || !session::same_secret(&f.csrf, &sess.csrf) {
            return Some(false);
        }
        let audit = AuditRecord::new(Actor::User(sess.user.clone()), "logout", sess.user.as_str(), json!({}));
        if let Err(e) = session::end(st.engine.store(), &id)
            .map_err(|e| e.to_string())
            .and_then(|_| st.engine.append_audit(vec![audit]).map(|_| ()).map_err(|e| e.to_string()))
        {
            tracing::error!(error = %e, "sign-out not recorded");
        }
        Some(true)
    })
    .await;
    match ended {
        Ok(Some(false)) => return UiError::Forged.into_response(None),
        Err(r) => return r,
        _ => {}
    }
    let mut r = see_other("/login");
    if let Ok(v) =
        HeaderValue::from_str(&session::set_cookie(COOKIE, "", std::time::Duration::ZERO, secure(&s, &headers)))
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

// ---- queue and alert ---------------------------------------------------

#[derive(Deserialize, Default)]
struct QueueFilter {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    workflow: Option<String>,
    /// 1-based page of [`QUEUE_PAGE`] items.
    #[serde(default)]
    page: Option<usize>,
}

/// Queue rows per page.
const QUEUE_PAGE: usize = 100;

fn blank(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

async fn queue(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<QueueFilter>) -> Response {
    page(s, headers, "/queue".into(), move |e, who, sess| {
        let state = match blank(&q.state) {
            None => Some("open"),
            Some("all") => None,
            Some(x) => Some(x),
        };
        let all = e.queue(who, if state == Some("open") { None } else { state })?;
        let mut workflows = BTreeMap::new();
        for wf in e.workflows() {
            workflows.insert(wf.name.clone(), json!({"stage": wf.stage, "burn_in": e.burn_in(wf)?}));
        }
        let now = jiff::Timestamp::now();
        let items: Vec<Json> = all
            .into_iter()
            .filter(|i| state != Some("open") || i.item.state != "decided")
            .filter(|i| blank(&q.severity).is_none_or(|v| i.item.severity == v))
            .filter(|i| blank(&q.route).is_none_or(|v| i.route.as_deref() == Some(v)))
            .filter(|i| blank(&q.workflow).is_none_or(|v| i.item.workflow == v))
            .map(|i| {
                let age = now.duration_since(i.item.created_at).as_secs_f64();
                json!({
                    "alert_id": i.item.alert_id,
                    "workflow": i.item.workflow,
                    "wf": workflows.get(&i.item.workflow),
                    "state": i.item.state,
                    "assignee": i.item.assignee,
                    "severity": i.item.severity,
                    "age": charts::minutes(age),
                    "priority": format!("{:.1}", i.priority),
                    "route": i.route,
                    "ai_verdict": i.ai_verdict.map(|v| v.as_str()),
                    "ai_confidence": i.ai_confidence,
                    "summary": i.summary.map(|s| truncate(s.lines().next().unwrap_or_default(), 140)),
                })
            })
            .collect();
        let filter = json!({"state": q.state.clone().unwrap_or_else(|| "open".into()), "severity": q.severity, "route": q.route, "workflow": q.workflow});
        // The filters as a query string, for the page links.
        let query: String = [("state", &q.state), ("severity", &q.severity), ("route", &q.route), ("workflow", &q.workflow)]
            .iter()
            .filter_map(|(k, v)| blank(v).map(|v| format!("{k}={}&", encode_path(v))))
            .collect();
        let total = items.len();
        let pages = total.div_ceil(QUEUE_PAGE).max(1);
        let page = q.page.unwrap_or(1).clamp(1, pages);
        let items: Vec<Json> = items.into_iter().skip((page - 1) * QUEUE_PAGE).take(QUEUE_PAGE).collect();
        let pager = json!({"page": page, "pages": pages, "total": total, "query": query,
                           "first": (page - 1) * QUEUE_PAGE + 1, "last": ((page - 1) * QUEUE_PAGE + items.len())});
        Ok(render(
            StatusCode::OK,
            "queue.html",
            json!({"me": me(who, sess), "items": items, "filter": filter, "pager": pager,
                   "workflows": workflows.keys().collect::<Vec<_>>(),
                   "severities": warden_core::Severity::ALL.iter().rev().map(|v| v.as_str()).collect::<Vec<_>>(),
                   "routes": warden_core::RouteKind::ALL.iter().rev().map(|v| v.as_str()).collect::<Vec<_>>()}),
            BTreeMap::new(),
        ))
    })
    .await
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

#[derive(Deserialize, Default)]
struct Notice {
    #[serde(default)]
    done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "decision" => Some("Decision recorded."),
        "claimed" => Some("The alert is yours to review."),
        "action" => Some("Action requested."),
        "approved" => Some("Approval recorded."),
        "rejected" => Some("Request rejected."),
        "stop" => Some("Stop switch changed."),
        _ => None,
    }
}

fn action_json(r: &warden_govern::ActionRequest, who: &Identity) -> Json {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    v["still_needed"] = json!(warden_govern::gate::still_needed(r));
    let empty = r.params.is_null() || r.params.as_object().is_some_and(|o| o.is_empty());
    v["params_text"] = json!(if empty { String::new() } else { r.params.to_string() });
    v["mine"] = json!(r.requester == who.user);
    v["approved_by_me"] = json!(r.approvals.iter().any(|a| a.user == who.user));
    v["may_approve"] = json!(who.can(Permission::to_approve(r.tier)));
    v
}

async fn alert(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Response {
    let here = format!("/alerts/{id}");
    page(s, headers, here, move |e, who, sess| {
        let v = e.alert_view(who, &id)?;
        let cited: BTreeMap<&str, bool> = v
            .assessment
            .iter()
            .flat_map(|a| a.evidence.iter())
            .zip(v.evidence_verified.iter())
            .map(|(ev, ok)| (ev.path.as_str(), *ok))
            .collect();
        let fields: Vec<Json> = v
            .alert
            .fields
            .iter()
            .map(|(path, value)| {
                json!({"path": path, "value": value.to_string(), "cited": cited.contains_key(path), "verified": cited.get(path).copied().unwrap_or(false)})
            })
            .collect();
        let evidence: Vec<Json> = v
            .assessment
            .iter()
            .flat_map(|a| a.evidence.iter())
            .zip(v.evidence_verified.iter())
            .map(|(ev, ok)| json!({"path": ev.path, "value": ev.value.to_string(), "note": ev.note, "verified": ok}))
            .collect();
        let actions: Vec<Json> = v.actions.iter().map(|r| action_json(r, who)).collect();
        let matrix = e.risk_matrix()?;
        let ctx = json!({
            "me": me(who, sess),
            "notice": notice(n.done.as_deref()),
            "id": v.alert.id.as_str(),
            "alert": {"format": v.alert.format.as_str(), "received_at": v.alert.received_at.to_string(),
                       "observed_at": v.alert.observed_at.map(|t| t.to_string()), "source": v.alert.origin.file},
            "assessment": v.assessment,
            "validation": v.validation,
            "route": v.route,
            "workflow": v.workflow,
            "techniques": v.techniques,
            "fields": fields,
            "evidence": evidence,
            "decisions": v.decisions,
            "review": v.review,
            "actions": actions,
            "verdicts": Verdict::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
            "reason_codes": ReasonCode::ALL,
            "action_kinds": ActionKind::ALL.iter().map(|k| json!({"name": k.as_str(), "tier": matrix.tier(*k).as_str()})).collect::<Vec<_>>(),
        });
        Ok(render(StatusCode::OK, "alert.html", ctx, BTreeMap::new()))
    })
    .await
}

async fn claim(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        e.claim(who, &id)?;
        Ok(see_other(&format!("/alerts/{id}?done=claimed")))
    })
    .await
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    techniques: String,
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    rating: String,
}

async fn decide(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let verdict: Verdict = f
            .verdict
            .parse()
            .map_err(|_| UiError::Bad("Choose a verdict: malicious, suspicious, benign or unknown.".into()))?;
        let techniques = if f.techniques.trim().is_empty() {
            None
        } else {
            Some(
                f.techniques
                    .split([',', ' ', ';'])
                    .filter(|t| !t.is_empty())
                    .map(|t| TechniqueId::parse(t.trim()).map_err(|e| UiError::Bad(e.to_string())))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        };
        let reason_code = match f.reason_code.as_str() {
            "" => None,
            c => Some(
                serde_json::from_value::<ReasonCode>(json!(c))
                    .map_err(|_| UiError::Bad(format!("unknown reason code {c:?}")))?,
            ),
        };
        let rating = match f.rating.as_str() {
            "" => None,
            r => Some(r.parse::<u8>().map_err(|_| UiError::Bad("Rate from 1 to 5.".into()))?),
        };
        e.decide(who, &id, DecisionInput { verdict, techniques, reason_code, comment: f.comment, rating })?;
        Ok(see_other(&format!("/alerts/{id}?done=decision")))
    })
    .await
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    alert_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    params: String,
}

async fn request_action(State(s): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<ActionForm>) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let kind: ActionKind = f.action.parse().map_err(|e: warden_core::VocabError| UiError::Bad(e.to_string()))?;
        let params = if f.params.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&f.params)
                .map_err(|e| UiError::Bad(format!("Parameters must be a JSON object: {e}")))?
        };
        let alert_id = Some(f.alert_id.clone()).filter(|a| !a.is_empty());
        e.request_action(
            who,
            warden_engine::actions::ActionInput {
                alert_id: alert_id.clone(),
                kind,
                params,
                reason: f.reason,
                draft: false,
            },
        )?;
        Ok(see_other(&match alert_id {
            Some(a) => format!("/alerts/{a}?done=action"),
            None => "/approvals?done=action".into(),
        }))
    })
    .await
}

// ---- approvals ---------------------------------------------------------

async fn approvals(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(n): Query<Notice>) -> Response {
    page(s, headers, "/approvals".into(), move |e, who, sess| {
        let pending: Vec<Json> =
            e.actions_seen_by(who, Some(RequestStatus::Pending))?.iter().map(|r| action_json(r, who)).collect();
        let recent: Vec<Json> = e
            .actions_seen_by(who, None)?
            .iter()
            .filter(|r| r.status != RequestStatus::Pending)
            .take(20)
            .map(|r| action_json(r, who))
            .collect();
        Ok(render(
            StatusCode::OK,
            "approvals.html",
            json!({"me": me(who, sess), "notice": notice(n.done.as_deref()), "pending": pending, "recent": recent}),
            BTreeMap::new(),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct ApprovalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    text: Option<String>,
}

async fn approve(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ApprovalForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        let req = e.action(who, &id)?;
        if req.tier >= warden_core::RiskTier::High && f.reason.trim().is_empty() {
            return Err(UiError::Bad(format!("A {} action needs a written reason to approve.", req.tier)));
        }
        let text = f.text.filter(|t| !t.trim().is_empty());
        e.approve_action(who, &id, &f.reason, text)?;
        Ok(see_other("/approvals?done=approved"))
    })
    .await
}

async fn reject(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<ApprovalForm>,
) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        if f.reason.trim().is_empty() {
            return Err(UiError::Bad("Say why the request is rejected.".into()));
        }
        e.reject_action(who, &id, &f.reason)?;
        Ok(see_other("/approvals?done=rejected"))
    })
    .await
}

// ---- dashboards --------------------------------------------------------

async fn dashboards(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(s, headers, "/dashboards".into(), move |e, who, sess| {
        who.authorize(Permission::Review, "see the dashboards").map_err(EngineError::from)?;
        let q = e.quality(None)?;
        let impact = e.impact(None)?;
        let bins: Vec<charts::Bin> = q
            .reliability
            .iter()
            .map(|b| charts::Bin {
                confidence: b.mean_confidence,
                accuracy: b.accuracy,
                n: b.n,
                sufficient: b.sufficient,
            })
            .collect();
        let tactics: Vec<(String, f64, usize)> = q.per_tactic.iter().map(|(t, r)| (t.clone(), r.recall, r.n)).collect();
        let weeks: Vec<String> = impact.weeks.iter().map(|w| w.week.clone()).collect();
        let triage: Vec<(String, f64, f64)> = ["critical", "high", "medium", "low", "info"]
            .iter()
            .filter_map(|sev| impact.with_ai.time_to_triage.get(*sev).map(|p| ((*sev).to_owned(), p.p50, p.p90)))
            .collect();
        let matrix = e.coverage_matrix()?;
        let columns: Vec<(&str, Vec<charts::Cell>)> = matrix
            .iter()
            .map(|c| {
                (
                    c.tactic.as_str(),
                    c.cells
                        .iter()
                        .map(|x| charts::Cell {
                            id: &x.id,
                            name: &x.name,
                            state: x.state,
                            attacks: x.attacks,
                            caught: x.caught,
                        })
                        .collect(),
                )
            })
            .collect();
        let mut svg = BTreeMap::new();
        svg.insert("reliability", charts::reliability(&bins));
        svg.insert("tactics", charts::bars("Recall per ATT&CK tactic on decided attacks", &tactics));
        svg.insert(
            "weeks",
            charts::lines(
                "Acceptance and override rate per week",
                &weeks,
                &[
                    ("acceptance", impact.weeks.iter().map(|w| w.acceptance_rate).collect()),
                    ("override", impact.weeks.iter().map(|w| w.override_rate).collect()),
                ],
            ),
        );
        svg.insert("triage", charts::durations("Time to triage per severity (with AI)", &triage));
        svg.insert("coverage", charts::heat_map(&columns));
        let blind_spots = e.blind_spots(None)?;
        let per_analyzer = e.acceptance_by_analyzer()?;
        let ctx = json!({
            "me": me(who, sess),
            "blind_spots": blind_spots,
            "per_analyzer": per_analyzer,
            "q": {"n": q.n, "precision": q.precision, "recall": q.recall, "f1": q.f1, "ece": q.ece, "brier": q.brier,
                  "acceptance_rate": q.acceptance_rate, "override_rate": q.override_rate,
                  "ai_benign_human_malicious": q.ai_benign_human_malicious},
            "impact": {"alerts_total": impact.alerts_total, "routes": impact.routes, "decided": impact.with_ai.decided},
        });
        Ok(render(StatusCode::OK, "dashboards.html", ctx, svg))
    })
    .await
}

// ---- audit -------------------------------------------------------------

async fn audit(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    page(s, headers, "/audit".into(), move |e, who, sess| {
        who.authorize(Permission::ReadAudit, "read the audit trail").map_err(EngineError::from)?;
        let checkpoint = e.latest_checkpoint()?;
        let verify = crate::api::audit_status(e)?;
        let ctx = json!({"me": me(who, sess), "checkpoint": checkpoint, "verify": verify, "public_key": e.audit_public_key()});
        Ok(render(StatusCode::OK, "audit.html", ctx, BTreeMap::new()))
    })
    .await
}

#[derive(Deserialize)]
struct BundleQuery {
    #[serde(default)]
    alert: String,
}

async fn bundle(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<BundleQuery>) -> Response {
    page(s, headers, "/audit".into(), move |e, who, _| {
        let id = warden_core::AlertId::parse(q.alert.trim())
            .ok_or_else(|| UiError::Bad(format!("{:?} is not an alert id", q.alert)))?;
        let doc = e.evidence_bundle(who, id.as_str())?;
        let body = serde_json::to_vec_pretty(&doc).map_err(|e| UiError::Bad(e.to_string()))?;
        Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"evidence-{}.json\"", id.as_str())),
            ],
            body,
        )
            .into_response())
    })
    .await
}

// ---- settings ----------------------------------------------------------

async fn settings(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(n): Query<Notice>) -> Response {
    page(s, headers, "/settings".into(), move |e, who, sess| {
        let c = e.config();
        let mut workflows = Vec::new();
        for wf in e.workflows() {
            workflows.push(json!({
                "name": wf.name, "stage": wf.stage, "burn_in": e.burn_in(wf)?, "burn_in_days": wf.burn_in_days,
                "threshold": wf.confidence_threshold, "qa_sample_rate": wf.qa_sample_rate, "analyzer": wf.analyzer,
                "blind_first_look": wf.blind_first_look,
            }));
        }
        let matrix = e.risk_matrix()?;
        let tiers: Vec<Json> =
            ActionKind::ALL.iter().map(|k| json!({"action": k.as_str(), "tier": matrix.tier(*k).as_str()})).collect();
        let mut providers = vec![json!({"name": "local", "residency": "on_prem", "model": "built-in analyzer", "classes": {}})];
        for (name, p) in &c.providers {
            providers.push(json!({"name": name, "residency": p.residency, "model": p.model, "base_url": p.base_url, "classes": p.classes, "unclassified": p.unclassified}));
        }
        let register = e.store().register().map_err(EngineError::from)?;
        let switches = e.switches()?;
        let ctx = json!({
            "me": me(who, sess),
            "notice": notice(n.done.as_deref()),
            "policy_version": e.policy_version(),
            "govern": c.govern,
            "workflows": workflows,
            "tiers": tiers,
            "providers": providers,
            "register": register,
            "switches": switches,
            "stopped": e.stopped()?,
        });
        Ok(render(StatusCode::OK, "settings.html", ctx, BTreeMap::new()))
    })
    .await
}

#[derive(Deserialize)]
struct StopForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    reason: String,
}

async fn stop(State(s): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<StopForm>) -> Response {
    form(s, headers, f.csrf.clone(), move |e, who, _| {
        if f.reason.trim().is_empty() {
            return Err(UiError::Bad("Say why the stop switch changes.".into()));
        }
        e.set_stop(who, None, f.on == "true", &f.reason)?;
        Ok(see_other("/settings?done=stop"))
    })
    .await
}
