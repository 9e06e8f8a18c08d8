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

/// How large and when: the knobs of [`generate_with`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeneratorOptions {
    /// Members besides the three founders.
    pub members: usize,
    /// Listings per member on average (0.5 gives one per two members).
    pub listings_per_member: f64,
    /// When the first member joins.
    pub start: Timestamp,
    /// Time between two members joining; `None` spreads them from 3 to 9 hours apart.
    pub spacing_ms: Option<u64>,
}

impl GeneratorOptions {
    /// `members` members from [`T0`], one listing per two members.
    pub fn new(members: usize) -> GeneratorOptions {
        GeneratorOptions {
            members,
            listings_per_member: 0.5,
            start: T0,
            spacing_ms: None,
        }
    }

    /// The size of the 2017 service: 150,000 members, three sponsorships each, 200,000
    /// listings, spread over [`national_span`] before `end`.
    pub fn national(end: Timestamp) -> GeneratorOptions {
        GeneratorOptions::national_shaped(MEMBERS_2017, end)
    }

    /// `members` members in the national proportions (4/3 listing each), spread evenly over
    /// [`national_span`] before `end`.
    pub fn national_shaped(members: usize, end: Timestamp) -> GeneratorOptions {
        let span = national_span(end);
        GeneratorOptions {
            members,
            listings_per_member: 200_000.0 / 150_000.0,
            start: end.minus_ms(span),
            spacing_ms: Some((span / members.max(1) as u64).max(1)),
        }
    }
}

/// Members of the 2017 service.
pub const MEMBERS_2017: usize = 150_000;

/// Members of the 2021-sized network: with 6⅓ records each (a join, three sponsorships, a
/// profile, 4/3 listing), about 5,000,000 records (5,003,337 in `maillon bench cold-sync
/// --network 2021`, with its two nodes' announcements).
pub const MEMBERS_2021: usize = 790_000;

/// The time a national network's joins spread over: the year before `end`, shortened so that
/// the first join comes at least a day after the charter and its introducing node (both
/// created at [`T0`]), as in a real network, whose records all follow its charter. At
/// least a day.
pub fn national_span(end: Timestamp) -> u64 {
    end.0.saturating_sub(T0.0 + DAY).clamp(DAY, 360 * DAY)
}

/// Generates a network of three founders and `members` members, each sponsored by three
/// earlier members chosen mostly in their own department, with one listing per two members.
pub fn generate(seed: u64, members: usize) -> GeneratedNetwork {
    generate_with(seed, &GeneratorOptions::new(members))
}

/// Sponsors with room left in their quota, overall and per department.
struct SponsorPool {
    quota: usize,
    sponsored: Vec<usize>,
    open: Vec<usize>,
    open_by_department: std::collections::HashMap<&'static str, Vec<usize>>,
}

impl SponsorPool {
    fn add(&mut self, member: usize, town: &'static Town) {
        self.sponsored.push(0);
        self.open.push(member);
        self.open_by_department
            .entry(&town.postcode[..2])
            .or_default()
            .push(member);
    }

    /// Three distinct sponsors, mostly from the candidate's department.
    fn choose(&mut self, rng: &mut SplitMix64, town: &Town) -> Vec<usize> {
        let mut chosen = Vec::with_capacity(3);
        while chosen.len() < 3 {
            let local = self
                .open_by_department
                .get(&town.postcode[..2])
                .filter(|l| !l.is_empty());
            let pick = match local {
                Some(local) if rng.below(4) > 0 => *rng.pick(local),
                _ => *rng.pick(&self.open),
            };
            if !chosen.contains(&pick) {
                chosen.push(pick);
            }
        }
        for &sponsor in &chosen {
            self.sponsored[sponsor] += 1;
            if self.sponsored[sponsor] >= self.quota {
                self.open.retain(|&m| m != sponsor);
                for list in self.open_by_department.values_mut() {
                    list.retain(|&m| m != sponsor);
                }
            }
        }
        chosen
    }
}

/// Generates a network with these options. Every sponsor stays within the charter's quota,
/// so every member is admitted.
pub fn generate_with(seed: u64, options: &GeneratorOptions) -> GeneratedNetwork {
    let mut rng = SplitMix64::new(seed);
    let key = |label: &str| SecretKey::from_seed(sha256(&[&seed.to_be_bytes(), label.as_bytes()]));
    let founders: Vec<SecretKey> = (1..=3).map(|i| key(&format!("founder-{i}"))).collect();
    let refs: Vec<&SecretKey> = founders.iter().collect();
    let signer = Signer::new(testkit::charter(&refs, &refs, 2));
    let node = key("node");
    let mut records = Vec::with_capacity(options.members * 6 + 1);
    records.push(signer.charter_record(&founders[0]));
    // The node that introduces the members' joins (docs/PROTOCOL.md 7.3).
    records.push(signer.introduction());
    let mut keys: Vec<(String, SecretKey)> = (1..=3)
        .map(|i| (format!("founder-{i}"), founders[i - 1].clone()))
        .collect();
    let mut pool = SponsorPool {
        quota: signer.charter.sponsor_quota as usize,
        sponsored: Vec::new(),
        open: Vec::new(),
        open_by_department: Default::default(),
    };
    for (i, town) in TOWNS.iter().take(3).enumerate() {
        pool.add(i, town);
    }
    let mut now = options.start;
    let mut listings_owed = 0.0;
    for i in 0..options.members {
        // Spaced joins are evenly spread, and a member's other records come within a quarter
        // of the spacing each, before the next join: the network ends where it should.
        let join_at = match options.spacing_ms {
            Some(spacing) => options.start.plus_ms(spacing.saturating_mul(i as u64)),
            None => now.plus_ms(DAY / 8 + rng.below(DAY / 4)),
        };
        let gap = match options.spacing_ms {
            Some(spacing) => (spacing / 4).max(1),
            None => (join_at.0 - now.0).min(3_600_000),
        };
        now = join_at;
        let label = format!("member-{i}");
        let member = key(&label);
        let town = rng.pick(TOWNS);
        records.push(signer.join(&member, now));
        for j in pool.choose(&mut rng, town) {
            now = now.plus_ms(rng.below(gap).max(1));
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
        listings_owed += options.listings_per_member;
        let mut listing_time = now;
        while listings_owed >= 1.0 {
            listings_owed -= 1.0;
            listing_time = listing_time.plus_ms(1);
            records.push(listing(&signer, &member, &mut rng, town, listing_time));
        }
        keys.push((label, member));
        pool.add(keys.len() - 1, town);
    }
    GeneratedNetwork {
        signer,
        keys,
        records,
        now: now.plus_ms(DAY.min(options.spacing_ms.map_or(DAY, |s| s.max(1000)))),
    }
}

fn listing(
    signer: &Signer,
    member: &SecretKey,
    rng: &mut SplitMix64,
    town: &Town,
    at: Timestamp,
) -> Record {
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
    signer.sign(member, body, at, Some(at.plus_ms(60 * DAY)))
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

    #[test]
    fn a_national_network_follows_its_charter_and_ends_before_its_end() {
        for (end, span) in [
            (T0.plus_ms(30 * DAY), 29 * DAY),
            (T0.plus_ms(800 * DAY), 360 * DAY),
            (T0.minus_ms(DAY), DAY),
        ] {
            assert_eq!(national_span(end), span);
            let options = GeneratorOptions::national_shaped(200, end);
            assert_eq!(options.start, end.minus_ms(span));
            let network = generate_with(3, &options);
            let after_charter = network.records[2..]
                .iter()
                .all(|r| r.header().created > network.records[0].header().created);
            assert_eq!(after_charter, end > T0.plus_ms(DAY), "end {end:?}");
            let members = &network.records[2..];
            let last = members.iter().map(|r| r.header().created).max();
            assert!(last <= Some(end), "{last:?} after {end:?}");
            assert_eq!(
                members.iter().map(|r| r.header().created).min(),
                Some(options.start)
            );
        }
    }
}
