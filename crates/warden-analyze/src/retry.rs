//! One retry policy for every outbound HTTP call Warden makes (the
//! generative providers and the webhook executor): a bounded number of
//! further attempts on timeouts, connection errors, 429 and 5xx, with
//! exponential backoff and jitter, honouring `Retry-After` up to a cap; any
//! other answer is final.

use std::time::Duration;

/// How often and how patiently to try again.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Further attempts after the first.
    pub retries: u32,
    /// The first wait; each further one doubles (capped at 64× this).
    pub base: Duration,
    /// Up to this much random time is added to each wait.
    pub jitter: Duration,
    /// A `Retry-After` longer than this is waited for only this long.
    pub max_retry_after: Duration,
}

/// What one attempt came to.
pub enum Attempt<T> {
    /// Success: stop.
    Done(T),
    /// Worth another try (after the server's `Retry-After`, if it gave one).
    Retry { why: String, after: Option<Duration> },
    /// Final: another try would get the same answer.
    Fail(String),
}

/// The outcome and how many attempts it took.
pub struct Tried<T> {
    pub result: Result<T, String>,
    pub attempts: u32,
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` (n ≥ 1), without the server's say.
    pub fn backoff(&self, n: u32) -> Duration {
        let mut j = [0u8; 2];
        let _ = getrandom::fill(&mut j);
        let jitter_ms = self.jitter.as_millis() as u64;
        let jitter = if jitter_ms == 0 { 0 } else { u64::from(u16::from_le_bytes(j)) % jitter_ms };
        self.base * (1u32 << (n - 1).min(6)) + Duration::from_millis(jitter)
    }

    /// The wait after attempt `n` failed: the server's `Retry-After` (capped) or the backoff.
    pub fn wait(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        retry_after.map_or_else(|| self.backoff(n), |a| a.min(self.max_retry_after))
    }

    /// Runs `attempt(n)` (n from 1) until it is done, final, or out of tries.
    pub fn run<T>(&self, mut attempt: impl FnMut(u32) -> Attempt<T>) -> Tried<T> {
        let mut last = String::new();
        for n in 1..=self.retries + 1 {
            match attempt(n) {
                Attempt::Done(v) => return Tried { result: Ok(v), attempts: n },
                Attempt::Fail(why) => return Tried { result: Err(why), attempts: n },
                Attempt::Retry { why, after } => {
                    last = why;
                    if n <= self.retries {
                        std::thread::sleep(self.wait(n, after));
                    }
                }
            }
        }
        Tried {
            result: Err(format!("gave up after {} attempts: {last}", self.retries + 1)),
            attempts: self.retries + 1,
        }
    }
}

/// How an HTTP status that is not a success counts: 429 and 5xx are worth
/// another try (after `Retry-After` seconds when given), others are final.
pub fn http_failure<T>(status: u16, retry_after: Option<&str>) -> Attempt<T> {
    let why = format!("HTTP {status}");
    if status == 429 || status >= 500 {
        let after = retry_after.and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        Attempt::Retry { why, after }
    } else {
        Attempt::Fail(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            base: Duration::from_millis(1),
            jitter: Duration::ZERO,
            max_retry_after: Duration::from_millis(5),
        }
    }

    #[test]
    fn retries_until_done_and_counts_attempts() {
        let t = quick(3)
            .run(|n| if n < 3 { Attempt::Retry { why: "HTTP 503".into(), after: None } } else { Attempt::Done(n) });
        assert_eq!((t.result, t.attempts), (Ok(3), 3));
    }

    #[test]
    fn a_final_answer_is_not_retried() {
        let t: Tried<()> = quick(5).run(|_| http_failure(404, None));
        assert_eq!((t.result, t.attempts), (Err("HTTP 404".into()), 1));
    }

    #[test]
    fn it_gives_up_after_its_retries_and_says_why() {
        let t: Tried<()> = quick(2).run(|_| http_failure(429, Some("0")));
        assert_eq!(t.attempts, 3);
        assert_eq!(t.result.unwrap_err(), "gave up after 3 attempts: HTTP 429");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = quick(1);
        let Attempt::<()>::Retry { after, .. } = http_failure(503, Some("3600")) else { panic!("503 is retried") };
        assert_eq!(after, Some(Duration::from_secs(3600)));
        assert_eq!(p.wait(1, after), Duration::from_millis(5));
        assert_eq!(p.wait(1, Some(Duration::from_millis(2))), Duration::from_millis(2));
    }

    #[test]
    fn backoff_doubles() {
        let p = quick(0);
        assert_eq!(
            (p.backoff(1), p.backoff(2), p.backoff(3)),
            (Duration::from_millis(1), Duration::from_millis(2), Duration::from_millis(4))
        );
    }
}
