//! The AWS side of the commands that talk to AWS: clients built once from the environment and the
//! flags, and which state machine a release goes to.

use aws_config::Region;
use release_core::config::Clients;
use release_core::records::RecordStore;
use release_core::Error;

use crate::error::CliError;

/// Where AWS calls go. Without flags, the SDK's usual chain decides (`AWS_ENDPOINT_URL`,
/// `AWS_REGION`, profiles); the flags win over it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// Send every AWS call here (a local stack, e.g. http://127.0.0.1:5000); `AWS_ENDPOINT_URL` works too.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: `AWS_REGION` or the profile's).
    #[arg(long)]
    pub region: Option<String>,
}

/// The state machine releases are started on: one of the two flags.
#[derive(Debug, Clone, Default, clap::Args)]
#[group(multiple = false)]
pub struct MachineArgs {
    /// ARN of the release state machine (the stack output `ReleaseStateMachineArn`).
    #[arg(long, value_name = "ARN")]
    pub state_machine: Option<String>,
    /// The SAM stack convoy was deployed as: its state machine is named `<stack>-release`.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// Every client the CLI uses, sharing one configuration (credentials, region, endpoint, retries).
#[derive(Debug)]
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub scaling: aws_sdk_applicationautoscaling::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The release records executions keep in S3 (path-style with an endpoint override, as locally).
    pub records: RecordStore<aws_sdk_s3::Client>,
}

impl Aws {
    pub async fn connect(args: &AwsArgs) -> Result<Self, CliError> {
        // Bad retry variables are a usage error, not AWS's.
        let mut loader =
            release_core::config::loader().map_err(|e| CliError::Usage(e.to_string()))?;
        if let Some(url) = &args.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &args.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let conf = loader.load().await;
        let Clients {
            ecs,
            events,
            codedeploy,
            scheduler,
            scaling,
            records,
            sfn,
            ..
        } = Clients::from_conf(&conf);
        Ok(Aws {
            ecs,
            events,
            codedeploy,
            scheduler,
            scaling,
            sfn,
            records,
        })
    }
}

/// The name SAM gives the release state machine of stack `stack` (template.yaml: `${AWS::StackName}-release`).
pub fn machine_name_of_stack(stack: &str) -> String {
    format!("{stack}-release")
}

/// The state machine ARN the flags name. `--stack` is resolved by listing state machines and
/// taking the one named `<stack>-release` (no CloudFormation call, so no extra SDK and permission).
pub async fn state_machine_arn(aws: &Aws, args: &MachineArgs) -> Result<String, CliError> {
    match (&args.state_machine, &args.stack) {
        (Some(arn), _) => Ok(arn.clone()),
        (None, Some(stack)) => {
            let wanted = machine_name_of_stack(stack);
            let mut machines = aws
                .sfn
                .list_state_machines()
                .into_paginator()
                .items()
                .send();
            let mut similar = Vec::new();
            while let Some(machine) = machines.next().await {
                let machine = machine.map_err(|e| sfn_error("ListStateMachines", e))?;
                if machine.name() == wanted {
                    return Ok(machine.state_machine_arn().to_owned());
                }
                if machine.name().starts_with(stack.as_str()) {
                    similar.push(machine.name().to_owned());
                }
            }
            let hint = if similar.is_empty() {
                String::new()
            } else {
                format!(" (found: {})", similar.join(", "))
            };
            Err(CliError::Usage(format!(
                "stack `{stack}`: no state machine named `{wanted}`{hint}"
            )))
        }
        (None, None) => Err(CliError::Usage(
            "which state machine? give --state-machine ARN or --stack NAME".into(),
        )),
    }
}

/// The ARN of execution `name` of state machine `machine`: Step Functions derives it this way, so
/// a release id is enough to find its execution.
pub fn execution_arn(machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// A Step Functions error as convoy's error (throttling, access denied, ... keep their names).
pub fn sfn_error<E>(
    context: &str,
    err: aws_sdk_sfn::error::SdkError<E, aws_sdk_sfn::config::http::HttpResponse>,
) -> Error
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    release_core::aws::sdk_error(context, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arns_from_machine_and_name() {
        let cases = [
            (
                "arn:aws:states:us-east-1:123456789012:stateMachine:convoy-release",
                "r-1",
                "arn:aws:states:us-east-1:123456789012:execution:convoy-release:r-1",
            ),
            (
                "arn:aws-cn:states:cn-north-1:1:stateMachine:stateMachine",
                "x",
                "arn:aws-cn:states:cn-north-1:1:execution:stateMachine:x",
            ),
        ];
        for (machine, name, want) in cases {
            assert_eq!(execution_arn(machine, name), want);
        }
    }

    #[test]
    fn stack_names_its_machine_as_the_template_does() {
        let template =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
                .expect("template.yaml is readable");
        let machine = template
            .split("\n  ReleaseStateMachine:\n")
            .nth(1)
            .expect("template.yaml has ReleaseStateMachine");
        let name = machine
            .lines()
            .find_map(|l| l.trim().strip_prefix("Name: !Sub "))
            .expect("ReleaseStateMachine has a Name")
            .trim_matches('"');
        assert_eq!(
            machine_name_of_stack("convoy"),
            name.replace("${AWS::StackName}", "convoy")
        );
    }
}
