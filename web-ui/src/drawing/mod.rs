//! Pictures drawn on the server as SVG, each with a text equivalent: the trust paths between
//! two members ([`trust_graph`]) and listings on a map of France ([`france_map`]). The
//! operator's charts are in `figures`.

pub mod france_map;
pub mod trust_graph;

/// Text made safe inside SVG elements and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
