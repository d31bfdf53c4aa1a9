//! plan-release: validates the release and pre-flights it against ECS and EventBridge.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        let context = release_core::steps::plan_release::PlanContext {
            store: &clients.records,
            locks: clients.records.objects(),
            executions: &clients.sfn,
            bucket: clients.records_bucket.as_deref(),
            passable_roles: clients.passable_roles.as_deref(),
            rates: clients.rates,
            event_bus: clients.release_event_bus.as_deref(),
            scaling: &clients.scaling,
        };
        handler::handle(
            &clients.ecs,
            &clients.events,
            &clients.codedeploy,
            &clients.scheduler,
            context,
            event,
        )
    })
    .await
}
