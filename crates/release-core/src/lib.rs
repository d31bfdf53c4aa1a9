//! release-core: everything convoy knows about a release, shared by the Lambda functions and the CLI.
//!
//! Pure decisions (manifest validation, task-definition rewrite, stability verdict, rollback plan,
//! report) live beside small capability traits over ECS and EventBridge; the `aws` module holds the
//! SDK adapters. Handlers in `functions/*` only parse input, call in here and map the error.

pub mod aws;
pub mod config;
pub mod error;
pub mod manifest;
pub mod plan;
pub mod records;
pub mod report;
pub mod rollback;
pub mod rules;
pub mod stability;
pub mod step;
pub mod taskdef;
pub mod telemetry;

pub use error::{Error, Problem};
