//! Visitors' sessions: a random id in an HttpOnly cookie, a CSRF token per session, the
//! language, and, once signed in, the member's key opened in memory (never written down).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use maillon_protocol::{PublicKey, SecretKey};

use crate::keys::random_bytes;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "maillon_session";
/// The language cookie's name.
pub const LANG_COOKIE: &str = "maillon_lang";

/// The site's languages: French first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// French, the default.
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Picks the text in this language.
    pub fn pick(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// Picks owned text in this language.
    pub fn pick_string(self, fr: String, en: String) -> String {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    /// The code for `lang` attributes and cookies.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// From a cookie value, then from an Accept-Language header.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        match cookie {
            Some("en") => return Lang::En,
            Some("fr") => return Lang::Fr,
            _ => {}
        }
        let first = accept_language
            .and_then(|header| header.split(',').next())
            .map(|tag| tag.trim().to_ascii_lowercase());
        match first {
            Some(tag) if tag.starts_with("en") => Lang::En,
            _ => Lang::Fr,
        }
    }
}

/// A member signed in: their key, opened with their passphrase, lives only here.
#[derive(Clone)]
pub struct SignedIn {
    /// The login name.
    pub login: String,
    /// The public key.
    pub key: PublicKey,
    /// The opened secret key.
    pub secret: SecretKey,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("login", &self.login)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// What a request knows about its visitor.
#[derive(Clone, Debug)]
pub struct Visitor {
    /// The session id.
    pub session: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The language.
    pub lang: Lang,
    /// The member, when signed in.
    pub user: Option<SignedIn>,
}

impl Visitor {
    /// Whether a submitted token is this session's, compared in constant time.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        let a = self.csrf.as_bytes();
        let b = submitted.as_bytes();
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

struct Entry {
    csrf: String,
    user: Option<SignedIn>,
    last_seen: Instant,
}

/// Sessions in memory, bounded in number and idle time. A restart signs everyone out, which
/// is the price of never writing an opened key to disk.
pub struct Sessions {
    entries: Mutex<HashMap<String, Entry>>,
    max_sessions: usize,
    idle: Duration,
}

impl Sessions {
    /// A store of at most `max_sessions`, each forgotten after `idle` without a request.
    pub fn new(max_sessions: usize, idle: Duration) -> Sessions {
        Sessions {
            entries: Mutex::new(HashMap::new()),
            max_sessions: max_sessions.max(1),
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves plain data behind: keep serving.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session with this id, touched; `None` if unknown or expired.
    pub fn get(&self, id: &str) -> Option<(String, Option<SignedIn>)> {
        let mut entries = self.lock();
        let now = Instant::now();
        let entry = entries.get_mut(id)?;
        if now.duration_since(entry.last_seen) > self.idle {
            entries.remove(id);
            return None;
        }
        entry.last_seen = now;
        Some((entry.csrf.clone(), entry.user.clone()))
    }

    /// A new anonymous session: its id and CSRF token.
    pub fn create(&self) -> Option<(String, String)> {
        let id = hex::encode(random_bytes::<24>().ok()?);
        let csrf = hex::encode(random_bytes::<24>().ok()?);
        let mut entries = self.lock();
        if entries.len() >= self.max_sessions {
            self.evict(&mut entries);
        }
        entries.insert(
            id.clone(),
            Entry {
                csrf: csrf.clone(),
                user: None,
                last_seen: Instant::now(),
            },
        );
        Some((id, csrf))
    }

    fn evict(&self, entries: &mut HashMap<String, Entry>) {
        let now = Instant::now();
        entries.retain(|_, e| now.duration_since(e.last_seen) <= self.idle);
        if entries.len() < self.max_sessions {
            return;
        }
        // Still full: drop the oldest tenth, anonymous sessions first.
        let mut ages: Vec<(bool, Instant, String)> = entries
            .iter()
            .map(|(id, e)| (e.user.is_some(), e.last_seen, id.clone()))
            .collect();
        ages.sort();
        for (_, _, id) in ages.into_iter().take(self.max_sessions / 10 + 1) {
            entries.remove(&id);
        }
    }

    /// Signs a member in: a new session id (against fixation) carrying the key.
    pub fn sign_in(&self, old: &str, user: SignedIn) -> Option<(String, String)> {
        let (id, csrf) = self.create()?;
        let mut entries = self.lock();
        entries.remove(old);
        if let Some(entry) = entries.get_mut(&id) {
            entry.user = Some(user);
        }
        Some((id, csrf))
    }

    /// Forgets a session.
    pub fn sign_out(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Forgets every session of a key (after a passphrase change, say), but `keep`.
    pub fn sign_out_everywhere(&self, key: &PublicKey, keep: &str) {
        self.lock()
            .retain(|id, e| id == keep || e.user.as_ref().map(|u| &u.key) != Some(key));
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub use crate::signin_limits::{LoginLimiter, LoginRefusal};

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::testkit;

    fn signed_in() -> SignedIn {
        let secret = testkit::key("marie");
        SignedIn {
            login: "marie".into(),
            key: secret.public_key(),
            secret,
        }
    }

    #[test]
    fn signing_in_replaces_the_session_id() {
        let sessions = Sessions::new(10, Duration::from_secs(60));
        let (old, _) = sessions.create().unwrap();
        let (new, csrf) = sessions.sign_in(&old, signed_in()).unwrap();
        assert_ne!(old, new);
        assert!(sessions.get(&old).is_none());
        let (found_csrf, user) = sessions.get(&new).unwrap();
        assert_eq!(found_csrf, csrf);
        assert_eq!(user.unwrap().login, "marie");
    }

    #[test]
    fn sessions_are_bounded() {
        let sessions = Sessions::new(20, Duration::from_secs(60));
        for _ in 0..100 {
            sessions.create().unwrap();
        }
        assert!(sessions.len() <= 20);
    }

    #[test]
    fn idle_sessions_expire() {
        let sessions = Sessions::new(10, Duration::from_millis(0));
        let (id, _) = sessions.create().unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn csrf_comparison_needs_the_exact_token() {
        let visitor = Visitor {
            session: "s".into(),
            csrf: "abc123".into(),
            lang: Lang::Fr,
            user: None,
        };
        assert!(visitor.csrf_matches("abc123"));
        assert!(!visitor.csrf_matches("abc124"));
        assert!(!visitor.csrf_matches(""));
    }

    #[test]
    fn french_is_the_default_language() {
        assert_eq!(Lang::negotiate(None, None), Lang::Fr);
        assert_eq!(Lang::negotiate(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr"), Some("en-GB")), Lang::Fr);
    }
}
