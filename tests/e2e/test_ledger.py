"""The release ledger end to end: real releases write their entries, `convoy history` lists them newest first,
and `convoy status` finds a release's execution by release id although the execution has another name."""

import json
import os
import subprocess

from conftest import CONVOY, report_items, short

from convoy_local import release as runner
from convoy_local import seed

BUCKET = os.environ.get("CONVOY_RECORDS_BUCKET", "convoy-records")


def convoy(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONVOY_RECORDS_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    return subprocess.run([CONVOY, *args, "--endpoint-url", stack.moto.endpoint],
                          capture_output=True, text=True, env=env)


def ledger_keys(stack, prefix: str) -> list[str]:
    s3 = stack.moto.client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_releases_are_in_the_ledger_and_found_by_release_id(stack):
    first = stack.release()
    first["release"]["id"] = "ledger-1"
    done = stack.run(first)
    assert done["status"] == "SUCCEEDED", done
    web_first = report_items(done)["convoy-demo-a/web"]

    # A second release of web only, whose rollout fails: rolled back.
    second = stack.release()
    second["release"]["id"] = "ledger-2"
    second["services"] = [s for s in second["services"] if s["service"] == "web"]
    second["tasks"] = []
    second["services"][0]["images"] = {"default": {"preferred": "web", "image": "convoy-demo/web:9.0.0"}}
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "web", "mode": "fail"})
    failed = stack.run(second)
    assert failed["status"] == "FAILED" and failed["report"]["outcome"] == "RolledBack", failed

    # The entries: one per execution, one per changed item, one per recorded previous revision.
    first_name = done["executionArn"].rsplit(":", 1)[-1]
    assert first_name != "ledger-1", "the runner names executions <release id>-<millis>, as a pipeline would"
    assert [k.rsplit("-", 1)[-1] for k in ledger_keys(stack, "ledger/releases/ledger-1/")] == [
        first_name.rsplit("-", 1)[-1] + ".json"]
    web_keys = ledger_keys(stack, "ledger/items/service/convoy-demo-a/web/")
    assert [k.rsplit("/", 1)[-1].split("-", 1)[1] for k in web_keys] == ["ledger-2.json", "ledger-1.json"], web_keys
    s3 = stack.moto.client("s3")
    newest = json.loads(s3.get_object(Bucket=BUCKET, Key=web_keys[0])["Body"].read())
    assert newest["outcome"] == "RolledBack" and newest["executionArn"] == failed["executionArn"], newest
    assert newest["item"]["revisions"][0]["outcome"] == "Failed", newest
    assert newest["report"].endswith("/report.json")
    previous = short(web_first["previousTaskDefinition"]).replace(":", "/")
    assert any(k.startswith(f"ledger/revisions/{previous}/") for k in ledger_keys(stack, "ledger/revisions/"))

    # convoy history: newest first, with outcomes and revisions.
    out = convoy(stack, "history", "convoy-demo-a/web")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["RELEASE", "EXECUTION", "STARTED", "OUTCOME", "PREVIOUS", "->", "NEW"], out.stdout
    assert lines[1].startswith("ledger-2 ") and "RolledBack" in lines[1] and "[Failed]" in lines[1], out.stdout
    assert lines[2].startswith("ledger-1 ") and "Succeeded" in lines[2], out.stdout
    assert f"{short(web_first['previousTaskDefinition'])} -> {short(web_first['newTaskDefinition'])}" in lines[2]
    assert lines[-1] == "2 releases", out.stdout
    rule = convoy(stack, "history", seed.RULE, "--format", "json")
    assert rule.returncode == 0, rule.stderr
    entries = json.loads(rule.stdout)
    assert [e["releaseId"] for e in entries] == ["ledger-1"], entries
    assert entries[0]["item"]["kind"] == "rule" and entries[0]["outcome"] == "Succeeded"

    # status by release id: the state machine has no execution named ledger-1; the ledger knows it.
    machine = runner.ensure_state_machine(stack.sfn, stack.definition)
    out = convoy(stack, "status", "ledger-1", "--state-machine", machine, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["executionArn"] == done["executionArn"]
    out = convoy(stack, "status", "ledger-2")
    assert out.returncode == 1, (out.stdout, out.stderr)
    out = convoy(stack, "status", "ledger-9", "--state-machine", machine)
    assert out.returncode == 8 and "no execution of release `ledger-9`" in out.stderr, out.stderr
