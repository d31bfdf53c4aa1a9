//! `EventsApi` over `aws_sdk_eventbridge::Client`: pagination, PutTargets batching and error mapping.

use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};

use super::{EventsApi, RuleInfo};
use crate::Error;

/// PutTargets accepts at most this many targets per request.
const PUT_TARGETS_BATCH: usize = 10;

/// Error codes AWS services use for throttling (the same list the SDK's retry classifier uses).
const THROTTLING_CODES: [&str; 9] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "SlowDown",
];

const ACCESS_DENIED_CODES: [&str; 5] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "NotAuthorized",
];

/// Codes that say "try again later" without being throttling.
const UNAVAILABLE_CODES: [&str; 5] = [
    "InternalException",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ConcurrentModificationException",
];

/// Maps an SDK error to convoy's error, keeping the SDK error as the source. `context` names the
/// call and the resource (`PutTargets default/nightly`), so the message alone can be acted on.
///
/// Generic over the operation error, so any aws-sdk client can use it.
pub fn sdk_error<E>(
    context: &str,
    err: SdkError<E, aws_sdk_eventbridge::config::http::HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{context}: {}", DisplayErrorContext(&err));
    let (code, status) = match &err {
        SdkError::ServiceError(ctx) => (
            ctx.err().code().map(str::to_owned),
            Some(ctx.raw().status().as_u16()),
        ),
        SdkError::ResponseError(ctx) => (None, Some(ctx.raw().status().as_u16())),
        _ => (None, None),
    };
    // No answer at all (timeout, connection refused, DNS): the service could not be reached. A
    // request that could not even be built is a bug on our side, not an outage.
    let unreachable = matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
    );
    let source = Some(Box::new(err) as Box<dyn std::error::Error + Send + Sync>);
    match (code.as_deref(), status) {
        (Some(code), _) if THROTTLING_CODES.contains(&code) => Error::Throttled { message, source },
        (_, Some(429)) => Error::Throttled { message, source },
        (Some(code), _) if ACCESS_DENIED_CODES.contains(&code) => {
            Error::AccessDenied { message, source }
        }
        (_, Some(403)) => Error::AccessDenied { message, source },
        (Some(code), _) if UNAVAILABLE_CODES.contains(&code) => {
            Error::AwsUnavailable { message, source }
        }
        (_, Some(s)) if s >= 500 => Error::AwsUnavailable { message, source },
        _ if unreachable => Error::AwsUnavailable { message, source },
        _ => Error::Internal { message, source },
    }
}

impl EventsApi for aws_sdk_eventbridge::Client {
    async fn describe_rule(&self, event_bus: &str, rule: &str) -> Result<Option<RuleInfo>, Error> {
        match self
            .describe_rule()
            .event_bus_name(event_bus)
            .name(rule)
            .send()
            .await
        {
            Ok(out) => Ok(Some(RuleInfo {
                name: out.name.unwrap_or_else(|| rule.to_owned()),
                event_bus: out.event_bus_name.unwrap_or_else(|| event_bus.to_owned()),
                arn: out.arn.unwrap_or_default(),
                state: out.state.map(|s| s.as_str().to_owned()),
            })),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(&format!("DescribeRule {event_bus}/{rule}"), err)),
        }
    }

    async fn list_targets(&self, event_bus: &str, rule: &str) -> Result<Vec<Target>, Error> {
        let mut targets = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .list_targets_by_rule()
                .event_bus_name(event_bus)
                .rule(rule)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|err| {
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception())
                    {
                        Error::RuleNotFound(format!("{event_bus}/{rule}"))
                    } else {
                        sdk_error(&format!("ListTargetsByRule {event_bus}/{rule}"), err)
                    }
                })?;
            targets.extend(out.targets.unwrap_or_default());
            match out.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(targets),
            }
        }
    }

    async fn put_targets(
        &self,
        event_bus: &str,
        rule: &str,
        targets: &[Target],
    ) -> Result<Vec<PutTargetsResultEntry>, Error> {
        let mut failed = Vec::new();
        for batch in targets.chunks(PUT_TARGETS_BATCH) {
            let out = self
                .put_targets()
                .event_bus_name(event_bus)
                .rule(rule)
                .set_targets(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|err| {
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception())
                    {
                        Error::RuleNotFound(format!("{event_bus}/{rule}"))
                    } else {
                        sdk_error(&format!("PutTargets {event_bus}/{rule}"), err)
                    }
                })?;
            failed.extend(out.failed_entries.unwrap_or_default());
        }
        Ok(failed)
    }
}
