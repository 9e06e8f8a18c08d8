//! The operator page's key figures and its charts of records and peers over the last days.

use axum::http::StatusCode;
use maillon_protocol::testkit::Signer;

use super::{network, secret, Site};
use crate::metrics::history::Sample;

#[tokio::test]
async fn the_operator_sees_key_figures_and_charts_of_the_last_days() {
    let site = Site::start(&["founder-1"]).await;
    let signer = Signer::new(network().signer.charter.clone());
    let this = maillon_protocol::testkit::key(super::NODE_KEY_LABEL);
    site.submit(&signer.announce_node(&this, &secret("founder-1"), "Nœud de test", site.now()))
        .await;
    let day = 24 * 3600 * 1000;
    let now = site.now().0;
    site.engine().metrics().set_history(vec![
        Sample {
            at_ms: now - 20 * day,
            records: 1,
            peers: 0,
        },
        Sample {
            at_ms: now - 5 * day,
            records: 120,
            peers: 1,
        },
        Sample {
            at_ms: now - day,
            records: 180,
            peers: 3,
        },
        Sample {
            at_ms: now,
            records: 200,
            peers: 2,
        },
    ]);
    site.engine().metrics().set_mail_queue(6);
    let mut operator = site.signed_in("founder-1").await;
    let page = operator.get("/operateur").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("Chiffres clés"), "{body}");
    assert!(body.contains("Pairs connectés : 0 en direct, 0 par un relais."));
    assert!(body.contains("Aucune synchronisation réussie depuis le démarrage."));
    assert!(
        body.contains("Courriels en attente d&#39;envoi : 6."),
        "{body}"
    );
    assert!(body.contains("Taille des enregistrements : "));
    assert_eq!(body.matches("<svg class=\"chart\"").count(), 2, "{body}");
    assert_eq!(body.matches("<polyline").count(), 2);
    assert!(body.contains("role=\"img\""));
    // The text equivalent, under each chart: the sample of 20 days ago is outside the week.
    assert!(body.contains("Enregistrements : 120 le "), "{body}");
    assert!(body.contains("200 maintenant (de 120 à 200 sur la période)."));
    assert!(body.contains("Pairs connectés : 1 le "));
}
