"""A release above 32 KiB, started by reference: `convoy render --bucket` writes the rendered release to the records
bucket (inputs/<release id>/<sha256>.json) and prints the small execution input; plan-release reads the release back
and it deploys exactly as the same release started inline. An object changed after it was written is refused before
anything changes."""

import hashlib
import json
import os
import subprocess

from conftest import CONVOY, MANIFEST, report_items
from test_release import SERVICES, all_on, revisions

BUCKET = os.environ.get("CONVOY_RECORDS_BUCKET", "convoy-records")
INLINE_MAX_BYTES = 32 * 1024  # release_core::decide::release_ref::INLINE_MAX_BYTES


def large_manifest(tmp_path, release_id: str) -> str:
    """examples/deployment.yaml with a 40 KiB description and fast polling: above the inline threshold."""
    text = MANIFEST.read_text()
    text = text.replace("  id: convoy-demo-1_1_0\n", f"  id: {release_id}\n")
    text = text.replace("  description: Demo release 1.1.0 across two clusters and one scheduled task\n",
                        f"  description: {'forty KiB ' * 4096}\n")
    text = text.replace("  pollIntervalSeconds: 2\n", "  pollIntervalSeconds: 1\n")
    path = tmp_path / f"{release_id}.yaml"
    path.write_text(text)
    return str(path)


def convoy(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": stack.moto.endpoint}
    return subprocess.run([str(CONVOY), *args], capture_output=True, text=True, env=env, check=False)


def staged_input(stack, manifest: str) -> tuple[dict, str]:
    """`convoy render --bucket`: the execution input it prints, and the release it wrote."""
    full = convoy(stack, "render", "--full", manifest)
    assert full.returncode == 0, full.stderr
    rendered = full.stdout.rstrip("\n")
    assert len(rendered) > INLINE_MAX_BYTES
    done = convoy(stack, "render", manifest, "--bucket", BUCKET)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), rendered


def test_a_release_above_32_kib_is_started_by_reference_and_deploys_as_inline(stack, tmp_path):
    manifest = large_manifest(tmp_path, "by-reference-1")
    assert convoy(stack, "render", manifest).returncode == 8, "no bucket: refused"
    started, rendered = staged_input(stack, manifest)
    sha256 = hashlib.sha256(rendered.encode()).hexdigest()
    key = f"inputs/by-reference-1/{sha256}.json"
    assert started == {"releaseRef": f"s3://{BUCKET}/{key}", "release": {"id": "by-reference-1"}}
    body = stack.moto.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert body == rendered

    result = stack.run(started)

    assert result["status"] == "SUCCEEDED", result
    assert revisions(stack) == all_on(2)
    items = report_items(result)
    assert {item["outcome"] for item in items.values()} == {"Deployed", "Ran"}, items  # the demo's migration
    assert len(items) == len(SERVICES) + 3
    described = stack.sfn.describe_execution(executionArn=result["executionArn"])
    assert json.loads(described["input"]) == started, "the execution input is the reference alone"
    assert len(described["input"]) < 512
    plan = stack.records(result)["plan.json"]
    assert plan["release"]["id"] == "by-reference-1"
    assert plan["release"]["description"] == json.loads(rendered)["release"]["description"]


def test_a_referenced_release_changed_after_it_was_written_is_refused_and_changes_nothing(stack, tmp_path):
    manifest = large_manifest(tmp_path, "by-reference-2")
    started, rendered = staged_input(stack, manifest)
    key = started["releaseRef"].removeprefix(f"s3://{BUCKET}/")
    changed = rendered.replace("forty KiB", "forty kib", 1)
    stack.moto.client("s3").put_object(Bucket=BUCKET, Key=key, Body=changed.encode())
    before = revisions(stack)

    result = stack.run(started)

    assert result["status"] == "FAILED", result
    assert result["error"] == "StepInputInvalid", result
    cause = json.loads(result["cause"])["errorMessage"]
    assert "field `releaseRef`" in cause and "changed after it was written" in cause, cause
    assert revisions(stack) == before == all_on(1)
    for operation in ("RegisterTaskDefinition", "UpdateService", "PutTargets"):
        assert stack.calls(operation) == 0, operation
