//! Reading YAML mappings field by field while collecting every problem, instead of stopping at the
//! first one the way serde's `deny_unknown_fields` does.

use std::ops::RangeInclusive;

use serde_yaml_ng::{Mapping, Value};

use crate::Problem;

/// The problems found in one manifest file, in the order they were found.
#[derive(Debug)]
pub(crate) struct Problems {
    file: String,
    list: Vec<Problem>,
}

impl Problems {
    pub(crate) fn new(file: &str) -> Self {
        Problems {
            file: file.to_string(),
            list: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, item: &str, field: &str, message: impl Into<String>) {
        self.list.push(Problem {
            file: self.file.clone(),
            item: item.to_string(),
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Records `result`'s error, if any, against `item` and `field`.
    pub(crate) fn check(&mut self, item: &str, field: &str, result: Result<(), String>) {
        if let Err(message) = result {
            self.push(item, field, message);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.list
    }
}

/// What a YAML value is, for "expected X, found Y" messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) if super::yaml::oversized_integer(value).is_some() => "a number",
        Value::Tagged(_) => "a tagged value",
    }
}

/// One YAML mapping of the manifest (the top level, `settings`, a service, ...), the item its
/// problems belong to and the keys it may have.
pub(crate) struct Fields<'m> {
    map: &'m Mapping,
    item: String,
    /// Prepended to keys to form the problem's field path, e.g. `settings.`.
    prefix: String,
    known: &'static [&'static str],
    /// Keys starting with `x-` are the user's own (anchors for `<<:` merges), as in Compose files.
    extensions: bool,
}

impl<'m> Fields<'m> {
    pub(crate) fn new(
        map: &'m Mapping,
        item: impl Into<String>,
        prefix: impl Into<String>,
        known: &'static [&'static str],
    ) -> Self {
        Fields {
            map,
            item: item.into(),
            prefix: prefix.into(),
            known,
            extensions: false,
        }
    }

    /// Accepts `x-` keys besides the known ones.
    pub(crate) fn with_extensions(mut self) -> Self {
        self.extensions = true;
        self
    }

    fn is_known(&self, key: &str) -> bool {
        self.known.contains(&key) || (self.extensions && key.starts_with("x-"))
    }

    pub(crate) fn item(&self) -> &str {
        &self.item
    }

    /// The problem's field path for `key`.
    pub(crate) fn path(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'m Value> {
        self.map.get(key)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub(crate) fn push(&self, problems: &mut Problems, key: &str, message: impl Into<String>) {
        problems.push(&self.item, &self.path(key), message);
    }

    /// A string field; names that YAML reads as numbers must be quoted.
    pub(crate) fn string(&self, problems: &mut Problems, key: &str) -> Option<&'m str> {
        match self.get(key)? {
            Value::String(s) if s.is_empty() => {
                self.push(problems, key, "must not be empty");
                None
            }
            Value::String(s) => Some(s),
            value if super::yaml::oversized_integer(value).is_some() => {
                let n = super::yaml::oversized_integer(value).unwrap_or_default();
                self.push(
                    problems,
                    key,
                    format!("expected a string, found the number {n} (quote it: \"{n}\")"),
                );
                None
            }
            Value::Null => {
                self.push(problems, key, "must not be empty");
                None
            }
            Value::Number(n) => {
                self.push(
                    problems,
                    key,
                    format!("expected a string, found the number {n} (quote it: \"{n}\")"),
                );
                None
            }
            other => {
                self.push(
                    problems,
                    key,
                    format!("expected a string, found {}", kind(other)),
                );
                None
            }
        }
    }

    /// A string field that must be present.
    pub(crate) fn required_string(&self, problems: &mut Problems, key: &str) -> Option<&'m str> {
        if !self.has(key) {
            self.missing(problems, key, "is required");
            return None;
        }
        self.string(problems, key)
    }

    /// Reports a missing field, unless an unknown key already reported looks like its misspelling.
    pub(crate) fn missing(&self, problems: &mut Problems, key: &str, message: &str) {
        if !self.misspelled(key) {
            self.push(problems, key, message);
        }
    }

    /// Some unknown key is probably `key` misspelled.
    pub(crate) fn misspelled(&self, key: &str) -> bool {
        self.unknown_keys()
            .any(|unknown| closest(unknown, self.known) == Some(key))
    }

    pub(crate) fn has_unknown(&self) -> bool {
        self.unknown_keys().next().is_some()
    }

    fn unknown_keys(&self) -> impl Iterator<Item = &'m str> + '_ {
        self.map
            .keys()
            .filter_map(Value::as_str)
            .filter(|k| !self.is_known(k))
    }

    /// A string field with two accepted spellings; giving both is ambiguous.
    pub(crate) fn aliased_string(
        &self,
        problems: &mut Problems,
        canonical: &str,
        alias: &str,
        required: bool,
    ) -> Option<&'m str> {
        match (self.has(canonical), self.has(alias)) {
            (true, true) => {
                self.push(
                    problems,
                    alias,
                    format!("`{alias}` and `{canonical}` mean the same; give only one"),
                );
                None
            }
            (false, true) => self.string(problems, alias),
            (true, false) => self.string(problems, canonical),
            (false, false) => {
                if required && !self.misspelled(alias) {
                    self.missing(problems, canonical, "is required");
                }
                None
            }
        }
    }

    /// A whole number within `range`.
    pub(crate) fn integer(
        &self,
        problems: &mut Problems,
        key: &str,
        range: &RangeInclusive<i64>,
    ) -> Option<i64> {
        let value = self.get(key)?;
        if let Some(n) = super::yaml::oversized_integer(value) {
            self.push(problems, key, super::checks::out_of_range(n, range));
            return None;
        }
        let Some(n) = value.as_i64() else {
            let found = match value {
                Value::Number(n) => format!("{n}"),
                other => kind(other).to_string(),
            };
            self.push(
                problems,
                key,
                format!("expected a whole number, found {found}"),
            );
            return None;
        };
        match super::checks::in_range(n, range) {
            Ok(()) => Some(n),
            Err(message) => {
                self.push(problems, key, message);
                None
            }
        }
    }

    pub(crate) fn boolean(&self, problems: &mut Problems, key: &str) -> Option<bool> {
        let value = self.get(key)?;
        let b = value.as_bool();
        if b.is_none() {
            self.push(
                problems,
                key,
                format!("expected true or false, found {}", kind(value)),
            );
        }
        b
    }

    /// A nested mapping such as `settings` or `containers`.
    pub(crate) fn mapping(&self, problems: &mut Problems, key: &str) -> Option<&'m Mapping> {
        let value = self.get(key)?;
        let m = value.as_mapping();
        if m.is_none() {
            self.push(
                problems,
                key,
                format!("expected a mapping, found {}", kind(value)),
            );
        }
        m
    }

    /// Reports every key that is not in `known`, suggesting the closest known one.
    pub(crate) fn reject_unknown(&self, problems: &mut Problems) {
        for key in self.map.keys() {
            let Some(key) = key.as_str() else {
                problems.push(
                    &self.item,
                    self.prefix.trim_end_matches('.'),
                    format!("keys must be strings, found {}", kind(key)),
                );
                continue;
            };
            if self.is_known(key) {
                continue;
            }
            let message = match closest(key, self.known) {
                Some(known) => format!("unknown field `{key}` (did you mean `{known}`?)"),
                None => format!(
                    "unknown field `{key}` (expected one of: {})",
                    self.known.join(", ")
                ),
            };
            self.push(problems, key, message);
        }
    }
}

/// The known key a typo most likely meant: same letters ignoring case, or a small edit distance.
pub(crate) fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            row.push(substitute.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_key_tolerates_case_and_small_typos_only() {
        let known = [
            "service",
            "clusterName",
            "serviceName",
            "image",
            "containers",
            "desiredCount",
            "timeoutSeconds",
        ];
        let cases = [
            ("clustername", Some("clusterName")),
            ("ClusterName", Some("clusterName")),
            ("imgae", Some("image")),
            ("image_", Some("image")),
            ("container", Some("containers")),
            ("desired_count", Some("desiredCount")),
            ("timeout", None),
            ("replicas", None),
            ("x", None),
        ];
        for (key, want) in cases {
            assert_eq!(closest(key, &known), want, "{key}");
        }
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        let cases = [
            ("", "", 0),
            ("abc", "", 3),
            ("kitten", "sitting", 3),
            ("image", "imgae", 2),
        ];
        for (a, b, want) in cases {
            assert_eq!(edit_distance(a, b), want, "{a} {b}");
        }
    }
}
