//! Sign-in limits that slow a guesser without locking the member out: failures are counted
//! per client address (30 in 15 minutes by default), per login and address pair (5), and per
//! login from anywhere, which only spaces the login's attempts out (2 s, then 10 s) instead
//! of refusing them for a quarter of an hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a sign-in attempt is refused now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Too many failures from this address, or for this login from this address.
    TooManyAttempts,
    /// The login failed often lately, from anywhere: the next attempt must wait this long.
    TooSoon(Duration),
}

/// Failed sign-in attempts over a window.
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    per_login: usize,
    per_address: usize,
    window: Duration,
}

/// The spacing of a login's attempts once it has failed `per_login` times from anywhere.
pub const SPACING: Duration = Duration::from_secs(2);

/// The spacing once it has failed four times as often.
pub const LONG_SPACING: Duration = Duration::from_secs(10);

impl LoginLimiter {
    /// At most `per_login` failures per login and address pair and `per_address` per
    /// address in `window`; past `per_login` failures of a login from anywhere, its attempts
    /// are spaced out.
    pub fn new(per_login: usize, per_address: usize, window: Duration) -> LoginLimiter {
        LoginLimiter {
            failures: Mutex::new(HashMap::new()),
            per_login,
            per_address,
            window,
        }
    }

    /// The failures under `key` still in the window, oldest first.
    fn recent(&self, key: &str, now: Instant) -> Vec<Instant> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get_mut(key) {
            Some(times) => {
                times.retain(|t| now.duration_since(*t) <= self.window);
                times.clone()
            }
            None => Vec::new(),
        }
    }

    /// Whether an attempt for `login` from `address` may go ahead now.
    pub fn check(&self, login: &str, address: Option<&str>) -> Result<(), LoginRefusal> {
        let now = Instant::now();
        let address = address.unwrap_or("-");
        if self.recent(&format!("a:{address}"), now).len() >= self.per_address
            || self.recent(&pair(login, address), now).len() >= self.per_login
        {
            return Err(LoginRefusal::TooManyAttempts);
        }
        let everywhere = self.recent(&format!("l:{login}"), now);
        let spacing = match everywhere.len() {
            n if n < self.per_login => return Ok(()),
            n if n < 4 * self.per_login => SPACING,
            _ => LONG_SPACING,
        };
        let since_last = everywhere
            .last()
            .map_or(spacing, |last| now.duration_since(*last));
        match spacing.checked_sub(since_last) {
            Some(wait) if !wait.is_zero() => Err(LoginRefusal::TooSoon(wait)),
            _ => Ok(()),
        }
    }

    /// Whether an attempt may go ahead now (for single secrets such as a founding code).
    pub fn allowed(&self, login: &str, address: Option<&str>) -> bool {
        self.check(login, address).is_ok()
    }

    /// Notes a failed attempt.
    pub fn failed(&self, login: &str, address: Option<&str>) {
        let now = Instant::now();
        let address = address.unwrap_or("-");
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.retain(|_, times| times.iter().any(|t| now.duration_since(*t) <= self.window));
        }
        for key in [
            format!("l:{login}"),
            format!("a:{address}"),
            pair(login, address),
        ] {
            failures.entry(key).or_default().push(now);
        }
    }

    /// Forgets a login's failures from `address` after it signs in there; the address's
    /// own count stays, so that one right passphrase does not reset a guesser's budget.
    pub fn succeeded(&self, login: &str, address: Option<&str>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&pair(login, address.unwrap_or("-")));
        failures.remove(&format!("l:{login}"));
    }
}

fn pair(login: &str, address: &str) -> String {
    format!("p:{login}\u{0}{address}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_stops_after_its_failures_but_the_member_elsewhere_only_waits() {
        let limiter = LoginLimiter::new(3, 100, Duration::from_secs(60));
        for _ in 0..3 {
            assert_eq!(limiter.check("marie", Some("10.0.0.1")), Ok(()));
            limiter.failed("marie", Some("10.0.0.1"));
        }
        assert_eq!(
            limiter.check("marie", Some("10.0.0.1")),
            Err(LoginRefusal::TooManyAttempts)
        );
        // From elsewhere, marie is not locked out: her attempts are only spaced out.
        assert!(matches!(
            limiter.check("marie", Some("10.0.0.2")),
            Err(LoginRefusal::TooSoon(wait)) if wait <= SPACING
        ));
        assert_eq!(limiter.check("paul", Some("10.0.0.1")), Ok(()));
    }

    #[test]
    fn an_address_stops_after_its_failures_on_many_logins() {
        let limiter = LoginLimiter::new(5, 8, Duration::from_secs(60));
        for i in 0..8 {
            let login = format!("login-{}", i % 4);
            assert_eq!(limiter.check(&login, Some("6.6.6.6")), Ok(()));
            limiter.failed(&login, Some("6.6.6.6"));
        }
        assert_eq!(
            limiter.check("someone-else", Some("6.6.6.6")),
            Err(LoginRefusal::TooManyAttempts)
        );
        assert_eq!(limiter.check("someone-else", Some("10.0.0.9")), Ok(()));
    }

    #[test]
    fn the_spacing_grows_with_the_failures_and_the_window_forgets() {
        let limiter = LoginLimiter::new(2, 1000, Duration::from_millis(300));
        for i in 0..8 {
            limiter.failed("marie", Some(&format!("10.0.1.{i}")));
        }
        assert!(matches!(
            limiter.check("marie", Some("10.0.2.1")),
            Err(LoginRefusal::TooSoon(wait)) if wait > SPACING && wait <= LONG_SPACING
        ));
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(limiter.check("marie", Some("10.0.2.1")), Ok(()));
    }
}
