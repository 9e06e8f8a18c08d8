//! `init join` with an invitation: a good one, an expired one, an altered one, unreachable
//! bootstraps; nothing is left on disk when it fails.

use std::fs;
use std::net::TcpListener;

use maillon_protocol::invitation::Invitation;
use maillon_protocol::Timestamp;

use super::*;
use crate::config::RawConfig;
use crate::init::read_charter;

const NOW: Timestamp = Timestamp(1_767_225_600_000);
const DAY: u64 = Timestamp::DAY_MS;

/// A founded node's folder and an invitation from it, as a text file, naming `port`.
fn invitation_file(tmp: &Path, port: u16) -> (PathBuf, SignedInvitation) {
    let first = tmp.join("first");
    crate::init::test_folder::founded(&first, "Nantes");
    let node = crate::init::read_key(&first.join("data/node.key")).expect("node key");
    let peer = peer_id_of(&node.public_key()).expect("peer id");
    let invitation = Invitation {
        charter: read_charter(&fs::read(first.join("charter.cbor")).expect("charter"))
            .expect("charter"),
        inviter: Record::decode_any_network(
            &fs::read(first.join("data/announcement.cbor")).expect("announcement"),
        )
        .expect("announcement"),
        addresses: vec![format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}")],
        created: NOW,
        expires: NOW.plus_ms(7 * DAY),
    }
    .sign(&node)
    .expect("signs");
    let file = tmp.join("invitation.txt");
    fs::write(&file, invitation.to_text()).expect("write");
    (file, invitation)
}

fn assert_nothing_written(dir: &Path) {
    assert!(!dir.exists(), "nothing half-written is kept");
    assert!(!dir.with_extension("init-partial").exists());
}

#[test]
fn a_good_invitation_makes_a_node_that_bootstraps_from_the_inviter() {
    let tmp = tempfile::tempdir().expect("tmp");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (file, invitation) = invitation_file(tmp.path(), port);
    let second = tmp.path().join("second");
    let path = file.to_string_lossy().into_owned();
    let joined = join(&second, "Lyon", &path, false, NOW.plus_ms(DAY)).expect("joins");
    let (report, probes) = (joined.report, joined.probes);
    assert_eq!(probes.len(), 1);
    assert!(probes[0].outcome.is_ok(), "{probes:?}");
    assert_eq!(report.network, Some(invitation.invitation().network()));
    let config = RawConfig::load(&report.config_file)
        .expect("loads")
        .validate(&second)
        .expect("valid");
    assert_eq!(config.bootstrap, invitation.invitation().addresses);
    let charter = read_charter(&fs::read(&config.charter_file).expect("charter")).expect("ok");
    assert_eq!(Some(charter.header().network), report.network);
    assert!(
        !second.join("data/announcement.cbor").exists(),
        "a stranger until its operator vouches for it"
    );
    // The text code itself, pasted instead of a file, works too.
    let third = tmp.path().join("third");
    let code = invitation.to_text().to_lowercase();
    join(&third, "Valence", &code, false, NOW.plus_ms(DAY)).expect("joins with the code");
}

#[test]
fn expired_altered_or_unreachable_invitations_leave_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (file, invitation) = invitation_file(tmp.path(), port);
    let second = tmp.path().join("second");
    let path = file.to_string_lossy().into_owned();

    let late = NOW.plus_ms(8 * DAY);
    let expired = join(&second, "Lyon", &path, false, late).map(|_| ());
    let Err(InvitationFailure::Expired(when)) = expired else {
        panic!("an expired invitation is refused: {expired:?}");
    };
    assert_eq!(when, "2026-01-08 at 00:00 UTC");
    assert_nothing_written(&second);

    let text = invitation.to_text();
    let position = text.len() / 2;
    let swapped = if &text[position..=position] == "A" {
        "B"
    } else {
        "A"
    };
    let altered = format!("{}{swapped}{}", &text[..position], &text[position + 1..]);
    let tampered = join(&second, "Lyon", &altered, false, NOW).map(|_| ());
    assert!(
        matches!(tampered, Err(InvitationFailure::Invalid(_))),
        "{tampered:?}"
    );
    assert_nothing_written(&second);

    drop(listener);
    let unreachable = join(&second, "Lyon", &path, false, NOW);
    let Err(InvitationFailure::Unreachable(probes)) = unreachable.map(|_| ()) else {
        panic!("an unreachable bootstrap is refused");
    };
    assert!(probes[0].address.contains(&format!("/tcp/{port}/")));
    let message = InvitationFailure::Unreachable(probes).to_string();
    assert!(message.contains("--offline"), "{message}");
    assert_nothing_written(&second);

    let probes = join(&second, "Lyon", &path, true, NOW)
        .expect("offline joins anyway")
        .probes;
    assert!(probes.is_empty());
    assert!(second.join("maillon.toml").exists());
}

#[test]
fn addresses_must_name_the_inviting_node() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, invitation) = invitation_file(tmp.path(), 4001);
    let peer = peer_id_of(&invitation.invitation().inviter_key()).expect("peer");
    let other = peer_id_of(&maillon_protocol::testkit::key("other").public_key()).expect("peer");
    assert_eq!(
        complete_address("/ip4/192.0.2.7/tcp/4001", peer).expect("completed"),
        format!("/ip4/192.0.2.7/tcp/4001/p2p/{peer}")
    );
    assert!(complete_address(
        &format!("/dns4/noeud.example.org/tcp/4001/p2p/{peer}"),
        peer
    )
    .is_ok());
    for bad in [
        format!("/ip4/192.0.2.7/tcp/4001/p2p/{other}"),
        "/ip4/0.0.0.0/tcp/4001".to_string(),
        "192.0.2.7:4001".to_string(),
    ] {
        assert!(
            matches!(
                complete_address(&bad, peer),
                Err(InvitationFailure::BadAddress(_))
            ),
            "{bad}"
        );
    }
}
