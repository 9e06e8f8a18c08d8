//! « Se connecter avec Maillon »: each node is an OpenID Connect provider for the outside
//! sites its operator registers, so that a site can check that a visitor is a member in good
//! standing, and learn what the member agrees to share.
//!
//! - Authorization code flow only, with PKCE (S256) required of every client.
//! - Clients are confidential: registered by the operator with their exact redirect
//!   addresses, and a secret kept only as its SHA-256.
//! - The subject is pairwise: the same member has a different, stable `sub` at each site,
//!   so that two sites cannot match their visitors by it.
//! - ID tokens are signed with EdDSA by a key derived from the node's key ([`jwt`]).
//! - Codes (10 minutes, single use) and access tokens (1 hour) are kept in memory
//!   ([`grants`]): a restart ends them, and the site asks the member again.
//!
//! The claims: `maillon_membre` (membership in good standing, always, it is the point),
//! and as the member chooses on the consent page: `name`, `address.locality` (the town),
//! and `maillon_distance`, the trust distance to a member the site names with the
//! `distance_de` parameter.

pub mod grants;
pub mod jwt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use maillon_protocol::PublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::session::Lang;

/// How long an authorization code lives.
pub const CODE_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// How long an access token lives.
pub const ACCESS_TOKEN_LIFETIME_MS: u64 = 60 * 60 * 1000;
/// How long an ID token is valid.
pub const ID_TOKEN_LIFETIME_MS: u64 = 10 * 60 * 1000;
/// Redirect addresses per client at most.
pub const MAX_REDIRECTS: usize = 5;

/// An outside site the operator registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcClient {
    /// The client id, given to the site.
    pub id: String,
    /// The site's name, shown on the consent page.
    pub name: String,
    /// The exact addresses the member may be sent back to.
    pub redirect_uris: Vec<String>,
    /// SHA-256 of the client secret, in hex.
    pub secret_sha256: String,
}

impl OidcClient {
    /// Whether `secret` is this client's, compared in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        let given = hex::encode(Sha256::digest(secret.as_bytes()));
        given.as_bytes().ct_eq(self.secret_sha256.as_bytes()).into()
    }
}

/// A new client: its record, and the secret to hand over once.
pub fn new_client(name: &str, redirect_uris: Vec<String>) -> (OidcClient, String) {
    let id = format!("site-{}", random_token(9));
    let secret = random_token(32);
    let client = OidcClient {
        id,
        name: name.to_string(),
        redirect_uris,
        secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
    };
    (client, secret)
}

/// A random token of `bytes` bytes, in base64url.
pub fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(raw)
}

/// Checks the operator's form: a name, and one to [`MAX_REDIRECTS`] redirect addresses,
/// each `https://`, or `http://` to the machine itself (for a site being built).
pub fn check_client(name: &str, redirects: &str, l: Lang) -> Result<(String, Vec<String>), String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 80 {
        return Err(l.pick_string(
            "Donnez le nom du site (80 signes au plus) : les membres le verront avant d'accepter."
                .into(),
            "Give the site's name (80 characters at most): members see it before they accept."
                .into(),
        ));
    }
    let uris: Vec<String> = redirects
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if uris.is_empty() || uris.len() > MAX_REDIRECTS {
        return Err(l.pick_string(
            format!("Donnez de 1 à {MAX_REDIRECTS} adresses de retour, une par ligne."),
            format!("Give 1 to {MAX_REDIRECTS} return addresses, one per line."),
        ));
    }
    if let Some(bad) = uris.iter().find(|u| !is_redirect_uri(u)) {
        return Err(l.pick_string(
            format!("« {bad} » ne convient pas : une adresse de retour commence par https:// (ou http://localhost pour un site en construction), sans # ni espace."),
            format!("\"{bad}\" does not work: a return address starts with https:// (or http://localhost for a site being built), without # or spaces."),
        ));
    }
    Ok((name.to_string(), uris))
}

fn is_redirect_uri(uri: &str) -> bool {
    let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|p| {
            uri.strip_prefix(p)
                .is_some_and(|r| r.is_empty() || r.starts_with([':', '/']))
        });
    let host_ok = uri
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    (local || host_ok)
        && uri.len() <= 500
        && !uri.contains('#')
        && uri.chars().all(|c| c.is_ascii_graphic())
}

/// Whether `verifier` answers the S256 `challenge` (RFC 7636).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let valid_verifier = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    valid_verifier && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

/// The member's subject at one site: the same for the same site, different across sites.
pub fn pairwise_subject(client_id: &str, identity: &PublicKey) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"maillon oidc subject v1\0");
    hasher.update(client_id.as_bytes());
    hasher.update([0]);
    hasher.update(identity.0);
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// What the member agreed to share with a site.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    /// Their display name.
    pub name: bool,
    /// Their town.
    pub town: bool,
    /// Their trust distance to the member the site named.
    pub distance: bool,
}

/// The claims about a member, as the site may see them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberClaims {
    /// The pairwise subject.
    pub sub: String,
    /// Whether the member is in good standing.
    pub maillon_membre: bool,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Town.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Trust distance to the named member, in links; absent when none within the bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maillon_distance: Option<u32>,
}

/// The address claim: only the town.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// The town.
    pub locality: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_follows_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn subjects_are_stable_per_site_and_differ_across_sites() {
        let member = PublicKey([5; 32]);
        assert_eq!(
            pairwise_subject("a", &member),
            pairwise_subject("a", &member)
        );
        assert_ne!(
            pairwise_subject("a", &member),
            pairwise_subject("b", &member)
        );
        assert_ne!(
            pairwise_subject("a", &member),
            pairwise_subject("a", &PublicKey([6; 32]))
        );
    }

    #[test]
    fn the_client_form_accepts_https_and_local_addresses_only() {
        let ok = check_client(
            " Club de lecture ",
            "https://club.fr/retour\nhttp://localhost:8000/cb\n",
            Lang::Fr,
        );
        assert_eq!(
            ok,
            Ok((
                "Club de lecture".to_string(),
                vec![
                    "https://club.fr/retour".to_string(),
                    "http://localhost:8000/cb".to_string()
                ]
            ))
        );
        for bad in [
            "http://club.fr/retour",
            "https://club.fr/#x",
            "https:///x",
            "http://localhost.evil.fr/",
        ] {
            assert!(
                check_client("Club", bad, Lang::Fr)
                    .unwrap_err()
                    .contains("ne convient pas"),
                "{bad}"
            );
        }
        assert!(check_client("", "https://club.fr", Lang::Fr).is_err());
        assert!(check_client("Club", "", Lang::Fr).is_err());
    }

    #[test]
    fn a_client_secret_is_kept_as_its_digest_and_checked() {
        let (client, secret) = new_client("Club", vec!["https://club.fr/cb".into()]);
        assert!(client.secret_matches(&secret));
        assert!(!client.secret_matches("autre"));
        assert!(!client.secret_sha256.contains(&secret));
        assert!(client.id.starts_with("site-"));
    }
}
