//! Joining: the form, the checks, the sealed key, the signed Join and Profile, and the
//! first session.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{Join, Profile};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::identity::{self, Identity, IdentityErrors, IdentityInput};
use super::{render, sign_and_submit_at, V};
use crate::backend::{AccountCreated, Backend, BackendError};
use crate::error::AppError;
use crate::page::Page;
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
with_csrf!(JoinFields);

/// Errors next to the join form's fields.
#[derive(Clone, Debug, Default)]
pub struct JoinErrors {
    id: IdentityErrors,
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
    let status = if e.general.is_some() || e.id.any() || e.accept.is_some() {
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
        rules: charter.rules.clone(),
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

fn check_join(f: &JoinFields, l: Lang) -> (JoinErrors, Option<Identity>) {
    let input = IdentityInput {
        login: &f.login,
        name: &f.name,
        place: &f.place,
        passphrase: &f.passphrase,
        confirm: &f.confirm,
    };
    let (id, identity) = identity::check(&input, l);
    let mut e = JoinErrors {
        id,
        ..JoinErrors::default()
    };
    if f.accept != "oui" {
        e.accept = Some(
            l.pick(
                "Pour rejoindre le réseau, il faut accepter sa charte.",
                "To join, you must accept the charter.",
            )
            .into(),
        );
    }
    match identity {
        Some(identity) if e.accept.is_none() => (e, Some(identity)),
        _ => (e, None),
    }
}

/// `POST /inscription`: creates the key, the account, the profile and the join record.
pub async fn join<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<JoinFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let (mut e, checked) = check_join(&f, l);
    let Some(Identity { login, name, place }) = checked else {
        return join_page(&state, &visitor, f, e);
    };
    if state.backend.account(&login)?.is_some() {
        e.id.login = Some(login_taken(l));
        return join_page(&state, &visitor, f, e);
    }
    let (kdf, now) = (state.config.kdf, state.backend.now());
    let (secret, account) = identity::new_account(&login, &f.passphrase, kdf, now).await?;
    if state.backend.create_account(&account)? == AccountCreated::LoginTaken {
        e.id.login = Some(login_taken(l));
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
    let created = state.backend.now();
    let Some((introduction, introducer_signature)) = state.backend.introduce(&user.key, created)?
    else {
        state.backend.delete_account(&login)?;
        e.general = Some(
            l.pick(
                "Ce site n'est pas encore annoncé au réseau : il ne peut pas encore accueillir de candidatures. Réessayez plus tard.",
                "This site is not announced to the network yet: it cannot take applications. Try again later.",
            )
            .into(),
        );
        return join_page(&state, &visitor, f, e);
    };
    let join = Join {
        accepted_rules_hash: site.charter.rules_hash(),
        introduction,
        introducer_signature,
    };
    for (body, at) in [
        (maillon_protocol::Body::from(join), created),
        (maillon_protocol::Body::from(profile), created),
    ] {
        if let Err(message) = sign_and_submit_at(&state.backend, &user, body, at, l).await? {
            // Nothing half-made: the account goes if the network refused its records.
            state.backend.delete_account(&login)?;
            e.general = Some(message);
            return join_page(&state, &visitor, f, e);
        }
    }
    sign_in_response(&state, &visitor.session, user, "/candidature")
}

fn login_taken(l: Lang) -> String {
    l.pick(
        "Cet identifiant est déjà pris sur ce site : choisissez-en un autre.",
        "This login is taken on this site: choose another.",
    )
    .into()
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
