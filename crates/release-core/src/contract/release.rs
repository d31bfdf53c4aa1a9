//! The release input: what `convoy render` prints and what the state machine is started with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CodeDeploySettings, DeploymentStrategy, JobTarget, ScheduleTarget};

/// Container name → image reference.
pub type ImageMap = BTreeMap<String, String>;

// ---------------------------------------------------------------------------------------------
// Release input: what `convoy render` prints and what the state machine is started with.
// ---------------------------------------------------------------------------------------------

/// The validated, normalized release. Produced by `manifest::render`, consumed by `plan-release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseInput {
    pub release: ReleaseMeta,
    pub settings: Settings,
    #[serde(default)]
    pub services: Vec<ServiceTarget>,
    #[serde(default)]
    pub tasks: Vec<RuleTarget>,
    /// EventBridge Scheduler schedules whose ECS target runs the release's images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleTarget>,
    /// One-off tasks (migrations) run during the release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobTarget>,
    /// The items' names, wave by wave, as `dependsOn` orders them (`decide::waves`): what `convoy
    /// render` shows. Informational: plan-release compiles the waves again, and refuses an input
    /// whose waves differ from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseMeta {
    /// Also the Step Functions execution name: `[A-Za-z0-9_-]{1,80}`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The manifest file the release came from, for messages.
    pub source: String,
    /// The source commit the manifest was rendered from, when the render step knew it (the
    /// pipeline's source revision): carried into the release events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RollbackPolicy {
    /// Any failure restores every changed service and rule target.
    #[default]
    All,
    /// Only the items that failed are restored; the rest stay on the new revision.
    Failed,
    /// Nothing is restored; the report still says what failed.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub rollback: RollbackPolicy,
    /// Map state concurrency for register + update.
    pub max_concurrency: u32,
    /// Seconds between DescribeServices polls inside check-stability.
    pub poll_interval_seconds: u32,
    /// After success, keep this many ACTIVE revisions per family (0 = no cleanup).
    pub keep_revisions: u32,
    /// Images without a tag or digest, or tagged `latest`, are accepted (re-checked by plan-release).
    #[serde(default)]
    pub allow_latest: bool,
    /// Suspend Application Auto Scaling of the changed services while the release runs, and put
    /// each target's recorded state back at its end (docs/operations.md); a service's own
    /// `suspendAutoScaling` overrides it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend_auto_scaling: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rollback: RollbackPolicy::All,
            max_concurrency: 10,
            poll_interval_seconds: 5,
            keep_revisions: 0,
            allow_latest: false,
            suspend_auto_scaling: false,
        }
    }
}

/// Which containers get which image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Images {
    /// Explicit `containers: {name: image}`.
    Containers(ImageMap),
    /// The GitOps sample format: the container named `preferred` (the item's `service` field),
    /// else the task definition's only container. Resolved against AWS in plan-release.
    Default { preferred: String, image: String },
}

/// One ECS service of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceTarget {
    /// What `dependsOn` calls it; `None`: `cluster/service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Items of the release that must be Deployed before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    pub cluster: String,
    pub service: String,
    pub images: Images,
    /// Overrides `settings.suspendAutoScaling` for this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_auto_scaling: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    /// The strategy to set; `None` leaves the service's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_strategy: Option<DeploymentStrategy>,
    /// The CodeDeploy group of a CODE_DEPLOY service; `None`: the default names, when the service
    /// is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_deploy: Option<CodeDeploySettings>,
    /// Deadline for this service's rollout, from UpdateService; a blue/green strategy's traffic
    /// shifting and bake time come on top.
    pub timeout_seconds: u32,
}

/// One EventBridge rule whose ECS targets run scheduled tasks; every ECS target is updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleTarget {
    /// What `dependsOn` calls it; `None`: the rule's name (`bus/rule` off the default bus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Items of the release that must be Deployed before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    pub rule: String,
    pub event_bus: String,
    pub images: Images,
}

// ---------------------------------------------------------------------------------------------
// The execution input: the release itself, or a reference to it (decisions/0006).
// ---------------------------------------------------------------------------------------------

/// The field of an execution input that names a release written to the records bucket.
pub const RELEASE_REF_FIELD: &str = "releaseRef";

/// A release started by reference: `{"releaseRef": "s3://…/inputs/<id>/<sha256>.json",
/// "release": {"id": …}}`. The id stays in the execution input, so whatever reads only the input
/// (the watchdog, the ledger, `convoy status`) finds the release without reading S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRef {
    pub release_ref: String,
    pub release: ReleaseRefMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRefMeta {
    pub id: String,
}

/// What PlanRelease is handed as `release`: the execution input, in either form. An input with a
/// `releaseRef` field is a reference (and must be only that); anything else is the release itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReleaseSource {
    Inline(Box<ReleaseInput>),
    Reference(ReleaseRef),
}

impl<'de> Deserialize<'de> for ReleaseSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let by_reference = value.get(RELEASE_REF_FIELD).is_some();
        // The inner path is kept in the message: the caller's path ends at this field.
        let located = |e: serde_path_to_error::Error<serde_json::Error>| -> D::Error {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                serde::de::Error::custom(inner)
            } else {
                serde::de::Error::custom(format!("{path}: {inner}"))
            }
        };
        if by_reference {
            serde_path_to_error::deserialize(value)
                .map(ReleaseSource::Reference)
                .map_err(located)
        } else {
            serde_path_to_error::deserialize(value)
                .map(|r| ReleaseSource::Inline(Box::new(r)))
                .map_err(located)
        }
    }
}
