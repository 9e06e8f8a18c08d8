//! The pages made for phones (issue 15 §2): results before the folded filters, the folded
//! menu, the home page's shortcuts and nearby listings, the page after publishing, and
//! photos in the sizes a page lists.

use axum::http::StatusCode;

use super::{Browser, Page, Site};

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    let to = text[from..].find(end).map_or(text.len(), |i| from + i);
    &text[from..to]
}

#[tokio::test]
async fn search_results_come_before_the_folded_filters_which_say_what_they_filter() {
    let site = Site::start(&["member-1"]).await;
    let mut visitor = site.visitor();

    let plain = visitor.get("/recherche").await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain
        .body
        .contains("<details class=\"filters-box\" id=\"filtres\">"));
    assert!(between(&plain.body, "id=\"filtres\">", "</summary>").contains("(aucun)"));
    let folded_at = plain.body.find("id=\"filtres\"").expect("filters");
    let results_at = plain.body.find("id=\"resultats\"").expect("results");
    let words_at = plain.body.find("id=\"q\"").expect("words");
    assert!(words_at < folded_at && folded_at < results_at);

    let filtered = visitor
        .get("/recherche?q=armoire&categorie=30&sens=offre&prix_min=10&prix_max=200&pres=26000&rayon=10")
        .await;
    let summary = between(&filtered.body, "id=\"filtres\">", "</summary>");
    for said in [
        "Objets : mobilier",
        "offres",
        "de 10 € à 200 €",
        "à moins de 10 km de 26000",
    ] {
        assert!(summary.contains(said), "«{said}» in {summary}");
    }
    assert!(
        filtered.body.contains("id=\"filtres\">"),
        "still folded: nothing to correct"
    );

    // A filter to correct is shown unfolded, with its sentence.
    let wrong = visitor.get("/recherche?prix_max=douze").await;
    assert!(wrong.body.contains("id=\"filtres\" open>"));
    assert!(
        wrong.body.contains("n&#39;est pas un prix") || wrong.body.contains("n'est pas un prix")
    );

    // A signed-in member's distances count from home.
    let mut member = site.signed_in("member-1").await;
    let near = member.get("/recherche?rayon=20").await;
    let summary = between(&near.body, "id=\"filtres\">", "</summary>");
    assert!(
        summary.contains("à moins de 20 km de chez vous"),
        "{summary}"
    );
}

#[tokio::test]
async fn the_menu_folds_into_one_button_that_works_without_javascript() {
    let site = Site::start(&["founder-1"]).await;
    let page = site.signed_in("founder-1").await.get("/").await;
    let folded = between(
        &page.body,
        "<details class=\"menu-phone\" id=\"menu\">",
        "</details>",
    );
    assert!(folded.contains("<summary>Menu"));
    for link in [
        "/recherche",
        "/publier",
        "/parrainer",
        "/transactions",
        "/compte",
    ] {
        assert!(
            folded.contains(&format!("href=\"{link}\"")),
            "{link} in the folded menu"
        );
    }
    // The same links stand in a row on wide screens; the style sheet shows one or the other.
    let wide = between(&page.body, "<nav class=\"menu-wide\"", "</nav>");
    assert!(wide.contains("href=\"/parrainer\""));
    let css = site.visitor().get(&css_path(&page)).await;
    assert!(css.body.contains(".menu-wide{display:none!important}"));
    assert!(css.body.contains(
        "@media(min-width:56rem){.menu-wide{display:flex!important}.menu-phone{display:none}}"
    ));
}

fn css_path(page: &Page) -> String {
    between(&page.body, "<link rel=\"stylesheet\" href=\"", "\"").to_string()
}

/// Publishes a listing in `place`; the answer to the form.
async fn publish_in(
    member: &mut Browser,
    title: &str,
    place: &str,
    photos: &[(&str, Vec<u8>)],
) -> Page {
    let csrf = member.get("/publier").await.csrf();
    member
        .post_multipart(
            "/publier",
            &[
                ("csrf", &csrf),
                ("title", title),
                ("category", "30"),
                ("place", place),
            ],
            photos,
        )
        .await
}

#[tokio::test]
async fn the_home_page_offers_the_categories_and_the_listings_around_the_members_town() {
    // The generated network's founders have no profile; its members do.
    let site = Site::start(&["member-1"]).await;
    let visitor_home = site.visitor().get("/").await;
    assert_eq!(visitor_home.status, StatusCode::OK);
    let shortcuts = between(&visitor_home.body, "<ul class=\"shortcuts\"", "</ul>");
    assert_eq!(
        shortcuts.matches("href=\"/recherche?categorie=").count(),
        12
    );
    assert!(shortcuts.contains("Garde d&#39;enfants") || shortcuts.contains("Garde d'enfants"));
    assert!(visitor_home.body.contains("<h2>Nouvelles annonces</h2>"));
    assert!(!visitor_home.body.contains("autour de"));

    let mut member = site.signed_in("member-1").await;
    let home = member.get("/").await;
    let town = between(&home.body, "<h2>Nouvelles annonces autour de ", "</h2>").to_string();
    assert!(home
        .body
        .contains(&format!("<h2>Les plus proches de {town}</h2>")));
    let created = publish_in(&mut member, "Banc de jardin en fer forgé", &town, &[]).await;
    created.published_listing();
    site.wait_for_search(&mut member, "q=banc+fer+forge", "Banc de jardin")
        .await;
    let home = member.get("/").await;
    let around = between(&home.body, "autour de", "Les plus proches de");
    let first = between(around, "<h3>", "</h3>");
    assert!(
        first.contains("Banc de jardin en fer forgé"),
        "newest first: {first}"
    );
    let nearest = between(&home.body, "Les plus proches de", "</section>");
    assert!(
        between(nearest, "<p class=\"meta\">", "</li>").contains("tout près"),
        "the nearest listing is in the member's own town: {nearest}"
    );
}

#[tokio::test]
async fn publishing_leads_to_a_page_that_links_the_listing_and_offers_to_share_it() {
    let site = Site::start(&["founder-1", "founder-2"]).await;
    let mut author = site.signed_in("founder-1").await;
    let created = author.publish("Vélo de ville", "32", &[]).await;
    let listing = created.published_listing();
    let after = author
        .get(created.location.as_deref().unwrap_or_default())
        .await;
    assert_eq!(after.status, StatusCode::OK);
    assert!(after.body.contains("Votre annonce est publiée"));
    assert!(after.body.contains(&format!("href=\"{listing}\"")));
    assert!(after.body.contains("Voir l&#39;annonce") || after.body.contains("Voir l'annonce"));
    let message = between(
        &after.body,
        "<textarea id=\"partage-annonce\" readonly rows=\"3\">",
        "</textarea>",
    );
    assert!(message.starts_with("Vélo de ville"), "{message}");
    assert!(
        message.contains(&format!("://localhost{listing}")),
        "{message}"
    );
    assert!(after.body.contains("data-share=\"partage-annonce\""));

    // Someone else is sent to the listing itself. The author has published no profile
    // (the generated network's founders have none): they are named in words, not by a
    // fingerprint.
    let mut other = site.signed_in("founder-2").await;
    let elsewhere = other.get(&format!("{listing}/publiee")).await;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
    assert_eq!(elsewhere.location.as_deref(), Some(listing.as_str()));
    let seen = other.get(&listing).await;
    let named = between(&seen.body, "id=\"auteur\">", "</h2>");
    assert!(named.contains(">Membre sans profil</a>"), "{named}");
    assert!(!named.contains('·'), "{named}");

    // An edit says so.
    let edit = format!("{listing}/modifier");
    let csrf = author.get(&edit).await.csrf();
    let edited = author
        .post_multipart(
            &edit,
            &[
                ("csrf", &csrf),
                ("title", "Vélo de ville bleu"),
                ("category", "32"),
                ("place", "26000"),
            ],
            &[],
        )
        .await;
    assert_eq!(edited.published_listing(), listing);
    assert_eq!(
        edited.location.as_deref(),
        Some(format!("{listing}/publiee?modifiee=1").as_str())
    );
    let said = author.get(&format!("{listing}/publiee?modifiee=1")).await;
    assert!(said.body.contains("Votre annonce est modifiée"));
}

/// Width and height of a baseline or progressive JPEG, from its frame header.
fn jpeg_size(bytes: &[u8]) -> (u32, u32) {
    let mut at = 2;
    while at + 9 < bytes.len() {
        let marker = bytes[at + 1];
        let length = usize::from(bytes[at + 2]) << 8 | usize::from(bytes[at + 3]);
        if matches!(marker, 0xC0..=0xC2) {
            let height = u32::from(bytes[at + 5]) << 8 | u32::from(bytes[at + 6]);
            let width = u32::from(bytes[at + 7]) << 8 | u32::from(bytes[at + 8]);
            return (width, height);
        }
        at += 2 + length;
    }
    panic!("no JPEG frame header");
}

#[tokio::test]
async fn photos_come_in_the_sizes_that_pages_list_in_their_srcset() {
    let site = Site::start(&["founder-1"]).await;
    let mut author = site.signed_in("founder-1").await;
    let created = author
        .publish(
            "Commode en merisier",
            "30",
            &[("photos", super::png(1200, 900))],
        )
        .await;
    let listing = author.get(&created.published_listing()).await;
    let end = listing.body.find("\" data-plein-ecran>").expect("a photo");
    let start = listing.body[..end].rfind("href=\"").expect("its link") + "href=\"".len();
    let full = listing.body[start..end].to_string();
    assert!(full.starts_with("/photo/"));
    let srcset = between(&listing.body, "srcset=\"", "\"");
    assert_eq!(
        srcset,
        format!("{full}/w256 256w, {full}/mini 400w, {full}/w800 800w, {full} 1600w")
    );
    assert!(listing.body.contains(&format!("src=\"{full}/w800\"")));

    let mut widths = Vec::new();
    for path in [
        format!("{full}/w256"),
        format!("{full}/mini"),
        format!("{full}/w800"),
        full.clone(),
    ] {
        let photo = author.get(&path).await;
        assert_eq!(photo.status, StatusCode::OK, "{path}");
        assert_eq!(photo.content_type, "image/jpeg");
        assert_eq!(photo.cache_control, "private, no-cache");
        widths.push(jpeg_size(&photo.bytes).0);
    }
    assert_eq!(
        widths,
        vec![256, 400, 800, 1200],
        "never enlarged beyond the original"
    );
    assert_eq!(
        author.get(&format!("{full}/w999")).await.status,
        StatusCode::NOT_FOUND
    );

    // Result cards ask for the small size.
    site.wait_for_search(&mut author, "q=commode", "Commode en merisier")
        .await;
    let results = author.get("/recherche?q=commode").await;
    assert!(results.body.contains(&format!("src=\"{full}/w256\"")));
    assert!(results
        .body
        .contains("sizes=\"(min-width: 40rem) 128px, 96px\""));
}
