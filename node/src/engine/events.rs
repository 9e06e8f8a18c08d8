//! Waiting on the broadcast of stored records: a subscriber that lagged and will read the
//! store again waits until records stop coming, so that it reads it once, not once per lag.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::StoredEvent;

/// How long a lagging subscriber waits without a record before it reads the store again.
pub const QUIET: Duration = Duration::from_secs(2);

/// The longest a lagging subscriber waits before it reads the store again, records or not.
pub const QUIET_AT_MOST: Duration = Duration::from_secs(300);

/// Discards stored records until none has come for `quiet`, or for at most `at_most`, or
/// until `shutdown` turns true or the broadcast closes; returns how long it waited. What
/// follows reads the discarded records from the store.
pub async fn until_quiet(
    events: &mut broadcast::Receiver<StoredEvent>,
    shutdown: &mut watch::Receiver<bool>,
    quiet: Duration,
    at_most: Duration,
) -> Duration {
    let started = Instant::now();
    let latest = started + at_most;
    loop {
        let deadline = latest.min(Instant::now() + quiet);
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = tokio::time::sleep_until(deadline) => break,
            event = events.recv() => match event {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
        }
    }
    started.elapsed()
}
