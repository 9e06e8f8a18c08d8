//! Every route of the site, one file per part of the member's journey.

mod account;
mod complaints;
mod council;
mod erasure;
pub(crate) mod extract;
mod funding;
mod home;
mod host;
pub(crate) mod identity;
mod invite;
mod join;
mod listing;
mod mail;
mod moderation;
mod moderation_log;
mod notify;
mod oidc;
mod oidc_clients;
mod operator;
mod profile;
mod publish;
mod recovery;
mod search;
mod search_map;
mod signin;
mod sponsor;
pub mod thumbnails;
mod transactions;
mod upload;
mod view;

use askama::Template;
use axum::extract::Path;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use maillon_protocol::{Draft, Record, RecordId, Timestamp};

use crate::backend::{Backend, BackendError, Submitted};
use crate::error::AppError;
use crate::session::{Lang, SignedIn, Visitor, LANG_COOKIE};
use crate::Shared;
use serde::Deserialize;

/// Every page route. The listing forms, with photos, read their bodies themselves
/// ([`upload`]), within `WebConfig::max_upload_bytes`.
pub fn all<B: Backend>() -> Router<Shared<B>> {
    Router::new()
        .route("/", get(home::home::<B>))
        .route("/charte", get(home::charter::<B>))
        .route(
            "/inscription",
            get(join::join_form::<B>).post(join::join::<B>),
        )
        .route(
            "/connexion",
            get(signin::login_form::<B>).post(signin::login::<B>),
        )
        .route("/deconnexion", post(signin::logout::<B>))
        .route("/compte", get(account::account::<B>))
        .route("/compte/phrase", post(account::change_passphrase::<B>))
        .route("/compte/kit", post(account::recovery_kit::<B>))
        .route("/compte/courriel", post(mail::set_address::<B>))
        .route("/compte/courriel/choix", post(mail::set_topics::<B>))
        .route("/courriel/verifier/{token}", get(mail::verify::<B>))
        .route(
            "/desabonnement/{token}",
            get(mail::unsubscribe_form::<B>).post(mail::unsubscribe::<B>),
        )
        .route("/compte/export", post(erasure::export::<B>))
        .route(
            "/compte/effacer",
            get(erasure::erase_form::<B>).post(erasure::erase::<B>),
        )
        .route("/candidature", get(sponsor::candidacy::<B>))
        .route("/parrainer", get(sponsor::code_form::<B>))
        .route(
            "/parrainage/{key}",
            get(sponsor::sponsor_form::<B>).post(sponsor::sponsor::<B>),
        )
        .route("/recherche", get(search::search::<B>))
        .route("/recherches", post(notify::save_search::<B>))
        .route("/recherches/supprimer", post(notify::delete_search::<B>))
        .route("/notifications", get(notify::notifications::<B>))
        .route("/annonce/{series}", get(listing::listing::<B>))
        .route(
            "/annonce/{series}/transaction",
            post(listing::open_transaction::<B>),
        )
        .route(
            "/publier",
            get(publish::new_form::<B>).post(publish::create::<B>),
        )
        .route(
            "/annonce/{series}/modifier",
            get(publish::edit_form::<B>).post(publish::update::<B>),
        )
        .route("/annonce/{series}/retirer", post(publish::withdraw::<B>))
        .route("/annonce/{series}/publiee", get(listing::published::<B>))
        .route("/annonce/{series}/une", post(funding::ask::<B>))
        .route("/dons", get(funding::donation::<B>))
        .route("/dons/rappel", post(funding::dismiss_reminder::<B>))
        .route("/operateur/financement", get(funding::funding::<B>))
        .route("/operateur/dons", post(funding::set_donation::<B>))
        .route("/operateur/une/{number}", post(funding::decide::<B>))
        .route(
            "/.well-known/openid-configuration",
            get(oidc::discovery::<B>),
        )
        .route("/oidc/jwks", get(oidc::jwks::<B>))
        .route("/oidc/autoriser", get(oidc::authorize::<B>))
        .route(
            "/oidc/consentement/{id}",
            get(oidc::consent::<B>).post(oidc::answer::<B>),
        )
        .route("/oidc/jeton", post(oidc::token::<B>))
        .route("/oidc/userinfo", get(oidc::userinfo::<B>))
        .route(
            "/operateur/sites-externes",
            get(oidc_clients::clients::<B>).post(oidc_clients::register::<B>),
        )
        .route(
            "/operateur/sites-externes/{id}/retirer",
            post(oidc_clients::remove::<B>),
        )
        .route("/transactions", get(transactions::mine::<B>))
        .route("/transaction/{id}", get(transactions::show::<B>))
        .route(
            "/transaction/{id}/message",
            post(transactions::message::<B>),
        )
        .route("/transaction/{id}/cloturer", post(transactions::close::<B>))
        .route("/membre/{key}", get(profile::profile::<B>))
        .route(
            "/signaler",
            get(complaints::form::<B>).post(complaints::file::<B>),
        )
        .route("/signalements", get(complaints::mine::<B>))
        .route(
            "/recuperation",
            get(recovery::start_form::<B>).post(recovery::start::<B>),
        )
        .route(
            "/recuperation/suivi",
            get(recovery::follow::<B>).post(recovery::finish::<B>),
        )
        .route(
            "/recuperation/parrain",
            get(recovery::sponsor_form::<B>).post(recovery::sponsor_sign::<B>),
        )
        .route("/moderation", get(moderation::queue::<B>))
        .route("/operateur", get(operator::operator::<B>))
        .route("/operateur/politique", post(operator::set_policy::<B>))
        .route("/operateur/invitation", post(invite::invite::<B>))
        .route("/invitation/{code}", get(invite::served::<B>))
        .route("/heberger", get(host::form::<B>).post(host::sign::<B>))
        .route(
            "/conseil",
            get(council::council::<B>).post(council::propose::<B>),
        )
        .route(
            "/conseil/proposition",
            get(council::proposal::<B>).post(council::publish::<B>),
        )
        .route(
            "/moderation/signalement/{id}",
            get(moderation::case::<B>).post(moderation::act::<B>),
        )
        .route("/moderation/journal", get(moderation_log::log::<B>))
        .route("/moderation/annuler", post(moderation_log::retract::<B>))
        .route("/photo/{hash}", get(thumbnails::photo::<B>))
        .route("/photo/{hash}/{size}", get(thumbnails::sized::<B>))
}

/// `/langue/{fr|en}`: remembers the language and goes home.
pub async fn language(Path(code): Path<String>) -> Response {
    let lang = if code == "en" { "en" } else { "fr" };
    let cookie = format!("{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// `/health`: for load balancers and monitoring.
pub async fn health() -> &'static str {
    "ok"
}

/// Renders a template as a page.
pub(crate) fn render(template: impl Template) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a form's page: 422 when it shows errors, 200 otherwise.
pub(crate) fn render_form(template: impl Template, failed: bool) -> Result<Response, AppError> {
    let status = if failed {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, Html(template.render()?)).into_response())
}

/// The signed-in member, or a redirect to the sign-in page.
pub(crate) fn require_user(visitor: &Visitor) -> Result<&SignedIn, AppError> {
    visitor.user.as_ref().ok_or(AppError::SignInRequired)
}

/// Checks a form's CSRF token.
pub(crate) fn check_csrf(visitor: &Visitor, token: &str) -> Result<(), AppError> {
    if visitor.csrf_matches(token) {
        Ok(())
    } else {
        Err(AppError::Csrf(visitor.lang))
    }
}

/// A form with only its CSRF token.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    csrf: String,
}

extract::with_csrf!(CsrfOnly);

/// Runs slow work (argon2id, image decoding) on the blocking pool, off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackendError(format!("a background task failed: {e}")).into())
}

/// Signs a body as the member, created now, and submits it. A refusal comes back as a
/// message for the form.
pub(crate) async fn sign_and_submit<B: Backend>(
    backend: &B,
    user: &SignedIn,
    body: maillon_protocol::Body,
    expires: Option<Timestamp>,
    lang: Lang,
) -> Result<Result<maillon_protocol::RecordId, String>, AppError> {
    let draft = Draft {
        body,
        created: backend.now(),
        expires,
    };
    submit_draft(backend, user, draft, lang).await
}

/// Signs a body without expiry created at `created` (a time others co-signed) and submits it.
pub(crate) async fn sign_and_submit_at<B: Backend>(
    backend: &B,
    user: &SignedIn,
    body: maillon_protocol::Body,
    created: Timestamp,
    lang: Lang,
) -> Result<Result<maillon_protocol::RecordId, String>, AppError> {
    let draft = Draft {
        body,
        created,
        expires: None,
    };
    submit_draft(backend, user, draft, lang).await
}

async fn submit_draft<B: Backend>(
    backend: &B,
    user: &SignedIn,
    draft: Draft,
    lang: Lang,
) -> Result<Result<maillon_protocol::RecordId, String>, AppError> {
    let site = backend.site();
    let bindings = binding_refs(backend, user, &draft.body).await?;
    let record = match Record::sign_linked(&user.secret, &site.network, draft, &bindings) {
        Ok(record) => record,
        Err(error) => {
            return Ok(Err(lang.pick_string(
                format!("Contenu refusé : {error}"),
                format!("Content refused: {error}"),
            )))
        }
    };
    Ok(match backend.submit(record).await? {
        Submitted::Stored(id) | Submitted::Duplicate(id) | Submitted::Parked(id) => Ok(id),
        Submitted::Rejected { code, .. } if code == "insufficient_storage" => {
            return Err(AppError::InsufficientStorage(lang))
        }
        Submitted::Rejected { code, message } => Err(refusal_text(&code, &message, lang)),
    })
}

/// The key bindings a record by `user` names so that the rules see the member's keys as
/// one person's (docs/PROTOCOL.md 8.6): the bindings of the author's identity, and for a
/// recovery also those of the old key and of the co-signers. None for bodies that do not
/// link keys. At most what the header has room for.
async fn binding_refs<B: Backend>(
    backend: &B,
    user: &SignedIn,
    body: &maillon_protocol::Body,
) -> Result<Vec<RecordId>, AppError> {
    if !body.links_keys() {
        return Ok(Vec::new());
    }
    let mut keys = vec![user.secret.public_key()];
    if let maillon_protocol::Body::KeyRecovery(recovery) = body {
        keys.push(recovery.old_key);
        keys.extend(recovery.sponsor_signatures.iter().map(|(key, _)| *key));
    }
    let room = maillon_protocol::record::MAX_REFS - body.declared_refs().len();
    let reader = backend.clone();
    let mut ids = blocking(move || reader.binding_refs(&keys)).await?;
    ids.truncate(room);
    Ok(ids)
}

/// A refusal code from the node, said to the member.
fn refusal_text(code: &str, message: &str, lang: Lang) -> String {
    let known = match code {
        "author_not_in_good_standing" | "unknown_author" => Some(lang.pick(
            "Seuls les membres peuvent faire cela. Votre adhésion n'est pas (ou plus) active.",
            "Only members can do this. Your membership is not (or no longer) active.",
        )),
        "wrong_author" => Some(lang.pick(
            "Seul l'auteur peut modifier cet élément.",
            "Only the author can change this.",
        )),
        "introduction_quota" => Some(lang.pick(
            "Ce site a accueilli beaucoup de candidatures aujourd'hui : réessayez demain, \
             ou inscrivez-vous sur le site d'une autre association du réseau.",
            "This site has welcomed many candidates today: try again tomorrow, or join \
             through another association's site in the network.",
        )),
        "parking_full" => Some(lang.pick(
            "Le site est très occupé en ce moment : réessayez dans quelques minutes.",
            "The site is very busy right now: try again in a few minutes.",
        )),
        "from_the_future" => Some(lang.pick(
            "L'horloge du serveur semble décalée : réessayez dans un instant.",
            "The server's clock seems off: try again in a moment.",
        )),
        _ => None,
    };
    match known {
        Some(text) => text.to_string(),
        None => lang.pick_string(
            format!("Le réseau a refusé cette action ({code}) : {message}"),
            format!("The network refused this action ({code}): {message}"),
        ),
    }
}

/// Passes the visitor to a handler.
pub(crate) type V = Extension<Visitor>;

/// The address of this site from outside, for links sent to people: the website the node
/// announces, or else the host the browser asked for.
pub(crate) fn own_site<B: Backend>(state: &Shared<B>, headers: &HeaderMap) -> String {
    state
        .backend
        .sites()
        .into_iter()
        .find(|site| site.this_site)
        .map(|site| site.url)
        .unwrap_or_else(|| site_base(headers, state.config.secure_cookies))
}

fn site_base(headers: &HeaderMap, secure: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("{}://{host}", if secure { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// The route files each route file names through `super::`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let files: Vec<String> = std::fs::read_dir(&folder)
            .expect("the routes folder")
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                Some(name.strip_suffix(".rs").unwrap_or(&name).to_string())
            })
            .filter(|name| name != "mod")
            .collect();
        let mut graph = BTreeMap::new();
        for file in &files {
            let path = folder.join(format!("{file}.rs"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let used = files
                .iter()
                .filter(|other| *other != file && text.contains(&format!("super::{other}::")))
                .cloned()
                .collect();
            graph.insert(file.clone(), used);
        }
        graph
    }

    #[test]
    fn route_files_import_each_other_without_cycles() {
        let graph = imports();
        assert!(graph["listing"].contains("view"), "the reading works");
        // Depth-first search; a file met again while on the path closes a cycle.
        fn visit<'a>(
            file: &'a str,
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if done.contains(file) {
                return;
            }
            if let Some(start) = path.iter().position(|f| *f == file) {
                panic!(
                    "route files import each other in a cycle: {:?}",
                    &path[start..]
                );
            }
            path.push(file);
            for next in graph.get(file).into_iter().flatten() {
                visit(next, graph, path, done);
            }
            path.pop();
            done.insert(file);
        }
        let mut done = BTreeSet::new();
        for file in graph.keys() {
            visit(file, &graph, &mut Vec::new(), &mut done);
        }
    }
}
