//! Browser sessions and login throttling, kept in the server's memory.
//!
//! A session is a random 256-bit id handed to the browser in a `Secure`,
//! `HttpOnly`, `SameSite=Strict` cookie; the server keeps only its SHA-256,
//! with the user name and the session's CSRF token. Sessions end after
//! [`IDLE`] without a request or [`ABSOLUTE`] after login, at logout, and
//! when the server restarts. The user's roles are re-read from the store on
//! every request, so a disabled account or a removed role takes effect at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(60 * 60);
/// A session ends this long after login, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// Failed logins for one user name before that name is locked out.
pub const MAX_FAILURES: u32 = 5;
/// Failed logins from one address before the address is locked out: higher,
/// because many people may sign in through one proxy or NAT, and a few
/// mistyped passwords there must not lock everyone out.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// Failures older than this are forgotten.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a lockout lasts; it doubles with every further failure, up to a day.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

pub const COOKIE: &str = "warden_session";
/// Holds the token the login form must echo (login CSRF, before any session).
pub const LOGIN_COOKIE: &str = "warden_login";

#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
}

#[derive(Debug, Default)]
struct Failures {
    count: u32,
    last: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Sessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Sessions {
    /// Starts a session for `user`; returns the cookie value (the only copy of the id).
    pub fn start(&self, user: &str) -> anyhow::Result<String> {
        let id = random_hex(32)?;
        let now = Instant::now();
        let s = Session { user: user.to_owned(), csrf: random_hex(32)?, created: now, last_seen: now };
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, s| fresh(s, now));
        live.insert(digest(&id), s);
        Ok(id)
    }

    /// The live session behind a cookie value, touched.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let key = digest(id);
        let s = live.get_mut(&key)?;
        if !fresh(s, now) {
            live.remove(&key);
            return None;
        }
        s.last_seen = now;
        Some(s.clone())
    }

    pub fn end(&self, id: &str) {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).remove(&digest(id));
    }

    /// When a login for this key (a user name or an address) may be tried
    /// again, if it is locked out now after `max` failures.
    pub fn locked_for(&self, key: &str, max: u32) -> Option<Duration> {
        let f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let f = f.get(key)?;
        let last = f.last?;
        if f.count < max {
            return None;
        }
        let extra = (f.count - max).min(7);
        let lock = (LOCKOUT * 2u32.pow(extra)).min(Duration::from_secs(24 * 3600));
        lock.checked_sub(last.elapsed())
    }

    pub fn failed(&self, key: &str) {
        let now = Instant::now();
        let mut all = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, f| f.last.is_some_and(|l| now.duration_since(l) < Duration::from_secs(24 * 3600)));
        let f = all.entry(key.to_owned()).or_default();
        // Failures older than the window are forgotten, unless they already locked the key.
        if f.last.is_some_and(|l| now.duration_since(l) > FAILURE_WINDOW) && f.count < MAX_FAILURES {
            f.count = 0;
        }
        f.count += 1;
        f.last = Some(now);
    }

    pub fn succeeded(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

fn fresh(s: &Session, now: Instant) -> bool {
    now.duration_since(s.last_seen) < IDLE && now.duration_since(s.created) < ABSOLUTE
}

fn digest(id: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(id.as_bytes()).into()
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

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_at_logout() {
        let s = Sessions::default();
        let id = s.start("ana").unwrap();
        assert_eq!(s.get(&id).unwrap().user, "ana");
        assert!(s.get("not-a-session").is_none());
        s.end(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn five_failures_lock_a_key_out_and_success_clears_it() {
        let s = Sessions::default();
        for _ in 0..MAX_FAILURES - 1 {
            s.failed("ana");
        }
        assert!(s.locked_for("ana", MAX_FAILURES).is_none());
        s.failed("ana");
        let left = s.locked_for("ana", MAX_FAILURES).unwrap();
        assert!(left > LOCKOUT - Duration::from_secs(5) && left <= LOCKOUT);
        s.failed("ana");
        assert!(s.locked_for("ana", MAX_FAILURES).unwrap() > LOCKOUT, "a further failure lengthens the lockout");
        assert!(s.locked_for("ana", MAX_FAILURES_PER_ADDRESS).is_none(), "an address tolerates more");
        assert!(s.locked_for("bob", MAX_FAILURES).is_none());
        s.succeeded("ana");
        assert!(s.locked_for("ana", MAX_FAILURES).is_none());
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
