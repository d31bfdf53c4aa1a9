//! register-task-definition: registers the next revision of a service's or rule target's task
//! definition with the release's images.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        handler::handle(&clients.ecs, &clients.records, event)
    })
    .await
}
