use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EventsApi, ObjectStore};
use release_core::contract::{RuleUpdate, UpdateRuleInput};
use release_core::records::RecordStore;
use release_core::steps::update_rule;
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<V: EventsApi, S: ObjectStore>(
    events: &V,
    store: &RecordStore<S>,
    event: LambdaEvent<Value>,
) -> Result<RuleUpdate, Diagnostic> {
    let input: UpdateRuleInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!(
        "update_scheduled_rule",
        release_id = %input.release_id,
        rule = %input.item.id,
    );
    let work = update_rule::update_planned_rule(events, store, &input);
    telemetry::traced("update-scheduled-rule", span, work).await
}
