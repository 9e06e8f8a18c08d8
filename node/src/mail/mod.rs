//! E-mail to members (issue 13 §1): who gave which address, what they chose to receive, and
//! the durable queue of outgoing messages, all in the `side-mail` tree of the record database
//! (node-local, never in a signed record); the task that turns members' notices into e-mails
//! and sends them through the operator's SMTP server.
//!
//! - [`settings`]: the `[smtp]` configuration.
//! - [`members`]: addresses, verification and unsubscribe tokens, choices, refusals.
//! - [`queue`]: the outgoing messages and their states.
//! - [`sender`]: one delivery through lettre, its outcome classified.
//! - [`notices`]: which notices of `maillon_web_ui::notifications` become e-mails.
//! - [`worker`]: the task: notices to queue, queue to server, retries, the hourly limit.

pub mod members;
pub mod notices;
pub mod queue;
pub mod sender;
pub mod settings;
#[cfg(test)]
pub(crate) mod test_sink;
#[cfg(test)]
mod tests;
pub mod worker;

use std::sync::Arc;

use maillon_protocol::Timestamp;
use thiserror::Error;

use crate::engine::Clock;
use crate::store::{SideTree, StoreError};
use settings::SmtpSettings;

/// What can go wrong with e-mail.
#[derive(Debug, Error)]
pub enum MailError {
    /// The mail tree failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The SMTP settings could not make a transport.
    #[error("SMTP transport: {0}")]
    Transport(String),
    /// The system gave no randomness for a token.
    #[error("no randomness for a token: {0}")]
    Randomness(String),
}

/// Everything e-mail needs: the mail tree, the settings, the site's name, the clock.
pub struct MailDesk {
    tree: Arc<dyn SideTree>,
    settings: SmtpSettings,
    site_name: String,
    clock: Clock,
}

impl MailDesk {
    /// A desk over `tree`.
    pub fn new(
        tree: Arc<dyn SideTree>,
        settings: SmtpSettings,
        site_name: String,
        clock: Clock,
    ) -> MailDesk {
        MailDesk {
            tree,
            settings,
            site_name,
            clock,
        }
    }

    /// The mail tree.
    pub fn tree(&self) -> &dyn SideTree {
        self.tree.as_ref()
    }

    /// The settings.
    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    /// The site's name, for subjects.
    pub fn site_name(&self) -> &str {
        &self.site_name
    }

    /// Now, by the node's clock.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// A random token of 32 hexadecimal digits (128 bits).
pub fn random_token() -> Result<String, MailError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| MailError::Randomness(e.to_string()))?;
    Ok(hex::encode(bytes))
}
