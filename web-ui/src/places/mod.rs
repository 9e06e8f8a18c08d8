//! French postcodes and communes with their positions, embedded from `data/places.tsv`.
//!
//! The table has one row per (postcode, commune) pair: 35,684 rows for 34,979 communes of
//! metropolitan France, Corsica and the overseas départements 971 to 976. It is built by
//! `scripts/places/build_places.py`; docs/PLACES.md gives its sources, licences and how
//! exact the positions are. A position is a commune's centre (its main town), or for an
//! approximate row the population-weighted centre of the placed communes around it.
//!
//! [`Places::embedded`] parses the table once. [`Places::lookup`] resolves what a member
//! types ("26000", "26000 Valence", "Valence (26)", "Saint-Étienne"), and
//! [`Places::search_prefix`] serves autocompletion.

use std::sync::OnceLock;

use maillon_protocol::kinds::Position;

#[cfg(test)]
mod tests;

/// The embedded table: postcode, INSEE code, name, latitude and longitude in microdegrees,
/// `1` if exact else `0`, population; tab-separated, sorted by postcode then name.
const EMBEDDED: &str = include_str!("../../data/places.tsv");

/// Mean Earth radius in kilometres (IUGG), used by [`distance_km`].
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// One commune under one of its postcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// The postcode, five digits.
    pub postcode: &'static str,
    /// The commune's INSEE code, five characters ("26362", "2A004").
    pub insee: &'static str,
    /// The commune's name, spelt as the INSEE spells it ("Saint-Étienne").
    pub name: &'static str,
    /// The commune's centre.
    pub position: Position,
    /// Whether the position is the commune's own; if not, it is estimated from its
    /// neighbours and may be off by several kilometres.
    pub exact: bool,
    /// The commune's population, 0 where unknown (communes merged into another one).
    pub population: u32,
}

impl Place {
    /// The commune's département code: "26", "2A", or three digits overseas ("974").
    pub fn departement(&self) -> &'static str {
        let len = if self.insee.starts_with("97") { 3 } else { 2 };
        self.insee.get(..len).unwrap_or(self.insee)
    }
}

/// Why [`Places::lookup`] found no single place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    /// The input reads as a place but none matches it.
    #[error("no place matches {input:?}")]
    Unknown {
        /// The input as given.
        input: String,
    },
    /// Several communes bear that name: the member must add the postcode or the département.
    #[error("{} communes match that name; add the postcode", candidates.len())]
    Ambiguous {
        /// One place per matching commune, the most populous first.
        candidates: Vec<Place>,
    },
    /// The input is empty, or has something that is neither a name nor a postcode or
    /// département number ("99999x", "2600", two postcodes).
    #[error("{input:?} is neither a postcode nor a commune name")]
    Malformed {
        /// The input as given.
        input: String,
    },
}

/// A row of the table that could not be read, from [`Places::parse`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("places table, line {line}: {reason}")]
pub struct TableError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// An entry of the name index: the match key of a place's name, as a range of
/// [`Places::keys`], and the place's index.
#[derive(Clone, Copy, Debug)]
struct NameEntry {
    start: u32,
    end: u32,
    place: u32,
}

/// The parsed table of places, with a name index.
#[derive(Debug)]
pub struct Places {
    /// Every row, sorted by postcode then name.
    places: Vec<Place>,
    /// The match keys of all names, end to end.
    keys: String,
    /// One entry per row, sorted by key, then population (largest first), then row.
    names: Vec<NameEntry>,
}

impl Places {
    /// The table embedded in the binary, parsed on first use.
    pub fn embedded() -> &'static Places {
        static TABLE: OnceLock<Places> = OnceLock::new();
        TABLE.get_or_init(|| {
            Places::parse(EMBEDDED).expect("the embedded places table is valid (checked by tests)")
        })
    }

    /// Parses a table in the format of `data/places.tsv`. Lines starting with `#` and
    /// blank lines are skipped; rows must be sorted by postcode.
    pub fn parse(text: &'static str) -> Result<Places, TableError> {
        let mut places = Vec::with_capacity(text.len() / 48);
        for (number, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line_number = number + 1;
            let error = |reason| TableError {
                line: line_number,
                reason,
            };
            let place = parse_row(line).map_err(error)?;
            if places
                .last()
                .is_some_and(|last: &Place| last.postcode > place.postcode)
            {
                return Err(error("rows are not sorted by postcode"));
            }
            places.push(place);
        }
        if u32::try_from(places.len()).is_err() {
            return Err(TableError {
                line: 0,
                reason: "too many rows",
            });
        }

        let mut keys = String::with_capacity(text.len() / 3);
        let mut names = Vec::with_capacity(places.len());
        for (index, place) in places.iter().enumerate() {
            let start = keys.len();
            key_into(place.name, true, &mut keys);
            let (Ok(start), Ok(end), Ok(place)) = (
                u32::try_from(start),
                u32::try_from(keys.len()),
                u32::try_from(index),
            ) else {
                return Err(TableError {
                    line: 0,
                    reason: "names too long",
                });
            };
            names.push(NameEntry { start, end, place });
        }
        let mut table = Places {
            places,
            keys,
            names: Vec::new(),
        };
        names.sort_unstable_by(|a, b| {
            table
                .key_of(a)
                .cmp(table.key_of(b))
                .then_with(|| table.place(b).population.cmp(&table.place(a).population))
                .then_with(|| a.place.cmp(&b.place))
        });
        table.names = names;
        Ok(table)
    }

    /// The number of rows, that is of (postcode, commune) pairs.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Every row, sorted by postcode then name.
    pub fn all(&self) -> &[Place] {
        &self.places
    }

    /// The communes of a postcode, sorted by name; empty if the postcode is unknown.
    pub fn by_postcode(&self, postcode: &str) -> &[Place] {
        let start = self.places.partition_point(|p| p.postcode < postcode);
        let end = start + self.places[start..].partition_point(|p| p.postcode == postcode);
        &self.places[start..end]
    }

    /// Resolves what a member typed to one place.
    ///
    /// Accepts a postcode ("26000"), a name ("Valence", accents, case, hyphens and "St"
    /// optional), a postcode and a name in any order ("26000 Valence", "Valence, 26000"),
    /// or a name and a département ("valence 26", "Valence (2A)"). A postcode alone gives
    /// its most populous commune. "Paris", "Lyon" and "Marseille" give their first
    /// arrondissement; "Paris 15" or "Paris 15e" the fifteenth.
    pub fn lookup(&self, input: &str) -> Result<Place, PlaceError> {
        let malformed = || PlaceError::Malformed {
            input: input.to_owned(),
        };
        let unknown = || PlaceError::Unknown {
            input: input.to_owned(),
        };
        let query = Query::parse(input).ok_or_else(malformed)?;

        if let Some(postcode) = &query.postcode {
            let candidates = self.by_postcode(postcode);
            if query.words.is_empty() {
                return most_populous(candidates.iter())
                    .copied()
                    .ok_or_else(unknown);
            }
            let wanted = key(&query.words.join(" "), true);
            let keyed: Vec<(String, &Place)> =
                candidates.iter().map(|p| (key(p.name, true), p)).collect();
            let exact = keyed.iter().filter(|(k, _)| *k == wanted).map(|(_, p)| *p);
            if let Some(place) = most_populous(exact) {
                return Ok(*place);
            }
            // "75015 Paris": a name that the commune's name starts with, word by word.
            let prefixed = keyed
                .iter()
                .filter(|(k, _)| {
                    k.strip_prefix(wanted.as_str())
                        .is_some_and(|rest| rest.starts_with(' '))
                })
                .map(|(_, p)| *p);
            return most_populous(prefixed).copied().ok_or_else(unknown);
        }

        // "Paris 15" is an arrondissement; "Valence 26" a département.
        let mut attempts = vec![(query.words.join(" "), query.departement.as_deref())];
        if let Some(index) = query.number {
            let number = query.words[index].as_str();
            if query.departement.is_none() && number.len() == 2 && is_digits(number) {
                let mut words = query.words.clone();
                words.remove(index);
                attempts.push((words.join(" "), Some(number)));
            }
        }
        for (text, departement) in attempts {
            let wanted = key(&text, true);
            let mut found = self.communes_named(&wanted, departement);
            if found.is_empty() {
                // "Paris", "Lyon", "Marseille": their first arrondissement.
                found = self.communes_named(&format!("{wanted} 1"), departement);
            }
            match found.as_slice() {
                [] => continue,
                [place] => return Ok(**place),
                _ => {
                    return Err(PlaceError::Ambiguous {
                        candidates: found.into_iter().copied().collect(),
                    })
                }
            }
        }
        Err(unknown())
    }

    /// Places for autocompletion, at most `limit`.
    ///
    /// Digits search postcodes ("260" gives the rows of 26000 to 26099, in postcode order);
    /// digits then words search names within those postcodes ("26 val"). Words alone search
    /// names by prefix, accent- and case-insensitively, one row per commune, a name equal
    /// to the input first and then the most populous.
    pub fn search_prefix(&self, prefix: &str, limit: usize) -> Vec<&Place> {
        let folded = fold(prefix);
        if folded.is_empty() || limit == 0 {
            return Vec::new();
        }
        let (digits, words) = match folded.split_once(' ') {
            Some((first, rest)) if is_digits(first) => (Some(first), rest),
            None if is_digits(&folded) => (Some(folded.as_str()), ""),
            _ => (None, folded.as_str()),
        };
        let wanted = key(words, false);

        if let Some(digits) = digits {
            if digits.len() > 5 {
                return Vec::new();
            }
            let start = self.places.partition_point(|p| p.postcode < digits);
            return self.places[start..]
                .iter()
                .take_while(|p| p.postcode.starts_with(digits))
                .filter(|p| wanted.is_empty() || key(p.name, true).starts_with(&wanted))
                .take(limit)
                .collect();
        }

        let start = self
            .names
            .partition_point(|e| self.key_of(e) < wanted.as_str());
        let mut found: Vec<&NameEntry> = self.names[start..]
            .iter()
            .take_while(|e| self.key_of(e).starts_with(wanted.as_str()))
            .collect();
        // Equal names first (the index order ranks those by population), then the rest by
        // population; ties keep the index order.
        found.sort_by_key(|e| {
            let place = self.place(e);
            (
                self.key_of(e) != wanted,
                std::cmp::Reverse(place.population),
            )
        });
        let mut seen = std::collections::HashSet::new();
        found
            .into_iter()
            .map(|e| self.place(e))
            .filter(|p| seen.insert(p.insee))
            .take(limit)
            .collect()
    }

    /// One place per commune whose key is `wanted`, optionally in a département (by INSEE
    /// code or postcode), the most populous first.
    fn communes_named(&self, wanted: &str, departement: Option<&str>) -> Vec<&Place> {
        let start = self.names.partition_point(|e| self.key_of(e) < wanted);
        let mut seen = std::collections::HashSet::new();
        self.names[start..]
            .iter()
            .take_while(|e| self.key_of(e) == wanted)
            .map(|e| self.place(e))
            .filter(|p| {
                departement.is_none_or(|d| p.departement() == d || p.postcode.starts_with(d))
            })
            .filter(|p| seen.insert(p.insee))
            .collect()
    }

    fn key_of(&self, entry: &NameEntry) -> &str {
        self.keys
            .get(entry.start as usize..entry.end as usize)
            .unwrap_or_default()
    }

    fn place(&self, entry: &NameEntry) -> &Place {
        &self.places[entry.place as usize]
    }
}

/// The great-circle distance between two positions in kilometres (haversine formula,
/// with [`EARTH_RADIUS_KM`]).
pub fn distance_km(a: Position, b: Position) -> f64 {
    let radians = |microdeg: i64| (microdeg as f64 / 1e6).to_radians();
    let (lat1, lon1) = (radians(a.lat_microdeg), radians(a.lon_microdeg));
    let (lat2, lon2) = (radians(b.lat_microdeg), radians(b.lon_microdeg));
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Folds text for matching: lowercase, accents removed ("œ" gives "oe"), and every run of
/// other characters (hyphens, apostrophes, spaces, punctuation) one space, trimmed.
/// `fold("L'Haÿ-les-Roses")` is `"l hay les roses"`.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`], appending to `out`.
fn fold_into(text: &str, out: &mut String) {
    let start = out.len();
    // Whether a separator was seen since the last letter.
    let mut space = false;
    let push = |out: &mut String, space: &mut bool, text: &str| {
        if *space && out.len() > start {
            out.push(' ');
        }
        *space = false;
        out.push_str(text);
    };
    for upper in text.chars() {
        if upper.is_ascii_alphanumeric() {
            push(
                out,
                &mut space,
                upper.to_ascii_lowercase().encode_utf8(&mut [0; 4]),
            );
            continue;
        }
        for c in upper.to_lowercase() {
            let base = match c {
                'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
                'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
                'ď' | 'đ' => "d",
                'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
                'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
                'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
                'ñ' | 'ń' | 'ņ' | 'ň' => "n",
                'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
                'ŕ' | 'ř' => "r",
                'ś' | 'ş' | 'š' => "s",
                'ţ' | 'ť' => "t",
                'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
                'ý' | 'ÿ' => "y",
                'ź' | 'ż' | 'ž' => "z",
                'œ' => "oe",
                'æ' => "ae",
                'ß' => "ss",
                // Combining accents (decomposed input) vanish.
                '\u{300}'..='\u{36f}' => continue,
                _ if c.is_alphanumeric() => {
                    push(out, &mut space, c.encode_utf8(&mut [0; 4]));
                    continue;
                }
                // Anything else separates words.
                _ => {
                    space = true;
                    continue;
                }
            };
            push(out, &mut space, base);
        }
    }
}

/// The match key of a name: [`fold`]ed, "st"/"ste" spelt "saint"/"sainte" (the last word
/// only if `complete`, as a prefix being typed may go on), and an arrondissement's ordinal
/// reduced to its number ("Paris 15e Arrondissement" and "paris 15e" give "paris 15").
fn key(text: &str, complete: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    key_into(text, complete, &mut out);
    out
}

/// [`key`], appending to `out`.
fn key_into(text: &str, complete: bool, out: &mut String) {
    let start = out.len();
    fold_into(text, out);
    let rewrite = out[start..].split(' ').any(|w| {
        matches!(w, "st" | "ste" | "arrondissement") || w.starts_with(|c: char| c.is_ascii_digit())
    });
    if !rewrite {
        return;
    }
    let folded = out.split_off(start);
    let mut words: Vec<&str> = folded.split(' ').collect();
    if words.len() >= 2 && words.last() == Some(&"arrondissement") {
        words.pop();
    }
    let count = words.len();
    for (index, word) in words.into_iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        let last = index + 1 == count;
        match word {
            "st" if complete || !last => out.push_str("saint"),
            "ste" if complete || !last => out.push_str("sainte"),
            _ if index > 0 => out.push_str(ordinal(word).unwrap_or(word)),
            _ => out.push_str(word),
        }
    }
}

/// The number of an ordinal or number word ("1er", "15e", "15eme", "03"), without leading
/// zeros; `None` for other words.
fn ordinal(word: &str) -> Option<&str> {
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (digits, suffix) = word.split_at(digits_end);
    if digits.is_empty() || digits.len() > 2 || !matches!(suffix, "" | "e" | "er" | "eme") {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0" } else { trimmed })
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The most populous place; the first one among equals.
fn most_populous<'a>(places: impl Iterator<Item = &'a Place>) -> Option<&'a Place> {
    places.fold(None, |best: Option<&Place>, p| match best {
        Some(b) if b.population >= p.population => Some(b),
        _ => Some(p),
    })
}

/// What a member typed, split into its parts.
#[derive(Debug, Default)]
struct Query {
    /// A five-digit postcode.
    postcode: Option<String>,
    /// A département code ("26", "2A", "974").
    departement: Option<String>,
    /// The words of the name, folded, in the order typed, with at most one number.
    words: Vec<String>,
    /// Where in `words` a one- or two-digit number or ordinal is ("15", "15e"): part of
    /// an arrondissement's name, or a département if no arrondissement has that name.
    number: Option<usize>,
}

impl Query {
    /// Splits the input into its parts; `None` if it is malformed.
    fn parse(input: &str) -> Option<Query> {
        fn set(slot: &mut Option<String>, value: String) -> Option<()> {
            match slot {
                Some(_) => None,
                None => {
                    *slot = Some(value);
                    Some(())
                }
            }
        }
        fn set_number(slot: &mut Option<usize>, index: usize) -> Option<()> {
            match slot {
                Some(_) => None,
                None => {
                    *slot = Some(index);
                    Some(())
                }
            }
        }
        let folded = fold(input);
        let tokens: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
        if tokens.is_empty() {
            return None;
        }
        let mut query = Query::default();
        let mut index = 0;
        while let Some(&token) = tokens.get(index) {
            index += 1;
            if is_digits(token) {
                match (token.len(), tokens.get(index)) {
                    // "26 000", as postcodes are sometimes written.
                    (2, Some(next)) if next.len() == 3 && is_digits(next) => {
                        index += 1;
                        set(&mut query.postcode, format!("{token}{next}"))?;
                    }
                    (5, _) => set(&mut query.postcode, token.to_owned())?,
                    (3, _) if token.starts_with("97") => {
                        set(&mut query.departement, token.to_owned())?
                    }
                    (1 | 2, _) => {
                        set_number(&mut query.number, query.words.len())?;
                        query.words.push(token.to_owned());
                    }
                    _ => return None,
                }
            } else if token == "2a" || token == "2b" {
                set(&mut query.departement, token.to_ascii_uppercase())?;
            } else if token.bytes().any(|b| b.is_ascii_digit()) {
                ordinal(token)?;
                set_number(&mut query.number, query.words.len())?;
                query.words.push(token.to_owned());
            } else {
                query.words.push(token.to_owned());
            }
        }
        if query.postcode.is_none() && query.words.len() <= usize::from(query.number.is_some()) {
            return None;
        }
        Some(query)
    }
}

/// Parses one row of the table.
fn parse_row(line: &'static str) -> Result<Place, &'static str> {
    let mut fields = line.split('\t');
    let mut next = |what| fields.next().ok_or(what);
    let postcode = next("missing postcode")?;
    let insee = next("missing INSEE code")?;
    let name = next("missing name")?;
    let lat = next("missing latitude")?;
    let lon = next("missing longitude")?;
    let exact = next("missing exactness")?;
    let population = next("missing population")?;
    if fields.next().is_some() {
        return Err("too many fields");
    }
    if postcode.len() != 5 || !is_digits(postcode) {
        return Err("postcode is not five digits");
    }
    if insee.len() != 5 || !insee.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("INSEE code is not five characters");
    }
    if name.is_empty() {
        return Err("empty name");
    }
    let lat_microdeg: i64 = lat.parse().map_err(|_| "latitude is not an integer")?;
    let lon_microdeg: i64 = lon.parse().map_err(|_| "longitude is not an integer")?;
    if !(-90_000_000..=90_000_000).contains(&lat_microdeg)
        || !(-180_000_000..=180_000_000).contains(&lon_microdeg)
    {
        return Err("position out of range");
    }
    let exact = match exact {
        "1" => true,
        "0" => false,
        _ => return Err("exactness is not 0 or 1"),
    };
    let population = population
        .parse()
        .map_err(|_| "population is not an integer")?;
    Ok(Place {
        postcode,
        insee,
        name,
        position: Position {
            lat_microdeg,
            lon_microdeg,
        },
        exact,
        population,
    })
}
