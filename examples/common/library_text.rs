//! Titles, composers, notes and tags of generated sheet-music libraries, shared by the growth
//! benchmark's loader and the search layout comparison: every title says "No." and "in"; one in
//! a hundred is an Etude; a quarter of the scores are tagged `gig`.

#![allow(dead_code, reason = "each example uses its own subset of the fields")]

pub const FORMS: &[&str] = &[
    "Sonata",
    "Nocturne",
    "Prelude",
    "Fugue",
    "Waltz",
    "Mazurka",
    "Ballade",
    "Impromptu",
    "Suite",
    "Partita",
    "Concerto",
    "Minuet",
    "Gavotte",
    "Invention",
    "Rhapsody",
    "Romance",
    "Serenade",
    "Fantasia",
    "Toccata",
    "Scherzo",
    "Polonaise",
    "Berceuse",
    "Barcarolle",
    "Capriccio",
];
const KEYS: &[&str] = &[
    "C", "D", "E", "F", "G", "A", "B", "E-flat", "B-flat", "F-sharp",
];
const COMPOSERS: &[&str] = &[
    "Frédéric Chopin",
    "Johann Sebastian Bach",
    "Antonín Dvořák",
    "Gabriel Fauré",
    "Erik Satie",
    "Claude Debussy",
    "Franz Liszt",
    "Robert Schumann",
    "Clara Schumann",
    "Johannes Brahms",
    "Wolfgang Amadeus Mozart",
    "Ludwig van Beethoven",
    "Franz Schubert",
    "Felix Mendelssohn",
    "Edvard Grieg",
    "Béla Bartók",
    "Leoš Janáček",
    "Camille Saint-Saëns",
    "Maurice Ravel",
    "Sergei Rachmaninoff",
    "Pyotr Ilyich Tchaikovsky",
    "George Frideric Handel",
    "Joseph Haydn",
];
const NOTES: &[&str] = &[
    "gig notes: repeat the B section",
    "practice slowly with the metronome",
    "page turn before the coda",
    "for the spring recital",
];
const INSTRUMENTATIONS: &[&str] = &["piano", "violin and piano", "choir SATB", "string quartet"];
const TAGS: &[&str] = &[
    "baroque",
    "classical",
    "romantic",
    "modern",
    "exam",
    "concert",
    "practice",
    "wedding",
    "sacred",
    "solo",
    "duet",
];

/// A deterministic generator (benchmark data only).
pub struct Rand(pub u64);

impl Rand {
    pub fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// One score's text.
pub struct Text {
    pub title: String,
    pub composer: &'static str,
    pub instrumentation: &'static str,
    pub notes: Option<&'static str>,
    /// Sorted, distinct.
    pub tags: Vec<&'static str>,
}

pub fn score_text(r: &mut Rand) -> Text {
    let form = if r.next(100) == 0 {
        "Etude"
    } else {
        FORMS[r.next(FORMS.len())]
    };
    let mode = if r.next(2) == 0 { "major" } else { "minor" };
    let title = format!(
        "{form} No. {} in {} {mode}, Op. {}",
        1 + r.next(24),
        KEYS[r.next(KEYS.len())],
        1 + r.next(120)
    );
    let notes = (r.next(3) == 0).then(|| NOTES[r.next(NOTES.len())]);
    let mut tags = vec![TAGS[r.next(TAGS.len())], TAGS[r.next(TAGS.len())]];
    if r.next(4) == 0 {
        tags.push("gig");
    }
    tags.sort_unstable();
    tags.dedup();
    Text {
        title,
        composer: COMPOSERS[r.next(COMPOSERS.len())],
        instrumentation: INSTRUMENTATIONS[r.next(INSTRUMENTATIONS.len())],
        notes,
        tags,
    }
}

/// A user id of the Worker's shape (`usr_` and 32 hex digits), random-looking, from `n`.
pub fn user_id(n: usize) -> String {
    let mut r = Rand(n as u64 * 7919 + 17);
    let hex: String = (0..32)
        .map(|_| char::from_digit(r.next(16) as u32, 16).unwrap())
        .collect();
    format!("usr_{hex}")
}

/// Picks a library in proportion to what each has left to fill (so rows interleave as years of
/// uploads leave them), and counts it down.
pub fn pick(r: &mut Rand, left: &mut [usize]) -> usize {
    let mut k = r.next(left.iter().sum());
    let u = left
        .iter()
        .position(|&n| {
            if k < n {
                true
            } else {
                k -= n;
                false
            }
        })
        .unwrap();
    left[u] -= 1;
    u
}
