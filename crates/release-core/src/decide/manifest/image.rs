//! Container image references: `[registry[:port]/]repository[:tag][@sha256:digest]`.
//!
//! The grammar follows the OCI distribution reference (the one `docker pull` accepts), narrowed to
//! sha256 digests because that is what ECR and every registry convoy targets produce.

/// A syntactically valid image reference, borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub registry: Option<&'a str>,
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    /// The full `sha256:<64 hex>` digest.
    pub digest: Option<&'a str>,
}

const MAX_TAG_LEN: usize = 128;
const MAX_NAME_LEN: usize = 255;

impl<'a> ImageRef<'a> {
    /// Parses the reference, explaining the first thing that is wrong with it.
    pub fn parse(text: &'a str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if text.chars().any(char::is_whitespace) {
            return Err(format!("`{text}` contains whitespace"));
        }
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((left, digest)) => (left, Some(check_digest(text, digest)?)),
            None => (text, None),
        };
        // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let tag = &name_and_tag[at + 1..];
                check_tag(text, tag)?;
                (&name_and_tag[..at], Some(tag))
            }
            None => (name_and_tag, None),
        };
        if name.len() > MAX_NAME_LEN {
            return Err(format!(
                "`{text}`: the name is longer than {MAX_NAME_LEN} characters"
            ));
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if looks_like_registry(first) => {
                check_registry(text, first)?;
                (Some(first), rest)
            }
            _ => (None, name),
        };
        check_repository(text, repository)?;
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// Checks a reference and the pinning rule: without `allow_latest`, an image needs a tag or a
/// digest, and the tag must not be `latest` (a release must say exactly what it ships).
pub fn check(text: &str, allow_latest: bool) -> Result<(), String> {
    let image = ImageRef::parse(text)?;
    if allow_latest {
        return Ok(());
    }
    match (image.tag, image.digest) {
        (None, None) => Err(format!(
            "`{text}` has no tag or digest: pin a version such as `{text}:1.2.3` \
             (or set `settings.allowLatest: true`)"
        )),
        (Some("latest"), _) => Err(format!(
            "`{text}` uses the `latest` tag: pin a version \
             (or set `settings.allowLatest: true`)"
        )),
        _ => Ok(()),
    }
}

/// Docker's rule: the first path component is a registry if it has a dot or a port, or is localhost.
fn looks_like_registry(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

fn check_registry(text: &str, registry: &str) -> Result<(), String> {
    let (host, port) = match registry.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (registry, None),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if !host.split('.').all(label_ok) {
        return Err(format!(
            "`{text}`: registry `{registry}` is not a valid host name"
        ));
    }
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("`{text}`: registry port `{port}` is not a number"));
        }
    }
    Ok(())
}

fn check_repository(text: &str, repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err(format!("`{text}` has no repository name"));
    }
    if repository.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "`{text}`: repository `{repository}` must be lowercase"
        ));
    }
    for component in repository.split('/') {
        if !is_path_component(component) {
            return Err(format!(
                "`{text}`: repository `{repository}` is invalid (use lowercase letters, digits and \
                 single `.`, `_`, `__` or `-` separators between path parts)"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut chars = component.chars().peekable();
    loop {
        // One run of letters and digits.
        let mut run = 0;
        while chars.next_if(|&c| alnum(c)).is_some() {
            run += 1;
        }
        if run == 0 {
            return false;
        }
        // Then the end, or one separator followed by another run.
        match chars.next() {
            None => return true,
            Some('.') => {}
            Some('_') => {
                chars.next_if_eq(&'_');
            }
            Some('-') => while chars.next_if_eq(&'-').is_some() {},
            Some(_) => return false,
        }
    }
}

fn check_tag(text: &str, tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err(format!("`{text}` has an empty tag after `:`"));
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(format!(
            "`{text}`: the tag is {} characters long (at most {MAX_TAG_LEN})",
            tag.len()
        ));
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let first_ok = tag.chars().next().is_some_and(word);
    if !first_ok || !tag.chars().all(|c| word(c) || c == '.' || c == '-') {
        return Err(format!(
            "`{text}`: tag `{tag}` is invalid (letters, digits, `_`, `.`, `-`; not starting with \
             `.` or `-`)"
        ));
    }
    Ok(())
}

fn check_digest<'a>(text: &str, digest: &'a str) -> Result<&'a str, String> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("`{text}`: digest `{digest}` must start with `sha256:`"))?;
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(format!(
            "`{text}`: digest must be `sha256:` followed by 64 lowercase hex digits"
        ));
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn valid_references_split_into_parts() {
        let with_digest = format!("nginx@{DIGEST}");
        let full = format!("localhost:5000/team/app:v2@{DIGEST}");
        let image = |registry, repository, tag, digest| ImageRef {
            registry,
            repository,
            tag,
            digest,
        };
        let cases: [(&str, ImageRef); 8] = [
            ("nginx:1.25", image(None, "nginx", Some("1.25"), None)),
            (
                "library/nginx:1.25-alpine",
                image(None, "library/nginx", Some("1.25-alpine"), None),
            ),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/service-a:2.0.0",
                image(
                    Some("111111111111.dkr.ecr.us-east-1.amazonaws.com"),
                    "service-a",
                    Some("2.0.0"),
                    None,
                ),
            ),
            (
                "public.ecr.aws/convoy-demo/web:1.1.0",
                image(
                    Some("public.ecr.aws"),
                    "convoy-demo/web",
                    Some("1.1.0"),
                    None,
                ),
            ),
            (&with_digest, image(None, "nginx", None, Some(DIGEST))),
            (
                &full,
                image(Some("localhost:5000"), "team/app", Some("v2"), Some(DIGEST)),
            ),
            (
                "registry.example.com:8443/a__b/c.d/e---f:TAG_1",
                image(
                    Some("registry.example.com:8443"),
                    "a__b/c.d/e---f",
                    Some("TAG_1"),
                    None,
                ),
            ),
            ("nginx", image(None, "nginx", None, None)),
        ];
        for (text, want) in cases {
            assert_eq!(ImageRef::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn invalid_references_say_why() {
        let long_tag = format!("app:{}", "a".repeat(129));
        let cases: [(&str, &str); 17] = [
            ("", "must not be empty"),
            ("nginx :1.0", "whitespace"),
            ("nginx:1.0\n", "whitespace"),
            ("MyApp:1.0", "must be lowercase"),
            ("registry.example.com/Team/app:1.0", "must be lowercase"),
            ("app:", "empty tag"),
            ("app:-rc1", "tag `-rc1` is invalid"),
            ("app:1.0+build", "tag `1.0+build` is invalid"),
            (&long_tag, "129 characters long"),
            ("app@md5:abc", "must start with `sha256:`"),
            ("app@sha256:ABCDEF", "64 lowercase hex"),
            ("app:1@sha256:0123", "64 lowercase hex"),
            (
                "registry.example.com:port/app:1",
                "port `port` is not a number",
            ),
            ("-bad.example.com/app:1", "not a valid host name"),
            ("team//app:1", "is invalid"),
            ("app_-x:1", "is invalid"),
            ("registry.example.com/:1", "has no repository"),
        ];
        for (text, fragment) in cases {
            let err = ImageRef::parse(text).expect_err(text);
            assert!(err.contains(fragment), "{text:?}: {err}");
        }
    }

    #[test]
    fn pinning_needs_a_tag_or_digest_unless_latest_is_allowed() {
        let pinned_by_digest = format!("nginx@{DIGEST}");
        let latest_with_digest = format!("nginx:latest@{DIGEST}");
        let cases: [(&str, bool, Option<&str>); 8] = [
            ("nginx:1.25", false, None),
            (&pinned_by_digest, false, None),
            ("nginx", false, Some("has no tag or digest")),
            ("nginx:latest", false, Some("uses the `latest` tag")),
            (&latest_with_digest, false, Some("uses the `latest` tag")),
            ("nginx", true, None),
            ("nginx:latest", true, None),
            ("Nginx", true, Some("must be lowercase")),
        ];
        for (text, allow_latest, want) in cases {
            let got = check(text, allow_latest);
            match want {
                None => assert_eq!(got, Ok(()), "{text}"),
                Some(fragment) => {
                    let err = got.expect_err(text);
                    assert!(err.contains(fragment), "{text}: {err}");
                }
            }
        }
    }
}
