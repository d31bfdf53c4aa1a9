//! How the contract's task definition strings are read: ECS names a revision by ARN
//! (`arn:aws:ecs:…:task-definition/web:3`), by `family:revision`, or by family alone (its newest
//! ACTIVE revision). Every comparison and every family or revision lookup goes through [`TaskDefRef`].

use std::fmt;

/// A task definition reference as ECS accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDefRef<'a>(&'a str);

impl<'a> TaskDefRef<'a> {
    pub fn new(text: &'a str) -> Self {
        TaskDefRef(text)
    }

    /// `family:revision` (or the bare family): what two references to one revision share.
    pub fn key(self) -> &'a str {
        self.0
            .rsplit_once(":task-definition/")
            .map_or(self.0, |(_, key)| key)
    }

    /// The family, for a reference with or without a revision.
    pub fn family(self) -> &'a str {
        let key = self.key();
        match key.rsplit_once(':') {
            Some((family, revision)) if revision.parse::<u32>().is_ok() => family,
            _ => key,
        }
    }

    /// The revision number; `None` for a bare family.
    pub fn revision(self) -> Option<u32> {
        let key = self.key();
        key.rsplit_once(':')
            .and_then(|(_, revision)| revision.parse().ok())
    }

    /// Whether both name the same revision (an ARN and its `family:revision` do).
    pub fn same_as(self, other: &str) -> bool {
        self.key() == TaskDefRef(other).key()
    }
}

impl fmt::Display for TaskDefRef<'_> {
    /// The short form people read: `family:revision`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form_ecs_accepts() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        // (reference, key, family, revision)
        let table = [
            (arn, "web:3", "web", Some(3)),
            ("web:3", "web:3", "web", Some(3)),
            ("web", "web", "web", None),
            (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web",
                "web",
                "web",
                None,
            ),
            // Family names may not contain `:`, but a non-numeric suffix is not a revision.
            ("web:latest", "web:latest", "web:latest", None),
            ("", "", "", None),
        ];
        for (text, key, family, revision) in table {
            let r = TaskDefRef::new(text);
            assert_eq!(r.key(), key, "key of {text}");
            assert_eq!(r.family(), family, "family of {text}");
            assert_eq!(r.revision(), revision, "revision of {text}");
            assert_eq!(r.to_string(), key, "display of {text}");
        }
    }

    #[test]
    fn an_arn_and_its_short_form_are_the_same_revision() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        assert!(TaskDefRef::new(arn).same_as("web:3"));
        assert!(TaskDefRef::new("web:3").same_as(arn));
        assert!(!TaskDefRef::new(arn).same_as("web:4"));
        assert!(!TaskDefRef::new("web:3").same_as("web"));
        assert!(!TaskDefRef::new("api:3").same_as("web:3"));
    }
}
