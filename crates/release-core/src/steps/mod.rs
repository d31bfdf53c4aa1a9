//! One module per Lambda function: the orchestration of decisions ([`crate::decide`]), AWS calls
//! ([`crate::aws`]) and the execution's records ([`crate::records`]). A handler parses its input
//! with [`parse_input`], calls its step here and maps the error.

pub mod check_stability;
pub mod code_deploy;
pub mod deploy_batch;
pub mod finish_release;
pub mod ledger;
pub mod lock;
pub mod plan_release;
pub mod recover;
pub mod register;
pub mod release_events;
pub mod release_ref;
pub mod rollback;
pub mod run_job;
pub mod scaling;
pub mod update_rule;
pub mod update_schedule;
pub mod update_service;

use crate::{Error, Problem};

/// Parses a step's raw JSON input into its type. A mismatch (the ASL and the Rust types drifted, or
/// a step ran out of order) becomes `StepInputInvalid` naming the JSON path of the bad field, never
/// the runtime's default error type.
pub fn parse_input<T: serde::de::DeserializeOwned>(input: serde_json::Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        Error::StepInputInvalid(vec![Problem {
            file: "step input".into(),
            item: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or_default()
                .into(),
            field: if path == "." { String::new() } else { path },
            message: e.into_inner().to_string(),
        }])
    })
}

/// A whole number of seconds from the value of the environment variable `var`: unset or blank
/// means `default`; anything else is an error naming the variable (a cold start that fails loudly).
pub fn seconds_from(
    var: &str,
    value: Option<&str>,
    default: std::time::Duration,
) -> Result<std::time::Duration, Error> {
    match value.map(str::trim).unwrap_or("") {
        "" => Ok(default),
        text => text
            .parse::<u64>()
            .map(std::time::Duration::from_secs)
            .map_err(|e| {
                Error::internal(format!(
                    "{var} must be a whole number of seconds, got `{text}`: {e}"
                ))
            }),
    }
}

/// Unix seconds now (the Lambda's clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
