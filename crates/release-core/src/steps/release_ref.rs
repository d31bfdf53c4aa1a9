//! Releases started by reference (decisions/0006): the CLI writes a large rendered release to the
//! records bucket ([`stage`]); plan-release reads it back ([`resolve`]) with the same validation
//! as a release handed inline.

use crate::aws::locks::LockStore;
use crate::aws::ObjectStore;
use crate::contract::{ReleaseInput, ReleaseRef, ReleaseSource, RELEASE_REF_FIELD};
use crate::decide::manifest::check_input;
use crate::decide::release_ref::{self, check_body, Referenced};
use crate::{Error, Problem};

/// Writes `rendered` (release `release_id`, as `convoy render` prints it) to
/// `s3://bucket/inputs/<release id>/<sha256>.json` unless it is there already, and returns the
/// execution input that names it. The key is the body's sha256: an object already at that key
/// is the same release, and plan-release checks the hash anyway.
pub async fn stage<S: LockStore>(
    objects: &S,
    bucket: &str,
    release_id: &str,
    rendered: &str,
) -> Result<ReleaseRef, Error> {
    let key = release_ref::key(release_id, rendered);
    objects
        .create(bucket, &key, rendered.as_bytes().to_vec())
        .await?;
    Ok(release_ref::reference(release_id, bucket, &key))
}

/// The release `source` carries: itself, or the object its reference names in `bucket` (the
/// function's own records bucket), checked against its key and validated as an inline release
/// is. A reference that cannot be followed is `StepInputInvalid` naming the field, a release
/// that does not validate `ManifestInvalid` with every problem; nothing is changed either way.
pub async fn resolve<S: ObjectStore>(
    objects: &S,
    bucket: &str,
    source: ReleaseSource,
) -> Result<ReleaseInput, Error> {
    let reference = match source {
        ReleaseSource::Inline(input) => return Ok(*input),
        ReleaseSource::Reference(reference) => reference,
    };
    let referenced = release_ref::parse(&reference, bucket).map_err(Error::StepInputInvalid)?;
    let uri = reference.release_ref.as_str();
    let invalid = |field: &str, message: String| {
        Error::StepInputInvalid(vec![Problem {
            file: "execution input".into(),
            item: String::new(),
            field: field.into(),
            message,
        }])
    };
    let Some(body) = read(objects, &referenced).await? else {
        return Err(invalid(
            RELEASE_REF_FIELD,
            format!(
                "`{uri}` does not exist (never written, or expired with the records): \
                 nothing was planned; deploy the release again"
            ),
        ));
    };
    check_body(&referenced, &body).map_err(|m| invalid(RELEASE_REF_FIELD, m))?;
    let input: ReleaseInput =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| {
                let path = e.path().to_string();
                Error::StepInputInvalid(vec![Problem {
                    file: format!("{RELEASE_REF_FIELD} {uri}"),
                    item: "ReleaseInput".into(),
                    field: if path == "." { String::new() } else { path },
                    message: e.into_inner().to_string(),
                }])
            })?;
    if input.release.id != reference.release.id {
        return Err(invalid(
            "release.id",
            format!(
                "`{}` is not the id of the release `{uri}` holds (`{}`)",
                reference.release.id, input.release.id
            ),
        ));
    }
    // The same rules as an inline release, each problem naming the reference beside the manifest.
    let problems = check_input(&input);
    if !problems.is_empty() {
        let file = format!("{} ({RELEASE_REF_FIELD} {uri})", input.release.source);
        let problems = problems
            .into_iter()
            .map(|p| Problem {
                file: file.clone(),
                ..p
            })
            .collect();
        return Err(Error::ManifestInvalid(problems));
    }
    Ok(input)
}

/// The referenced object's bytes; `None` when it does not exist.
async fn read<S: ObjectStore>(
    objects: &S,
    referenced: &Referenced,
) -> Result<Option<Vec<u8>>, Error> {
    objects.get(&referenced.bucket, &referenced.key).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ReleaseRefMeta;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn input(uri: &str, id: &str) -> ReleaseRef {
        ReleaseRef {
            release_ref: uri.into(),
            release: ReleaseRefMeta { id: id.into() },
        }
    }

    #[test]
    fn the_execution_input_is_a_reference_exactly_when_it_has_a_release_ref() {
        use crate::contract::PlanRequest;
        let request = |release: serde_json::Value| serde_json::json!({"release": release, "executionName": "e", "executionArn": "arn"});
        let uri = format!("s3://records/inputs/r-1/{SHA}.json");
        let parsed: PlanRequest = serde_json::from_value(request(
            serde_json::json!({"releaseRef": uri, "release": {"id": "r-1"}}),
        ))
        .unwrap();
        assert_eq!(parsed.release, ReleaseSource::Reference(input(&uri, "r-1")));
        let inline = serde_json::json!({
            "release": {"id": "r-1", "source": "deployment.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                         "keepRevisions": 0},
        });
        let parsed: PlanRequest = serde_json::from_value(request(inline.clone())).unwrap();
        assert!(matches!(parsed.release, ReleaseSource::Inline(r) if r.release.id == "r-1"));
        // A reference is only that: a release beside it is refused, naming where.
        let mut both = inline;
        both["releaseRef"] = uri.into();
        let refused = crate::steps::parse_input::<PlanRequest>(request(both)).unwrap_err();
        let refused = refused.to_string();
        assert!(
            refused.contains("field `release`: release.source: unknown field `source`"),
            "{refused}"
        );
        // An inline release keeps the path of its bad field.
        let bad = serde_json::json!({"release": {"id": "r-1", "source": "d.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                         "keepRevisions": 0},
            "services": [{"cluster": "c", "service": "s", "images": {"containers": {}},
                          "timeoutSeconds": 1, "colour": "red"}]});
        let refused = crate::steps::parse_input::<PlanRequest>(request(bad))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("field `release`: services[0].colour: unknown field `colour`"),
            "{refused}"
        );
    }

    /// An execution whose input the status event left out: none here, the event carries it.
    struct NoDescribe;

    impl crate::aws::locks::ExecutionInputs for NoDescribe {
        async fn input(&self, execution_arn: &str) -> Result<Option<String>, Error> {
            Err(Error::internal(format!(
                "{execution_arn}: not described here"
            )))
        }
    }

    #[tokio::test]
    async fn the_watchdog_finds_the_release_id_of_a_release_started_by_reference() {
        let reference =
            release_ref::reference("r-large", "records", &release_ref::key("r-large", "{}"));
        let change: crate::contract::ExecutionStatusChange = serde_json::from_value(serde_json::json!({
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:convoy-release:e-1",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:convoy-release",
            "name": "e-1",
            "status": "ABORTED",
            "input": serde_json::to_string(&reference).unwrap(),
        }))
        .unwrap();
        let id = crate::steps::recover::release_id(&NoDescribe, &change).await;
        assert_eq!(id.unwrap(), "r-large");
    }
}
