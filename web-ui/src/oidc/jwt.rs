//! ID tokens: JWTs signed with EdDSA (RFC 8037) by a key derived from the node's key, and
//! the JWK set that publishes its public half. The derived key signs only tokens, so a token
//! can never be taken for a signed record, nor a record for a token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use maillon_protocol::SecretKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::MemberClaims;

/// The PKCS #8 header of an Ed25519 private key (RFC 8410), before its 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The node's token-signing key.
pub struct TokenKey {
    encoding: EncodingKey,
    public: [u8; 32],
    /// The key id in token headers and the JWK set.
    pub kid: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What an ID token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// This site's address.
    pub iss: String,
    /// The client id.
    pub aud: String,
    /// Expiry, in seconds since 1970.
    pub exp: u64,
    /// Issue time, in seconds since 1970.
    pub iat: u64,
    /// The nonce the site sent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The member.
    #[serde(flatten)]
    pub member: MemberClaims,
}

impl TokenKey {
    /// The token key of a node, derived from the node key's seed.
    pub fn derive(node_seed: &[u8; 32]) -> TokenKey {
        let mut hasher = Sha256::new();
        hasher.update(b"maillon oidc token key v1\0");
        hasher.update(node_seed);
        let seed: [u8; 32] = hasher.finalize().into();
        let public = SecretKey::from_seed(seed).public_key().0;
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        TokenKey {
            encoding: EncodingKey::from_ed_der(&der),
            public,
            kid: hex::encode(&Sha256::digest(public)[..8]),
        }
    }

    /// Signs an ID token.
    pub fn sign(&self, claims: &IdTokenClaims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// The JWK set with the public key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.public),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_the_published_key_and_not_with_another() {
        let key = TokenKey::derive(&[3; 32]);
        let claims = IdTokenClaims {
            iss: "https://noeud.paroisse.fr".into(),
            aud: "site-abc".into(),
            exp: 4_000_000_000,
            iat: 1_800_000_000,
            nonce: Some("n-0S6_WzA2Mj".into()),
            member: MemberClaims {
                sub: "sujet".into(),
                maillon_membre: true,
                ..MemberClaims::default()
            },
        };
        let token = key.sign(&claims).expect("signed");
        let x = key.jwks()["keys"][0]["x"].as_str().unwrap().to_string();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["site-abc"]);
        validation.set_issuer(&["https://noeud.paroisse.fr"]);
        let decoded = jsonwebtoken::decode::<IdTokenClaims>(
            &token,
            &DecodingKey::from_ed_components(&x).unwrap(),
            &validation,
        )
        .expect("verifies");
        assert_eq!(decoded.claims, claims);
        assert_eq!(decoded.header.kid.as_deref(), Some(key.kid.as_str()));
        let other = TokenKey::derive(&[4; 32]);
        let other_x = other.jwks()["keys"][0]["x"].as_str().unwrap().to_string();
        assert!(jsonwebtoken::decode::<IdTokenClaims>(
            &token,
            &DecodingKey::from_ed_components(&other_x).unwrap(),
            &validation,
        )
        .is_err());
        assert_ne!(
            key.public,
            SecretKey::from_seed([3; 32]).public_key().0,
            "not the node key"
        );
    }
}
