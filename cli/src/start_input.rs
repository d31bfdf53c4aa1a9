//! What a release execution is started with (decisions/0006): the rendered release itself, or,
//! above [`INLINE_MAX_BYTES`], a reference to it written to the release-records bucket under
//! `inputs/<release id>/<sha256>.json`.

use release_core::contract::ReleaseInput;
use release_core::decide::manifest::{self, thousands};
use release_core::decide::release_ref::{goes_by_reference, INLINE_MAX_BYTES, INPUTS_PREFIX};
use release_core::steps::release_ref;

use crate::aws::Aws;
use crate::error::CliError;

/// A rendered release and how its execution is started.
pub struct Rendered {
    pub release_id: String,
    /// `convoy render`'s output: the release's JSON.
    pub json: String,
}

impl Rendered {
    pub fn of(release: &ReleaseInput) -> Rendered {
        Rendered {
            release_id: release.release.id.clone(),
            json: manifest::render(release),
        }
    }

    /// Whether the execution starts with a reference instead of the release itself.
    pub fn by_reference(&self) -> bool {
        goes_by_reference(&self.json)
    }

    /// Why a release above the threshold cannot start without a bucket, and how it can; `also` ends
    /// the message with what else the command offers.
    pub fn needs_bucket(&self, file: &str, also: &str) -> CliError {
        CliError::Usage(format!(
            "{file}: release `{}` renders to {} bytes, above the {} bytes (32 KiB) an execution is \
             started with inline, so it goes by reference: give --bucket NAME, the release-records \
             bucket (the stack output ReleaseRecordsBucketName), and convoy writes it to \
             s3://NAME/{INPUTS_PREFIX}{}/<sha256>.json and starts the execution with \
             {{\"releaseRef\": \"s3://…\", \"release\": {{\"id\": …}}}}; {also}",
            self.release_id,
            thousands(self.json.len()),
            thousands(INLINE_MAX_BYTES),
            self.release_id,
        ))
    }

    /// The execution input: the release itself when it is small enough; else written to
    /// `bucket` (unless it is there already: the key is its sha256) and named by reference.
    pub async fn execution_input(&self, aws: &Aws, bucket: &str) -> Result<String, CliError> {
        if !self.by_reference() {
            return Ok(self.json.clone());
        }
        let reference =
            release_ref::stage(aws.records.objects(), bucket, &self.release_id, &self.json).await?;
        eprintln!(
            "convoy: release {} renders to {} bytes (above {} inline): written to {}",
            self.release_id,
            thousands(self.json.len()),
            thousands(INLINE_MAX_BYTES),
            reference.release_ref
        );
        // A small struct of strings: serialization cannot fail.
        Ok(serde_json::to_string_pretty(&reference)
            .expect("a release reference always serializes to JSON"))
    }
}
