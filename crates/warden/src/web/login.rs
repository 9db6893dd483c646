//! Signing in and out: the sign-in form with its own CSRF token, password
//! checks with throttling per user name and per address, the session cookie.

use super::*;
use session::LOGIN_COOKIE;

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/login/oidc", get(oidc_start))
        .route("/login/oidc/callback", get(oidc_callback))
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only a path on this server, so the login page cannot be used to send
/// people elsewhere: one leading `/` (not `//`), and nothing but the
/// characters Warden's own paths and queries use. Browsers drop tabs and
/// line breaks from URLs (`/\t/evil.example` is `//evil.example` to them)
/// and a CR or LF would split the `Location` header, so control characters,
/// spaces and backslashes are refused outright, not cleaned up.
fn local_next(next: Option<&str>) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/-._~?=&%+:,".contains(c);
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && n.chars().all(allowed) => n.to_owned(),
        _ => "/queue".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn open_redirect_after_sign_in_via_tab_or_crlf_is_refused() {
        for hostile in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "/ /evil.example",
            "queue",
            "/\u{0}x",
        ] {
            assert_eq!(local_next(Some(hostile)), "/queue", "{hostile:?}");
        }
        for fine in ["/queue", "/alerts/al-40de2e5cacf3196a5da9", "/queue?state=open&severity=high", "/audit"] {
            assert_eq!(local_next(Some(fine)), fine);
        }
        assert_eq!(local_next(None), "/queue");
    }
}

fn login_form(s: &AppState, headers: &HeaderMap, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let Ok(token) = session::random_hex(32) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no randomness").into_response();
    };
    let sso =
        s.engine.config().oidc.issuer.is_some().then(|| {
            format!("/login/oidc?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())
        });
    let mut r =
        render(status, "login.html", json!({"csrf": token, "next": next, "error": error, "sso": sso}), BTreeMap::new());
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

/// The cookie that carries a single sign-on in progress (state, nonce, PKCE verifier), sealed.
const OIDC_COOKIE: &str = "warden_oidc";

#[derive(Deserialize)]
struct OidcCallback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// Sends the browser to the identity provider.
async fn oidc_start(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let next = local_next(q.next.as_deref());
    let st = s.clone();
    match blocking(move || anyhow::Ok(st.engine.oidc_start(&next)?)).await {
        Ok(Ok(start)) => {
            let mut r = see_other(&start.authorize_url);
            let c = session::set_cookie(
                OIDC_COOKIE,
                &start.cookie,
                std::time::Duration::from_secs(600),
                secure(&s, &headers),
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Err(e)) => login_form(&s, &headers, "/queue", Some(&e.to_string()), StatusCode::SERVICE_UNAVAILABLE),
        Err(r) => r,
    }
}

/// Back from the identity provider: the code is exchanged, the ID token
/// checked, and a session started for the account it maps to.
async fn oidc_callback(State(s): State<Arc<AppState>>, headers: HeaderMap, Query(q): Query<OidcCallback>) -> Response {
    if let Some(e) = q.error {
        let msg = format!("The identity provider refused the sign-in ({e}).");
        return login_form(&s, &headers, "/queue", Some(&msg), StatusCode::UNAUTHORIZED);
    }
    let pending = session::cookie(&headers, OIDC_COOKIE).unwrap_or("").to_owned();
    let st = s.clone();
    let outcome = blocking(move || -> anyhow::Result<Result<(Identity, String, String), String>> {
        match st.engine.oidc_finish(&pending, &q.state, &q.code) {
            Ok((who, next)) => Ok(Ok((who.clone(), session::start(st.engine.store(), &who.user)?, next))),
            Err(e) => Ok(Err(e.to_string())),
        }
    })
    .await;
    let secure = secure(&s, &headers);
    match outcome {
        Ok(Ok(Ok((_, id, next)))) => {
            let mut r = see_other(&local_next(Some(&next)));
            for c in [
                session::set_cookie(COOKIE, &id, session::ABSOLUTE, secure),
                session::set_cookie(OIDC_COOKIE, "", std::time::Duration::ZERO, secure),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    r.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            r
        }
        Ok(Ok(Err(why))) => login_form(&s, &headers, "/queue", Some(&why), StatusCode::UNAUTHORIZED),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "single sign-on failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log").into_response()
        }
        Err(r) => r,
    }
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
