//! What handlers used to check first, as extractors: [`Member`], the signed-in member, and
//! [`CheckedForm`], a form whose CSRF token is this session's.
//!
//! Both read the [`Visitor`] that the visitor middleware put in the request's extensions.
//! Their refusals are `AppError`s, so a visitor who is not signed in is sent to the sign-in
//! page and a wrong token gets the usual page, in the visitor's language.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Form;
use serde::de::DeserializeOwned;

use crate::backend::BackendError;
use crate::error::AppError;
use crate::session::{SignedIn, Visitor};

/// The visitor of a request, as the middleware left it.
fn visitor_of(extensions: &axum::http::Extensions) -> Result<&Visitor, AppError> {
    extensions
        .get::<Visitor>()
        .ok_or_else(|| BackendError("the visitor middleware is missing".into()).into())
}

/// The signed-in member, with their visit (language, CSRF token, session). A visitor who is
/// not signed in is refused with [`AppError::SignInRequired`].
pub(crate) struct Member {
    /// The visit, as for any visitor.
    pub visitor: Visitor,
    /// The member (also in `visitor.user`).
    pub user: SignedIn,
}

impl<S: Send + Sync> FromRequestParts<S> for Member {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let visitor = visitor_of(&parts.extensions)?.clone();
        let user = visitor.user.clone().ok_or(AppError::SignInRequired)?;
        Ok(Member { visitor, user })
    }
}

/// A form that carries the session's CSRF token in its `csrf` field.
pub(crate) trait WithCsrf {
    /// The submitted token.
    fn csrf(&self) -> &str;
}

/// Implements [`WithCsrf`] for forms with a `csrf: String` field.
macro_rules! with_csrf {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::routes::extract::WithCsrf for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use with_csrf;

/// A URL-encoded form whose CSRF token matched the session's, compared in constant time.
/// A wrong or missing token is refused with [`AppError::Csrf`] before the handler runs; a
/// body over the size limit with [`AppError::TooLarge`], one that is not the form with
/// [`AppError::BadRequest`].
pub(crate) struct CheckedForm<T>(pub T);

impl<T, S> FromRequest<S> for CheckedForm<T>
where
    T: DeserializeOwned + WithCsrf,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let visitor = visitor_of(request.extensions())?.clone();
        let lang = visitor.lang;
        let Form(form) = Form::<T>::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    return AppError::TooLarge(lang);
                }
                let why = lang.pick(
                    "Ce formulaire n'a pas pu être lu : revenez à la page et réessayez.",
                    "This form could not be read: go back to the page and try again.",
                );
                AppError::BadRequest(lang, why)
            })?;
        super::check_csrf(&visitor, form.csrf())?;
        Ok(CheckedForm(form))
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::post;
    use axum::{Extension, Router};
    use maillon_protocol::SecretKey;
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;
    use crate::session::Lang;

    #[derive(Deserialize)]
    struct NoteFields {
        csrf: String,
        note: String,
    }
    with_csrf!(NoteFields);

    async fn noted(member: Member, CheckedForm(form): CheckedForm<NoteFields>) -> String {
        format!("{} {}", member.user.login, form.note)
    }

    fn visitor(signed_in: bool) -> Visitor {
        let secret = SecretKey::from_seed([7; 32]);
        Visitor {
            session: "session".into(),
            csrf: "right-token".into(),
            lang: Lang::Fr,
            user: signed_in.then(|| SignedIn {
                login: "marie".into(),
                key: secret.public_key(),
                secret,
            }),
        }
    }

    async fn post_note(visitor: Visitor, body: &'static str) -> (StatusCode, String) {
        let app = Router::new()
            .route("/note", post(noted))
            .layer(Extension(visitor));
        let request = Request::post("/note")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_member_with_the_session_token_reaches_the_handler() {
        let (status, body) = post_note(visitor(true), "csrf=right-token&note=bonjour").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "marie bonjour");
    }

    #[tokio::test]
    async fn a_wrong_or_missing_token_is_refused_before_the_handler() {
        let (status, body) = post_note(visitor(true), "csrf=other-token&note=x").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("Formulaire expiré"), "{body}");
        let (status, _) = post_note(visitor(true), "note=x&csrf=").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn a_visitor_who_is_not_signed_in_is_sent_to_sign_in() {
        let (status, _) = post_note(visitor(false), "csrf=right-token&note=x").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    #[tokio::test]
    async fn an_unreadable_form_gets_a_sentence() {
        let (status, body) = post_note(visitor(true), "csrf=right-token").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("pas pu être lu"), "{body}");
    }
}
