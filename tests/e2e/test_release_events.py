"""Release events end to end: a rule on the release event bus (moto's default bus, as the local stack configures the
functions) delivers convoy's events to an SQS queue; every release puts one Started event after pre-flight and one
Finished event at its end, whatever the outcome."""

import json
import time
import uuid

from conftest import report_items

STARTED, FINISHED = "Convoy Release Started", "Convoy Release Finished"


def subscribe(stack, pattern=None) -> str:
    """A queue getting every convoy event (or those `pattern` matches) from the default bus; its URL."""
    sqs = stack.moto.client("sqs")
    name = f"releases-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.events.put_rule(Name=name, EventPattern=json.dumps(pattern or {"source": ["convoy"]}))
    stack.events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def received(stack, url: str) -> list:
    """Every event the queue got, in the order they were put."""
    sqs = stack.moto.client("sqs")
    events = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return events
        events += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
                                                        for m in batch])


def test_a_successful_release_puts_started_then_finished_with_its_counts(stack):
    url = subscribe(stack)
    release = stack.release()
    result = stack.run(release)
    assert result["status"] == "SUCCEEDED", result

    events = received(stack, url)
    assert [e["detail-type"] for e in events] == [STARTED, FINISHED], events
    started, finished = (e["detail"] for e in events)
    for event in events:
        assert event["source"] == "convoy"
        assert event["resources"] == [result["executionArn"]]
    items = report_items(result)
    # The plan counts a rule once; the report, each of its ECS targets.
    changed = len(release["services"]) + len(release["tasks"])
    assert started["planned"] == {"changed": changed, "unchanged": 0, "waves": 1}, started
    assert started["releaseId"] == finished["releaseId"] == release["release"]["id"]
    assert finished["schemaVersion"] == 1
    assert finished["outcome"] == "SUCCEEDED"
    assert finished["rollbackPolicy"] == release["settings"]["rollback"]
    assert finished["counts"] == {"Deployed": len(items)}, finished
    assert finished["source"]["manifest"] == release["release"]["source"]
    assert finished["executionArn"] == result["executionArn"]
    assert finished["consoleUrl"].endswith(result["executionArn"]), finished
    assert finished["fullReport"].endswith("/report.json"), finished
    assert "failures" not in finished and "problems" not in finished, finished
    # The engine's $$.Execution.StartTime is read: the event knows how long the release took.
    assert isinstance(finished["durationSeconds"], int) and finished["startedAt"], finished
    assert len(json.dumps(finished)) < 256 * 1024


def test_a_rolled_back_release_names_the_failure_and_its_stopped_task_reasons(stack):
    url = subscribe(stack, {"source": ["convoy"], "detail-type": [FINISHED],
                            "detail": {"outcome": ["FAILED", "ROLLED_BACK", "REJECTED"]}})
    stack.post("/_fault/ecs/arm", {"cluster": "convoy-demo-a", "service": "worker", "mode": "fail",
                                   "failedTasks": 3})
    result = stack.run(stack.release())
    assert result["status"] == "FAILED", result

    events = received(stack, url)
    assert [e["detail-type"] for e in events] == [FINISHED], "the rule matched only the failed release's end"
    finished = events[0]["detail"]
    assert finished["outcome"] == "ROLLED_BACK", finished
    [failure] = finished["failures"]
    assert failure["id"] == "convoy-demo-a/worker" and failure["kind"] == "service", failure
    assert failure["outcome"] == "Failed" and failure["reason"], failure
    assert failure["stoppedReasons"], failure
    assert finished["counts"]["RolledBack"] >= 1, finished


def test_a_release_rejected_at_pre_flight_is_announced_rejected_with_every_problem(stack):
    url = subscribe(stack)
    stack.post("/_stats/reset")  # the subscription's own PutTargets
    release = stack.release()
    release["services"][0]["service"] = "no-such-service"
    result = stack.run(release)
    assert result["status"] == "FAILED" and result["error"] == "PreflightFailed", result

    events = received(stack, url)
    assert [e["detail-type"] for e in events] == [FINISHED], events
    finished = events[0]["detail"]
    assert (finished["outcome"], finished["error"]) == ("REJECTED", "PreflightFailed"), finished
    assert finished["releaseId"] == release["release"]["id"]
    assert any("no-such-service" in p for p in finished["problems"]), finished
    for operation in ("RegisterTaskDefinition", "UpdateService", "PutTargets"):
        assert stack.calls(operation) == 0, operation


def test_an_event_bus_that_refuses_events_never_fails_the_release(stack):
    stack.post("/_fault/error", {"operation": "events.PutEvents", "count": 100, "status": 400,
                                 "code": "AccessDeniedException", "message": "not allowed to put events"})
    result = stack.run(stack.release())
    assert result["status"] == "SUCCEEDED", result
    problems = result["output"].get("problems", [])
    assert any("Convoy Release Started" in p for p in problems), problems
    assert any("Convoy Release Finished" in p for p in problems), problems
