//! Taking a founder out of the draft before the signature: by themselves (with their
//! passphrase), or, for a founder who lost it, by whoever holds the founding code.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::routes::{
    open_founder, outcome_text, page_for, wrong_passphrase, Errors, PassFields, RegisterFields, V,
};
use super::{FoundingBackend, FoundingOutcome, Shared};
use crate::error::AppError;
use crate::routes::extract::{with_csrf, CheckedForm};

/// `POST /fondation/retirer`: a founder withdraws before the signature.
pub async fn withdraw<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    visitor: V,
    CheckedForm(f): CheckedForm<PassFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    let view = state.backend.view()?;
    let mut e = Errors::default();
    let Some((founder, _)) = open_founder(&state, &view, &f, l).await? else {
        e.approve = Some(wrong_passphrase(l));
        return page_for(&state, &visitor, None, RegisterFields::default(), e);
    };
    let outcome = state.backend.withdraw(&founder.login)?;
    e.approve = outcome_text(&outcome, l);
    let notice = e.approve.is_none().then(|| {
        l.pick_string(
            format!(
                "{} ne fait plus partie des fondateurs ; son compte est supprimé.",
                founder.display_name
            ),
            format!(
                "{} is no longer a founder; their account is deleted.",
                founder.display_name
            ),
        )
    });
    page_for(&state, &visitor, notice, RegisterFields::default(), e)
}

/// The form removing a founder with the founding code.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveFields {
    csrf: String,
    login: String,
    code: String,
}
with_csrf!(RemoveFields);

/// `POST /fondation/retirer-code`: removes a founder who lost their passphrase, on the word
/// of whoever holds the founding code.
pub async fn remove<F: FoundingBackend>(
    State(state): State<Shared<F>>,
    visitor: V,
    CheckedForm(f): CheckedForm<RemoveFields>,
) -> Result<Response, AppError> {
    let l = visitor.lang;
    if !state.limiter.allowed("founding-code", None) {
        return Err(AppError::TooManyAttempts(l));
    }
    let login = f.login.trim().to_lowercase();
    let outcome = state.backend.remove(&f.code, &login)?;
    if outcome == FoundingOutcome::WrongCode {
        state.limiter.failed("founding-code", None);
    }
    let e = Errors::approval(outcome_text(&outcome, l));
    let notice = e.approve.is_none().then(|| {
        l.pick_string(
            format!("Le fondateur « {login} » est retiré ; son compte est supprimé."),
            format!("The founder \"{login}\" is removed; their account is deleted."),
        )
    });
    page_for(&state, &visitor, notice, RegisterFields::default(), e)
}
