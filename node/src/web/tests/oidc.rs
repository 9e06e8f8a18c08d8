//! « Se connecter avec Maillon » (issue 15 §5), through the whole OpenID Connect flow with a
//! real relying party library (`openidconnect`): discovery, the authorization request with
//! PKCE, the member's consent, the code exchange, the ID token's signature and claims, and
//! the user info; and what the provider refuses.

use axum::http::StatusCode;
use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};

use super::{key_of, Browser, Site};

const RETURN: &str = "http://localhost:9/retour";

/// The relying party as discovery makes it: token and user info endpoints from the metadata.
type SiteClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Registers a site on the operator's page; its id and secret.
async fn register(operator: &mut Browser) -> (String, String) {
    let csrf = operator.get("/operateur/sites-externes").await.csrf();
    let page = operator
        .post_form(
            "/operateur/sites-externes",
            &[
                ("csrf", &csrf),
                ("name", "Club de lecture"),
                ("redirects", RETURN),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let value = |id: &str| {
        let marker = format!("<code id=\"{id}\">");
        let start = page.body.find(&marker).expect(id) + marker.len();
        page.body[start..start + page.body[start..].find('<').unwrap()].to_string()
    };
    (value("client-id"), value("client-secret"))
}

/// The member's browser follows the authorization address and answers `decision`; the
/// address the site is sent back to.
async fn consent(member: &mut Browser, authorize: &url::Url, fields: &[(&str, &str)]) -> String {
    let path = format!(
        "{}?{}",
        authorize.path(),
        authorize.query().unwrap_or_default()
    );
    let asked = member.get(&path).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let consent = asked.location.expect("to the consent page");
    assert!(consent.starts_with("/oidc/consentement/"), "{consent}");
    let page = member.get(&consent).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Club de lecture"));
    assert!(page.body.contains("demande à vous connaître"));
    let mut form = vec![("csrf", page.csrf())];
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answered = member.post_form(&consent, &form).await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
    answered.location.expect("back to the site")
}

/// The site's authorization request, asking for the trust distance to founder-1: the address,
/// and what the site keeps to check the answer.
fn authorization(client: &SiteClient) -> (url::Url, CsrfToken, Nonce, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_extra_param("distance_de", key_of("founder-1").to_hex())
        .set_pkce_challenge(challenge)
        .url();
    (url, state, nonce, verifier)
}

fn query_value(address: &str, name: &str) -> Option<String> {
    url::Url::parse(address)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn an_outside_site_signs_a_member_in_with_a_real_openid_connect_library() {
    let site = Site::start(&["founder-1", "member-1"]).await;
    let address = site.serve().await;
    let issuer = format!("http://{address}");
    let mut operator = site.signed_in("founder-1").await;
    let (client_id, client_secret) = register(&mut operator).await;

    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(RETURN.into()).unwrap());
    let mut member = site.signed_in("member-1").await;
    let share_all = [
        ("decision", "accepter"),
        ("nom", "oui"),
        ("distance", "oui"),
    ];
    let (authorize, state, _, verifier) = authorization(&client);
    let back = consent(&mut member, &authorize, &share_all).await;
    assert!(back.starts_with(RETURN), "{back}");
    assert_eq!(
        query_value(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query_value(&back, "code").expect("a code");

    // A wrong verifier spends the code: the right one then finds nothing.
    let exchange = |code: &str, verifier: PkceCodeVerifier| {
        client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .expect("a token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&http)
    };
    assert!(exchange(&code, PkceCodeVerifier::new("x".repeat(43)))
        .await
        .is_err());
    assert!(exchange(&code, verifier).await.is_err());

    // Again, properly.
    let (authorize, _, nonce, verifier) = authorization(&client);
    let back = consent(&mut member, &authorize, &share_all).await;
    let code = query_value(&back, "code").expect("a code");
    let tokens = exchange(&code, verifier).await.expect("the code exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    // The site runs on the test network's clock, in January 2026.
    let site_now = site.now().0 as i64;
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa])
        .set_time_fn(move || chrono::DateTime::from_timestamp_millis(site_now).expect("a time"));
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.issuer().as_str(), issuer);
    assert_eq!(claims.audiences()[0].as_str(), client_id);
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .expect("the name, shared");
    assert!(!name.is_empty());
    // The library checked the signature: the payload's own claims can be read as they are.
    let payload = id_token.to_string().split('.').nth(1).unwrap().to_string();
    let payload: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["maillon_membre"], true);
    assert!(
        payload["maillon_distance"].as_u64().is_some_and(|d| d >= 1),
        "{payload}"
    );
    assert!(payload.get("address").is_none(), "the town was not shared");

    // The same claims at the user info endpoint, with the access token.
    let userinfo: serde_json::Value = http
        .get(format!("{issuer}/oidc/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("user info")
        .json()
        .await
        .expect("JSON");
    assert_eq!(userinfo["sub"], payload["sub"]);
    assert_eq!(userinfo["name"], payload["name"]);
    let refused = http
        .get(format!("{issuer}/oidc/userinfo"))
        .bearer_auth("pas-un-jeton")
        .send()
        .await
        .expect("user info");
    assert_eq!(refused.status().as_u16(), 401);

    // A code serves once.
    assert!(exchange(&code, PkceCodeVerifier::new("y".repeat(43)))
        .await
        .is_err());
}

#[tokio::test]
async fn the_provider_refuses_unknown_sites_missing_pkce_and_a_member_s_no() {
    let site = Site::start(&["founder-1", "member-1"]).await;
    let mut operator = site.signed_in("founder-1").await;
    let (client_id, _) = register(&mut operator).await;
    let mut member = site.signed_in("member-1").await;
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let ask = |client: &str, redirect: &str, pkce: &str| {
        format!(
            "/oidc/autoriser?response_type=code&client_id={client}&redirect_uri={}&scope=openid&state=s1{pkce}",
            super::encode(redirect)
        )
    };
    let pkce = format!("&code_challenge={challenge}&code_challenge_method=S256");

    // Unknown site or return address: an error page, never a redirection.
    let unknown = member.get(&ask("site-inconnu", RETURN, &pkce)).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.body.contains("pas enregistré"));
    let elsewhere = member
        .get(&ask(&client_id, "https://evil.example/cb", &pkce))
        .await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert!(elsewhere.location.is_none());

    // Without PKCE: back to the site with invalid_request.
    let plain = member.get(&ask(&client_id, RETURN, "")).await;
    assert_eq!(plain.status, StatusCode::SEE_OTHER);
    let location = plain.location.unwrap();
    assert_eq!(
        query_value(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_value(&location, "state").as_deref(), Some("s1"));

    // A visitor is asked to sign in first, then comes back to the consent page.
    let mut visitor = site.visitor();
    let sign_in = visitor.get(&ask(&client_id, RETURN, &pkce)).await;
    let to = sign_in.location.expect("to sign in");
    assert!(
        to.starts_with("/connexion?suite=%2Foidc%2Fconsentement%2F"),
        "{to}"
    );

    // The member says no.
    let asked = member.get(&ask(&client_id, RETURN, &pkce)).await;
    let consent = asked.location.unwrap();
    let page = member.get(&consent).await;
    let no = member
        .post_form(&consent, &[("csrf", &page.csrf()), ("decision", "refuser")])
        .await;
    let back = no.location.unwrap();
    assert_eq!(
        query_value(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert!(query_value(&back, "code").is_none());
    // The request is answered: its page is gone.
    assert_eq!(member.get(&consent).await.status, StatusCode::NOT_FOUND);
}
