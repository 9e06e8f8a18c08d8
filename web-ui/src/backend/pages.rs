//! Page-level reads: what one page shows, read from the node at once rather than in
//! fragments, so that a page takes each of the node's locks once.

use std::collections::HashMap;

use maillon_protocol::kinds::Position;
use maillon_protocol::trust::TrustReport;
use maillon_protocol::{PublicKey, Timestamp};

use super::{ListingView, Reputation};

/// What every page's frame says about the site and its visitor, read at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameView {
    /// The network's name.
    pub site_name: String,
    /// This node's name.
    pub node_name: String,
    /// The site has a donation page.
    pub takes_donations: bool,
    /// The visitor's display name, when they have a profile.
    pub display_name: Option<String>,
    /// The visitor is a member in good standing.
    pub is_member: bool,
    /// The visitor sits on the council.
    pub is_council: bool,
    /// The visitor runs this node.
    pub is_operator: bool,
    /// The visitor is a moderator in office.
    pub is_moderator: bool,
}

/// Everything a listing's page shows ([`super::Backend::listing_page`]).
#[derive(Clone, Debug)]
pub struct ListingPageView {
    /// The listing, with its bump in force.
    pub listing: ListingView,
    /// The time of the read.
    pub now: Timestamp,
    /// The signed-in viewer, or None for a visitor.
    pub viewer: Option<ListingViewer>,
    /// Where the distance is measured from: the viewer's town, else the node's.
    pub origin: Option<Position>,
    /// The display names of the people the page names (the author, the trust paths, the
    /// reviewers shown) who have a profile.
    pub names: HashMap<PublicKey, String>,
    /// The viewer's trust paths to the author; None for a visitor and for the author.
    pub trust: Option<TrustReport>,
    /// The author's responsiveness and their first reviews.
    pub reputation: Reputation,
    /// The moderators hid the listing.
    pub hidden: bool,
    /// Why, as the moderation log says.
    pub hidden_reason: Option<String>,
    /// The moderators' corrections: when, and the note.
    pub corrections: Vec<(Timestamp, String)>,
    /// The charter's answer deadline, in milliseconds.
    pub answer_deadline_ms: u64,
}

/// The signed-in viewer of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListingViewer {
    /// Their key.
    pub key: PublicKey,
    /// They are a member in good standing.
    pub in_good_standing: bool,
    /// They are a moderator in office (they may see a hidden listing).
    pub is_moderator: bool,
}
