//! A lexical look at decoded content streams: which resource names they can use, their inline
//! images, and their shape (how deeply they nest, how many operators they run).
//!
//! Names are gathered from every `/` in the bytes, inside strings and comments too: hayro can only
//! use a resource whose name is spelled in the content, so over-collecting is safe, and no
//! difference between this scan and hayro's tokenizer can hide a name from it.

use std::collections::HashSet;

use lopdf::{Dictionary, Object};

fn is_white(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delimiter(b)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The name starting after the `/` at `at`, `#xx` escapes decoded, and where it ends.
fn name_at(bytes: &[u8], at: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut i = at;
    while let Some(&b) = bytes.get(i) {
        if !is_regular(b) {
            break;
        }
        if b == b'#' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    (out, i)
}

/// Every name spelled anywhere in `bytes`.
pub fn names(bytes: &[u8], into: &mut HashSet<Vec<u8>>) {
    let mut i = 0;
    while let Some(off) = bytes[i..].iter().position(|b| *b == b'/') {
        let (name, end) = name_at(bytes, i + off + 1);
        if !name.is_empty() {
            into.insert(name);
        }
        i = end.max(i + off + 1);
    }
}

/// An inline image: its dictionary (keys as written, abbreviations included) and the bytes
/// from just after `ID` to the end of the content (its data ends somewhere in there).
pub struct InlineImage<'c> {
    pub dict: Dictionary,
    pub data: &'c [u8],
}

/// How far past `BI` the dictionary may run before the `BI` is taken for something else.
const MAX_INLINE_DICT: usize = 64 * 1024;

/// Every `BI … ID` in `bytes` (a `BI` token delimited as an operator).
pub fn inline_images(bytes: &[u8]) -> Vec<InlineImage<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = bytes
        .get(i..)
        .and_then(|rest| rest.windows(2).position(|w| w == b"BI"))
    {
        let at = i + off;
        i = at + 2;
        let before_ok = at == 0 || !is_regular(bytes[at - 1]);
        let after_ok = bytes.get(at + 2).is_none_or(|b| !is_regular(*b));
        if !(before_ok && after_ok) {
            continue;
        }
        if let Some(image) = parse_inline(bytes, at + 2) {
            out.push(image);
        }
    }
    out
}

fn parse_inline(bytes: &[u8], start: usize) -> Option<InlineImage<'_>> {
    let end = bytes.len().min(start + MAX_INLINE_DICT);
    let mut t = Tokens {
        bytes: &bytes[..end],
        pos: start,
    };
    let mut dict = Dictionary::new();
    loop {
        match t.object(0)? {
            Token::Keyword(k) if k == b"ID" => {
                // One white-space byte separates `ID` from the data.
                let data_start = (t.pos + 1).min(bytes.len());
                return Some(InlineImage {
                    dict,
                    data: &bytes[data_start..],
                });
            }
            Token::Object(Object::Name(key)) => match t.object(0)? {
                Token::Object(value) => dict.set(key, value),
                Token::Keyword(_) => return None,
            },
            _ => return None,
        }
    }
}

enum Token {
    Object(Object),
    Keyword(Vec<u8>),
}

struct Tokens<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl Tokens<'_> {
    fn skip_space(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|c| *c != b'\n' && *c != b'\r')
                {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// One object or keyword; nesting deeper than 8 gives up (inline image dictionaries are
    /// flat but for `/DecodeParms` and `/Decode`).
    fn object(&mut self, depth: usize) -> Option<Token> {
        if depth > 8 {
            return None;
        }
        self.skip_space();
        let b = *self.bytes.get(self.pos)?;
        match b {
            b'/' => {
                let (name, end) = name_at(self.bytes, self.pos + 1);
                self.pos = end;
                Some(Token::Object(Object::Name(name)))
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_space();
                    if self.bytes.get(self.pos) == Some(&b']') {
                        self.pos += 1;
                        return Some(Token::Object(Object::Array(items)));
                    }
                    match self.object(depth + 1)? {
                        Token::Object(o) => items.push(o),
                        Token::Keyword(_) => return None,
                    }
                }
            }
            b'<' if self.bytes.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                let mut dict = Dictionary::new();
                loop {
                    self.skip_space();
                    if self.bytes.get(self.pos..self.pos + 2) == Some(b">>") {
                        self.pos += 2;
                        return Some(Token::Object(Object::Dictionary(dict)));
                    }
                    let Token::Object(Object::Name(key)) = self.object(depth + 1)? else {
                        return None;
                    };
                    match self.object(depth + 1)? {
                        Token::Object(v) => dict.set(key, v),
                        Token::Keyword(_) => return None,
                    }
                }
            }
            b'<' => {
                let end = self.bytes[self.pos..].iter().position(|c| *c == b'>')?;
                self.pos += end + 1;
                Some(Token::Object(Object::Null))
            }
            b'(' => {
                let mut level = 0usize;
                while let Some(&c) = self.bytes.get(self.pos) {
                    self.pos += 1;
                    match c {
                        b'\\' => self.pos += 1,
                        b'(' => level += 1,
                        b')' => {
                            level -= 1;
                            if level == 0 {
                                return Some(Token::Object(Object::Null));
                            }
                        }
                        _ => {}
                    }
                }
                None
            }
            _ => {
                let start = self.pos;
                while self.bytes.get(self.pos).is_some_and(|c| is_regular(*c)) {
                    self.pos += 1;
                }
                if self.pos == start {
                    self.pos += 1;
                    return Some(Token::Keyword(vec![b]));
                }
                let word = &self.bytes[start..self.pos];
                Some(match word {
                    b"true" => Token::Object(Object::Boolean(true)),
                    b"false" => Token::Object(Object::Boolean(false)),
                    b"null" => Token::Object(Object::Null),
                    _ => match std::str::from_utf8(word).ok() {
                        Some(s) if s.parse::<i64>().is_ok() => {
                            Token::Object(Object::Integer(s.parse().unwrap_or(0)))
                        }
                        Some(s) if s.parse::<f32>().is_ok() => {
                            Token::Object(Object::Real(s.parse().unwrap_or(0.0)))
                        }
                        _ => Token::Keyword(word.to_vec()),
                    },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_everywhere_and_unescaped() {
        let mut set = HashSet::new();
        names(
            b"q /Im#31 Do (a /Hidden name) Tj %/Comment\n/F1 12 Tf/X0 Do",
            &mut set,
        );
        for n in [&b"Im1"[..], b"Hidden", b"Comment", b"F1", b"X0"] {
            assert!(set.contains(n), "{}", String::from_utf8_lossy(n));
        }
    }

    #[test]
    fn inline_images_are_parsed() {
        let content = b"q BI /W 4 /H 2 /CS /G /BPC 8 /F [/AHx] /DP [null] ID 0011 EI Q BIX /BI";
        let images = inline_images(content);
        assert_eq!(images.len(), 1);
        let d = &images[0].dict;
        assert_eq!(d.get(b"W").unwrap().as_i64().unwrap(), 4);
        assert!(images[0].data.starts_with(b"0011 EI"));
        assert!(inline_images(b"BI /W 1 ( ID").is_empty());
    }
}

/// What drawing a content stream asks of the interpreter, apart from its resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Deepest nesting of arrays and dictionaries among its operands.
    pub nesting: usize,
    /// Operators it runs (every keyword but `true`, `false`, `null`).
    pub operators: usize,
}

/// The [`Shape`] of decoded content. Strings, comments and inline image data are skipped, so a
/// bracket or a word inside them counts for nothing; an unbalanced closer is ignored.
pub fn shape(bytes: &[u8]) -> Shape {
    let mut out = Shape::default();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                while bytes.get(i).is_some_and(|c| *c != b'\n' && *c != b'\r') {
                    i += 1;
                }
            }
            b'(' => i = skip_string(bytes, i),
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 2;
            }
            b'<' => {
                while bytes.get(i).is_some_and(|c| *c != b'>') {
                    i += 1;
                }
                i += 1;
            }
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 2;
            }
            b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'/' => {
                i += 1;
                while bytes.get(i).copied().is_some_and(is_regular) {
                    i += 1;
                }
            }
            _ if is_regular(b) => {
                let start = i;
                while bytes.get(i).copied().is_some_and(is_regular) {
                    i += 1;
                }
                let word = &bytes[start..i];
                let numeric = matches!(word[0], b'0'..=b'9' | b'+' | b'-' | b'.');
                if !numeric && !matches!(word, b"true" | b"false" | b"null") {
                    out.operators += 1;
                    if word == b"ID" {
                        i = skip_inline_data(bytes, i);
                    }
                }
            }
            _ => i += 1,
        }
        out.nesting = out.nesting.max(depth);
    }
    out
}

/// Past the literal string opening at `at` (balanced parentheses, `\` escapes).
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let (mut i, mut open) = (at + 1, 1usize);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'(' => open += 1,
            b')' => {
                open -= 1;
                if open == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Past an inline image's data: the next `EI` standing alone as a word.
fn skip_inline_data(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(off) = bytes
        .get(i..)
        .and_then(|r| r.windows(2).position(|w| w == b"EI"))
    {
        let at = i + off;
        let before = at == 0 || is_white(bytes[at - 1]);
        let after = bytes.get(at + 2).is_none_or(|b| !is_regular(*b));
        if before && after {
            return at + 2;
        }
        i = at + 2;
    }
    bytes.len()
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    #[test]
    fn operators_and_nesting_are_counted_outside_strings_comments_and_image_data() {
        let content = b"q 1 0 0 1 72 72 cm [(a [[[ b) 3 (c)] TJ % [[[[ not counted\n\
            /P <</MCID 0>> BDC EMC BI /W 2 /H 1 /BPC 8 /CS /G ID \x00[[EI q EI Q";
        assert_eq!(
            shape(content),
            Shape {
                nesting: 1,
                operators: 8
            }
        );
        assert_eq!(shape(b"[[[[[[ ]]]]]] true false null").nesting, 6);
        assert_eq!(
            shape(b"]]]] 0 0 m").operators,
            1,
            "stray closers are harmless"
        );
        let deep = "[".repeat(100_000);
        assert_eq!(shape(deep.as_bytes()).nesting, 100_000);
    }
}
