//! The `[smtp]` section of the configuration: raw values, and [`SmtpSettings`] once checked.
//! The password is read from a file named here, never written in the configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// `[smtp]`: how this node sends e-mail. Absent (no `host`): the node sends none.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawSmtp {
    /// The SMTP server's name; empty: no e-mail.
    pub host: String,
    /// Its port: 587 for STARTTLS, 465 for implicit TLS.
    pub port: u16,
    /// `starttls`, `tls` (implicit TLS) or `none` (only for a test server on this machine).
    pub tls: String,
    /// The user name, if the server asks for one.
    pub user: String,
    /// A file holding the password (its first line); relative to the configuration file.
    pub password_file: PathBuf,
    /// The sender, such as `Maillon de Trifouilly <maillon@example.org>`.
    pub from: String,
    /// E-mails sent in one hour at most; the others wait.
    pub per_hour: u32,
    /// The site's address as members reach it, such as `https://maillon.example.org`: the
    /// links in e-mails start with it.
    pub site_url: String,
}

impl Default for RawSmtp {
    fn default() -> Self {
        RawSmtp {
            host: String::new(),
            port: 587,
            tls: "starttls".into(),
            user: String::new(),
            password_file: PathBuf::new(),
            from: String::new(),
            per_hour: 100,
            site_url: String::new(),
        }
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// A plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No encryption: allowed only for a server on this machine (tests).
    None,
}

/// Validated `[smtp]` settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SmtpSettings {
    /// Server name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Protection of the connection.
    pub tls: TlsMode,
    /// User and password, if any.
    pub credentials: Option<(String, String)>,
    /// The sender.
    pub from: Mailbox,
    /// E-mails per hour at most, at least 1.
    pub per_hour: u32,
    /// The site's public address, without a trailing slash.
    pub site_url: String,
    /// Retry and polling times (defaults; tests shorten them).
    pub timing: MailTiming,
}

/// How often the queue is looked at and how long a failed delivery waits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MailTiming {
    /// Time between two looks at the queue and at members' notifications.
    pub tick: Duration,
    /// The first wait after a temporary failure; each next one doubles.
    pub first_retry: Duration,
    /// The longest wait between two tries.
    pub max_retry: Duration,
    /// After this long without delivery, a message is given up (marked failed).
    pub give_up_after: Duration,
}

impl Default for MailTiming {
    fn default() -> Self {
        MailTiming {
            tick: Duration::from_secs(30),
            first_retry: Duration::from_secs(60),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl RawSmtp {
    /// Checks the section; `None` when no host is given (the node sends no e-mail). Reads
    /// the password file, relative to `base`.
    pub fn validate(&self, base: &Path) -> Result<Option<SmtpSettings>, ConfigError> {
        let host = self.host.trim();
        if host.is_empty() {
            return Ok(None);
        }
        if host.contains(char::is_whitespace) || host.len() > 253 {
            return Err(invalid(
                "smtp.host",
                "give a server name such as smtp.example.org",
            ));
        }
        if self.port == 0 {
            return Err(invalid(
                "smtp.port",
                "must be between 1 and 65535 (587 or 465)",
            ));
        }
        let tls = match self.tls.as_str() {
            "starttls" => TlsMode::StartTls,
            "tls" => TlsMode::Implicit,
            "none" if is_local(host) => TlsMode::None,
            "none" => {
                return Err(invalid(
                    "smtp.tls",
                    "`none` sends passwords and e-mails in clear: only allowed for a server on this machine (localhost, 127.0.0.1)",
                ))
            }
            other => {
                return Err(invalid(
                    "smtp.tls",
                    format!("`{other}`: choose `starttls` (port 587), `tls` (port 465) or `none` (local test server only)"),
                ))
            }
        };
        let credentials = self.credentials(base)?;
        let from: Mailbox = self.from.parse().map_err(|_| {
            invalid(
                "smtp.from",
                format!(
                    "`{}` is not an address such as `Maillon <maillon@example.org>`",
                    self.from
                ),
            )
        })?;
        if self.per_hour == 0 {
            return Err(invalid("smtp.per_hour", "must be 1 or more"));
        }
        let site_url = self.site_url.trim().trim_end_matches('/').to_string();
        if !(site_url.starts_with("https://") || site_url.starts_with("http://"))
            || site_url.contains(char::is_whitespace)
            || site_url.len() < "http://x".len()
        {
            return Err(invalid(
                "smtp.site_url",
                "give the site's address as members reach it, such as https://maillon.example.org",
            ));
        }
        Ok(Some(SmtpSettings {
            host: host.to_string(),
            port: self.port,
            tls,
            credentials,
            from,
            per_hour: self.per_hour,
            site_url,
            timing: MailTiming::default(),
        }))
    }

    fn credentials(&self, base: &Path) -> Result<Option<(String, String)>, ConfigError> {
        let user = self.user.trim();
        let has_file = !self.password_file.as_os_str().is_empty();
        match (user.is_empty(), has_file) {
            (true, false) => Ok(None),
            (true, true) => Err(invalid(
                "smtp.user",
                "a password file is given: give the user too",
            )),
            (false, false) => Err(invalid(
                "smtp.password_file",
                "a user is given: give the file holding the password (never the password itself)",
            )),
            (false, true) => {
                let path = base.join(&self.password_file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    invalid(
                        "smtp.password_file",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let password = text.lines().next().unwrap_or_default().to_string();
                if password.is_empty() {
                    return Err(invalid(
                        "smtp.password_file",
                        format!(
                            "{} is empty: write the password on its first line",
                            path.display()
                        ),
                    ));
                }
                Ok(Some((user.to_string(), password)))
            }
        }
    }
}

fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSmtp {
        RawSmtp {
            host: "smtp.example.org".into(),
            from: "Maillon <maillon@example.org>".into(),
            site_url: "https://maillon.example.org/".into(),
            ..RawSmtp::default()
        }
    }

    fn field_of(raw: RawSmtp) -> &'static str {
        match raw.validate(Path::new("/")) {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn no_host_means_no_email_and_a_good_section_is_kept() {
        assert_eq!(RawSmtp::default().validate(Path::new("/")).ok(), Some(None));
        let settings = raw().validate(Path::new("/")).unwrap().unwrap();
        assert_eq!(settings.tls, TlsMode::StartTls);
        assert_eq!(settings.site_url, "https://maillon.example.org");
        assert_eq!(settings.from.email.to_string(), "maillon@example.org");
        assert!(settings.credentials.is_none());
    }

    #[test]
    fn every_bad_value_names_its_field() {
        assert_eq!(field_of(RawSmtp { port: 0, ..raw() }), "smtp.port");
        assert_eq!(
            field_of(RawSmtp {
                tls: "ssl".into(),
                ..raw()
            }),
            "smtp.tls"
        );
        assert_eq!(
            field_of(RawSmtp {
                tls: "none".into(),
                ..raw()
            }),
            "smtp.tls"
        );
        assert_eq!(
            field_of(RawSmtp {
                from: "pas une adresse".into(),
                ..raw()
            }),
            "smtp.from"
        );
        assert_eq!(
            field_of(RawSmtp {
                per_hour: 0,
                ..raw()
            }),
            "smtp.per_hour"
        );
        assert_eq!(
            field_of(RawSmtp {
                site_url: "maillon.org".into(),
                ..raw()
            }),
            "smtp.site_url"
        );
        assert_eq!(
            field_of(RawSmtp {
                user: "marie".into(),
                ..raw()
            }),
            "smtp.password_file"
        );
        let missing = RawSmtp {
            user: "marie".into(),
            password_file: "/nonexistent/maillon-password".into(),
            ..raw()
        };
        assert_eq!(field_of(missing), "smtp.password_file");
    }

    #[test]
    fn plain_connections_only_to_this_machine_and_the_password_comes_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let local = RawSmtp {
            host: "127.0.0.1".into(),
            tls: "none".into(),
            user: "marie".into(),
            password_file: "pw".into(),
            ..raw()
        };
        let settings = local.validate(dir.path()).unwrap().unwrap();
        assert_eq!(settings.tls, TlsMode::None);
        assert_eq!(
            settings.credentials,
            Some(("marie".into(), "s3cret".into()))
        );
    }
}
