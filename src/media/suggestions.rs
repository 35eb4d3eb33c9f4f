//! Metadata suggestions from a PDF's Info dictionary, following forScore's published
//! convention: Title → title, Author → composer, Subject → genre, Keywords → tags, and the
//! keyword tokens `rating:N`, `difficulty:N`, `duration:N` (seconds), `keysf:N` (sharps, negative
//! for flats) and `keymi:N` (1 = minor). Suggestions are shown beside what the user typed and
//! never overwrite it.

use serde::Serialize;

use super::pdf_info::PdfMeta;
use crate::domain::score;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Suggestions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub composer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

const MAJOR: [&str; 15] = [
    "Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#",
];
const MINOR: [&str; 15] = [
    "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#",
];

/// The key named by a key signature (−7…7 sharps) and mode.
pub fn key_name(sharps: i64, minor: bool) -> Option<String> {
    let i = usize::try_from(sharps + 7).ok().filter(|i| *i < 15)?;
    Some(if minor {
        format!("{} minor", MINOR[i])
    } else {
        format!("{} major", MAJOR[i])
    })
}

fn clean(s: Option<&String>, max: usize) -> Option<String> {
    s.and_then(|v| score::text(v, max).ok())
}

pub fn from_meta(meta: &PdfMeta) -> Suggestions {
    let mut out = Suggestions {
        title: clean(meta.title.as_ref(), score::TITLE_MAX_CHARS),
        composer: clean(meta.author.as_ref(), score::TEXT_MAX_CHARS),
        genre: clean(meta.subject.as_ref(), score::TEXT_MAX_CHARS),
        ..Suggestions::default()
    };
    let (mut sharps, mut minor) = (None, false);
    for item in meta
        .keywords
        .as_deref()
        .unwrap_or_default()
        .split([',', ';'])
    {
        let mut rest = Vec::new();
        for word in item.split_whitespace() {
            let Some((name, value)) = word.split_once(':') else {
                rest.push(word);
                continue;
            };
            let n = value.trim().parse::<i64>().ok();
            match (name.to_ascii_lowercase().as_str(), n) {
                ("rating", Some(n)) if (1..=5).contains(&n) => out.rating = Some(n),
                ("difficulty", Some(n)) if (1..=5).contains(&n) => out.difficulty = Some(n),
                ("duration", Some(n)) if (1..=score::DURATION_MAX_SECONDS).contains(&n) => {
                    out.duration = Some(n)
                }
                ("keysf", Some(n)) => sharps = Some(n),
                ("keymi", Some(n)) => minor = n == 1,
                ("rating" | "difficulty" | "duration" | "keysf" | "keymi", _) => {}
                _ => rest.push(word),
            }
        }
        let tag = rest.join(" ");
        if let Ok(t) = score::tag(&tag) {
            if !out.tags.contains(&t) && out.tags.len() < score::TAGS_MAX {
                out.tags.push(t);
            }
        }
    }
    out.key = sharps.and_then(|s| key_name(s, minor));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(keywords: &str) -> PdfMeta {
        PdfMeta {
            title: Some(" Clair de lune ".into()),
            author: Some("Claude Debussy".into()),
            subject: Some("Impressionism".into()),
            keywords: Some(keywords.into()),
            ..PdfMeta::default()
        }
    }

    #[test]
    fn forscore_fields_map_to_suggestions() {
        let s = from_meta(&meta(
            "Piano, Recital; sight reading, rating:4, difficulty:3 duration:300 keysf:5 keymi:0",
        ));
        assert_eq!(s.title.as_deref(), Some("Clair de lune"));
        assert_eq!(s.composer.as_deref(), Some("Claude Debussy"));
        assert_eq!(s.genre.as_deref(), Some("Impressionism"));
        assert_eq!(s.tags, vec!["piano", "recital", "sight reading"]);
        assert_eq!(
            (s.rating, s.difficulty, s.duration),
            (Some(4), Some(3), Some(300))
        );
        assert_eq!(s.key.as_deref(), Some("B major"));
    }

    #[test]
    fn minor_keys_and_flats_are_named() {
        assert_eq!(
            from_meta(&meta("keysf:-3 keymi:1")).key.as_deref(),
            Some("C minor")
        );
        assert_eq!(key_name(-7, false).as_deref(), Some("Cb major"));
        assert_eq!(key_name(7, true).as_deref(), Some("A# minor"));
        assert_eq!(key_name(8, false), None);
    }

    #[test]
    fn out_of_range_or_malformed_tokens_are_ignored() {
        let s = from_meta(&meta("rating:9, difficulty:x, duration:-5, keysf:12"));
        assert_eq!(
            s,
            Suggestions {
                title: s.title.clone(),
                composer: s.composer.clone(),
                genre: s.genre.clone(),
                ..Suggestions::default()
            }
        );
    }

    #[test]
    fn empty_metadata_suggests_nothing() {
        let s = from_meta(&PdfMeta::default());
        assert_eq!(serde_json::to_string(&s).unwrap(), "{}");
    }
}
