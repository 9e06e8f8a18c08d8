//! The index's fields and the French analyzer its text fields use.

use tantivy::schema::{
    BytesOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// The name the French analyzer is registered under.
pub const FRENCH: &str = "maillon_fr";

/// Tokens longer than this many bytes are dropped (URLs, hashes, noise).
pub const MAX_TOKEN_BYTES: usize = 40;

/// Bumped by one whenever the schema or the analyzer changes: an index written under
/// another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// The French analyzer: words split on non-alphanumeric characters, long tokens dropped,
/// lower-cased, accents folded, stemmed, then a plural the stemmer keeps is removed
/// ("Vélos" → "velo", like "vélo").
pub fn french_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .filter(PluralFilter)
        .build()
}

/// Removes the final "s" (not "ss") or the "x" of "-ux" from a stem of four bytes or more.
/// The Snowball French stemmer keeps an "s" after a, i, o, u, è or s and an "x" after u
/// ("velos", "jeux"), so singular and plural would not meet.
#[derive(Clone, Copy, Debug)]
pub struct PluralFilter;

impl TokenFilter for PluralFilter {
    type Tokenizer<T: Tokenizer> = PluralTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> PluralTokenizer<T> {
        PluralTokenizer(tokenizer)
    }
}

/// The tokenizer [`PluralFilter`] wraps.
#[derive(Clone, Debug)]
pub struct PluralTokenizer<T>(T);

impl<T: Tokenizer> Tokenizer for PluralTokenizer<T> {
    type TokenStream<'a> = PluralStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        PluralStream(self.0.token_stream(text))
    }
}

/// The token stream of [`PluralTokenizer`].
#[derive(Debug)]
pub struct PluralStream<S>(S);

impl<S: TokenStream> TokenStream for PluralStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        let text = &mut self.0.token_mut().text;
        let bytes = text.as_bytes();
        let n = bytes.len();
        if n >= 4
            && ((bytes[n - 1] == b's' && bytes[n - 2] != b's')
                || (bytes[n - 1] == b'x' && bytes[n - 2] == b'u'))
        {
            text.pop();
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// Every field of the index.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// The series id (32 bytes): stored, indexed for replacement and removal.
    pub series: Field,
    /// The version's record id (32 bytes), stored.
    pub version: Field,
    /// The author's key (32 bytes), stored.
    pub author: Field,
    /// The author's first 8 bytes, big-endian, as a fast field for the author filter.
    pub author_prefix: Field,
    /// Offer (0) or request (1): indexed and fast.
    pub intent: Field,
    /// The category code: indexed and fast.
    pub category: Field,
    /// The title, French text, boosted at query time.
    pub title: Field,
    /// The description, French text.
    pub description: Field,
    /// The town's name, French text.
    pub town: Field,
    /// Price in cents, fast; absent when the listing has none.
    pub price_cents: Field,
    /// Latitude in microdegrees, fast.
    pub lat: Field,
    /// Longitude in microdegrees, fast.
    pub lon: Field,
    /// Creation time of the current version (ms), fast.
    pub created: Field,
    /// Creation time of the bump in force (ms), 0 if none, fast.
    pub bumped_at: Field,
    /// Expiry of that bump (ms), 0 if none, fast.
    pub bump_expires: Field,
    /// Expiry of the current version (ms), `u64::MAX` if none, fast.
    pub expires: Field,
}

/// Fast-field names, for reading columns.
pub mod names {
    /// [`super::Fields::author_prefix`].
    pub const AUTHOR_PREFIX: &str = "author_prefix";
    /// [`super::Fields::price_cents`].
    pub const PRICE_CENTS: &str = "price_cents";
    /// [`super::Fields::lat`].
    pub const LAT: &str = "lat";
    /// [`super::Fields::lon`].
    pub const LON: &str = "lon";
    /// [`super::Fields::created`].
    pub const CREATED: &str = "created";
    /// [`super::Fields::bumped_at`].
    pub const BUMPED_AT: &str = "bumped_at";
    /// [`super::Fields::bump_expires`].
    pub const BUMP_EXPIRES: &str = "bump_expires";
    /// [`super::Fields::expires`].
    pub const EXPIRES: &str = "expires";
}

/// The schema and its fields.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = BytesOptions::default().set_indexed().set_stored();
    let fast_u64 = NumericOptions::default().set_fast();
    let fast_i64 = NumericOptions::default().set_fast();
    let indexed_fast = NumericOptions::default().set_fast().set_indexed();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(FRENCH)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        series: b.add_bytes_field("series", id),
        version: b.add_bytes_field("version", BytesOptions::default().set_stored()),
        author: b.add_bytes_field("author", BytesOptions::default().set_stored()),
        author_prefix: b.add_u64_field(names::AUTHOR_PREFIX, fast_u64.clone()),
        intent: b.add_u64_field("intent", indexed_fast.clone()),
        category: b.add_u64_field("category", indexed_fast),
        title: b.add_text_field("title", text.clone()),
        description: b.add_text_field("description", text.clone()),
        town: b.add_text_field("town", text),
        price_cents: b.add_u64_field(names::PRICE_CENTS, fast_u64.clone()),
        lat: b.add_i64_field(names::LAT, fast_i64.clone()),
        lon: b.add_i64_field(names::LON, fast_i64),
        created: b.add_u64_field(names::CREATED, fast_u64.clone()),
        bumped_at: b.add_u64_field(names::BUMPED_AT, fast_u64.clone()),
        bump_expires: b.add_u64_field(names::BUMP_EXPIRES, fast_u64.clone()),
        expires: b.add_u64_field(names::EXPIRES, fast_u64),
    };
    (b.build(), fields)
}

/// The analyzed tokens of `text`, as the index stores them.
pub fn tokens(text: &str) -> Vec<String> {
    let mut analyzer = french_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}
