//! Tests of the embedded places table and its look-ups, on the real data.

use std::collections::HashSet;

use maillon_protocol::kinds::Position;

use super::*;

fn places() -> &'static Places {
    Places::embedded()
}

fn at(lat: f64, lon: f64) -> Position {
    Position {
        lat_microdeg: (lat * 1e6).round() as i64,
        lon_microdeg: (lon * 1e6).round() as i64,
    }
}

fn insee(input: &str) -> &'static str {
    match places().lookup(input) {
        Ok(place) => place.insee,
        Err(e) => panic!("{input:?}: {e}"),
    }
}

#[test]
fn valence_26000_is_where_it_should_be() {
    let place = places().lookup("26000").unwrap();
    assert_eq!(place.name, "Valence");
    assert_eq!(place.insee, "26362");
    assert!(place.exact);
    let km = distance_km(place.position, at(44.93, 4.89));
    assert!(km < 5.0, "Valence is {km} km away from 44.93N 4.89E");
    assert_eq!(places().lookup("26000 Valence").unwrap(), place);
    assert_eq!(places().lookup("Valence, 26000").unwrap(), place);
    assert_eq!(places().lookup("valence 26").unwrap(), place);
    assert_eq!(places().lookup("Valence (26)").unwrap(), place);
    assert_eq!(places().lookup("26 000").unwrap(), place);
}

#[test]
fn nantes_44000() {
    let place = places().lookup("44000").unwrap();
    assert_eq!(place.name, "Nantes");
    assert_eq!(place.insee, "44109");
    assert!(distance_km(place.position, at(47.218, -1.554)) < 5.0);
    assert_eq!(places().lookup("Nantes").unwrap().insee, "44109");
    assert_eq!(places().lookup("44300 nantes").unwrap().postcode, "44300");
}

#[test]
fn saint_etienne_with_or_without_accents() {
    for input in [
        "Saint-Étienne",
        "saint-etienne",
        "SAINT ETIENNE",
        "St-Étienne",
        "st etienne",
        "Saint-E\u{301}tienne",
        "42000 Saint-Etienne",
        "saint etienne 42",
    ] {
        assert_eq!(insee(input), "42218", "{input}");
    }
    assert_eq!(places().lookup("42000").unwrap().name, "Saint-Étienne");
}

#[test]
fn unknown_postcode() {
    assert_eq!(
        places().lookup("00000"),
        Err(PlaceError::Unknown {
            input: "00000".into()
        })
    );
    assert!(places().by_postcode("00000").is_empty());
    assert!(matches!(
        places().lookup("Nulle-Part-sur-Mer"),
        Err(PlaceError::Unknown { .. })
    ));
    // A real name with a postcode that is not its own.
    assert!(matches!(
        places().lookup("44000 Valence"),
        Err(PlaceError::Unknown { .. })
    ));
}

#[test]
fn malformed_inputs() {
    for input in [
        "99999x",
        "",
        "   ",
        "2600",
        "260000",
        "26",
        "26000 44000",
        "26000 2A004",
    ] {
        assert_eq!(
            places().lookup(input),
            Err(PlaceError::Malformed {
                input: input.into()
            }),
            "{input:?}"
        );
    }
}

#[test]
fn a_shared_name_is_ambiguous_without_postcode() {
    let Err(PlaceError::Ambiguous { candidates }) = places().lookup("Valence") else {
        panic!("Valence should be ambiguous");
    };
    let codes: Vec<&str> = candidates.iter().map(|p| p.insee).collect();
    assert!(codes.len() >= 2, "{codes:?}");
    assert_eq!(codes[0], "26362", "the most populous first");
    assert!(codes.contains(&"82186"), "{codes:?}");
    assert_eq!(insee("Valence 82"), "82186");
    assert_eq!(insee("82400 Valence"), "82186");
}

#[test]
fn a_postcode_alone_gives_its_most_populous_commune() {
    let communes = places().by_postcode("26300");
    assert!(communes.len() > 5);
    assert!(communes.iter().all(|p| p.postcode == "26300"));
    assert_eq!(places().lookup("26300").unwrap().name, "Bourg-de-Péage");
    assert_eq!(places().lookup("26300 Alixan").unwrap().name, "Alixan");
}

#[test]
fn cities_with_arrondissements() {
    assert_eq!(insee("Paris"), "75101");
    assert_eq!(insee("Paris 15"), "75115");
    assert_eq!(insee("paris 15e"), "75115");
    assert_eq!(insee("75015"), "75115");
    assert_eq!(insee("75015 Paris"), "75115");
    assert_eq!(insee("75015 Paris 15e Arrondissement"), "75115");
    assert_eq!(insee("Marseille 1er Arrondissement"), "13201");
    assert_eq!(insee("Lyon"), "69381");
    assert_eq!(insee("lyon 3"), "69383");
    assert_eq!(insee("Ajaccio"), "2A004");
    assert_eq!(insee("Ajaccio 2A"), "2A004");
    assert_eq!(insee("Saint-Denis 974"), "97411");
}

#[test]
fn a_stored_postcode_and_name_looks_up_to_itself() {
    for place in places().all().iter().step_by(97) {
        let typed = format!("{} {}", place.postcode, place.name);
        assert_eq!(places().lookup(&typed), Ok(*place), "{typed}");
    }
}

#[test]
fn distance_nantes_lyon() {
    let nantes = places().lookup("44000").unwrap().position;
    let lyon = places().lookup("Lyon").unwrap().position;
    let km = distance_km(nantes, lyon);
    assert!((km - 516.0).abs() <= 10.0, "Nantes–Lyon is {km} km");
    assert_eq!(distance_km(nantes, nantes), 0.0);
    assert!(
        (distance_km(at(0.0, 0.0), at(0.0, 180.0)) - EARTH_RADIUS_KM * std::f64::consts::PI).abs()
            < 1e-6
    );
}

#[test]
fn the_table_covers_france() {
    let table = places();
    assert!(table.len() > 30_000, "{} rows", table.len());
    assert!(!table.is_empty());
    let communes: HashSet<&str> = table.all().iter().map(|p| p.insee).collect();
    assert!(communes.len() > 30_000, "{} communes", communes.len());
    let exact = table.all().iter().filter(|p| p.exact).count();
    assert!(exact > 8_000, "{exact} exact rows");
    for place in table.all() {
        assert_eq!(place.postcode.len(), 5, "{place:?}");
        assert!(
            place.postcode.bytes().all(|b| b.is_ascii_digit()),
            "{place:?}"
        );
        let lat = place.position.lat_microdeg as f64 / 1e6;
        let lon = place.position.lon_microdeg as f64 / 1e6;
        let metropolitan = (41.0..51.5).contains(&lat) && (-5.5..10.0).contains(&lon);
        assert!(
            metropolitan || place.departement().starts_with("97"),
            "{place:?} is outside France"
        );
    }
    assert!(table
        .all()
        .windows(2)
        .all(|w| w[0].postcode <= w[1].postcode));
}

#[test]
fn search_by_name_prefix() {
    let found = places().search_prefix("st eti", 5);
    assert_eq!(found.len(), 5);
    assert_eq!(found[0].insee, "42218", "{found:?}");
    assert!(found.iter().all(|p| fold(p.name).starts_with("saint eti")));

    // Toul is named exactly that, so it comes first; then the most populous.
    let found = places().search_prefix("toul", 10);
    assert_eq!(found[0].name, "Toul");
    assert_eq!(found[1].name, "Toulouse");
    assert_eq!(found[2].name, "Toulon");
    let communes: HashSet<&str> = found.iter().map(|p| p.insee).collect();
    assert_eq!(communes.len(), found.len(), "one row per commune");

    let found = places().search_prefix("ÉTRÉ", 50);
    assert!(!found.is_empty());
    assert!(found.iter().all(|p| fold(p.name).starts_with("etre")));

    // The exact name first, even when smaller communes start with it.
    assert_eq!(places().search_prefix("Valence", 3)[0].insee, "26362");
    assert!(places().search_prefix("", 10).is_empty());
    assert!(places().search_prefix("valence", 0).is_empty());
    assert!(places().search_prefix("zzzzqq", 10).is_empty());
}

#[test]
fn search_by_postcode_prefix() {
    let found = places().search_prefix("2600", 100);
    assert!(!found.is_empty());
    assert!(found.iter().all(|p| p.postcode.starts_with("2600")));
    assert!(found.windows(2).all(|w| w[0].postcode <= w[1].postcode));
    assert_eq!(places().search_prefix("26", 7).len(), 7);
    let found = places().search_prefix("26 bou", 20);
    assert!(found.iter().any(|p| p.name == "Bourg-de-Péage"));
    assert!(found
        .iter()
        .all(|p| p.postcode.starts_with("26") && fold(p.name).starts_with("bou")));
    assert!(places().search_prefix("260000", 10).is_empty());
}

#[test]
fn folding() {
    assert_eq!(fold("Saint-Étienne"), "saint etienne");
    assert_eq!(fold("L'Haÿ-les-Roses"), "l hay les roses");
    assert_eq!(fold("  Œuilly  "), "oeuilly");
    assert_eq!(fold("Château-Chinon (Ville)"), "chateau chinon ville");
    assert_eq!(fold("E\u{301}tre\u{301}pagny"), "etrepagny");
    assert_eq!(key("St-Jean", true), "saint jean");
    assert_eq!(key("st", false), "st");
    assert_eq!(key("Paris 15e Arrondissement", true), "paris 15");
    assert_eq!(key("Marseille 01", true), "marseille 1");
}

#[test]
fn parse_rejects_bad_rows() {
    assert!(Places::parse("# comment only\n").unwrap().is_empty());
    let good = "26000\t26362\tValence\t44933330\t4900000\t1\t64458\n";
    assert_eq!(Places::parse(good).unwrap().len(), 1);
    for (bad, reason) in [
        (
            "2600\t26362\tValence\t1\t1\t1\t1",
            "postcode is not five digits",
        ),
        (
            "26000\t26362\tValence\t1\t1\t2\t1",
            "exactness is not 0 or 1",
        ),
        (
            "26000\t26362\tValence\t91000000\t1\t1\t1",
            "position out of range",
        ),
        ("26000\t26362\tValence\t1\t1\t1", "missing population"),
        ("26000\t26362\tValence\t1\t1\t1\t1\tx", "too many fields"),
        (
            "26000\t26362\tValence\t1\t1\t1\t1\n01000\t01053\tBourg\t1\t1\t1\t1",
            "rows are not sorted by postcode",
        ),
    ] {
        assert_eq!(Places::parse(bad).unwrap_err().reason, reason, "{bad:?}");
    }
}

#[test]
fn parsing_the_embedded_table_is_fast() {
    let start = std::time::Instant::now();
    let table = Places::parse(EMBEDDED).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(table.len(), places().len());
    println!("parsed {} rows in {elapsed:?}", table.len());
}
