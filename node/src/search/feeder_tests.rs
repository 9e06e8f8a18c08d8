//! The feeder's batching and settling, on a broadcast channel of its own.
use super::*;
use crate::engine::{Origin, StoredEvent};

/// A stored record of `kind` from a small generated network.
fn stored(kind: maillon_protocol::Kind) -> Record {
    let network = crate::generator::generate(5, 4);
    let record = network.records.iter().find(|r| r.header().kind == kind);
    record.expect("a record of that kind").clone()
}

/// Sends `count` stored listings `spacing` apart, then gathers one turn with these
/// options; returns its size and how long the turn took. The bounds the tests check are
/// wide: the machine is shared and its timers are late when it is busy.
async fn turn_after(count: usize, spacing: Duration, options: FeederOptions) -> (usize, Duration) {
    let (turn, took) = turn_of(
        stored(maillon_protocol::Kind::Listing),
        count,
        spacing,
        options,
    )
    .await;
    (turn.records.len(), took)
}

/// Sends `count` events of `record` `spacing` apart, then gathers one turn.
async fn turn_of(
    record: Record,
    count: usize,
    spacing: Duration,
    options: FeederOptions,
) -> (Turn, Duration) {
    let (sender, mut events) = tokio::sync::broadcast::channel(4_096);
    let (_stop, mut shutdown) = watch::channel(false);
    let (_dropped_sender, mut dropped) = watch::channel(Arc::default());
    let mut purge = tokio::time::interval(Duration::from_secs(3_600));
    purge.tick().await;
    let producer = tokio::spawn(async move {
        for _ in 0..count {
            let _ = sender.send(StoredEvent {
                record: record.clone(),
                origin: Origin::Local,
            });
            tokio::time::sleep(spacing).await;
        }
        // Keeps the channel open past the turn.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let started = Instant::now();
    let turn = next_turn(
        Turn::default(),
        &mut events,
        &mut shutdown,
        &mut purge,
        &mut dropped,
        &options,
    )
    .await;
    producer.abort();
    (turn, started.elapsed())
}

#[tokio::test]
async fn records_the_index_does_not_read_are_counted_not_kept() {
    let options = FeederOptions {
        quiet: Duration::from_millis(300),
        ..FeederOptions::default()
    };
    let profile = stored(maillon_protocol::Kind::Profile);
    let (turn, _) = turn_of(profile, 5, Duration::from_millis(10), options).await;
    assert!(turn.records.is_empty());
    assert_eq!(turn.others, 5);
    assert!(turn.received());
}

/// Sends `count` listings into a subscription that holds 16 while `blocking` runs a task
/// of `busy`, taking at most `at_most`; returns what was taken, then whether the
/// subscription lagged afterwards.
async fn taken_while_busy(count: usize, busy: Duration, at_most: usize) -> (Turn, bool) {
    let record = stored(maillon_protocol::Kind::Listing);
    let (sender, mut events) = tokio::sync::broadcast::channel(16);
    let (_stop, mut shutdown) = watch::channel(false);
    let cancel = Arc::new(AtomicBool::new(false));
    let (running, started) = tokio::sync::oneshot::channel::<()>();
    let producer = tokio::spawn(async move {
        // From the moment the task runs, one record a millisecond: the taking keeps up.
        let _ = started.await;
        for _ in 0..count {
            let _ = sender.send(StoredEvent {
                record: record.clone(),
                origin: Origin::Fetched,
            });
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let mut carried = Turn::default();
    let mut taking = Taking {
        events: &mut events,
        turn: &mut carried,
        at_most,
    };
    let ((), ()) = blocking((), &mut shutdown, &cancel, &mut taking, move |(), _| {
        let _ = running.send(());
        std::thread::sleep(busy);
    })
    .await
    .expect("the task ran");
    let lagged = matches!(
        events.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_))
    );
    producer.abort();
    (carried, lagged)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_stored_while_a_turn_runs_are_taken_for_the_next_instead_of_lagging() {
    let (carried, lagged) = taken_while_busy(500, Duration::from_secs(3), 1_000).await;
    assert_eq!(carried.records.len(), 500, "every listing taken");
    assert!(!carried.lagged && !carried.rebuild && !lagged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_bound_the_feeder_leaves_records_in_the_subscription_which_lags() {
    let (carried, lagged) = taken_while_busy(500, Duration::from_secs(3), 100).await;
    assert_eq!(carried.records.len(), 100);
    assert!(lagged, "the rest overflowed the subscription's 16 places");
}

#[tokio::test]
async fn a_batch_ends_once_records_stop_coming_for_the_quiet_time() {
    let options = FeederOptions {
        interval: Duration::from_secs(30),
        quiet: Duration::from_millis(300),
        ..FeederOptions::default()
    };
    let (taken, took) = turn_after(3, Duration::from_millis(20), options).await;
    assert_eq!(taken, 3);
    assert!(took >= Duration::from_millis(340), "{took:?}");
    assert!(
        took < Duration::from_secs(20),
        "ended by the quiet time: {took:?}"
    );
}

#[tokio::test]
async fn while_records_keep_coming_the_batch_waits_until_the_interval() {
    let options = FeederOptions {
        interval: Duration::from_secs(3),
        quiet: Duration::from_secs(2),
        ..FeederOptions::default()
    };
    let (taken, took) = turn_after(1_000, Duration::from_millis(50), options).await;
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!((20..1_000).contains(&taken), "{taken} records in {took:?}");
}

/// Sends an event every `spacing` for `lasting`, then keeps the channel open; returns
/// how long `settle` waited.
async fn settled_after(spacing: Duration, lasting: Duration, options: FeederOptions) -> Duration {
    let network = crate::generator::generate(5, 4);
    let record = network.records.last().expect("a record").clone();
    let (sender, mut events) = tokio::sync::broadcast::channel(16);
    let (_stop, mut shutdown) = watch::channel(false);
    let producer = tokio::spawn(async move {
        let until = Instant::now() + lasting;
        while Instant::now() < until {
            let _ = sender.send(StoredEvent {
                record: record.clone(),
                origin: Origin::Fetched,
            });
            tokio::time::sleep(spacing).await;
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let waited = settle(&mut events, &mut shutdown, &options).await;
    producer.abort();
    waited
}

#[tokio::test]
async fn after_a_lag_the_rebuild_waits_until_records_stop_coming() {
    let options = FeederOptions {
        settle: Duration::from_millis(400),
        settle_at_most: Duration::from_secs(60),
        ..FeederOptions::default()
    };
    let waited = settled_after(Duration::from_millis(40), Duration::from_secs(2), options).await;
    assert!(waited >= Duration::from_millis(2_300), "{waited:?}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
}

#[tokio::test]
async fn after_a_lag_the_rebuild_waits_no_longer_than_its_bound() {
    let options = FeederOptions {
        settle: Duration::from_millis(400),
        settle_at_most: Duration::from_secs(2),
        ..FeederOptions::default()
    };
    let waited = settled_after(Duration::from_millis(40), Duration::from_secs(60), options).await;
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
}
