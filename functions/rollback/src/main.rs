//! rollback: restores the release's services and rule targets to their previous task definitions.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        handler::handle(
            &clients.ecs,
            &clients.events,
            &clients.codedeploy,
            &clients.scheduler,
            &clients.records,
            event,
        )
    })
    .await
}
