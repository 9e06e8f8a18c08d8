//! Fetching an invitation from its link, `<site>/invitation/<short code>`
//! (docs/PROTOCOL.md 14.6): the text the site returns is accepted only if it is the
//! invitation the short code was made from.

use std::time::Duration;

use maillon_protocol::invitation::{ShortCode, SignedInvitation};
use maillon_protocol::Timestamp;

use super::InvitationFailure;

/// How long fetching an invitation may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest answer read: an invitation's text form is at most about 80 KB.
const MAX_ANSWER_BYTES: usize = 128 * 1024;

/// Whether a command-line argument is a link rather than a file or a code.
pub fn is_link(argument: &str) -> bool {
    let argument = argument.trim();
    argument.starts_with("http://") || argument.starts_with("https://")
}

/// The short code a link names: its last path segment, after `/invitation/`.
pub fn code_of(link: &str) -> Result<ShortCode, InvitationFailure> {
    let bad = || InvitationFailure::BadLink(link.to_string());
    let url = reqwest::Url::parse(link.trim()).map_err(|_| bad())?;
    let mut segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    segments.retain(|segment| !segment.is_empty());
    match segments.as_slice() {
        [.., "invitation", code] => ShortCode::parse(code).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// Fetches and checks the invitation a link names.
pub fn fetch(link: &str, now: Timestamp) -> Result<SignedInvitation, InvitationFailure> {
    let code = code_of(link)?;
    let text = fetch_text(link.trim().trim_end_matches('/'))?;
    Ok(SignedInvitation::from_text_with_code(&text, code, now)?)
}

/// GETs the link on a thread of its own, so that it works whether or not the caller runs
/// inside an async runtime.
fn fetch_text(link: &str) -> Result<String, InvitationFailure> {
    let link = link.to_string();
    let unreachable = |link: &str, reason: String| InvitationFailure::LinkUnreachable {
        link: link.to_string(),
        reason,
    };
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| unreachable(&link, e.to_string()))?;
                runtime.block_on(get(&link))
            })
            .join()
            .unwrap_or_else(|_| Err(unreachable(&link, "the fetch stopped".into())))
    })
}

async fn get(link: &str) -> Result<String, InvitationFailure> {
    let unreachable = |reason: String| InvitationFailure::LinkUnreachable {
        link: link.to_string(),
        reason,
    };
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| unreachable(e.to_string()))?;
    let mut response = client
        .get(link)
        .send()
        .await
        .map_err(|e| unreachable(without_url(&e)))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(InvitationFailure::LinkNotFound(link.to_string()));
    }
    if !response.status().is_success() {
        return Err(unreachable(format!(
            "the site answered {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable(without_url(&e)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err(unreachable(format!(
                "the answer is larger than {MAX_ANSWER_BYTES} bytes: not an invitation"
            )));
        }
    }
    String::from_utf8(body).map_err(|_| unreachable("the answer is not text".into()))
}

/// A reqwest error's message without the URL, which the failure already names.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
