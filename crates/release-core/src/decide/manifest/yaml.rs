//! Loading the manifest's YAML so that validation sees everything as written: whole numbers too
//! large for YAML's 64-bit numbers (which the YAML library refuses, stopping at the first) are kept
//! for the field checks, a numeric release label keeps its source text (`4.10`, not `4.1`), and a
//! quoted string that is never closed is reported where it opens.

use std::borrow::Cow;

use serde::Deserialize;
use serde_yaml_ng::value::{Tag, TaggedValue};
use serde_yaml_ng::Value;

/// The private tag under which a whole number too large for 64 bits is kept, as its source text.
const OVERSIZED_INTEGER_TAG: &str = "convoy-oversized-integer";

/// Each whole number too large for 64 bits takes one more attempt; a manifest has far fewer.
const MAX_OVERSIZED_INTEGERS: usize = 1000;

/// The document as a [`Value`], `<<` merge keys applied. A whole number beyond 64 bits is kept as
/// its source text (see [`oversized_integer`]) instead of failing the whole document.
pub(crate) fn load(text: &str) -> Result<Value, serde_yaml_ng::Error> {
    let mut text = Cow::Borrowed(text);
    for _ in 0..=MAX_OVERSIZED_INTEGERS {
        match parse(&text) {
            Ok(document) => return Ok(document),
            Err(e) => match keep_oversized_integer(&text, &e) {
                Some(kept) => text = Cow::Owned(kept),
                None => return Err(e),
            },
        }
    }
    parse(&text)
}

fn parse(text: &str) -> Result<Value, serde_yaml_ng::Error> {
    let mut document = serde_yaml_ng::from_str::<Value>(text)?;
    // `<<: *defaults` merge keys are common in hand-written manifests.
    document.apply_merge()?;
    Ok(document)
}

/// The source text of a whole number that was too large for 64 bits, as [`load`] kept it.
pub(crate) fn oversized_integer(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == OVERSIZED_INTEGER_TAG => tagged.value.as_str(),
        _ => None,
    }
}

/// `text` with the integer the YAML library refused (error `e`) replaced by a string under
/// [`OVERSIZED_INTEGER_TAG`]; `None` for any other error.
fn keep_oversized_integer(text: &str, e: &serde_yaml_ng::Error) -> Option<String> {
    let message = e.to_string();
    if !message.contains("invalid type: integer `")
        || !(message.contains("as u128") || message.contains("as i128"))
    {
        return None;
    }
    let at = e.location()?;
    let line_start: usize = text
        .split_inclusive('\n')
        .take(at.line() - 1)
        .map(str::len)
        .sum();
    let line = text[line_start..].split('\n').next()?;
    let (column, _) = line.char_indices().nth(at.column() - 1)?;
    let start = line_start + column;
    let token_len = text[start..]
        .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}' | '#'))
        .unwrap_or(text.len() - start);
    let token = &text[start..start + token_len];
    let integer = token.strip_prefix(['-', '+']).unwrap_or(token);
    if integer.is_empty()
        || !integer
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let kept = Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(OVERSIZED_INTEGER_TAG),
        value: Value::String(token.to_string()),
    }));
    let kept = serde_yaml_ng::to_string(&kept).ok()?;
    Some(format!(
        "{}{}{}",
        &text[..start],
        kept.trim_end(),
        &text[start + token_len..]
    ))
}

/// The top-level `release:` label as written, when it is a plain scalar (`4.10` stays `4.10`).
pub(crate) fn release_label_source(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Top {
        release: String,
    }
    serde_yaml_ng::from_str::<Top>(text)
        .ok()
        .map(|top| top.release)
}

/// A YAML syntax error as one line with its position. A quoted string that is never closed is
/// placed where it opens: the library notices only at the end of the file, or where the string,
/// having swallowed the lines after it, meets the next quote.
pub(crate) fn error_message(e: &serde_yaml_ng::Error, text: &str) -> String {
    let message = e.to_string();
    // The library appends "at line L column C" (and its context); say the place once, up front.
    let detail = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .trim_end_matches(',');
    const UNCLOSED: &str = ", while scanning a quoted scalar at line ";
    let opening = match message.split_once(UNCLOSED) {
        Some((_, opening)) => line_and_column(opening),
        None => e
            .location()
            .and_then(|at| runaway_quote(text, at.line()))
            .filter(|(line, _)| e.location().is_some_and(|at| *line < at.line())),
    };
    match (opening, e.location()) {
        (Some((line, column)), at) => format!(
            "YAML syntax error at line {line}, column {column}: the quoted string that opens here \
             is not closed ({detail}{})",
            at.map(|at| format!(" at line {}, column {}", at.line(), at.column()))
                .unwrap_or_default()
        ),
        (None, Some(at)) => format!(
            "YAML syntax error at line {}, column {}: {detail}",
            at.line(),
            at.column()
        ),
        (None, None) => format!("YAML error: {message}"),
    }
}

/// `(line, column)` of the first quoted string, up to `until_line`, that runs over lines that look
/// like keys or list items of their own: a quote left open by mistake.
fn runaway_quote(text: &str, until_line: usize) -> Option<(usize, usize)> {
    // (quote, line, column, swallowed a key line)
    let mut open: Option<(char, usize, usize, bool)> = None;
    for (number, line) in text.lines().enumerate().take(until_line) {
        let number = number + 1;
        if let Some(quoted) = open.as_mut() {
            quoted.3 |= looks_like_a_key(line);
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match open {
                Some((quote, opened_on, column, swallowed)) => {
                    let escaped = match quote {
                        '"' => c == '\\',
                        _ => c == '\'' && chars.get(i + 1) == Some(&'\''),
                    };
                    if escaped {
                        i += 1;
                    } else if c == quote {
                        if swallowed && opened_on < number {
                            return Some((opened_on, column));
                        }
                        open = None;
                    }
                }
                None if c == '#' && (i == 0 || chars[i - 1].is_whitespace()) => break,
                None if matches!(c, '"' | '\'') && starts_a_scalar(&chars[..i]) => {
                    open = Some((c, number, i + 1, false));
                }
                None => {}
            }
            i += 1;
        }
    }
    match open {
        Some((_, line, column, true)) => Some((line, column)),
        _ => None,
    }
}

/// Whether a quote after `before` (on its line) opens a quoted scalar rather than sitting inside a
/// plain one (`it's`).
fn starts_a_scalar(before: &[char]) -> bool {
    let trimmed: String = before.iter().collect();
    let trimmed = trimmed.trim_end();
    let spaced = trimmed.len() < before.len();
    match trimmed.chars().last() {
        None => true,
        Some('[' | '{' | ',') => true,
        Some(':' | '-' | '?') => spaced,
        Some(_) => false,
    }
}

/// `key:` or `- key:` at the start of a line.
fn looks_like_a_key(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("- ").unwrap_or(line).trim_start();
    let key_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
        .unwrap_or(line.len());
    key_len > 0 && line[key_len..].starts_with(':')
}

/// `(L, C)` from `L column C...`.
fn line_and_column(text: &str) -> Option<(usize, usize)> {
    let (line, rest) = text.split_once(" column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unclosed_quote_is_placed_where_it_opens() {
        let text = "services:\n  - service: web\n    image: \"r/web:1.0\n  - service: api\n    \
                    clusterName: prod\n";
        let e = load(text).expect_err("unclosed quote");
        let message = error_message(&e, text);
        assert!(
            message.starts_with("YAML syntax error at line 3, column 12: the quoted string"),
            "{message}"
        );
        assert!(message.contains("at line 6, column 1"), "{message}");
    }

    #[test]
    fn a_runaway_quote_is_told_from_quotes_inside_plain_text_and_comments() {
        let runaway = "a: it's fine # don't\nb: \"open\nc: x\nd: \"y\"\n";
        assert_eq!(runaway_quote(runaway, 4), Some((2, 4)));
        // A quoted string over several lines of text is no mistake.
        let folded = "a: \"one\n  two\"\nb: 'it''s\n  three'\n";
        assert_eq!(runaway_quote(folded, 4), None);
        let single = "- name: 'open\n- name: web\n";
        assert_eq!(runaway_quote(single, 2), Some((1, 9)));
    }

    #[test]
    fn oversized_integers_are_kept_as_written() {
        let text = "a: 99999999999999999999\nb: {c: -99999999999999999999, d: 1}\ne: [1, \
                    0x1FFFFFFFFFFFFFFFFFF]\n";
        let document = load(text).expect("loads");
        let get = |path: &[&str]| {
            path.iter()
                .try_fold(&document, |v, key| v.get(*key))
                .expect("present")
        };
        assert_eq!(oversized_integer(get(&["a"])), Some("99999999999999999999"));
        assert_eq!(
            oversized_integer(get(&["b", "c"])),
            Some("-99999999999999999999")
        );
        assert_eq!(get(&["b", "d"]).as_i64(), Some(1));
        let list = get(&["e"]).as_sequence().expect("list");
        assert_eq!(oversized_integer(&list[1]), Some("0x1FFFFFFFFFFFFFFFFFF"));
        assert_eq!(oversized_integer(&Value::from(3)), None);
    }

    #[test]
    fn a_numeric_release_label_keeps_its_source_text() {
        for label in ["4.10", "4.0", "1e3", "0x10", "007"] {
            let text = format!("release: {label}\nservices: []\n");
            assert_eq!(
                release_label_source(&text).as_deref(),
                Some(label),
                "{label}"
            );
        }
        assert_eq!(release_label_source("release: {id: a}\n"), None);
    }
}
