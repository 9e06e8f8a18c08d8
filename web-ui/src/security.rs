//! The security headers every response of the node carries, from tower-http's
//! `SetResponseHeaderLayer`: a strict Content-Security-Policy that fits the site (its one
//! script and its style sheet come from the site itself; no inline script or style), no
//! framing, no referrer outside the site, no content sniffing. A handler that sets one of
//! these headers itself keeps its own value.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// What pages may load and where forms may go: only the site itself; no plugin, no base
/// change, no framing by anyone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers and their values.
pub const HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// What a signed-in page answers unless it says otherwise: a shared computer's browser must
/// not keep it.
pub const SIGNED_IN_CACHE_CONTROL: &str = "private, no-store";

/// Adds [`HEADERS`] to every response of `router` that does not set them.
pub fn with_security_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    HEADERS.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Whether `text` holds an attribute such as ` onclick=`.
    fn has_event_handler(text: &str) -> bool {
        text.match_indices(" on").any(|(at, _)| {
            let rest = &text[at + 3..];
            let letters = rest.chars().take_while(|c| c.is_ascii_lowercase()).count();
            letters > 0 && rest[letters..].starts_with('=')
        })
    }

    /// The policy allows no inline style or script: no template may need one.
    #[test]
    fn no_template_has_an_inline_style_or_script() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display();
            assert!(!text.contains(" style="), "{name} has a style attribute");
            assert!(!text.contains("<style"), "{name} has a style element");
            assert!(
                !has_event_handler(&text),
                "{name} has an event handler attribute"
            );
            for (at, _) in text.match_indices("<script") {
                let tag = &text[at..text[at..].find('>').map_or(text.len(), |end| at + end)];
                assert!(tag.contains(" src="), "{name} has an inline script");
            }
            checked += 1;
        }
        assert!(checked > 10, "templates were read");
    }
}
