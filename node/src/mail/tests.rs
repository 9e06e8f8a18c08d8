//! The queue against a real SMTP server process (aiosmtpd) and a real sled database: an
//! outage loses nothing and doubles nothing, a crash or a stop loses nothing, the hourly
//! limit holds without dropping, a temporary refusal is retried. Skipped without aiosmtpd.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use maillon_protocol::Timestamp;
use maillon_web_ui::session::Lang;

use super::queue::{self, MailState};
use super::test_sink::{settings_for_port, SmtpSink};
use super::worker::Courier;
use super::MailDesk;
use crate::store::{SledConfig, SledStore};

const HOUR_MS: u64 = 3600 * 1000;

struct Fixture {
    dir: tempfile::TempDir,
    clock: Arc<AtomicU64>,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().expect("a folder"),
            clock: Arc::new(AtomicU64::new(1_800_000_000_000)),
        }
    }

    /// A desk over the sled database in the fixture's folder (opened anew each time).
    fn desk(&self, sink: &SmtpSink, per_hour: u32) -> (Arc<MailDesk>, SledStore) {
        let store = SledStore::open(&SledConfig {
            path: self.dir.path().join("db"),
            cache_capacity_bytes: 1 << 20,
        })
        .expect("sled opens");
        use crate::store::Store;
        let tree = store.side_tree("mail").expect("the mail tree");
        let clock = self.clock.clone();
        let desk = MailDesk::new(
            tree,
            sink.settings(per_hour),
            "Maillon Test".into(),
            Arc::new(move || Timestamp(clock.load(Ordering::SeqCst))),
        );
        (Arc::new(desk), store)
    }

    fn advance(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }
}

fn no_stop() -> tokio::sync::watch::Receiver<bool> {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    std::mem::forget(sender);
    receiver
}

/// Queues one verification e-mail for each of `count` members.
fn queue_for(desk: &MailDesk, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let address = format!("membre{i}@example.org");
            desk.set_address(&format!("membre{i}"), &address, Lang::Fr)
                .expect("queued");
            address
        })
        .collect()
}

fn states(desk: &MailDesk) -> Vec<MailState> {
    queue::all(desk.tree())
        .expect("the queue")
        .into_iter()
        .map(|(_, o)| o.state)
        .collect()
}

fn received_once_each(sink: &SmtpSink, addresses: &[String]) {
    let mut to: Vec<String> = sink.messages().into_iter().map(|m| m.to).collect();
    to.sort();
    let mut expected = addresses.to_vec();
    expected.sort();
    assert_eq!(to, expected, "every message arrived exactly once");
}

#[tokio::test]
async fn an_outage_loses_nothing_and_sends_nothing_twice() {
    let Some(mut sink) = SmtpSink::start(&[]) else {
        return;
    };
    let fixture = Fixture::new();
    let (desk, _store) = fixture.desk(&sink, 100);
    let mut courier = Courier::new(desk.clone()).expect("courier");
    sink.stop();
    let addresses = queue_for(&desk, 3);
    assert_eq!(courier.send_due(&no_stop()).await.expect("tried"), 0);
    let waiting = states(&desk);
    assert!(
        matches!(waiting[0], MailState::RetryAt { .. })
            && waiting[1..].iter().all(|s| *s == MailState::Queued),
        "the round stops at the first unreachable try, the others wait: {waiting:?}"
    );
    // Still down at the next try: nothing is given up.
    fixture.advance(1000);
    assert_eq!(courier.send_due(&no_stop()).await.expect("tried"), 0);
    assert_eq!(states(&desk).len(), 3);
    sink.restart();
    let mut sent = 0;
    for _ in 0..5 {
        fixture.advance(1000);
        sent += courier.send_due(&no_stop()).await.expect("sent");
    }
    assert_eq!(sent, 3);
    received_once_each(&sink, &addresses);
}

#[tokio::test]
async fn a_stop_or_a_crash_loses_nothing() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let fixture = Fixture::new();
    let addresses = {
        let (desk, _store) = fixture.desk(&sink, 100);
        let addresses = queue_for(&desk, 2);
        // A crash after the first was marked `Sending` (before or after the server's 250:
        // the node cannot know which).
        let (id, mut first) = queue::all(desk.tree()).expect("queue").remove(0);
        first.state = MailState::Sending;
        queue::set(desk.tree(), id, &first).expect("marked");
        addresses
        // Dropped here without any sending: the process is gone.
    };
    let (desk, _store) = fixture.desk(&sink, 100);
    let mut courier = Courier::new(desk.clone()).expect("courier after the restart");
    assert_eq!(courier.send_due(&no_stop()).await.expect("sent"), 2);
    received_once_each(&sink, &addresses);

    // A stop asked before sending sends nothing and keeps everything queued.
    let more = queue_for(&desk, 1);
    let (stop, stopped) = tokio::sync::watch::channel(true);
    assert_eq!(courier.send_due(&stopped).await.expect("stopped"), 0);
    drop(stop);
    assert!(states(&desk).contains(&MailState::Queued));
    assert_eq!(courier.send_due(&no_stop()).await.expect("sent"), 1);
    received_once_each(&sink, &[addresses, more].concat());
}

#[tokio::test]
async fn the_hourly_limit_holds_and_mail_over_it_waits() {
    let Some(sink) = SmtpSink::start(&[]) else {
        return;
    };
    let fixture = Fixture::new();
    let (desk, _store) = fixture.desk(&sink, 2);
    let addresses = queue_for(&desk, 5);
    let mut courier = Courier::new(desk.clone()).expect("courier");
    assert_eq!(courier.send_due(&no_stop()).await.expect("sent"), 2);
    assert_eq!(courier.send_due(&no_stop()).await.expect("held"), 0);
    fixture.advance(HOUR_MS / 2);
    assert_eq!(courier.send_due(&no_stop()).await.expect("held"), 0);
    assert_eq!(sink.messages().len(), 2);
    // A restart does not reset the count: it is read back from the queue.
    let mut restarted = Courier::new(desk.clone()).expect("courier");
    assert_eq!(restarted.send_due(&no_stop()).await.expect("held"), 0);
    fixture.advance(HOUR_MS / 2);
    assert_eq!(restarted.send_due(&no_stop()).await.expect("sent"), 2);
    fixture.advance(HOUR_MS);
    assert_eq!(restarted.send_due(&no_stop()).await.expect("sent"), 1);
    received_once_each(&sink, &addresses);
}

#[tokio::test]
async fn a_temporary_refusal_is_tried_again_and_a_bounce_marks_the_address() {
    let Some(sink) = SmtpSink::start(&["membre1@example.org"]) else {
        return;
    };
    let fixture = Fixture::new();
    let (desk, _store) = fixture.desk(&sink, 100);
    let mut courier = Courier::new(desk.clone()).expect("courier");
    sink.set_temporary_failure(true);
    queue_for(&desk, 1);
    assert_eq!(courier.send_due(&no_stop()).await.expect("451"), 0);
    sink.set_temporary_failure(false);
    fixture.advance(1000);
    assert_eq!(courier.send_due(&no_stop()).await.expect("sent"), 1);

    desk.set_address("membre1", "membre1@example.org", Lang::Fr)
        .expect("queued");
    assert_eq!(courier.send_due(&no_stop()).await.expect("refused"), 0);
    let status = desk.status("membre1").expect("status").expect("an address");
    assert!(
        status.refused.as_deref().is_some_and(|r| r.contains("550")),
        "{status:?}"
    );
    assert!(states(&desk)
        .iter()
        .any(|s| matches!(s, MailState::Failed { .. })));
    assert_eq!(sink.messages().len(), 1);
}

/// The token of the verification link in the queued e-mail of `login`.
fn verification_token(desk: &MailDesk, login: &str) -> String {
    let (_, mail) = queue::all(desk.tree())
        .expect("the queue")
        .into_iter()
        .find(|(_, o)| o.login == login)
        .expect("a verification e-mail");
    let start =
        mail.body.find("/courriel/verifier/").expect("a link") + "/courriel/verifier/".len();
    mail.body[start..]
        .split_whitespace()
        .next()
        .expect("a token")
        .to_string()
}

#[test]
fn verification_links_work_once_and_expire_and_unsubscribe_tokens_only_turn_email_off() {
    let clock = Arc::new(AtomicU64::new(1_800_000_000_000));
    let moved = clock.clone();
    let desk = MailDesk::new(
        Arc::new(crate::store::MemoryTree::default()),
        settings_for_port(25, 10),
        "Maillon Test".into(),
        Arc::new(move || Timestamp(moved.load(Ordering::SeqCst))),
    );
    desk.set_address("marie", "marie@example.org", Lang::Fr)
        .expect("kept");
    let token = verification_token(&desk, "marie");
    assert!(!desk.verify("0000").expect("checked"), "an unknown token");
    assert!(desk.verify(&token).expect("checked"));
    assert!(!desk.verify(&token).expect("checked"), "a token works once");
    let member = desk.member("marie").expect("read").expect("kept");
    assert!(member.verified && !member.topics.is_empty());
    assert!(desk.unsubscribe(&member.unsubscribe).expect("done"));
    let member = desk.member("marie").expect("read").expect("kept");
    assert!(member.topics.is_empty(), "every e-mail is off");
    assert!(member.verified, "the address itself stays");

    desk.set_address("jean", "jean@example.org", Lang::En)
        .expect("kept");
    let late = verification_token(&desk, "jean");
    clock.fetch_add(super::members::VERIFY_FOR_MS + 1, Ordering::SeqCst);
    assert!(!desk.verify(&late).expect("checked"), "expired after 48 h");
    assert!(!desk.member("jean").expect("read").expect("kept").verified);

    assert_eq!(
        desk.set_address("jean", "pas une adresse", Lang::Fr)
            .expect("checked"),
        maillon_web_ui::mail::AddressOutcome::Invalid
    );
    desk.set_address("jean", "", Lang::Fr).expect("removed");
    assert!(desk.member("jean").expect("read").is_none());
    assert!(
        queue::all(desk.tree())
            .expect("queue")
            .iter()
            .all(|(_, o)| o.login != "jean"),
        "its messages are forgotten too"
    );
}
