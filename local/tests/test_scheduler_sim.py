"""EventBridge Scheduler in the local stack (convoy_local/scheduler_sim.py and moto_server's REST routes), with
boto3, as convoy updates a schedule's ECS target: GetSchedule, then UpdateSchedule with every field as read except
the target's TaskDefinitionArn (a rollback does the same back).

    .tools/venv/bin/python -m pytest -q -p no:cacheprovider local/tests
"""

import copy
import datetime
import json
import re
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from convoy_local.control import ACCOUNT, REGION

CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/convoy-sched"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/convoy-scheduler"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:convoy-sched-dlq"
KMS_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0a1b2c3d-convoy"
START = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
END = datetime.datetime(2101, 1, 1, tzinfo=datetime.timezone.utc)
# What convoy sends back on UpdateSchedule: every GetSchedule field that UpdateSchedule takes.
UPDATABLE = ("Name", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "EndDate",
             "Description", "State", "KmsKeyArn", "FlexibleTimeWindow", "Target", "ActionAfterCompletion")


def task_definition(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/convoy-sched-job:{n}"


def code(err: pytest.ExceptionInfo) -> str:
    return err.value.response["Error"]["Code"]


def status(err: pytest.ExceptionInfo) -> int:
    return err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def full_target(revision: int = 1) -> dict:
    """An ECS target with every member convoy may meet."""
    return {
        "Arn": CLUSTER_ARN,
        "RoleArn": ROLE_ARN,
        "Input": json.dumps({"containerOverrides": [{"name": "app", "command": ["nightly"]}]}),
        "RetryPolicy": {"MaximumEventAgeInSeconds": 600, "MaximumRetryAttempts": 3},
        "DeadLetterConfig": {"Arn": DLQ_ARN},
        "EcsParameters": {
            "TaskDefinitionArn": task_definition(revision),
            "TaskCount": 2,
            "PlatformVersion": "1.4.0",
            "Group": "nightly",
            "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-0a", "subnet-0b"],
                                                             "SecurityGroups": ["sg-0a"],
                                                             "AssignPublicIp": "DISABLED"}},
            "CapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
                                         {"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
            "EnableECSManagedTags": True,
            "EnableExecuteCommand": False,
            "PlacementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
            "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            "PropagateTags": "TASK_DEFINITION",
            "ReferenceId": "convoy-nightly",
            "Tags": [{"team": "payments"}, {"release": "r1"}],
        },
    }


class Schedules:
    """A schedule group named after the test, and its schedules."""

    def __init__(self, boto_client, name: str):
        self.name = name
        self.client = boto_client("scheduler", config=Config(retries={"total_max_attempts": 1}))
        # No client-side validation: a request missing required fields reaches the server, as a hand-made one would.
        self.raw = boto_client("scheduler", config=Config(retries={"total_max_attempts": 1},
                                                          parameter_validation=False))
        self.group = re.sub(r"[^0-9a-zA-Z_.-]", "-", name)[-64:]
        self.client.create_schedule_group(Name=self.group)

    def create_full(self, name: str) -> None:
        self.client.create_schedule(
            Name=name, GroupName=self.group, ScheduleExpression="cron(0 3 * * ? *)",
            ScheduleExpressionTimezone="Europe/Berlin", StartDate=START, EndDate=END, Description="nightly job",
            State="DISABLED", KmsKeyArn=KMS_ARN, FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            Target=full_target(), ActionAfterCompletion="DELETE",
        )

    def get(self, name: str) -> dict:
        answer = self.client.get_schedule(Name=name, GroupName=self.group)
        answer.pop("ResponseMetadata")
        return answer

    def update_request(self, read: dict, revision: int) -> dict:
        """convoy's UpdateSchedule: the schedule as read, only the ECS target's TaskDefinitionArn changed."""
        request = {k: copy.deepcopy(read[k]) for k in UPDATABLE if k in read}
        request["Target"]["EcsParameters"]["TaskDefinitionArn"] = task_definition(revision)
        return request


@pytest.fixture
def schedules(boto_client, request):
    return Schedules(boto_client, request.node.name)


def without(schedule: dict, *fields: str) -> dict:
    out = copy.deepcopy(schedule)
    for field in fields:
        out.pop(field, None)
    out["Target"]["EcsParameters"].pop("TaskDefinitionArn", None)
    return out


# --- the round trip convoy makes ------------------------------------------------------------------------------------


def test_round_trip_with_every_field_changes_only_the_task_definition(schedules):
    schedules.create_full("nightly")
    read = schedules.get("nightly")
    assert read["Target"] == full_target(), "the target is answered as it was sent"
    assert read["ActionAfterCompletion"] == "DELETE"
    assert read["State"] == "DISABLED"
    assert (read["StartDate"], read["EndDate"]) == (START, END)
    assert read["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert read["KmsKeyArn"] == KMS_ARN
    assert read["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}

    schedules.client.update_schedule(**schedules.update_request(read, 2))
    after = schedules.get("nightly")
    assert after["Target"]["EcsParameters"]["TaskDefinitionArn"] == task_definition(2)
    assert after["LastModificationDate"] > read["LastModificationDate"]
    assert without(after, "LastModificationDate") == without(read, "LastModificationDate")
    assert after["CreationDate"] == read["CreationDate"]

    # The rollback: the same back.
    schedules.client.update_schedule(**schedules.update_request(after, 1))
    back = schedules.get("nightly")
    assert back["Target"] == full_target()
    assert without(back, "LastModificationDate") == without(read, "LastModificationDate")


def test_update_replaces_the_whole_schedule_omitted_fields_get_their_defaults(schedules):
    schedules.create_full("reset")
    read = schedules.get("reset")
    request = schedules.update_request(read, 2)
    for field in ("ActionAfterCompletion", "State", "Description", "StartDate", "EndDate", "KmsKeyArn",
                  "ScheduleExpressionTimezone"):
        request.pop(field)
    request["Target"].pop("DeadLetterConfig")
    request["Target"].pop("RetryPolicy")
    schedules.client.update_schedule(**request)

    after = schedules.get("reset")
    assert after["ActionAfterCompletion"] == "NONE"  # moto alone keeps DELETE
    assert after["State"] == "ENABLED"  # moto alone: null
    assert after["ScheduleExpressionTimezone"] == "UTC"
    for gone in ("Description", "StartDate", "EndDate", "KmsKeyArn"):
        assert gone not in after, gone
    assert "DeadLetterConfig" not in after["Target"]
    assert after["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert after["Target"]["EcsParameters"] == request["Target"]["EcsParameters"]


def test_create_defaults_action_after_completion_and_state(schedules):
    schedules.client.create_schedule(Name="plain", GroupName=schedules.group, ScheduleExpression="rate(1 hour)",
                                     FlexibleTimeWindow={"Mode": "OFF"},
                                     Target={"Arn": CLUSTER_ARN, "RoleArn": ROLE_ARN,
                                             "EcsParameters": {"TaskDefinitionArn": task_definition(1)}})
    read = schedules.get("plain")
    assert (read["ActionAfterCompletion"], read["State"], read["ScheduleExpressionTimezone"]) == (
        "NONE", "ENABLED", "UTC")
    assert "Description" not in read and "KmsKeyArn" not in read  # not answered as null


# --- validation --------------------------------------------------------------------------------------------------


def test_update_without_flexible_time_window_is_refused_and_changes_nothing(schedules):
    schedules.create_full("strict")
    read = schedules.get("strict")
    request = schedules.update_request(read, 2)
    request.pop("FlexibleTimeWindow")
    with pytest.raises(ClientError) as refused:
        schedules.raw.update_schedule(**request)
    assert (code(refused), status(refused)) == ("ValidationException", 400)
    assert "flexibleTimeWindow" in refused.value.response["Error"]["Message"]
    assert schedules.get("strict") == read


@pytest.mark.parametrize("change", [
    {"State": "PAUSED"},
    {"ActionAfterCompletion": "KEEP"},
    {"FlexibleTimeWindow": {"Mode": "SOMETIMES"}},
    {"Target": None},
    {"ScheduleExpression": None},
    {"Target.RoleArn": None},
    {"Target.EcsParameters.LaunchType": "LAMBDA"},
    {"Target.EcsParameters.TaskDefinitionArn": None},
])
def test_update_with_a_missing_or_invalid_field_is_refused(schedules, change):
    schedules.create_full("bad")
    read = schedules.get("bad")
    request = schedules.update_request(read, 2)
    (path, value), = change.items()
    *parents, last = path.split(".")
    node = request
    for parent in parents:
        node = node[parent]
    if value is None:
        node.pop(last)
    else:
        node[last] = value
    with pytest.raises(ClientError) as refused:
        schedules.raw.update_schedule(**request)
    assert (code(refused), status(refused)) == ("ValidationException", 400), refused.value.response
    assert schedules.get("bad") == read


def test_create_checks_enums_groups_and_duplicates(schedules):
    request = dict(Name="c1", GroupName=schedules.group, ScheduleExpression="rate(1 hour)",
                   FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": CLUSTER_ARN, "RoleArn": ROLE_ARN})
    for bad in ({"State": "OFF"}, {"ActionAfterCompletion": "ARCHIVE"}, {"FlexibleTimeWindow": {"Mode": "ON"}}):
        with pytest.raises(ClientError) as refused:
            schedules.raw.create_schedule(**{**request, **bad})
        assert (code(refused), status(refused)) == ("ValidationException", 400), bad
    with pytest.raises(ClientError) as missing:
        schedules.client.create_schedule(**{**request, "GroupName": "no-such-group"})
    assert (code(missing), status(missing)) == ("ResourceNotFoundException", 404)
    schedules.client.create_schedule(**request)
    with pytest.raises(ClientError) as twice:
        schedules.client.create_schedule(**request)
    assert (code(twice), status(twice)) == ("ConflictException", 409)
    assert [s["Name"] for s in schedules.client.list_schedules(GroupName=schedules.group)["Schedules"]] == ["c1"]


def test_missing_schedule_or_group_is_not_found(schedules):
    with pytest.raises(ClientError) as get:
        schedules.client.get_schedule(Name="nope", GroupName=schedules.group)
    assert (code(get), status(get)) == ("ResourceNotFoundException", 404)
    assert get.value.response["Error"]["Message"] == "Schedule nope does not exist."
    with pytest.raises(ClientError) as update:
        schedules.client.update_schedule(Name="nope", GroupName=schedules.group, ScheduleExpression="rate(1 hour)",
                                         FlexibleTimeWindow={"Mode": "OFF"},
                                         Target={"Arn": CLUSTER_ARN, "RoleArn": ROLE_ARN})
    assert (code(update), status(update)) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as group:
        schedules.client.get_schedule(Name="nope", GroupName="no-such-group")
    assert (code(group), status(group)) == ("ResourceNotFoundException", 404)


def test_errors_are_answered_as_rest_json(schedules, moto_url):
    """AWS's REST-JSON error: the code in x-amzn-ErrorType, the body {"Message": ...} (what the Rust SDK's modelled
    errors read their message from)."""
    request = urllib.request.Request(f"{moto_url}/schedules/nope?groupName={schedules.group}", headers={
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20261130/{REGION}/scheduler/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    assert answer.value.code == 404
    assert answer.value.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(answer.value.read()) == {"Message": "Schedule nope does not exist."}


# --- faults and stats --------------------------------------------------------------------------------------------


def test_throttle_on_update_schedule_is_a_429_throttling_exception(schedules, moto_control):
    schedules.create_full("throttled")
    read = schedules.get("throttled")
    moto_control.post("/_fault/throttle", {"operation": "UpdateSchedule", "count": 1, "match": "throttled"})
    with pytest.raises(ClientError) as throttled:
        schedules.client.update_schedule(**schedules.update_request(read, 2))
    assert (code(throttled), status(throttled)) == ("ThrottlingException", 429)
    assert throttled.value.response["Error"]["Message"] == "Rate exceeded"
    assert schedules.get("throttled") == read, "a throttled call changes nothing"
    schedules.client.update_schedule(**schedules.update_request(read, 2))  # the next one passes
    assert schedules.get("throttled")["Target"]["EcsParameters"]["TaskDefinitionArn"] == task_definition(2)


def test_error_after_the_update_applies_it_and_answers_the_error(schedules, moto_control):
    schedules.create_full("lost")
    read = schedules.get("lost")
    rule = moto_control.post("/_fault/error", {"operation": "scheduler.UpdateSchedule", "count": 1, "after": True,
                                               "match": "/lost", "code": "InternalServerException",
                                               "message": "answer lost"})
    assert rule["after"] is True
    with pytest.raises(ClientError) as lost:
        schedules.client.update_schedule(**schedules.update_request(read, 2))
    assert (code(lost), status(lost)) == ("InternalServerException", 500)
    assert lost.value.response["Error"]["Message"] == "answer lost"
    assert schedules.get("lost")["Target"]["EcsParameters"]["TaskDefinitionArn"] == task_definition(2)


def test_error_before_the_call_and_the_default_code(schedules, moto_control):
    schedules.create_full("refused")
    read = schedules.get("refused")
    moto_control.post("/_fault/error", {"operation": "UpdateSchedule", "count": 1, "match": "/refused"})
    with pytest.raises(ClientError) as refused:
        schedules.client.update_schedule(**schedules.update_request(read, 2))
    assert (code(refused), status(refused)) == ("ValidationException", 400)  # ECS's default is ClientException
    assert schedules.get("refused") == read
    moto_control.post("/_fault/error", {"operation": "GetSchedule", "count": 1, "match": "/refused",
                                        "code": "ConflictException"})
    with pytest.raises(ClientError) as conflict:
        schedules.get("refused")
    assert (code(conflict), status(conflict)) == ("ConflictException", 409)


def test_stats_count_scheduler_calls(schedules, moto_control):
    schedules.create_full("counted")
    before = {op: moto_control.calls(f"scheduler.{op}") for op in ("GetSchedule", "UpdateSchedule", "ListSchedules")}
    read = schedules.get("counted")
    schedules.get("counted")
    schedules.client.update_schedule(**schedules.update_request(read, 2))
    schedules.client.list_schedules(GroupName=schedules.group)
    stats = moto_control.get("/_stats/calls")
    assert stats["scheduler.GetSchedule"] == before["GetSchedule"] + 2
    assert stats["scheduler.UpdateSchedule"] == before["UpdateSchedule"] + 1
    assert stats["scheduler.ListSchedules"] == before["ListSchedules"] + 1
    assert stats.get("scheduler.CreateSchedule", 0) >= 1 and stats.get("scheduler.CreateScheduleGroup", 0) >= 1


def test_ecs_errors_keep_the_json_1_1_form(boto_client, moto_control):
    ecs = boto_client("ecs", config=Config(retries={"total_max_attempts": 1}))
    moto_control.post("/_fault/throttle", {"operation": "ecs.ListClusters", "count": 1})
    with pytest.raises(ClientError) as throttled:
        ecs.list_clusters()
    assert (code(throttled), status(throttled)) == ("ThrottlingException", 400)
    moto_control.post("/_fault/error", {"operation": "ecs.ListClusters", "count": 1})
    with pytest.raises(ClientError) as failed:
        ecs.list_clusters()
    assert (code(failed), status(failed)) == ("ClientException", 400)
    ecs.list_clusters()
