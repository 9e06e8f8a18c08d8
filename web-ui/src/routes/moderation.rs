//! The moderators' pages: the complaints queue, and one complaint with its context and the
//! actions, each a signed label with a reason. The public log is in `moderation_log`.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{ComplaintSubject, LabelAction, ModerationLabel};
use maillon_protocol::moderation::ComplaintStatus;
use maillon_protocol::{Body, PublicKey, RecordId};
use serde::Deserialize;

use super::complaints::{action_verb, reason_label, status_words, subject_words};
use super::extract::{with_csrf, CheckedForm};
use super::view::{named, Named};
use super::{render, render_form, require_user, sign_and_submit, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::{Lang, SignedIn, Visitor};
use crate::Shared;

/// Misses of the duty to answer, over [`MISS_WINDOW_MS`], that put a member in the queue.
pub const MISSES_FOR_QUEUE: u32 = 3;
/// The window over which misses are counted: 90 days.
pub const MISS_WINDOW_MS: u64 = 90 * 24 * 3600 * 1000;

/// One complaint in the queue.
#[derive(Clone, Debug)]
pub struct QueueLine {
    link: String,
    about: String,
    reason: &'static str,
    filed: String,
    status: String,
}

#[derive(Template)]
#[template(path = "moderation.html")]
struct QueuePage {
    p: Page,
    open: Vec<QueueLine>,
    missers: Vec<(Named, u32)>,
}

/// A member involved in a complaint, with their sponsors.
#[derive(Clone, Debug)]
pub struct Involved {
    who: Named,
    role: &'static str,
    status: String,
    sponsors: Vec<Named>,
}

/// An action a moderator may take on this complaint.
#[derive(Clone, Debug)]
pub struct ActionChoice {
    code: u8,
    label: &'static str,
    target: String,
    confirm: Option<&'static str>,
    needs_note: bool,
    needs_count: bool,
    /// Chosen in the form being shown again.
    chosen: bool,
}

#[derive(Template)]
#[template(path = "moderation_case.html")]
struct CasePage {
    p: Page,
    id: String,
    complainant: Named,
    reason: &'static str,
    text: String,
    filed: String,
    about: String,
    about_link: String,
    status: String,
    outcome: Vec<String>,
    listing: Option<(String, String)>,
    messages: Vec<(String, String, String)>,
    involved: Vec<Involved>,
    actions: Vec<ActionChoice>,
    has_correction: bool,
    has_count: bool,
    /// What the moderator typed, shown again with an error.
    kept: ActionFields,
    error: Option<String>,
}

/// The signed-in moderator, or a refusal.
pub(super) fn require_moderator<'a, B: Backend>(
    state: &Shared<B>,
    visitor: &'a Visitor,
) -> Result<&'a SignedIn, AppError> {
    let user = require_user(visitor)?;
    let l = visitor.lang;
    let now = state.backend.now();
    if !state.backend.moderation().is_moderator_at(&user.key, now) {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Cette page est réservée aux modérateurs nommés par le conseil.",
                "This page is for moderators appointed by the council.",
            ),
        ));
    }
    Ok(user)
}

/// `GET /moderation`: complaints not yet dealt with, oldest first, and the members who
/// often leave transactions unanswered.
pub async fn queue<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    require_moderator(&state, &visitor)?;
    let l = visitor.lang;
    let moderation = state.backend.moderation();
    let mut open: Vec<_> = moderation
        .complaints()
        .filter_map(|(id, (at, _, c))| {
            let status = moderation.complaint_status(id)?;
            (!matches!(status, ComplaintStatus::Closed { .. })).then_some((id, at, c, status))
        })
        .collect();
    open.sort_by_key(|(id, at, _, _)| (**at, **id));
    let open = open
        .into_iter()
        .map(|(id, at, c, status)| QueueLine {
            link: format!("/moderation/signalement/{}", id.to_hex()),
            about: subject_words(&state.backend, &c.subject, l).0,
            reason: reason_label(c.reason, l),
            filed: page::date(*at, l),
            status: status_words(&state.backend, &moderation, &status, l).0,
        })
        .collect();
    let since = state.backend.now().minus_ms(MISS_WINDOW_MS);
    let missers = state
        .backend
        .missed_answers(since, MISSES_FOR_QUEUE)
        .into_iter()
        .map(|(key, n)| (named(&state.backend, &[key], l).remove(0), n))
        .collect();
    render(QueuePage {
        p: state.page(&visitor),
        open,
        missers,
    })
}

fn involved<B: Backend>(backend: &B, key: &PublicKey, role: &'static str, l: Lang) -> Involved {
    let member = backend.member(key);
    Involved {
        who: named(backend, &[*key], l).remove(0),
        role,
        status: super::view::status_text(&member.status, l),
        sponsors: named(backend, &member.sponsors, l),
    }
}

/// The actions that fit a complaint's subject, with their targets.
fn action_choices<B: Backend>(
    backend: &B,
    id: &RecordId,
    subject: &ComplaintSubject,
    l: Lang,
) -> Vec<ActionChoice> {
    let choice = |action: LabelAction, target: String| ActionChoice {
        code: action as u8,
        label: action_verb(action, l),
        target,
        confirm: (action == LabelAction::ExpelMember).then(|| {
            l.pick(
                "Exclure ce membre pour toujours ? Ses parrains recevront un avertissement.",
                "Expel this member for good? Their sponsors will get a strike.",
            )
        }),
        needs_note: action == LabelAction::CorrectListing,
        needs_count: action == LabelAction::RequireSponsors,
        chosen: false,
    };
    let mut out = vec![choice(LabelAction::TakeUpComplaint, id.to_hex())];
    let member = match subject {
        ComplaintSubject::Listing(series) => {
            out.push(choice(LabelAction::HideListing, series.to_hex()));
            out.push(choice(LabelAction::CorrectListing, series.to_hex()));
            backend.listing(series).map(|v| v.author)
        }
        ComplaintSubject::Transaction(t) => {
            out.push(choice(LabelAction::CancelTransaction, t.to_hex()));
            backend.transaction(t).map(|t| t.author)
        }
        ComplaintSubject::Member(key) => Some(*key),
    };
    if let Some(key) = member {
        for action in [
            LabelAction::WarnMember,
            LabelAction::RequireSponsors,
            LabelAction::ExpelMember,
        ] {
            out.push(choice(action, key.to_hex()));
        }
    }
    out.push(choice(LabelAction::CloseComplaint, id.to_hex()));
    out
}

fn case_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    id: &RecordId,
    kept: ActionFields,
    error: Option<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let moderation = state.backend.moderation();
    let (filed, complainant, complaint) = moderation
        .complaints()
        .find(|(c, _)| *c == id)
        .map(|(_, (at, who, c))| (*at, *who, c.clone()))
        .ok_or(AppError::NotFound(l))?;
    let status = moderation
        .complaint_status(id)
        .unwrap_or(ComplaintStatus::Received);
    let (status, outcome) = status_words(&state.backend, &moderation, &status, l);
    let (about, about_link) = subject_words(&state.backend, &complaint.subject, l);
    let backend = &state.backend;
    let mut people = vec![involved(
        backend,
        &complainant,
        l.pick("auteur du signalement", "reporter"),
        l,
    )];
    let (mut listing, mut messages) = (None, Vec::new());
    match &complaint.subject {
        ComplaintSubject::Listing(series) => {
            if let Some(v) = backend.listing(series) {
                listing = Some((v.listing.title.clone(), v.listing.description.clone()));
                people.push(involved(
                    backend,
                    &v.author,
                    l.pick("auteur de l'annonce", "listing author"),
                    l,
                ));
            }
        }
        ComplaintSubject::Transaction(t) => {
            if let Some(t) = backend.transaction(t) {
                if let Some(v) = backend.listing(&t.listing) {
                    listing = Some((v.listing.title.clone(), v.listing.description.clone()));
                }
                people.push(involved(
                    backend,
                    &t.author,
                    l.pick("auteur de l'annonce", "listing author"),
                    l,
                ));
                people.push(involved(
                    backend,
                    &t.opener,
                    l.pick("a ouvert la transaction", "opened the transaction"),
                    l,
                ));
                let names = named(backend, &[t.author, t.opener], l);
                messages = t
                    .messages
                    .iter()
                    .map(|m| {
                        let who = if m.from == t.author {
                            &names[0]
                        } else {
                            &names[1]
                        };
                        (who.name.clone(), page::date_time(m.at, l), m.text.clone())
                    })
                    .collect();
            }
        }
        ComplaintSubject::Member(key) => {
            people.push(involved(
                backend,
                key,
                l.pick("membre signalé", "reported member"),
                l,
            ));
        }
    }
    let failed = error.is_some();
    let mut actions = action_choices(backend, id, &complaint.subject, l);
    for action in &mut actions {
        action.chosen = kept.action == action.code.to_string();
    }
    render_form(
        CasePage {
            p: state.page(visitor),
            id: id.to_hex(),
            complainant: people[0].who.clone(),
            reason: reason_label(complaint.reason, l),
            text: complaint.text.clone(),
            filed: page::date(filed, l),
            about,
            about_link,
            status,
            outcome,
            listing,
            messages,
            involved: people,
            has_correction: actions.iter().any(|a| a.needs_note),
            has_count: actions.iter().any(|a| a.needs_count),
            actions,
            kept,
            error,
        },
        failed,
    )
}

/// `GET /moderation/signalement/{id}`.
pub async fn case<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require_moderator(&state, &visitor)?;
    let id = page::parse_id(&id).ok_or(AppError::NotFound(visitor.lang))?;
    case_page(&state, &visitor, &id, ActionFields::default(), None)
}

/// The action form's fields. The target may be left out: each action appears once on a
/// complaint, so the action names its target.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActionFields {
    csrf: String,
    action: String,
    target: String,
    reason: String,
    correction: String,
    required: String,
}
with_csrf!(ActionFields);

fn target_bytes(text: &str) -> Option<[u8; 32]> {
    page::parse_id(text).map(|id| id.0)
}

/// Checks an action form; the label to sign, or a message for the form.
fn label_from(f: &ActionFields, complaint: RecordId, l: Lang) -> Result<ModerationLabel, String> {
    let action = f
        .action
        .parse::<usize>()
        .ok()
        .and_then(|i| LabelAction::ALL.get(i).copied())
        .ok_or_else(|| {
            l.pick("Choisissez une action.", "Choose an action.")
                .to_string()
        })?;
    let target = target_bytes(&f.target).ok_or_else(|| {
        l.pick(
            "Choisissez une des décisions proposées.",
            "Choose one of the decisions offered.",
        )
        .to_string()
    })?;
    let reason = f.reason.trim().to_string();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(l
            .pick(
                "Donnez la raison de la décision (1 000 caractères au plus) : elle sera publiée dans le journal.",
                "Give the reason for the decision (1,000 characters at most): it is published in the log.",
            )
            .into());
    }
    let correction = if action == LabelAction::CorrectListing {
        let note = f.correction.trim().to_string();
        if note.is_empty() || note.len() > 2000 {
            return Err(l
                .pick(
                    "Écrivez la correction à afficher sur l'annonce.",
                    "Write the correction to show on the listing.",
                )
                .into());
        }
        note
    } else {
        String::new()
    };
    let required_sponsors = if action == LabelAction::RequireSponsors {
        match f.required.trim().parse::<u64>() {
            Ok(n) if (2..=16).contains(&n) => Some(n),
            _ => {
                return Err(l
                    .pick(
                        "Le nombre de parrains exigés va de 2 à 16.",
                        "Required sponsors go from 2 to 16.",
                    )
                    .into())
            }
        }
    } else {
        None
    };
    Ok(ModerationLabel {
        action,
        target,
        reason,
        correction,
        required_sponsors,
        complaint: Some(complaint),
    })
}

/// `POST /moderation/signalement/{id}`: signs one action on the complaint.
pub async fn act<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(id): Path<String>,
    CheckedForm(f): CheckedForm<ActionFields>,
) -> Result<Response, AppError> {
    let user = require_moderator(&state, &visitor)?.clone();
    let l = visitor.lang;
    let id = page::parse_id(&id).ok_or(AppError::NotFound(l))?;
    let moderation = state.backend.moderation();
    let subject = moderation
        .complaints()
        .find(|(c, _)| **c == id)
        .map(|(_, (_, _, c))| c.subject)
        .ok_or(AppError::NotFound(l))?;
    let choices = action_choices(&state.backend, &id, &subject, l);
    let mut f = f;
    if f.target.trim().is_empty() {
        if let Some(choice) = choices.iter().find(|c| c.code.to_string() == f.action) {
            f.target = choice.target.clone();
        }
    }
    let label = match label_from(&f, id, l) {
        Ok(label) => label,
        Err(message) => return case_page(&state, &visitor, &id, f, Some(message)),
    };
    let allowed = choices
        .iter()
        .any(|c| c.code == label.action as u8 && c.target == f.target);
    if !allowed {
        return Err(AppError::BadRequest(
            l,
            l.pick(
                "Cette action ne porte pas sur ce signalement.",
                "This action is not about this report.",
            ),
        ));
    }
    match sign_and_submit(&state.backend, &user, Body::from(label), None, l).await? {
        Ok(_) => {
            Ok(Redirect::to(&format!("/moderation/signalement/{}", id.to_hex())).into_response())
        }
        Err(message) => case_page(&state, &visitor, &id, f, Some(message)),
    }
}
