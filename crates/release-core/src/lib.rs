//! release-core: everything convoy knows about a release, shared by the Lambda functions and the CLI.
//!
//! Modules by what they may touch (docs/architecture.md draws the same map):
//!
//! | module | holds | may use |
//! | --- | --- | --- |
//! | [`contract`] | step input/output types, one module per phase of the state machine; [`contract::TaskDefRef`] | serde only |
//! | [`decide`] | pure decisions: manifest, pre-flight judgement, task-definition rewrite and the one RegisterTaskDefinition request, verdicts, rollback selection, rule retargeting, the report | `contract`, `error`, SDK data types |
//! | [`aws`] | capability traits over ECS, EventBridge and S3, their SDK adapters, the one SDK error mapper; fakes behind the `test-util` feature | `contract`, `decide`, `error` |
//! | [`records`] | the execution's release records in S3 | `aws` traits, `contract`, `error` |
//! | [`steps`] | one module per Lambda: orchestration of the above | everything |
//! | [`config`], [`telemetry`] | the functions' runtime: clients, settings, logs | `records`, `error` |
//!
//! `decide` never imports `steps`, `records` or `aws`, and `contract` imports nothing of the crate:
//! `tests/module_rule.rs` checks both.

pub mod aws;
pub mod config;
pub mod contract;
pub mod decide;
pub mod error;
pub mod records;
pub mod steps;
pub mod telemetry;

pub use error::{Error, Problem};
