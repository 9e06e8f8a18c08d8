//! Complaints: a member reports a listing, a transaction or a member to the moderators, and
//! follows each report's status (received, in progress, closed with the outcome).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{Complaint, ComplaintReason, ComplaintSubject, LabelAction};
use maillon_protocol::moderation::{ComplaintStatus, Moderation};
use maillon_protocol::{Body, PublicKey};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::view::named;
use super::{render, render_form, require_user, sign_and_submit, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::{Lang, SignedIn, Visitor};
use crate::Shared;

/// What a complaint is about, as given in the address or the form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubjectParams {
    annonce: String,
    transaction: String,
    membre: String,
}

/// The complaint form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ComplaintFields {
    csrf: String,
    annonce: String,
    transaction: String,
    membre: String,
    reason: String,
    text: String,
}
with_csrf!(ComplaintFields);

#[derive(Template)]
#[template(path = "complaint.html")]
struct ComplaintPage {
    p: Page,
    about: String,
    hidden: Vec<(&'static str, String)>,
    reasons: Vec<(u8, &'static str, bool)>,
    text: String,
    error: Option<String>,
}

/// A complaint as its author sees it.
#[derive(Clone, Debug)]
pub struct ComplaintLine {
    about: String,
    link: String,
    reason: &'static str,
    filed: String,
    status: String,
    outcome: Vec<String>,
}

#[derive(Template)]
#[template(path = "complaints.html")]
struct ComplaintsPage {
    p: Page,
    lines: Vec<ComplaintLine>,
}

/// A reason in words.
pub fn reason_label(reason: ComplaintReason, l: Lang) -> &'static str {
    match reason {
        ComplaintReason::Scam => l.pick("Arnaque ou tentative d'arnaque", "Scam or attempted scam"),
        ComplaintReason::NoAnswer => l.pick("Ne répond pas", "Does not answer"),
        ComplaintReason::Inappropriate => l.pick(
            "Contenu ou comportement inapproprié",
            "Inappropriate content or behaviour",
        ),
        ComplaintReason::WrongInformation => l.pick("Informations fausses", "Wrong information"),
        ComplaintReason::Other => l.pick("Autre raison", "Another reason"),
    }
}

/// A moderation action in words.
pub fn action_label(action: LabelAction, l: Lang) -> &'static str {
    match action {
        LabelAction::HideListing => l.pick("Annonce masquée", "Listing hidden"),
        LabelAction::CorrectListing => l.pick("Annonce corrigée", "Listing corrected"),
        LabelAction::CancelTransaction => l.pick("Transaction annulée", "Transaction cancelled"),
        LabelAction::WarnMember => l.pick("Membre averti", "Member warned"),
        LabelAction::RequireSponsors => l.pick(
            "Parrainages supplémentaires exigés",
            "More sponsors required",
        ),
        LabelAction::ExpelMember => l.pick("Membre exclu", "Member expelled"),
        LabelAction::TakeUpComplaint => l.pick("Signalement pris en charge", "Report taken up"),
        LabelAction::CloseComplaint => l.pick("Signalement clos", "Report closed"),
    }
}

/// A moderation action as a button's verb.
pub fn action_verb(action: LabelAction, l: Lang) -> &'static str {
    match action {
        LabelAction::HideListing => l.pick("Masquer l'annonce", "Hide the listing"),
        LabelAction::CorrectListing => l.pick("Corriger l'annonce", "Correct the listing"),
        LabelAction::CancelTransaction => {
            l.pick("Annuler la transaction", "Cancel the transaction")
        }
        LabelAction::WarnMember => l.pick("Avertir le membre", "Warn the member"),
        LabelAction::RequireSponsors => l.pick("Exiger plus de parrains", "Require more sponsors"),
        LabelAction::ExpelMember => l.pick("Exclure le membre", "Expel the member"),
        LabelAction::TakeUpComplaint => l.pick("Prendre en charge", "Take it up"),
        LabelAction::CloseComplaint => {
            l.pick("Clore sans autre mesure", "Close without further action")
        }
    }
}

fn subject_of(fields: (&str, &str, &str)) -> Option<ComplaintSubject> {
    match fields {
        (listing, "", "") => page::parse_id(listing).map(ComplaintSubject::Listing),
        ("", transaction, "") => page::parse_id(transaction).map(ComplaintSubject::Transaction),
        ("", "", member) => page::parse_key(member).map(ComplaintSubject::Member),
        _ => None,
    }
}

/// What the subject is, in words, if the member may complain about it.
fn describe_subject<B: Backend>(
    backend: &B,
    user: &SignedIn,
    subject: &ComplaintSubject,
    l: Lang,
) -> Result<(String, String), AppError> {
    match subject {
        ComplaintSubject::Listing(series) => {
            let view = backend.listing(series).ok_or(AppError::NotFound(l))?;
            Ok((
                l.pick_string(
                    format!("l'annonce « {} »", view.listing.title),
                    format!("the listing \"{}\"", view.listing.title),
                ),
                format!("/annonce/{}", series.to_hex()),
            ))
        }
        ComplaintSubject::Transaction(id) => {
            let t = backend.transaction(id).ok_or(AppError::NotFound(l))?;
            if t.opener != user.key && t.author != user.key {
                return Err(AppError::NotFound(l));
            }
            Ok((
                l.pick_string(
                    format!("la transaction sur « {} »", t.listing_title),
                    format!("the transaction on \"{}\"", t.listing_title),
                ),
                format!("/transaction/{}", id.to_hex()),
            ))
        }
        ComplaintSubject::Member(key) => {
            let who = named(backend, &[*key], l).remove(0);
            Ok((who.name, who.link))
        }
    }
}

fn require_member<'a, B: Backend>(
    state: &Shared<B>,
    visitor: &'a Visitor,
) -> Result<&'a SignedIn, AppError> {
    let user = require_user(visitor)?;
    let l = visitor.lang;
    if !state.backend.member(&user.key).status.is_in_good_standing() {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Seuls les membres peuvent faire un signalement.",
                "Only members can report.",
            ),
        ));
    }
    Ok(user)
}

fn form_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    f: &ComplaintFields,
    error: Option<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let user = require_member(state, visitor)?;
    let subject =
        subject_of((&f.annonce, &f.transaction, &f.membre)).ok_or(AppError::BadRequest(
            l,
            l.pick("Objet du signalement inconnu.", "Unknown report subject."),
        ))?;
    let (about, _) = describe_subject(&state.backend, user, &subject, l)?;
    let failed = error.is_some();
    render_form(
        ComplaintPage {
            p: state.page(visitor),
            about,
            hidden: [
                ("annonce", f.annonce.clone()),
                ("transaction", f.transaction.clone()),
                ("membre", f.membre.clone()),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
            reasons: ComplaintReason::ALL
                .iter()
                .map(|r| {
                    (
                        *r as u8,
                        reason_label(*r, l),
                        f.reason == (*r as u8).to_string(),
                    )
                })
                .collect(),
            text: f.text.clone(),
            error,
        },
        failed,
    )
}

/// `GET /signaler?annonce=…|transaction=…|membre=…`.
pub async fn form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(q): Query<SubjectParams>,
) -> Result<Response, AppError> {
    let fields = ComplaintFields {
        annonce: q.annonce,
        transaction: q.transaction,
        membre: q.membre,
        ..ComplaintFields::default()
    };
    form_page(&state, &visitor, &fields, None)
}

/// `POST /signaler`: signs the complaint.
pub async fn file<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<ComplaintFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let user = require_member(&state, &visitor)?.clone();
    let subject =
        subject_of((&f.annonce, &f.transaction, &f.membre)).ok_or(AppError::BadRequest(
            l,
            l.pick("Objet du signalement inconnu.", "Unknown report subject."),
        ))?;
    describe_subject(&state.backend, &user, &subject, l)?;
    let reason = f
        .reason
        .parse::<usize>()
        .ok()
        .and_then(|i| ComplaintReason::ALL.get(i).copied());
    let text = f.text.trim().to_string();
    let error = match (reason, text.len()) {
        (None, _) => Some(l.pick("Choisissez une raison.", "Choose a reason.")),
        (_, 0) => Some(l.pick("Expliquez ce qui s'est passé.", "Explain what happened.")),
        (_, n) if n > 2000 => Some(l.pick(
            "Votre texte est trop long (2 000 caractères au plus).",
            "Your text is too long (2,000 characters at most).",
        )),
        _ => None,
    };
    if let Some(message) = error {
        return form_page(&state, &visitor, &f, Some(message.into()));
    }
    let body = Body::from(Complaint {
        subject,
        reason: reason.unwrap_or(ComplaintReason::Other),
        text,
    });
    match sign_and_submit(&state.backend, &user, body, None, l).await? {
        Ok(_) => Ok(Redirect::to("/signalements").into_response()),
        Err(message) => form_page(&state, &visitor, &f, Some(message)),
    }
}

/// The status of a complaint in words, with the outcome's lines.
pub fn status_words<B: Backend>(
    backend: &B,
    moderation: &Moderation,
    status: &ComplaintStatus,
    l: Lang,
) -> (String, Vec<String>) {
    match status {
        ComplaintStatus::Received => (
            l.pick(
                "Reçu : en attente d'un modérateur",
                "Received: waiting for a moderator",
            )
            .into(),
            Vec::new(),
        ),
        ComplaintStatus::InProgress { moderator, since } => {
            let who = named(backend, &[*moderator], l).remove(0).name;
            (
                l.pick_string(
                    format!(
                        "En cours : pris en charge par {who} le {}",
                        page::date(*since, l)
                    ),
                    format!(
                        "In progress: taken up by {who} on {}",
                        page::date(*since, l)
                    ),
                ),
                Vec::new(),
            )
        }
        ComplaintStatus::Closed { at, outcome } => (
            l.pick_string(
                format!("Traité le {}", page::date(*at, l)),
                format!("Dealt with on {}", page::date(*at, l)),
            ),
            outcome
                .iter()
                .filter_map(|id| moderation.log_entry(id))
                .map(|e| format!("{} — {}", action_label(e.body.action, l), e.body.reason))
                .collect(),
        ),
    }
}

/// `GET /signalements`: the member's complaints and where each stands.
pub async fn mine<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let moderation = state.backend.moderation();
    let identity = state.backend.member(&user.key).identity;
    let mut mine: Vec<_> = moderation
        .complaints()
        .filter(|(_, (_, author, _))| *author == user.key || *author == identity)
        .collect();
    mine.sort_by_key(|(_, (at, _, _))| std::cmp::Reverse(*at));
    let lines = mine
        .into_iter()
        .map(|(id, (at, _, complaint))| {
            let status = moderation
                .complaint_status(id)
                .unwrap_or(ComplaintStatus::Received);
            let (status, outcome) = status_words(&state.backend, &moderation, &status, l);
            let (about, link) = subject_words(&state.backend, &complaint.subject, l);
            ComplaintLine {
                about,
                link,
                reason: reason_label(complaint.reason, l),
                filed: page::date(*at, l),
                status,
                outcome,
            }
        })
        .collect();
    render(ComplaintsPage {
        p: state.page(&visitor),
        lines,
    })
}

/// A subject in words and its link, without access checks (for lists).
pub fn subject_words<B: Backend>(
    backend: &B,
    subject: &ComplaintSubject,
    l: Lang,
) -> (String, String) {
    match subject {
        ComplaintSubject::Listing(series) => (
            backend.listing(series).map_or_else(
                || {
                    l.pick("une annonce effacée", "an erased listing")
                        .to_string()
                },
                |v| format!("« {} »", v.listing.title),
            ),
            format!("/annonce/{}", series.to_hex()),
        ),
        ComplaintSubject::Transaction(id) => (
            backend.transaction(id).map_or_else(
                || l.pick("une transaction", "a transaction").to_string(),
                |t| {
                    l.pick_string(
                        format!("transaction sur « {} »", t.listing_title),
                        format!("transaction on \"{}\"", t.listing_title),
                    )
                },
            ),
            format!("/transaction/{}", id.to_hex()),
        ),
        ComplaintSubject::Member(key) => member_words(backend, key, l),
    }
}

fn member_words<B: Backend>(backend: &B, key: &PublicKey, l: Lang) -> (String, String) {
    let who = named(backend, &[*key], l).remove(0);
    (who.name, who.link)
}
