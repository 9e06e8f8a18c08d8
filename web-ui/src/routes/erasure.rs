//! The member's own data: export everything as one archive, then, if they wish, erase their
//! account. The erasure is a signed record: every node of the network deletes the member's
//! profile, listings, photos and messages, and keeps only the signed headers.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::Erasure;
use maillon_protocol::Body;
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::{blocking, render_form, require_user, sign_and_submit, CsrfOnly, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::page::Page;
use crate::session::Visitor;
use crate::{session_cookie, Shared};

#[derive(Template)]
#[template(path = "erase.html")]
struct ErasePage {
    p: Page,
    error: Option<String>,
}

fn erase_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    error: Option<String>,
) -> Result<Response, AppError> {
    require_user(visitor)?;
    let failed = error.is_some();
    render_form(
        ErasePage {
            p: state.page(visitor),
            error,
        },
        failed,
    )
}

/// `POST /compte/export`: everything this node holds of the member, as a zip archive.
pub async fn export<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor: _, user }: Member,
    CheckedForm(_f): CheckedForm<CsrfOnly>,
) -> Result<Response, AppError> {
    let archive = state.backend.export_member(&user.key).await?;
    let name = format!("attachment; filename=\"maillon-{}.zip\"", user.login);
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        archive,
    )
        .into_response())
}

/// `GET /compte/effacer`: what erasing does, and the form.
pub async fn erase_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    erase_page(&state, &visitor, None)
}

/// The erasure form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct EraseFields {
    csrf: String,
    passphrase: String,
    confirm: String,
}
with_csrf!(EraseFields);

/// `POST /compte/effacer`: with the passphrase and the box ticked, signs the erasure,
/// removes the account from this node and signs the member out.
pub async fn erase<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    CheckedForm(f): CheckedForm<EraseFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    if f.confirm != "oui" {
        let message = l.pick(
            "Cochez la case pour confirmer que vous voulez tout effacer.",
            "Tick the box to confirm you want to erase everything.",
        );
        return erase_page(&state, &visitor, Some(message.into()));
    }
    let account = state
        .backend
        .account(&user.login)?
        .ok_or(AppError::SignInRequired)?;
    let (sealed, passphrase, key) = (account.sealed_key.clone(), f.passphrase.clone(), user.key);
    match blocking(move || keys::open(&sealed, &passphrase, &key)).await? {
        Ok(_) => {}
        Err(KeyError::WrongPassphrase) => {
            let message = l.pick("Phrase de passe incorrecte.", "Wrong passphrase.");
            return erase_page(&state, &visitor, Some(message.into()));
        }
        Err(other) => return Err(crate::backend::BackendError(other.to_string()).into()),
    }
    let body = Body::from(Erasure {
        reason: String::new(),
    });
    if let Err(message) = sign_and_submit(&state.backend, &user, body, None, l).await? {
        return erase_page(&state, &visitor, Some(message));
    }
    state.backend.delete_account(&user.login)?;
    state.sessions.sign_out_everywhere(&user.key, "");
    let mut cookie = session_cookie(String::new(), state.config.secure_cookies);
    cookie.make_removal();
    Ok((
        [(header::SET_COOKIE, cookie.to_string())],
        Redirect::to("/?efface=1"),
    )
        .into_response())
}
