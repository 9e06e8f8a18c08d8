//! The public moderation log that every member can read, and retractions by moderators.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{ComplaintSubject, LabelAction, LabelRetraction};
use maillon_protocol::moderation::LogEntry;
use maillon_protocol::{Body, PublicKey, RecordId};
use serde::Deserialize;

use super::complaints::{action_label, subject_words};
use super::extract::{with_csrf, CheckedForm, Member};
use super::moderation::require_moderator;
use super::view::{named, Named};
use super::{render, sign_and_submit, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::Lang;
use crate::Shared;

/// One line of the public log.
#[derive(Clone, Debug)]
pub struct LogLine {
    label: String,
    when: String,
    moderator: Named,
    action: &'static str,
    target: String,
    target_link: String,
    reason: String,
    retracted: Option<String>,
    can_retract: bool,
}

#[derive(Template)]
#[template(path = "moderation_log.html")]
struct LogPage {
    p: Page,
    lines: Vec<LogLine>,
    is_moderator: bool,
}

fn log_line<B: Backend>(backend: &B, entry: &LogEntry, moderator: bool, l: Lang) -> LogLine {
    let action = entry.body.action;
    let (target, target_link) = if action.targets_record() || action.handles_complaint() {
        let id = RecordId(entry.body.target);
        match action {
            LabelAction::CancelTransaction => (
                l.pick("une transaction", "a transaction").into(),
                String::new(),
            ),
            LabelAction::TakeUpComplaint | LabelAction::CloseComplaint => (
                l.pick("un signalement", "a report").into(),
                if moderator {
                    format!("/moderation/signalement/{}", id.to_hex())
                } else {
                    String::new()
                },
            ),
            _ => subject_words(backend, &ComplaintSubject::Listing(id), l),
        }
    } else {
        subject_words(
            backend,
            &ComplaintSubject::Member(PublicKey(entry.body.target)),
            l,
        )
    };
    LogLine {
        label: entry.label.to_hex(),
        when: page::date(entry.at, l),
        moderator: named(backend, &[entry.moderator], l).remove(0),
        action: action_label(action, l),
        target,
        target_link,
        reason: entry.body.reason.clone(),
        retracted: entry.retracted.as_ref().map(|(_, at, why)| {
            l.pick_string(
                format!("Annulée le {} : {why}", page::date(*at, l)),
                format!("Retracted on {}: {why}", page::date(*at, l)),
            )
        }),
        can_retract: moderator && entry.retracted.is_none() && action != LabelAction::ExpelMember,
    }
}

/// `GET /moderation/journal`: every decision, its reason and its moderator.
pub async fn log<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let moderation = state.backend.moderation();
    let is_moderator = moderation.is_moderator_at(&user.key, state.backend.now());
    let lines = moderation
        .log()
        .iter()
        .take(500)
        .map(|e| log_line(&state.backend, e, is_moderator, l))
        .collect();
    render(LogPage {
        p: state.page(&visitor),
        lines,
        is_moderator,
    })
}

/// The retraction form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RetractFields {
    csrf: String,
    label: String,
    reason: String,
}
with_csrf!(RetractFields);

/// `POST /moderation/annuler`: retracts a label (never an expulsion).
pub async fn retract<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<RetractFields>,
) -> Result<Response, AppError> {
    let user = require_moderator(&state, &visitor)?.clone();
    let l = visitor.lang;
    let label = page::parse_id(&f.label).ok_or(AppError::NotFound(l))?;
    let reason = f.reason.trim().to_string();
    if reason.is_empty() || reason.len() > 1000 {
        return Err(AppError::BadRequest(
            l,
            l.pick(
                "Donnez la raison de l'annulation.",
                "Give the reason for the retraction.",
            ),
        ));
    }
    let body = Body::from(LabelRetraction { label, reason });
    match sign_and_submit(&state.backend, &user, body, None, l).await? {
        Ok(_) => Ok(Redirect::to("/moderation/journal").into_response()),
        Err(message) => Err(AppError::Refused(l, message)),
    }
}
