//! The stylesheet, the script and the map of France, embedded in the binary and served under names that carry
//! their content hash, so browsers may cache them for a year.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../assets/style.css");
const JS: &str = include_str!("../assets/app.js");

struct Names {
    css: String,
    js: String,
    map: String,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| Names {
        css: format!("/static/style-{}.css", short_hash(CSS)),
        js: format!("/static/app-{}.js", short_hash(JS)),
        map: format!(
            "/static/france-{}.svg",
            short_hash(crate::drawing::france_map::outlines())
        ),
    })
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// The stylesheet's address.
pub fn css_url() -> &'static str {
    &names().css
}

/// The script's address.
pub fn js_url() -> &'static str {
    &names().js
}

/// The address of the map of France's départements.
pub fn map_url() -> &'static str {
    &names().map
}

/// Serves `/static/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    let path = format!("/static/{name}");
    let (body, content_type) = if path == css_url() {
        (CSS, "text/css; charset=utf-8")
    } else if path == js_url() {
        (JS, "text/javascript; charset=utf-8")
    } else if path == map_url() {
        (crate::drawing::france_map::outlines(), "image/svg+xml")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}
