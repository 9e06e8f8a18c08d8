//! What several pages show the same way: people, their standing, listing cards. Routes
//! share these helpers through this module rather than through each other.

mod listings;
mod people;
mod reputation;

pub use listings::{card, category_choices, category_label, intent_label, Card, Choice};
pub use people::{named, named_from, relation_label, sponsorship_progress, status_text, Named};
pub use reputation::{
    responsiveness_text, review_lines, review_lines_of, trust_line, trust_line_of, ReviewLine,
    TrustLine,
};
