//! A new identity typed into a form (joining, founding): the checks of its login, name,
//! place and passphrase, and a fresh key sealed by that passphrase into an account.

use maillon_protocol::{SecretKey, Timestamp};

use super::blocking;
use crate::backend::{Account, BackendError};
use crate::error::AppError;
use crate::keys::{self, KdfParams, KeyError};
use crate::places::Place;
use crate::session::Lang;

/// What the person typed.
pub struct IdentityInput<'a> {
    /// The login.
    pub login: &'a str,
    /// The name members know them by.
    pub name: &'a str,
    /// A postcode or a commune.
    pub place: &'a str,
    /// The passphrase.
    pub passphrase: &'a str,
    /// The passphrase again.
    pub confirm: &'a str,
}

/// Messages next to the identity's fields.
#[derive(Clone, Debug, Default)]
pub struct IdentityErrors {
    /// Next to the login.
    pub login: Option<String>,
    /// Next to the name.
    pub name: Option<String>,
    /// Next to the place.
    pub place: Option<String>,
    /// Next to the passphrase.
    pub passphrase: Option<String>,
    /// Next to its confirmation.
    pub confirm: Option<String>,
}

impl IdentityErrors {
    /// Whether any field is wrong.
    pub fn any(&self) -> bool {
        self.login.is_some()
            || self.name.is_some()
            || self.place.is_some()
            || self.passphrase.is_some()
            || self.confirm.is_some()
    }
}

/// The identity, checked.
pub struct Identity {
    /// The login, lower-cased.
    pub login: String,
    /// The name, trimmed.
    pub name: String,
    /// The place found.
    pub place: Place,
}

/// A login: 3 to 32 of a-z, 0-9, dot, dash, underscore, lowercased.
pub fn normalise_login(text: &str) -> Option<String> {
    let login = text.trim().to_lowercase();
    let ok = (3..=32).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    ok.then_some(login)
}

/// Checks every field; the identity only when all are right.
pub fn check(input: &IdentityInput<'_>, l: Lang) -> (IdentityErrors, Option<Identity>) {
    let mut e = IdentityErrors::default();
    let login = normalise_login(input.login);
    if login.is_none() {
        e.login = Some(l.pick("Choisissez un identifiant de 3 à 32 caractères : lettres sans accent, chiffres, point ou tiret.", "Choose a login of 3 to 32 characters: unaccented letters, digits, dot or dash.").into());
    }
    let name = input.name.trim().to_string();
    if !(2..=60).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        e.name = Some(
            l.pick(
                "Écrivez votre nom tel que les membres vous connaissent (2 à 60 caractères).",
                "Write your name as members know you (2 to 60 characters).",
            )
            .into(),
        );
    }
    let place = crate::form_text::place(input.place, l)
        .map_err(|m| e.place = Some(m))
        .ok();
    match keys::check_new_passphrase(input.passphrase) {
        Err(KeyError::PassphraseTooShort) => e.passphrase = Some(l.pick("La phrase de passe doit avoir au moins 10 caractères. Une petite phrase facile à retenir convient bien.", "The passphrase needs at least 10 characters. A short sentence you remember works well.").into()),
        Err(_) => e.passphrase = Some(l.pick("La phrase de passe est trop longue.", "The passphrase is too long.").into()),
        Ok(()) if input.confirm != input.passphrase => e.confirm = Some(l.pick("Les deux phrases de passe ne sont pas identiques.", "The two passphrases differ.").into()),
        Ok(()) => {}
    }
    match (e.any(), login, place) {
        (false, Some(login), Some(place)) => (e, Some(Identity { login, name, place })),
        _ => (e, None),
    }
}

/// A fresh key and the account holding it sealed by `passphrase` (sealing runs off the
/// async threads: it is slow on purpose).
pub async fn new_account(
    login: &str,
    passphrase: &str,
    kdf: KdfParams,
    now: Timestamp,
) -> Result<(SecretKey, Account), AppError> {
    let secret = keys::generate_key().map_err(|e| BackendError(e.to_string()))?;
    let (passphrase, sealing) = (passphrase.to_string(), secret.clone());
    let sealed = blocking(move || keys::seal(&sealing, &passphrase, kdf))
        .await?
        .map_err(|e| BackendError(e.to_string()))?;
    let account = Account {
        login: login.to_string(),
        key: secret.public_key(),
        sealed_key: sealed,
        created: now,
        notifications_seen: now,
        saved_searches: Vec::new(),
        pending_recovery: None,
        donation_reminder_dismissed_ms: 0,
    };
    Ok((secret, account))
}
