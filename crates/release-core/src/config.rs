//! AWS clients, built once per Lambda instance (in `main`), from the environment.
//!
//! `aws_config::load_defaults` honours `AWS_ENDPOINT_URL` (moto locally) and the usual credential
//! chain. Retries are the SDK's own: `CONVOY_RETRY_MODE` = `standard` (default) or `adaptive`
//! (client-side rate limiter, useful when many registrations share the account's 1/s bucket), and
//! `CONVOY_MAX_ATTEMPTS` (default 5) — the Step Functions `Retry` on `Throttled` sits on top.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::records::{RecordStore, BUCKET_VAR};
use crate::Error;

pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// SDK retry settings read from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    pub adaptive: bool,
    pub max_attempts: u32,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            adaptive: false,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }
}

impl RetrySettings {
    /// Reads `CONVOY_RETRY_MODE` and `CONVOY_MAX_ATTEMPTS`; both problems are reported together.
    pub fn from_env() -> Result<Self, Error> {
        Self::parse(
            std::env::var("CONVOY_RETRY_MODE").ok().as_deref(),
            std::env::var("CONVOY_MAX_ATTEMPTS").ok().as_deref(),
        )
    }

    /// The pure part of [`RetrySettings::from_env`]: unset or empty values take the default.
    pub fn parse(mode: Option<&str>, max_attempts: Option<&str>) -> Result<Self, Error> {
        let mut problems = Vec::new();
        let adaptive = match mode.map(str::trim).unwrap_or("") {
            "" | "standard" => false,
            "adaptive" => true,
            other => {
                problems.push(env_problem(
                    "CONVOY_RETRY_MODE",
                    format!("must be `standard` or `adaptive`, got `{other}`"),
                ));
                false
            }
        };
        let max_attempts = match max_attempts.map(str::trim).unwrap_or("") {
            "" => DEFAULT_MAX_ATTEMPTS,
            text => match text.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    problems.push(env_problem(
                        "CONVOY_MAX_ATTEMPTS",
                        format!("must be a whole number ≥ 1, got `{text}`"),
                    ));
                    DEFAULT_MAX_ATTEMPTS
                }
            },
        };
        if problems.is_empty() {
            Ok(RetrySettings {
                adaptive,
                max_attempts,
            })
        } else {
            Err(Error::internal(
                crate::error::Problems(&problems).to_string(),
            ))
        }
    }

    pub fn retry_config(self) -> RetryConfig {
        let base = if self.adaptive {
            RetryConfig::adaptive()
        } else {
            RetryConfig::standard()
        };
        base.with_max_attempts(self.max_attempts)
    }
}

fn env_problem(variable: &str, message: String) -> crate::Problem {
    crate::Problem {
        file: "environment".into(),
        item: String::new(),
        field: variable.into(),
        message,
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
        let retry = RetrySettings::from_env()?;
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry.retry_config())
            .load()
            .await;
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
    crate::telemetry::init();
    // Lives as long as the process, like the runtime loop that uses it.
    let clients: &'static Clients = Box::leak(Box::new(Clients::from_env().await?));
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        handler(clients, event)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_settings_from_environment_values() {
        let cases: [(Option<&str>, Option<&str>, Option<RetrySettings>); 7] = [
            (None, None, Some(RetrySettings::default())),
            (
                Some("adaptive"),
                Some("8"),
                Some(RetrySettings {
                    adaptive: true,
                    max_attempts: 8,
                }),
            ),
            (
                Some("standard"),
                Some(""),
                Some(RetrySettings {
                    adaptive: false,
                    max_attempts: 5,
                }),
            ),
            (
                Some(""),
                Some(" 1 "),
                Some(RetrySettings {
                    adaptive: false,
                    max_attempts: 1,
                }),
            ),
            (Some("legacy"), None, None),
            (None, Some("0"), None),
            (None, Some("many"), None),
        ];
        for (mode, attempts, expected) in cases {
            let got = RetrySettings::parse(mode, attempts).ok();
            assert_eq!(got, expected, "mode={mode:?} attempts={attempts:?}");
        }
    }

    #[test]
    fn every_bad_variable_is_reported_at_once() {
        let err = RetrySettings::parse(Some("fast"), Some("-1")).unwrap_err();
        assert_eq!(err.name(), "Internal");
        let text = err.to_string();
        assert!(text.contains("2 problems"), "{text}");
        assert!(text.contains("`CONVOY_RETRY_MODE`"), "{text}");
        assert!(text.contains("`CONVOY_MAX_ATTEMPTS`"), "{text}");
    }

    #[test]
    fn retry_config_carries_mode_and_attempts() {
        let rc = RetrySettings {
            adaptive: true,
            max_attempts: 7,
        }
        .retry_config();
        assert_eq!(rc.max_attempts(), 7);
        assert_eq!(rc.mode(), aws_config::retry::RetryMode::Adaptive);
    }
}
