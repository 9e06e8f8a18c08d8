//! The browser scenario's funding part (issue 15 §4), on node A: its operator writes the
//! donation page, the author asks to feature the listing, the operator grants it, the author
//! sees until when, the featured listing comes first on C, and the author sets the yearly
//! reminder aside.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::driver::Browser;
use super::{sign_in, sign_out, GOSSIP, PASSPHRASE, TITLE};

/// The operator of node A (the founder who vouched for it) and their login.
pub const OPERATOR: (usize, &str, &str) = (0, "founder-1", "operatrice.a");

const DONATION_TEXT: &str = "Vos dons paient le serveur de la paroisse et son électricité.";
const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";

/// Runs the part; `operator` is a browser free to sign in on A. Returns the screenshots.
pub async fn scenario(
    (a, c): (&str, &str),
    author: &Browser,
    operator: &Browser,
    listing: &str,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    let mut shots = Vec::new();
    sign_in(operator, a, OPERATOR.2, PASSPHRASE).await?;
    operator.goto(&format!("{a}/operateur/financement")).await?;
    operator.fill("text", DONATION_TEXT).await?;
    operator
        .fill(
            "payment_url",
            "https://www.helloasso.com/associations/paroisse/formulaires/1",
        )
        .await?;
    operator.fill("iban", "fr7630006000011234567890189").await?;
    operator.press("Enregistrer la page de dons").await?;
    operator
        .expect(
            "saving the donation page",
            "La page de dons est enregistrée.",
        )
        .await?;
    shots.extend(operator.screenshots(dir, "financement").await?);

    author.goto(&format!("{a}{listing}")).await?;
    author
        .fill("message-une", "Réglé par virement le 5 décembre.")
        .await?;
    author.press("Demander la mise à la une").await?;
    author
        .expect("asking to feature", "attend la réponse de l'association")
        .await?;

    operator.goto(&format!("{a}/operateur/financement")).await?;
    operator.expect("the request", TITLE).await?;
    operator
        .expect("the request's message", "Réglé par virement le 5 décembre.")
        .await?;
    operator.press("Payée : mettre à la une").await?;
    operator.expect("granting", "Accordée le").await?;
    operator.expect("granting", "1 sur 20").await?;

    author.goto(&format!("{a}{listing}")).await?;
    author
        .expect(
            "the author sees the end",
            "Votre annonce est à la une jusqu'au",
        )
        .await?;
    shots.extend(author.screenshots(dir, "annonce-a-la-une").await?);

    // The featured listing comes first on C once the bump got there.
    sign_out(operator, a).await?;
    operator
        .reload_until(
            "the bump reaching C",
            &format!("{c}/recherche?tri=une"),
            "À la une",
            GOSSIP,
        )
        .await?;
    let first = operator.element_text(".card h3").await?;
    if first != TITLE {
        return operator
            .fail(&format!(
                "the featured listing should come first, not «{first}»"
            ))
            .await;
    }

    // The author, a member of A, is reminded once and sets it aside; the page is a click away.
    author.goto(&format!("{a}/")).await?;
    author
        .expect("the yearly reminder", "vit des dons de ses membres")
        .await?;
    shots.extend(author.screenshots(dir, "accueil-membre").await?);
    author.press("Ne plus me le rappeler cette année").await?;
    author
        .expect_not("the reminder set aside", "vit des dons de ses membres")
        .await?;
    author.follow("Soutenir ce site").await?;
    author.expect("the donation page", DONATION_TEXT).await?;
    author.expect("the donation page's IBAN", IBAN).await?;
    shots.extend(author.screenshots(dir, "dons").await?);
    Ok(shots)
}
