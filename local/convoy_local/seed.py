"""Seed moto with the demo world that examples/deployment.yaml releases.

    python local/seed_demo.py [--endpoint http://127.0.0.1:5000] [--no-reset] [--only-records-bucket]
    (or, with PYTHONPATH=local: python -m convoy_local.seed ...)

Clusters convoy-demo-a (web, api, worker) and convoy-demo-b (billing, search, checkout, payments): Fargate,
awsvpc, 2 tasks each, every rollout COMPLETED; `web` runs two containers, `web` and `log-router`; `checkout` deploys
blue/green (deploymentConfiguration.strategy BLUE_GREEN, bake time 1 min); `payments` has the CODE_DEPLOY
deployment controller (a load balancer target group, container `payments` port 8080) and is deployed by AWS
CodeDeploy (convoy_local/codedeploy_sim.py): application AppECS-convoy-demo-b-payments, deployment group
DgpECS-convoy-demo-b-payments (CodeDeployDefault.ECSAllAtOnce, BLUE_GREEN with traffic control, blue task set
terminated at once, auto-rollback on DEPLOYMENT_FAILURE), the names convoy assumes by default; the others roll.
Every image is public.ecr.aws/convoy-demo/<container>:1.0.0. The task definitions carry tags, roles, runtimePlatform,
ephemeralStorage, ports, environment and logging, so a release can be checked to keep them.
Rule convoy-demo-nightly (cron, default bus) has two ECS targets running family convoy-demo-report
(container `report`) with full EcsParameters.

The release records bucket (CONVOY_RECORDS_BUCKET, default convoy-records) is created too: the functions write
every execution's records there, and a moto reset deletes it. `--only-records-bucket` creates just that bucket
(local/stack.sh start does, before anything is seeded).

By default the moto state and armed faults are reset first (the demo owns the local stack).
"""

import argparse
import json
import os
from typing import Optional

from convoy_local.control import ACCOUNT, DEFAULT_ENDPOINT, REGION, Moto

VERSION = "1.0.0"
IMAGE_REPO = "public.ecr.aws/convoy-demo"
CLUSTERS = {"convoy-demo-a": ["web", "api", "worker"],
            "convoy-demo-b": ["billing", "search", "checkout", "payments"]}
# ECS-native blue/green: the release judges it by its service deployment and stops it with ROLLBACK in flight.
BLUE_GREEN_SERVICE = "checkout"
STRATEGIES = {BLUE_GREEN_SERVICE: {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1}}
# Deployment controller CODE_DEPLOY: the release deploys it through a CodeDeploy deployment of its default
# application and group (codedeploy_names), never by UpdateService's task definition.
CODE_DEPLOY_SERVICE = "payments"
CODE_DEPLOY_CLUSTER = "convoy-demo-b"
CODE_DEPLOY_CONFIG = "CodeDeployDefault.ECSAllAtOnce"
CODE_DEPLOY_PORT = 8080
TARGET_GROUPS = ("convoy-demo-payments-blue", "convoy-demo-payments-green")
CONTAINERS = {"web": ["web", "log-router"]}  # other services: one container named like the service
RULE = "convoy-demo-nightly"
REPORT_FAMILY = "convoy-demo-report"
DESIRED = 2


def image(container: str, version: str = VERSION) -> str:
    return f"{IMAGE_REPO}/{container}:{version}"


def records_bucket() -> str:
    """The bucket the functions keep release records in: local/stack.sh passes the same name to them."""
    return os.environ.get("CONVOY_RECORDS_BUCKET", "convoy-records")


def create_records_bucket(moto: Moto, name: str = "") -> str:
    """Creates the release records bucket unless it exists (us-east-1: no LocationConstraint); returns its name."""
    name = name or records_bucket()
    s3 = moto.client("s3")
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    return name


def start_world(moto: Moto, reset: bool = True) -> dict:
    """Resets moto and the simulator (unless `reset` is false), creates the records bucket (a reset deletes it);
    returns the seeded network {vpcId, subnetIds, securityGroupId}."""
    if reset:
        moto.reset()
    create_records_bucket(moto)
    return moto.post("/_seed/network")


def awsvpc(network: dict) -> dict:
    """The network's awsvpcConfiguration as ECS spells it."""
    return {"subnets": network["subnetIds"], "securityGroups": [network["securityGroupId"]],
            "assignPublicIp": "DISABLED"}


def target_network(network: dict) -> dict:
    """The network as a rule target's EcsParameters.NetworkConfiguration (EventBridge capitalises the keys)."""
    return {"awsvpcConfiguration": {k[0].upper() + k[1:]: v for k, v in awsvpc(network).items()}}


def codedeploy_names(cluster: str = CODE_DEPLOY_CLUSTER, service: str = CODE_DEPLOY_SERVICE) -> tuple[str, str]:
    """(application, deployment group) of a CODE_DEPLOY service: the names the ECS console gives them, and convoy's
    defaults."""
    return f"AppECS-{cluster}-{service}", f"DgpECS-{cluster}-{service}"


def target_group_arn(name: str) -> str:
    return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/0123456789abcdef"


def create_codedeploy_group(moto: Moto, cluster: str, service: str) -> tuple[str, str]:
    """The CodeDeploy application (ECS) and blue/green deployment group of `cluster`/`service`; returns their
    names."""
    application, group = codedeploy_names(cluster, service)
    cd = moto.client("codedeploy")
    cd.create_application(applicationName=application, computePlatform="ECS",
                          tags=[{"Key": "app", "Value": "convoy-demo"}])
    cd.create_deployment_group(
        applicationName=application, deploymentGroupName=group,
        deploymentConfigName=CODE_DEPLOY_CONFIG,  # moto's default would be a server config
        serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-codedeploy",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        blueGreenDeploymentConfiguration={
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        loadBalancerInfo={"targetGroupPairInfoList": [{
            "targetGroups": [{"name": name} for name in TARGET_GROUPS],
            "prodTrafficRoute": {"listenerArns": [
                f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/convoy-demo/0123456789abcdef/1"]},
        }]},
        ecsServices=[{"clusterName": cluster, "serviceName": service}],
    )
    return application, group


def create_rolled_out_service(moto: Moto, ecs, network: dict, cluster: str, name: str, task_definition: str,
                              desired: int, strategy: Optional[dict] = None, **extra) -> None:
    """A Fargate service with the deployment circuit breaker on (no automatic rollback), its first rollout done;
    `strategy` adds a deployment strategy to its configuration."""
    ecs.create_service(
        cluster=cluster, serviceName=name, taskDefinition=task_definition, desiredCount=desired,
        launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": awsvpc(network)},
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False},
                                 "maximumPercent": 200, "minimumHealthyPercent": 100, **(strategy or {})},
        **extra,
    )
    moto.mark_rolled_out(cluster, name, desired)


def container_definition(name: str, family: str, essential: bool = True) -> dict:
    definition = {
        "name": name,
        "image": image(name),
        "essential": essential,
        "cpu": 0,
        "environment": [{"name": "APP", "value": name}, {"name": "LOG_LEVEL", "value": "info"}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": f"/ecs/{family}", "awslogs-region": REGION,
                        "awslogs-stream-prefix": name},
        },
    }
    if essential:
        definition["portMappings"] = [{"containerPort": 8080, "protocol": "tcp", "name": f"{name}-http"}]
    return definition


def register(ecs, family: str, containers: list[str], service: str) -> str:
    answer = ecs.register_task_definition(
        family=family,
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-task",
        executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-execution",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        ephemeralStorage={"sizeInGiB": 30},
        containerDefinitions=[container_definition(c, family, essential=i == 0) for i, c in enumerate(containers)],
        tags=[{"key": "app", "value": "convoy-demo"}, {"key": "service", "value": service}],
    )
    return answer["taskDefinition"]["taskDefinitionArn"]


def seed(moto: Moto, reset: bool = True) -> dict:
    """Creates the demo world; returns what was made (network, services → task definition ARN, rule targets,
    records bucket, the CODE_DEPLOY service's CodeDeploy application and group)."""
    net = start_world(moto, reset)
    ecs, events = moto.client("ecs"), moto.client("events")
    services = {}
    for cluster, names in CLUSTERS.items():
        ecs.create_cluster(clusterName=cluster, tags=[{"key": "app", "value": "convoy-demo"}])
        for name in names:
            arn = register(ecs, f"convoy-demo-{name}", CONTAINERS.get(name, [name]), name)
            extra = {}
            if (cluster, name) == (CODE_DEPLOY_CLUSTER, CODE_DEPLOY_SERVICE):
                extra = {"deploymentController": {"type": "CODE_DEPLOY"},
                         "loadBalancers": [{"targetGroupArn": target_group_arn(TARGET_GROUPS[0]),
                                            "containerName": name, "containerPort": CODE_DEPLOY_PORT}]}
            create_rolled_out_service(moto, ecs, net, cluster, name, arn, DESIRED, strategy=STRATEGIES.get(name),
                                      platformVersion="LATEST", tags=[{"key": "app", "value": "convoy-demo"}],
                                      **extra)
            services[f"{cluster}/{name}"] = arn
    create_codedeploy_group(moto, CODE_DEPLOY_CLUSTER, CODE_DEPLOY_SERVICE)

    report = register(ecs, REPORT_FAMILY, ["report"], "report")
    events.put_rule(Name=RULE, ScheduleExpression="cron(0 2 * * ? *)", State="ENABLED",
                    Description="convoy demo: nightly reports")
    cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/convoy-demo-b"
    targets = []
    for target_id, count, kind in (("report-daily", 1, "daily"), ("report-audit", 2, "audit")):
        targets.append({
            "Id": target_id,
            "Arn": cluster_arn,
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/convoy-demo-events",
            "Input": json.dumps({"containerOverrides": [{"name": "report", "command": ["report", kind]}]}),
            "EcsParameters": {
                "TaskDefinitionArn": report,
                "TaskCount": count,
                "LaunchType": "FARGATE",
                "PlatformVersion": "LATEST",
                "NetworkConfiguration": target_network(net),
                "Group": f"convoy-demo-{kind}",
                "PropagateTags": "TASK_DEFINITION",
                "EnableECSManagedTags": True,
                "EnableExecuteCommand": False,
                "Tags": [{"Key": "app", "Value": "convoy-demo"}, {"Key": "report", "Value": kind}],
            },
        })
    failed = events.put_targets(Rule=RULE, Targets=targets)
    if failed.get("FailedEntryCount"):
        raise SystemExit(f"seed: PutTargets failed: {failed['FailedEntries']}")
    application, group = codedeploy_names()
    return {"network": net, "services": services, "rule": RULE,
            "targets": {t["Id"]: report for t in targets}, "recordsBucket": records_bucket(),
            "codeDeploy": {"application": application, "deploymentGroup": group}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default=DEFAULT_ENDPOINT)
    ap.add_argument("--no-reset", action="store_true", help="keep moto's current state")
    ap.add_argument("--only-records-bucket", action="store_true",
                    help="create the release records bucket only (no reset, no demo world)")
    args = ap.parse_args()
    moto = Moto(args.endpoint)
    if args.only_records_bucket:
        print(f"records bucket {create_records_bucket(moto)}")
        return
    world = seed(moto, reset=not args.no_reset)
    print(f"seeded {len(world['services'])} services in {len(CLUSTERS)} clusters and rule {RULE} "
          f"with {len(world['targets'])} ECS targets, all on {VERSION}")


if __name__ == "__main__":
    main()
