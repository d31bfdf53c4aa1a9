"""The release state machine's data flow, run on moto's Step Functions engine (the local and CI engine) with
scripted functions in place of the Lambdas: which function is called with what, and how each outcome ends.
The Rust functions' own behaviour is tested in their crates and end to end in local/; this pins the ASL.

Per-item records live in S3 (docs/decisions/0003, 0006): plan-release returns counts only and writes the plan
cut into batches (`waves/<k>/batches.json`, one element per batch, and `waves/<k>/batches/<i>.json`, its items);
the DeployWave Distributed Map reads `batches.json` with its ItemReader and runs one child per element, whose
DeployBatch calls deploy-batch until nothing remains. The plan-release stand-in writes these objects into the
mocked records bucket as plan-release does, the deploy-batch stand-in writes each batch's `summary.json`, and the
check-stability stand-in's first release round reads the summaries (failed items, batches without one), so the
state the engine carries holds counts and error names only. The sample events in events/ are what the state
machine hands each function.

    PYTHONPATH=local .tools/venv/bin/python -m pytest tools/test_asl_flow.py   # venv from local/install.sh

The definition is the local stack's (convoy_local.render: the function binaries template.yaml names), with
waits and Retry intervals capped to 1 s (moto really waits).

What these tests rely on in moto 5.2.5's engine, and where it differs from AWS (docs/decisions/0006 lists the
rest):
- Under `mock_aws` the engine's own S3 client (ItemReader) is intercepted in-process: it reads the same mocked
  bucket the stand-ins write (asserted by every scenario that deploys).
- A Distributed Map's children are threads of the parent: their states (DeployBatch, BatchVerdict, BatchFailed)
  leave no events in the parent's history and there are no child executions. The tests see the children through
  the calls the stand-ins record and through DescribeMapRun's counts.
- ToleratedFailurePercentage is parsed and ignored: a failed child is counted (`itemCounts.failed`), its result
  is null and the Map run succeeds. On AWS, 100 % tolerates every failure, so the Map ends the same way.
- An ItemReader that cannot read its object (NoSuchKey) fails the Map with States.Runtime, which moto hands to
  the Map's Catch (States.ALL). AWS names it States.ItemReaderFailed, which States.ALL catches too (AWS never
  lets a Catch handle States.Runtime).
"""
import io
import json
from datetime import datetime
import pathlib
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
NO_FAILURES = {"deploy": None, "awaitRelease": None, "rollback": None, "awaitRollback": None}
PACE = {"registrations": {"burst": 20, "refillIntervalMs": 1000}, "updates": {"burst": 50, "refillIntervalMs": 200}}


def event(name):
    """The sample input of a function, without what the engine fills from its clock (`startedAt`)."""
    sample = json.loads((EVENTS / f"{name}.json").read_text())
    sample.pop("startedAt", None)
    return sample


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


def s3():
    return boto3.client("s3", region_name=REGION)


def put_json(key, body):
    s3().put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())


def get_json(key):
    try:
        return json.loads(s3().get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except s3().exceptions.NoSuchKey:
        return None


class FunctionError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type, self.message = error_type, message


class Functions:
    """Scripted stand-ins for the six functions the state machine calls; records every call's input. The plan
    items reach S3 as plan-release leaves them (`batch_size` changed items a batch, all in one by default); the
    state machine only ever sees counts.

    `fail`: the items deploy-batch records as failed, with their error names. `batches_json=False`: plan-release
    writes every batch's items but no `batches.json` (the ItemReader fails). `waves`: item id -> its wave (what
    `dependsOn` makes; 0 when not named), each wave cut into its own batches.

    check-stability and rollback return StabilityCounts, whose `remainingWaves` the Rust type always carries: a
    stand-in that leaves it out answers 0, except check-stability's rollback rounds, which carry over the last
    rollback call's (as the function does from its record)."""

    def __init__(self, services=None, tasks=None, batch_size=None, batches_json=True, fail=None, waves=None,
                 **overrides):
        self.fail = fail or {}  # item id -> the error name deploy-batch records for it
        self.waves = waves or {}  # item id -> its wave
        self.services = {s["id"]: s for s in (plan_services() if services is None else services)}
        self.tasks = {r["id"]: r for r in (plan_tasks() if tasks is None else tasks)}
        self.batch_size, self.batches_json = batch_size, batches_json
        self.calls = {}
        self.referenced = {}  # releaseRef -> the release its object holds
        self.batches = []  # [(records, spec, {"services": [...], "tasks": [...]}, wave)] as plan-release wrote them
        self.sequence = []  # (function, wave) of every deploy-batch and check-stability call, in order
        self.restored = []  # the waves the rollback restored, one a call
        self.deployed, self.failed = set(), {}  # item ids; failed: id -> error name
        self.handlers = {
            "plan-release": self.plan,
            "deploy-batch": self.deploy_batch,
            "check-stability": self.judge,
            "rollback": self.restore,
            "finish-release": self.report,
        }
        self.handlers.update(overrides)

    def invoke(self, FunctionName, Payload, **_):
        name = FunctionName.rsplit(":", 1)[-1]
        event = json.loads(Payload) if Payload else None
        if name in ("plan-release", "finish-release"):
            # $$.Execution.StartTime, for the release events: a timestamp, set aside so inputs compare exactly.
            started = event.pop("startedAt")
            assert datetime.fromisoformat(started.replace("Z", "+00:00")).tzinfo, started
        self.calls.setdefault(name, []).append(event)
        if name in ("deploy-batch", "check-stability"):
            self.sequence.append((name, event.get("wave")))
        try:
            body, error = self.handlers[name](event), None
        except FunctionError as e:
            body, error = {"errorType": e.error_type, "errorMessage": e.message}, "Unhandled"
        else:
            if name == "rollback" or name == "check-stability" and event["phase"] == "rollback":
                body = {"remainingWaves": self.remaining_waves(), **body}
            elif name == "check-stability":
                body = {"remainingWaves": 0, **body}
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
        if error:
            response["FunctionError"] = error
        return response

    def changed(self):
        return ([("service", s) for s in self.services.values() if not s["noop"]]
                + [("rule", r) for r in self.tasks.values() if not r["noop"]])

    def plan(self, event):
        release = event["release"]
        if "releaseRef" in release:  # plan-release reads a release started by reference from S3
            release = self.referenced[release["releaseRef"]]
        release_id = release["release"]["id"]
        recs = records(event["executionName"], release_id)
        changed = self.changed()

        def wave_of(item):
            return self.waves.get(item["id"], 0)

        put_json(recs["prefix"] + "plan.json", {
            kind: [dict(i, wave=wave_of(i)) if wave_of(i) else i for i in items.values()]
            for kind, items in (("services", self.services), ("tasks", self.tasks))})
        waves = max((wave_of(i) + 1 for _, i in changed), default=0)
        for wave in range(waves):
            in_wave = [(k, i) for k, i in changed if wave_of(i) == wave]
            assert in_wave, f"wave {wave} is empty: plan-release numbers the waves of changed items without gaps"
            size = self.batch_size or len(in_wave)
            specs = []
            for index, start in enumerate(range(0, len(in_wave), size)):
                part = in_wave[start:start + size]
                items = {"services": [i for k, i in part if k == "service"],
                         "tasks": [i for k, i in part if k == "rule"]}
                registrations = {i["previousTaskDefinition"] for i in items["services"]} | {
                    t["previousTaskDefinition"] for r in items["tasks"] for t in r["targets"] if not t["noop"]}
                spec = {"batch": index, "items": len(part), "registrations": len(registrations), "pace": PACE}
                put_json(f"{recs['prefix']}waves/{wave}/batches/{index}.json", items)
                specs.append(spec)
                self.batches.append((recs, spec, items, wave))
            if self.batches_json:
                put_json(f"{recs['prefix']}waves/{wave}/batches.json", specs)
        return {"releaseId": release_id, "records": recs, "settings": release["settings"],
                "waves": waves, "changed": len(changed),
                "unchanged": len(self.services) + len(self.tasks) - len(changed)}

    def batch_items(self, event):
        """The batch's items, read as deploy-batch reads them: waves/<k>/batches/<i>.json."""
        key = f"{event['records']['prefix']}waves/{event['wave']}/batches/{event['batch']['batch']}.json"
        items = get_json(key)
        assert items is not None, f"deploy-batch found no {key}"
        return [i["id"] for i in items["services"] + items["tasks"]]

    def summarize(self, event, ids, remaining=0):
        """Deploys the batch's items but the last `remaining` (failing those in `fail`); writes its summary.json."""
        done = ids[:len(ids) - remaining]
        for i in done:
            if i in self.fail:
                self.failed[i] = self.fail[i]
            else:
                self.deployed.add(i)
        failed_items = [{"kind": "rule" if i in self.tasks else "service", "id": i, "error": self.failed[i]}
                        for i in ids if i in self.failed]
        spec = event["batch"]
        put_json(f"{event['records']['prefix']}waves/{event['wave']}/batches/{spec['batch']}/summary.json",
                 {"batch": spec["batch"], "items": spec["items"], "done": len(done), "remaining": remaining,
                  "failed": failed_items, "calls": {"registered": spec["registrations"], "reused": 0,
                                                    "updated": len(done), "throttled": 0, "unavailable": 0},
                  "invocations": 1})
        return {"remaining": remaining, "failed": len(failed_items)}

    def deploy_batch(self, event):
        return self.summarize(event, self.batch_items(event))

    def deploy_failures(self, event):
        """What the first release round reads from the wave's records: failed items, and every item of a batch
        that ended without a summary."""
        failed = 0
        for recs, spec, items, wave in self.batches:
            if recs != event["records"] or wave != event["wave"]:
                continue
            summary = get_json(f"{recs['prefix']}waves/{event['wave']}/batches/{spec['batch']}/summary.json")
            failed += spec["items"] if summary is None else len(summary["failed"])
        return failed

    def judge(self, event, pending=0):
        failed = self.deploy_failures(event) if event["phase"] == "release" else 0
        return {"pending": pending, "failed": failed}

    def judge_rounds(self, *pending):
        """A check-stability whose release rounds report these pending counts (plus the recorded deploy failures)."""
        rounds = iter(pending)
        return lambda e: self.judge(e, next(rounds)) if e["phase"] == "release" else {"pending": 0, "failed": 0}

    def restore(self, event, pending=0):
        """The rollback's contract: it restores the wave its input names (the wave the release stopped in, then
        each below it, named by RollbackNextWave); `remainingWaves` are the waves below it. `pending`: the
        deployments it started (awaited by AwaitRollback)."""
        wave = event["wave"]
        assert not self.restored or wave == self.restored[-1] - 1, f"wave {wave} after {self.restored}"
        self.restored.append(wave)
        return {"pending": pending, "failed": 0, "remainingWaves": wave}

    def restore_rounds(self, *pending):
        """A rollback whose calls start these many deployments each."""
        rounds = iter(pending)
        return lambda e: self.restore(e, next(rounds))

    def remaining_waves(self):
        """What the last rollback call left to roll back (0 before any)."""
        return self.restored[-1] if self.restored else 0

    def report(self, event):
        """A bounded ReleaseReport: failures first, at most 20 items, the rest in report.json."""
        failures = event["failures"]
        items = [{"id": i["id"], "kind": kind,
                  "outcome": "Unchanged" if i["noop"] else "Failed" if i["id"] in self.failed
                  else "Deployed" if i["id"] in self.deployed else "NotStarted",
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
    its history under "history" and DescribeMapRun of each of its map runs under "mapRuns"."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        s3().create_bucket(Bucket=BUCKET)
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
                    break
            d["mapRuns"] = [sfn.describe_map_run(mapRunArn=m["mapRunArn"])
                            for m in sfn.list_map_runs(executionArn=ex)["mapRuns"]]
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


def states(d):
    """The parent's states in the order entered."""
    return [e["stateEnteredEventDetails"]["name"] for e in d["history"] if "stateEnteredEventDetails" in e]


def payloads(d):
    """(bytes, where, text) of every state input/output and task parameters the history carries."""
    for e in d["history"]:
        for key, details in e.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output", "parameters"):
                    if isinstance(text := details.get(field), str):
                        yield len(text.encode()), f"{e['type']} {details.get('name', '')} .{field}", text


def counts(map_run):
    """(items, succeeded, failed, child executions) of a DescribeMapRun."""
    items, executions = map_run["itemCounts"], map_run["executionCounts"]
    return items["total"], items["succeeded"], items["failed"], executions["total"]


def without(sample, *keys):
    return {k: v for k, v in sample.items() if k not in keys}


def batch_input(spec, name=RELEASE_ID, wave=0):
    """What DeployWave's ItemSelector hands deploy-batch for one element of wave `wave`'s batches.json."""
    return {"releaseId": RELEASE_ID, "records": records(name), "wave": wave, "batch": spec,
            "executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:convoy-release:{name}"}


def test_success_deploys_only_changed_items_awaits_them_and_outputs_the_report(run):
    f = Functions()
    f.handlers["check-stability"] = f.judge_rounds(2, 0)
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    finish = f.calls["finish-release"][0]
    assert json.loads(d["output"]) == f.report(finish)
    # PlanRelease gets the release, the execution name (the records prefix) and the execution's
    # ARN (the holder of the release's locks); it returns counts only.
    [call] = f.calls["plan-release"]
    assert call == {
        "release": event("release"),
        "executionName": RELEASE_ID,
        "executionArn": call["executionArn"],
    }
    assert call["executionArn"].startswith("arn:aws:states:")
    assert ":execution:" in call["executionArn"]
    assert call["executionArn"].endswith(f":{RELEASE_ID}")
    (plan,) = exited(d, "PlanRelease")
    assert plan == {"plan": {"releaseId": RELEASE_ID, "records": records(), "settings": event("release")["settings"],
                             "waves": 1, "changed": 3, "unchanged": 1},
                    "wave": {"index": 0, "next": 0}, "stability": None, "rollbackStability": None,
                    "failures": NO_FAILURES}
    assert states(d) == ["PlanRelease", "HasChanges", "WaveStart", "DeployWave", "AwaitRelease", "ReleaseVerdict",
                         "AwaitRelease", "ReleaseVerdict", "FinishRelease", "ReleaseOutcome", "ReleaseSucceeded"]
    # The Map reads the wave's batch list from the records (the ItemReader's S3 client is moto's in-process one).
    (wave,) = exited(d, "WaveStart")
    assert wave["wave"] == {"index": 0, "next": 1, "itemsKey": f"{records()['prefix']}waves/0/batches.json"}
    # One batch of the changed items only: the noop service is in no batch and costs no call.
    [(_, spec, _, _)] = f.batches
    assert spec["items"] == 3
    assert f.calls["deploy-batch"] == [batch_input(spec)]
    assert f.deployed == {"prod/web", "prod/worker", "default/nightly-report"}
    assert [counts(m) for m in d["mapRuns"]] == [(1, 1, 0, 1)]
    assert ":mapRun:convoy-release/wave:" in d["mapRuns"][0]["mapRunArn"]  # the Label
    # ResultPath null: the Map adds nothing to the state.
    assert exited(d, "DeployWave") == entered(d, "DeployWave")
    assert finish == {"releaseId": RELEASE_ID, "executionArn": call["executionArn"], "records": records(),
                      "failures": NO_FAILURES}
    # The first round seeds itself from the wave's records: every round is the same small input.
    assert f.calls["check-stability"] == [
        {"releaseId": RELEASE_ID, "records": records(), "pollIntervalSeconds": 5, "phase": "release",
         "wave": 0}] * 2
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 2, "failed": 0, "remainingWaves": 0}
    assert "rollback" not in f.calls


def test_the_sample_events_are_what_the_state_machine_hands_each_function(run):
    f = Functions()
    run(f)
    assert f.calls["plan-release"] == [event("plan-release")]
    # events/deploy-batch.json is another release's: the same fields, at every level.
    (batch,) = f.calls["deploy-batch"]
    sample = event("deploy-batch")
    assert set(batch) == set(sample)
    assert set(batch["batch"]) == set(sample["batch"]) and batch["batch"]["pace"] == sample["batch"]["pace"]
    assert set(batch["records"]) == set(sample["records"]) and batch["wave"] == sample["wave"] == 0
    # StabilityInput.wave defaults to 0, the wave of the sample.
    assert f.calls["check-stability"][0] == {**event("check-stability"), "wave": 0}
    # events/rollback.json and events/finish-release.json are checked by the rollback scenarios below.


def test_two_executions_of_one_release_keep_separate_records(run):
    f = Functions()
    d = run(f, name=f"{RELEASE_ID}-retry")
    assert d["status"] == "SUCCEEDED", d
    assert f.calls["plan-release"][0]["executionName"] == f"{RELEASE_ID}-retry"
    expected = records(f"{RELEASE_ID}-retry")
    assert {json.dumps(e["records"]) for calls in f.calls.values() for e in calls if "records" in e} == {
        json.dumps(expected)}
    # The Map read this execution's batch list, and the batch its own execution's ARN.
    assert exited(d, "WaveStart")[0]["wave"]["itemsKey"] == f"{expected['prefix']}waves/0/batches.json"
    assert f.calls["deploy-batch"] == [batch_input(f.batches[0][1], f"{RELEASE_ID}-retry")]
    assert json.loads(d["output"])["fullReport"] == f"s3://{BUCKET}/{expected['prefix']}report.json"


def test_a_rejected_plan_fails_with_its_error_and_changes_nothing(run):
    def refuse(_):
        raise FunctionError("PreflightFailed", "pre-flight failed: 1 problem\n  - prod/web: service not found")

    f = Functions(**{"plan-release": refuse})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "PreflightFailed", d
    assert "prod/web: service not found" in json.loads(d["cause"])["errorMessage"]
    assert list(f.calls) == ["plan-release"]
    assert d["mapRuns"] == []


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
    assert f.calls["deploy-batch"] == [batch_input(f.batches[0][1])]
    assert f.calls["check-stability"][0] == {**event("check-stability"), "wave": 0}


def test_an_item_failure_rolls_back_everything_at_once_with_policy_all(run):
    """deploy-batch records the item's failure and reports it in its progress; the batch itself succeeds. The first
    AwaitRelease round counts it from the batch's summary, and policy all rolls back at once."""
    f = Functions(fail={"prod/worker": "TaskDefinitionRejected"})
    rounds = iter([1, 0])
    f.handlers["rollback"] = lambda _: {"pending": 1, "failed": 0}
    f.handlers["check-stability"] = lambda e: (f.judge(e) if e["phase"] == "release"
                                               else {"pending": next(rounds), "failed": 0})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert json.loads(d["cause"]) == f.report(f.calls["finish-release"][0])
    assert [counts(m) for m in d["mapRuns"]] == [(1, 1, 0, 1)]
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 0, "failed": 1, "remainingWaves": 0}
    # The rollback gets the release's records and the wave it stopped in (RollbackInput.deploy defaults: it reads
    # the records itself); events/rollback.json is a release stopped in wave 1.
    assert f.calls["rollback"] == [{**event("rollback"), "wave": 0}]
    # Policy all: one release round (the failure is counted there), then the rollback's deployments until settled.
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release", "rollback", "rollback"]
    assert f.calls["check-stability"][1:] == [without(event("check-stability"), "wave") | {"phase": "rollback"}] * 2
    assert entered(d, "FinishRelease")[0]["rollbackStability"] == {"pending": 0, "failed": 0, "remainingWaves": 0}
    finish = f.calls["finish-release"][0]
    assert "deploy" not in finish and not any(finish["failures"].values())
    assert json.loads(d["cause"])["items"][0] == {
        "id": "prod/worker", "kind": "service", "outcome": "Failed", "previousTaskDefinition": "td:1",
        "finalTaskDefinition": "td:1"}


def test_a_failing_rollback_judge_is_caught_and_the_release_still_reported(run):
    def judge(e):
        if e["phase"] == "rollback":
            raise FunctionError("AccessDenied", "access denied: ecs:DescribeServices on cluster prod")
        return f.judge(e)

    f = Functions(fail={"prod/worker": "TaskDefinitionRejected"}, **{"check-stability": judge})
    f.handlers["rollback"] = lambda _: {"pending": 1, "failed": 0}
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release", "rollback"]  # AccessDenied: no retry
    # FinishInput.deploy defaults: the report is built from the records.
    assert f.calls["finish-release"] == [event("finish-release")]


def test_with_policy_failed_every_deployment_is_judged_before_rolling_back(run):
    f = Functions(fail={"prod/worker": "ContainerNotFound"})
    f.handlers["check-stability"] = f.judge_rounds(1, 0)
    f.handlers["rollback"] = lambda _: {"pending": 1, "failed": 0}
    d = run(f, release_with(rollback="failed"))
    assert d["status"] == "FAILED", d
    # One judge, two phases: the release's deployments, then the ones the rollback started.
    assert [e["phase"] for e in f.calls["check-stability"]] == ["release", "release", "rollback"]
    # The failed item is counted from the first round on, not awaited; the started deployment is awaited.
    assert [s["stability"] for s in entered(d, "ReleaseVerdict")] == [
        {"pending": 1, "failed": 1, "remainingWaves": 0}, {"pending": 0, "failed": 1, "remainingWaves": 0}]
    assert f.calls["rollback"] == [{"releaseId": RELEASE_ID, "records": records(), "wave": 0}]


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
    assert f.calls["rollback"] == [{"releaseId": RELEASE_ID, "records": records(), "wave": 0}]
    assert len(f.calls["check-stability"]) == 1  # policy all: the first failure stops the waiting
    # The rollback started nothing: no AwaitRollback round.
    assert entered(d, "FinishRelease")[0]["rollbackStability"] == {"pending": 0, "failed": 0, "remainingWaves": 0}
    assert entered(d, "AwaitRollback") == []


def test_throttling_is_retried_and_a_failing_judge_still_rolls_back_and_reports(run):
    """A batch whose call fails with Throttled (ECS still throttling after its own attempts) is called again by the
    child's Retry, with the same input; it resumes from its records."""
    throttled = [1]

    def deploy(event):
        if throttled[0] > 0:
            throttled[0] -= 1
            raise FunctionError("Throttled", "throttled: RegisterTaskDefinition rate exceeded")
        return f.deploy_batch(event)

    def judge_down(_):
        raise FunctionError("AccessDenied", "access denied: ecs:DescribeServices")

    f = Functions(**{"deploy-batch": deploy, "check-stability": judge_down})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert len(f.calls["deploy-batch"]) == 2 and f.calls["deploy-batch"][0] == f.calls["deploy-batch"][1]
    assert [counts(m) for m in d["mapRuns"]] == [(1, 1, 0, 1)]
    assert f.deployed == {"prod/web", "prod/worker", "default/nightly-report"}
    finish = f.calls["finish-release"][0]
    assert len(f.calls["check-stability"]) == 1  # AccessDenied is not retried
    assert len(f.calls["rollback"]) == 1
    # A step that fails as a whole keeps its Catch result (one per step, bounded by the function's message cap).
    assert finish["failures"]["awaitRelease"]["Error"] == "AccessDenied"
    assert "ecs:DescribeServices" in finish["failures"]["awaitRelease"]["Cause"]
    assert finish["failures"]["deploy"] is None
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


def test_a_no_op_release_runs_no_map_and_succeeds_without_waiting(run):
    services = [dict(s, noop=True) for s in plan_services()]
    tasks = [dict(r, noop=True, targets=[dict(t, noop=True) for t in r["targets"]]) for r in plan_tasks()]
    f = Functions(services, tasks)
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    (plan,) = exited(d, "PlanRelease")
    assert plan["plan"]["waves"] == 0 and plan["plan"]["changed"] == 0 and plan["plan"]["unchanged"] == 4
    assert states(d) == ["PlanRelease", "HasChanges", "FinishRelease", "ReleaseOutcome", "ReleaseSucceeded"]
    assert d["mapRuns"] == [] and not any(e["type"].startswith("MapRun") for e in d["history"])
    assert set(f.calls) == {"plan-release", "finish-release"}
    assert f.calls["finish-release"][0]["failures"] == NO_FAILURES
    assert json.loads(d["output"])["outcome"] == "Succeeded"


def test_a_batch_that_needs_several_calls_is_called_until_nothing_remains(run):
    """A call stops starting work when its budget is spent and reports what remains: BatchVerdict calls again until
    remaining is 0, each time with the batch's own input (BatchInput takes no other field)."""
    remaining = iter([2, 1, 0])

    def deploy(event):
        return f.summarize(event, f.batch_items(event), remaining=next(remaining))

    f = Functions(**{"deploy-batch": deploy})
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    assert f.calls["deploy-batch"] == [batch_input(f.batches[0][1])] * 3
    assert f.deployed == {"prod/web", "prod/worker", "default/nightly-report"}
    assert [counts(m) for m in d["mapRuns"]] == [(1, 1, 0, 1)]
    assert json.loads(d["output"])["outcome"] == "Succeeded"


def test_several_batches_run_as_one_child_each_with_its_own_batch(run):
    services = [dict(plan_services()[0], id=f"prod/web-{i}", service=f"web-{i}",
                     previousTaskDefinition=td(f"web-{i}", 41)) for i in range(5)]
    f = Functions(services, plan_tasks(), batch_size=2)
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    specs = [spec for _, spec, _, _ in f.batches]
    assert [s["items"] for s in specs] == [2, 2, 2]
    assert sorted(f.calls["deploy-batch"], key=lambda e: e["batch"]["batch"]) == [batch_input(s) for s in specs]
    assert f.deployed == {*(s["id"] for s in services), "default/nightly-report"}
    assert [counts(m) for m in d["mapRuns"]] == [(3, 3, 0, 3)]
    # However many batches, the state is the same: the Map adds nothing to it.
    assert exited(d, "DeployWave") == entered(d, "DeployWave")
    assert len(f.calls["check-stability"]) == 1


def test_a_batch_whose_calls_keep_failing_ends_its_child_and_the_wave_is_judged_and_rolled_back(run):
    """The child's DeployBatch fails after its retries: BatchFailed ends that child, the Map run still ends (every
    failure tolerated; moto ignores ToleratedFailurePercentage and counts the child failed) and AwaitRelease
    judges the wave: the batch left no summary, so its items count as failed and the release rolls back."""
    def deploy(event):
        if event["batch"]["batch"] == 1:
            raise FunctionError("AwsUnavailable", "ecs unavailable after every attempt: " + "x" * 1000)
        return f.deploy_batch(event)

    f = Functions(batch_size=2, **{"deploy-batch": deploy})
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    calls = [e["batch"]["batch"] for e in f.calls["deploy-batch"]]
    assert calls.count(0) == 1 and calls.count(1) == 7  # the first call and 6 retries
    assert [counts(m) for m in d["mapRuns"]] == [(2, 1, 1, 2)]
    assert [e["type"] for e in d["history"] if e["type"].startswith("MapRun")] == ["MapRunStarted",
                                                                                   "MapRunSucceeded"]
    # The Map succeeded: nothing caught, and the child's cause never reaches the release's state.
    assert exited(d, "DeployWave") == entered(d, "DeployWave")
    assert "ecs unavailable" not in json.dumps([text for _, _, text in payloads(d)])
    assert states(d)[3:6] == ["DeployWave", "AwaitRelease", "ReleaseVerdict"]
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 0, "failed": 1, "remainingWaves": 0}
    assert f.calls["rollback"] == [{"releaseId": RELEASE_ID, "records": records(), "wave": 0}]
    assert f.calls["finish-release"][0]["failures"] == NO_FAILURES


def test_a_map_failing_as_a_whole_is_caught_and_the_wave_still_judged(run):
    """The ItemReader cannot read the wave's batch list: the Map fails before any child starts, its Catch keeps
    why in failures.deploy and AwaitRelease judges the wave from the records: no batch left a summary, so every
    item counts as failed and the release rolls back (restoring whatever the records say was changed). moto names
    the error States.Runtime (AWS: States.ItemReaderFailed); both reach the Catch."""
    f = Functions(batches_json=False)
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert "deploy-batch" not in f.calls
    assert states(d)[3:6] == ["DeployWave", "AwaitRelease", "ReleaseVerdict"]
    failure = entered(d, "AwaitRelease")[0]["failures"]["deploy"]
    assert failure["Error"] == "States.Runtime" and "NoSuchKey" in failure["Cause"], failure
    assert f.calls["check-stability"] == [{**event("check-stability"), "wave": 0}]
    assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 0, "failed": 3, "remainingWaves": 0}
    assert f.calls["rollback"] == [{"releaseId": RELEASE_ID, "records": records(), "wave": 0}]
    # Why the Map failed reaches the report as a step failure.
    finish = f.calls["finish-release"][0]
    assert finish["failures"]["deploy"] == failure
    assert json.loads(d["cause"])["problems"] == [f"deploy failed: {failure['Error']}"]


def test_a_thousand_failing_services_keep_the_state_small(run):
    """Counts only: 1,000 changed services with long ids in 20 batches, every item failing and half the batches
    failing as a whole with a cause as long as a function may send (24 KiB), still reach FinishRelease, and the
    largest state is the same as for 10 such services: nothing in it grows with the release."""
    long_cause = "ecs unavailable after every attempt: " + "x" * (24 * 1024 - 37)

    def release(n, name):
        services = [{"id": f"platform-production-eu-west-1-{i % 7}/checkout-payments-api-service-{i:04}",
                     "cluster": f"platform-production-eu-west-1-{i % 7}",
                     "service": f"checkout-payments-api-service-{i:04}",
                     "previousTaskDefinition": td(f"checkout-payments-api-service-{i:04}", 41),
                     "images": {"app": image("checkout-payments-api", "v2.31.0")}, "noop": False,
                     "timeoutSeconds": 900} for i in range(n)]

        def deploy(event):
            if event["batch"]["batch"] % 2:
                raise FunctionError("AccessDenied", long_cause)
            return f.deploy_batch(event)

        f = Functions(services, [], batch_size=max(n // 20, 1), fail={s["id"]: "TaskDefinitionRejected"
                                                                      for s in services},
                      **{"deploy-batch": deploy})
        d = run(f, release_with(maxConcurrency=20), name=name, timeout=300)
        assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
        assert entered(d, "ReleaseVerdict")[0]["stability"] == {"pending": 0, "failed": n, "remainingWaves": 0}
        assert len(f.calls["finish-release"]) == 1
        assert [counts(m) for m in d["mapRuns"]] == [(min(n, 20), min(n, 20) // 2, min(n, 20) // 2, min(n, 20))]
        assert long_cause[-100:] not in json.dumps([text for _, _, text in payloads(d)])
        # The report the execution ends with is bounded; report.json has every item.
        report = json.loads(d["cause"])
        assert report["omittedItems"] == n - 20 if n > 20 else report["omittedItems"] == 0
        state = [(size, where) for size, where, text in payloads(d) if '"omittedItems"' not in text]
        bounded = [(size, where) for size, where, text in payloads(d) if '"omittedItems"' in text]
        return max(state), max(bounded)

    small, small_report = release(10, "release-n0010")
    largest, report = release(1000, "release-n1000")
    # Only the counts' digits differ (changed 10 / 1000, failed 10 / 1000 in a few states).
    assert largest[0] - small[0] <= 16, (small, largest)
    assert largest[0] < 4 * 1024, largest
    # The report (finish-release's output, the execution's cause) is bounded by its 20 items, not by N.
    assert report[0] < 8 * 1024, report
    print(f"\n1000 failing services: largest state {largest[0]} B at {largest[1]} (10 services: {small[0]} B); "
          f"report {report[0]} B (10 services: {small_report[0]} B)")


# Waves: dependsOn orders the items into waves (docs/decisions/0006); the sample's three changed items, one a wave.
THREE_WAVES = {"prod/web": 0, "prod/worker": 1, "default/nightly-report": 2}
WAVE = ["WaveStart", "DeployWave", "AwaitRelease", "ReleaseVerdict"]
ROLLBACK_WAVE = ["RollbackRelease", "RollbackVerdict", "AwaitRollback", "RollbackVerdict"]


def stability(pending, failed, remaining_waves=0):
    """StabilityCounts as check-stability and rollback return them."""
    return {"pending": pending, "failed": failed, "remainingWaves": remaining_waves}


def items_key(wave, name=RELEASE_ID):
    return f"{records(name)['prefix']}waves/{wave}/batches.json"


def outcomes(report):
    return {i["id"]: i["outcome"] for i in report["items"]}


def test_three_waves_deploy_in_order_each_judged_all_deployed_before_the_next_starts(run):
    """WaveStart takes the next wave (its index, the one after it, its batch list), DeployWave runs that wave's
    batches, AwaitRelease judges that wave, and ReleaseVerdict starts the next wave only when this one is all
    Deployed and one is left."""
    f = Functions(waves=THREE_WAVES)
    f.handlers["check-stability"] = f.judge_rounds(1, 0, 0, 0)  # wave 0 is awaited a second round
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    (plan,) = exited(d, "PlanRelease")
    assert plan["plan"]["waves"] == 3 and plan["wave"] == {"index": 0, "next": 0}
    assert states(d) == ["PlanRelease", "HasChanges", *WAVE, "AwaitRelease", "ReleaseVerdict", *WAVE, *WAVE,
                         "FinishRelease", "ReleaseOutcome", "ReleaseSucceeded"]
    assert [s["wave"] for s in exited(d, "WaveStart")] == [
        {"index": k, "next": k + 1, "itemsKey": items_key(k)} for k in range(3)]
    # Three Map runs, in wave order, each reading its own wave's batch list (and only that wave's items).
    assert [s["wave"]["itemsKey"] for s in entered(d, "DeployWave")] == [items_key(k) for k in range(3)]
    assert [counts(m) for m in d["mapRuns"]] == [(1, 1, 0, 1)] * 3
    assert [(wave, [i["id"] for i in items["services"] + items["tasks"]]) for _, _, items, wave in f.batches] == [
        (0, ["prod/web"]), (1, ["prod/worker"]), (2, ["default/nightly-report"])]
    assert f.calls["deploy-batch"] == [batch_input(spec, wave=wave) for _, spec, _, wave in f.batches]
    # Each wave is judged, then the next one deployed: never two waves at once.
    assert f.sequence == [("deploy-batch", 0), ("check-stability", 0), ("check-stability", 0),
                          ("deploy-batch", 1), ("check-stability", 1), ("deploy-batch", 2), ("check-stability", 2)]
    assert f.calls["check-stability"] == [{**event("check-stability"), "wave": k} for k in (0, 0, 1, 2)]
    assert [s["wave"]["index"] for s in entered(d, "AwaitRelease")] == [0, 0, 1, 2]
    assert [(s["wave"]["next"], s["stability"]) for s in entered(d, "ReleaseVerdict")] == [
        (1, stability(1, 0)), (1, stability(0, 0)), (2, stability(0, 0)), (3, stability(0, 0))]
    assert f.deployed == {"prod/web", "prod/worker", "default/nightly-report"}
    assert "rollback" not in f.calls
    assert f.calls["finish-release"] == [{"releaseId": RELEASE_ID, "records": records(), "failures": NO_FAILURES,
                                          "executionArn": f.calls["plan-release"][0]["executionArn"]}]
    assert json.loads(d["output"])["outcome"] == "Succeeded"
    # Nothing in the state grows with the waves: the state each wave ends with differs only in its index digits.
    assert len({len(json.dumps(s)) for s in exited(d, "ReleaseVerdict")[1:]}) == 1


def test_a_failure_in_wave_1_of_3_rolls_back_wave_1_then_wave_0_and_never_starts_wave_2(run):
    """Policy all: the failure stops the release in wave 1. RollbackRelease is called with the wave the release
    stopped in, then with the one below it (RollbackNextWave); the function restores the wave named and says how
    many remain below it. What a call started is awaited (AwaitRollback, which carries remainingWaves over) before
    the next wave down."""
    f = Functions(waves=THREE_WAVES, fail={"prod/worker": "TaskDefinitionRejected"})
    f.handlers["rollback"] = f.restore_rounds(1, 1)  # each call starts a deployment to await
    d = run(f)
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert states(d) == ["PlanRelease", "HasChanges", *WAVE, *WAVE, *ROLLBACK_WAVE, "RollbackNextWave",
                         *ROLLBACK_WAVE,
                         "FinishRelease", "ReleaseOutcome", "ReleaseFailed"]
    assert [s["stability"] for s in entered(d, "ReleaseVerdict")] == [stability(0, 0), stability(0, 1)]
    # events/rollback.json is this call: a release stopped in wave 1.
    assert f.calls["rollback"] == [event("rollback"), {**event("rollback"), "wave": 0}]
    assert f.restored == [1, 0]
    assert [s["rollbackStability"] for s in entered(d, "RollbackVerdict")] == [
        stability(1, 0, 1), stability(0, 0, 1), stability(1, 0, 0), stability(0, 0, 0)]
    assert [(e["phase"], e.get("wave")) for e in f.calls["check-stability"]] == [
        ("release", 0), ("release", 1), ("rollback", None), ("rollback", None)]
    # Wave 2 is planned but never deployed: no Map run reads its batch list, no batch of it is called.
    assert get_json(items_key(2)) is not None
    assert [s["wave"]["itemsKey"] for s in entered(d, "DeployWave")] == [items_key(0), items_key(1)]
    assert len(d["mapRuns"]) == 2
    assert not any("waves/2/" in text for _, _, text in payloads(d))
    assert [e["wave"] for e in f.calls["deploy-batch"]] == [0, 1]
    assert [s["wave"]["index"] for s in entered(d, "RollbackRelease")] == [1, 0]
    # One report, of every wave.
    assert f.calls["finish-release"] == [dict(event("finish-release"), failures=NO_FAILURES)]
    report = json.loads(d["cause"])
    assert report["outcome"] == "RolledBack" and report["problems"] == []
    assert outcomes(report) == {"prod/web": "Deployed", "prod/worker": "Failed",
                                "default/nightly-report": "NotStarted", "prod/api": "Unchanged"}


def test_a_one_wave_release_takes_exactly_the_states_and_events_it_took_before_waves(run):
    """A release without dependsOn is one wave: after it ReleaseVerdict finds wave.next (1) not below plan.waves
    (1) and finishes; its rollback restores wave 0 and leaves none. No WaveStart twice, no state or event more."""
    f = Functions()
    d = run(f)
    assert d["status"] == "SUCCEEDED", d
    assert states(d) == ["PlanRelease", "HasChanges", "WaveStart", "DeployWave", "AwaitRelease", "ReleaseVerdict",
                         "FinishRelease", "ReleaseOutcome", "ReleaseSucceeded"]
    # A Task whose Resource is a function ARN: the Lambda events (5 a call, as on AWS).
    task = ["TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded",
            "TaskStateExited"]
    choice = ["ChoiceStateEntered", "ChoiceStateExited"]
    assert [e["type"] for e in d["history"]] == [
        "ExecutionStarted", *task, *choice, "PassStateEntered", "PassStateExited",
        "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded", "MapStateSucceeded",
        "MapStateExited", *task, *choice, *task, *choice, "SucceedStateEntered", "SucceedStateExited",
        "ExecutionSucceeded"]
    assert exited(d, "WaveStart")[0]["wave"] == {"index": 0, "next": 1, "itemsKey": items_key(0)}

    f = Functions(fail={"prod/worker": "TaskDefinitionRejected"})
    f.handlers["rollback"] = f.restore_rounds(1)
    d = run(f, name=f"{RELEASE_ID}-failing")
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert states(d) == ["PlanRelease", "HasChanges", "WaveStart", "DeployWave", "AwaitRelease", "ReleaseVerdict",
                         "RollbackRelease", "RollbackVerdict", "AwaitRollback", "RollbackVerdict",
                         "FinishRelease", "ReleaseOutcome", "ReleaseFailed"]
    assert [e["wave"] for e in f.calls["rollback"]] == [0] and f.restored == [0]
    # The same events as before waves: asl_contract.rs counts these 46 (and the 33 above) from the definition.
    assert len(d["history"]) == 46 and d["history"][-2]["type"] == "FailStateEntered"
    assert [s["rollbackStability"] for s in entered(d, "RollbackVerdict")] == [stability(1, 0), stability(0, 0)]


def test_with_policy_failed_a_failure_in_wave_0_of_2_judges_the_whole_wave_and_never_starts_wave_1(run):
    """Policy failed: a failure in wave 0 is counted from the first round, but the wave's other deployment is awaited
    to the end before the rollback (the report is complete); the failure then stops the release, though a wave is
    left (wave.next 1 < plan.waves 2): wave 1 never starts and the rollback restores wave 0 only."""
    f = Functions(waves={"default/nightly-report": 1}, fail={"prod/worker": "ContainerNotFound"})
    f.handlers["check-stability"] = f.judge_rounds(1, 0)  # prod/web is still rolling out in the first round
    f.handlers["rollback"] = f.restore_rounds(1)
    d = run(f, release_with(rollback="failed"))
    assert d["status"] == "FAILED" and d["error"] == "ReleaseFailed", d
    assert states(d) == ["PlanRelease", "HasChanges", *WAVE, "AwaitRelease", "ReleaseVerdict", *ROLLBACK_WAVE,
                         "FinishRelease", "ReleaseOutcome", "ReleaseFailed"]
    assert [(s["wave"]["next"], s["plan"]["waves"], s["stability"]) for s in entered(d, "ReleaseVerdict")] == [
        (1, 2, stability(1, 1)), (1, 2, stability(0, 1))]
    assert [(e["phase"], e.get("wave")) for e in f.calls["check-stability"]] == [
        ("release", 0), ("release", 0), ("rollback", None)]
    assert [s["wave"]["itemsKey"] for s in entered(d, "DeployWave")] == [items_key(0)]
    assert [counts(m) for m in d["mapRuns"]] == [(1, 1, 0, 1)]
    assert [e["wave"] for e in f.calls["deploy-batch"]] == [0]
    assert f.calls["rollback"] == [{**event("rollback"), "wave": 0}] and f.restored == [0]
    report = json.loads(d["cause"])
    assert outcomes(report) == {"prod/web": "Deployed", "prod/worker": "Failed",
                                "default/nightly-report": "NotStarted", "prod/api": "Unchanged"}
