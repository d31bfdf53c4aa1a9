//! finish-release: the release report, and the clean-up of old revisions after a success.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        handler::handle(
            &clients.ecs,
            &clients.events,
            &clients.scaling,
            &clients.records,
            clients.records.objects(),
            clients.release_event_bus.as_deref(),
            event,
        )
    })
    .await
}
