//! The page-level reads agree with the fragment reads they replace, for visitors, authors,
//! other members and founders.

use maillon_protocol::{Kind, PublicKey, RecordId};
use maillon_web_ui::backend::Backend;

use super::{key_of, network, Site};

/// The first listings of the generated network: (series, author).
fn listings(count: usize) -> Vec<(RecordId, PublicKey)> {
    network()
        .records
        .iter()
        .filter(|r| r.header().kind == Kind::Listing)
        .take(count)
        .map(|r| (r.id(), r.header().author))
        .collect()
}

#[tokio::test]
async fn the_listing_page_read_agrees_with_the_fragment_reads() {
    let site = Site::start(&[]).await;
    let backend = &site.backend;
    let found = listings(12);
    assert!(found.len() >= 6, "the generated network has listings");
    let viewers: Vec<Option<PublicKey>> = vec![
        None,
        Some(key_of("member-3")),
        Some(key_of("member-17")),
        Some(key_of("founder-1")),
    ];
    let mut with_paths = 0;
    for (series, author) in &found {
        let mut seen_as: Vec<Option<PublicKey>> = viewers.clone();
        seen_as.push(Some(*author));
        for viewer in seen_as {
            let read = backend
                .listing_page(series, viewer.as_ref(), 3)
                .expect("a listing with effect is read");
            let listing = backend.listing(series).expect("and shown");
            assert_eq!(read.listing.series, listing.series);
            assert_eq!(read.listing.version, listing.version);
            assert_eq!(read.listing.author, *author);
            assert_eq!(read.listing.bump_until, listing.bump_until);
            let reputation = backend.reputation(author);
            assert_eq!(read.reputation.due, reputation.due);
            assert_eq!(
                read.reputation.answered_in_time,
                reputation.answered_in_time
            );
            assert_eq!(
                read.reputation.reviews.len(),
                reputation.reviews.len().min(3)
            );
            let moderation = backend.moderation();
            assert_eq!(read.hidden, moderation.hidden_by(series).is_some());
            assert_eq!(
                read.answer_deadline_ms,
                backend.site().charter.answer_deadline_ms
            );
            let origin = viewer
                .and_then(|v| backend.member(&v).profile)
                .map(|p| p.position)
                .or(backend.site().node_position);
            assert_eq!(read.origin, origin);
            let mut named = vec![*author];
            match viewer {
                None => {
                    assert!(read.viewer.is_none());
                    assert!(read.trust.is_none());
                }
                Some(key) => {
                    let seen = read.viewer.expect("the viewer");
                    assert_eq!(seen.key, key);
                    let member = backend.member(&key);
                    assert_eq!(seen.in_good_standing, member.status.is_in_good_standing());
                    assert_eq!(
                        seen.is_moderator,
                        moderation.is_moderator_at(&key, read.now)
                    );
                    if key == *author {
                        assert!(read.trust.is_none(), "no path to oneself");
                    } else {
                        let trust = backend.trust(&key, author);
                        assert_eq!(read.trust.as_ref(), Some(&trust));
                        with_paths += usize::from(trust.distance.is_some_and(|d| d >= 2));
                        named.extend(trust.paths.iter().flatten());
                    }
                }
            }
            for (key, name) in backend.names(&named) {
                assert_eq!(read.names.get(&key), Some(&name), "{key:?} is named");
            }
        }
        assert!(backend
            .listing_page(&RecordId([0xee; 32]), None, 3)
            .is_none());
    }
    assert!(
        with_paths > 0,
        "some viewers reach authors through other people"
    );
}
