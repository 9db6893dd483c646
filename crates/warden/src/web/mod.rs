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
mod incidents;
mod login;
mod pages;
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
use session::{COOKIE, Session};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .merge(login::routes())
        .merge(pages::routes())
        .merge(incidents::routes())
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
            ("incidents.html", include_str!("../../templates/incidents.html")),
            ("incident.html", include_str!("../../templates/incident.html")),
            ("entity.html", include_str!("../../templates/entity.html")),
            ("approvals.html", include_str!("../../templates/approvals.html")),
            ("chat_approval.html", include_str!("../../templates/chat_approval.html")),
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

/// The wanted 1-based page of `size` items (the last one when it is past the
/// end), fetched by offset as (total, items), with the pager the templates
/// show under a list: `page`, `pages`, `total`, `first`, `last` and the
/// filters as a `query` string for the page links.
fn paged<T>(
    wanted: Option<usize>,
    size: usize,
    query: String,
    mut fetch: impl FnMut(usize) -> Result<(u64, Vec<T>), UiError>,
) -> Result<(Vec<T>, Json), UiError> {
    let wanted = wanted.unwrap_or(1).max(1);
    let (mut total, mut items) = fetch((wanted - 1) * size)?;
    let pages = (total as usize).div_ceil(size).max(1);
    if wanted > pages {
        (total, items) = fetch((pages - 1) * size)?;
    }
    let page = wanted.min(pages);
    let first = if items.is_empty() { 0 } else { (page - 1) * size + 1 };
    let pager = json!({"page": page, "pages": pages, "total": total, "query": query,
                       "first": first, "last": (page - 1) * size + items.len()});
    Ok((items, pager))
}

/// Filters as a query string for page links (`k=v&` each, blanks left out).
fn query_string(pairs: &[(&str, &Option<String>)]) -> String {
    pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| format!("{k}={}&", encode_path(v))))
        .collect()
}

/// What every page shows about the signed-in user.
fn me(e: &Engine, who: &Identity, s: &Session) -> Json {
    json!({
        // Every page says so while the stop switch is on (an unreadable switch reads as on).
        "stopped": e.stopped().unwrap_or(true),
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
        let me = me(&s.engine, &who, &sess);
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
            let me = session_of(&s.engine, &headers)
                .and_then(|(_, x)| Some(me(&s.engine, &s.engine.identity_of(&x.user).ok()?, &x)));
            return UiError::Forged.into_response(me);
        };
        let who = match s.engine.identity_of(&sess.user) {
            Ok(w) => w,
            Err(_) => return UiError::Login("/queue".into()).into_response(None),
        };
        let me = me(&s.engine, &who, &sess);
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

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}
