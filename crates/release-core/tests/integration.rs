//! The integration tests of release-core, one binary: each file below is a module, as it was a test
//! crate before. One binary links the AWS SDKs once instead of once per file (disk and link time on CI).
//! Filter by file: `cargo test -p release-core --test integration asl_contract::`.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

mod rollback_fixture;

mod asl_contract;
mod blue_green_faults;
mod blue_green_moto;
mod cleanup_decide;
mod cleanup_moto;
mod code_deploy_flow;
mod codedeploy_adapter;
mod deploy_batch_pacing;
mod ecs_adapter;
mod ecs_moto;
mod events_adapter;
mod iam_contract;
mod jobs_steps;
mod ledger_store;
mod locks_moto;
mod log_filter;
mod manifest_as_written;
mod manifest_corpus;
mod manifest_jobs;
mod manifest_merge;
mod manifest_props;
mod manifest_rules;
mod manifest_samples;
mod manifest_schedules;
mod module_rule;
mod passable_roles_template;
mod pipeline_contract;
mod plan_moto;
mod policy_arns;
mod records_store;
mod recover_moto;
mod register_moto;
mod release_ref_moto;
mod report_build;
mod resource_names;
mod rollback_moto;
mod rollback_restore;
mod rollback_select;
mod rules_moto;
mod rules_retarget;
mod scaling_moto;
mod scaling_steps;
mod scheduler_adapter;
mod schedules_steps;
mod stability_moto;
mod stability_polling;
mod stability_verdict;
mod steps_moto;
mod update_service_moto;
mod watchdog_template;
mod waves_steps;
