//! Pointing every ECS target of a scheduled-task rule at its new task definition (deploy-batch's
//! rule items); deploy-batch records the change or the failure.

use crate::aws::EventsApi;
use crate::contract::{RuleUpdate, UpdateRuleInput};
use crate::decide::rules::{check_failed_entries, plan_update};
use crate::Error;

/// Every ECS target of the rule to its new task definition.
pub async fn update_rule(
    events: &impl EventsApi,
    input: &UpdateRuleInput,
) -> Result<RuleUpdate, Error> {
    let item = &input.item;
    let current = events.list_targets(&item.event_bus, &item.rule).await?;
    let (targets, changes) = plan_update(input, &current)?;
    if !targets.is_empty() {
        let failed = events
            .put_targets(&item.event_bus, &item.rule, &targets)
            .await?;
        check_failed_entries(&item.id, &failed)?;
    }
    tracing::info!(
        rule = %item.id,
        changed = targets.len(),
        planned = changes.len(),
        "rule targets updated"
    );
    Ok(RuleUpdate {
        id: item.id.clone(),
        rule: item.rule.clone(),
        event_bus: item.event_bus.clone(),
        targets: changes,
    })
}
