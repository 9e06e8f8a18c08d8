//! One delivery to the SMTP server through lettre, and what its answer means: sent, try
//! again later (4xx; connection errors and timeouts, which also end the round), or the
//! address refused (5xx about the mailbox: 550 to 553).

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::queue::{MailId, Outgoing};
use super::settings::{SmtpSettings, TlsMode};
use super::MailError;

/// What one try did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The server accepted the message (250).
    Sent,
    /// A temporary failure from the server (4xx, or a 5xx not about the mailbox): try again
    /// later.
    Retry(String),
    /// No answer from the server (connection refused, lost, timed out): try again later,
    /// and stop this round.
    Unreachable(String),
    /// The server refused the recipient for good.
    Refused(String),
}

/// The SMTP transport and the sender's identity.
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    message_id_domain: String,
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.trim_matches(['<', '>']).to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct OneClick;

impl Header for OneClick {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(OneClick)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

impl Sender {
    /// A transport for these settings (no connection is made yet).
    pub fn new(settings: &SmtpSettings) -> Result<Sender, MailError> {
        let transport_error =
            |e: lettre::transport::smtp::Error| MailError::Transport(e.to_string());
        let builder = match settings.tls {
            TlsMode::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(transport_error)?
            }
            TlsMode::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(transport_error)?,
            TlsMode::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(std::time::Duration::from_secs(30)));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let message_id_domain = settings.from.email.domain().to_string();
        Ok(Sender {
            transport: builder.build(),
            from: settings.from.clone(),
            message_id_domain,
        })
    }

    fn message(&self, id: MailId, outgoing: &Outgoing) -> Result<Message, String> {
        let to: Mailbox = outgoing
            .to
            .parse()
            .map_err(|e| format!("address {}: {e}", outgoing.to))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(outgoing.subject.clone())
            .message_id(Some(format!(
                "<{}@{}>",
                id.message_id_local(),
                self.message_id_domain
            )))
            .header(ContentType::TEXT_PLAIN);
        if let Some(url) = &outgoing.unsubscribe_url {
            builder = builder
                .header(ListUnsubscribe(url.clone()))
                .header(OneClick);
        }
        builder
            .body(outgoing.body.clone())
            .map_err(|e| e.to_string())
    }

    /// Tries to deliver one message.
    pub async fn deliver(&self, id: MailId, outgoing: &Outgoing) -> Delivery {
        let message = match self.message(id, outgoing) {
            Ok(message) => message,
            Err(reason) => return Delivery::Refused(reason),
        };
        match self.transport.send(message).await {
            Ok(_) => Delivery::Sent,
            Err(error) => classify(&error),
        }
    }
}

/// A 5xx about the mailbox (550 to 553) refuses the address; anything else (4xx, another
/// 5xx such as a failed sign-in, a lost connection) is tried again later.
fn classify(error: &lettre::transport::smtp::Error) -> Delivery {
    let code = error.status().map(u16::from);
    match code {
        Some(550..=553) if error.is_permanent() => Delivery::Refused(error.to_string()),
        Some(_) => Delivery::Retry(error.to_string()),
        None => Delivery::Unreachable(error.to_string()),
    }
}
