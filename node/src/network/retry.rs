//! Records gossip delivered a moment too early. Gossip validates each message on a task of
//! its own, so a profile can reach the store before the join that makes its author known,
//! or a listing before the sponsorship that admits its author. Such a refusal is only for
//! now (`unknown_author`, `author_not_in_good_standing`, ...): the record is tried again a
//! few times, shortly after, instead of waiting for the next sync (a minute in production).
//! Retries are bounded by a semaphore of their own, so a peer sending records that will
//! never become valid cannot pile them up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::engine::{Engine, Origin};
use crate::ingest::pipeline::{IngestError, Submitted};

/// Delays before each new try, from the first refusal.
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(20),
];

/// Records being retried at once, at most.
pub const RETRY_SLOTS: usize = 1024;

/// Whether an outcome is a refusal that a record arriving later may lift.
pub fn is_transient(outcome: &Result<Submitted, IngestError>) -> bool {
    match outcome {
        Err(refusal @ IngestError::Refused(_)) => !refusal.is_senders_fault(),
        Err(IngestError::NotInGoodStanding(_)) => true,
        Ok(_)
        | Err(IngestError::NodePolicy(_) | IngestError::TooLargeToPark | IngestError::Store(_)) => {
            false
        }
    }
}

/// Tries `wire` again after each of [`RETRY_DELAYS`] until it is no longer refused for now;
/// gives up at once if every retry slot is taken. Returns the last outcome, if any try ran.
pub async fn retry(
    engine: &Engine,
    slots: &Arc<Semaphore>,
    wire: &[u8],
) -> Option<Result<Submitted, IngestError>> {
    let _slot = Arc::clone(slots).try_acquire_owned().ok()?;
    let mut last = None;
    for delay in RETRY_DELAYS {
        tokio::time::sleep(delay).await;
        let outcome = engine.submit_wire(wire, Origin::Gossip).await;
        let again = is_transient(&outcome);
        last = Some(outcome);
        if !again {
            break;
        }
    }
    last
}
