//! `AppError`: every way a page can fail, turned into a response the member understands.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::backend::BackendError;
use crate::page::Page;
use crate::session::Lang;

/// A failure of a page handler.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page or object.
    #[error("not found")]
    NotFound(Lang),
    /// The object exists in the network but has not reached this site yet.
    #[error("not arrived yet")]
    NotYetHere(Lang),
    /// The visitor may not do this.
    #[error("forbidden: {1}")]
    Forbidden(Lang, &'static str),
    /// The form's CSRF token is missing or wrong.
    #[error("CSRF token mismatch")]
    Csrf(Lang),
    /// The page needs a signed-in member.
    #[error("sign-in required")]
    SignInRequired,
    /// Too many failed attempts.
    #[error("too many attempts")]
    TooManyAttempts(Lang),
    /// The login failed often lately: its next attempt must wait a few seconds.
    #[error("too soon")]
    TooSoon(Lang),
    /// A request the UI cannot read (outside forms, which show field errors).
    #[error("bad request: {1}")]
    BadRequest(Lang, &'static str),
    /// The node's disk is full: nothing was saved.
    #[error("insufficient storage")]
    InsufficientStorage(Lang),
    /// The form sent is over its size limit.
    #[error("form too large")]
    TooLarge(Lang),
    /// The network refused what the member did, said in their language.
    #[error("refused: {1}")]
    Refused(Lang, String),
    /// The node failed.
    #[error("backend: {0}")]
    Backend(#[from] BackendError),
    /// A template failed to render.
    #[error("template: {0}")]
    Render(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    p: Page,
    heading: &'static str,
    message: String,
}

impl AppError {
    fn parts(&self) -> (StatusCode, Lang, &'static str, String) {
        let (status, lang, heading, message) = match self {
            AppError::Refused(l, why) => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    *l,
                    l.pick("Action refusée", "Action refused"),
                    why.clone(),
                )
            }
            AppError::NotYetHere(l) => (
                StatusCode::SERVICE_UNAVAILABLE,
                *l,
                l.pick("Pas encore arrivé", "Not here yet"),
                l.pick(
                    "Cette page existe dans le réseau mais n'est pas encore arrivée sur ce site. Réessayez dans un instant.",
                    "This page exists in the network but has not reached this site yet. Try again in a moment.",
                ),
            ),
            AppError::NotFound(l) => (
                StatusCode::NOT_FOUND,
                *l,
                l.pick("Page introuvable", "Page not found"),
                l.pick(
                    "Cette page n'existe pas ou n'existe plus.",
                    "This page does not exist, or no longer does.",
                ),
            ),
            AppError::Forbidden(l, why) => (
                StatusCode::FORBIDDEN,
                *l,
                l.pick("Action impossible", "Not allowed"),
                *why,
            ),
            AppError::Csrf(l) => (
                StatusCode::FORBIDDEN,
                *l,
                l.pick("Formulaire expiré", "Form expired"),
                l.pick(
                    "Ce formulaire a expiré. Revenez à la page précédente, rechargez-la et recommencez.",
                    "This form has expired. Go back, reload the page and try again.",
                ),
            ),
            AppError::TooSoon(l) => (
                StatusCode::TOO_MANY_REQUESTS,
                *l,
                l.pick("Patientez un instant", "Wait a moment"),
                l.pick(
                    "Plusieurs essais de connexion ont échoué pour cet identifiant. Patientez \
                     quelques secondes, puis réessayez.",
                    "Several sign-in attempts failed for this login. Wait a few seconds, then \
                     try again.",
                ),
            ),
            AppError::TooManyAttempts(l) => (
                StatusCode::TOO_MANY_REQUESTS,
                *l,
                l.pick("Trop d'essais", "Too many attempts"),
                l.pick(
                    "Trop d'essais de connexion. Attendez un quart d'heure avant de réessayer.",
                    "Too many sign-in attempts. Wait a quarter of an hour before trying again.",
                ),
            ),
            AppError::InsufficientStorage(l) => (
                StatusCode::INSUFFICIENT_STORAGE,
                *l,
                l.pick("Site momentanément plein", "Site temporarily full"),
                l.pick(
                    "Le disque de ce site est plein : ce que vous venez de faire n'a pas été \
                     enregistré. Vous pouvez toujours consulter le site. Réessayez plus tard ; \
                     l'équipe qui héberge le site en est avertie.",
                    "This site's disk is full: what you just did was not saved. You can still \
                     browse the site. Try again later; the team hosting the site has been \
                     warned.",
                ),
            ),
            AppError::TooLarge(l) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                *l,
                l.pick("Formulaire trop lourd", "Form too large"),
                l.pick(
                    "Ce que vous avez envoyé est trop lourd. Raccourcissez le texte ou envoyez \
                     moins de photos (12 Mo au plus chacune), puis réessayez.",
                    "What you sent is too large. Shorten the text or send fewer photos (12 MB \
                     at most each), then try again.",
                ),
            ),
            AppError::BadRequest(l, why) => (
                StatusCode::BAD_REQUEST,
                *l,
                l.pick("Demande incorrecte", "Bad request"),
                *why,
            ),
            AppError::SignInRequired | AppError::Backend(_) | AppError::Render(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Lang::Fr,
                "Erreur du serveur / Server error",
                "Le site a rencontré un problème. Réessayez dans un moment. / The site ran into a problem. Try again in a moment.",
            ),
        };
        (status, lang, heading, message.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::SignInRequired = self {
            return Redirect::to("/connexion").into_response();
        }
        if let AppError::Backend(_) | AppError::Render(_) = self {
            tracing::error!(error = %self, "page failed");
        }
        let (status, lang, heading, message) = self.parts();
        let page = ErrorPage {
            p: Page::bare(lang),
            heading,
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, heading).into_response(),
        }
    }
}
