//! The member's account page: changing the passphrase, the printable recovery kit, and the
//! e-mail address with what arrives by e-mail (its forms are in `mail.rs`).

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::{blocking, render, render_form, require_user, V};
use crate::backend::{Backend, BackendError};
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::mail::{MailStatus, MailTopic};
use crate::page::Page;
use crate::session::Lang;
use crate::Shared;

/// One checkbox of the e-mail choices.
pub(crate) struct TopicBox {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The e-mail part of the account page.
pub(crate) struct MailSection {
    /// Whether the node sends e-mail at all.
    pub enabled: bool,
    /// The member's address and its state.
    pub status: Option<MailStatus>,
    /// The topics, checked or not.
    pub topics: Vec<TopicBox>,
    /// What went wrong with the last form.
    pub error: Option<String>,
}

impl MailSection {
    pub(crate) fn of<B: Backend>(
        backend: &B,
        login: &str,
        l: Lang,
        error: Option<String>,
    ) -> Result<MailSection, AppError> {
        let enabled = backend.mail_enabled();
        let status = if enabled {
            backend.mail_status(login)?
        } else {
            None
        };
        let chosen = status
            .as_ref()
            .map(|s| s.topics.clone())
            .unwrap_or_default();
        let topics = MailTopic::ALL
            .iter()
            .map(|t| TopicBox {
                code: t.code(),
                label: t.label(l),
                checked: chosen.contains(t),
            })
            .collect();
        Ok(MailSection {
            enabled,
            status,
            topics,
            error,
        })
    }
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
    mail: MailSection,
}

fn account_page<B: Backend>(
    state: &Shared<B>,
    visitor: &crate::session::Visitor,
    passphrase_error: Option<String>,
    kit_error: Option<String>,
    done: Option<String>,
) -> Result<Response, AppError> {
    account_page_with_mail(state, visitor, passphrase_error, kit_error, done, None)
}

/// The account page, with an error about the e-mail form if there is one.
pub(super) fn account_page_with_mail<B: Backend>(
    state: &Shared<B>,
    visitor: &crate::session::Visitor,
    passphrase_error: Option<String>,
    kit_error: Option<String>,
    done: Option<String>,
    mail_error: Option<String>,
) -> Result<Response, AppError> {
    let user = require_user(visitor)?;
    let member = state.backend.member(&user.key);
    let status = super::view::status_text(&member.status, visitor.lang);
    let failed = passphrase_error.is_some() || kit_error.is_some() || mail_error.is_some();
    let mail = MailSection::of(&state.backend, &user.login, visitor.lang, mail_error)?;
    render_form(
        AccountPage {
            p: state.page(visitor),
            login: user.login.clone(),
            profile_link: format!("/membre/{}", user.key.to_hex()),
            status,
            passphrase_error,
            kit_error,
            done,
            mail,
        },
        failed,
    )
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
with_csrf!(PassphraseFields);

/// `POST /compte/phrase`: reseals the key with a new passphrase.
pub async fn change_passphrase<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    CheckedForm(f): CheckedForm<PassphraseFields>,
) -> Result<Response, AppError> {
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
    let resealed = blocking(move || {
        keys::open(&sealed, &current, &key).and_then(|secret| keys::seal(&secret, &new, kdf))
    })
    .await?;
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
        Err(other) => Err(BackendError(other.to_string()).into()),
    }
}

/// The recovery kit form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct KitFields {
    csrf: String,
    passphrase: String,
}
with_csrf!(KitFields);

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
    Member { visitor, user }: Member,
    CheckedForm(f): CheckedForm<KitFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let Some(account) = state.backend.account(&user.login)? else {
        return Err(AppError::SignInRequired);
    };
    let (sealed, passphrase, key) = (account.sealed_key.clone(), f.passphrase.clone(), user.key);
    let opened = blocking(move || keys::open(&sealed, &passphrase, &key)).await?;
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
        Err(other) => return Err(BackendError(other.to_string()).into()),
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
