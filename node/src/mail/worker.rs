//! The e-mail task: every tick, queues what members should be told, then sends what is due,
//! oldest first, within the hourly limit; a temporary failure waits (doubling from
//! `first_retry` up to `max_retry`), a refused address is marked on the member's settings.
//!
//! The hourly limit is a sliding window over the last hour's accepted messages, counted from
//! the queue's `Sent` marks at start (so a restart does not reset it) and in memory after.
//! Over the limit, messages wait; none is dropped.

use std::collections::VecDeque;
use std::sync::Arc;

use maillon_protocol::Timestamp;
use tokio::sync::watch;

use super::queue::{self, MailId, MailState, Outgoing};
use super::sender::{Delivery, Sender};
use super::{notices, MailDesk, MailError};
use crate::web::NodeBackend;

const HOUR_MS: u64 = 3600 * 1000;
/// Sent and failed messages are kept this long (for the hourly count and for operators).
const KEEP_MS: u64 = 7 * 24 * HOUR_MS;

/// The accepted messages of the last hour.
struct HourWindow {
    sent: VecDeque<u64>,
    limit: usize,
}

impl HourWindow {
    fn from_queue(entries: &[(MailId, Outgoing)], now: Timestamp, limit: u32) -> HourWindow {
        let mut sent: Vec<u64> = entries
            .iter()
            .filter_map(|(_, o)| match o.state {
                MailState::Sent { at_ms } if at_ms + HOUR_MS > now.0 => Some(at_ms),
                _ => None,
            })
            .collect();
        sent.sort_unstable();
        HourWindow {
            sent: sent.into(),
            limit: limit as usize,
        }
    }

    fn has_room(&mut self, now: Timestamp) -> bool {
        while self.sent.front().is_some_and(|at| at + HOUR_MS <= now.0) {
            self.sent.pop_front();
        }
        self.sent.len() < self.limit
    }
}

/// The sending half: the transport, the queue, the hourly window.
pub struct Courier {
    desk: Arc<MailDesk>,
    sender: Sender,
    window: HourWindow,
}

impl Courier {
    /// Makes the transport and queues again what a crash left `Sending`.
    pub fn new(desk: Arc<MailDesk>) -> Result<Courier, MailError> {
        let sender = Sender::new(desk.settings())?;
        let requeued = queue::recover(desk.tree())?;
        if requeued > 0 {
            tracing::warn!(requeued, "e-mails interrupted by a crash are sent again");
        }
        let entries = queue::all(desk.tree())?;
        let window = HourWindow::from_queue(&entries, desk.now(), desk.settings().per_hour);
        Ok(Courier {
            desk,
            sender,
            window,
        })
    }

    /// Sends what is due, oldest first, until the queue, the hourly limit or `shutdown`
    /// stops it. Returns how many the server accepted.
    pub async fn send_due(&mut self, shutdown: &watch::Receiver<bool>) -> Result<usize, MailError> {
        send_due(&self.desk, &self.sender, &mut self.window, shutdown).await
    }
}

/// Starts the task; it stops when `shutdown` turns true, never in the middle of a delivery.
pub fn spawn(
    desk: Arc<MailDesk>,
    backend: NodeBackend,
    shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, MailError> {
    let courier = Courier::new(desk.clone())?;
    Ok(tokio::spawn(run(desk, backend, courier, shutdown)))
}

async fn run(
    desk: Arc<MailDesk>,
    backend: NodeBackend,
    mut courier: Courier,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let (d, b) = (desk.clone(), backend.clone());
        let queued = tokio::task::spawn_blocking(move || {
            let now = d.now();
            queue::prune(d.tree(), now, KEEP_MS)?;
            d.prune_verifications()?;
            notices::queue_notices(d.as_ref(), &b, now)
        })
        .await;
        match queued {
            Ok(Err(error)) => tracing::error!(%error, "e-mail notices could not be queued"),
            Err(error) => tracing::error!(%error, "the e-mail notices task failed"),
            Ok(Ok(_)) => {}
        }
        if let Err(error) = courier.send_due(&shutdown).await {
            tracing::error!(%error, "the e-mail queue failed");
        }
        match queue::all(desk.tree()) {
            Ok(entries) => {
                let waiting = entries.iter().filter(|(_, o)| o.is_waiting()).count();
                backend.metrics().set_mail_queue(waiting as u64);
            }
            Err(error) => tracing::error!(%error, "the e-mail queue cannot be read"),
        }
        tokio::select! {
            _ = tokio::time::sleep(desk.settings().timing.tick) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Why a due message is not sent: the member changed or removed the address, or the server
/// refused it for another message.
fn stale(desk: &MailDesk, outgoing: &Outgoing) -> Result<Option<String>, MailError> {
    let member = desk.member(&outgoing.login)?;
    Ok(match member {
        None => Some("the member removed the address".into()),
        Some(m) if m.address != outgoing.to => Some("the member changed the address".into()),
        Some(m) if m.refused.is_some() => Some("the address was refused".into()),
        Some(_) => None,
    })
}

async fn send_due(
    desk: &MailDesk,
    sender: &Sender,
    window: &mut HourWindow,
    shutdown: &watch::Receiver<bool>,
) -> Result<usize, MailError> {
    let mut accepted = 0;
    let due: Vec<(MailId, Outgoing)> = queue::all(desk.tree())?
        .into_iter()
        .filter(|(_, o)| o.is_due(desk.now()))
        .collect();
    for (id, mut outgoing) in due {
        if *shutdown.borrow() || !window.has_room(desk.now()) {
            return Ok(accepted);
        }
        if let Some(reason) = stale(desk, &outgoing)? {
            outgoing.state = MailState::Failed {
                at_ms: desk.now().0,
                reason,
            };
            queue::set(desk.tree(), id, &outgoing)?;
            continue;
        }
        outgoing.state = MailState::Sending;
        outgoing.attempts += 1;
        queue::set(desk.tree(), id, &outgoing)?;
        let delivery = sender.deliver(id, &outgoing).await;
        let now = desk.now();
        outgoing.state = next_state(desk, id, &outgoing, &delivery, now);
        // Marked right after the server's answer and flushed: the duplicate window.
        queue::set(desk.tree(), id, &outgoing)?;
        match delivery {
            Delivery::Sent => {
                window.sent.push_back(now.0);
                accepted += 1;
            }
            Delivery::Refused(reason) => {
                tracing::warn!(login = %outgoing.login, %reason, "an e-mail address was refused");
                desk.refuse(&outgoing.login, &outgoing.to, &reason)?;
            }
            Delivery::Retry(error) => {
                tracing::info!(attempts = outgoing.attempts, %error, "an e-mail will be tried again");
            }
            Delivery::Unreachable(error) => {
                // The server is away: the other messages wait, untouched, for the next round.
                tracing::warn!(%error, "the SMTP server cannot be reached; e-mails wait");
                return Ok(accepted);
            }
        }
    }
    Ok(accepted)
}

fn next_state(
    desk: &MailDesk,
    id: MailId,
    outgoing: &Outgoing,
    delivery: &Delivery,
    now: Timestamp,
) -> MailState {
    let timing = desk.settings().timing;
    match delivery {
        Delivery::Sent => MailState::Sent { at_ms: now.0 },
        Delivery::Refused(reason) => MailState::Failed {
            at_ms: now.0,
            reason: reason.clone(),
        },
        Delivery::Retry(error) | Delivery::Unreachable(error)
            if now.0 >= id.queued_ms + timing.give_up_after.as_millis() as u64 =>
        {
            MailState::Failed {
                at_ms: now.0,
                reason: format!("given up after {} tries: {error}", outgoing.attempts),
            }
        }
        Delivery::Retry(error) | Delivery::Unreachable(error) => {
            let doublings = outgoing.attempts.saturating_sub(1).min(20);
            let wait = timing
                .first_retry
                .saturating_mul(1 << doublings)
                .min(timing.max_retry);
            MailState::RetryAt {
                at_ms: now.0 + wait.as_millis() as u64,
                error: error.clone(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_counts_the_last_hour_only() {
        let sent = |at_ms| {
            (
                MailId::new(Timestamp(at_ms)),
                Outgoing {
                    login: "a".into(),
                    to: "a@example.org".into(),
                    subject: String::new(),
                    body: String::new(),
                    unsubscribe_url: None,
                    attempts: 1,
                    state: MailState::Sent { at_ms },
                },
            )
        };
        let now = Timestamp(10 * HOUR_MS);
        let entries = vec![sent(now.0 - 2 * HOUR_MS), sent(now.0 - 10), sent(now.0 - 5)];
        let mut window = HourWindow::from_queue(&entries, now, 2);
        assert!(!window.has_room(now), "two in the last hour: full");
        assert!(
            window.has_room(Timestamp(now.0 + HOUR_MS)),
            "an hour later: room again"
        );
    }
}
