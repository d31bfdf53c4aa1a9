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

use crate::records::{RecordStore, BUCKET_VAR};
use crate::Error;

/// Attempts per AWS call when `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` are not set: the SDK's own
/// default is 3, too few for ECS's task-definition bucket (refilled at 1/s) under a release's burst.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The retry configuration convoy sets; `None` leaves it to the SDK, which reads `AWS_RETRY_MODE`
/// (`standard` or `adaptive`) and `AWS_MAX_ATTEMPTS` itself whenever either is set.
pub fn default_retry(retry_mode: Option<&str>, max_attempts: Option<&str>) -> Option<RetryConfig> {
    let set = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
    if set(retry_mode) || set(max_attempts) {
        None
    } else {
        Some(RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS))
    }
}

/// The SDK clients every function shares, and the release records over S3.
#[derive(Debug)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub records: RecordStore<aws_sdk_s3::Client>,
    /// `CONVOY_RECORDS_BUCKET`: where plan-release starts an execution's records.
    pub records_bucket: Option<String>,
}

impl Clients {
    /// Loads the shared AWS configuration once and builds every client from it.
    pub async fn from_env() -> Result<Self, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(retry) = default_retry(
            std::env::var("AWS_RETRY_MODE").ok().as_deref(),
            std::env::var("AWS_MAX_ATTEMPTS").ok().as_deref(),
        ) {
            loader = loader.retry_config(retry);
        }
        let conf = loader.load().await;
        let mut clients = Self::from_conf(&conf);
        clients.records_bucket = std::env::var(BUCKET_VAR).ok().filter(|b| !b.is_empty());
        Ok(clients)
    }

    /// Clients from an existing configuration (tests: moto endpoint, static credentials).
    pub fn from_conf(conf: &SdkConfig) -> Self {
        Clients {
            ecs: aws_sdk_ecs::Client::new(conf),
            events: aws_sdk_eventbridge::Client::new(conf),
            records: RecordStore::new(s3_client(conf)),
            records_bucket: None,
        }
    }
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
        let ours = default_retry(None, None).expect("nothing set: convoy's default");
        assert_eq!(ours.max_attempts(), DEFAULT_MAX_ATTEMPTS);
        assert_eq!(ours.mode(), aws_config::retry::RetryMode::Standard);
        assert_eq!(default_retry(Some(" "), Some("")), Some(ours));
        assert_eq!(default_retry(Some("adaptive"), None), None);
        assert_eq!(default_retry(None, Some("8")), None);
    }
}
