"""An execution stopped by an operator mid-release, finished by the watchdog.

moto emits no Step Functions status events, so the test hands the watchdog function (through the local Lambda
endpoint) the event the EventBridge rule would deliver: events/watchdog-aborted.json with this execution's ARN,
name, input, and the error and cause given to StopExecution. The execution is stopped only once it awaits its
rollouts (moto's engine can fail, not abort, an execution stopped inside an inline Map).
"""

import json
import os
import time

import boto3
from botocore.config import Config
from conftest import ROOT, settle_codedeploy, short

from convoy_local import release as runner
from convoy_local import seed

BUCKET = seed.records_bucket()
SAMPLE = ROOT / "events/watchdog-aborted.json"


def lambda_client():
    endpoint = os.environ.get("CONVOY_LAMBDA_ENDPOINT")
    assert endpoint, "CONVOY_LAMBDA_ENDPOINT unset: run through local/e2e.sh (or source .local-stack/env)"
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(read_timeout=600, retries={"max_attempts": 1}))


def entered(stack, execution_arn: str, state: str) -> bool:
    return any((e.get("stateEnteredEventDetails") or {}).get("name") == state
               for e in stack.history(execution_arn))


def wait_for(what, check, timeout: float = 180):
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def status_change(stack, execution_arn: str, machine: str) -> dict:
    """The event the rule delivers for this execution's ending."""
    described = stack.sfn.describe_execution(executionArn=execution_arn)
    event = json.loads(SAMPLE.read_text())
    event["resources"] = [execution_arn]
    event["detail"].update({
        "executionArn": execution_arn,
        "stateMachineArn": machine,
        "name": described["name"],
        "status": described["status"],
        "startDate": int(described["startDate"].timestamp() * 1000),
        "stopDate": int(described["stopDate"].timestamp() * 1000),
        "input": described["input"],
        "error": described.get("error"),
        "cause": described.get("cause"),
    })
    return event


def invoke_watchdog(event: dict) -> dict:
    answer = lambda_client().invoke(FunctionName="watchdog", Payload=json.dumps(event).encode())
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return payload


def s3_json(stack, key: str):
    s3 = stack.moto.client("s3")
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def locks(stack) -> dict:
    s3 = stack.moto.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="locks/").get("Contents", [])]
    return {k: json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys}


def world(stack) -> dict:
    """Every service's and rule target's revision."""
    services = {f"{c}/{n}": short(stack.service(c, n)["taskDefinition"])
                for c, names in seed.CLUSTERS.items() for n in names}
    targets = {i: short(t["EcsParameters"]["TaskDefinitionArn"]) for i, t in stack.targets().items()}
    return {"services": services, "targets": targets}


def test_an_execution_stopped_by_an_operator_is_reported_unlocked_and_rolled_back_by_the_watchdog(stack):
    # Rollouts that never finish within the test: the release sits in AwaitRelease.
    stack.post("/_fault/ecs/defaults", {"steps": 100000})
    release = stack.release()
    release_id = release["release"]["id"]
    machine = runner.ensure_state_machine(stack.sfn, stack.definition)
    name = f"{release_id}-{int(time.time() * 1000)}"
    execution = stack.sfn.start_execution(stateMachineArn=machine, name=name,
                                          input=json.dumps(release))["executionArn"]
    wait_for("AwaitRelease", lambda: entered(stack, execution, "AwaitRelease"))
    # The CODE_DEPLOY service moves once its CodeDeploy deployment shifted traffic (the rounds advance it).
    payments = (seed.CODE_DEPLOY_CLUSTER, seed.CODE_DEPLOY_SERVICE)
    wait_for("the CodeDeploy traffic shift", lambda: short(stack.service(*payments)["taskDefinition"])
             == f"convoy-demo-{seed.CODE_DEPLOY_SERVICE}:2")
    prefix = f"releases/{release_id}/{name}/"
    plan = s3_json(stack, prefix + "plan.json")
    held = locks(stack)
    assert held and all(lock["executionArn"] == execution for lock in held.values()), held
    deployed = world(stack)

    stack.sfn.stop_execution(executionArn=execution, error="OperatorStop", cause="stopped mid-release by hand")
    wait_for("ABORTED", lambda: stack.sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
    assert stack.sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert s3_json(stack, prefix + "report.json") is None, "stopped before finish-release"

    event = status_change(stack, execution, machine)
    answer = invoke_watchdog(event)
    assert answer["action"] == "reported", answer
    assert answer["releaseId"] == release_id
    assert answer["locksGivenBack"] == len(held), (answer, held)

    # The locks are given back.
    assert locks(stack) == {}
    # What runs as the watchdog wrote its report. It does not await its restores: a rolling service names its
    # previous revision at once, the CODE_DEPLOY one only once CodeDeploy's deployment back to it shifted traffic,
    # which AWS does by itself and the simulator when the deployment is read.
    reported = world(stack)
    settle_codedeploy(stack)
    # Rollback policy `all`: every changed service and rule target runs its recorded previous revision.
    assert plan["settings"]["rollback"] == "all"
    after = world(stack)
    for service in plan["services"]:
        if not service["noop"]:
            assert after["services"][service["id"]] == short(service["previousTaskDefinition"]), (service, after)
            assert deployed["services"][service["id"]] != after["services"][service["id"]]
    for rule in plan["tasks"]:
        for target in rule["targets"]:
            if not (rule["noop"] or target["noop"]):
                assert after["targets"][target["targetId"]] == short(target["previousTaskDefinition"]), after
    # The report says where each item stands and what happened to the execution.
    report = s3_json(stack, prefix + "report.json")
    assert report is not None
    items = {i["id"]: i for i in report["items"]}
    for service in plan["services"]:
        item = items[service["id"]]
        assert short(item["finalTaskDefinition"]) == reported["services"][service["id"]], item
        if not service["noop"]:
            assert item["outcome"] == "RolledBack", item
    problems = "\n".join(report["problems"])
    assert "ended ABORTED" in problems and "outside the state machine" in problems, problems
    if event["detail"]["error"]:  # moto's DescribeExecution may leave out the error StopExecution was given
        assert f"({event['detail']['error']}: {event['detail']['cause']})" in problems, problems
    assert "policy `all`" in problems and "not awaited" in problems, problems
    assert answer["report"]["fullReport"] == f"s3://{BUCKET}/{prefix}report.json"
    rollback = s3_json(stack, prefix + "rollback.json")
    assert rollback and {r["outcome"] for r in rollback["restores"]} == {"Restored"}, rollback

    # The same event again (EventBridge delivers at least once): nothing changes.
    updates, retargets = stack.calls("ecs.UpdateService"), stack.calls("PutTargets")
    again = invoke_watchdog(status_change(stack, execution, machine))
    assert again["action"] == "alreadyReported", again
    assert again["locksGivenBack"] == 0
    assert s3_json(stack, prefix + "report.json") == report
    assert world(stack) == after
    assert (stack.calls("ecs.UpdateService"), stack.calls("PutTargets")) == (updates, retargets)
    assert locks(stack) == {}
