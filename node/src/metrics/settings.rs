//! The `[metrics]` section of the configuration: where `GET /metrics` is served.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// The separate listener's address unless configured: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// `[metrics]`: where Prometheus reads the node's figures.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawMetrics {
    /// The separate listener's address (`127.0.0.1:9464`); empty: none.
    pub listen: String,
    /// Also serve `/metrics` on the site's port, to requests made on this machine without
    /// a proxy in between only.
    pub on_site: bool,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            listen: DEFAULT_LISTEN.into(),
            on_site: false,
        }
    }
}

/// Where `/metrics` is served, once checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The separate listener, if any.
    pub listen: Option<SocketAddr>,
    /// Whether the site's port serves it too (to direct local requests).
    pub on_site: bool,
}

impl MetricsSettings {
    /// No metrics endpoint at all (what tests and the demo start from).
    pub const OFF: MetricsSettings = MetricsSettings {
        listen: None,
        on_site: false,
    };
}

impl RawMetrics {
    /// Checks the address.
    pub fn validate(&self) -> Result<MetricsSettings, ConfigError> {
        let text = self.listen.trim();
        let listen = if text.is_empty() {
            None
        } else {
            Some(text.parse::<SocketAddr>().map_err(|_| ConfigError::Invalid {
                field: "metrics.listen",
                reason: format!(
                    "`{text}` is not an address such as {DEFAULT_LISTEN} (leave it empty for no separate listener)"
                ),
            })?)
        };
        Ok(MetricsSettings {
            listen,
            on_site: self.on_site,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_listens_on_loopback_and_a_bad_address_is_named() {
        let settings = RawMetrics::default().validate().unwrap();
        assert_eq!(settings.listen, Some(DEFAULT_LISTEN.parse().unwrap()));
        assert!(settings.listen.unwrap().ip().is_loopback());
        assert!(!settings.on_site);
        let off = RawMetrics {
            listen: " ".into(),
            on_site: true,
        };
        assert_eq!(
            off.validate().unwrap(),
            MetricsSettings {
                listen: None,
                on_site: true
            }
        );
        let bad = RawMetrics {
            listen: "localhost:metrics".into(),
            on_site: false,
        };
        let error = bad.validate().unwrap_err().to_string();
        assert!(error.contains("metrics.listen"), "{error}");
        assert!(error.contains("localhost:metrics"), "{error}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type is fixed by figment.
    fn the_environment_sets_or_turns_off_the_listener() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("MAILLON_METRICS__LISTEN", "");
            let raw = crate::config::RawConfig::from_environment().map_err(|e| e.to_string())?;
            assert_eq!(
                raw.metrics.validate().map_err(|e| e.to_string())?.listen,
                None
            );
            jail.set_env("MAILLON_METRICS__LISTEN", "0.0.0.0:9464");
            jail.set_env("MAILLON_METRICS__ON_SITE", "true");
            let raw = crate::config::RawConfig::from_environment().map_err(|e| e.to_string())?;
            let settings = raw.metrics.validate().map_err(|e| e.to_string())?;
            assert_eq!(settings.listen, Some("0.0.0.0:9464".parse().unwrap()));
            assert!(settings.on_site);
            Ok(())
        });
    }
}
