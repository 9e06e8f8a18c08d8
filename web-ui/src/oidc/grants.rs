//! What the provider remembers between the steps of a sign-in, in memory and bounded:
//! authorization requests waiting for the member's consent, codes waiting to be exchanged,
//! and access tokens. Each entry has an expiry; a code is taken once.

use std::collections::HashMap;
use std::sync::Mutex;

use maillon_protocol::{PublicKey, Timestamp};

use super::{random_token, Shared, ACCESS_TOKEN_LIFETIME_MS, CODE_LIFETIME_MS};

/// Entries of each kind at most: past this, new requests are refused until some expire.
const MAX_ENTRIES: usize = 10_000;

/// An authorization request, checked, waiting for the member's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The client.
    pub client_id: String,
    /// Where to send the answer.
    pub redirect_uri: String,
    /// The site's `state`, returned as is.
    pub state: Option<String>,
    /// The site's `nonce`, put in the ID token.
    pub nonce: Option<String>,
    /// The PKCE challenge (S256).
    pub code_challenge: String,
    /// The member the site asks the trust distance to, if any.
    pub distance_to: Option<PublicKey>,
}

/// A code given to a site, for one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeGrant {
    /// The request it answers.
    pub request: Pending,
    /// The member who accepted.
    pub member: PublicKey,
    /// What they agreed to share.
    pub shared: Shared,
}

/// An access token's grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessGrant {
    /// The client.
    pub client_id: String,
    /// The member.
    pub member: PublicKey,
    /// What they agreed to share.
    pub shared: Shared,
    /// The member the site asked the trust distance to.
    pub distance_to: Option<PublicKey>,
}

/// Entries by random token, each with its expiry.
#[derive(Debug)]
struct Expiring<T> {
    entries: HashMap<String, (Timestamp, T)>,
}

impl<T: Clone> Expiring<T> {
    fn new() -> Self {
        Expiring {
            entries: HashMap::new(),
        }
    }

    fn insert(&mut self, value: T, now: Timestamp, lifetime_ms: u64) -> Option<String> {
        self.entries.retain(|_, (expires, _)| *expires > now);
        if self.entries.len() >= MAX_ENTRIES {
            return None;
        }
        let token = random_token(24);
        self.entries
            .insert(token.clone(), (now.plus_ms(lifetime_ms), value));
        Some(token)
    }

    fn take(&mut self, token: &str, now: Timestamp) -> Option<T> {
        let (expires, value) = self.entries.remove(token)?;
        (expires > now).then_some(value)
    }

    fn get(&self, token: &str, now: Timestamp) -> Option<T> {
        let (expires, value) = self.entries.get(token)?;
        (*expires > now).then(|| value.clone())
    }
}

/// The provider's memory.
#[derive(Debug)]
pub struct Grants {
    pending: Mutex<Expiring<Pending>>,
    codes: Mutex<Expiring<CodeGrant>>,
    tokens: Mutex<Expiring<AccessGrant>>,
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            pending: Mutex::new(Expiring::new()),
            codes: Mutex::new(Expiring::new()),
            tokens: Mutex::new(Expiring::new()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Grants {
    /// Keeps a request for the consent page; its id, or `None` when full.
    pub fn hold(&self, request: Pending, now: Timestamp) -> Option<String> {
        lock(&self.pending).insert(request, now, CODE_LIFETIME_MS)
    }

    /// A request waiting for consent.
    pub fn pending(&self, id: &str, now: Timestamp) -> Option<Pending> {
        lock(&self.pending).get(id, now)
    }

    /// Ends a request (answered).
    pub fn answer(&self, id: &str, now: Timestamp) -> Option<Pending> {
        lock(&self.pending).take(id, now)
    }

    /// Gives a code for an accepted request.
    pub fn code(&self, grant: CodeGrant, now: Timestamp) -> Option<String> {
        lock(&self.codes).insert(grant, now, CODE_LIFETIME_MS)
    }

    /// Takes a code: a second use finds nothing.
    pub fn redeem(&self, code: &str, now: Timestamp) -> Option<CodeGrant> {
        lock(&self.codes).take(code, now)
    }

    /// Gives an access token.
    pub fn access_token(&self, grant: AccessGrant, now: Timestamp) -> Option<String> {
        lock(&self.tokens).insert(grant, now, ACCESS_TOKEN_LIFETIME_MS)
    }

    /// What an access token grants, while it lives.
    pub fn access(&self, token: &str, now: Timestamp) -> Option<AccessGrant> {
        lock(&self.tokens).get(token, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Pending {
        Pending {
            client_id: "site-a".into(),
            redirect_uri: "https://a.fr/cb".into(),
            state: None,
            nonce: None,
            code_challenge: "c".into(),
            distance_to: None,
        }
    }

    #[test]
    fn a_code_is_taken_once_and_only_before_it_expires() {
        let grants = Grants::default();
        let now = Timestamp(1_000_000);
        let grant = CodeGrant {
            request: request(),
            member: PublicKey([1; 32]),
            shared: Shared::default(),
        };
        let code = grants.code(grant.clone(), now).expect("room");
        assert_eq!(grants.redeem(&code, now), Some(grant.clone()));
        assert_eq!(grants.redeem(&code, now), None, "single use");
        let late = grants.code(grant, now).expect("room");
        assert_eq!(grants.redeem(&late, now.plus_ms(CODE_LIFETIME_MS)), None);
        let held = grants.hold(request(), now).expect("room");
        assert!(grants.pending(&held, now).is_some());
        assert!(grants.answer(&held, now).is_some());
        assert!(grants.pending(&held, now).is_none());
    }
}
