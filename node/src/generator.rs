//! A deterministic network generator: founders, sponsorship trees grown in waves, French
//! towns and listings in French. The same seed always gives the same signed records.
//!
//! Until the node issue extends it (photos, transactions, the full places table), it feeds
//! the demo and the tests with a small but realistic network.

use maillon_protocol::ids::{sha256, PublicKey, Timestamp};
use maillon_protocol::kinds::{Category, Intent, Listing, Position, Profile};
use maillon_protocol::testkit::{self, Signer, SplitMix64, DAY, T0};
use maillon_protocol::{Record, SecretKey};

/// A town with its postcode and centre.
#[derive(Clone, Copy, Debug)]
pub struct Town {
    /// Name.
    pub name: &'static str,
    /// Postcode.
    pub postcode: &'static str,
    /// Centre in microdegrees.
    pub position: Position,
}

const fn town(name: &'static str, postcode: &'static str, lat: i64, lon: i64) -> Town {
    Town {
        name,
        postcode,
        position: Position {
            lat_microdeg: lat,
            lon_microdeg: lon,
        },
    }
}

/// The towns the generator places members in.
pub const TOWNS: &[Town] = &[
    town("Nantes", "44000", 47_218_371, -1_553_621),
    town("Lyon", "69001", 45_764_043, 4_835_659),
    town("Valence", "26000", 44_933_330, 4_900_000),
    town("Rezé", "44400", 47_183_330, -1_550_000),
    town("Villeurbanne", "69100", 45_766_670, 4_883_330),
    town("Romans-sur-Isère", "26100", 45_043_330, 5_050_000),
    town("Crest", "26400", 44_728_000, 5_022_000),
    town("Saint-Herblain", "44800", 47_211_760, -1_649_410),
    town("Die", "26150", 44_753_000, 5_370_000),
    town("Tarare", "69170", 45_896_000, 4_433_000),
];

const FIRST_NAMES: &[&str] = &[
    "Marie",
    "Jean",
    "Françoise",
    "Michel",
    "Monique",
    "Pierre",
    "Nathalie",
    "Philippe",
    "Isabelle",
    "Alain",
    "Sylvie",
    "Bernard",
    "Catherine",
    "Jacques",
    "Martine",
    "Daniel",
    "Christine",
    "Patrick",
    "Hélène",
    "Joseph",
];

const LISTINGS: &[(&str, Category, Intent, Option<u64>)] = &[
    (
        "Armoire en chêne massif",
        Category::Furniture,
        Intent::Offer,
        Some(12_000),
    ),
    (
        "Table de ferme et six chaises",
        Category::Furniture,
        Intent::Offer,
        Some(25_000),
    ),
    (
        "Manteau d'hiver taille 40",
        Category::Clothes,
        Intent::Offer,
        Some(3_500),
    ),
    (
        "Vélo de ville révisé",
        Category::SecondHand,
        Intent::Offer,
        Some(9_000),
    ),
    (
        "Cours de piano pour débutants",
        Category::Services,
        Intent::Offer,
        Some(2_000),
    ),
    (
        "Garde d'enfants le mercredi",
        Category::Childcare,
        Intent::Request,
        None,
    ),
    (
        "Appartement T2 proche de la gare",
        Category::PropertyRental,
        Intent::Offer,
        Some(55_000),
    ),
    (
        "Aide pour les courses, quartier nord",
        Category::MutualAid,
        Intent::Request,
        None,
    ),
    (
        "Bois de chauffage à donner",
        Category::Gifts,
        Intent::Offer,
        None,
    ),
    (
        "Jardinier pour entretien de haies",
        Category::Jobs,
        Intent::Request,
        Some(1_500),
    ),
];

/// A generated network: its signer, every key with a label, and the records in a valid order.
#[derive(Clone, Debug)]
pub struct GeneratedNetwork {
    /// Signs for the network.
    pub signer: Signer,
    /// (label, key) for founders and members.
    pub keys: Vec<(String, SecretKey)>,
    /// The charter first, then every record in an order in which each is valid.
    pub records: Vec<Record>,
    /// A time after every record.
    pub now: Timestamp,
}

/// Generates a network of three founders and `members` members, each sponsored by three
/// earlier members chosen mostly in their own town, with one listing per two members.
pub fn generate(seed: u64, members: usize) -> GeneratedNetwork {
    let mut rng = SplitMix64::new(seed);
    let key = |label: &str| SecretKey::from_seed(sha256(&[&seed.to_be_bytes(), label.as_bytes()]));
    let founders: Vec<SecretKey> = (1..=3).map(|i| key(&format!("founder-{i}"))).collect();
    let refs: Vec<&SecretKey> = founders.iter().collect();
    let signer = Signer::new(testkit::charter(&refs, &refs, 2));
    let node = key("node");
    let mut records = vec![signer.charter_record(&founders[0])];
    let mut keys: Vec<(String, SecretKey)> = (1..=3)
        .map(|i| (format!("founder-{i}"), founders[i - 1].clone()))
        .collect();
    let mut homes: Vec<&Town> = (0..3).map(|i| &TOWNS[i]).collect();
    let mut now = T0;
    for i in 0..members {
        now = now.plus_ms(DAY / 8 + rng.below(DAY / 4));
        let label = format!("member-{i}");
        let member = key(&label);
        let town = rng.pick(TOWNS);
        records.push(signer.join(&member, now));
        let mut sponsors: Vec<usize> = Vec::new();
        while sponsors.len() < 3 {
            let local: Vec<usize> = (0..keys.len())
                .filter(|&j| homes[j].postcode[..2] == town.postcode[..2])
                .collect();
            let choice = if !local.is_empty() && rng.below(4) > 0 {
                *rng.pick(&local)
            } else {
                rng.below(keys.len() as u64) as usize
            };
            if !sponsors.contains(&choice) {
                sponsors.push(choice);
            }
        }
        for &j in &sponsors {
            now = now.plus_ms(rng.below(3_600_000));
            records.push(signer.sponsor(&keys[j].1, member.public_key(), now));
        }
        let name = format!(
            "{} {}.",
            rng.pick(FIRST_NAMES),
            (b'A' + rng.below(26) as u8) as char
        );
        records.push(profile(
            &signer,
            &member,
            &name,
            node.public_key(),
            town,
            now,
        ));
        if i % 2 == 0 {
            let (title, category, intent, price) = *rng.pick(LISTINGS);
            let body = Listing {
                series: None,
                intent,
                category,
                title: title.into(),
                description: format!(
                    "{title}, à {}. Contactez-moi par une transaction.",
                    town.name
                ),
                price_cents: price,
                town: town.name.into(),
                postcode: town.postcode.into(),
                position: town.position,
                photos: vec![],
            };
            records.push(signer.sign(&member, body, now.plus_ms(1), Some(now.plus_ms(60 * DAY))));
        }
        keys.push((label, member));
        homes.push(town);
    }
    GeneratedNetwork {
        signer,
        keys,
        records,
        now: now.plus_ms(DAY),
    }
}

fn profile(
    signer: &Signer,
    member: &SecretKey,
    name: &str,
    home: PublicKey,
    town: &Town,
    at: Timestamp,
) -> Record {
    let body = Profile {
        display_name: name.into(),
        home_node: home,
        town: town.name.into(),
        postcode: town.postcode.into(),
        position: town.position,
        about: String::new(),
    };
    signer.sign(member, body, at, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use maillon_protocol::state::Applied;
    use maillon_protocol::RecordSet;

    #[test]
    fn the_same_seed_gives_the_same_records_and_every_record_is_valid() {
        let a = generate(7, 30);
        let b = generate(7, 30);
        let c = generate(8, 30);
        let ids = |n: &GeneratedNetwork| n.records.iter().map(|r| r.id()).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        let mut set = RecordSet::new(a.records[0].clone(), a.now).unwrap();
        for record in &a.records[1..] {
            assert_eq!(set.apply(record.clone(), a.now), Ok(Applied::Inserted));
        }
        let table = set.membership();
        assert_eq!(table.good_standing_count(), 33, "3 founders and 30 members");
    }
}
