"""A CODE_DEPLOY service (deployment controller CODE_DEPLOY: AWS CodeDeploy blue/green, convoy_local/codedeploy_sim.py)
in a release with rolling and ECS blue/green ones: deployed by one CodeDeploy deployment of its default group, judged
by it, rolled back by CodeDeploy (its own auto-rollback, or StopDeployment with auto-rollback while in flight),
refused by pre-flight when its group is missing or busy, adopted rather than created twice by a retried step."""

import json
import os

import pytest

from conftest import report_items, short

from convoy_local import seed
from convoy_local.control import client

CLUSTER, SERVICE = seed.CODE_DEPLOY_CLUSTER, seed.CODE_DEPLOY_SERVICE
ITEM = f"{CLUSTER}/{SERVICE}"
APPLICATION, GROUP = seed.codedeploy_names()
FAMILY = f"convoy-demo-{SERVICE}"
SERVICES = [(cluster, name) for cluster, names in seed.CLUSTERS.items() for name in names]


def deployments(stack) -> list:
    """The simulator's CodeDeploy deployments of the demo group, oldest first."""
    return [d for d in stack.moto.get("/_stats/codedeploy")
            if (d["application"], d["deploymentGroup"]) == (APPLICATION, GROUP)]


def ours(stack) -> list:
    """The deployments convoy created (not CodeDeploy's rollbacks)."""
    return [d for d in deployments(stack) if d["creator"] != "codeDeployRollback"]


def rollbacks(stack) -> list:
    return [d for d in deployments(stack) if d["creator"] == "codeDeployRollback"]


def arm(stack, **fault) -> None:
    stack.post("/_fault/codedeploy/arm", {"application": APPLICATION, "deploymentGroup": GROUP, **fault})


def entry(release: dict, name: str) -> dict:
    return next(s for s in release["services"] if s["service"] == name)


def running(stack, cluster: str = CLUSTER, name: str = SERVICE) -> str:
    return short(stack.service(cluster, name)["taskDefinition"])


def families(stack, family: str) -> list:
    return [short(a) for a in stack.ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]]


def execution_name(result: dict) -> str:
    return result["executionArn"].rsplit(":", 1)[-1]


def description(release: dict, result: dict) -> str:
    """The description convoy gives its deployment: `convoy release <release id>/<execution name>: <item>`."""
    return f"convoy release {release['release']['id']}/{execution_name(result)}: {ITEM}"


def all_back_on_1(stack) -> None:
    for cluster, name in SERVICES:
        assert running(stack, cluster, name) == f"convoy-demo-{name}:1", name


def test_a_mixed_release_deploys_the_code_deploy_service_by_one_codedeploy_deployment(stack):
    release = stack.release()
    # The demo waits for the blue task set's termination: done once CodeDeploy reports the deployment Succeeded.
    assert entry(release, SERVICE)["codeDeploy"]["waitForTermination"] is True
    # A tripwire: any UpdateService naming payments (which only CodeDeploy may move) is refused, failing the release.
    stack.post("/_fault/error", {"operation": "ecs.UpdateService", "match": f'"{SERVICE}"', "count": 100,
                                 "code": "InvalidParameterException", "message": "tripwire: UpdateService on payments"})
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    items = report_items(result)
    assert {i["outcome"] for i in items.values()} == {"Deployed"}, items
    [deployment] = ours(stack)
    assert deployment["status"] == "Succeeded", deployment
    assert rollbacks(stack) == [], deployments(stack)
    assert deployment["description"] == description(release, result), deployment
    assert short(deployment["taskDefinition"]) == f"{FAMILY}:2", deployment
    reason = items[ITEM]["reason"]
    assert f"CodeDeploy deployment {deployment['deploymentId']} Succeeded" in reason, items[ITEM]
    assert short(items[ITEM]["finalTaskDefinition"]) == f"{FAMILY}:2", items[ITEM]
    # CodeDeploy switched it (no UpdateService touched it: the tripwire above): the service runs :2.
    assert running(stack) == f"{FAMILY}:2"
    assert stack.calls("ecs.UpdateService") == len(SERVICES) - 1
    assert stack.calls("codedeploy.CreateDeployment") == 1
    assert stack.calls("codedeploy.StopDeployment") == 0
    result_record = stack.records(result)[f"results/service/{ITEM}.json"]
    assert result_record["deployment"]["deploymentId"] == deployment["deploymentId"], result_record
    # The others moved as usual: the rolling ones and the ECS blue/green one.
    for cluster, name in SERVICES:
        assert running(stack, cluster, name) == f"convoy-demo-{name}:2", name


def test_a_codedeploy_deployment_failing_at_a_hook_fails_the_release_and_codedeploy_rolls_it_back(stack):
    arm(stack, mode="fail", event="AfterAllowTestTraffic", message="smoke test: /health answered 503")
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    items = report_items(result)
    item = items[ITEM]
    assert item["outcome"] == "Failed", item
    [deployment] = ours(stack)
    assert deployment["status"] == "Failed", deployment
    assert f"CodeDeploy deployment {deployment['deploymentId']} Failed" in item["reason"], item
    assert "AfterAllowTestTraffic" in item["reason"] and "/health answered 503" in item["reason"], item
    # CodeDeploy's own auto-rollback (the group's DEPLOYMENT_FAILURE): convoy stopped nothing and deployed nothing
    # more, it awaited that rollback deployment to its end.
    [rollback] = rollbacks(stack)
    assert rollback["status"] == "Succeeded", rollback
    assert short(rollback["taskDefinition"]) == f"{FAMILY}:1", rollback
    assert stack.calls("codedeploy.CreateDeployment") == 1
    assert stack.calls("codedeploy.StopDeployment") == 0
    records = stack.records(result)
    restore = next(r for r in records["rollback.json"]["restores"] if r["id"] == ITEM)
    assert restore["outcome"] == "Restored", restore
    assert f"CodeDeploy rolls it back with deployment {rollback['deploymentId']}" in restore["reason"], restore
    awaited = next(i for i in records["stability/rollback.json"]["items"] if i["id"] == ITEM)
    assert (awaited["awaits"], awaited["outcome"]) == ("rolledBack", "Succeeded"), awaited
    # Every other service back by its task definition, payments by CodeDeploy.
    all_back_on_1(stack)


def test_a_codedeploy_deployment_in_flight_is_stopped_with_auto_rollback_when_another_service_fails(stack):
    # Stuck after production traffic moved to green (the service runs :2), not finished: the rollback must
    # stop it and await CodeDeploy's way back.
    arm(stack, mode="stuck", event="AfterAllowTraffic")
    # web fails only after 20 describes: payments (about two steps a stability round) is stuck by then.
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "web", "mode": "fail", "steps": 20})
    result = stack.run(stack.release())

    assert result["status"] == "FAILED", result
    assert result["report"]["outcome"] == "RolledBack", result["report"]
    items = report_items(result)
    assert items["convoy-demo-a/web"]["outcome"] == "Failed", items["convoy-demo-a/web"]
    assert items[ITEM]["outcome"] == "RolledBack", items[ITEM]
    assert stack.calls("codedeploy.StopDeployment") == 1
    [deployment] = ours(stack)
    assert deployment["status"] == "Stopped", deployment
    assert short(deployment["taskDefinition"]) == f"{FAMILY}:2", deployment
    # Stopped where it was stuck: production traffic (and the service) already on green.
    assert (deployment["event"], deployment["trafficWeight"]) == ("AfterAllowTraffic", 100.0), deployment
    [rollback] = rollbacks(stack)
    assert rollback["status"] == "Succeeded", rollback
    assert short(rollback["taskDefinition"]) == f"{FAMILY}:1", rollback
    records = stack.records(result)
    restore = next(r for r in records["rollback.json"]["restores"] if r["id"] == ITEM)
    assert restore["outcome"] == "Restored", restore
    assert f"stopped CodeDeploy deployment {deployment['deploymentId']}" in restore["reason"], restore
    awaited = next(i for i in records["stability/rollback.json"]["items"] if i["id"] == ITEM)
    assert (awaited["awaits"], awaited["outcome"]) == ("rolledBack", "Succeeded"), awaited
    # No second deployment of convoy's: CodeDeploy's rollback put :1 back.
    assert stack.calls("codedeploy.CreateDeployment") == 1
    all_back_on_1(stack)


def assert_refused_by_preflight_changing_nothing(stack, result: dict, *needles: str) -> None:
    assert result["status"] == "FAILED", result
    assert result["error"] == "PreflightFailed", result
    message = json.loads(result["cause"])["errorMessage"]
    for needle in needles:
        assert needle in message, (needle, message)
    for operation in ("ecs.RegisterTaskDefinition", "ecs.UpdateService", "events.PutTargets",
                      "codedeploy.CreateDeployment"):
        assert stack.calls(operation) == 0, operation
    assert families(stack, FAMILY) == [f"{FAMILY}:1"]
    all_back_on_1(stack)


def test_a_missing_deployment_group_fails_preflight_and_changes_nothing(stack):
    release = stack.release()
    index = next(i for i, s in enumerate(release["services"]) if s["service"] == SERVICE)
    entry(release, SERVICE)["codeDeploy"] = {"deploymentGroup": "missing"}
    result = stack.run(release)

    assert_refused_by_preflight_changing_nothing(
        stack, result, f"services[{index}] ({ITEM}): field `codeDeploy`",
        f"deployment group `{APPLICATION}/missing` does not exist")
    assert deployments(stack) == []


def test_a_deployment_group_with_an_active_deployment_fails_preflight_and_changes_nothing(stack):
    # Someone else's deployment, still in progress (nothing polls it: it stays Created).
    td = stack.service(CLUSTER, SERVICE)["taskDefinition"]
    content = json.dumps({"version": 0.0, "Resources": [{"TargetService": {
        "Type": "AWS::ECS::Service",
        "Properties": {"TaskDefinition": td,
                       "LoadBalancerInfo": {"ContainerName": SERVICE, "ContainerPort": seed.CODE_DEPLOY_PORT}}}}]})
    theirs = stack.moto.client("codedeploy").create_deployment(
        applicationName=APPLICATION, deploymentGroupName=GROUP, description="someone else's deployment",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}})["deploymentId"]
    stack.post("/_stats/reset")
    result = stack.run(stack.release())

    assert_refused_by_preflight_changing_nothing(stack, result, ITEM, "has an active deployment", theirs)
    assert [d["deploymentId"] for d in deployments(stack)] == [theirs]


def test_a_retried_deploy_batch_call_adopts_its_own_codedeploy_deployment(stack):
    """A deploy-batch call whose CreateDeployment succeeded but whose result record was never written (the call
    failed after it) is retried with the same input: the retry must find that deployment by its description and
    adopt it, not create a second one (CreateDeployment has no idempotency token). The simulator cannot fail a step
    between CreateDeployment and its S3 write, so the test makes that state after a release: the deployment is
    still active (in its termination wait: the release does not wait for it), its result record is deleted, and
    deploy-batch is called again with the batch's input."""
    arm(stack, mode="ok", terminationSteps=50)  # stays active (InProgress) long after traffic shifted
    release = stack.release()
    entry(release, SERVICE)["codeDeploy"]["waitForTermination"] = False  # the default
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    item = report_items(result)[ITEM]
    # The default: done once production traffic is on green, not waiting for the blue task set's termination.
    assert "production traffic shifted" in item["reason"], item
    [deployment] = ours(stack)
    assert deployment["status"] == "InProgress", deployment
    assert stack.calls("codedeploy.CreateDeployment") == 1

    records = stack.records(result)
    [batch] = records["waves/0/batches.json"]
    bucket = result["output"]["fullReport"].removeprefix("s3://").split("/", 1)[0]
    prefix = f"releases/{release['release']['id']}/{execution_name(result)}/"
    s3 = stack.moto.client("s3")
    s3.delete_object(Bucket=bucket, Key=f"{prefix}results/service/{ITEM}.json")
    batch_input = {"releaseId": release["release"]["id"], "records": {"bucket": bucket, "prefix": prefix},
                   "executionArn": result["executionArn"], "wave": 0, "batch": batch}
    lambdas = client("lambda", os.environ["CONVOY_LAMBDA_ENDPOINT"])
    answer = lambdas.invoke(FunctionName="deploy-batch", Payload=json.dumps(batch_input).encode())
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    assert payload == {"remaining": 0, "failed": 0}, payload

    assert stack.calls("codedeploy.CreateDeployment") == 1, deployments(stack)
    assert [d["deploymentId"] for d in deployments(stack)] == [deployment["deploymentId"]]
    again = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}results/service/{ITEM}.json")["Body"].read())
    assert again["deployment"]["deploymentId"] == deployment["deploymentId"], again
    assert again.get("error") is None, again


# The functions' SDK clients try a call this many times (release_core::config::DEFAULT_MAX_ATTEMPTS).
SDK_ATTEMPTS = 5


@pytest.mark.parametrize("lost", [1, SDK_ATTEMPTS])
def test_a_create_deployment_whose_answer_was_lost_is_retried_and_adopts_its_own_deployment(stack, lost):
    """CreateDeployment succeeds but its answer is lost (the simulator handles the call, then answers
    ThrottlingException). Lost once: the SDK's own retry sends it again, CodeDeploy refuses a second deployment to
    the busy group, and the step looks again and adopts its own. Lost on every SDK attempt: the SDK gives up, and
    deploy-batch's retry finds its own deployment by its description before calling CreateDeployment. Either way:
    one deployment."""
    stack.post("/_fault/error", {"operation": "codedeploy.CreateDeployment", "count": lost, "after": True,
                                 "code": "ThrottlingException", "message": "answer lost on the way back"})
    release = stack.release()
    result = stack.run(release)

    assert result["status"] == "SUCCEEDED", result
    assert report_items(result)[ITEM]["outcome"] == "Deployed"
    [deployment] = ours(stack)
    assert deployment["status"] == "Succeeded", deployment
    assert deployment["description"] == description(release, result), deployment
    # Lost once: a second CreateDeployment, refused. Lost on every attempt: none after the SDK gave up.
    expected = lost + 1 if lost < SDK_ATTEMPTS else lost
    assert stack.calls("codedeploy.CreateDeployment") == expected, deployments(stack)
    recorded = stack.records(result)[f"results/service/{ITEM}.json"]
    assert recorded["deployment"]["deploymentId"] == deployment["deploymentId"], recorded
    assert running(stack) == f"{FAMILY}:2"
