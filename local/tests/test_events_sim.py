"""PutEvents on the simulator (convoy_local/events_sim.py): delivered as AWS delivers it."""

import json
import uuid


def _queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _put(events, bus, detail_type="Convoy Release Finished", detail=None):
    answer = events.put_events(Entries=[{
        "EventBusName": bus, "Source": "convoy", "DetailType": detail_type,
        "Resources": ["arn:aws:states:us-east-1:123456789012:execution:m:e"],
        "Detail": json.dumps(detail or {"outcome": "FAILED"}),
    }])
    assert answer["FailedEntryCount"] == 0, answer
    return answer


def test_a_bus_with_scheduled_rules_and_ecs_targets_still_takes_put_events(boto_client):
    # Schedule expressions live on the default bus only, as convoy's scheduled rules do.
    events, sqs = boto_client("events"), boto_client("sqs")
    tag = uuid.uuid4().hex[:8]
    # A schedule-only rule running an ECS task, and a pattern rule to an ECS target moto cannot deliver to.
    events.put_rule(Name=f"nightly-{tag}", ScheduleExpression="rate(1 day)")
    ecs_target = {"Id": "t", "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
                  "RoleArn": "arn:aws:iam::123456789012:role/r",
                  "EcsParameters": {"TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1"}}
    events.put_targets(Rule=f"nightly-{tag}", Targets=[ecs_target])
    pattern = {"source": ["convoy"], "detail": {"releaseId": [tag]}}
    events.put_rule(Name=f"on-release-{tag}", EventPattern=json.dumps(pattern))
    url, arn = _queue(sqs, f"q-{tag}")
    events.put_targets(Rule=f"on-release-{tag}", Targets=[ecs_target, {"Id": "q", "Arn": arn}])

    _put(events, "default", detail={"releaseId": tag, "outcome": "FAILED"})

    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1, messages
    body = json.loads(messages[0]["Body"])
    assert (body["source"], body["detail-type"], body["detail"]) == (
        "convoy", "Convoy Release Finished", {"releaseId": tag, "outcome": "FAILED"})


def test_a_rule_delivers_only_what_its_pattern_matches(boto_client):
    events, sqs = boto_client("events"), boto_client("sqs")
    bus = f"b-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    pattern = {"source": ["convoy"], "detail-type": ["Convoy Release Finished"],
               "detail": {"outcome": ["FAILED", "ROLLED_BACK"]}}
    events.put_rule(Name="failed", EventBusName=bus, EventPattern=json.dumps(pattern))
    url, arn = _queue(sqs, f"q-{bus}")
    events.put_targets(Rule="failed", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    _put(events, bus, detail={"outcome": "SUCCEEDED"})
    _put(events, bus, detail_type="Convoy Release Started", detail={"releaseId": "r"})
    _put(events, bus, detail={"outcome": "ROLLED_BACK"})

    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"])["detail"] for m in messages] == [{"outcome": "ROLLED_BACK"}]
