//! E-mail to members: the topics a member chooses in « Mon compte », what that page shows of
//! their address, and the text of every e-mail, in the member's language. The node keeps the
//! address and the queue and does the sending; notices come from [`crate::notifications`].
//!
//! No e-mail carries a secret: links lead to the site's pages (sign-in required), the
//! unsubscribe link only turns e-mails off, and the verification link only confirms the address.

use serde::{Deserialize, Serialize};

use crate::notifications::{Notice, NoticeKind};
use crate::session::Lang;

/// What a member may choose to receive by e-mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MailTopic {
    /// A transaction opened on the member's listing.
    Transactions,
    /// An answer or a message in a transaction.
    Messages,
    /// A reminder before the member's answer deadline.
    Reminders,
    /// Sponsorships received, the candidacy's progress, sponsors and sponsees expelled.
    Sponsorship,
    /// A moderation decision about the member or their report.
    Moderation,
    /// A daily digest of new listings matching the saved searches.
    Digest,
}

impl MailTopic {
    /// Every topic, in the order of the account page.
    pub const ALL: [MailTopic; 6] = [
        MailTopic::Transactions,
        MailTopic::Messages,
        MailTopic::Reminders,
        MailTopic::Sponsorship,
        MailTopic::Moderation,
        MailTopic::Digest,
    ];

    /// The form field's name.
    pub fn code(self) -> &'static str {
        match self {
            MailTopic::Transactions => "transactions",
            MailTopic::Messages => "messages",
            MailTopic::Reminders => "rappels",
            MailTopic::Sponsorship => "parrainage",
            MailTopic::Moderation => "moderation",
            MailTopic::Digest => "resume",
        }
    }

    /// The account page's label.
    pub fn label(self, l: Lang) -> &'static str {
        match self {
            MailTopic::Transactions => l.pick(
                "Une transaction ouverte sur une de mes annonces",
                "A transaction opened on one of my listings",
            ),
            MailTopic::Messages => l.pick("Une réponse ou un message", "An answer or a message"),
            MailTopic::Reminders => l.pick(
                "Un rappel avant la fin de mon délai de réponse",
                "A reminder before my answer deadline",
            ),
            MailTopic::Sponsorship => l.pick(
                "Mes parrainages et l'avancée de ma candidature",
                "My sponsorships and my candidacy's progress",
            ),
            MailTopic::Moderation => l.pick(
                "Une décision de modération me concernant ou concernant mon signalement",
                "A moderation decision about me or my report",
            ),
            MailTopic::Digest => l.pick(
                "Un résumé quotidien de mes recherches enregistrées",
                "A daily digest of my saved searches",
            ),
        }
    }

    /// The topic a notice belongs to.
    pub fn of(kind: &NoticeKind) -> MailTopic {
        match kind {
            NoticeKind::NewTransaction => MailTopic::Transactions,
            NoticeKind::Answered | NoticeKind::Message => MailTopic::Messages,
            NoticeKind::DeadlineNear => MailTopic::Reminders,
            NoticeKind::Sponsored | NoticeKind::SponseeExpelled | NoticeKind::SponsorExpelled => {
                MailTopic::Sponsorship
            }
            NoticeKind::Warned | NoticeKind::ComplaintUpdate => MailTopic::Moderation,
            NoticeKind::SavedSearch { .. } => MailTopic::Digest,
        }
    }
}

/// A member's e-mail address as the account page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailStatus {
    /// The address.
    pub address: String,
    /// Whether the member opened the verification link.
    pub verified: bool,
    /// The server's answer when it refused the address, if it did.
    pub refused: Option<String>,
    /// What the member receives.
    pub topics: Vec<MailTopic>,
}

/// What giving an address did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressOutcome {
    /// Kept, unverified; a verification link is on its way.
    VerificationQueued,
    /// Not an e-mail address.
    Invalid,
    /// This site sends no e-mail.
    Disabled,
}

/// One e-mail's subject and plain-text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailText {
    /// The subject.
    pub subject: String,
    /// The body, plain text.
    pub body: String,
}

/// The footer of every e-mail but the verification: why it came and how to stop it.
pub fn footer(l: Lang, site_url: &str, unsubscribe_url: &str) -> String {
    l.pick_string(
        format!(
            "\n\n--\nVous recevez cet e-mail parce que vous l'avez choisi dans « Mon compte » : {site_url}/compte\nPour ne plus recevoir aucun e-mail : {unsubscribe_url}\n"
        ),
        format!(
            "\n\n--\nYou receive this e-mail because you chose it in \"My account\": {site_url}/compte\nTo receive no more e-mail: {unsubscribe_url}\n"
        ),
    )
}

/// The e-mail asking the member to confirm their address.
pub fn verification(l: Lang, site_name: &str, link: &str) -> MailText {
    MailText {
        subject: l.pick_string(
            format!("{site_name} : confirmez votre adresse e-mail"),
            format!("{site_name}: confirm your e-mail address"),
        ),
        body: l.pick_string(
            format!(
                "Bonjour,\n\nVous avez donné cette adresse sur {site_name}. Pour la confirmer, ouvrez ce lien dans les 48 heures :\n\n{link}\n\nCe lien ne vous connecte pas et ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce message : vous ne recevrez rien d'autre.\n"
            ),
            format!(
                "Hello,\n\nYou gave this address on {site_name}. To confirm it, open this link within 48 hours:\n\n{link}\n\nThe link does not sign you in and works once. If you asked for nothing, ignore this message: you will receive nothing else.\n"
            ),
        ),
    }
}

/// "Motif : …", the reason given by moderation.
fn reason(l: Lang, about: &str) -> String {
    l.pick_string(format!("Motif : {about}"), format!("Reason: {about}"))
}

/// The e-mail for one notice; `who` is the name of the member who acted, if any.
pub fn notice(l: Lang, site_name: &str, site_url: &str, notice: &Notice, who: &str) -> MailText {
    let about = &notice.about;
    let (subject, line) = match &notice.kind {
        NoticeKind::NewTransaction => (
            l.pick_string(format!("{who} s'intéresse à « {about} »"), format!("{who} is interested in \"{about}\"")),
            l.pick_string(
                format!("{who} a ouvert une transaction sur votre annonce « {about} ». Répondez-lui avant la fin du délai."),
                format!("{who} opened a transaction on your listing \"{about}\". Answer before the deadline."),
            ),
        ),
        NoticeKind::Answered => (
            l.pick_string(format!("{who} vous a répondu"), format!("{who} answered you")),
            l.pick_string(format!("{who} a répondu au sujet de « {about} »."), format!("{who} answered about \"{about}\".")),
        ),
        NoticeKind::Message => (
            l.pick_string(format!("Nouveau message de {who}"), format!("New message from {who}")),
            l.pick_string(format!("{who} vous a écrit au sujet de « {about} »."), format!("{who} wrote to you about \"{about}\".")),
        ),
        NoticeKind::DeadlineNear => (
            l.pick_string(format!("Rappel : répondez à {who}"), format!("Reminder: answer {who}")),
            l.pick_string(
                format!("{who} attend votre réponse au sujet de « {about} ». Il vous reste moins d'un jour pour répondre : c'est l'engagement de chaque membre."),
                format!("{who} is waiting for your answer about \"{about}\". Less than a day is left to answer: every member promised to."),
            ),
        ),
        NoticeKind::Sponsored => (
            l.pick_string(format!("{who} vous a parrainé"), format!("{who} sponsored you")),
            l.pick_string(format!("{who} vous a parrainé. Voyez où en est votre candidature."), format!("{who} sponsored you. See how your candidacy stands.")),
        ),
        NoticeKind::SponseeExpelled => (
            l.pick_string(format!("{who}, que vous aviez parrainé, a été exclu"), format!("{who}, whom you sponsored, was expelled")),
            reason(l, about),
        ),
        NoticeKind::SponsorExpelled => (
            l.pick_string(format!("{who}, votre parrain, a été exclu"), format!("{who}, your sponsor, was expelled")),
            l.pick_string(format!("Motif : {about}. Vous aurez peut-être besoin d'un autre parrain."), format!("Reason: {about}. You may need another sponsor.")),
        ),
        NoticeKind::Warned => (
            l.pick("Un avertissement de la modération", "A warning from moderation").to_string(),
            reason(l, about),
        ),
        NoticeKind::ComplaintUpdate => (
            l.pick("Votre signalement a été traité", "Your report was handled").to_string(),
            l.pick_string(format!("Décision : {about}"), format!("Decision: {about}")),
        ),
        NoticeKind::SavedSearch { label, count } => (
            format!("{} : {label}", crate::page::new_listings(*count, l)),
            l.pick_string(
                format!("{} pour « {label} ».", crate::page::new_listings(*count, l)),
                format!("{} for \"{label}\".", crate::page::new_listings(*count, l)),
            ),
        ),
    };
    let see = l.pick("Voir sur le site :", "See it on the site:");
    MailText {
        subject: format!("{site_name} : {subject}"),
        body: format!("{line}\n\n{see} {site_url}{}", notice.link),
    }
}

/// The daily digest of saved searches with new listings.
pub fn digest(l: Lang, site_name: &str, site_url: &str, notices: &[Notice]) -> MailText {
    let mut body = l
        .pick(
            "Nouvelles annonces pour vos recherches enregistrées :\n\n",
            "New listings for your saved searches:\n\n",
        )
        .to_string();
    for notice in notices {
        if let NoticeKind::SavedSearch { label, count } = &notice.kind {
            body.push_str(&format!(
                "- {label} : {count}\n  {site_url}{}\n",
                notice.link
            ));
        }
    }
    MailText {
        subject: l.pick_string(
            format!("{site_name} : vos recherches du jour"),
            format!("{site_name}: your searches today"),
        ),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::Timestamp;

    #[test]
    fn every_notice_kind_has_a_topic_and_a_text_in_both_languages() {
        let reminder = Notice {
            kind: NoticeKind::DeadlineNear,
            at: Timestamp(1),
            who: None,
            about: "Vélo".into(),
            link: "/transaction/ab".into(),
        };
        assert_eq!(MailTopic::of(&reminder.kind), MailTopic::Reminders);
        let fr = notice(Lang::Fr, "Maillon", "https://m.example", &reminder, "Jean");
        let en = notice(Lang::En, "Maillon", "https://m.example", &reminder, "Jean");
        assert!(fr.subject.contains("répondez à Jean"), "{}", fr.subject);
        assert!(en.subject.contains("answer Jean"), "{}", en.subject);
        assert!(fr.body.contains("https://m.example/transaction/ab"));
        let codes: std::collections::HashSet<_> = MailTopic::ALL.iter().map(|t| t.code()).collect();
        assert_eq!(codes.len(), MailTopic::ALL.len());
    }
}
