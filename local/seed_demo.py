"""Seed moto with the demo world that examples/deployment.yaml releases.

    python local/seed_demo.py [--endpoint http://127.0.0.1:5000] [--no-reset] [--only-records-bucket]

Clusters convoy-demo-a (web, api, worker) and convoy-demo-b (billing, search): Fargate, awsvpc, 2 tasks each,
every rollout COMPLETED; `web` runs two containers, `web` and `log-router`. Every image is
public.ecr.aws/convoy-demo/<container>:1.0.0. The task definitions carry tags, roles, runtimePlatform,
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
import urllib.request

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"
VERSION = "1.0.0"
IMAGE_REPO = "public.ecr.aws/convoy-demo"
CLUSTERS = {"convoy-demo-a": ["web", "api", "worker"], "convoy-demo-b": ["billing", "search"]}
CONTAINERS = {"web": ["web", "log-router"]}  # other services: one container named like the service
RULE = "convoy-demo-nightly"
REPORT_FAMILY = "convoy-demo-report"
DESIRED = 2


def image(container: str, version: str = VERSION) -> str:
    return f"{IMAGE_REPO}/{container}:{version}"


def post(endpoint: str, path: str, body=None):
    request = urllib.request.Request(endpoint + path, method="POST", data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text.strip() else None


def clients(endpoint: str):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    return boto3.client("ecs", **kw), boto3.client("events", **kw)


def records_bucket() -> str:
    """The bucket the functions keep release records in: local/stack.sh passes the same name to them."""
    return os.environ.get("CONVOY_RECORDS_BUCKET", "convoy-records")


def create_records_bucket(endpoint: str, name: str = "") -> str:
    """Creates the release records bucket unless it exists (us-east-1: no LocationConstraint); returns its name."""
    name = name or records_bucket()
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    try:
        s3.create_bucket(Bucket=name)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    return name


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


def seed(endpoint: str, reset: bool = True) -> dict:
    """Creates the demo world; returns what was made (network, services → task definition ARN, rule targets,
    records bucket)."""
    if reset:
        post(endpoint, "/moto-api/reset")
        post(endpoint, "/_fault/reset")
    bucket = create_records_bucket(endpoint)
    net = post(endpoint, "/_seed/network")
    ecs, events = clients(endpoint)
    awsvpc = {"subnets": net["subnetIds"], "securityGroups": [net["securityGroupId"]], "assignPublicIp": "DISABLED"}
    services = {}
    for cluster, names in CLUSTERS.items():
        ecs.create_cluster(clusterName=cluster, tags=[{"key": "app", "value": "convoy-demo"}])
        for name in names:
            family = f"convoy-demo-{name}"
            arn = register(ecs, family, CONTAINERS.get(name, [name]), name)
            ecs.create_service(
                cluster=cluster, serviceName=name, taskDefinition=arn, desiredCount=DESIRED, launchType="FARGATE",
                platformVersion="LATEST", networkConfiguration={"awsvpcConfiguration": awsvpc},
                deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": False},
                                         "maximumPercent": 200, "minimumHealthyPercent": 100},
                tags=[{"key": "app", "value": "convoy-demo"}],
            )
            post(endpoint, "/_fault/ecs/service", {"cluster": cluster, "service": name, "runningCount": DESIRED,
                                                   "pendingCount": 0, "rolloutState": "COMPLETED"})
            services[f"{cluster}/{name}"] = arn

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
                "NetworkConfiguration": {"awsvpcConfiguration": {
                    "Subnets": net["subnetIds"], "SecurityGroups": [net["securityGroupId"]],
                    "AssignPublicIp": "DISABLED"}},
                "Group": f"convoy-demo-{kind}",
                "PropagateTags": "TASK_DEFINITION",
                "EnableECSManagedTags": True,
                "EnableExecuteCommand": False,
                "Tags": [{"Key": "app", "Value": "convoy-demo"}, {"Key": "report", "Value": kind}],
            },
        })
    failed = events.put_targets(Rule=RULE, Targets=targets)
    if failed.get("FailedEntryCount"):
        raise SystemExit(f"seed_demo: PutTargets failed: {failed['FailedEntries']}")
    return {"network": net, "services": services, "rule": RULE,
            "targets": {t["Id"]: report for t in targets}, "recordsBucket": bucket}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default="http://127.0.0.1:5000")
    ap.add_argument("--no-reset", action="store_true", help="keep moto's current state")
    ap.add_argument("--only-records-bucket", action="store_true",
                    help="create the release records bucket only (no reset, no demo world)")
    args = ap.parse_args()
    if args.only_records_bucket:
        print(f"records bucket {create_records_bucket(args.endpoint)}")
        return
    world = seed(args.endpoint, reset=not args.no_reset)
    print(f"seeded {len(world['services'])} services in {len(CLUSTERS)} clusters and rule {RULE} "
          f"with {len(world['targets'])} ECS targets, all on {VERSION}")


if __name__ == "__main__":
    main()
