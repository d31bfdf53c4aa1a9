"""The release state machine's data flow, run on moto's Step Functions engine (the local and CI engine) with
scripted functions in place of the Lambdas: which function is called with what, and how each outcome ends.
The Rust functions' own behaviour is tested in their crates and end to end in local/; this pins the ASL.

Per-item records live in S3 (docs/decisions/0003): the stand-ins keep the plan items in Python, the state the
engine carries holds only ids, counts and error names, and the sample events in events/ are exactly what the
state machine hands each function.

    PYTHONPATH=local .tools/venv/bin/python -m pytest tools/test_asl_flow.py   # venv from local/install.sh

The definition is the local stack's (convoy_local.render: the function binaries template.yaml names), with
waits and Retry intervals capped to 1 s (moto really waits).
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

from convoy_local.control import ACCOUNT, REGION
from convoy_local.moto_pin import require_pinned_moto
from convoy_local.render import render

require_pinned_moto()  # the stand-ins below replace a moto internal

from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
RELEASE_ID = "release-2026-11-23-1"  # events/release.json; `convoy deploy` names the execution after the release
BUCKET = "convoy-records"
PAYLOAD_LIMIT = 256 * 1024  # AWS's limit on any state's input or output


def event(name):
    return json.loads((EVENTS / f"{name}.json").read_text())


def records(execution_name=RELEASE_ID, release_id=RELEASE_ID):
    return {"bucket": BUCKET, "prefix": f"releases/{release_id}/{execution_name}/"}


def td(family, revision):
    return f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/{family}:{revision}"


def image(repo, tag):
    return f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{repo}:{tag}"


def plan_services():
    """The service items plan-release records in plan.json for events/release.json (prod/api already runs its image)."""
    return [
        {"id": "prod/web", "cluster": "prod", "service": "web", "previousTaskDefinition": td("web", 41),
         "images": {"app": image("web", "v1.4.2"), "nginx": image("nginx", "1.27.3")}, "noop": False,
         "desiredCount": 4, "minimumHealthyPercent": 100, "maximumPercent": 200, "timeoutSeconds": 900},
        {"id": "prod/worker", "cluster": "prod", "service": "worker", "previousTaskDefinition": td("worker", 17),
         "images": {"worker": image("worker", "v1.4.2")}, "noop": False, "timeoutSeconds": 600},
        {"id": "prod/api", "cluster": "prod", "service": "api", "previousTaskDefinition": td("api", 9),
         "images": {"api": image("api", "v1.4.1")}, "noop": True, "timeoutSeconds": 600},
    ]


def plan_tasks():
    return [
        {"id": "default/nightly-report", "rule": "nightly-report", "eventBus": "default", "noop": False, "targets": [
            {"targetId": "report", "previousTaskDefinition": td("report", 5),
             "images": {"report": image("report", "v1.4.2")}, "noop": False},
            {"targetId": "report-eu", "previousTaskDefinition": td("report-eu", 3),
             "images": {"report": image("report", "v1.4.2")}, "noop": False},
        ]},
    ]


def next_revision(arn):
    return re.sub(r":(\d+)$", lambda m: f":{int(m[1]) + 1}", arn)


DEPLOYMENT_IDS = {"prod/web": "ecs-svc/4611686018427387904", "prod/worker": "ecs-svc/4611686018427391234"}


class FunctionError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type, self.message = error_type, message


class Functions:
    """Scripted stand-ins for the seven functions; records every call's input. The plan items stay here, as
    plan.json stays in S3: the state machine only ever sees their ids."""

    def __init__(self, services=None, tasks=None, **overrides):
        self.services = {s["id"]: s for s in (plan_services() if services is None else services)}
        self.tasks = {r["id"]: r for r in (plan_tasks() if tasks is None else tasks)}
        self.calls = {}
        self.referenced = {}  # releaseRef -> the release its object holds
        self.handlers = {
            "plan-release": self.plan,
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

    def plan(self, event):
        release = event["release"]
        if "releaseRef" in release:  # plan-release reads a release started by reference from S3
            release = self.referenced[release["releaseRef"]]
        release_id = release["release"]["id"]
        return {
            "releaseId": release_id,
            "records": records(event["executionName"], release_id),
            "settings": release["settings"],
            "services": [s["id"] for s in self.services.values() if not s["noop"]],
            "tasks": [r["id"] for r in self.tasks.values() if not r["noop"]],
            "unchanged": sum(i["noop"] for i in [*self.services.values(), *self.tasks.values()]),
        }

    def register(self, event):
        item = copy.deepcopy((self.services if event["kind"] == "service" else self.tasks)[event["id"]])
        for target in item.get("targets", [item]):
            target["newTaskDefinition"] = next_revision(target["previousTaskDefinition"])
        return item

    @staticmethod
    def update_service(event):
        item = event["item"]
        return {k: item[k] for k in ("id", "cluster", "service", "previousTaskDefinition", "newTaskDefinition")} | {
            "deploymentId": DEPLOYMENT_IDS.get(item["id"], "ecs-svc/" + item["service"]), "deadline": 1795435200}

    @staticmethod
    def update_rule(event):
        item = event["item"]
        return {"id": item["id"], "rule": item["rule"], "eventBus": item["eventBus"],
                "targets": [{k: t[k] for k in ("targetId", "previousTaskDefinition", "newTaskDefinition")}
                            for t in item["targets"]]}

    @staticmethod
    def all_succeeded(_event):
        return {"pending": 0, "failed": 0}

    @staticmethod
    def restore_nothing(_event):
        return {"pending": 0, "failed": 0}

    def report(self, event):
        """A bounded ReleaseReport: failures first, at most 20 items, the rest in report.json."""
        deploy, failures = event["deploy"], event["failures"]
        results = {r["id"]: r for r in deploy["services"] + deploy["tasks"]}
        items = [{"id": i["id"], "kind": kind,
                  "outcome": "Unchanged" if i["noop"] else "Failed" if "error" in results.get(i["id"], {})
                  else "Deployed" if i["id"] in results else "NotStarted",
                  "previousTaskDefinition": "td:1", "finalTaskDefinition": "td:1"}
                 for kind, plan_items in (("service", self.services), ("ruleTarget", self.tasks))
                 for i in plan_items.values()]
        troubled = any(i["outcome"] in ("Failed", "NotStarted") for i in items) or any(failures.values())
        outcome = "Succeeded" if not troubled and "rollback" not in self.calls else "RolledBack"
        items.sort(key=lambda i: i["outcome"] in ("Deployed", "Unchanged"))
        return {"releaseId": event["releaseId"], "outcome": outcome, "items": items[:20],
                "problems": [f"{step} failed: {e['Error']}" for step, e in failures.items() if e],
                "omittedItems": max(len(items) - 20, 0),
                "fullReport": f"s3://{event['records']['bucket']}/{event['records']['prefix']}report.json"}


@pytest.fixture
def run(monkeypatch):
    """run(functions, execution_input=None, name=RELEASE_ID) -> DescribeExecution of a finished execution, with
    its history under "history"."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(name="convoy-release", definition=json.dumps(render(max_wait=1)),
                                       roleArn=f"arn:aws:iam::{ACCOUNT}:role/release")["stateMachineArn"]

        def _run(functions, execution_input=None, name=RELEASE_ID, timeout=60):
            monkeypatch.setattr(lambda_eval_utils, "boto_client_for", lambda **_: functions)
            body = execution_input or event("release")
            ex = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(body))["executionArn"]
            deadline = time.time() + timeout
            while (d := sfn.describe_execution(executionArn=ex))["status"] == "RUNNING":
                assert time.time() < deadline, f"execution still running after {timeout} s"
                time.sleep(0.05)
            d["history"], token = [], None
            while True:
                page = sfn.get_execution_history(executionArn=ex, **({"nextToken": token} if token else {}))
                d["history"] += page["events"]
                if not (token := page.get("nextToken")):
                    return d

        yield _run


def release_with(**settings):
    release = event("release")
    release["settings"].update(settings)
    return release


def entered(d, state):
    """The state's input each time the execution entered it."""
    return [json.loads(e["stateEnteredEventDetails"]["input"]) for e in d["history"]
            if e.get("stateEnteredEventDetails", {}).get("name") == state]


def exited(d, state):
    return [json.loads(e["stateExitedEventDetails"]["output"]) for e in d["history"]
            if e.get("stateExitedEventDetails", {}).get("name") == state]


def payloads(d):
    """(bytes, where, text) of every state input/output and task parameters the history carries."""
    for e in d["history"]:
        for key, details in e.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output", "parameters"):
                    if isinstance(text := details.get(field), str):
                        yield len(text.encode()), f"{e['type']} {details.get('name', '')} .{field}", text


def kept_results(deploy):
    """Each Map iteration's output as the state keeps it: the id, and the deployment id or the error name."""
    for result in deploy["services"] + deploy["tasks"]:
        assert set(result) in ({"id"}, {"id", "deployment"}, {"id", "error"}), result
        if "error" in result:
            assert set(result["error"]) == {"Error"}, f"the state keeps the error name only: {result}"
    return deploy


def reject(error_type, message, ids):
    """A register-task-definition that fails for the given ids and registers the sample plan's other items."""
    sample = Functions()

    def register(event):
        if event["id"] in ids:
            raise FunctionError(error_type, message)
        return sample.register(event)

    return register


def test_success_deploys_only_changed_items_awaits_them_and_outputs_the_report(run):
    rounds = iter([2, 0])
    f = Functions(**{"check-stability": lambda _: {"pending": next(rounds), "failed": 0}})
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    finish = f.calls["finish-release"][0]
    assert json.loads(d["output"]) == f.report(finish)
    # PlanRelease gets the release, the execution name (the records prefix) and the execution's
    # ARN (the holder of the release's locks).
    [call] = f.calls["plan-release"]
    assert call == {
        "release": event("release"),
        "executionName": RELEASE_ID,
        "executionArn": call["executionArn"],
    }
    assert call["executionArn"].startswith("arn:aws:states:")
    assert ":execution:" in call["executionArn"]
    assert call["executionArn"].endswith(f":{RELEASE_ID}")
    # The Maps iterate over the changed ids only: the noop service costs no iteration and no call.
    assert sum(e["type"] == "MapIterationStarted" for e in d["history"]) == 3
    assert sorted((e["kind"], e["id"]) for e in f.calls["register-task-definition"]) == [
        ("rule", "default/nightly-report"), ("service", "prod/web"), ("service", "prod/worker")]
    assert all(e == {"releaseId": RELEASE_ID, "records": records(), "kind": e["kind"], "id": e["id"]}
               for e in f.calls["register-task-definition"])
    assert sorted(e["item"]["id"] for e in f.calls["update-service"]) == ["prod/web", "prod/worker"]
    # The state keeps each iteration's id and deployment id; the full results are the functions' records.
    assert kept_results(finish["deploy"]) == {
        "tasks": [{"id": "default/nightly-report"}],
        "services": [{"id": "prod/web", "deployment": DEPLOYMENT_IDS["prod/web"]},
                     {"id": "prod/worker", "deployment": DEPLOYMENT_IDS["prod/worker"]}]}
    assert finish == {"releaseId": RELEASE_ID, "executionArn": call["executionArn"], "records": records(),
                      "deploy": finish["deploy"],
                      "failures": {"deploy": None, "awaitRelease": None, "rollback": None, "awaitRollback": None}}
    # The first round seeds itself from the result records: every round is the same small input.
    assert f.calls["check-stability"] == [
        {"releaseId": RELEASE_ID, "records": records(), "pollIntervalSeconds": 5, "phase": "release"}] * 2
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 2, "failed": 0}
    assert "rollback" not in f.calls


def test_the_sample_events_are_what_the_state_machine_hands_each_function(run):
    f = Functions()
    run(f)
    assert f.calls["plan-release"] == [event("plan-release")]
    by_id = {e["id"]: e for e in f.calls["register-task-definition"]}
    assert by_id["prod/web"] == event("register-task-definition")
    assert next(e for e in f.calls["update-service"] if e["item"]["id"] == "prod/web") == event("update-service")
    assert f.calls["update-scheduled-rule"] == [event("update-scheduled-rule")]
    assert f.calls["check-stability"][0] == event("check-stability")
    # events/rollback.json and events/finish-release.json are checked by the rollback scenarios below.


def test_two_executions_of_one_release_keep_separate_records(run):
    f = Functions()
    d = run(f, name=f"{RELEASE_ID}-retry")
    assert d["status"] == "SUCCEEDED", d
    assert f.calls["plan-release"][0]["executionName"] == f"{RELEASE_ID}-retry"
    expected = records(f"{RELEASE_ID}-retry")
    assert {json.dumps(e["records"]) for calls in f.calls.values() for e in calls if "records" in e} == {
        json.dumps(expected)}
    assert json.loads(d["output"])["fullReport"] == f"s3://{BUCKET}/{expected['prefix']}report.json"


def test_a_rejected_plan_fails_with_its_error_and_changes_nothing(run):
    def refuse(_):
        raise FunctionError("PreflightFailed", "pre-flight failed: 1 problem\n  - prod/web: service not found")

    f = Functions(**{"plan-release": refuse})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "PreflightFailed", d
    assert "prod/web: service not found" in json.loads(d["cause"])["errorMessage"]
    assert list(f.calls) == ["plan-release"]


def test_a_release_near_the_input_limit_is_rejected_with_its_own_error(run):
    """The release is PlanRelease's whole input, up to 256 KiB; a refusal as long as a function may send (24 KiB)
    must not be added beside it, or the execution would end in States.DataLimitExceeded without the problems."""
    release = event("release")
    service = release["services"][0]
    release["services"] = [dict(service, service=f"checkout-payments-api-service-{i:04}") for i in range(2000)]
    while len(json.dumps(release).encode()) > PAYLOAD_LIMIT - 1024:
        release["services"].pop()
    long_cause = "pre-flight failed: 9000 problems" + "\n  - services[1] (prod/x): field `service`: not found" * 500
    long_cause = long_cause[:24 * 1024]

    def refuse(_):
        raise FunctionError("PreflightFailed", long_cause)

    f = Functions(**{"plan-release": refuse})
    d = run(f, release)
    assert d["status"] == "FAILED" and d["error"] == "PreflightFailed", {k: d.get(k) for k in ("status", "error")}
    assert json.loads(d["cause"])["errorMessage"] == long_cause
    largest, where, _ = max(payloads(d))
    assert largest < PAYLOAD_LIMIT, (largest, where)


def test_a_release_started_by_reference_reaches_plan_release_as_it_was_started(run):
    """Above 32 KiB convoy starts the execution with a reference to the release (docs/manifest.md): PlanRelease hands
    it to plan-release unchanged as `release`, release id included, and the release then runs as an inline one."""
    reference = {"releaseRef": f"s3://{BUCKET}/inputs/{RELEASE_ID}/{'0' * 64}.json", "release": {"id": RELEASE_ID}}
    f = Functions()
    f.referenced[reference["releaseRef"]] = event("release")
    d = run(f, reference)
    assert d["status"] == "SUCCEEDED", d
    assert f.calls["plan-release"] == [dict(event("plan-release"), release=reference)]
    assert json.loads(d["input"]) == reference
    by_id = {e["id"]: e for e in f.calls["register-task-definition"]}
    assert by_id["prod/web"] == event("register-task-definition")
    assert f.calls["update-scheduled-rule"] == [event("update-scheduled-rule")]
    assert f.calls["check-stability"][0] == event("check-stability")


def test_an_item_failure_rolls_back_everything_at_once_with_policy_all(run):
    long_cause = "task definition rejected: " + "invalid memory value; " * 1000
    rounds = iter([1, 0])
    f = Functions(**{"register-task-definition": reject("TaskDefinitionRejected", long_cause, {"prod/worker"}),
                     "rollback": lambda _: {"pending": 1, "failed": 0},
                     "check-stability": lambda _: {"pending": next(rounds), "failed": 0}})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert json.loads(d["cause"]) == f.report(f.calls["finish-release"][0])
    # The rollback gets ids, deployment ids and error names; it reads the plan and the records itself.
    assert f.calls["rollback"] == [event("rollback")]
    assert long_cause not in json.dumps(exited(d, "DeployServices"))
    # Policy all: no waiting for the release's own deployments; only the rollback's are awaited, until settled.
    assert [e["phase"] for e in f.calls["check-stability"]] == ["rollback", "rollback"]
    assert all(e == dict(event("check-stability"), phase="rollback") for e in f.calls["check-stability"])
    assert entered(d, "FinishRelease")[0]["rollbackStability"] == {"pending": 0, "failed": 0}
    finish = f.calls["finish-release"][0]
    assert finish["deploy"] == event("rollback")["deploy"] and not any(finish["failures"].values())


def test_a_failing_rollback_judge_is_caught_and_the_release_still_reported(run):
    def judge_down(_):
        raise FunctionError("AccessDenied", "access denied: ecs:DescribeServices on cluster prod")

    f = Functions(**{"register-task-definition": reject("TaskDefinitionRejected", "invalid memory", {"prod/worker"}),
                     "rollback": lambda _: {"pending": 1, "failed": 0}, "check-stability": judge_down})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert len(f.calls["check-stability"]) == 1  # AccessDenied is not retried
    assert f.calls["finish-release"] == [event("finish-release")]


def test_with_policy_failed_every_deployment_is_judged_before_rolling_back(run):
    rounds = {"release": iter([1, 0]), "rollback": iter([0])}
    f = Functions(**{"register-task-definition": reject("ContainerNotFound", "container not found: worker",
                                                        {"prod/worker"}),
                     "check-stability": lambda e: {"pending": next(rounds[e["phase"]]), "failed": 0},
                     "rollback": lambda _: {"pending": 1, "failed": 0}})
    d = run(f, release_with(rollback="failed"))
    assert d["status"] == "FAILED", d
    # One judge, two phases: the release's deployments, then the ones the rollback started.
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release", "release", "rollback"]
    # The first round judges the one started deployment; the failed item is counted, not awaited.
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 1, "failed": 0}
    assert entered(d, "ReleaseVerdict")[0]["deployErrors"] == {"tasks": 0, "services": 1}
    (rb,) = f.calls["rollback"]
    assert rb["deploy"]["services"] == [{"id": "prod/web", "deployment": DEPLOYMENT_IDS["prod/web"]},
                                        {"id": "prod/worker", "error": {"Error": "ContainerNotFound"}}]


def test_with_policy_none_the_rollback_step_still_runs_and_restores_nothing(run):
    f = Functions(**{"check-stability": lambda _: {"pending": 0, "failed": 1}})
    d = run(f, release_with(rollback="none"))
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    # The function applies the policy: with none it starts no deployment, so nothing is awaited.
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release"]
    assert len(f.calls["rollback"]) == 1 and len(f.calls["finish-release"]) == 1


def test_a_failed_rollout_rolls_back(run):
    f = Functions(**{"check-stability": lambda _: {"pending": 1, "failed": 1}})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    (rb,) = f.calls["rollback"]
    assert rb == {"releaseId": RELEASE_ID, "records": records(), "deploy": kept_results(rb["deploy"])}
    assert len(f.calls["check-stability"]) == 1  # policy all: the first failure stops the waiting
    # The rollback started nothing: no AwaitRollback round.
    assert entered(d, "FinishRelease")[0]["rollbackStability"] == {"pending": 0, "failed": 0}
    assert entered(d, "AwaitRollback") == []


def test_throttling_is_retried_and_a_failing_judge_still_rolls_back_and_reports(run):
    throttled = {"prod/web": 1}

    def register(event):
        if throttled.get(event["id"], 0) > 0:
            throttled[event["id"]] -= 1
            raise FunctionError("Throttled", "throttled: RegisterTaskDefinition rate exceeded")
        return Functions().register(event)

    def judge_down(_):
        raise FunctionError("AccessDenied", "access denied: ecs:DescribeServices")

    f = Functions(**{"register-task-definition": register, "check-stability": judge_down})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert [e["id"] for e in f.calls["register-task-definition"]].count("prod/web") == 2
    finish = f.calls["finish-release"][0]
    assert {"id": "prod/web", "deployment": DEPLOYMENT_IDS["prod/web"]} in finish["deploy"]["services"]
    assert len(f.calls["check-stability"]) == 1  # AccessDenied is not retried
    assert len(f.calls["rollback"]) == 1
    # A step that fails as a whole keeps its Catch result (one per step, bounded by the function's message cap).
    assert finish["failures"]["awaitRelease"]["Error"] == "AccessDenied"
    assert "ecs:DescribeServices" in finish["failures"]["awaitRelease"]["Cause"]
    assert finish["failures"]["rollback"] is None and finish["failures"]["awaitRollback"] is None


def test_a_rollback_with_retryable_failed_restores_is_retried_then_awaited(run):
    # The rollback records its restores, then fails with Throttled when every failed restore may succeed later.
    attempts = iter([FunctionError("Throttled", "1 of 3 restores failed and may succeed on a retry: prod/web"),
                     {"pending": 1, "failed": 0}])

    def rollback(_):
        answer = next(attempts)
        if isinstance(answer, Exception):
            raise answer
        return answer

    rounds = iter([{"pending": 0, "failed": 1}, {"pending": 0, "failed": 0}])
    f = Functions(**{"check-stability": lambda _: next(rounds), "rollback": rollback})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert len(f.calls["rollback"]) == 2 and f.calls["rollback"][0] == f.calls["rollback"][1]
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release", "rollback"]
    failures = f.calls["finish-release"][0]["failures"]
    assert failures["rollback"] is None and failures["awaitRollback"] is None


def test_a_rollback_that_keeps_failing_is_caught_and_the_release_still_reported(run):
    # Retries exhausted (or any error the state machine does not retry): the records it wrote make the report.
    def rollback_down(_):
        raise FunctionError("AccessDenied", "access denied: ecs:UpdateService")

    f = Functions(**{"check-stability": lambda _: {"pending": 0, "failed": 1}, "rollback": rollback_down})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert len(f.calls["rollback"]) == 1
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release"]
    failures = f.calls["finish-release"][0]["failures"]
    assert failures["rollback"]["Error"] == "AccessDenied" and failures["awaitRollback"] is None


def test_a_map_failing_as_a_whole_rolls_back_from_the_records(run):
    # Every Map task catches States.ALL, so only an engine error fails a Map as a whole: AWS does not let a Catch
    # handle those (States.Runtime), moto's engine hands them to the Map's Catch. Here DeployServices finds no
    # list to iterate after DeployScheduledTasks changed the rule.
    sample = Functions()

    def plan(event):
        return sample.plan(event) | {"services": {"prod/web": "not a list"}}

    f = Functions(**{"plan-release": plan})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert len(entered(d, "DeployInterrupted")) == 1 and entered(d, "CollectResults") == []
    assert [e["item"]["id"] for e in f.calls["update-scheduled-rule"]] == ["default/nightly-report"]
    # The rollback gets what the state has (the rule's id, no service) and reads every result record written.
    assert f.calls["rollback"] == [{"releaseId": RELEASE_ID, "records": records(),
                                    "deploy": {"tasks": [{"id": "default/nightly-report"}], "services": []}}]
    assert "check-stability" not in f.calls
    assert f.calls["finish-release"][0]["deploy"] == f.calls["rollback"][0]["deploy"]
    # Why the Map failed reaches the report as a step failure.
    assert f.calls["finish-release"][0]["failures"]["deploy"]["Error"] == "States.QueryEvaluationError"


def test_a_no_op_release_runs_empty_maps_and_succeeds_without_waiting(run):
    services = [dict(s, noop=True) for s in plan_services()]
    tasks = [dict(r, noop=True, targets=[dict(t, noop=True) for t in r["targets"]]) for r in plan_tasks()]
    f = Functions(services, tasks)
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    (plan,) = exited(d, "PlanRelease")
    assert plan["plan"]["services"] == [] and plan["plan"]["tasks"] == [] and plan["plan"]["unchanged"] == 4
    assert not any(e["type"] == "MapIterationStarted" for e in d["history"])
    assert set(f.calls) == {"plan-release", "finish-release"}
    assert f.calls["finish-release"][0]["deploy"] == {"tasks": [], "services": []}
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 0, "failed": 0}
    assert json.loads(d["output"])["outcome"] == "Succeeded"


def test_a_thousand_failing_services_keep_the_state_small(run):
    """Ids, counts and error names only: 1,000 changed services with long ids, every one failing with a cause as
    long as a function may send (24 KiB), still reach FinishRelease, and no state grows with the causes."""
    n = 1000
    services = [{"id": f"platform-production-eu-west-1-{i % 7}/checkout-payments-api-service-{i:04}",
                 "cluster": f"platform-production-eu-west-1-{i % 7}", "service": f"checkout-payments-api-service-{i:04}",
                 "previousTaskDefinition": td(f"checkout-payments-api-service-{i:04}", 41),
                 "images": {"app": image("checkout-payments-api", "v2.31.0")}, "noop": False, "timeoutSeconds": 900}
                for i in range(n)]
    long_cause = "task definition rejected: " + "x" * (24 * 1024 - 26)

    def register(event):
        raise FunctionError("TaskDefinitionRejected", long_cause)

    f = Functions(services, [], **{"register-task-definition": register})
    d = run(f, release_with(maxConcurrency=40), timeout=600)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert len(f.calls["register-task-definition"]) == n and len(f.calls["finish-release"]) == 1
    finish = f.calls["finish-release"][0]
    assert len(kept_results(finish["deploy"])["services"]) == n
    assert all(r["error"] == {"Error": "TaskDefinitionRejected"} for r in finish["deploy"]["services"])
    # The report the execution ends with is bounded; report.json has every item.
    report = json.loads(d["cause"])
    assert report["omittedItems"] == n - 20 and report["fullReport"].endswith("/report.json")

    # No state outside a Map iteration carries a cause (an iteration holds its own until its Catch state).
    top_level = set(render()["States"])
    assert not [where for _, where, text in payloads(d)
                if where.split(" ")[1] in top_level and long_cause[-100:] in text]
    # The state grows by an id twice (the plan's list, the Map's result) and an error name per changed item, and
    # by nothing else: measured 188,526 B here, ≈ 190 B per item with these 66-character ids, so ≈ 1,380 such
    # failing items fit in 256 KiB.
    largest, where, _ = max(payloads(d))
    ids = sum(len(json.dumps(s["id"])) + 1 for s in services)
    kept = len(json.dumps(finish["deploy"], separators=(",", ":")))
    assert largest <= ids + kept + 2048, (largest, where)
    assert largest < PAYLOAD_LIMIT, (largest, where)
    print(f"\n{n} failing services: largest state payload {largest} B ({largest / 1024:.0f} KiB) at {where}")

