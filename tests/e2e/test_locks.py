"""Release locks end to end: two releases of one service, a stale lock, and `convoy locks` / `convoy unlock`."""

import json
import os
import subprocess
import threading
import time

from conftest import CONVOY, report_items, short

from convoy_local import release as runner

BUCKET = os.environ.get("CONVOY_RECORDS_BUCKET", "convoy-records")
WEB = ("convoy-demo-a", "web")


def only(release: dict, names: set[str], image: str, release_id: str) -> dict:
    release["release"]["id"] = release_id
    release["services"] = [s for s in release["services"] if s["service"] in names]
    release["tasks"] = []
    for s in release["services"]:
        s["images"] = {"default": {"preferred": s["service"], "image": f"convoy-demo/{s['service']}:{image}"}}
    return release


def locks(stack) -> dict:
    s3 = stack.moto.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="locks/").get("Contents", [])]
    return {k: json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys}


def image_of(stack, cluster: str, name: str) -> str:
    td = stack.task_definition(stack.service(cluster, name)["taskDefinition"])
    return next(c["image"] for c in td["containerDefinitions"] if c["name"] == name)


def race(stack, first: dict, second: dict) -> tuple[dict, dict]:
    """Starts both releases within a few milliseconds of each other and waits for both."""
    machine = runner.ensure_state_machine(stack.sfn, stack.definition)
    results: dict[str, dict] = {}
    go = threading.Barrier(2)

    def run(key: str, release: dict) -> None:
        go.wait()
        results[key] = runner.start_and_wait(stack.sfn, machine, release, timeout=240)

    threads = [threading.Thread(target=run, args=(k, r)) for k, r in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results["a"], results["b"]


def test_two_releases_of_one_service_started_together_one_proceeds_the_other_changes_nothing(stack):
    for round_ in range(3):
        a = only(stack.release(), {"web"}, f"2.{round_}.0", f"race-a-{round_}")
        b = only(stack.release(), {"web", "api"}, f"3.{round_}.0", f"race-b-{round_}")
        api_before = stack.service("convoy-demo-a", "api")["taskDefinition"]
        registered_before = stack.calls("ecs.RegisterTaskDefinition")
        ra, rb = race(stack, a, b)
        outcomes = sorted([ra["status"], rb["status"]])
        assert outcomes == ["FAILED", "SUCCEEDED"], (round_, ra, rb)
        winner, loser = (ra, rb) if ra["status"] == "SUCCEEDED" else (rb, ra)
        winner_release = a if winner is ra else b
        # The loser was refused at pre-flight, naming the winner; it changed nothing.
        assert loser["error"] == "ReleaseLocked", loser
        cause = json.loads(loser["cause"])["errorMessage"]
        assert "service:convoy-demo-a/web" in cause and winner_release["release"]["id"] in cause, cause
        assert winner["executionArn"] in cause, cause
        loser_states = {e["type"] for e in stack.history(loser["executionArn"])}
        assert "MapStateEntered" not in loser_states, "the refused release reached a deploy Map"
        # Only the winner registered revisions: one per service it released.
        assert stack.calls("ecs.RegisterTaskDefinition") - registered_before == len(winner_release["services"])
        # web runs the winner's image, and the winner's report says so.
        want = next(s for s in winner_release["services"] if s["service"] == "web")["images"]["default"]["image"]
        assert image_of(stack, *WEB) == want
        items = report_items(winner)
        assert items["convoy-demo-a/web"]["outcome"] == "Deployed"
        assert short(items["convoy-demo-a/web"]["finalTaskDefinition"]) == short(
            stack.service(*WEB)["taskDefinition"]
        )
        if winner_release is a:
            assert stack.service("convoy-demo-a", "api")["taskDefinition"] == api_before
        # Every lock was given back.
        assert locks(stack) == {}, round_


def test_a_stale_lock_is_taken_over_and_convoy_unlock_removes_a_lock_saying_whose(stack):
    s3 = stack.moto.client("s3")
    stale = {
        "item": "service:convoy-demo-a/web",
        "releaseId": "crashed-release",
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:convoy-release:crashed-release",
        "acquiredAt": int(time.time()) - 3600,
    }
    s3.put_object(Bucket=BUCKET, Key="locks/service/convoy-demo-a/web.json", Body=json.dumps(stale))
    result = stack.run(only(stack.release(), {"web"}, "4.0.0", "after-a-crash"))
    assert result["status"] == "SUCCEEDED", result
    assert image_of(stack, *WEB) == "convoy-demo/web:4.0.0"
    assert locks(stack) == {}

    # A lock left by hand: listed, refused without --force, removed with it.
    s3.put_object(Bucket=BUCKET, Key="locks/service/convoy-demo-a/web.json", Body=json.dumps(stale))
    env = {**os.environ, "CONVOY_RECORDS_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    endpoint = ["--endpoint-url", stack.moto.endpoint]
    listed = subprocess.run([CONVOY, "locks", *endpoint], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "service:convoy-demo-a/web" in listed.stdout and "crashed-release" in listed.stdout, listed.stdout
    refused = subprocess.run([CONVOY, "unlock", "service:convoy-demo-a/web", *endpoint],
                             capture_output=True, text=True, env=env)
    assert refused.returncode == 8, refused
    assert "--force" in refused.stderr
    assert "locks/service/convoy-demo-a/web.json" in locks(stack)
    removed = subprocess.run([CONVOY, "unlock", "service:convoy-demo-a/web", "--force", *endpoint],
                             capture_output=True, text=True, env=env)
    assert removed.returncode == 0, removed.stderr
    assert "crashed-release" in removed.stdout, removed.stdout
    assert locks(stack) == {}
