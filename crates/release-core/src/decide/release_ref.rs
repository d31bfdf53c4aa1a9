//! Releases started by reference (decisions/0006): when the rendered release goes into the records
//! bucket instead of the execution input, the name it gets there, and reading a reference back.

use sha2::{Digest, Sha256};

use crate::contract::{ReleaseRef, ReleaseRefMeta, RELEASE_REF_FIELD};
use crate::Problem;

/// The largest rendered release started inline (32 KiB). Anything larger goes to the records
/// bucket and the execution starts with a reference to it: PlanRelease's own input (the execution
/// input) then stays inside the state payload bound of decisions/0006, far below Step Functions'
/// 256 KiB per execution input, which therefore no longer limits a release.
pub const INLINE_MAX_BYTES: usize = 32 * 1024;
/// The largest release convoy renders or reads back by reference (10 MiB): plan-release holds the
/// whole release in memory, and a release this size is tens of thousands of items.
pub const MAX_RELEASE_BYTES: usize = 10 * 1024 * 1024;
/// Where releases started by reference are written in the records bucket, outside `releases/`:
/// `inputs/<release id>/<sha256 of the rendered release>.json`.
pub const INPUTS_PREFIX: &str = "inputs/";

/// Whether `rendered` (the release as `convoy render` prints it) is started by reference.
pub fn goes_by_reference(rendered: &str) -> bool {
    rendered.len() > INLINE_MAX_BYTES
}

/// The lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key of release `release_id` rendered as `rendered`: content-addressed, so writing it again
/// changes nothing and two different releases never share a key.
pub fn key(release_id: &str, rendered: &str) -> String {
    format!(
        "{INPUTS_PREFIX}{release_id}/{}.json",
        sha256_hex(rendered.as_bytes())
    )
}

/// The execution input of a release written at `s3://bucket/key`.
pub fn reference(release_id: &str, bucket: &str, key: &str) -> ReleaseRef {
    ReleaseRef {
        release_ref: format!("s3://{bucket}/{key}"),
        release: ReleaseRefMeta {
            id: release_id.to_owned(),
        },
    }
}

/// A reference read back: where the release is, and what its key promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referenced {
    pub bucket: String,
    pub key: String,
    /// The sha256 the key names: the body must hash to it.
    pub sha256: String,
}

/// Reads `reference` as plan-release may follow it: an object of `inputs/<id>/<sha256>.json` in
/// `own_bucket` (a reference to any other bucket is refused), whose id is the input's `release.id`.
/// Every problem at once, each naming the field.
pub fn parse(reference: &ReleaseRef, own_bucket: &str) -> Result<Referenced, Vec<Problem>> {
    let uri = &reference.release_ref;
    let problem = |field: &str, message: String| Problem {
        file: "execution input".into(),
        item: String::new(),
        field: field.into(),
        message,
    };
    let expected = format!("s3://{own_bucket}/{INPUTS_PREFIX}<release id>/<sha256>.json");
    let Some((bucket, key)) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Err(vec![problem(
            RELEASE_REF_FIELD,
            format!("`{uri}` is not an S3 URI: expected {expected}"),
        )]);
    };
    let mut problems = Vec::new();
    if bucket != own_bucket {
        problems.push(problem(
            RELEASE_REF_FIELD,
            format!(
                "`{uri}` is in bucket `{bucket}`: plan-release reads releases only from its own \
                 records bucket, {expected}"
            ),
        ));
    }
    let parts = key
        .strip_prefix(INPUTS_PREFIX)
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(id, name)| Some((id, name.strip_suffix(".json")?)));
    let sha256 = match parts {
        Some((id, sha256)) if is_sha256(sha256) => {
            if id != reference.release.id {
                problems.push(problem(
                    "release.id",
                    format!(
                        "`{}` is not the release `{uri}` names (`{id}`)",
                        reference.release.id
                    ),
                ));
            }
            sha256.to_owned()
        }
        _ => {
            problems.push(problem(
                RELEASE_REF_FIELD,
                format!("`{uri}` does not name a release written by convoy: expected {expected}"),
            ));
            String::new()
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Referenced {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        sha256,
    })
}

/// 64 lowercase hex digits.
fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Why `body`, read from `referenced`, may not be planned: larger than [`MAX_RELEASE_BYTES`], or
/// not the bytes its key names (changed since it was written).
pub fn check_body(referenced: &Referenced, body: &[u8]) -> Result<(), String> {
    let uri = format!("s3://{}/{}", referenced.bucket, referenced.key);
    if body.len() > MAX_RELEASE_BYTES {
        return Err(format!(
            "`{uri}` holds {} bytes, above the {MAX_RELEASE_BYTES} bytes (10 MiB) a release may have",
            body.len()
        ));
    }
    let actual = sha256_hex(body);
    if actual != referenced.sha256 {
        return Err(format!(
            "`{uri}` has sha256 {actual}, not the {} its name promises: it changed after it was \
             written; nothing was planned (render and deploy the release again)",
            referenced.sha256
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn input(uri: &str, id: &str) -> ReleaseRef {
        ReleaseRef {
            release_ref: uri.into(),
            release: ReleaseRefMeta { id: id.into() },
        }
    }

    #[test]
    fn only_releases_above_32_kib_go_by_reference() {
        assert!(!goes_by_reference(&"x".repeat(INLINE_MAX_BYTES)));
        assert!(goes_by_reference(&"x".repeat(INLINE_MAX_BYTES + 1)));
        assert_eq!(INLINE_MAX_BYTES, 32_768);
    }

    #[test]
    fn the_key_is_the_release_id_and_the_sha256_of_the_rendered_release() {
        assert_eq!(sha256_hex(b"test"), SHA);
        assert_eq!(key("r-1", "test"), format!("inputs/r-1/{SHA}.json"));
        assert_ne!(key("r-1", "test "), key("r-1", "test"));
        let r = reference("r-1", "records", &key("r-1", "test"));
        assert_eq!(r.release_ref, format!("s3://records/inputs/r-1/{SHA}.json"));
        assert_eq!(r.release.id, "r-1");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"releaseRef": r.release_ref, "release": {"id": "r-1"}})
        );
    }

    #[test]
    fn a_reference_reads_back_to_its_bucket_key_and_sha256() {
        let uri = format!("s3://records/inputs/r-1/{SHA}.json");
        assert_eq!(
            parse(&input(&uri, "r-1"), "records"),
            Ok(Referenced {
                bucket: "records".into(),
                key: format!("inputs/r-1/{SHA}.json"),
                sha256: SHA.into()
            })
        );
    }

    #[test]
    fn a_reference_elsewhere_or_not_convoys_is_refused_naming_the_field() {
        let refused = |uri: &str, id: &str| -> Vec<String> {
            parse(&input(uri, id), "records")
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            refused(&format!("s3://other/inputs/r-1/{SHA}.json"), "r-1"),
            [format!(
                "execution input: field `releaseRef`: `s3://other/inputs/r-1/{SHA}.json` is in \
                 bucket `other`: plan-release reads releases only from its own records bucket, \
                 s3://records/inputs/<release id>/<sha256>.json"
            )]
        );
        for uri in [
            "https://records/inputs/r-1/x.json".to_owned(),
            "s3://records".to_owned(),
            format!("s3://records/releases/r-1/{SHA}.json"),
            "s3://records/inputs/r-1/abc.json".to_owned(),
            format!("s3://records/inputs/r-1/{}.json", SHA.to_uppercase()),
            format!("s3://records/inputs/r-1/{SHA}"),
            format!("s3://records/inputs/{SHA}.json"),
        ] {
            let problems = refused(&uri, "r-1");
            assert_eq!(problems.len(), 1, "{uri}: {problems:?}");
            assert!(
                problems[0].starts_with("execution input: field `releaseRef`: ")
                    && problems[0].contains(&format!("`{uri}`")),
                "{problems:?}"
            );
        }
        // Another bucket and another id: both at once.
        let problems = refused(&format!("s3://other/inputs/r-2/{SHA}.json"), "r-1");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[1].contains("field `release.id`: `r-1` is not the release"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_body_must_hash_to_its_key_and_fit_the_cap() {
        let referenced = Referenced {
            bucket: "records".into(),
            key: format!("inputs/r-1/{SHA}.json"),
            sha256: SHA.into(),
        };
        assert_eq!(check_body(&referenced, b"test"), Ok(()));
        let tampered = check_body(&referenced, b"test!").unwrap_err();
        assert!(
            tampered.contains(&format!("has sha256 {}", sha256_hex(b"test!")))
                && tampered.contains("changed after it was written"),
            "{tampered}"
        );
        let huge = vec![b' '; MAX_RELEASE_BYTES + 1];
        let refused = check_body(&referenced, &huge).unwrap_err();
        assert!(refused.contains("10485761 bytes"), "{refused}");
    }
}
