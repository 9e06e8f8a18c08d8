//! The founding pages: the draft and its founders, a founder's registration, approvals, and
//! the signature that founds the network.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use maillon_protocol::kinds::{node_operator_message, Profile};
use maillon_protocol::{Draft, Record, SecretKey};
use serde::Deserialize;

use super::{
    number_lines, unviable_text, FounderAdded, FounderView, FoundingBackend, FoundingOutcome,
    FoundingView, NewFounder, Shared,
};
use crate::backend::BackendError;
use crate::error::AppError;
use crate::keys::{self, KeyError};
use crate::page::{fingerprint, Page};
use crate::routes::extract::{with_csrf, CheckedForm};
use crate::routes::identity::{self, Identity, IdentityErrors, IdentityInput};
use crate::routes::{blocking, render, render_form};
use crate::session::{Lang, Visitor};

/// The registration form.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterFields {
    csrf: String,
    code: String,
    login: String,
    name: String,
    place: String,
    passphrase: String,
    confirm: String,
    council: String,
}
with_csrf!(RegisterFields);

/// The approval and signature forms.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PassFields {
    pub(super) csrf: String,
    login: String,
    passphrase: String,
    confirm: String,
}
with_csrf!(PassFields);

/// Messages next to the forms.
#[derive(Clone, Debug, Default)]
pub struct Errors {
    code: Option<String>,
    id: IdentityErrors,
    pub(super) approve: Option<String>,
    sign: Option<String>,
}

impl Errors {
    /// Only a message next to the approval form.
    pub(super) fn approval(message: Option<String>) -> Errors {
        Errors {
            approve: message,
            ..Errors::default()
        }
    }

    fn any(&self) -> bool {
        self.code.is_some() || self.id.any() || self.approve.is_some() || self.sign.is_some()
    }
}

/// A founder's line in the list.
pub struct FounderRow {
    name: String,
    town: String,
    fingerprint: String,
    key: String,
    council: bool,
    approved: bool,
}

#[derive(Template)]
#[template(path = "founding.html")]
struct FoundingPage {
    p: Page,
    network_id: String,
    rules: String,
    numbers: Vec<(&'static str, String)>,
    founders: Vec<FounderRow>,
    expected: usize,
    problems: Vec<String>,
    founded: bool,
    notice: Option<String>,
    f: RegisterFields,
    e: Errors,
}

#[derive(Template)]
#[template(path = "founding_key.html")]
struct KeyPage {
    p: Page,
    name: String,
    key_groups: Vec<String>,
    fingerprint: String,
}

pub(super) type V = Extension<Visitor>;

pub(super) fn page_for<F: FoundingBackend>(
    state: &Shared<F>,
    visitor: &Visitor,
    notice: Option<String>,
    f: RegisterFields,
    e: Errors,
) -> Result<Response, AppError> {
    let view = state.backend.view()?;
    let l = visitor.lang;
    let problems = maillon_protocol::viability::check(&view.charter)
        .iter()
        .map(|problem| unviable_text(problem, l))
        .collect();
    let failed = e.any();
    let template = FoundingPage {
        p: Page::for_visitor(visitor, &view.charter.name, &view.node_name),
        network_id: view.charter.network_id().to_string(),
        rules: view.charter.rules.clone(),
        numbers: number_lines(&view.charter, l),
        founders: view
            .founders
            .iter()
            .map(|founder| FounderRow {
                name: founder.display_name.clone(),
                town: format!("{} {}", founder.postcode, founder.town),
                fingerprint: fingerprint(&founder.key),
                key: founder.key.to_hex(),
                council: founder.council,
                approved: founder.approved,
            })
            .collect(),
        expected: view.expected_founders,
        problems,
        founded: view.founded,
        notice,
        f: RegisterFields {
            passphrase: String::new(),
            confirm: String::new(),
            csrf: String::new(),
            ..f
        },
        e,
    };
    render_form(template, failed)
}

/// `GET /fondation`.
pub async fn show<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    visitor: V,
) -> Result<Response, AppError> {
    page_for(
        &state,
        &visitor,
        None,
        RegisterFields {
            council: "oui".into(),
            ..RegisterFields::default()
        },
        Errors::default(),
    )
}

fn check_registration(f: &RegisterFields, l: Lang) -> (Errors, Option<Identity>) {
    let input = IdentityInput {
        login: &f.login,
        name: &f.name,
        place: &f.place,
        passphrase: &f.passphrase,
        confirm: &f.confirm,
    };
    let (id, identity) = identity::check(&input, l);
    let mut e = Errors {
        id,
        ..Errors::default()
    };
    if f.code.trim().is_empty() {
        e.code = Some(
            l.pick(
                "Écrivez le code de fondation que l'exploitant du nœud vous a donné.",
                "Type the founding code the node's operator gave you.",
            )
            .into(),
        );
    }
    match identity {
        Some(identity) if e.code.is_none() => (e, Some(identity)),
        _ => (e, None),
    }
}

/// `POST /fondation/fondateur`: creates a founder's key and account, shows the key.
pub async fn register<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    visitor: V,
    CheckedForm(f): CheckedForm<RegisterFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let (mut e, checked) = check_registration(&f, l);
    let Some(Identity { login, name, place }) = checked else {
        return page_for(&state, &visitor, None, f, e);
    };
    if !state.limiter.allowed("founding-code", None) {
        return Err(AppError::TooManyAttempts(l));
    }
    let (kdf, now) = (state.config.kdf, state.backend.now());
    let (secret, account) = identity::new_account(&login, &f.passphrase, kdf, now).await?;
    let founder = NewFounder {
        account,
        display_name: name.clone(),
        town: place.name.to_string(),
        postcode: place.postcode.to_string(),
        position: place.position,
        council: f.council == "oui",
    };
    match state.backend.add_founder(&f.code, founder)? {
        FounderAdded::Added => {}
        FounderAdded::WrongCode => {
            state.limiter.failed("founding-code", None);
            e.code = Some(l.pick("Ce code de fondation n'est pas le bon. Vérifiez-le auprès de l'exploitant du nœud.", "This founding code is wrong. Check it with the node's operator.").into());
        }
        FounderAdded::LoginTaken => {
            e.id.login = Some(
                l.pick(
                    "Cet identifiant est déjà pris : choisissez-en un autre.",
                    "This login is taken: choose another.",
                )
                .into(),
            )
        }
        FounderAdded::Full => {
            e.code = Some(
                l.pick(
                    "La charte compte déjà 32 fondateurs, le maximum.",
                    "The charter already has 32 founders, the most it may.",
                )
                .into(),
            )
        }
        FounderAdded::AlreadyFounded => {
            e.code = Some(
                l.pick(
                    "Le réseau est déjà fondé : rejoignez-le par l'inscription, avec des parrains.",
                    "The network is already founded: join it through registration, with sponsors.",
                )
                .into(),
            )
        }
    }
    if e.any() {
        return page_for(&state, &visitor, None, f, e);
    }
    let key = secret.public_key();
    let hex = key.to_hex();
    let view = state.backend.view()?;
    render(KeyPage {
        p: Page::for_visitor(&visitor, &view.charter.name, &view.node_name),
        name,
        key_groups: hex
            .as_bytes()
            .chunks(16)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
        fingerprint: fingerprint(&key),
    })
}

/// Opens a founder's key with their passphrase; `None` when the login or passphrase is wrong.
pub(super) async fn open_founder<F: FoundingBackend>(
    state: &Shared<F>,
    view: &FoundingView,
    f: &PassFields,
    l: Lang,
) -> Result<Option<(FounderView, SecretKey)>, AppError> {
    let login = f.login.trim().to_lowercase();
    if !state.limiter.allowed(&login, None) {
        return Err(AppError::TooManyAttempts(l));
    }
    let founder = view.founders.iter().find(|founder| founder.login == login);
    let (Some(founder), Some(account)) = (founder, state.backend.account(&login)?) else {
        state.limiter.failed(&login, None);
        return Ok(None);
    };
    let (sealed, passphrase, key) = (account.sealed_key, f.passphrase.clone(), account.key);
    match blocking(move || keys::open(&sealed, &passphrase, &key)).await? {
        Ok(secret) => {
            state.limiter.succeeded(&login, None);
            Ok(Some((founder.clone(), secret)))
        }
        Err(KeyError::WrongPassphrase) => {
            state.limiter.failed(&login, None);
            Ok(None)
        }
        Err(other) => Err(BackendError(other.to_string()).into()),
    }
}

fn signed_profile(
    view: &FoundingView,
    founder: &FounderView,
    secret: &SecretKey,
    created: maillon_protocol::Timestamp,
) -> Result<Record, AppError> {
    let profile = Profile {
        display_name: founder.display_name.clone(),
        home_node: view.node_key,
        town: founder.town.clone(),
        postcode: founder.postcode.clone(),
        position: founder.position,
        about: String::new(),
    };
    let draft = Draft {
        body: profile.into(),
        created,
        expires: None,
    };
    Record::sign(secret, &view.charter.network_id(), draft)
        .map_err(|e| BackendError(format!("the founder's profile: {e}")).into())
}

pub(super) fn wrong_passphrase(l: Lang) -> String {
    l.pick(
        "Identifiant de fondateur ou phrase de passe incorrect.",
        "Wrong founder login or passphrase.",
    )
    .into()
}

pub(super) fn outcome_text(outcome: &FoundingOutcome, l: Lang) -> Option<String> {
    match outcome {
        FoundingOutcome::Done => None,
        FoundingOutcome::DraftChanged => Some(l.pick("La charte a changé pendant ce temps (un fondateur s'est inscrit) : relisez-la et recommencez.", "The charter changed meanwhile (a founder registered): read it again and retry.").into()),
        FoundingOutcome::NotApproved(names) => Some(l.pick_string(
            format!("Ces fondateurs n'ont pas encore approuvé la charte telle qu'elle est : {}.", names.join(", ")),
            format!("These founders have not approved the charter as it stands: {}.", names.join(", ")),
        )),
        FoundingOutcome::Unviable => Some(l.pick("Cette charte ne peut pas fonctionner : voyez les problèmes indiqués plus haut.", "This charter cannot work: see the problems listed above.").into()),
        FoundingOutcome::AlreadyFounded => Some(l.pick("Le réseau est déjà fondé.", "The network is already founded.").into()),
        FoundingOutcome::WrongCode => Some(l.pick("Ce code de fondation n'est pas le bon.", "This founding code is wrong.").into()),
        FoundingOutcome::UnknownFounder => Some(l.pick("Aucun fondateur n'a cet identifiant.", "No founder has this login.").into()),
    }
}

/// `POST /fondation/approuver`: a founder approves the draft as it stands.
pub async fn approve<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    visitor: V,
    CheckedForm(f): CheckedForm<PassFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let view = state.backend.view()?;
    let mut e = Errors::default();
    let Some((founder, secret)) = open_founder(&state, &view, &f, l).await? else {
        e.approve = Some(wrong_passphrase(l));
        return page_for(&state, &visitor, None, RegisterFields::default(), e);
    };
    let profile = signed_profile(&view, &founder, &secret, state.backend.now())?;
    let outcome = state.backend.approve(&founder.login, profile)?;
    e.approve = outcome_text(&outcome, l);
    let notice = e.approve.is_none().then(|| {
        l.pick_string(
            format!(
                "{}, votre approbation est enregistrée.",
                founder.display_name
            ),
            format!("{}, your approval is recorded.", founder.display_name),
        )
    });
    page_for(&state, &visitor, notice, RegisterFields::default(), e)
}

/// `POST /fondation/signer`: a founder signs the charter and becomes this node's operator.
pub async fn sign<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    visitor: V,
    CheckedForm(f): CheckedForm<PassFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let view = state.backend.view()?;
    let mut e = Errors::default();
    if f.confirm != "oui" {
        e.sign = Some(
            l.pick(
                "Cochez la case pour confirmer que l'équipe a relu la charte et ses nombres.",
                "Tick the box to confirm the team has read the charter and its numbers.",
            )
            .into(),
        );
        return page_for(&state, &visitor, None, RegisterFields::default(), e);
    }
    let Some((founder, secret)) = open_founder(&state, &view, &f, l).await? else {
        e.sign = Some(wrong_passphrase(l));
        return page_for(&state, &visitor, None, RegisterFields::default(), e);
    };
    let now = state.backend.now();
    let profile = signed_profile(&view, &founder, &secret, now)?;
    let charter = match Record::sign_charter(&secret, view.charter.clone(), now) {
        Ok(charter) => charter,
        Err(_) => {
            e.sign = outcome_text(&FoundingOutcome::Unviable, l);
            return page_for(&state, &visitor, None, RegisterFields::default(), e);
        }
    };
    let operator_signature = secret.sign(&node_operator_message(
        &view.charter.network_id(),
        &view.node_key,
    ));
    let outcome = state
        .backend
        .found(&founder.login, profile, charter, operator_signature)?;
    e.sign = outcome_text(&outcome, l);
    let notice = e.sign.is_none().then(|| {
        l.pick(
            "Le réseau est fondé. Le nœud démarre : connectez-vous dans un instant avec votre identifiant et votre phrase de passe.",
            "The network is founded. The node is starting: sign in in a moment with your login and passphrase.",
        )
        .to_string()
    });
    page_for(&state, &visitor, notice, RegisterFields::default(), e)
}
