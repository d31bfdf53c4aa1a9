//! watchdog: finishes a release whose execution ended outside the state machine (ABORTED,
//! TIMED_OUT, or FAILED without finish-release): report, rollback per policy, locks given back.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        let context = handler::Context {
            store: &clients.records,
            locks: clients.records.objects(),
            executions: &clients.sfn,
            bucket: clients.records_bucket.as_deref(),
            event_bus: clients.release_event_bus.as_deref(),
        };
        handler::handle(
            &clients.ecs,
            &clients.events,
            &clients.codedeploy,
            &clients.scheduler,
            &clients.scaling,
            context,
            event,
        )
    })
    .await
}
