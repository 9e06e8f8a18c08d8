//! E-mail in « Mon compte »: giving or removing an address, choosing what arrives by e-mail;
//! and the two pages e-mails link to: the address's verification and the unsubscription
//! (RFC 8058 one-click: a POST without session or CSRF token, which only turns e-mails off).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::account::account_page_with_mail;
use super::extract::{with_csrf, CheckedForm, Member};
use super::{check_csrf, render, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::mail::{AddressOutcome, MailTopic};
use crate::page::Page;
use crate::Shared;

/// The address form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddressFields {
    csrf: String,
    address: String,
}
with_csrf!(AddressFields);

/// `POST /compte/courriel`: keeps an address (unverified) and sends the verification link;
/// an empty address removes it.
pub async fn set_address<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    CheckedForm(f): CheckedForm<AddressFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let address = f.address.trim();
    let outcome = state.backend.set_mail_address(&user.login, address, l)?;
    let (error, done) = match outcome {
        AddressOutcome::VerificationQueued if address.is_empty() => (
            None,
            l.pick("Votre adresse e-mail a été retirée.", "Your e-mail address was removed."),
        ),
        AddressOutcome::VerificationQueued => (
            None,
            l.pick(
                "Un lien de confirmation part vers cette adresse. Ouvrez-le pour recevoir des e-mails.",
                "A confirmation link is on its way to this address. Open it to receive e-mails.",
            ),
        ),
        AddressOutcome::Invalid => (
            Some(l.pick(
                "Ce n'est pas une adresse e-mail (exemple : marie@exemple.fr).",
                "This is not an e-mail address (example: marie@example.org).",
            )),
            "",
        ),
        AddressOutcome::Disabled => (
            Some(l.pick("Ce site n'envoie pas d'e-mails.", "This site sends no e-mail.")),
            "",
        ),
    };
    let done = (!done.is_empty()).then(|| done.to_string());
    account_page_with_mail(&state, &visitor, None, None, done, error.map(String::from))
}

/// `POST /compte/courriel/choix`: the checked topics (every field but `csrf` names one).
pub async fn set_topics<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    check_csrf(&visitor, csrf)?;
    let topics: Vec<MailTopic> = MailTopic::ALL
        .into_iter()
        .filter(|t| fields.iter().any(|(k, _)| k == t.code()))
        .collect();
    state
        .backend
        .set_mail_topics(&user.login, &topics, visitor.lang)?;
    let done = visitor.lang.pick(
        "Vos choix d'e-mails sont enregistrés.",
        "Your e-mail choices are saved.",
    );
    account_page_with_mail(&state, &visitor, None, None, Some(done.into()), None)
}

#[derive(Template)]
#[template(path = "mail.html")]
struct MailPage {
    p: Page,
    title: &'static str,
    message: &'static str,
    /// The one-click unsubscribe form's action, when the page asks to confirm.
    action: Option<String>,
}

fn token_ok(token: &str) -> bool {
    token.len() <= 128 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `GET /courriel/verifier/{token}`: confirms an address; does not sign anyone in.
pub async fn verify<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let verified = token_ok(&token) && state.backend.verify_mail(&token)?;
    let (title, message) = if verified {
        (
            l.pick("Adresse confirmée", "Address confirmed"),
            l.pick(
                "Merci : vous recevrez les e-mails choisis dans « Mon compte ».",
                "Thank you: you will receive the e-mails chosen in \"My account\".",
            ),
        )
    } else {
        (
            l.pick("Lien expiré", "Link expired"),
            l.pick(
                "Ce lien a déjà servi ou a expiré (48 heures). Redonnez votre adresse dans « Mon compte » pour en recevoir un autre.",
                "This link was already used or has expired (48 hours). Give your address again in \"My account\" to get another.",
            ),
        )
    };
    render(MailPage {
        p: state.page(&visitor),
        title,
        message,
        action: None,
    })
}

/// `GET /desabonnement/{token}`: asks to confirm (a link scanner must not unsubscribe).
pub async fn unsubscribe_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    render(MailPage {
        p: state.page(&visitor),
        title: l.pick("Ne plus recevoir d'e-mails", "Stop e-mails"),
        message: l.pick(
            "Appuyez sur le bouton pour ne plus recevoir aucun e-mail de ce site. Vous pourrez les rétablir dans « Mon compte ».",
            "Press the button to receive no more e-mail from this site. You can turn them back on in \"My account\".",
        ),
        action: token_ok(&token).then(|| format!("/desabonnement/{token}")),
    })
}

/// `POST /desabonnement/{token}`: the one-click unsubscription (RFC 8058), from the page's
/// button or straight from the member's mail program. The token only turns e-mails off.
pub async fn unsubscribe<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    if token_ok(&token) && state.backend.unsubscribe_mail(&token)? {
        return render(MailPage {
            p: state.page(&visitor),
            title: l.pick("Désabonnement fait", "Unsubscribed"),
            message: l.pick(
                "Vous ne recevrez plus d'e-mails de ce site.",
                "You will receive no more e-mail from this site.",
            ),
            action: None,
        });
    }
    Ok(Redirect::to("/").into_response())
}
