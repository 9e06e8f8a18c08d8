//! Founding a network with a team, end to end on one node: `init found`, the founding pages
//! (founder accounts, approvals, the signature), the switch to the whole node on the same
//! HTTP server, and the founders admitting the first member through the member site.

use axum::http::StatusCode;
use maillon_web_ui::keys::KdfParams;
use maillon_web_ui::WebConfig;

use super::Browser;
use crate::config::{Config, RawConfig};
use crate::engine::system_clock;
use crate::founding::{self, Founding};
use crate::init::{init, Entry, FoundingPlan};
use crate::node::NodeSettings;

const FOUNDERS: [(&str, &str, &str); 3] = [
    ("claire", "Claire Besson", "26000 Valence"),
    ("paul", "Paul Girard", "07000 Privas"),
    ("ines", "Inès Morel", "38000 Grenoble"),
];

fn passphrase(login: &str) -> String {
    format!("la phrase de {login} est longue")
}

struct Ceremony {
    _tmp: tempfile::TempDir,
    config: Config,
    code: String,
    founding: Founding,
}

async fn ceremony() -> Ceremony {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = tmp.path().join("node");
    let entry = Entry::Found {
        network_name: "Maillon Drôme-Ardèche".into(),
        postcode: "26000".into(),
        plan: FoundingPlan::default(),
    };
    let report = init(&dir, "Paroisse Saint-Jean", &entry).expect("init");
    let mut config = RawConfig::load(&report.config_file)
        .expect("config")
        .validate(&dir)
        .expect("valid config");
    config.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    // Tests run side by side: no listener on the default metrics port.
    config.metrics = crate::metrics::settings::MetricsSettings::OFF;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let founding = founding::serve(&config, listener, web_config(), system_clock()).expect("serve");
    Ceremony {
        _tmp: tmp,
        config,
        code: report.founding_code.expect("code"),
        founding,
    }
}

fn web_config() -> WebConfig {
    WebConfig {
        kdf: KdfParams::FOR_TESTS,
        ..WebConfig::default()
    }
}

impl Ceremony {
    fn browser(&self) -> Browser {
        Browser::over(self.founding.router())
    }

    async fn register(&self, (login, name, place): (&str, &str, &str)) -> super::Page {
        let mut browser = self.browser();
        let form = browser.get("/fondation").await;
        let pass = passphrase(login);
        browser
            .post_form(
                "/fondation/fondateur",
                &[
                    ("csrf", &form.csrf()),
                    ("code", &self.code.to_lowercase().replace('-', " ")),
                    ("login", login),
                    ("name", name),
                    ("place", place),
                    ("passphrase", &pass),
                    ("confirm", &pass),
                    ("council", "oui"),
                ],
            )
            .await
    }

    async fn act(&self, path: &str, login: &str, confirm: bool) -> super::Page {
        let mut browser = self.browser();
        let form = browser.get("/fondation").await;
        let pass = passphrase(login);
        let mut fields = vec![
            ("csrf", form.csrf()),
            ("login", login.to_string()),
            ("passphrase", pass),
        ];
        if confirm {
            fields.push(("confirm", "oui".to_string()));
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        browser.post_form(path, &fields).await
    }

    /// The account files' names.
    fn founding_accounts(&self) -> Vec<String> {
        std::fs::read_dir(self.config.data_dir.join("accounts"))
            .expect("accounts folder")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    fn settings(&self) -> NodeSettings {
        let mut network = crate::node::network_settings(&self.config).expect("network");
        network.mdns = false;
        NodeSettings {
            config: self.config.clone(),
            network,
            clock: system_clock(),
            web: web_config(),
        }
    }
}

#[tokio::test]
async fn a_bad_registration_is_refused_and_a_good_one_shows_the_key() {
    let ceremony = ceremony().await;
    let mut browser = ceremony.browser();
    let page = browser.get("/fondation").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Il y a 0 fondateur, mais"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("Parrainages nécessaires pour devenir membre"));
    let status = browser.get("/api/v1/status").await;
    let status: serde_json::Value = serde_json::from_str(&status.body).expect("JSON status");
    assert_eq!(status["state"], "founding");
    assert_eq!(status["expected_founders"], 3);
    assert!(status["problems"][0]
        .as_str()
        .is_some_and(|p| p.contains("0 founder(s)")));
    // Every other page leads to the founding page while there is no charter.
    let elsewhere = browser.get("/inscription").await;
    assert_eq!(elsewhere.location.as_deref(), Some("/fondation"));

    let forged = browser
        .post_form(
            "/fondation/fondateur",
            &[("csrf", "forged"), ("code", &ceremony.code)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let form = browser.get("/fondation").await;
    let wrong = browser
        .post_form(
            "/fondation/fondateur",
            &[
                ("csrf", &form.csrf()),
                ("code", "AAAA-BBBB-CCCC"),
                ("login", "claire"),
                ("name", "Claire Besson"),
                ("place", "26000"),
                ("passphrase", "la phrase est longue"),
                ("confirm", "la phrase est longue"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Ce code de fondation"));
    let short = browser
        .post_form(
            "/fondation/fondateur",
            &[
                ("csrf", &form.csrf()),
                ("code", &ceremony.code),
                ("login", "claire"),
                ("name", "Claire Besson"),
                ("place", "Atlantide"),
                ("passphrase", "court"),
                ("confirm", "court"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.body.contains("au moins 10 caractères"));
    assert!(short.body.contains("Nous ne connaissons pas « Atlantide »"));
    assert!(!ceremony
        .config
        .data_dir
        .join("accounts")
        .read_dir()
        .unwrap()
        .any(|_| true));

    let created = ceremony.register(FOUNDERS[0]).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    assert!(created.body.contains("Votre clé de fondateur est créée"));
    let fingerprint_start = created.body.find("id=\"empreinte\">").expect("fingerprint") + 16;
    let fingerprint = &created.body[fingerprint_start..fingerprint_start + 10];
    let page = browser.get("/fondation").await;
    assert!(
        page.body.contains(fingerprint),
        "{fingerprint} in {}",
        page.body
    );
    let again = ceremony.register(FOUNDERS[0]).await;
    assert!(again.body.contains("identifiant est déjà pris"));
    // A founder may withdraw before the signature: the draft and the account go.
    let withdrawn = ceremony.act("/fondation/retirer", "claire", false).await;
    assert!(
        withdrawn
            .body
            .contains("ne fait plus partie des fondateurs"),
        "{}",
        withdrawn.body
    );
    assert!(!withdrawn.body.contains(fingerprint));
    let created = ceremony.register(FOUNDERS[0]).await;
    assert!(
        created.body.contains("Votre clé de fondateur est créée"),
        "{}",
        created.body
    );
    // A founder who lost their passphrase is removed with the founding code.
    ceremony.register(FOUNDERS[1]).await;
    let mut remover = ceremony.browser();
    let form = remover.get("/fondation").await;
    let refused = remover
        .post_form(
            "/fondation/retirer-code",
            &[
                ("csrf", &form.csrf()),
                ("login", "paul"),
                ("code", "AAAA-AAAA-AAAA"),
            ],
        )
        .await;
    assert!(
        refused.body.contains("Ce code de fondation"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Paul Girard"));
    let removed = remover
        .post_form(
            "/fondation/retirer-code",
            &[
                ("csrf", &form.csrf()),
                ("login", "paul"),
                ("code", &ceremony.code),
            ],
        )
        .await;
    assert!(removed.body.contains("est retiré"), "{}", removed.body);
    assert!(!removed.body.contains("Paul Girard"));
    assert!(ceremony
        .founding_accounts()
        .iter()
        .all(|name| !name.contains(&hex::encode("paul"))));
    // The sealed key is on disk, never the seed in clear.
    let draft = std::fs::read_to_string(ceremony.config.data_dir.join("founding.json")).unwrap();
    assert!(draft.contains("Claire Besson") && !draft.contains("seed"));
    ceremony.founding.stop().await;
}

#[tokio::test]
async fn a_failed_signing_keeps_the_node_founding_without_a_charter() {
    let ceremony = ceremony().await;
    for founder in FOUNDERS {
        ceremony.register(founder).await;
    }
    for (login, _, _) in FOUNDERS {
        ceremony.act("/fondation/approuver", login, false).await;
    }
    // The charter cannot be written: a folder, not empty, stands where it goes.
    let blocker = ceremony.config.charter_file.clone();
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("in-the-way"), b"").unwrap();
    let failed = ceremony.act("/fondation/signer", "claire", true).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!ceremony.config.charter_file.is_file());
    assert!(!ceremony
        .config
        .data_dir
        .join(crate::node::ANNOUNCEMENT_FILE)
        .exists());
    assert!(founding::is_pending(&ceremony.config));
    std::fs::remove_dir_all(&blocker).unwrap();
    let signed = ceremony.act("/fondation/signer", "claire", true).await;
    assert!(
        signed.body.contains("Le réseau est fondé"),
        "{}",
        signed.body
    );
    assert!(ceremony.config.charter_file.exists());
    ceremony.founding.stop().await;
}

#[tokio::test]
async fn three_founders_found_the_network_and_admit_the_first_member() {
    let mut ceremony = ceremony().await;
    for founder in &FOUNDERS[..2] {
        assert_eq!(ceremony.register(*founder).await.status, StatusCode::OK);
    }
    // Two founders cannot found a network that asks three sponsors: the page says why.
    let early = ceremony.act("/fondation/signer", "claire", true).await;
    assert!(
        early.body.contains("Il y a 2 fondateurs, mais"),
        "{}",
        early.body
    );
    assert!(!ceremony.config.charter_file.exists());
    ceremony.register(FOUNDERS[2]).await;
    let unapproved = ceremony.act("/fondation/signer", "claire", true).await;
    assert!(
        unapproved
            .body
            .contains("pas encore approuvé la charte telle qu")
            && unapproved.body.contains("Paul Girard, Inès Morel"),
        "{}",
        unapproved.body
    );
    assert!(!ceremony.config.charter_file.exists());
    let unconfirmed = ceremony.act("/fondation/signer", "claire", false).await;
    assert!(unconfirmed.body.contains("Cochez la case"));
    for (login, _, _) in &FOUNDERS[1..] {
        let approved = ceremony.act("/fondation/approuver", login, false).await;
        assert!(
            approved.body.contains("approbation est enregistrée"),
            "{}",
            approved.body
        );
    }
    let wrong = ceremony.act("/fondation/approuver", "nobody", false).await;
    assert!(wrong.body.contains("phrase de passe incorrect"));
    let signed = ceremony.act("/fondation/signer", "claire", true).await;
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.body);
    assert!(
        signed.body.contains("Le réseau est fondé"),
        "{}",
        signed.body
    );
    ceremony.founding.founded().await;

    let router = ceremony.founding.router();
    let settings = ceremony.settings();
    let node = ceremony
        .founding
        .start_node(settings)
        .await
        .expect("the node starts");
    let charter = node.engine.charter().clone();
    assert_eq!(charter.founders.len(), 3);
    assert_eq!(charter.council.len(), 3);
    assert_eq!(charter.sponsors_required, 3);

    // The same HTTP server now serves the member site; the founders sign in with the
    // passphrases that sealed their keys, and the signer runs the node.
    let mut browsers = Vec::new();
    for (login, name, _) in FOUNDERS {
        let mut browser = Browser::over(router.clone());
        let form = browser.get("/connexion").await;
        let pass = passphrase(login);
        let answer = browser
            .post_form(
                "/connexion",
                &[
                    ("csrf", &form.csrf()),
                    ("login", login),
                    ("passphrase", &pass),
                ],
            )
            .await;
        assert_eq!(
            answer.location.as_deref(),
            Some("/"),
            "{login}: {}",
            answer.body
        );
        let home = browser.get("/").await;
        assert!(home.body.contains(name), "{name}'s profile is published");
        browsers.push(browser);
    }
    let operator_page = browsers[0].get("/operateur").await;
    assert_eq!(
        operator_page.status,
        StatusCode::OK,
        "{}",
        operator_page.body
    );
    let not_operator = browsers[1].get("/operateur").await;
    assert_eq!(not_operator.status, StatusCode::FORBIDDEN);

    // A candidate joins and the three founders sponsor her.
    let mut candidate = Browser::over(router.clone());
    let form = candidate.get("/inscription").await;
    let joined = candidate
        .post_form(
            "/inscription",
            &[
                ("csrf", &form.csrf()),
                ("name", "Jeanne Martin"),
                ("place", "26000 Valence"),
                ("login", "jeanne"),
                ("passphrase", "ma phrase secrète"),
                ("confirm", "ma phrase secrète"),
                ("accept", "oui"),
            ],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let page = candidate.get("/candidature").await;
    assert!(page.body.contains("0 parrainage sur 3"), "{}", page.body);
    let code_start = page.body.find("id=\"code\">").expect("code") + "id=\"code\">".len();
    let code = page.body[code_start..code_start + 9].to_string();
    for browser in &mut browsers {
        let found = browser.get(&format!("/parrainer?code={code}")).await;
        let link = found.location.expect("the sponsorship page");
        let form = browser.get(&link).await;
        let signed = browser
            .post_form(
                &link,
                &[
                    ("csrf", &form.csrf()),
                    ("relation", "1"),
                    ("know", "oui"),
                    ("note", "Voisine"),
                ],
            )
            .await;
        assert!(
            signed.body.contains("Votre parrainage est signé"),
            "{}",
            signed.body
        );
    }
    let member = candidate.get("/candidature").await;
    assert!(member.body.contains("Vous êtes membre"), "{}", member.body);
    node.shutdown().await.expect("shutdown");
}
