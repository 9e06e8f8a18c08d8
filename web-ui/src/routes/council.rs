//! The council's pages: appointing and removing moderators with k of n council signatures.
//!
//! A council member proposes (a member, appoint or remove, a time fixed now) and gets a link
//! to send to the other council members. Each opens it on their own node, checks it and
//! co-signs: the page shows a signature code to send back. The proposer pastes the codes
//! and signs the appointment record, which every node then checks (docs/PROTOCOL.md, kind 14).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{appointment_message, AppointmentAction, ModeratorAppointment};
use maillon_protocol::signature::verify;
use maillon_protocol::{Body, PublicKey, Signature, Timestamp};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm};
use super::view::{named, Named};
use super::{render_form, require_user, sign_and_submit_at, V};
use crate::backend::Backend;
use crate::error::AppError;
use crate::page::{self, Page};
use crate::session::{Lang, SignedIn, Visitor};
use crate::Shared;

/// A proposal, as carried in links: who, what, when.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProposalParams {
    membre: String,
    action: String,
    date: String,
}

struct Proposal {
    moderator: PublicKey,
    action: AppointmentAction,
    created: Timestamp,
}

impl Proposal {
    fn parse(p: &ProposalParams) -> Option<Proposal> {
        Some(Proposal {
            moderator: member_key(&p.membre)?,
            action: match p.action.as_str() {
                "nommer" => AppointmentAction::Appoint,
                "retirer" => AppointmentAction::Remove,
                _ => return None,
            },
            created: Timestamp(p.date.parse().ok()?),
        })
    }

    fn query(&self) -> String {
        let action = match self.action {
            AppointmentAction::Appoint => "nommer",
            AppointmentAction::Remove => "retirer",
        };
        format!(
            "membre={}&action={action}&date={}",
            self.moderator.to_hex(),
            self.created.0
        )
    }
}

/// A key from a profile address or its hex.
fn member_key(text: &str) -> Option<PublicKey> {
    let text = text.trim().trim_end_matches('/');
    page::parse_key(text.rsplit('/').next().unwrap_or(text))
}

#[derive(Template)]
#[template(path = "council.html")]
struct CouncilPage {
    p: Page,
    moderators: Vec<Named>,
    /// "2 membres du conseil": how many signatures an appointment takes.
    signatures_needed: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "council_proposal.html")]
struct ProposalPage {
    p: Page,
    hidden: Vec<(&'static str, String)>,
    link: String,
    moderator: Named,
    appoint: bool,
    date: String,
    needed: u64,
    my_code: String,
    codes: String,
    error: Option<String>,
}

fn require_council<'a, B: Backend>(
    state: &Shared<B>,
    visitor: &'a Visitor,
) -> Result<&'a SignedIn, AppError> {
    let user = require_user(visitor)?;
    let l = visitor.lang;
    if !state.backend.site().charter.council.contains(&user.key) {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Cette page est réservée au conseil du réseau.",
                "This page is for the network's council.",
            ),
        ));
    }
    Ok(user)
}

fn council_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    error: Option<String>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let moderators = state
        .backend
        .moderation()
        .moderators_at(state.backend.now());
    let failed = error.is_some();
    render_form(
        CouncilPage {
            p: state.page(visitor),
            moderators: named(&state.backend, &moderators, l),
            signatures_needed: crate::page::counted(
                state.backend.site().charter.council_threshold,
                ("membre du conseil", "membres du conseil"),
                ("council member", "council members"),
                l,
            ),
            error,
        },
        failed,
    )
}

/// `GET /conseil`: the moderators in office and the proposal form.
pub async fn council<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
) -> Result<Response, AppError> {
    require_council(&state, &visitor)?;
    council_page(&state, &visitor, None)
}

/// The proposal form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProposeFields {
    csrf: String,
    membre: String,
    action: String,
}
with_csrf!(ProposeFields);

/// `POST /conseil`: fixes the proposal's time and goes to its page.
pub async fn propose<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<ProposeFields>,
) -> Result<Response, AppError> {
    require_council(&state, &visitor)?;
    let l = visitor.lang;
    let params = ProposalParams {
        membre: f.membre,
        action: f.action,
        date: state.backend.now().0.to_string(),
    };
    let Some(proposal) = Proposal::parse(&params) else {
        return council_page(
            &state,
            &visitor,
            Some(
                l.pick(
                    "Collez l'adresse du profil du membre (…/membre/…) et choisissez nommer ou retirer.",
                    "Paste the member's profile address (…/membre/…) and choose appoint or remove.",
                )
                .into(),
            ),
        );
    };
    if !state
        .backend
        .member(&proposal.moderator)
        .status
        .is_in_good_standing()
        && proposal.action == AppointmentAction::Appoint
    {
        return council_page(
            &state,
            &visitor,
            Some(
                l.pick(
                    "Seul un membre peut être nommé modérateur.",
                    "Only a member can be appointed.",
                )
                .into(),
            ),
        );
    }
    Ok(Redirect::to(&format!("/conseil/proposition?{}", proposal.query())).into_response())
}

fn proposal_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    proposal: &Proposal,
    codes: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let user = require_council(state, visitor)?;
    let l = visitor.lang;
    let site = state.backend.site();
    let query = proposal.query();
    let message = appointment_message(
        &site.network,
        &proposal.moderator,
        proposal.action,
        proposal.created,
    );
    let failed = error.is_some();
    render_form(
        ProposalPage {
            p: state.page(visitor),
            link: format!("/conseil/proposition?{query}"),
            hidden: vec![
                ("membre", proposal.moderator.to_hex()),
                (
                    "action",
                    if proposal.action == AppointmentAction::Appoint {
                        "nommer"
                    } else {
                        "retirer"
                    }
                    .into(),
                ),
                ("date", proposal.created.0.to_string()),
            ],
            moderator: named(&state.backend, &[proposal.moderator], l).remove(0),
            appoint: proposal.action == AppointmentAction::Appoint,
            date: page::date_time(proposal.created, l),
            needed: site.charter.council_threshold.saturating_sub(1),
            my_code: page::signature_code(&user.key, &user.secret.sign(&message)),
            codes,
            error,
        },
        failed,
    )
}

/// `GET /conseil/proposition?membre=…&action=…&date=…`: the proposal, the council member's
/// own co-signature code, and the form to publish with the others' codes.
pub async fn proposal<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(q): Query<ProposalParams>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let proposal = Proposal::parse(&q).ok_or(AppError::BadRequest(
        l,
        l.pick("Proposition incomplète.", "Incomplete proposal."),
    ))?;
    proposal_page(&state, &visitor, &proposal, String::new(), None)
}

/// The publishing form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishFields {
    csrf: String,
    membre: String,
    action: String,
    date: String,
    codes: String,
}
with_csrf!(PublishFields);

/// Checks the pasted codes: each a council member's valid signature of the statement.
fn check_codes<B: Backend>(
    backend: &B,
    author: &PublicKey,
    proposal: &Proposal,
    codes: &str,
    l: Lang,
) -> Result<Vec<(PublicKey, Signature)>, String> {
    let site = backend.site();
    let message = appointment_message(
        &site.network,
        &proposal.moderator,
        proposal.action,
        proposal.created,
    );
    let mut signatures: Vec<(PublicKey, Signature)> = Vec::new();
    for line in codes.lines().map(str::trim).filter(|line| !line.is_empty()) {
        let Some((key, signature)) = page::parse_signature_code(line) else {
            return Err(l.pick_string(
                format!("Code illisible : {line}"),
                format!("Unreadable code: {line}"),
            ));
        };
        if !site.charter.council.contains(&key) || key == *author {
            return Err(l
                .pick(
                    "Un code ne vient pas d'un autre membre du conseil.",
                    "A code is not from another council member.",
                )
                .into());
        }
        if verify(&key, &message, &signature).is_err() {
            return Err(l
                .pick(
                    "Un code ne correspond pas à cette proposition.",
                    "A code does not match this proposal.",
                )
                .into());
        }
        if !signatures.iter().any(|(k, _)| *k == key) {
            signatures.push((key, signature));
        }
    }
    let needed = site.charter.council_threshold.saturating_sub(1) as usize;
    if signatures.len() < needed {
        return Err(l.pick_string(
            format!(
                "Il faut {} d'autres membres du conseil ; vous en avez collé {}.",
                crate::page::counted(needed as u64, ("code", "codes"), ("code", "codes"), l),
                signatures.len()
            ),
            format!(
                "{} from other council members {} needed; you pasted {}.",
                crate::page::counted(needed as u64, ("code", "codes"), ("code", "codes"), l),
                if needed == 1 { "is" } else { "are" },
                signatures.len()
            ),
        ));
    }
    signatures.sort_by_key(|(k, _)| *k);
    Ok(signatures)
}

/// `POST /conseil/proposition`: signs and publishes the appointment with the codes.
pub async fn publish<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    CheckedForm(f): CheckedForm<PublishFields>,
) -> Result<Response, AppError> {
    let user = require_council(&state, &visitor)?.clone();
    let l = visitor.lang;
    let params = ProposalParams {
        membre: f.membre.clone(),
        action: f.action.clone(),
        date: f.date.clone(),
    };
    let proposal = Proposal::parse(&params).ok_or(AppError::BadRequest(
        l,
        l.pick("Proposition incomplète.", "Incomplete proposal."),
    ))?;
    let council_signatures = match check_codes(&state.backend, &user.key, &proposal, &f.codes, l) {
        Ok(signatures) => signatures,
        Err(message) => return proposal_page(&state, &visitor, &proposal, f.codes, Some(message)),
    };
    let body = Body::from(ModeratorAppointment {
        moderator: proposal.moderator,
        action: proposal.action,
        council_signatures,
    });
    // The record's time is the proposal's: the co-signed statement includes it.
    match sign_and_submit_at(&state.backend, &user, body, proposal.created, l).await? {
        Ok(_) => Ok(Redirect::to("/conseil").into_response()),
        Err(message) => proposal_page(&state, &visitor, &proposal, f.codes, Some(message)),
    }
}
