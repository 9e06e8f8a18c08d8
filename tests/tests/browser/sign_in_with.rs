//! The browser scenario's « Se connecter avec Maillon » part (issue 15 §5), on node A: the
//! operator registers an outside site, and a member, sent by that site, consents in French
//! and is sent back to it with a code. The code's exchange and the ID token are checked with
//! a real relying party library in the node's route tests (`web/tests/oidc.rs`).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::driver::Browser;
use super::funding::OPERATOR;
use super::{sign_in, PASSPHRASE};

/// Where the outside site wants its members back: nothing listens there, and the test only
/// reads the address the browser is sent to.
const RETURN: &str = "http://127.0.0.1:9/retour";
/// The PKCE challenge of RFC 7636's appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Runs the part; `member` is signed in on A, `operator` free to sign in there.
pub async fn scenario(
    a: &str,
    member: &Browser,
    operator: &Browser,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut shots = Vec::new();
    sign_in(operator, a, OPERATOR.2, PASSPHRASE).await?;
    operator
        .goto(&format!("{a}/operateur/sites-externes"))
        .await?;
    operator.fill("name", "Club de lecture du quartier").await?;
    operator.fill("redirects", RETURN).await?;
    operator.press("Enregistrer le site").await?;
    let client_id = operator.element_text("#client-id").await?;
    operator
        .expect("the secret, shown once", "client_secret")
        .await?;
    shots.extend(operator.screenshots(dir, "sites-externes").await?);

    member
        .goto(&format!(
            "{a}/oidc/autoriser?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile&state=etat-42&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256",
            RETURN.replace(':', "%3A").replace('/', "%2F")
        ))
        .await?;
    member
        .expect(
            "the consent page",
            "Club de lecture du quartier demande à vous connaître",
        )
        .await?;
    member
        .expect(
            "what is always said",
            "Que vous êtes membre en règle du réseau",
        )
        .await?;
    shots.extend(member.screenshots(dir, "connexion-externe").await?);
    member.press("Accepter et continuer").await?;
    member
        .expect_url("back to the outside site", RETURN)
        .await?;
    member.expect_url("with a code", "code=").await?;
    member
        .expect_url("and the site's state", "state=etat-42")
        .await?;
    Ok(shots)
}
