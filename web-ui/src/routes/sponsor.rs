//! Sponsorship: the candidate's progress page with their link and code, and the page where a
//! member who knows them signs a sponsorship, on any node.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maillon_protocol::kinds::{Relation, Sponsorship};
use maillon_protocol::membership::Status;
use maillon_protocol::{PublicKey, Timestamp};
use serde::Deserialize;

use super::extract::{with_csrf, CheckedForm, Member};
use super::view::{named, relation_label, Named};
use super::{own_site, render, sign_and_submit, V};
use crate::backend::{Backend, SiteLink};
use crate::error::AppError;
use crate::keys::{normalise_code, sponsor_code};
use crate::page::{self, Page};
use crate::session::{Lang, Visitor};
use crate::Shared;

/// A sponsorship is valid for 90 days.
pub const SPONSORSHIP_VALID_MS: u64 = 90 * Timestamp::DAY_MS;

#[derive(Template)]
#[template(path = "candidacy.html")]
struct CandidacyPage {
    p: Page,
    is_member: bool,
    probation_until: Option<String>,
    counted: u32,
    required: u32,
    progress: String,
    raised: bool,
    link: String,
    code: String,
    message: String,
    sponsors: Vec<Named>,
    /// The status, unless the progress already says it (a candidate).
    status: Option<String>,
}

/// `/candidature`: progress towards membership, the link and the code to hand out.
pub async fn candidacy<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let member = state.backend.member(&user.key);
    let charter_required = state.backend.site().charter.sponsors_required as u32;
    let (counted, required) = match member.status {
        Status::Candidate { sponsors, required }
        | Status::Lapsed {
            sponsors, required, ..
        } => (sponsors, required),
        _ => (member.sponsors.len() as u32, charter_required),
    };
    let mut sponsors = named(
        &state.backend,
        &member
            .sponsorships
            .iter()
            .map(|s| s.sponsor)
            .collect::<Vec<_>>(),
        l,
    );
    for (named, s) in sponsors.iter_mut().zip(&member.sponsorships) {
        named.detail = format!(
            "{} · {}",
            relation_label(s.relation, l),
            page::date(s.created, l)
        );
    }
    let probation_until = match member.status {
        Status::Probation { until, .. } => Some(page::date(until, l)),
        _ => None,
    };
    let code = sponsor_code(&user.key);
    let link = format!("{}/parrainer?code={code}", own_site(&state, &headers));
    let network = state.backend.site().charter.name.clone();
    render(CandidacyPage {
        p: state.page(&visitor),
        is_member: member.status.is_in_good_standing() && probation_until.is_none(),
        probation_until,
        counted,
        required,
        progress: super::view::sponsorship_progress(counted, required, l),
        raised: required > charter_required,
        message: request_message(&network, &link, &code, l),
        link,
        code,
        sponsors,
        status: match member.status {
            Status::Candidate { .. } => None,
            _ => Some(super::view::status_text(&member.status, l)),
        },
    })
}

/// The message a candidate sends to members who know them.
fn request_message(network: &str, link: &str, code: &str, l: Lang) -> String {
    l.pick_string(
        format!(
            "Bonjour, je demande à rejoindre {network}. Vous me connaissez : pouvez-vous me \
             parrainer ? Ouvrez ce lien : {link}\nSi vous êtes inscrit sur un autre site du \
             réseau, ouvrez « Parrainer » sur votre site et tapez mon code : {code}"
        ),
        format!(
            "Hello, I am asking to join {network}. You know me: could you sponsor me? Open \
             this link: {link}\nIf you signed up on another site of the network, open \
             \"Sponsor\" on your site and type my code: {code}"
        ),
    )
}

/// The code form's field.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeParams {
    code: String,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    p: Page,
    code: String,
    error: Option<String>,
}

/// `/parrainer?code=…`: a member types the code a candidate gave them.
pub async fn code_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Query(params): Query<CodeParams>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    if params.code.trim().is_empty() {
        return render(CodePage {
            p: state.page(&visitor),
            code: String::new(),
            error: None,
        });
    }
    let code = normalise_code(&params.code);
    let complete = |key: &maillon_protocol::PublicKey| state.backend.member(key).profile.is_some();
    let mut found = state.backend.candidate_by_code(&code);
    if !found.as_ref().is_some_and(complete) {
        // The candidacy may exist in the network before reaching this site.
        state.backend.catch_up().await;
        found = state.backend.candidate_by_code(&code);
    }
    let error = match found {
        // The profile travels in its own record: until it arrives there is no one to show.
        Some(key) if state.backend.member(&key).profile.is_some() => {
            return Ok(Redirect::to(&format!("/parrainage/{}", key.to_hex())).into_response());
        }
        Some(_) => l.pick("Cette candidature vient d'arriver sur ce site et sa fiche n'est pas encore complète. Réessayez dans une minute.", "This application has just reached this site and its profile is not complete yet. Try again in a minute."),
        None => l.pick("Aucune candidature n'a ce code. Vérifiez-le avec la personne qui vous l'a donné (8 caractères, comme ABCD-1234).", "No application has this code. Check it with the person who gave it to you (8 characters, like ABCD-1234)."),
    };
    let page = render(CodePage {
        p: state.page(&visitor),
        code: params.code.clone(),
        error: Some(error.into()),
    })?;
    Ok((StatusCode::NOT_FOUND, page).into_response())
}

#[derive(Template)]
#[template(path = "sponsor.html")]
struct SponsorPage {
    p: Page,
    key: String,
    name: String,
    town: String,
    fingerprint: String,
    code: String,
    status: String,
    can_sponsor: bool,
    reason: Option<String>,
    error: Option<String>,
    done: bool,
    relations: Vec<(u64, &'static str)>,
    /// For a visitor not signed in: the network's other sites, to sponsor from their own.
    elsewhere: Vec<SiteLink>,
}

fn sponsor_page<B: Backend>(
    state: &Shared<B>,
    visitor: &Visitor,
    candidate: &PublicKey,
    error: Option<String>,
    done: bool,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let member = state.backend.member(candidate);
    let Some(profile) = member.profile.clone() else {
        return Err(AppError::NotFound(l));
    };
    let reason = match &visitor.user {
        None => Some(l.pick(
            "Connectez-vous pour parrainer cette personne.",
            "Sign in to sponsor this person.",
        )),
        Some(u) if &u.key == candidate => Some(l.pick(
            "C'est votre propre candidature : donnez ce lien à des membres qui vous connaissent.",
            "This is your own application: give this link to members who know you.",
        )),
        Some(u) if !state.backend.member(&u.key).status.may_sponsor() => Some(l.pick(
            "Seuls les membres peuvent parrainer.",
            "Only members can sponsor.",
        )),
        Some(u) if member.sponsorships.iter().any(|s| s.sponsor == u.key) && !done => Some(l.pick(
            "Vous avez déjà parrainé cette personne.",
            "You already sponsored this person.",
        )),
        _ => None,
    };
    let failed = error.is_some();
    let relations = Relation::ALL
        .into_iter()
        .map(|r| (r as u64, relation_label(r, l)))
        .collect();
    let elsewhere = match visitor.user {
        None => state
            .backend
            .sites()
            .into_iter()
            .filter(|site| !site.this_site)
            .collect(),
        Some(_) => Vec::new(),
    };
    let page = render(SponsorPage {
        elsewhere,
        p: state.page(visitor),
        key: candidate.to_hex(),
        name: profile.display_name,
        town: format!("{} ({})", profile.town, profile.postcode),
        fingerprint: page::fingerprint(candidate),
        code: sponsor_code(candidate),
        status: super::view::status_text(&member.status, l),
        can_sponsor: reason.is_none() && !done,
        reason: reason.map(str::to_string),
        error,
        done,
        relations,
    })?;
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, page).into_response())
}

/// `GET /parrainage/{key}`: who is asking, and the form to sponsor them.
pub async fn sponsor_form<B: Backend>(
    State(state): State<Shared<B>>,
    visitor: V,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let candidate = page::parse_key(&key).ok_or(AppError::NotFound(visitor.lang))?;
    sponsor_page(&state, &visitor, &candidate, None, false)
}

/// The sponsorship form's fields.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SponsorFields {
    csrf: String,
    relation: String,
    note: String,
    know: String,
}
with_csrf!(SponsorFields);

/// `POST /parrainage/{key}`: signs the sponsorship.
pub async fn sponsor<B: Backend>(
    State(state): State<Shared<B>>,
    Member { visitor, user }: Member,
    Path(key): Path<String>,
    CheckedForm(f): CheckedForm<SponsorFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let candidate = page::parse_key(&key).ok_or(AppError::NotFound(l))?;
    let relation = f
        .relation
        .parse::<u64>()
        .ok()
        .and_then(|code| Relation::ALL.into_iter().find(|r| *r as u64 == code));
    let error = if relation.is_none() {
        Some(l.pick(
            "Dites comment vous connaissez cette personne.",
            "Say how you know this person.",
        ))
    } else if f.know != "oui" {
        Some(l.pick(
            "Cochez la case pour confirmer que vous connaissez cette personne dans la vraie vie.",
            "Tick the box to confirm you know this person in real life.",
        ))
    } else if f.note.len() > 500 {
        Some(l.pick(
            "Le mot est trop long (500 caractères au plus).",
            "The note is too long (500 characters at most).",
        ))
    } else {
        None
    };
    if let Some(error) = error {
        return sponsor_page(&state, &visitor, &candidate, Some(error.into()), false);
    }
    if user.key == candidate || state.backend.member(&candidate).profile.is_none() {
        return Err(AppError::Forbidden(
            l,
            l.pick(
                "Vous ne pouvez pas parrainer cette personne.",
                "You cannot sponsor this person.",
            ),
        ));
    }
    let body = Sponsorship {
        candidate,
        relation: relation.unwrap_or(Relation::Other),
        note: f.note.trim().to_string(),
    };
    let expires = state.backend.now().plus_ms(SPONSORSHIP_VALID_MS);
    match sign_and_submit(&state.backend, &user, body.into(), Some(expires), l).await? {
        Ok(_) => sponsor_page(&state, &visitor, &candidate, None, true),
        Err(message) => sponsor_page(&state, &visitor, &candidate, Some(message), false),
    }
}
