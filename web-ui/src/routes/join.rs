//! Joining: the form, the checks, the sealed key, the signed Join and Profile, and the
//! first session.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maillon_protocol::kinds::{Join, Profile};
use serde::Deserialize;

use super::{blocking, check_csrf, render, sign_and_submit, V};
use crate::backend::{Account, AccountCreated, Backend, BackendError};
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::page::Page;
use crate::places::Places;
use crate::session::{Lang, SignedIn};
use crate::{session_cookie, Shared};

/// The join form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct JoinFields {
    csrf: String,
    login: String,
    name: String,
    place: String,
    passphrase: String,
    confirm: String,
    accept: String,
}

/// Errors next to the join form's fields.
#[derive(Clone, Debug, Default)]
pub struct JoinErrors {
    login: Option<String>,
    name: Option<String>,
    place: Option<String>,
    passphrase: Option<String>,
    confirm: Option<String>,
    accept: Option<String>,
    general: Option<String>,
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    p: Page,
    f: JoinFields,
    e: JoinErrors,
    rules: String,
    sponsors_required: u64,
}

fn join_page<B: Backend>(
    state: &Shared<B>,
    visitor: &crate::session::Visitor,
    f: JoinFields,
    e: JoinErrors,
) -> Result<Response, AppError> {
    let charter = state.backend.site().charter;
    let status = if e.general.is_some()
        || e.login.is_some()
        || e.name.is_some()
        || e.place.is_some()
        || e.passphrase.is_some()
        || e.confirm.is_some()
        || e.accept.is_some()
    {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let page = render(JoinPage {
        p: state.page(visitor),
        f: JoinFields {
            passphrase: String::new(),
            confirm: String::new(),
            ..f
        },
        e,
        rules: charter.rules,
        sponsors_required: charter.sponsors_required,
    })?;
    Ok((status, page).into_response())
}

/// `GET /inscription`.
pub async fn join_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    if visitor.user.is_some() {
        return Ok(Redirect::to("/candidature").into_response());
    }
    join_page(
        &state,
        &visitor,
        JoinFields::default(),
        JoinErrors::default(),
    )
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

fn check_join(
    f: &JoinFields,
    l: Lang,
) -> (JoinErrors, Option<(String, String, crate::places::Place)>) {
    let mut e = JoinErrors::default();
    let login = normalise_login(&f.login);
    if login.is_none() {
        e.login = Some(l.pick("Choisissez un identifiant de 3 à 32 caractères : lettres sans accent, chiffres, point ou tiret.", "Choose a login of 3 to 32 characters: unaccented letters, digits, dot or dash.").into());
    }
    let name = f.name.trim().to_string();
    let name_chars = name.chars().count();
    if !(2..=60).contains(&name_chars) || name.chars().any(char::is_control) {
        e.name = Some(
            l.pick(
                "Écrivez votre nom tel que vos parrains le connaissent (2 à 60 caractères).",
                "Write your name as your sponsors know it (2 to 60 characters).",
            )
            .into(),
        );
    }
    let place = match Places::embedded().lookup(f.place.trim()) {
        Ok(place) => Some(place),
        Err(_) => {
            e.place = Some(l.pick("Commune ou code postal inconnu. Écrivez par exemple « 26000 » ou « 26000 Valence ».", "Unknown town or postcode. Write for example \"26000\" or \"26000 Valence\".").into());
            None
        }
    };
    match keys::check_new_passphrase(&f.passphrase) {
        Err(KeyError::PassphraseTooShort) => e.passphrase = Some(l.pick("La phrase de passe doit avoir au moins 10 caractères. Une petite phrase facile à retenir convient bien.", "The passphrase needs at least 10 characters. A short sentence you remember works well.").into()),
        Err(_) => e.passphrase = Some(l.pick("La phrase de passe est trop longue.", "The passphrase is too long.").into()),
        Ok(()) => {
            if f.confirm != f.passphrase {
                e.confirm = Some(l.pick("Les deux phrases de passe ne sont pas identiques.", "The two passphrases differ.").into());
            }
        }
    }
    if f.accept != "oui" {
        e.accept = Some(
            l.pick(
                "Pour rejoindre le réseau, il faut accepter sa charte.",
                "To join, you must accept the charter.",
            )
            .into(),
        );
    }
    let ok = e.login.is_none()
        && e.name.is_none()
        && e.place.is_none()
        && e.passphrase.is_none()
        && e.confirm.is_none()
        && e.accept.is_none();
    match (ok, login, place) {
        (true, Some(login), Some(place)) => (e, Some((login, name, place))),
        _ => (e, None),
    }
}

/// `POST /inscription`: creates the key, the account, the profile and the join record.
pub async fn join<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Form(f): Form<JoinFields>,
) -> Result<Response, AppError> {
    check_csrf(&visitor, &f.csrf)?;
    let l = visitor.lang;
    let (mut e, checked) = check_join(&f, l);
    let Some((login, name, place)) = checked else {
        return join_page(&state, &visitor, f, e);
    };
    if state.backend.account(&login)?.is_some() {
        e.login = Some(
            l.pick(
                "Cet identifiant est déjà pris sur ce site : choisissez-en un autre.",
                "This login is taken on this site: choose another.",
            )
            .into(),
        );
        return join_page(&state, &visitor, f, e);
    }
    let secret = keys::generate_key().map_err(|e| BackendError(e.to_string()))?;
    let kdf = state.config.kdf;
    let passphrase = f.passphrase.clone();
    let sealing_key = secret.clone();
    let sealed = blocking(move || keys::seal(&sealing_key, &passphrase, kdf))
        .await?
        .map_err(|e| BackendError(e.to_string()))?;
    let now = state.backend.now();
    let account = Account {
        login: login.clone(),
        key: secret.public_key(),
        sealed_key: sealed,
        created: now,
        notifications_seen: now,
        saved_searches: Vec::new(),
        pending_recovery: None,
    };
    if state.backend.create_account(&account)? == AccountCreated::LoginTaken {
        e.login = Some(
            l.pick(
                "Cet identifiant est déjà pris sur ce site : choisissez-en un autre.",
                "This login is taken on this site: choose another.",
            )
            .into(),
        );
        return join_page(&state, &visitor, f, e);
    }
    let user = SignedIn {
        login: login.clone(),
        key: secret.public_key(),
        secret,
    };
    let site = state.backend.site();
    let profile = Profile {
        display_name: name,
        home_node: site.node_key,
        town: place.name.to_string(),
        postcode: place.postcode.to_string(),
        position: place.position,
        about: String::new(),
    };
    let join = Join {
        accepted_rules_hash: site.charter.rules_hash(),
    };
    for body in [
        maillon_protocol::Body::from(join),
        maillon_protocol::Body::from(profile),
    ] {
        if let Err(message) = sign_and_submit(&state.backend, &user, body, None, l).await? {
            // Nothing half-made: the account goes if the network refused its records.
            state.backend.delete_account(&login)?;
            e.general = Some(message);
            return join_page(&state, &visitor, f, e);
        }
    }
    sign_in_response(&state, &visitor.session, user, "/candidature")
}

pub(super) fn sign_in_response<B: Backend>(
    state: &Shared<B>,
    old_session: &str,
    user: SignedIn,
    to: &str,
) -> Result<Response, AppError> {
    let Some((id, _)) = state.sessions.sign_in(old_session, user) else {
        return Err(BackendError("no randomness for a session".into()).into());
    };
    let cookie = session_cookie(id, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie.to_string())], Redirect::to(to)).into_response())
}
