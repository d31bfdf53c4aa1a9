"""EventBridge Scheduler (service `scheduler`, REST-JSON) as AWS answers it, inside moto_server.

Why: convoy updates a schedule's ECS target by GetSchedule, then UpdateSchedule with every field as read except the
target's TaskDefinitionArn (a rollback does the same back). AWS replaces the whole schedule on UpdateSchedule; moto
5.2.5 does not: it keeps the create-time ActionAfterCompletion whatever the update says, sets State to null when the
update omits it, accepts an update without its required fields (and half-writes the schedule before failing with
HTTP 500), accepts any enum value, answers a duplicate CreateSchedule ConflictException with HTTP 400 (AWS 409) and a
CreateSchedule into a missing group with HTTP 500 (KeyError). So a local UpdateSchedule could pass where AWS resets
fields, or fail where AWS succeeds.

moto_server.py calls install(LOCK) with its other patches (moto's response and model classes are patched in place,
moto's installed files are not edited). What changes:
  CreateSchedule, UpdateSchedule: the request is validated first against the Scheduler model botocore ships
    (required members, enum values, string/list lengths, number ranges, patterns, member types, nested ones
    included, e.g. Target.EcsParameters.NetworkConfiguration.awsvpcConfiguration.Subnets): ValidationException
    (HTTP 400), nothing changed, message as AWS words them ("1 validation error detected: Value 'BOGUS' at
    'flexibleTimeWindow.mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]").
    A missing group: ResourceNotFoundException (404) "Schedule group NAME does not exist.".
  CreateSchedule: otherwise moto's (the target kept verbatim, RetryPolicy defaulted to 185 attempts / 86400 s,
    ScheduleExpressionTimezone UTC, State ENABLED, moto's StartDate check), and ActionAfterCompletion defaults to
    NONE. A duplicate: ConflictException, HTTP 409.
  UpdateSchedule: replaces the schedule whole (AWS: "uses all values, including empty values, specified in the
    request and overrides the existing schedule"): every field is the request's, an omitted optional one its
    default: Description, StartDate, EndDate, KmsKeyArn absent; ScheduleExpressionTimezone UTC; State ENABLED;
    ActionAfterCompletion NONE; Target exactly as sent (RetryPolicy defaulted as on create, no DeadLetterConfig
    unless sent). LastModificationDate moves; CreationDate, Arn, Name, GroupName stay. Applied under the simulator's
    lock, all or nothing.
  GetSchedule, ListSchedules: fields that are not set are left out (moto answers them as null).
  CreateScheduleGroup of an existing group: ConflictException 409 (moto replaced it, dropping its schedules);
    DeleteScheduleGroup of a missing one: ResourceNotFoundException 404 (moto: HTTP 500).
  Every Scheduler error moto raises is answered as AWS does for REST-JSON: the x-amzn-ErrorType header and the
    body {"Message": ...} (moto: {"__type", "message"}, which leaves the Rust SDK's modelled error's message empty).

Not done (moto's, kept): ClientToken idempotency (ignored), schedule expression syntax, time zone names, whether a
target ARN exists, StartDate/EndDate order; StartDate is checked (not earlier than 5 minutes ago, cron expressions
only) on create and not on update, as moto does. Whether AWS checks it on update is not known here.
"""

import copy
import json
import re
import threading
from typing import Any, Optional

import botocore.session
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.scheduler import exceptions as scheduler_exceptions
from moto.scheduler.models import EventBridgeSchedulerBackend, Schedule, ScheduleGroup
from moto.scheduler.responses import EventBridgeSchedulerResponse

SERVICE = "scheduler"
DEFAULT_TIMEZONE = "UTC"
DEFAULT_STATE = "ENABLED"
DEFAULT_ACTION_AFTER_COMPLETION = "NONE"
# Schedule attributes an UpdateSchedule sets (moto's names); restored together if the update fails half-way.
SCHEDULE_FIELDS = ("schedule_expression", "schedule_expression_timezone", "flexible_time_window", "target",
                   "description", "state", "kms_key_arn", "start_date", "end_date", "action_after_completion",
                   "last_modified_date")

_LOCK: Any = threading.RLock()  # install() replaces it with moto_server's LOCK
_INSTALLED = False
_MODEL = None

_orig_create_schedule = EventBridgeSchedulerResponse.create_schedule
_orig_schedule_to_dict = Schedule.to_dict
_orig_group_to_dict = ScheduleGroup.to_dict
_orig_create_schedule_group = EventBridgeSchedulerBackend.create_schedule_group
_orig_delete_schedule_group = EventBridgeSchedulerBackend.delete_schedule_group


def service_model():
    """botocore's Scheduler model (the one boto3 and the requirements pin), loaded once."""
    global _MODEL
    if _MODEL is None:
        _MODEL = botocore.session.get_session().get_service_model(SERVICE)
    return _MODEL


def error_status(code: str) -> Optional[int]:
    """The HTTP status AWS answers a modelled Scheduler error with (ThrottlingException 429, ...), else None."""
    for shape in service_model().error_shapes:
        if shape.name == code:
            return shape.metadata.get("error", {}).get("httpStatusCode")
    return None


# ---------------------------------------------------------------------------------------------------------------
# Errors as AWS answers them for REST-JSON
# ---------------------------------------------------------------------------------------------------------------


def rest_json_error_body(message: str) -> str:
    return json.dumps({"Message": message})


class SchedulerError(JsonRESTError):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(code, message)
        self.code = status
        self.description = rest_json_error_body(message)


def _validation(message: str) -> SchedulerError:
    return SchedulerError("ValidationException", message, 400)


def _conflict(message: str) -> SchedulerError:
    return SchedulerError("ConflictException", message, 409)


def _aws_body(cls) -> None:
    """moto's Scheduler exception `cls` answers {"Message": ...}, as AWS does."""
    init = cls.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.description = rest_json_error_body(self.message)

    cls.__init__ = __init__


# ---------------------------------------------------------------------------------------------------------------
# Request validation against the model
# ---------------------------------------------------------------------------------------------------------------


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    return f"'{json.dumps(value)}'"


def _check(shape, value: Any, path: str, problems: list[str]) -> None:
    """Appends what is wrong with `value` (of `shape`, at `path`) to `problems`, Coral's wording."""

    def fail(constraint: str) -> None:
        problems.append(f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}")

    kind, meta = shape.type_name, shape.metadata
    expected = {"structure": dict, "map": dict, "list": list, "string": str, "boolean": bool}.get(kind)
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return fail("Member must be an integer")
    elif kind in ("double", "float", "timestamp"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return fail(f"Member must be a {kind}")
    elif expected is not None and not isinstance(value, expected):
        return fail(f"Member must be a {kind}")
    if kind == "string":
        if shape.enum and value not in shape.enum:
            fail(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if "min" in meta and len(value) < meta["min"]:
            fail(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            fail(f"Member must have length less than or equal to {meta['max']}")
        pattern = meta.get("pattern")
        if pattern:
            try:
                matches = re.search(pattern, value) is not None
            except re.error:  # a Java-only construct: not checked
                matches = True
            if not matches:
                fail(f"Member must satisfy regular expression pattern: {pattern}")
    elif kind in ("integer", "long"):
        if "min" in meta and value < meta["min"]:
            fail(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            fail(f"Member must have value less than or equal to {meta['max']}")
    elif kind in ("list", "map"):
        if "min" in meta and len(value) < meta["min"]:
            fail(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            fail(f"Member must have length less than or equal to {meta['max']}")
        if kind == "list":
            for i, item in enumerate(value):
                _check(shape.member, item, f"{path}.{i + 1}.member", problems)
        else:
            for key, item in value.items():
                _check(shape.key, key, f"{path}.{key}.key", problems)
                _check(shape.value, item, f"{path}.{key}.value", problems)
    elif kind == "structure":
        _check_members(shape, value, path, problems)


def _check_members(shape, value: dict, path: str, problems: list[str]) -> None:
    for name in shape.required_members:
        if value.get(name) is None:
            where = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
            problems.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _check(member, value[name], f"{path}.{_lower_first(name)}" if path else _lower_first(name), problems)


def validate(operation: str, params: dict) -> None:
    """ValidationException if `params` (the JSON body with the URI members added) break the input shape."""
    problems: list[str] = []
    _check_members(service_model().operation_model(operation).input_shape, params, "", problems)
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: "
        raise _validation(count + "; ".join(problems))


def _request(response: EventBridgeSchedulerResponse) -> dict:
    """The JSON body plus the schedule name of the URI (/schedules/{Name})."""
    try:
        params = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        raise _validation("The request body is not valid JSON.")
    if not isinstance(params, dict):
        raise _validation("The request body is not a JSON object.")
    params["Name"] = response.uri.split("?")[0].rstrip("/").split("/")[-1]
    return params


# ---------------------------------------------------------------------------------------------------------------
# The operations
# ---------------------------------------------------------------------------------------------------------------


def _create_schedule(self: EventBridgeSchedulerResponse) -> str:
    params = _request(self)
    validate("CreateSchedule", params)
    backend = self.scheduler_backend
    with _LOCK:
        group = backend.get_schedule_group(params.get("GroupName"))  # ResourceNotFoundException (moto: KeyError)
        answer = _orig_create_schedule(self)
        schedule = group.schedules[params["Name"]]
        if schedule.action_after_completion is None:
            schedule.action_after_completion = DEFAULT_ACTION_AFTER_COMPLETION
    return answer


def _update_schedule(self: EventBridgeSchedulerResponse) -> str:
    params = _request(self)
    validate("UpdateSchedule", params)
    backend = self.scheduler_backend
    with _LOCK:
        schedule = backend.get_schedule(params.get("GroupName"), params["Name"])  # ResourceNotFoundException
        replace(schedule, params)
    return json.dumps({"ScheduleArn": schedule.arn})


def replace(schedule: Schedule, params: dict) -> None:
    """The schedule becomes what a validated UpdateSchedule request says, whole (AWS semantics); all or nothing."""
    before = {field: copy.deepcopy(getattr(schedule, field)) for field in SCHEDULE_FIELDS}
    try:
        # moto's own update (target defaults, time zone default), then what it leaves out or gets wrong
        schedule.update(
            description=params.get("Description"),
            end_date=params.get("EndDate"),
            flexible_time_window=copy.deepcopy(params["FlexibleTimeWindow"]),
            kms_key_arn=params.get("KmsKeyArn"),
            schedule_expression=params["ScheduleExpression"],
            schedule_expression_timezone=params.get("ScheduleExpressionTimezone"),
            start_date=params.get("StartDate"),
            state=params.get("State"),
            target=copy.deepcopy(params["Target"]),
        )
        schedule.schedule_expression_timezone = params.get("ScheduleExpressionTimezone") or DEFAULT_TIMEZONE
        schedule.state = params.get("State") or DEFAULT_STATE
        schedule.action_after_completion = params.get("ActionAfterCompletion") or DEFAULT_ACTION_AFTER_COMPLETION
        schedule.last_modified_date = unix_time()
    except Exception:
        for field, value in before.items():
            setattr(schedule, field, value)
        raise


def _schedule_to_dict(self: Schedule, short: bool = False) -> dict:
    return {k: v for k, v in _orig_schedule_to_dict(self, short=short).items() if v is not None}


def _group_to_dict(self: ScheduleGroup) -> dict:
    return {k: v for k, v in _orig_group_to_dict(self).items() if v is not None}


def _create_schedule_group(self: EventBridgeSchedulerBackend, name: str, tags):
    with _LOCK:
        if name in self.schedule_groups:
            raise _conflict(f"Schedule group {name} already exists.")
        return _orig_create_schedule_group(self, name, tags)


def _delete_schedule_group(self: EventBridgeSchedulerBackend, name: Optional[str]) -> None:
    with _LOCK:
        self.get_schedule_group(name)  # ResourceNotFoundException (moto: KeyError, HTTP 500)
        _orig_delete_schedule_group(self, name)


def install(lock: Any = None) -> None:
    """Patches moto. Idempotent."""
    global _LOCK, _INSTALLED
    if lock is not None:
        _LOCK = lock
    if _INSTALLED:
        return
    _INSTALLED = True
    service_model()  # fail at start-up, not at the first call, if botocore lacks the model
    EventBridgeSchedulerResponse.create_schedule = _create_schedule
    EventBridgeSchedulerResponse.update_schedule = _update_schedule
    Schedule.to_dict = _schedule_to_dict
    ScheduleGroup.to_dict = _group_to_dict
    EventBridgeSchedulerBackend.create_schedule_group = _create_schedule_group
    EventBridgeSchedulerBackend.delete_schedule_group = _delete_schedule_group
    scheduler_exceptions.ScheduleExists.code = 409  # AWS: ConflictException is HTTP 409
    for cls in (scheduler_exceptions.ScheduleExists, scheduler_exceptions.ScheduleNotFound,
                scheduler_exceptions.ScheduleGroupNotFound, scheduler_exceptions.ValidationException):
        _aws_body(cls)
