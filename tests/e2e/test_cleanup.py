"""Revision clean-up (`keepRevisions`) in a shared world: a revision convoy registered that a service and a
scheduled-rule target OUTSIDE the release still run stays ACTIVE, and the report says why; an unused one goes."""

import json

from conftest import short

from convoy_local import seed

CLUSTER = "convoy-demo-a"
FAMILY = "convoy-demo-web"
OUTSIDE_RULE = "convoy-demo-canary-check"


def tagged_revision(stack, image_tag: str, release: str) -> str:
    """A revision of web's family as an earlier release registered it (tagged `convoy:release`)."""
    running = stack.task_definition(stack.service(CLUSTER, "web")["taskDefinition"])
    fields = ("taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory",
              "runtimePlatform", "ephemeralStorage")
    containers = [{**c, "image": f"public.ecr.aws/convoy-demo/web:{image_tag}"} for c in running["containerDefinitions"]]
    answer = stack.ecs.register_task_definition(
        family=FAMILY, containerDefinitions=containers, **{k: running[k] for k in fields if k in running},
        tags=[{"key": "convoy:release", "value": release}])
    return answer["taskDefinition"]["taskDefinitionArn"]


def test_clean_up_keeps_a_revision_a_service_and_a_rule_outside_the_release_run(stack):
    network = stack.world["network"]
    unused = tagged_revision(stack, "0.7.0", "old-release-1")
    by_service = tagged_revision(stack, "0.8.0", "old-release-2")
    by_rule = tagged_revision(stack, "0.9.0", "old-release-3")
    # Outside the release: a canary service on one of them, a scheduled check on another.
    seed.create_rolled_out_service(stack.moto, stack.ecs, network, CLUSTER, "web-canary", by_service, 1)
    stack.events.put_rule(Name=OUTSIDE_RULE, ScheduleExpression="rate(1 hour)", State="ENABLED")
    stack.events.put_targets(Rule=OUTSIDE_RULE, Targets=[{
        "Id": "check", "Arn": f"arn:aws:ecs:{seed.REGION}:{seed.ACCOUNT}:cluster/{CLUSTER}",
        "RoleArn": f"arn:aws:iam::{seed.ACCOUNT}:role/convoy-demo-events",
        "EcsParameters": {"TaskDefinitionArn": by_rule, "TaskCount": 1, "LaunchType": "FARGATE",
                          "NetworkConfiguration": seed.target_network(network)},
    }])

    release = stack.release()
    release["release"]["id"] = "cleanup-shared"
    release["settings"]["keepRevisions"] = 1
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", json.dumps(result, default=str)[:3000]
    cleanup = result["report"]["cleanup"]
    status = {arn: stack.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"]
              for arn in (unused, by_service, by_rule)}
    assert status == {unused: "INACTIVE", by_service: "ACTIVE", by_rule: "ACTIVE"}, (status, cleanup)
    assert any(short(d) == short(unused) for d in cleanup["deregistered"]), cleanup
    kept = {short(k["taskDefinition"]): k for k in cleanup["kept"]}
    assert kept[short(by_service)]["reason"] == "inUseByService", cleanup
    assert kept[short(by_service)]["detail"] == f"{CLUSTER}/web-canary", cleanup
    assert kept[short(by_rule)]["reason"] == "inUseByRuleTarget", cleanup
    assert OUTSIDE_RULE in kept[short(by_rule)]["detail"], cleanup
    # The canary and the check still run what they ran.
    assert stack.service(CLUSTER, "web-canary")["taskDefinition"] == by_service
    check = stack.events.list_targets_by_rule(Rule=OUTSIDE_RULE)["Targets"][0]
    assert check["EcsParameters"]["TaskDefinitionArn"] == by_rule
