//! Browser sessions and login throttling, kept in the store.
//!
//! A session is a random 256-bit id handed to the browser in an `HttpOnly`,
//! `SameSite=Strict` cookie (`Secure` where it can be); the store keeps only
//! its SHA-256, with the user name and the session's CSRF token, so a copy of
//! the database does not hand out sessions. Sessions end after [`IDLE`]
//! without a request or [`ABSOLUTE`] after sign-in, and at sign-out; a server
//! restart signs nobody out. The user's roles are re-read from the store on
//! every request, so a disabled account or a removed role takes effect at
//! once. Failed sign-ins are counted in the store too, so a restart forgets
//! no lockout, and `warden users unlock` can clear one.
//!
//! Every function here does blocking store calls: call them off the async
//! threads.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use warden_engine::SessionRow;
use warden_engine::{Store, StoreError};

/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(60 * 60);
/// A session ends this long after login, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// A session's last use is recorded at most this often (not on every request).
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);
/// Failed logins for one user name before that name is locked out.
pub const MAX_FAILURES: u32 = 5;
/// Failed logins from one address before the address is locked out: higher,
/// because many people may sign in through one proxy or NAT, and a few
/// mistyped passwords there must not lock everyone out.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// Failures older than this are forgotten (unless they already locked the key).
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a lockout lasts; it doubles with every further failure, up to a day.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

pub const COOKIE: &str = "warden_session";
/// Holds the token the login form must echo (login CSRF, before any session).
pub const LOGIN_COOKIE: &str = "warden_login";

/// The throttling key for a user name (names compare case-insensitively).
pub fn user_key(name: &str) -> String {
    format!("user:{}", name.trim().to_lowercase())
}

/// The throttling key for a client address.
pub fn addr_key(ip: std::net::IpAddr) -> String {
    format!("addr:{ip}")
}

/// A live session: whose, and the token its forms carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub csrf: String,
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// Starts a session for `user`; returns the cookie value (the only copy of the id).
pub fn start(store: &dyn Store, user: &str) -> anyhow::Result<String> {
    let id = random_hex(32)?;
    let now = Timestamp::now();
    // Stale sessions go whenever a new one starts, so the table stays small.
    store.purge_sessions(now - signed(IDLE), now - signed(ABSOLUTE))?;
    store.put_session(&SessionRow {
        id_hash: digest(&id),
        user: user.to_owned(),
        csrf: random_hex(32)?,
        created_at: now,
        last_seen: now,
    })?;
    Ok(id)
}

/// The live session behind a cookie value, its use recorded.
pub fn get(store: &dyn Store, id: &str) -> Result<Option<Session>, StoreError> {
    let key = digest(id);
    let Some(s) = store.session(&key)? else { return Ok(None) };
    let now = Timestamp::now();
    let fresh = now.duration_since(s.last_seen) < signed(IDLE) && now.duration_since(s.created_at) < signed(ABSOLUTE);
    if !fresh {
        store.end_sessions(Some(&key), None)?;
        return Ok(None);
    }
    if now.duration_since(s.last_seen) > TOUCH_EVERY {
        store.touch_session(&key, now)?;
    }
    Ok(Some(Session { user: s.user, csrf: s.csrf }))
}

pub fn end(store: &dyn Store, id: &str) -> Result<(), StoreError> {
    store.end_sessions(Some(&digest(id)), None).map(|_| ())
}

/// How long until a login for this key (a user name or an address) may be
/// tried again, if it is locked out now after `max` failures.
pub fn locked_for(store: &dyn Store, key: &str, max: u32) -> Result<Option<Duration>, StoreError> {
    let Some((count, last)) = store.login_failures(key)? else { return Ok(None) };
    if count < max {
        return Ok(None);
    }
    let lock = (LOCKOUT * 2u32.pow((count - max).min(7))).min(Duration::from_secs(24 * 3600));
    let elapsed = Timestamp::now().duration_since(last);
    Ok(signed(lock).checked_sub(elapsed).filter(|d| d.is_positive()).and_then(|d| Duration::try_from(d).ok()))
}

pub fn failed(store: &dyn Store, key: &str) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let count = match store.login_failures(key)? {
        // Failures older than the window are forgotten, unless they already locked the key.
        Some((n, last)) if now.duration_since(last) > signed(FAILURE_WINDOW) && n < MAX_FAILURES => 1,
        Some((n, _)) => n.saturating_add(1),
        None => 1,
    };
    store.set_login_failures(key, Some((count, now)))
}

pub fn succeeded(store: &dyn Store, key: &str) -> Result<(), StoreError> {
    store.set_login_failures(key, None)
}

fn digest(id: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn random_hex(n: usize) -> anyhow::Result<String> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Set-Cookie` value for a session cookie (or, with `max_age` zero, its removal).
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> warden_engine::Engine {
        warden_engine::Engine::in_memory(warden_engine::Config::default()).unwrap()
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_at_logout() {
        let e = engine();
        let id = start(e.store(), "ana").unwrap();
        assert_eq!(get(e.store(), &id).unwrap().unwrap().user, "ana");
        assert!(get(e.store(), "not-a-session").unwrap().is_none());
        assert!(e.store().session(&id).unwrap().is_none(), "the store holds only the id's hash");
        end(e.store(), &id).unwrap();
        assert!(get(e.store(), &id).unwrap().is_none());
    }

    #[test]
    fn stale_sessions_end() {
        let e = engine();
        let id = start(e.store(), "ana").unwrap();
        let mut row = e.store().session(&digest(&id)).unwrap().unwrap();
        e.store().end_sessions(Some(&row.id_hash), None).unwrap();
        row.last_seen = Timestamp::now() - signed(IDLE) - SignedDuration::from_secs(1);
        e.store().put_session(&row).unwrap();
        assert!(get(e.store(), &id).unwrap().is_none(), "idle too long");
        assert!(e.store().session(&row.id_hash).unwrap().is_none(), "and removed");
    }

    #[test]
    fn five_failures_lock_a_name_out_and_success_clears_it() {
        let e = engine();
        let s = e.store();
        for _ in 0..MAX_FAILURES - 1 {
            failed(s, "ana").unwrap();
        }
        assert!(locked_for(s, "ana", MAX_FAILURES).unwrap().is_none());
        failed(s, "ana").unwrap();
        let left = locked_for(s, "ana", MAX_FAILURES).unwrap().unwrap();
        assert!(left > LOCKOUT - Duration::from_secs(5) && left <= LOCKOUT);
        failed(s, "ana").unwrap();
        assert!(locked_for(s, "ana", MAX_FAILURES).unwrap().unwrap() > LOCKOUT, "a further failure lengthens it");
        assert!(locked_for(s, "ana", MAX_FAILURES_PER_ADDRESS).unwrap().is_none(), "an address tolerates more");
        assert!(locked_for(s, "bob", MAX_FAILURES).unwrap().is_none());
        succeeded(s, "ana").unwrap();
        assert!(locked_for(s, "ana", MAX_FAILURES).unwrap().is_none());
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut h = axum::http::HeaderMap::new();
        h.append(axum::http::header::COOKIE, "a=1; warden_session=abc".parse().unwrap());
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
