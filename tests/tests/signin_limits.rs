//! Sign-in limits on a running node: the server passes each client's address to the
//! handlers, so that one address gets 30 failures in 15 minutes, whatever the logins.

#![allow(clippy::unwrap_used)]

use maillon_tests::Cluster;

/// One sign-in attempt over HTTP, with the session cookie and CSRF token of the form.
async fn attempt(http: &reqwest::Client, base: &str, login: &str, passphrase: &str) -> u16 {
    let form = http.get(format!("{base}/connexion")).send().await.unwrap();
    let cookie = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = form.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).unwrap() + marker.len();
    let csrf = body[start..].split('"').next().unwrap().to_string();
    http.post(format!("{base}/connexion"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", login),
            ("passphrase", passphrase),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_thirty_failures_on_a_running_node() {
    let cluster = Cluster::new(99, 10, 1);
    let label = cluster.network.keys[0].0.clone();
    cluster
        .add_account(0, &label, "jeanne", "une phrase de passe solide")
        .unwrap();
    let node = cluster
        .start(0, Cluster::settings(Vec::new()), true)
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        attempt(&http, &node.base, "jeanne", "une phrase de passe solide").await,
        303
    );
    for i in 0..30 {
        let login = format!("inconnu-{}", i / 4);
        assert_eq!(attempt(&http, &node.base, &login, "au hasard").await, 401);
    }
    assert_eq!(
        attempt(&http, &node.base, "jeanne", "une phrase de passe solide").await,
        429
    );
}
