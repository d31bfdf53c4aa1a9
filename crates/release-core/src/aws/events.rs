//! `EventsApi` over `aws_sdk_eventbridge::Client`: pagination, PutTargets batching and error mapping.

use aws_sdk_eventbridge::config::http::HttpResponse;
use aws_sdk_eventbridge::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::list_targets_by_rule::ListTargetsByRuleError;
use aws_sdk_eventbridge::operation::put_targets::PutTargetsError;
use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::{sdk_error, EventsApi, OutgoingEvent, RuleInfo};
use crate::Error;

/// PutTargets accepts at most this many targets per request.
const PUT_TARGETS_BATCH: usize = 10;

/// A ListTargetsByRule / PutTargets error: a missing rule is `RuleNotFound`, the rest goes through
/// the shared [`sdk_error`]. `is_not_found` is the operation's own `is_resource_not_found_exception`.
fn rule_call_error<E>(
    call: &str,
    event_bus: &str,
    rule: &str,
    err: SdkError<E, HttpResponse>,
    is_not_found: fn(&E) -> bool,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if err.as_service_error().is_some_and(is_not_found) {
        Error::RuleNotFound(format!("{event_bus}/{rule}"))
    } else {
        sdk_error(&format!("{call} {event_bus}/{rule}"), err)
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
                    rule_call_error(
                        "ListTargetsByRule",
                        event_bus,
                        rule,
                        err,
                        ListTargetsByRuleError::is_resource_not_found_exception,
                    )
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
                    rule_call_error(
                        "PutTargets",
                        event_bus,
                        rule,
                        err,
                        PutTargetsError::is_resource_not_found_exception,
                    )
                })?;
            failed.extend(out.failed_entries.unwrap_or_default());
        }
        Ok(failed)
    }

    async fn put_event(&self, event: &OutgoingEvent) -> Result<(), Error> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&event.event_bus)
            .source(&event.source)
            .detail_type(&event.detail_type)
            .set_resources(Some(event.resources.clone()))
            .detail(&event.detail)
            .build();
        let context = format!("PutEvents {} {}", event.event_bus, event.detail_type);
        let out = self
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| sdk_error(&context, e))?;
        // A refused entry comes back in a 200 answer: FailedEntryCount and the entry's code.
        match out.entries().first() {
            Some(entry) if entry.error_code().is_some() || out.failed_entry_count() > 0 => {
                let code = entry.error_code().unwrap_or("unknown");
                let message = format!(
                    "{context}: the event was refused: {code}: {}",
                    entry.error_message().unwrap_or_default()
                );
                Err(match code {
                    "ThrottlingException" => Error::Throttled {
                        message,
                        source: None,
                    },
                    "AccessDeniedException" | "NotAuthorizedForSourceException" => {
                        Error::AccessDenied {
                            message,
                            source: None,
                        }
                    }
                    _ => Error::AwsUnavailable {
                        message,
                        source: None,
                    },
                })
            }
            Some(_) => Ok(()),
            None => Err(Error::AwsUnavailable {
                message: format!("{context}: the answer has no entry"),
                source: None,
            }),
        }
    }

    async fn list_rules(&self, event_bus: &str) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let out = self
                .list_rules()
                .event_bus_name(event_bus)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|err| sdk_error(&format!("ListRules {event_bus}"), err))?;
            names.extend(
                out.rules
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|r| r.name),
            );
            match out.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(names),
            }
        }
    }
}
