"""The release state machine's data flow, run on moto's Step Functions engine (the local and CI engine) with
scripted functions in place of the Lambdas: which function is called with what, and how each outcome ends.
The Rust functions' own behaviour is tested in their crates and end to end in local/; this pins the ASL.

    .tools/venv/bin/python -m pytest tools/test_asl_flow.py     # venv from local/install.sh (moto, pytest)
"""
import copy
import io
import json
import pathlib
import re
import time

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
ACCOUNT, REGION = "123456789012", "us-east-1"


def render():
    """The definition with function ARNs filled in and Retry waits capped to 1 s (moto really waits)."""
    text = (ROOT / "statemachine" / "release.asl.json").read_text()

    def arn(m):
        name = re.sub(r"(?<!^)([A-Z])", r"-\1", m.group(1)).lower()
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"

    definition = json.loads(re.sub(r"\$\{([A-Za-z]+)FunctionArn\}", arn, text))

    def cap(states):
        for state in states.values():
            for retrier in state.get("Retry", []):
                retrier["IntervalSeconds"] = 1
                retrier["MaxDelaySeconds"] = 1
            if "ItemProcessor" in state:
                cap(state["ItemProcessor"]["States"])

    cap(definition["States"])
    return json.dumps(definition)


class FunctionError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type, self.message = error_type, message


class Functions:
    """Scripted stand-ins for the seven functions; records every call's input."""

    def __init__(self, plan, **overrides):
        self.plan = plan
        self.calls = {}
        self.handlers = {
            "plan-release": lambda _: copy.deepcopy(self.plan),
            "register-task-definition": self.register,
            "update-service": self.update_service,
            "update-scheduled-rule": self.update_rule,
            "check-stability": self.all_succeeded,
            "rollback": self.restore_nothing,
            "finish-release": self.report,
        }
        self.handlers.update(overrides)

    def invoke(self, FunctionName, Payload, **_):
        name = FunctionName.rsplit(":", 1)[-1]
        event = json.loads(Payload) if Payload else None
        self.calls.setdefault(name, []).append(event)
        try:
            body, error = self.handlers[name](event), None
        except FunctionError as e:
            body, error = {"errorType": e.error_type, "errorMessage": e.message}, "Unhandled"
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
        if error:
            response["FunctionError"] = error
        return response

    @staticmethod
    def register(event):
        item = copy.deepcopy(event["item"])
        if "targets" in item:
            for t in item["targets"]:
                t["newTaskDefinition"] = re.sub(r":(\d+)$", lambda m: f":{int(m[1]) + 1}", t["previousTaskDefinition"])
        else:
            item["newTaskDefinition"] = re.sub(r":(\d+)$", lambda m: f":{int(m[1]) + 1}", item["previousTaskDefinition"])
        return item

    @staticmethod
    def update_service(event):
        item = event["item"]
        return {k: item[k] for k in ("id", "cluster", "service", "previousTaskDefinition", "newTaskDefinition")} | {
            "deploymentId": "ecs-svc/" + item["service"], "deadline": 1795435200}

    @staticmethod
    def update_rule(event):
        item = event["item"]
        return {"id": item["id"], "rule": item["rule"], "eventBus": item["eventBus"],
                "targets": [{k: t[k] for k in ("targetId", "previousTaskDefinition", "newTaskDefinition")} for t in item["targets"]]}

    @staticmethod
    def all_succeeded(event):
        return {"items": [dict(i, outcome="Succeeded") for i in event["items"]], "pending": 0, "failed": 0}

    @staticmethod
    def restore_nothing(_event):
        return {"restores": [], "items": [], "pending": 0, "failed": 0}

    @staticmethod
    def report(event):
        failed = event["rollback"] is not None or any("error" in r for r in event["results"])
        return {"releaseId": event["plan"]["release"]["id"], "outcome": "RolledBack" if failed else "Succeeded",
                "items": [{"id": r["id"], "kind": "service", "outcome": "Failed" if "error" in r else "Deployed",
                           "previousTaskDefinition": "td:1", "finalTaskDefinition": "td:1"} for r in event["results"]]}


@pytest.fixture
def run(monkeypatch):
    """run(functions, execution_input=None) -> DescribeExecution of a finished execution."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(name="release", definition=render(),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/release")["stateMachineArn"]

        def _run(functions, execution_input=None):
            monkeypatch.setattr(lambda_eval_utils, "boto_client_for", lambda **_: functions)
            body = execution_input or json.loads((EVENTS / "release.json").read_text())
            ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(body))["executionArn"]
            deadline = time.time() + 60
            while (d := sfn.describe_execution(executionArn=ex))["status"] == "RUNNING":
                assert time.time() < deadline, "execution still running after 60 s"
                time.sleep(0.05)
            return d

        yield _run


def sample_plan():
    return json.loads((EVENTS / "rollback.json").read_text())["plan"]


def test_success_deploys_changed_items_awaits_them_and_outputs_the_report(run):
    rounds = iter([1, 0])

    def check(event):
        pending = next(rounds)
        outcome = "InProgress" if pending else "Succeeded"
        return {"items": [dict(i, outcome=outcome) for i in event["items"]], "pending": pending * len(event["items"]), "failed": 0}

    f = Functions(sample_plan(), **{"check-stability": check})
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    report = json.loads(d["output"])
    assert report == f.report(f.calls["finish-release"][0])
    # Map iterations run concurrently: the order of the calls is not the order of the items.
    assert sorted(e["item"]["id"] for e in f.calls["register-task-definition"]) == ["default/nightly-report", "prod/web", "prod/worker"]
    assert all(e["releaseId"] == "release-2026-11-23-1" for e in f.calls["update-service"])
    # The noop service is never registered or updated, but is still a result.
    finish = f.calls["finish-release"][0]
    assert [r["id"] for r in finish["results"]] == ["default/nightly-report", "prod/web", "prod/worker", "prod/api"]
    assert finish["results"][3] == {"id": "prod/api"}
    assert set(finish["results"][0]) == {"id", "rule"} and set(finish["results"][1]) == {"id", "deployment"}
    # The first round judges exactly the started deployments; the second the first round's items.
    first, second = f.calls["check-stability"]
    assert [i["id"] for i in first["items"]] == ["prod/web", "prod/worker"]
    assert first["pollIntervalSeconds"] == 5 and set(first) == {"releaseId", "pollIntervalSeconds", "items"}
    assert all(i["outcome"] == "InProgress" for i in second["items"])
    assert finish["stability"]["pending"] == 0 and finish["rollback"] is None and finish["rollbackStability"] is None
    assert "rollback" not in f.calls


def test_a_rejected_plan_fails_with_its_error_and_changes_nothing(run):
    def reject(_):
        raise FunctionError("PreflightFailed", "pre-flight failed: 1 problem\n  - prod/web: service not found")

    f = Functions(sample_plan(), **{"plan-release": reject})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "PreflightFailed", d
    assert "prod/web: service not found" in json.loads(d["cause"])["errorMessage"]
    assert list(f.calls) == ["plan-release"]


def test_an_item_failure_rolls_back_everything_at_once_with_policy_all(run):
    def register(event):
        if event["item"]["id"] == "prod/worker":
            raise FunctionError("TaskDefinitionRejected", "task definition rejected: invalid memory")
        return Functions.register(event)

    def rollback(event):
        return {"restores": [{"id": "prod/web", "outcome": "Restored", "taskDefinition": "td:41"}],
                "items": [dict(event["results"][1]["deployment"], outcome="InProgress")], "pending": 1, "failed": 0}

    f = Functions(sample_plan(), **{"register-task-definition": register, "rollback": rollback})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert json.loads(d["cause"]) == f.report(f.calls["finish-release"][0])
    (rb,) = f.calls["rollback"]
    assert set(rb) == {"plan", "results", "stability"}
    worker = next(r for r in rb["results"] if r["id"] == "prod/worker")
    assert worker["error"]["Error"] == "TaskDefinitionRejected" and "invalid memory" in worker["error"]["Cause"]
    # policy all: no waiting for the release's own deployments; only the rollback's are awaited.
    (await_rollback,) = f.calls["check-stability"]
    assert [i["id"] for i in await_rollback["items"]] == ["prod/web"]
    finish = f.calls["finish-release"][0]
    assert finish["rollback"]["restores"][0]["outcome"] == "Restored"
    assert finish["rollbackStability"]["items"][0]["outcome"] == "Succeeded"


def test_with_policy_failed_every_deployment_is_judged_before_rolling_back(run):
    plan = sample_plan()
    plan["settings"]["rollback"] = "failed"

    def register(event):
        if event["item"]["id"] == "prod/worker":
            raise FunctionError("ContainerNotFound", "container not found: worker")
        return Functions.register(event)

    rounds = iter([1, 0])

    def check(event):
        pending = next(rounds)
        return {"items": [dict(i, outcome="InProgress" if pending else "Succeeded") for i in event["items"]],
                "pending": pending, "failed": 0}

    f = Functions(plan, **{"register-task-definition": register, "check-stability": check})
    d = run(f)
    assert d["status"] == "FAILED", d
    assert len(f.calls["check-stability"]) == 2
    (rb,) = f.calls["rollback"]
    assert rb["stability"]["items"][0]["outcome"] == "Succeeded"


def test_a_failed_rollout_rolls_back(run):
    def check(event):
        items = [dict(i, outcome="Failed" if i["id"] == "prod/web" else "InProgress") for i in event["items"]]
        return {"items": items, "pending": 1, "failed": 1}

    f = Functions(sample_plan(), **{"check-stability": check})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    (rb,) = f.calls["rollback"]
    assert rb["stability"]["failed"] == 1
    assert len(f.calls["check-stability"]) == 1  # policy all: the first failure stops the waiting
    assert f.calls["finish-release"][0]["rollbackStability"] == {"items": [], "pending": 0, "failed": 0}


def test_throttling_is_retried_and_a_failing_judge_still_rolls_back_and_reports(run):
    throttled = {"prod/web": 1}

    def register(event):
        if throttled.get(event["item"]["id"], 0) > 0:
            throttled[event["item"]["id"]] -= 1
            raise FunctionError("Throttled", "throttled: RegisterTaskDefinition rate exceeded")
        return Functions.register(event)

    def judge_down(_):
        raise FunctionError("AccessDenied", "access denied: ecs:DescribeServices")

    f = Functions(sample_plan(), **{"register-task-definition": register, "check-stability": judge_down})
    d = run(f)
    assert [e["item"]["id"] for e in f.calls["register-task-definition"]].count("prod/web") == 2
    assert "error" not in next(r for r in f.calls["finish-release"][0]["results"] if r["id"] == "prod/web")
    assert len(f.calls["check-stability"]) == 1  # AccessDenied is not retried
    assert len(f.calls["rollback"]) == 1
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
