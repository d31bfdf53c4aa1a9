//! What IAM must allow for each AWS operation the adapters send: its action(s) and the kind of
//! resource each is authorized on.
//!
//! moto evaluates no IAM policy, so this table is what ties the code to `template.yaml`:
//! `tests/iam_contract.rs` reads the adapters' sources to find which operation each trait method
//! sends, follows each function's calls to those methods, and checks through this table that the
//! function's role grants every action it needs, on the resource it needs, and nothing else.

use Resource::*;

/// The resource an action is authorized on, as the template writes it for convoy's functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `arn:…:ecs:…:cluster/*`
    EcsCluster,
    /// `arn:…:ecs:…:service/*`
    EcsService,
    /// `arn:…:ecs:…:task/*`
    EcsTask,
    /// `arn:…:ecs:…:task-definition/*`
    EcsTaskDefinition,
    /// `arn:…:ecs:…:service-deployment/*`
    EcsServiceDeployment,
    /// `arn:…:codedeploy:…:deploymentgroup:*` (an application's groups: `APP/GROUP`)
    CodeDeployGroup,
    /// `arn:…:codedeploy:…:deploymentconfig:*`
    CodeDeployConfig,
    /// `arn:…:codedeploy:…:application:*`
    CodeDeployApplication,
    /// `arn:…:events:…:rule/*`
    EventsRule,
    /// `arn:…:events:…:event-bus/${ReleaseEventBusName}`: the bus release events go to
    ReleaseEventBus,
    /// `arn:…:application-autoscaling:…:scalable-target/*` (a target's ARN ends in a generated id)
    ScalableTarget,
    /// `arn:…:scheduler:…:schedule/*` (a group's schedules: `GROUP/NAME`)
    SchedulerSchedule,
    /// Objects of the records bucket, under the prefix of the module that reads or writes them
    /// (`releases/`, `locks/`, `ledger/`).
    RecordsObjects,
    /// The records bucket itself, listed under the prefix of the module that lists it.
    RecordsBucket,
    /// The records bucket itself, with no `s3:prefix` condition: S3 answers a GetObject of a
    /// missing key with NoSuchKey only to a caller that may list the bucket, and that check
    /// carries no prefix.
    RecordsBucketUnconditioned,
    /// Executions of the release state machine.
    ReleaseExecutions,
    /// The roles of the `PassableRoleArns` parameter, passed to this service principal only.
    PassedRole(&'static str),
    /// `*`, for this reason (the action has no resource type, or none convoy can name).
    Any(&'static str),
}

/// One action on one kind of resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub action: &'static str,
    pub resource: Resource,
}

/// An operation as an adapter sends it: the SDK crate and the client's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// `aws_sdk_ecs`, `aws_sdk_eventbridge`, `aws_sdk_scheduler`, `aws_sdk_s3`, `aws_sdk_sfn`.
    pub sdk: &'static str,
    /// The client method (`describe_services`).
    pub operation: &'static str,
    /// Everything IAM checks when it is sent.
    pub permissions: &'static [Permission],
}

const fn allow(action: &'static str, resource: Resource) -> Permission {
    Permission { action, resource }
}

const fn op(
    sdk: &'static str,
    operation: &'static str,
    permissions: &'static [Permission],
) -> Operation {
    Operation {
        sdk,
        operation,
        permissions,
    }
}

const NO_RESOURCE_TYPE: &str = "the action supports no resource-level permissions";
const CONTAINER_INSTANCE: &str = "authorized on a container instance, which a Fargate service has none of; the cluster is the ecs:cluster condition";
const CLUSTER_CONDITION: &str = "no resource type; the cluster is the ecs:cluster condition";

/// Every AWS operation an adapter in `aws/` sends, with what IAM checks.
pub const OPERATIONS: &[Operation] = &[
    op(
        "aws_sdk_ecs",
        "describe_clusters",
        &[allow("ecs:DescribeClusters", EcsCluster)],
    ),
    op(
        "aws_sdk_ecs",
        "describe_services",
        &[allow("ecs:DescribeServices", EcsService)],
    ),
    op(
        "aws_sdk_ecs",
        "describe_task_definition",
        &[allow("ecs:DescribeTaskDefinition", Any(NO_RESOURCE_TYPE))],
    ),
    op(
        "aws_sdk_ecs",
        "register_task_definition",
        &[
            allow("ecs:RegisterTaskDefinition", Any(NO_RESOURCE_TYPE)),
            // The revision is registered with its release tags.
            allow("ecs:TagResource", EcsTaskDefinition),
            // The task and execution roles the revision names.
            allow("iam:PassRole", PassedRole("ecs-tasks.amazonaws.com")),
        ],
    ),
    op(
        "aws_sdk_ecs",
        "list_task_definitions",
        &[allow("ecs:ListTaskDefinitions", Any(NO_RESOURCE_TYPE))],
    ),
    op(
        "aws_sdk_ecs",
        "deregister_task_definition",
        &[allow("ecs:DeregisterTaskDefinition", Any(NO_RESOURCE_TYPE))],
    ),
    op(
        "aws_sdk_ecs",
        "update_service",
        &[allow("ecs:UpdateService", EcsService)],
    ),
    op(
        "aws_sdk_ecs",
        "list_tasks",
        &[allow("ecs:ListTasks", Any(CONTAINER_INSTANCE))],
    ),
    op(
        "aws_sdk_ecs",
        "describe_tasks",
        &[allow("ecs:DescribeTasks", EcsTask)],
    ),
    op(
        "aws_sdk_ecs",
        "list_services",
        &[allow("ecs:ListServices", Any(CLUSTER_CONDITION))],
    ),
    op(
        "aws_sdk_ecs",
        "describe_service_deployments",
        &[allow(
            "ecs:DescribeServiceDeployments",
            EcsServiceDeployment,
        )],
    ),
    op(
        "aws_sdk_ecs",
        "stop_service_deployment",
        &[allow("ecs:StopServiceDeployment", EcsServiceDeployment)],
    ),
    op(
        "aws_sdk_ecs",
        "run_task",
        &[
            allow("ecs:RunTask", EcsTaskDefinition),
            // The task and execution roles of the job's revision.
            allow("iam:PassRole", PassedRole("ecs-tasks.amazonaws.com")),
        ],
    ),
    op(
        "aws_sdk_ecs",
        "stop_task",
        &[allow("ecs:StopTask", EcsTask)],
    ),
    op(
        "aws_sdk_codedeploy",
        "get_deployment_group",
        &[allow("codedeploy:GetDeploymentGroup", CodeDeployGroup)],
    ),
    op(
        "aws_sdk_codedeploy",
        "get_deployment_config",
        &[allow("codedeploy:GetDeploymentConfig", CodeDeployConfig)],
    ),
    op(
        "aws_sdk_codedeploy",
        "list_deployments",
        &[allow("codedeploy:ListDeployments", CodeDeployGroup)],
    ),
    op(
        "aws_sdk_codedeploy",
        "batch_get_deployments",
        &[allow("codedeploy:BatchGetDeployments", CodeDeployGroup)],
    ),
    op(
        "aws_sdk_codedeploy",
        "create_deployment",
        &[
            allow("codedeploy:CreateDeployment", CodeDeployGroup),
            // The group's (or the named) deployment configuration is read.
            allow("codedeploy:GetDeploymentConfig", CodeDeployConfig),
            // The AppSpec becomes a revision of the application.
            allow(
                "codedeploy:RegisterApplicationRevision",
                CodeDeployApplication,
            ),
        ],
    ),
    op(
        "aws_sdk_codedeploy",
        "stop_deployment",
        &[allow("codedeploy:StopDeployment", CodeDeployGroup)],
    ),
    op(
        "aws_sdk_codedeploy",
        "get_deployment_target",
        &[allow("codedeploy:GetDeploymentTarget", CodeDeployGroup)],
    ),
    op(
        "aws_sdk_eventbridge",
        "describe_rule",
        &[allow("events:DescribeRule", EventsRule)],
    ),
    op(
        "aws_sdk_eventbridge",
        "list_targets_by_rule",
        &[allow("events:ListTargetsByRule", EventsRule)],
    ),
    op(
        "aws_sdk_eventbridge",
        "put_targets",
        &[
            allow("events:PutTargets", EventsRule),
            // Each ECS target's RoleArn is passed again.
            allow("iam:PassRole", PassedRole("events.amazonaws.com")),
        ],
    ),
    op(
        "aws_sdk_eventbridge",
        "put_events",
        &[allow("events:PutEvents", ReleaseEventBus)],
    ),
    op(
        "aws_sdk_eventbridge",
        "list_rules",
        &[allow("events:ListRules", Any(NO_RESOURCE_TYPE))],
    ),
    op(
        "aws_sdk_applicationautoscaling",
        "describe_scalable_targets",
        &[allow(
            "application-autoscaling:DescribeScalableTargets",
            Any(NO_RESOURCE_TYPE),
        )],
    ),
    op(
        "aws_sdk_applicationautoscaling",
        "register_scalable_target",
        &[allow(
            "application-autoscaling:RegisterScalableTarget",
            ScalableTarget,
        )],
    ),
    op(
        "aws_sdk_scheduler",
        "get_schedule",
        &[allow("scheduler:GetSchedule", SchedulerSchedule)],
    ),
    op(
        "aws_sdk_scheduler",
        "update_schedule",
        &[
            allow("scheduler:UpdateSchedule", SchedulerSchedule),
            // The target's RoleArn is passed again.
            allow("iam:PassRole", PassedRole("scheduler.amazonaws.com")),
        ],
    ),
    op(
        "aws_sdk_s3",
        "get_object",
        &[
            allow("s3:GetObject", RecordsObjects),
            // Every read takes a missing key for "not written yet".
            allow("s3:ListBucket", RecordsBucketUnconditioned),
        ],
    ),
    op(
        "aws_sdk_s3",
        "put_object",
        &[allow("s3:PutObject", RecordsObjects)],
    ),
    op(
        "aws_sdk_s3",
        "delete_object",
        &[allow("s3:DeleteObject", RecordsObjects)],
    ),
    op(
        "aws_sdk_s3",
        "list_objects_v2",
        &[allow("s3:ListBucket", RecordsBucket)],
    ),
    op(
        "aws_sdk_sfn",
        "describe_execution",
        &[allow("states:DescribeExecution", ReleaseExecutions)],
    ),
];

/// The table's entry for an operation, if it has one.
pub fn operation(sdk: &str, operation: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|o| o.sdk == sdk && o.operation == operation)
}
