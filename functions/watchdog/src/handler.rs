use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::locks::{ExecutionInputs, Executions, LockStore};
use release_core::aws::{CodeDeployApi, EcsApi, EventsApi, ObjectStore, ScalingApi, SchedulerApi};
use release_core::contract::{ExecutionStatusChange, Recovery};
use release_core::records::{RecordStore, BUCKET_VAR};
use release_core::steps::recover;
use release_core::{telemetry, Error, Problem};
use serde_json::Value;

/// What the EventBridge rule delivers.
pub type StatusChangeEvent = EventBridgeEvent<ExecutionStatusChange>;

const SOURCE: &str = "aws.states";
const DETAIL_TYPE: &str = "Step Functions Execution Status Change";

/// The records, the locks and the executions the watchdog works with.
pub struct Context<'a, S, L, X> {
    pub store: &'a RecordStore<S>,
    pub locks: &'a L,
    pub executions: &'a X,
    /// `CONVOY_RECORDS_BUCKET`.
    pub bucket: Option<&'a str>,
    /// `CONVOY_RELEASE_EVENT_BUS`.
    pub event_bus: Option<&'a str>,
}

/// The event as the rule delivers it; anything else is `StepInputInvalid`.
pub fn parse(payload: Value) -> Result<StatusChangeEvent, Error> {
    let event: StatusChangeEvent = release_core::steps::parse_input(payload)?;
    if event.source != SOURCE || event.detail_type != DETAIL_TYPE {
        return Err(Error::StepInputInvalid(vec![Problem {
            file: "step input".into(),
            item: "EventBridgeEvent".into(),
            field: "detail-type".into(),
            message: format!(
                "expected `{SOURCE}` / `{DETAIL_TYPE}`, got `{}` / `{}`",
                event.source, event.detail_type
            ),
        }]));
    }
    Ok(event)
}

#[allow(clippy::too_many_arguments)] // its five AWS clients, the records and locks, the event
pub async fn handle<E, V, C, R, A, S, L, X>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &R,
    scaling: &A,
    context: Context<'_, S, L, X>,
    event: LambdaEvent<Value>,
) -> Result<Recovery, Diagnostic>
where
    E: EcsApi,
    V: EventsApi,
    C: CodeDeployApi,
    R: SchedulerApi,
    A: ScalingApi,
    S: ObjectStore,
    L: LockStore,
    X: Executions + ExecutionInputs,
{
    let event = parse(event.payload)?;
    let change = event.detail;
    let span = tracing::info_span!(
        "watchdog",
        execution = %change.execution_arn,
        status = change.status.as_str()
    );
    let work = async {
        let bucket = context
            .bucket
            .ok_or_else(|| Error::internal(format!("{BUCKET_VAR} is not set")))?;
        recover::watch(
            ecs,
            events,
            codedeploy,
            scheduler,
            scaling,
            context.store,
            context.locks,
            context.executions,
            bucket,
            &change,
            context.event_bus,
        )
        .await
    };
    telemetry::traced("watchdog", span, work).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use release_core::contract::ExecutionStatus;
    use serde_json::json;

    use super::*;

    fn sample(name: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_sample_events_parse_as_the_rule_delivers_them() {
        for (name, status, error) in [
            (
                "watchdog-aborted.json",
                ExecutionStatus::Aborted,
                Some("OperatorStop"),
            ),
            ("watchdog-timed-out.json", ExecutionStatus::TimedOut, None),
        ] {
            let event = parse(sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            let change = &event.detail;
            assert_eq!(change.status, status, "{name}");
            assert_eq!(change.name, "release-2026-11-23-1");
            assert!(change.execution_arn.ends_with(":release-2026-11-23-1"));
            assert_eq!(change.error.as_deref(), error, "{name}");
            assert_eq!(
                event.resources.as_deref(),
                Some([change.execution_arn.clone()].as_slice())
            );
            // The release id comes from the execution input the event carries.
            let input: Value = serde_json::from_str(change.input.as_deref().unwrap()).unwrap();
            assert_eq!(input["release"]["id"], "release-2026-11-23-1");
        }
    }

    #[test]
    fn another_event_or_a_drifted_detail_is_a_step_input_error() {
        let mut other = sample("watchdog-aborted.json");
        other["detail-type"] = json!("Step Functions State Machine Status Change");
        let err = parse(other).unwrap_err();
        assert_eq!(err.name(), "StepInputInvalid");
        assert!(err.to_string().contains("detail-type"), "{err}");

        let mut drifted = sample("watchdog-aborted.json");
        drifted["detail"]
            .as_object_mut()
            .unwrap()
            .remove("executionArn");
        let err = parse(drifted).unwrap_err();
        assert_eq!(err.name(), "StepInputInvalid");
        assert!(err.to_string().contains("detail"), "{err}");

        // A status this version does not know parses, and is never acted on.
        let mut newer = sample("watchdog-aborted.json");
        newer["detail"]["status"] = json!("PAUSED");
        assert_eq!(
            parse(newer).unwrap().detail.status,
            ExecutionStatus::Unknown
        );
    }
}
