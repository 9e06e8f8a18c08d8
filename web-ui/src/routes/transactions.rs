//! Transactions: the member's list with deadlines, one transaction's messages, answering,
//! writing, and closing with an outcome and a review.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{Outcome, TransactionAnswer, TransactionClose, TransactionMessage};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::view::named;
use super::{render, render_form, require_user, sign_and_submit, V};
use crate::backend::{Backend, TransactionView};
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::{Lang, Visitor};
use crate::Shared;

/// A transaction in the member's list.
#[derive(Clone, Debug)]
pub struct Row {
    link: String,
    title: String,
    other: String,
    role: &'static str,
    state: String,
    urgent: bool,
}

fn state_text(
    t: &TransactionView,
    me: &maillon_protocol::PublicKey,
    now: maillon_protocol::Timestamp,
    l: Lang,
) -> (String, bool) {
    if t.closes.iter().any(|c| &c.by == me) {
        return (l.pick("clôturée", "closed").into(), false);
    }
    match t.answered_at {
        Some(_) => (l.pick("en cours", "in progress").into(), false),
        None if t.deadline <= now => (
            l.pick("sans réponse dans le délai", "not answered in time")
                .into(),
            &t.author == me,
        ),
        None if &t.author == me => (
            l.pick_string(
                format!("à répondre avant le {}", page::date_time(t.deadline, l)),
                format!("answer before {}", page::date_time(t.deadline, l)),
            ),
            true,
        ),
        None => (
            l.pick_string(
                format!(
                    "en attente de réponse (avant le {})",
                    page::date_time(t.deadline, l)
                ),
                format!("awaiting an answer (by {})", page::date_time(t.deadline, l)),
            ),
            false,
        ),
    }
}

#[derive(Template)]
#[template(path = "transactions.html")]
struct ListPage {
    p: Page,
    rows: Vec<Row>,
}

/// `/transactions`.
pub async fn mine<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let now = state.backend.now();
    let list = state.backend.transactions_of(&user.key);
    let others: Vec<_> = list
        .iter()
        .map(|t| {
            if t.author == user.key {
                t.opener
            } else {
                t.author
            }
        })
        .collect();
    let names = named(&state.backend, &others, l);
    let rows = list
        .iter()
        .zip(names)
        .map(|(t, other)| {
            let (state, urgent) = state_text(t, &user.key, now, l);
            Row {
                link: format!("/transaction/{}", t.id.to_hex()),
                title: t.listing_title.clone(),
                other: other.name,
                role: if t.author == user.key {
                    l.pick("sur votre annonce", "on your listing")
                } else {
                    l.pick("vous avez contacté", "you contacted")
                },
                state,
                urgent,
            }
        })
        .collect();
    render(ListPage {
        p: state.page(&visitor),
        rows,
    })
}

/// A message as shown.
#[derive(Clone, Debug)]
pub struct Line {
    who: String,
    when: String,
    text: String,
    mine: bool,
}

/// A closure as shown.
#[derive(Clone, Debug)]
pub struct Closing {
    who: String,
    outcome: &'static str,
    stars: String,
    review: String,
}

fn outcome_label(outcome: Outcome, l: Lang) -> &'static str {
    match outcome {
        Outcome::Completed => l.pick("affaire conclue", "deal done"),
        Outcome::NoDeal => l.pick("pas d'accord", "no deal"),
        Outcome::Cancelled => l.pick("annulée", "cancelled"),
        Outcome::NoAnswer => l.pick("pas de réponse", "no answer"),
    }
}

#[derive(Template)]
#[template(path = "transaction.html")]
struct ShowPage {
    p: Page,
    id: String,
    title: String,
    listing_link: String,
    state: String,
    lines: Vec<Line>,
    closings: Vec<Closing>,
    must_answer: bool,
    can_write: bool,
    can_close: bool,
    /// "Pas de réponse" is offered: the viewer opened it and the author let the deadline pass.
    may_close_unanswered: bool,
    error: Option<String>,
    cancelled: Option<String>,
    report_link: String,
}

/// The reason a moderator gave for cancelling the transaction, if one did.
fn cancelled_reason<B: Backend>(
    backend: &B,
    transaction: &maillon_protocol::RecordId,
) -> Option<String> {
    let moderation = backend.moderation();
    let label = moderation.cancelled_by(transaction)?;
    Some(
        moderation
            .log_entry(&label)
            .map(|e| e.body.reason.clone())
            .unwrap_or_default(),
    )
}

/// Refuses to write in a transaction a moderator cancelled.
fn refuse_if_cancelled<B: Backend>(
    backend: &B,
    t: &TransactionView,
    l: crate::session::Lang,
) -> Result<(), AppError> {
    match cancelled_reason(backend, &t.id) {
        Some(_) => Err(AppError::Forbidden(
            l,
            l.pick(
                "Cette transaction a été annulée par la modération.",
                "This transaction was cancelled by the moderators.",
            ),
        )),
        None => Ok(()),
    }
}

fn show_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    t: &TransactionView,
    error: Option<String>,
) -> Result<Response, AppError> {
    let user = require_user(visitor)?;
    let l = visitor.lang;
    let now = state.backend.now();
    let me = user.key;
    let names = named(&state.backend, &[t.opener, t.author], l);
    let name_of = |k: &maillon_protocol::PublicKey| {
        if *k == me {
            l.pick("Vous", "You").to_string()
        } else if *k == t.opener {
            names[0].name.clone()
        } else {
            names[1].name.clone()
        }
    };
    let cancelled = cancelled_reason(&state.backend, &t.id);
    let closed_by_me = t.closes.iter().any(|c| c.by == me) || cancelled.is_some();
    let failed = error.is_some();
    render_form(
        ShowPage {
            p: state.page(visitor),
            id: t.id.to_hex(),
            title: t.listing_title.clone(),
            listing_link: format!("/annonce/{}", t.listing.to_hex()),
            state: state_text(t, &me, now, l).0,
            lines: t
                .messages
                .iter()
                .map(|m| Line {
                    who: name_of(&m.from),
                    when: page::date_time(m.at, l),
                    text: m.text.clone(),
                    mine: m.from == me,
                })
                .collect(),
            closings: t
                .closes
                .iter()
                .map(|c| Closing {
                    who: name_of(&c.by),
                    outcome: outcome_label(c.outcome, l),
                    stars: c
                        .rating
                        .map(|n| "★".repeat(n.min(5) as usize))
                        .unwrap_or_default(),
                    review: c.review.clone(),
                })
                .collect(),
            must_answer: t.author == me && t.answered_at.is_none(),
            can_write: !closed_by_me,
            can_close: !closed_by_me,
            may_close_unanswered: unanswered_past_deadline(t, &me, now),
            error,
            cancelled,
            report_link: format!("/signaler?transaction={}", t.id.to_hex()),
        },
        failed,
    )
}

/// Whether `me` may close `t` as unanswered: the opener, once the author's deadline has
/// passed without an answer.
fn unanswered_past_deadline(
    t: &TransactionView,
    me: &maillon_protocol::PublicKey,
    now: maillon_protocol::Timestamp,
) -> bool {
    t.opener == *me && t.answered_at.is_none() && t.deadline <= now
}

fn own_transaction<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    id: &str,
) -> Result<TransactionView, AppError> {
    let l = visitor.lang;
    let user = require_user(visitor)?;
    let id = page::parse_id(id).ok_or(AppError::NotFound(l))?;
    let t = state
        .backend
        .transaction(&id)
        .ok_or(AppError::NotFound(l))?;
    if t.opener != user.key && t.author != user.key {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Cette transaction ne vous concerne pas.",
                "This transaction is not yours.",
            ),
        ));
    }
    Ok(t)
}

/// `/transaction/{id}`: only its two parties see it.
pub async fn show<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let t = own_transaction(&state, &visitor, &id)?;
    show_page(&state, &visitor, &t, None)
}

/// The message form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageFields {
    csrf: String,
    message: String,
}
with_csrf!(MessageFields);

/// `POST /transaction/{id}/message`: the author's first message is the answer.
pub async fn message<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(id): Path<String>,
    CheckedForm(f): CheckedForm<MessageFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let t = own_transaction(&state, &visitor, &id)?;
    refuse_if_cancelled(&state.backend, &t, visitor.lang)?;
    let text = match crate::form_text::message(&f.message, l) {
        Ok(text) => text,
        Err(problem) => return show_page(&state, &visitor, &t, Some(problem)),
    };
    let body: maillon_protocol::Body = if t.author == user.key && t.answered_at.is_none() {
        TransactionAnswer {
            transaction: t.id,
            message: text,
        }
        .into()
    } else {
        TransactionMessage {
            transaction: t.id,
            message: text,
        }
        .into()
    };
    match sign_and_submit(&state.backend, &user, body, None, l).await? {
        Ok(_) => Ok(Redirect::to(&format!("/transaction/{}", t.id.to_hex())).into_response()),
        Err(error) => show_page(&state, &visitor, &t, Some(error)),
    }
}

/// The closing form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CloseFields {
    csrf: String,
    outcome: String,
    rating: String,
    review: String,
}
with_csrf!(CloseFields);

/// `POST /transaction/{id}/cloturer`.
pub async fn close<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(id): Path<String>,
    CheckedForm(f): CheckedForm<CloseFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let t = own_transaction(&state, &visitor, &id)?;
    refuse_if_cancelled(&state.backend, &t, visitor.lang)?;
    let outcome = match f.outcome.as_str() {
        "conclue" => Some(Outcome::Completed),
        "pas_accord" => Some(Outcome::NoDeal),
        "annulee" => Some(Outcome::Cancelled),
        "sans_reponse" => Some(Outcome::NoAnswer),
        _ => None,
    };
    let rating = match f.rating.as_str() {
        "" => Ok(None),
        text => text
            .parse::<u64>()
            .ok()
            .filter(|r| (1..=5).contains(r))
            .map(Some)
            .ok_or(()),
    };
    let unanswered_allowed = unanswered_past_deadline(&t, &user.key, state.backend.now());
    let error = match (&outcome, &rating) {
        (None, _) => Some(l.pick(
            "Dites comment la transaction s'est terminée.",
            "Say how the transaction ended.",
        )),
        (Some(Outcome::NoAnswer), _) if !unanswered_allowed => Some(l.pick(
            "« Pas de réponse » ne vaut que si l'auteur n'a pas répondu dans son délai, et seulement pour la personne qui a écrit la première.",
            "\"No answer\" only applies when the author did not answer within their deadline, and only for the person who wrote first.",
        )),
        (_, Err(())) => Some(l.pick(
            "La note va de 1 à 5 étoiles.",
            "The rating is 1 to 5 stars.",
        )),
        _ if f.review.len() > 1000 => Some(l.pick(
            "L'avis est trop long (1 000 caractères au plus).",
            "The review is too long (1,000 characters at most).",
        )),
        _ => None,
    };
    if let Some(error) = error {
        return show_page(&state, &visitor, &t, Some(error.into()));
    }
    let body = TransactionClose {
        transaction: t.id,
        outcome: outcome.unwrap_or(Outcome::Completed),
        rating: rating.unwrap_or(None),
        review: f.review.trim().to_string(),
    };
    match sign_and_submit(&state.backend, &user, body.into(), None, l).await? {
        Ok(_) => Ok(Redirect::to(&format!("/transaction/{}", t.id.to_hex())).into_response()),
        Err(error) => show_page(&state, &visitor, &t, Some(error)),
    }
}
