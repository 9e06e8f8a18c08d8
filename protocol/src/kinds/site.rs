//! A node's website among the addresses of its announcement (docs/PROTOCOL.md, kind 2, "The
//! node's website"): read from and written to multiaddress text, and shown as a URL.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::NodeAnnouncement;

/// The longest address text a NodeAnnouncement holds.
const MAX_ADDRESS_BYTES: usize = 200;

/// Where a node's members reach its website: scheme, host and port, without a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteAddress {
    secure: bool,
    host: Host,
    port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Host {
    Name(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// Why a URL is not a site address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SiteAddressError {
    /// Neither `https://` nor `http://`.
    #[error("the address must start with https:// (or http://)")]
    Scheme,
    /// A path, query, fragment or user name after the host.
    #[error("give only the site's host, such as https://maillon.example.org, without a path")]
    Path,
    /// The host is not a DNS name or an IP address.
    #[error("`{0}` is not a host name or an IP address")]
    Host(String),
    /// The port is not a number from 1 to 65535.
    #[error("the port must be a number from 1 to 65535")]
    Port,
    /// The multiaddress text would exceed 200 bytes.
    #[error("the host name is too long")]
    TooLong,
}

impl SiteAddress {
    /// Reads `https://HOST[:PORT]` or `http://HOST[:PORT]`, with at most a trailing `/`.
    pub fn from_url(url: &str) -> Result<SiteAddress, SiteAddressError> {
        let url = url.trim();
        let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(SiteAddressError::Scheme);
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(SiteAddressError::Path);
        }
        let (host, port) = split_port(authority)?;
        let port = port.unwrap_or(if secure { 443 } else { 80 });
        let site = SiteAddress {
            secure,
            host: read_host(host)?,
            port,
        };
        if site.address().len() > MAX_ADDRESS_BYTES {
            return Err(SiteAddressError::TooLong);
        }
        Ok(site)
    }

    /// Reads an announcement's address if it names a website; `None` for any other address.
    pub fn from_address(text: &str) -> Option<SiteAddress> {
        let parts: Vec<&str> = text.strip_prefix('/')?.split('/').collect();
        let (host, port, scheme) = match parts.as_slice() {
            [protocol, host, "tcp", port, scheme @ ..] => ((*protocol, *host), *port, scheme),
            _ => return None,
        };
        let secure = match scheme {
            ["http"] => false,
            ["https"] | ["tls", "http"] => true,
            _ => return None,
        };
        let host = match host {
            ("dns" | "dns4" | "dns6", name) => Host::Name(read_name(name).ok()?),
            ("ip4", address) => Host::V4(address.parse().ok()?),
            ("ip6", address) => Host::V6(address.parse().ok()?),
            _ => return None,
        };
        let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
        Some(SiteAddress { secure, host, port })
    }

    /// The first website among an announcement's addresses.
    pub fn of(announcement: &NodeAnnouncement) -> Option<SiteAddress> {
        announcement
            .addresses
            .iter()
            .find_map(|a| SiteAddress::from_address(a))
    }

    /// The multiaddress text to put in an announcement: `/dns/HOST/tcp/PORT/tls/http` for
    /// https, `.../http` for http.
    pub fn address(&self) -> String {
        let host = match &self.host {
            Host::Name(name) => format!("/dns/{name}"),
            Host::V4(address) => format!("/ip4/{address}"),
            Host::V6(address) => format!("/ip6/{address}"),
        };
        let scheme = if self.secure { "tls/http" } else { "http" };
        format!("{host}/tcp/{}/{scheme}", self.port)
    }

    /// The URL members open, without a trailing `/`; the port only when not the scheme's.
    pub fn url(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SiteAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "https" } else { "http" };
        write!(f, "{scheme}://")?;
        match &self.host {
            Host::Name(name) => write!(f, "{name}")?,
            Host::V4(address) => write!(f, "{address}")?,
            Host::V6(address) => write!(f, "[{address}]")?,
        }
        let default = if self.secure { 443 } else { 80 };
        if self.port != default {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// Splits `host[:port]`, where an IPv6 host is written in brackets.
fn split_port(authority: &str) -> Result<(&str, Option<u16>), SiteAddressError> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| SiteAddressError::Host(authority.to_string()))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(SiteAddressError::Port)?),
        };
        (inside, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(text) => Some(
            text.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(SiteAddressError::Port)?,
        ),
    };
    Ok((host, port))
}

fn read_host(host: &str) -> Result<Host, SiteAddressError> {
    if let Ok(address) = host.parse::<Ipv4Addr>() {
        return Ok(Host::V4(address));
    }
    if let Ok(address) = host.parse::<Ipv6Addr>() {
        return Ok(Host::V6(address));
    }
    read_name(host).map(Host::Name)
}

/// A DNS name: labels of 1 to 63 letters, digits and hyphens, not starting or ending with a
/// hyphen, lowercased.
fn read_name(name: &str) -> Result<String, SiteAddressError> {
    let lower = name.to_ascii_lowercase();
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if lower.is_empty() || lower.len() > 253 || !lower.split('.').all(label_ok) {
        return Err(SiteAddressError::Host(name.to_string()));
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_an_address_and_back() {
        for (url, address, shown) in [
            (
                "https://Maillon.Example.org/",
                "/dns/maillon.example.org/tcp/443/tls/http",
                "https://maillon.example.org",
            ),
            (
                "http://127.0.0.1:8081",
                "/ip4/127.0.0.1/tcp/8081/http",
                "http://127.0.0.1:8081",
            ),
            (
                "https://[2001:db8::1]:8443",
                "/ip6/2001:db8::1/tcp/8443/tls/http",
                "https://[2001:db8::1]:8443",
            ),
            (
                "http://paroisse.example:80",
                "/dns/paroisse.example/tcp/80/http",
                "http://paroisse.example",
            ),
        ] {
            let site = SiteAddress::from_url(url).expect(url);
            assert_eq!(site.address(), address);
            assert_eq!(site.url(), shown);
            assert_eq!(SiteAddress::from_address(address), Some(site));
        }
    }

    #[test]
    fn other_spellings_of_a_website_are_read() {
        let read = |text: &str| SiteAddress::from_address(text).map(|s| s.url());
        assert_eq!(
            read("/dns4/a.example/tcp/443/https").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            read("/dns6/a.example/tcp/8080/http").as_deref(),
            Some("http://a.example:8080")
        );
    }

    #[test]
    fn libp2p_addresses_and_malformed_ones_are_not_websites() {
        for text in [
            "/ip4/192.0.2.1/tcp/4001",
            "/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWRawgfEJZQZeu4YqRQPeNpKVE3pW44cLjyL7dxFQL16YH",
            "/ip4/192.0.2.1/udp/4001/quic-v1",
            "/dns/a.example/tcp/0/http",
            "/dns/a.example/tcp/99999/http",
            "/dns/-bad.example/tcp/443/https",
            "/ip4/300.1.1.1/tcp/80/http",
            "/dns/a.example/tcp/443/tls/http/extra",
            "dns/a.example/tcp/443/https",
            "",
        ] {
            assert_eq!(SiteAddress::from_address(text), None, "{text}");
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let error = |url: &str| SiteAddress::from_url(url).unwrap_err();
        assert_eq!(error("maillon.example.org"), SiteAddressError::Scheme);
        assert_eq!(error("ftp://maillon.example.org"), SiteAddressError::Scheme);
        assert_eq!(
            error("https://maillon.example.org/site"),
            SiteAddressError::Path
        );
        assert_eq!(error("https://a.example?x=1"), SiteAddressError::Path);
        assert_eq!(error("https://user@a.example"), SiteAddressError::Path);
        assert_eq!(error("https://a.example:0"), SiteAddressError::Port);
        assert_eq!(error("https://a.example:http"), SiteAddressError::Port);
        assert_eq!(
            error("https://a_b.example"),
            SiteAddressError::Host("a_b.example".into())
        );
        assert_eq!(error("https://"), SiteAddressError::Host(String::new()));
        let long = format!("https://{}.example", vec!["a".repeat(63); 3].join("."));
        assert_eq!(error(&long), SiteAddressError::TooLong);
    }

    #[test]
    fn an_announcement_names_its_first_website() {
        let site = SiteAddress::from_url("https://b.example").expect("valid");
        let announcement = NodeAnnouncement {
            name: "Paroisse".into(),
            region: String::new(),
            postcode: "26000".into(),
            addresses: vec![
                "/ip4/192.0.2.1/tcp/4001".into(),
                site.address(),
                "/dns/c.example/tcp/443/tls/http".into(),
            ],
            operator: crate::PublicKey([7; 32]),
            operator_signature: crate::signature::Signature([0; 64]),
        };
        assert_eq!(SiteAddress::of(&announcement), Some(site));
    }
}
