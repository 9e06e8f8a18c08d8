//! Joining, signing in and out, changing the passphrase, and the printable recovery kit.

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maillon_protocol::kinds::{Join, Profile};
use serde::Deserialize;

use super::{check_csrf, render, require_user, sign_and_submit, V};
use crate::backend::{Account, AccountCreated, Backend};
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
    let secret = keys::generate_key().map_err(|e| crate::backend::BackendError(e.to_string()))?;
    let kdf = state.config.kdf;
    let passphrase = f.passphrase.clone();
    let sealing_key = secret.clone();
    let sealed = tokio::task::spawn_blocking(move || keys::seal(&sealing_key, &passphrase, kdf))
        .await
        .map_err(|e| crate::backend::BackendError(e.to_string()))?
        .map_err(|e| crate::backend::BackendError(e.to_string()))?;
    let now = state.backend.now();
    let account = Account {
        login: login.clone(),
        key: secret.public_key(),
        sealed_key: sealed,
        created: now,
        notifications_seen: now,
        saved_searches: Vec::new(),
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

fn sign_in_response<B: Backend>(
    state: &Shared<B>,
    old_session: &str,
    user: SignedIn,
    to: &str,
) -> Result<Response, AppError> {
    let Some((id, _)) = state.sessions.sign_in(old_session, user) else {
        return Err(crate::backend::BackendError("no randomness for a session".into()).into());
    };
    let cookie = session_cookie(id, state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie.to_string())], Redirect::to(to)).into_response())
}

/// The sign-in form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginFields {
    csrf: String,
    login: String,
    passphrase: String,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    p: Page,
    login: String,
    error: Option<String>,
}

/// `GET /connexion`.
pub async fn login_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    render(LoginPage {
        p: state.page(&visitor),
        login: String::new(),
        error: None,
    })
}

fn client_address(
    headers: &HeaderMap,
    connect: Option<&ConnectInfo<std::net::SocketAddr>>,
    trust_forwarded: bool,
) -> Option<String> {
    if trust_forwarded {
        if let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        {
            return Some(first.trim().to_string());
        }
    }
    connect.map(|c| c.0.ip().to_string())
}

/// `POST /connexion`: opens the member's key with their passphrase, rate limited.
pub async fn login<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    headers: HeaderMap,
    connect: Option<axum::extract::Extension<ConnectInfo<std::net::SocketAddr>>>,
    Form(f): Form<LoginFields>,
) -> Result<Response, AppError> {
    check_csrf(&visitor, &f.csrf)?;
    let l = visitor.lang;
    let address = client_address(
        &headers,
        connect.as_ref().map(|c| &c.0),
        state.config.trust_forwarded_for,
    );
    let login = f.login.trim().to_lowercase();
    if !state.limiter.allowed(&login, address.as_deref()) {
        return Err(AppError::TooManyAttempts(l));
    }
    let failed = |state: &Shared<B>| -> Result<Response, AppError> {
        state.limiter.failed(&login, address.as_deref());
        let page = render(LoginPage {
            p: state.page(&visitor),
            login: f.login.clone(),
            error: Some(
                l.pick(
                    "Identifiant ou phrase de passe incorrect.",
                    "Wrong login or passphrase.",
                )
                .into(),
            ),
        })?;
        Ok((axum::http::StatusCode::UNAUTHORIZED, page).into_response())
    };
    let Some(account) = state.backend.account(&login)? else {
        return failed(&state);
    };
    let passphrase = f.passphrase.clone();
    let sealed = account.sealed_key.clone();
    let key = account.key;
    let opened = tokio::task::spawn_blocking(move || keys::open(&sealed, &passphrase, &key))
        .await
        .map_err(|e| crate::backend::BackendError(e.to_string()))?;
    match opened {
        Ok(secret) => {
            state.limiter.succeeded(&login);
            let user = SignedIn {
                login: account.login.clone(),
                key,
                secret,
            };
            let to = if state.backend.member(&key).status.is_in_good_standing() {
                "/"
            } else {
                "/candidature"
            };
            sign_in_response(&state, &visitor.session, user, to)
        }
        Err(KeyError::WrongPassphrase) => failed(&state),
        Err(other) => Err(crate::backend::BackendError(other.to_string()).into()),
    }
}

/// A form with only its CSRF token.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

impl CsrfOnly {
    /// The submitted token.
    pub fn token(&self) -> &str {
        &self.csrf
    }
}

/// `POST /deconnexion`.
pub async fn logout<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    check_csrf(&visitor, &f.csrf)?;
    state.sessions.sign_out(&visitor.session);
    let mut cookie = session_cookie(String::new(), state.config.secure_cookies);
    cookie.make_removal();
    Ok((
        [(header::SET_COOKIE, cookie.to_string())],
        Redirect::to("/"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    p: Page,
    login: String,
    profile_link: String,
    status: String,
    passphrase_error: Option<String>,
    kit_error: Option<String>,
    done: Option<String>,
}

fn account_page<B: Backend>(
    state: &Shared<B>,
    visitor: &crate::session::Visitor,
    passphrase_error: Option<String>,
    kit_error: Option<String>,
    done: Option<String>,
) -> Result<Response, AppError> {
    let user = require_user(visitor)?;
    let member = state.backend.member(&user.key);
    let status = super::profile::status_text(&member.status, visitor.lang);
    let failed = passphrase_error.is_some() || kit_error.is_some();
    let page = render(AccountPage {
        p: state.page(visitor),
        login: user.login.clone(),
        profile_link: format!("/membre/{}", user.key.to_hex()),
        status,
        passphrase_error,
        kit_error,
        done,
    })?;
    let status = if failed {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// `GET /compte`.
pub async fn account<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    account_page(&state, &visitor, None, None, None)
}

/// The passphrase form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PassphraseFields {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

/// `POST /compte/phrase`: reseals the key with a new passphrase.
pub async fn change_passphrase<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Form(f): Form<PassphraseFields>,
) -> Result<Response, AppError> {
    check_csrf(&visitor, &f.csrf)?;
    let user = require_user(&visitor)?.clone();
    let l = visitor.lang;
    let Some(mut account) = state.backend.account(&user.login)? else {
        return Err(AppError::SignInRequired);
    };
    let error = match keys::check_new_passphrase(&f.new) {
        Err(_) => Some(l.pick(
            "La nouvelle phrase de passe doit avoir au moins 10 caractères.",
            "The new passphrase needs at least 10 characters.",
        )),
        Ok(()) if f.new != f.confirm => Some(l.pick(
            "Les deux nouvelles phrases de passe ne sont pas identiques.",
            "The two new passphrases differ.",
        )),
        Ok(()) => None,
    };
    if let Some(error) = error {
        return account_page(&state, &visitor, Some(error.into()), None, None);
    }
    let (sealed, current, new, key, kdf) = (
        account.sealed_key.clone(),
        f.current.clone(),
        f.new.clone(),
        user.key,
        state.config.kdf,
    );
    let resealed = tokio::task::spawn_blocking(move || {
        keys::open(&sealed, &current, &key).and_then(|secret| keys::seal(&secret, &new, kdf))
    })
    .await
    .map_err(|e| crate::backend::BackendError(e.to_string()))?;
    match resealed {
        Ok(sealed) => {
            account.sealed_key = sealed;
            state.backend.update_account(&account)?;
            state
                .sessions
                .sign_out_everywhere(&user.key, &visitor.session);
            account_page(
                &state,
                &visitor,
                None,
                None,
                Some(
                    l.pick(
                        "Votre phrase de passe a été changée. Vos autres sessions ont été fermées.",
                        "Your passphrase was changed. Your other sessions were closed.",
                    )
                    .into(),
                ),
            )
        }
        Err(KeyError::WrongPassphrase) => account_page(
            &state,
            &visitor,
            Some(
                l.pick(
                    "La phrase de passe actuelle est incorrecte.",
                    "The current passphrase is wrong.",
                )
                .into(),
            ),
            None,
            None,
        ),
        Err(other) => Err(crate::backend::BackendError(other.to_string()).into()),
    }
}

/// The recovery kit form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct KitFields {
    csrf: String,
    passphrase: String,
}

#[derive(Template)]
#[template(path = "kit.html")]
struct KitPage {
    p: Page,
    name: String,
    login: String,
    site: String,
    lines: Vec<String>,
    fingerprint: String,
}

/// `POST /compte/kit`: after the passphrase again, a printable page holding the key.
pub async fn recovery_kit<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Form(f): Form<KitFields>,
) -> Result<Response, AppError> {
    check_csrf(&visitor, &f.csrf)?;
    let user = require_user(&visitor)?.clone();
    let l = visitor.lang;
    let Some(account) = state.backend.account(&user.login)? else {
        return Err(AppError::SignInRequired);
    };
    let (sealed, passphrase, key) = (account.sealed_key.clone(), f.passphrase.clone(), user.key);
    let opened = tokio::task::spawn_blocking(move || keys::open(&sealed, &passphrase, &key))
        .await
        .map_err(|e| crate::backend::BackendError(e.to_string()))?;
    let secret = match opened {
        Ok(secret) => secret,
        Err(KeyError::WrongPassphrase) => {
            return account_page(
                &state,
                &visitor,
                None,
                Some(
                    l.pick("Phrase de passe incorrecte.", "Wrong passphrase.")
                        .into(),
                ),
                None,
            )
        }
        Err(other) => return Err(crate::backend::BackendError(other.to_string()).into()),
    };
    let member = state.backend.member(&user.key);
    let page = render(KitPage {
        p: state.page(&visitor),
        name: member.profile.map(|p| p.display_name).unwrap_or_default(),
        login: user.login.clone(),
        site: state.backend.site().node_name,
        lines: keys::recovery_lines(&secret),
        fingerprint: crate::page::fingerprint(&user.key),
    })?;
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}
