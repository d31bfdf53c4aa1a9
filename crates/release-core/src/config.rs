//! AWS clients, built once per Lambda instance (in `main`), from the environment.
//!
//! `aws_config` honours `AWS_ENDPOINT_URL` (moto locally), the usual credential chain, and the SDK's
//! own retry settings: `AWS_RETRY_MODE` = `standard` or `adaptive` (a client-side rate limiter,
//! useful when many registrations share the account's 1/s bucket) and `AWS_MAX_ATTEMPTS`. Without
//! them convoy asks for [`DEFAULT_MAX_ATTEMPTS`]; the Step Functions `Retry` on `Throttled` sits on
//! top.

use std::sync::OnceLock;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::decide::batches::{rates_from, AccountRates, RATE_SCALE_VAR};
use crate::records::{RecordStore, BUCKET_VAR};
use crate::Error;

/// Attempts per AWS call when `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` are not set: the SDK's own
/// default is 3, too few for ECS's task-definition bucket (refilled at 1/s) under a release's burst.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The retry configuration convoy sets; `Ok(None)` leaves it to the SDK, which reads
/// `AWS_RETRY_MODE` (`standard` or `adaptive`) and `AWS_MAX_ATTEMPTS` itself whenever either is set.
/// Their values are checked here first because the SDK panics on a bad one: a clear error naming
/// the variable beats a crashed cold start.
pub fn default_retry(
    retry_mode: Option<&str>,
    max_attempts: Option<&str>,
) -> Result<Option<RetryConfig>, Error> {
    let retry_mode = given(retry_mode);
    let max_attempts = given(max_attempts);
    let mut problems = Vec::new();
    if let Some(mode) = retry_mode {
        if !matches!(mode, "standard" | "adaptive") {
            problems.push(format!(
                "AWS_RETRY_MODE must be `standard` or `adaptive`, got `{mode}`"
            ));
        }
    }
    if let Some(attempts) = max_attempts {
        if !attempts.parse::<u32>().is_ok_and(|n| n >= 1) {
            problems.push(format!(
                "AWS_MAX_ATTEMPTS must be a whole number ≥ 1, got `{attempts}`"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::internal(problems.join("; ")));
    }
    if retry_mode.is_some() || max_attempts.is_some() {
        return Ok(None);
    }
    Ok(Some(
        RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS),
    ))
}

/// A set environment value, trimmed; `None` when unset or blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The SDK's configuration loader with convoy's retry default: for the functions and the CLI.
pub fn loader() -> Result<aws_config::ConfigLoader, Error> {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    let retry = default_retry(
        std::env::var("AWS_RETRY_MODE").ok().as_deref(),
        std::env::var("AWS_MAX_ATTEMPTS").ok().as_deref(),
    )?;
    Ok(match retry {
        Some(retry) => loader.retry_config(retry),
        None => loader,
    })
}

/// The SDK clients every function shares, and the release records over S3.
#[derive(Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// The deployments of CODE_DEPLOY services.
    pub codedeploy: aws_sdk_codedeploy::Client,
    /// The EventBridge Scheduler schedules a release retargets.
    pub scheduler: aws_sdk_scheduler::Client,
    /// Application Auto Scaling: the scalable targets a release holds still.
    pub scaling: aws_sdk_applicationautoscaling::Client,
    pub records: RecordStore<aws_sdk_s3::Client>,
    /// Whether the holder of a release lock still runs.
    pub sfn: aws_sdk_sfn::Client,
    /// `CONVOY_RECORDS_BUCKET`: where plan-release starts an execution's records.
    pub records_bucket: Option<String>,
    /// `CONVOY_PASSABLE_ROLE_ARNS` (plan-release): the role patterns the functions may pass.
    pub passable_roles: Option<Vec<String>>,
    /// `CONVOY_ECS_RATE_SCALE` (plan-release): the account's rates the batches' shares divide.
    pub rates: AccountRates,
    /// Where release events go (`CONVOY_RELEASE_EVENT_BUS`); `None`: no events.
    pub release_event_bus: Option<String>,
}

/// The environment variable plan-release reads the template's `PassableRoleArns` from
/// (comma-separated); unset, as on the local stack, checks no role.
pub const PASSABLE_ROLES_VAR: &str = "CONVOY_PASSABLE_ROLE_ARNS";

impl Clients {
    /// Loads the shared AWS configuration once and builds every client from it.
    pub async fn from_env() -> Result<Self, Error> {
        let conf = loader()?.load().await;
        let mut clients = Self::from_conf(&conf);
        clients.records_bucket = std::env::var(BUCKET_VAR).ok().filter(|b| !b.is_empty());
        clients.passable_roles = crate::decide::preflight::Reach::passable_roles_from(
            std::env::var(PASSABLE_ROLES_VAR).ok().as_deref(),
        );
        clients.rates =
            rates_from(std::env::var(RATE_SCALE_VAR).ok().as_deref()).map_err(Error::internal)?;
        clients.release_event_bus = crate::steps::release_events::event_bus(
            std::env::var(crate::steps::release_events::EVENT_BUS_VAR)
                .ok()
                .as_deref(),
        );
        Ok(clients)
    }

    /// Clients from an existing configuration (tests: moto endpoint, static credentials).
    pub fn from_conf(conf: &SdkConfig) -> Self {
        Clients {
            ecs: aws_sdk_ecs::Client::new(conf),
            events: aws_sdk_eventbridge::Client::new(conf),
            codedeploy: aws_sdk_codedeploy::Client::new(conf),
            scheduler: aws_sdk_scheduler::Client::new(conf),
            scaling: aws_sdk_applicationautoscaling::Client::new(conf),
            records: RecordStore::new(s3_client(conf)),
            sfn: aws_sdk_sfn::Client::new(conf),
            records_bucket: None,
            passable_roles: None,
            rates: AccountRates::ECS,
            release_event_bus: None,
        }
    }
}

/// `ecs` without the SDK's own retries: for deploy-batch, whose pacer retries throttled calls after
/// its next token (an SDK retry would skip the pacer, and its throttled answers would go uncounted).
pub fn without_retries(ecs: &aws_sdk_ecs::Client) -> aws_sdk_ecs::Client {
    let conf = ecs
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_ecs::Client::from_conf(conf)
}

/// An S3 client; path-style addressing when an endpoint is overridden (moto serves every bucket on
/// one host, and `bucket.localhost` need not resolve).
pub fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(conf)
        .force_path_style(conf.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// A function's whole cold start: JSON logs, the clients built once, then the Lambda runtime calling
/// `handler` with them for every invocation.
pub async fn serve<F, Fut, R>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(&'static Clients, lambda_runtime::LambdaEvent<serde_json::Value>) -> Fut,
    Fut: std::future::Future<Output = Result<R, lambda_runtime::Diagnostic>>,
    R: serde::Serialize,
{
    // Built once per process and shared by every invocation, like the runtime loop that uses it.
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    crate::telemetry::init();
    let clients = Clients::from_env().await?;
    let clients: &'static Clients = CLIENTS.get_or_init(|| clients);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handler(clients, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_reads_its_own_retry_variables_and_convoy_only_fills_the_default() {
        let ours = default_retry(None, None)
            .unwrap()
            .expect("nothing set: convoy's default");
        assert_eq!(ours.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        assert_eq!(ours.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(default_retry(Some(" "), Some("")).unwrap(), Some(ours));
        assert_eq!(default_retry(Some("adaptive"), None).unwrap(), None);
        assert_eq!(default_retry(None, Some("8")).unwrap(), None);
    }

    #[test]
    fn values_the_sdk_would_panic_on_are_errors_naming_each_variable() {
        for (mode, attempts, named) in [
            (Some("legacy"), None, vec!["AWS_RETRY_MODE"]),
            (None, Some("0"), vec!["AWS_MAX_ATTEMPTS"]),
            (
                Some("fast"),
                Some("many"),
                vec!["AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"],
            ),
        ] {
            let err = default_retry(mode, attempts).unwrap_err().to_string();
            for variable in named {
                assert!(err.contains(variable), "{mode:?} {attempts:?}: {err}");
            }
        }
    }
}
