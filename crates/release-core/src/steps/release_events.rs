//! Puts the release events (contract::release_event) on the configured bus. A notification never
//! fails a release: what could not be put comes back as a problem for the report.

use std::time::Duration;

use crate::aws::{EventsApi, OutgoingEvent};
use crate::contract::{ReleaseEventDetail, EVENT_SOURCE, RELEASE_FINISHED};
use crate::decide::release_event::{parse_rfc3339, rejected, Rejected, Timing};
use crate::error::with_causes;
use crate::steps::ledger::now_millis;
use crate::Error;

/// The bus the functions put release events on (the template's `ReleaseEventBusName`); unset or
/// blank: no events.
pub const EVENT_BUS_VAR: &str = "CONVOY_RELEASE_EVENT_BUS";

/// Entry-level refusals PutEvents answers with a 200 are not retried by the SDK: a throttled or
/// failed entry is put again this many times in all.
const ATTEMPTS: u32 = 3;

/// The bus from [`EVENT_BUS_VAR`]'s value.
pub fn event_bus(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|bus| !bus.is_empty())
        .map(str::to_owned)
}

/// Puts one release event on `bus` (nothing without one). `Err` is the problem to report.
pub async fn announce(
    events: &impl EventsApi,
    bus: Option<&str>,
    detail_type: &str,
    detail: &ReleaseEventDetail,
) -> Result<(), String> {
    let Some(bus) = bus else {
        return Ok(());
    };
    let not_put =
        |why: String| format!("release event `{detail_type}` not put on bus {bus}: {why}");
    let event = OutgoingEvent {
        event_bus: bus.to_owned(),
        source: EVENT_SOURCE.to_owned(),
        detail_type: detail_type.to_owned(),
        resources: vec![detail.execution_arn.clone()],
        detail: serde_json::to_string(detail).map_err(|e| not_put(e.to_string()))?,
    };
    let mut attempt = 1;
    loop {
        match events.put_event(&event).await {
            Ok(()) => {
                tracing::info!(bus, detail_type, "release event put");
                return Ok(());
            }
            Err(e @ (Error::Throttled { .. } | Error::AwsUnavailable { .. }))
                if attempt < ATTEMPTS =>
            {
                tracing::warn!(bus, detail_type, attempt, error = %with_causes(&e), "release event not put: again");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                attempt += 1;
            }
            Err(e) => {
                let problem = not_put(with_causes(&e));
                tracing::warn!(problem, "release event not put");
                return Err(problem);
            }
        }
    }
}

/// When the execution started (`$$.Execution.StartTime`, as the state machine passes it) and now.
pub fn timing(started_at: Option<&str>) -> Timing {
    Timing {
        started_at: started_at.and_then(parse_rfc3339),
        now: now_millis(),
    }
}

/// A release stopped before anything changed, as its Finished event names it.
pub struct Rejection<'a> {
    pub who: Rejected<'a>,
    pub execution_arn: &'a str,
    /// The error name (`PreflightFailed`, `Throttled`, `ABORTED`, ...).
    pub error: &'a str,
    pub problems: &'a [String],
    pub timing: Timing,
}

/// Puts the Finished event (`REJECTED`) of a release that never changed anything. A notification
/// never changes the release's outcome: what was not put is logged by [`announce`].
pub async fn announce_rejection(
    events: &impl EventsApi,
    bus: Option<&str>,
    rejection: Rejection<'_>,
) {
    let detail = rejected(
        rejection.who,
        rejection.execution_arn,
        rejection.error,
        rejection.problems,
        rejection.timing,
    );
    let _ = announce(events, bus, RELEASE_FINISHED, &detail).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::fake::FakeEvents;
    use crate::decide::release_event::rejected;

    fn detail() -> ReleaseEventDetail {
        let who = Rejected::Unread { release_id: "e-1" };
        let timing = Timing {
            started_at: None,
            now: 0,
        };
        rejected(
            who,
            "arn:aws:states:us-east-1:1:execution:m:e-1",
            "PreflightFailed",
            &[],
            timing,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_event_is_put_again_and_only_then_given_up() {
        let events = FakeEvents::default();
        events.throttle("PutEvents", ATTEMPTS - 1);
        announce(&events, Some("releases"), RELEASE_FINISHED, &detail())
            .await
            .expect("put on the last attempt");
        assert_eq!(
            (events.calls("PutEvents"), events.events_put().len()),
            (ATTEMPTS, 1)
        );

        let events = FakeEvents::default();
        events.throttle("PutEvents", ATTEMPTS);
        let problem = announce(&events, Some("releases"), RELEASE_FINISHED, &detail())
            .await
            .expect_err("given up");
        assert!(
            problem.contains("Throttled") || problem.contains("throttled"),
            "{problem}"
        );
        assert!(problem.contains("bus releases"), "{problem}");
        assert_eq!(events.calls("PutEvents"), ATTEMPTS);
    }

    #[tokio::test]
    async fn a_refused_event_is_not_put_again_and_no_bus_puts_nothing() {
        let events = FakeEvents::default();
        events.refuse("PutEvents");
        assert!(
            announce(&events, Some("releases"), RELEASE_FINISHED, &detail())
                .await
                .is_err()
        );
        assert_eq!(events.calls("PutEvents"), 1, "access denied is not retried");
        assert!(announce(&events, None, RELEASE_FINISHED, &detail())
            .await
            .is_ok());
        assert_eq!(events.calls("PutEvents"), 1);
    }
}
