"""Pins of the moto 5.2.5 Scheduler internals and behaviours convoy_local/scheduler_sim.py builds on, checked on
moto itself (in this process, unpatched: the simulator patches moto only in the server it runs). A moto upgrade
that changes one fails here, by name, instead of making the local Scheduler quietly wrong; a pin of a gap the
simulator fills ("moto still ...") failing means moto fixed it: the patch may go (see moto_pin.py).

    .tools/venv/bin/python -m pytest -q -p no:cacheprovider local/tests
"""

import inspect

import pytest
from moto.core.exceptions import JsonRESTError
from moto.scheduler import exceptions, urls
from moto.scheduler.models import EventBridgeSchedulerBackend, Schedule, ScheduleGroup
from moto.scheduler.responses import EventBridgeSchedulerResponse

from convoy_local import scheduler_sim
from convoy_local.control import ACCOUNT, REGION
from convoy_local.moto_pin import MOTO_VERSION

TARGET = {"Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/c", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
          "EcsParameters": {"TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/t:1",
                            "Tags": [{"k": "v"}], "CapacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}}


def test_the_pinned_moto_is_the_one_installed():
    import moto

    assert moto.__version__ == MOTO_VERSION
    assert not scheduler_sim._INSTALLED, "these pins must see moto unpatched"


@pytest.fixture
def backend():
    return EventBridgeSchedulerBackend(REGION, ACCOUNT)


def create(backend, name="s", **overrides):
    args = dict(description=None, end_date=None, flexible_time_window={"Mode": "OFF"}, group_name=None,
                kms_key_arn=None, name=name, schedule_expression="rate(1 hour)", schedule_expression_timezone=None,
                start_date=None, state=None, target=dict(TARGET), action_after_completion=None)
    args.update(overrides)
    return backend.create_schedule(**args)


def test_the_patched_entry_points_exist_with_their_signatures():
    # scheduler_sim replaces these response methods and calls moto's create_schedule response from its own.
    for method in ("create_schedule", "update_schedule", "get_schedule", "list_schedules"):
        assert inspect.signature(getattr(EventBridgeSchedulerResponse, method)).parameters.keys() == {"self"}
    assert isinstance(EventBridgeSchedulerResponse.scheduler_backend, property)
    # replace() calls Schedule.update with these keywords, then sets the attributes it lists.
    assert set(inspect.signature(Schedule.update).parameters) == {
        "self", "description", "end_date", "flexible_time_window", "kms_key_arn", "schedule_expression",
        "schedule_expression_timezone", "start_date", "state", "target"}
    assert list(inspect.signature(EventBridgeSchedulerBackend.create_schedule_group).parameters) == [
        "self", "name", "tags"]
    assert list(inspect.signature(EventBridgeSchedulerBackend.delete_schedule_group).parameters) == ["self", "name"]
    assert list(inspect.signature(Schedule.to_dict).parameters) == ["self", "short"]
    assert list(inspect.signature(ScheduleGroup.to_dict).parameters) == ["self"]


def test_a_schedule_has_the_attributes_the_simulator_sets(backend):
    schedule = create(backend)
    for field in scheduler_sim.SCHEDULE_FIELDS + ("arn", "name", "group_name", "creation_date"):
        assert hasattr(schedule, field), field
    assert backend.get_schedule_group(None).schedules["s"] is schedule
    assert set(backend.schedule_groups) == {"default"}


def test_create_keeps_the_target_and_fills_moto_defaults(backend):
    schedule = create(backend)
    assert schedule.target["EcsParameters"] == TARGET["EcsParameters"]
    assert schedule.target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert (schedule.schedule_expression_timezone, schedule.state) == ("UTC", "ENABLED")
    given = create(backend, "r", target={**TARGET, "RetryPolicy": {"MaximumRetryAttempts": 0}})
    assert given.target["RetryPolicy"] == {"MaximumRetryAttempts": 0}


def test_to_dict_answers_unset_fields_as_null(backend):
    answer = create(backend).to_dict()
    assert set(answer) == {"Arn", "Name", "GroupName", "Description", "ScheduleExpression",
                           "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Target", "ActionAfterCompletion",
                           "State", "KmsKeyArn", "StartDate", "EndDate", "CreationDate", "LastModificationDate"}
    assert answer["Description"] is None and answer["ActionAfterCompletion"] is None


def test_errors_are_json_rest_errors_with_their_codes(backend):
    with pytest.raises(exceptions.ScheduleNotFound) as schedule:
        backend.get_schedule(None, "nope")
    with pytest.raises(exceptions.ScheduleGroupNotFound) as group:
        backend.get_schedule("nogroup", "s")
    create(backend)
    with pytest.raises(exceptions.ScheduleExists) as exists:
        create(backend)
    for err, error_type, status in ((schedule, "ResourceNotFoundException", 404),
                                    (group, "ResourceNotFoundException", 404), (exists, "ConflictException", 400)):
        assert isinstance(err.value, JsonRESTError)
        assert (err.value.error_type, err.value.code) == (error_type, status)
        assert err.value.message and err.value.description  # moto answers `description` as the body
    assert issubclass(exceptions.ValidationException, JsonRESTError)


def test_create_checks_a_past_start_date_update_does_not(backend):
    import time

    with pytest.raises(exceptions.ValidationException, match="cannot be earlier than 5 minutes ago"):
        create(backend, "past", schedule_expression="cron(0 3 * * ? *)", start_date=time.time() - 3600)
    schedule = create(backend, "later", schedule_expression="cron(0 3 * * ? *)")
    schedule.update(description=None, end_date=None, flexible_time_window={"Mode": "OFF"}, kms_key_arn=None,
                    schedule_expression="cron(0 3 * * ? *)", schedule_expression_timezone=None,
                    start_date=time.time() - 3600, state="ENABLED", target=dict(TARGET))


def test_moto_still_keeps_action_after_completion_and_nulls_state_on_update(backend):
    schedule = create(backend, action_after_completion="DELETE")
    schedule.update(description=None, end_date=None, flexible_time_window={"Mode": "OFF"}, kms_key_arn=None,
                    schedule_expression="rate(1 hour)", schedule_expression_timezone=None, start_date=None,
                    state=None, target=dict(TARGET))
    assert schedule.action_after_completion == "DELETE"
    assert schedule.state is None


def test_moto_still_answers_a_missing_group_on_create_with_a_key_error_and_overwrites_groups(backend):
    with pytest.raises(KeyError):
        create(backend, group_name="nogroup")
    group = backend.create_schedule_group("g", [])
    group.add_schedule(create(backend, "in-g", group_name="g"))
    backend.create_schedule_group("g", [])
    assert backend.get_schedule_group("g").schedules == {}
    with pytest.raises(KeyError):
        backend.delete_schedule_group("nogroup")


def test_the_server_routes_schedules_by_path():
    assert set(urls.url_paths) >= {"{0}/schedules$", "{0}/schedules/(?P<name>[^/]+)$", "{0}/schedule-groups$",
                                   "{0}/schedule-groups/(?P<name>[^/]+)$"}


def test_botocore_models_the_error_statuses_the_answers_use():
    assert {code: scheduler_sim.error_status(code) for code in (
        "ThrottlingException", "ConflictException", "ResourceNotFoundException", "ValidationException",
        "InternalServerException", "ServiceQuotaExceededException")} == {
        "ThrottlingException": 429, "ConflictException": 409, "ResourceNotFoundException": 404,
        "ValidationException": 400, "InternalServerException": 500, "ServiceQuotaExceededException": 402}
    update = scheduler_sim.service_model().operation_model("UpdateSchedule")
    assert (update.http["method"], update.http["requestUri"]) == ("PUT", "/schedules/{Name}")
    assert set(update.input_shape.required_members) == {"Name", "ScheduleExpression", "Target", "FlexibleTimeWindow"}
