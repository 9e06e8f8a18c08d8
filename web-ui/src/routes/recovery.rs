//! Key recovery for a member who lost their passphrase: the node makes a new key sealed with
//! a new passphrase; the member's sponsors, each on their own node and after checking with
//! the member in person, co-sign the binding of the new key to the old identity and send
//! back a code; with enough codes the member signs the recovery record with the new key.
//! Past records still verify and trust paths are unchanged (docs/PROTOCOL.md, kind 21).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{key_binding_message, KeyRecovery};
use maillon_protocol::signature::verify;
use maillon_protocol::{Body, PublicKey, RecordId, Signature};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::join::sign_in_response;
use super::view::{named, Named};
use super::{blocking, render, render_form, require_user, sign_and_submit, V};
use crate::backend::{Backend, BackendError, PendingRecovery};
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::page::{self, Page};
use crate::session::{Lang, SignedIn, Visitor};
use crate::Shared;

#[derive(Template)]
#[template(path = "recovery.html")]
struct StartPage {
    p: Page,
    login: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_follow.html")]
struct FollowPage {
    p: Page,
    login: String,
    link: String,
    request_code: String,
    fingerprint: String,
    needed: u64,
    codes: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "recovery_sponsor.html")]
struct SponsorPage {
    p: Page,
    who: Named,
    fingerprint: String,
    hidden: Vec<(&'static str, String)>,
    code: Option<String>,
}

/// The start form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartFields {
    csrf: String,
    login: String,
    passphrase: String,
    confirm: String,
}
with_csrf!(StartFields);

fn start_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    login: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let failed = error.is_some();
    render_form(
        StartPage {
            p: state.page(visitor),
            login,
            error,
        },
        failed,
    )
}

/// `GET /recuperation`.
pub async fn start_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    start_page(&state, &visitor, String::new(), None)
}

/// `POST /recuperation`: makes the new key, sealed with the new passphrase, and keeps it
/// with the account until the sponsors have signed.
pub async fn start<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<StartFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let login = f.login.trim().to_lowercase();
    let Some(mut account) = state.backend.account(&login)? else {
        let message = l.pick(
            "Aucun compte à ce nom sur ce site.",
            "No account by that name on this site.",
        );
        return start_page(&state, &visitor, f.login, Some(message.into()));
    };
    if f.passphrase != f.confirm {
        let message = l.pick(
            "Les deux phrases de passe diffèrent.",
            "The two passphrases differ.",
        );
        return start_page(&state, &visitor, f.login, Some(message.into()));
    }
    let secret = keys::generate_key().map_err(|e| BackendError(e.to_string()))?;
    let (kdf, passphrase, sealing) = (state.config.kdf, f.passphrase.clone(), secret.clone());
    let sealed = match blocking(move || keys::seal(&sealing, &passphrase, kdf)).await? {
        Ok(sealed) => sealed,
        Err(KeyError::PassphraseTooShort) => {
            let message = l.pick(
                "La phrase de passe doit avoir au moins 10 caractères.",
                "The passphrase needs at least 10 characters.",
            );
            return start_page(&state, &visitor, f.login, Some(message.into()));
        }
        Err(other) => return Err(BackendError(other.to_string()).into()),
    };
    account.pending_recovery = Some(PendingRecovery {
        new_key: secret.public_key(),
        sealed_key: sealed,
        started: state.backend.now(),
    });
    state.backend.update_account(&account)?;
    Ok(Redirect::to(&format!("/recuperation/suivi?login={login}")).into_response())
}

/// The login in the follow-up page's address.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginParam {
    login: String,
}

fn follow_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    login: &str,
    codes: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let account = state.backend.account(login)?.ok_or(AppError::NotFound(l))?;
    let pending = account.pending_recovery.ok_or(AppError::NotFound(l))?;
    let failed = error.is_some();
    render_form(
        FollowPage {
            p: state.page(visitor),
            login: account.login.clone(),
            link: format!(
                "/recuperation/parrain?ancien={}&nouveau={}",
                account.key.to_hex(),
                pending.new_key.to_hex()
            ),
            request_code: format!("{}{}", account.key.to_hex(), pending.new_key.to_hex()),
            fingerprint: page::fingerprint(&pending.new_key),
            needed: state.backend.site().charter.recovery_threshold,
            codes,
            error,
        },
        failed,
    )
}

/// `GET /recuperation/suivi?login=…`: the link for the sponsors and the form for their codes.
pub async fn follow<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(q): Query<LoginParam>,
) -> Result<Response, AppError> {
    follow_page(&state, &visitor, &q.login, String::new(), None)
}

/// The old and the new key, as in the sponsors' link.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct KeysParam {
    csrf: String,
    ancien: String,
    nouveau: String,
    /// Both keys in one code, as the member sends it: 64 hex digits each.
    code: String,
}
with_csrf!(KeysParam);

impl KeysParam {
    fn keys(&self) -> Option<(PublicKey, PublicKey)> {
        let code: String = self
            .code
            .chars()
            .filter(|c| c.is_ascii_hexdigit())
            .collect();
        let (old, new) = if code.len() == 128 {
            (page::parse_key(&code[..64])?, page::parse_key(&code[64..])?)
        } else {
            (
                page::parse_key(&self.ancien)?,
                page::parse_key(&self.nouveau)?,
            )
        };
        (old != new).then_some((old, new))
    }
}

/// The sponsor's sponsorship of `old`'s identity, if the viewer is one of its sponsors.
fn sponsorship_by<B: Backend>(
    backend: &B,
    old: &PublicKey,
    sponsor: &PublicKey,
) -> Option<RecordId> {
    let sponsor_identity = backend.member(sponsor).identity;
    backend
        .member(old)
        .sponsorships
        .iter()
        .find(|s| s.sponsor == *sponsor || backend.member(&s.sponsor).identity == sponsor_identity)
        .map(|s| s.id)
}

fn sponsor_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    q: &KeysParam,
    sign: bool,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let user: &SignedIn = require_user(visitor)?;
    let Some((old, new)) = q.keys() else {
        return Err(AppError::BadRequest(
            l,
            l.pick(
                "Code ou lien de récupération incomplet : vérifiez-le avec la personne qui vous l'a envoyé.",
                "Incomplete recovery code or link: check it with the person who sent it.",
            ),
        ));
    };
    if sponsorship_by(&state.backend, &old, &user.key).is_none() {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Seuls les parrains de ce membre peuvent signer sa récupération.",
                "Only this member's sponsors can sign their recovery.",
            ),
        ));
    }
    let code = sign.then(|| {
        let message = key_binding_message(&state.backend.site().network, &old, &new);
        format!(
            "{}{}",
            user.key.to_hex(),
            user.secret.sign(&message).to_hex()
        )
    });
    render(SponsorPage {
        p: state.page(visitor),
        who: named(&state.backend, &[old], l).remove(0),
        fingerprint: page::fingerprint(&new),
        hidden: vec![("ancien", old.to_hex()), ("nouveau", new.to_hex())],
        code,
    })
}

/// `GET /recuperation/parrain?ancien=…&nouveau=…`: a sponsor checks the request.
pub async fn sponsor_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(q): Query<KeysParam>,
) -> Result<Response, AppError> {
    sponsor_page(&state, &visitor, &q, false)
}

/// `POST /recuperation/parrain`: the sponsor signs and gets the code to send back.
pub async fn sponsor_sign<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<KeysParam>,
) -> Result<Response, AppError> {
    sponsor_page(&state, &visitor, &f, true)
}

/// The final form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FinishFields {
    csrf: String,
    login: String,
    passphrase: String,
    codes: String,
}
with_csrf!(FinishFields);

/// Reads and checks the sponsors' codes: (sponsor key, signature, their sponsorship).
fn check_codes<B: Backend>(
    backend: &B,
    old: &PublicKey,
    new: &PublicKey,
    codes: &str,
    l: Lang,
) -> Result<Vec<(PublicKey, Signature, RecordId)>, String> {
    let site = backend.site();
    let message = key_binding_message(&site.network, old, new);
    let mut found: Vec<(PublicKey, Signature, RecordId)> = Vec::new();
    for line in codes.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Some((key, signature)) = page::parse_signature_code(line) else {
            return Err(l.pick_string(
                format!("Code illisible : {line}"),
                format!("Unreadable code: {line}"),
            ));
        };
        if verify(&key, &message, &signature).is_err() {
            return Err(l
                .pick(
                    "Un code ne correspond pas à cette demande.",
                    "A code does not match this request.",
                )
                .into());
        }
        let Some(sponsorship) = sponsorship_by(backend, old, &key) else {
            return Err(l
                .pick(
                    "Un code ne vient pas d'un de vos parrains.",
                    "A code is not from one of your sponsors.",
                )
                .into());
        };
        if !found.iter().any(|(k, _, _)| *k == key) {
            found.push((key, signature, sponsorship));
        }
    }
    let needed = site.charter.recovery_threshold as usize;
    if found.len() < needed {
        return Err(l.pick_string(
            format!(
                "Il faut les codes de {needed} parrains ; vous en avez collé {}.",
                found.len()
            ),
            format!(
                "Codes from {needed} sponsors are needed; you pasted {}.",
                found.len()
            ),
        ));
    }
    Ok(found)
}

/// `POST /recuperation/suivi`: with the new passphrase and the codes, signs the recovery with
/// the new key, makes it the account's key and signs the member in.
pub async fn finish<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<FinishFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let mut account = state
        .backend
        .account(&f.login)?
        .ok_or(AppError::NotFound(l))?;
    let pending = account
        .pending_recovery
        .clone()
        .ok_or(AppError::NotFound(l))?;
    let (sealed, passphrase, new_key) = (
        pending.sealed_key.clone(),
        f.passphrase.clone(),
        pending.new_key,
    );
    let secret = match blocking(move || keys::open(&sealed, &passphrase, &new_key)).await? {
        Ok(secret) => secret,
        Err(_) => {
            let message = l.pick(
                "Ce n'est pas la nouvelle phrase de passe choisie pour cette demande.",
                "This is not the new passphrase chosen for this request.",
            );
            return follow_page(&state, &visitor, &f.login, f.codes, Some(message.into()));
        }
    };
    let found = match check_codes(&state.backend, &account.key, &new_key, &f.codes, l) {
        Ok(found) => found,
        Err(message) => return follow_page(&state, &visitor, &f.login, f.codes, Some(message)),
    };
    let mut sponsorships: Vec<RecordId> = found.iter().map(|(_, _, s)| *s).collect();
    sponsorships.sort();
    let mut sponsor_signatures: Vec<(PublicKey, Signature)> =
        found.iter().map(|(k, s, _)| (*k, *s)).collect();
    sponsor_signatures.sort_by_key(|(k, _)| *k);
    let user = SignedIn {
        login: account.login.clone(),
        key: new_key,
        secret,
    };
    let body = Body::from(KeyRecovery {
        old_key: account.key,
        sponsorships,
        sponsor_signatures,
    });
    if let Err(message) = sign_and_submit(&state.backend, &user, body, None, l).await? {
        return follow_page(&state, &visitor, &f.login, f.codes, Some(message));
    }
    account.key = new_key;
    account.sealed_key = pending.sealed_key;
    account.pending_recovery = None;
    state.backend.update_account(&account)?;
    sign_in_response(&state, &visitor.session, user, "/compte")
}
