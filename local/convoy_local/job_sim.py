"""ECS one-off task (job) simulator for RunTask, inside moto_server.

Why: moto 5.2.5's RunTask answers HTTP 500 for a Fargate task definition whose containers have no `memory` of
their own and for any awsvpc task whose VPC lacks DNS hostnames (the local stack's seeded one); the tasks it does
start stay RUNNING with exitCode 0 for ever (one container only, the first); it ignores `clientToken`; its
DescribeTasks ignores the cluster and never answers `failures`; its StopTask answers HTTP 500 for an unknown task;
its ListTasks ignores `serviceName` and lists every desired status by default. A job (a database migration convoy
runs with RunTask and awaits with DescribeTasks) could not run locally.

moto_server.py calls install(LOCK) after its own ECS patches, hands its control requests to handle_control and
calls forget() on a moto reset. State lives on moto's Task objects (a moto reset forgets it), in ARMED and in
DEFAULTS (POST /_fault/reset clears them).

Job tasks: every task RunTask starts (StartTask's and the rollout simulator's stopped service tasks keep moto's
behaviour). One advance per DescribeTasks that names the task (a task named twice in a call advances once):
    RunTask answer   PROVISIONING, desiredStatus RUNNING, every container of the task definition PENDING
    1st describe     PENDING (pullStartedAt, connectivity CONNECTED)
    next `polls`     RUNNING (startedAt, pullStoppedAt; containers RUNNING), default polls 2
    then             STOPPED, desiredStatus STOPPED, stopCode EssentialContainerExited, stoppedReason "Essential
                     container in task exited", stoppingAt = executionStoppedAt = stoppedAt, every container
                     STOPPED with exitCode 0
So by default the 4th DescribeTasks of a task sees it STOPPED (polls 0: the 2nd).
  StopTask (a job task not STOPPED yet): answers the task with desiredStatus STOPPED, stopCode UserInitiated,
    stoppedReason = `reason` (default "Task stopped by user"), stoppingAt, lastStatus still the one it had (as ECS
    answers); the next describe shows it STOPPED, its containers exitCode 137 (SIGKILL after the stop timeout) if
    they were running, none if they never started. StopTask of a STOPPED task answers it unchanged.
  RunTask also: clientToken (up to 64 ASCII characters 33-126) is idempotent per cluster for 24 h: the same token
    with the same parameters answers the task(s) it started (as they are now, not advanced) and starts none; with
    other parameters ConflictException. startedBy: up to 128 letters, digits, `-`, `/`, `_`, else
    InvalidParameterException; count 1..10. A capacityProviderStrategy naming a provider other than FARGATE /
    FARGATE_SPOT starts the task without container instances (launchType EC2); launchType EC2 (or none and no
    default strategy) in a cluster without container instances answers InvalidParameterException "No Container
    Instances were found in your cluster." overrides are kept and answered; FARGATE platformVersion LATEST (or
    none) is answered as 1.4.0; cpu and memory are the task definition's (or the overrides').
  DescribeTasks: at most 100 tasks (else InvalidParameterException); tasks of the named cluster only, by ARN or
    id; the others are answered in failures [{arn, reason: "MISSING"}].
  ListTasks: desiredStatus defaults to RUNNING (as ECS); serviceName filters on the task's group
    "service:NAME"; startedBy, family, launchType, containerInstance filter; maxResults (1..100, default 100) and
    nextToken page.

Endpoints (JSON in, JSON out)
  POST /_fault/job          {family, mode: ok|exit|stuck|failToStart, exitCode?, container?, reason?,
                             stoppedReason?, polls?, count?}
        Applies to the tasks RunTask starts from that task definition family from now on: every one until cleared,
        or the next `count`. Arming a family again replaces its fault.
        ok:          as by default (exitCode 0), with its own `polls`.
        exit:        `container` (default: every essential one) exits with `exitCode` (default 1), the others 0;
                     its container `reason` is `reason` (none by default); stopCode EssentialContainerExited.
        stuck:       stays RUNNING until StopTask.
        failToStart: the 1st describe shows it STOPPED, stopCode TaskFailedToStart, stoppedReason `reason`
                     (default "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to
                     resolve ref IMAGE: IMAGE: not found", IMAGE = the first failing container's image); the failing
                     containers (`container`, default every essential one) have that `reason`; no container has
                     an exitCode, no startedAt.
        `stoppedReason` replaces the task's stoppedReason (exit, ok). `polls`: RUNNING describes (default the
        defaults'). A `container` no registered revision of the family has: HTTP 400 naming them.
  POST /_fault/job/clear    {family?}  clears that family's fault, or every job fault.
  POST /_fault/job/defaults {polls?}   RUNNING describes of a task without a fault (default 2). Answers them.
  POST /_fault/reset        (moto_server) clears every job fault and the defaults too; not tasks under way.
  GET  /_stats/jobs         -> [{cluster, taskArn, family, taskDefinitionArn, startedBy, clientToken, group,
                                lastStatus, desiredStatus, stopCode, stoppedReason, mode, describes,
                                containers: {name: exitCode|null}}, ...] every job task, oldest first (reading it
                                advances nothing)
"""

import copy
import json
import re
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any, Optional

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.utils import generate_dns_from_ip
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Task
from moto.ecs.responses import DESCRIBE_TASKS_TAGS, EC2ContainerServiceResponse
from moto.moto_api._internal import mock_random
from werkzeug.wrappers import Response

DEFAULT_POLLS = 2
MODES = ("ok", "exit", "stuck", "failToStart")
EXITED_REASON = "Essential container in task exited"
USER_STOP_REASON = "Task stopped by user"
SIGKILL_EXIT = 137
DEFAULT_FAIL_EXIT = 1
TOKEN_TTL_SECONDS = 24 * 3600
MAX_DESCRIBE = 100
MAX_RUN_COUNT = 10
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
FARGATE_PLATFORM = "1.4.0"
RUN_TASK_FIELDS = ("capacityProviderStrategy", "cluster", "count", "enableECSManagedTags", "enableExecuteCommand",
                   "group", "launchType", "networkConfiguration", "overrides", "placementConstraints",
                   "placementStrategy", "platformVersion", "propagateTags", "referenceId", "startedBy", "tags",
                   "taskDefinition", "clientToken", "volumeConfigurations")
_STARTED_BY = re.compile(r"^[A-Za-z0-9_/-]{1,128}$")
_CLIENT_TOKEN = re.compile(r"^[\x21-\x7e]{1,64}$")

_LOCK: Any = threading.RLock()  # install() replaces it with moto_server's LOCK
ARMED: dict[str, dict[str, Any]] = {}  # family -> fault for the tasks started from it
DEFAULTS = {"polls": DEFAULT_POLLS}
JOB_TASKS: dict[str, Task] = {}  # task ARN -> job task, oldest first
TOKENS: dict[tuple, dict[str, Any]] = {}  # (account, region, cluster, token) -> {arns, fingerprint, at}
_INSTALLED = False


class ConflictException(ECSException):
    def __init__(self, message: str, resource_ids: list[str]):
        super().__init__("ConflictException", message)
        self.resourceIds = resource_ids


def _invalid(message: str) -> InvalidParameterException:
    return InvalidParameterException(message)


# ---------------------------------------------------------------------------------------------------------------
# What moto lacks for RunTask to start at all
# ---------------------------------------------------------------------------------------------------------------

_orig_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements


def _resource_requirements(task_definition) -> dict[str, Any]:
    """moto adds every container's `memory` and fails (TypeError, HTTP 500) on a container without one, as
    Fargate task definitions have (the task's memory is enough): such a container counts 0 here."""
    patched = copy.copy(task_definition)
    patched.container_definitions = [
        {**c, "memory": c.get("memory") or c.get("memoryReservation") or 0}
        if c.get("Memory") is None and c.get("MemoryReservation") is None else c
        for c in task_definition.container_definitions
    ]
    return _orig_requirements(patched)


class _PrivateDnsName:
    """ECS's awsvpc Task reads its ENI's private_dns_name, which moto sets only in a VPC with DNS hostnames (HTTP
    500 otherwise). AWS gives every ENI its private DNS name: ip-A-B-C-D.ec2.internal."""

    def __get__(self, eni, owner=None):
        if eni is None:
            return self
        return eni.__dict__.get("_private_dns_name") or generate_dns_from_ip(eni.private_ip_address)

    def __set__(self, eni, value) -> None:
        eni.__dict__["_private_dns_name"] = value


# ---------------------------------------------------------------------------------------------------------------
# Job tasks
# ---------------------------------------------------------------------------------------------------------------


def _family(task_definition_arn: str) -> str:
    return task_definition_arn.split("/")[-1].rsplit(":", 1)[0]


def _take_fault(family: str) -> dict[str, Any]:
    fault = ARMED.get(family)
    if fault is None:
        return {"mode": "ok"}
    if "count" in fault:
        fault["count"] -= 1
        if fault["count"] <= 0:
            ARMED.pop(family, None)
    return {k: v for k, v in fault.items() if k != "count"}


def _overridden(task, name: str) -> dict:
    for override in (task.overrides or {}).get("containerOverrides") or []:
        if override.get("name") == name:
            return override
    return {}


def _start_job(task, task_definition, fault: dict, client_token: Optional[str]) -> None:
    now = utcnow()
    targets = [fault["container"]] if fault.get("container") else [
        c["name"] for c in task_definition.container_definitions if c.get("essential", True)]
    names = [c["name"] for c in task_definition.container_definitions]
    if fault.get("container") and fault["container"] not in names:  # armed before this revision was registered
        print(f"job_sim: the fault of {task_definition.family} names container {fault['container']!r}, which "
              f"{task_definition.arn} lacks ({', '.join(names)}): no container fails", file=sys.stderr)
    interfaces = []
    for attachment in task.attachments:
        details = {d["name"]: d["value"] for d in attachment.get("details", [])}
        interfaces.append({"attachmentId": attachment["id"], "privateIpv4Address": details.get("privateIPv4Address")})
    cluster_name = task.cluster_name
    task.containers = []
    for definition in task_definition.container_definitions:
        container = {
            "containerArn": f"arn:aws:ecs:{task.region_name}:{task._account_id}:container/{cluster_name}/"
                            f"{task.id}/{mock_random.uuid4()}",
            "taskArn": task.task_arn,
            "name": definition["name"],
            "image": definition.get("image"),
            "lastStatus": "PENDING",
            "networkInterfaces": copy.deepcopy(interfaces),
            "healthStatus": "UNKNOWN",
            "cpu": str(definition.get("cpu") or 0),
        }
        memory = _overridden(task, definition["name"]).get("memory") or definition.get("memory")
        if memory:
            container["memory"] = str(memory)
        if definition.get("memoryReservation"):
            container["memoryReservation"] = str(definition["memoryReservation"])
        task.containers.append(container)
    overrides = task.overrides or {}
    task.cpu = str(overrides.get("cpu") or task_definition.cpu or "") or None
    task.memory = str(overrides.get("memory") or task_definition.memory or "") or None
    task.created_at = now
    task.version = 1
    task.health_status = "UNKNOWN"
    task.last_status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.started_by = task.started_by or None  # moto answers "" for none; ECS leaves it out
    task.stop_code = None
    task.stopped_reason = None
    if task.launch_type == "FARGATE" or task.capacity_provider_name in FARGATE_PROVIDERS:
        task.platform_family = "Linux"
        if not task.platform_version or task.platform_version == "LATEST":
            task.platform_version = FARGATE_PLATFORM
    zone = _availability_zone(task)
    if zone:
        task.availability_zone = zone
    task._convoy_job = {
        "mode": fault.get("mode", "ok"),
        "fault": fault,
        "targets": targets,
        "polls": max(0, int(fault.get("polls", DEFAULTS["polls"]))),
        "phase": "PROVISIONING",
        "describes": 0,
        "running": 0,
        "clientToken": client_token,
        "family": task_definition.family,
    }
    JOB_TASKS[task.task_arn] = task


def _availability_zone(task) -> Optional[str]:
    subnets = ((getattr(task, "network_configuration", None) or {}).get("awsvpcConfiguration") or {}).get("subnets")
    if not subnets:
        return None
    try:
        return ec2_backends[task._account_id][task.region_name].get_subnet(subnets[0]).availability_zone
    except Exception:  # an unknown subnet: moto already created the ENI in it, the zone is cosmetic
        return None


def _set_status(task, status: str) -> None:
    task.last_status = status
    task.version = int(getattr(task, "version", 0) or 0) + 1


def _containers(task, status: str) -> None:
    for container in task.containers:
        container["lastStatus"] = status


def _advance_job(task) -> None:
    """One DescribeTasks of a job task."""
    job = task._convoy_job
    job["describes"] += 1
    phase = job["phase"]
    now = utcnow()
    if phase == "PROVISIONING":
        if job["mode"] == "failToStart":
            task.pull_started_at = now
            _fail_to_start(task, job, now)
            return
        job["phase"] = "PENDING"
        _set_status(task, "PENDING")
        task.pull_started_at = now
        task.connectivity, task.connectivity_at = "CONNECTED", now
        return
    if phase == "PENDING":
        if job["polls"] == 0 and job["mode"] != "stuck":
            _started(task, now)
            _exit(task, job, now)
            return
        job["phase"] = "RUNNING"
        job["running"] = 1
        _started(task, now)
        _set_status(task, "RUNNING")
        return
    if phase == "RUNNING":
        if job["mode"] == "stuck" or job["running"] < job["polls"]:
            job["running"] += 1
            return
        _exit(task, job, now)
        return
    if phase == "STOPPING":
        _stopped_by_user(task, job, now)


def _started(task, now) -> None:
    task.pull_stopped_at = now
    task.started_at = now
    for container in task.containers:
        container["lastStatus"] = "RUNNING"
        container["runtimeId"] = f"{task.id}-{mock_random.get_random_hex(10)}"


def _stop(task, job: dict, now, stop_code: str, reason: str) -> None:
    job["phase"] = "STOPPED"
    task.desired_status = "STOPPED"
    task.stop_code = stop_code
    task.stopped_reason = reason
    task.stopping_at = getattr(task, "stopping_at", None) or now
    task.execution_stopped_at = now
    task.stopped_at = now
    _containers(task, "STOPPED")
    _set_status(task, "STOPPED")


def _exit(task, job: dict, now) -> None:
    fault = job["fault"]
    failing = job["mode"] == "exit"
    for container in task.containers:
        if failing and container["name"] in job["targets"]:
            container["exitCode"] = int(fault.get("exitCode", DEFAULT_FAIL_EXIT))
            if fault.get("reason"):
                container["reason"] = str(fault["reason"])
        else:
            container["exitCode"] = 0
    _stop(task, job, now, "EssentialContainerExited", str(fault.get("stoppedReason") or EXITED_REASON))


def _pull_error(image: Optional[str]) -> str:
    return (f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
            f"{image}: {image}: not found")


def _fail_to_start(task, job: dict, now) -> None:
    fault = job["fault"]
    failing = [c for c in task.containers if c["name"] in job["targets"]] or task.containers[:1]
    first = fault.get("reason") or _pull_error(failing[0].get("image") if failing else None)
    for container in failing:
        container["reason"] = str(fault.get("reason") or _pull_error(container.get("image")))
    _stop(task, job, now, "TaskFailedToStart", str(fault.get("stoppedReason") or first))


def _request_stop(task, reason: Optional[str]) -> None:
    """StopTask of a job task: desiredStatus STOPPED now, STOPPED at its next describe."""
    job = task._convoy_job
    if job["phase"] in ("STOPPED", "STOPPING"):
        return
    job["stoppedFrom"] = job["phase"]
    job["phase"] = "STOPPING"
    task.desired_status = "STOPPED"
    task.stop_code = "UserInitiated"
    task.stopped_reason = reason or USER_STOP_REASON
    task.stopping_at = utcnow()
    task.version = int(getattr(task, "version", 0) or 0) + 1


def _stopped_by_user(task, job: dict, now) -> None:
    ran = job.get("stoppedFrom") == "RUNNING"
    for container in task.containers:
        if ran:
            container["exitCode"] = SIGKILL_EXIT
    _stop(task, job, now, "UserInitiated", task.stopped_reason or USER_STOP_REASON)


def _snapshot(task) -> SimpleNamespace:
    """The task as it is now, for an answer serialized after the lock is released (a plain object: a copy of a moto
    model would be tracked by moto for ever)."""
    view = SimpleNamespace(**task.__dict__)
    view.containers = copy.deepcopy(task.containers)
    view.overrides = copy.deepcopy(task.overrides)
    view.last_status = task.last_status
    view.task_arn = task.task_arn
    return view


def _is_job(task) -> bool:
    return hasattr(task, "_convoy_job")


# ---------------------------------------------------------------------------------------------------------------
# ECS actions
# ---------------------------------------------------------------------------------------------------------------


def _validate_run(params: dict) -> None:
    started_by = params.get("startedBy")
    if started_by is not None and not _STARTED_BY.match(started_by):
        raise _invalid("startedBy: up to 128 letters (uppercase and lowercase), numbers, hyphens (-), forward "
                       "slashes (/) and underscores (_) are allowed.")
    token = params.get("clientToken")
    if token is not None and not _CLIENT_TOKEN.match(token):
        raise _invalid("clientToken: up to 64 ASCII characters in the range 33-126 are allowed.")
    count = params.get("count", 1)
    if not 1 <= int(count) <= MAX_RUN_COUNT:
        raise _invalid(f"count must be between 1 and {MAX_RUN_COUNT}.")


def _fingerprint(params: dict) -> str:
    return json.dumps({k: v for k, v in params.items() if k != "clientToken"}, sort_keys=True, default=str)


def _run_task(self: EC2ContainerServiceResponse):
    params = {name: self._get_param(name) for name in RUN_TASK_FIELDS if self._get_param(name) is not None}
    _validate_run(params)
    backend = self.ecs_backend
    cluster = backend._get_cluster(params.get("cluster") or "default")
    token = params.get("clientToken")
    key = (backend.account_id, backend.region_name, cluster.name, token)
    with _LOCK:
        if token is not None:
            earlier = TOKENS.get(key)
            tasks = [JOB_TASKS.get(arn) for arn in (earlier or {}).get("arns", [])]
            if earlier and time.time() - earlier["at"] < TOKEN_TTL_SECONDS and tasks and all(tasks):
                if earlier["fingerprint"] != _fingerprint(params):
                    raise ConflictException(
                        "The specified client token has already been used in a request with different parameters.",
                        earlier["arns"])
                return ActionResult({"tasks": [_snapshot(t) for t in tasks], "failures": []})
        tasks = _start_tasks(backend, cluster, params)
        task_definition = backend.describe_task_definition(params.get("taskDefinition"))
        for task in tasks:
            _start_job(task, task_definition, _take_fault(task_definition.family), token)
        if token is not None and tasks:
            TOKENS[key] = {"arns": [t.task_arn for t in tasks], "fingerprint": _fingerprint(params),
                           "at": time.time()}
        return ActionResult({"tasks": [_snapshot(t) for t in tasks], "failures": []})


def _start_tasks(backend, cluster, params: dict) -> list:
    launch_type = params.get("launchType")
    strategy = params.get("capacityProviderStrategy")
    if not launch_type and not strategy:
        strategy = cluster.default_capacity_provider_strategy
    provider = strategy[0]["capacityProvider"] if strategy else None
    fargate = launch_type == "FARGATE" or provider in FARGATE_PROVIDERS
    has_instances = any(i.status == "ACTIVE" for i in backend.container_instances.get(cluster.name, {}).values())
    args = dict(cluster_str=cluster.name, task_definition_str=params.get("taskDefinition"),
                count=int(params.get("count", 1)), overrides=params.get("overrides"),
                started_by=params.get("startedBy"), tags=params.get("tags"),
                networking_configuration=params.get("networkConfiguration"), group=params.get("group"),
                platform_version=params.get("platformVersion"))
    if fargate or has_instances:
        tasks = backend.run_task(launch_type=launch_type, capacity_provider_strategy=params.get(
            "capacityProviderStrategy"), **args)
        for task in tasks:
            if not task.launch_type:
                task.launch_type = "FARGATE" if fargate else "EC2"
        return tasks
    if provider is None:
        raise _invalid("No Container Instances were found in your cluster.")
    # A capacity provider of an Auto Scaling group with no instance yet: ECS places the task once capacity
    # comes; here it starts at once, placed nowhere.
    tasks = backend.run_task(launch_type="FARGATE", capacity_provider_strategy=None, **args)
    for task in tasks:
        task.launch_type = "EC2"
        task.capacity_provider_name = provider
    return tasks


def _find(backend, cluster_name: str, wanted: str):
    tasks = backend.tasks.get(cluster_name, {})
    if wanted in tasks:
        return tasks[wanted]
    ident = wanted.split("/")[-1]
    for arn, task in tasks.items():
        if arn.split("/")[-1] == ident:
            return task
    return None


def _describe_tasks(self: EC2ContainerServiceResponse):
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    wanted = self._get_param("tasks") or []
    if not wanted:
        raise _invalid("Tasks cannot be empty.")
    if len(wanted) > MAX_DESCRIBE:
        raise _invalid(f"Tasks cannot have more than {MAX_DESCRIBE} elements.")
    found, failures, seen = [], [], set()
    with _LOCK:
        for name in wanted:
            task = _find(backend, cluster.name, name)
            if task is None:
                arn = name if name.startswith("arn:") else (
                    f"arn:aws:ecs:{backend.region_name}:{backend.account_id}:task/{cluster.name}/{name}")
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            if id(task) in seen:
                continue
            seen.add(id(task))
            if _is_job(task):
                _advance_job(task)
            else:
                task.advance()
            found.append(_snapshot(task) if _is_job(task) else task)
    if "TAGS" in (self._get_param("include") or []):
        self._include_in_response(DESCRIBE_TASKS_TAGS)
    else:
        self._exclude_from_response(DESCRIBE_TASKS_TAGS)
    return ActionResult({"tasks": found, "failures": failures})


_orig_stop_task = EC2ContainerServiceResponse.stop_task


def _stop_task(self: EC2ContainerServiceResponse):
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    wanted = self._get_param("task") or ""
    with _LOCK:
        task = _find(backend, cluster.name, wanted)
        if task is None:
            raise _invalid("The referenced task was not found.")
        if _is_job(task):
            _request_stop(task, self._get_param("reason"))
            return ActionResult({"task": _snapshot(task)})
    return _orig_stop_task(self)


def _list_tasks(self: EC2ContainerServiceResponse):
    backend = self.ecs_backend
    cluster = backend._get_cluster(self._get_param("cluster") or "default")
    desired = self._get_param("desiredStatus") or "RUNNING"
    family = self._get_param("family")
    started_by = self._get_param("startedBy")
    service = self._get_param("serviceName")
    launch_type = self._get_param("launchType")
    instance = self._get_param("containerInstance")
    limit = int(self._get_param("maxResults") or 100)
    if not 1 <= limit <= 100:
        raise _invalid("maxResults must be between 1 and 100.")
    try:
        start = int(self._get_param("nextToken") or 0)
    except ValueError:
        raise _invalid("Invalid nextToken.") from None
    with _LOCK:
        arns = [
            arn for arn, t in backend.tasks.get(cluster.name, {}).items()
            if t.desired_status == desired
            and (not family or _family(t.task_definition_arn) == family)
            and (not started_by or t.started_by == started_by)
            and (not service or t.group == f"service:{service.split('/')[-1]}")
            and (not launch_type or t.launch_type == launch_type)
            and (not instance or instance.split("/")[-1] in (t.container_instance_arn or ""))
        ]
    answer: dict[str, Any] = {"taskArns": arns[start:start + limit]}
    if start + limit < len(arns):
        answer["nextToken"] = str(start + limit)
    return ActionResult(answer)


# ---------------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def _known_containers(family: str) -> Optional[set]:
    """Container names of every registered revision of `family`; None when it has none yet."""
    from moto.ecs.models import ecs_backends

    names, known = set(), False
    for account in list(ecs_backends.keys()):
        for region in list(ecs_backends[account].keys()):
            for definition in ecs_backends[account][region].task_definitions.get(family, {}).values():
                known = True
                names.update(c["name"] for c in definition.container_definitions)
    return names if known else None


def _arm(body: dict) -> Response:
    family = body.get("family")
    if not family:
        return _json({"error": "family is required"}, 400)
    mode = body.get("mode", "exit")
    if mode not in MODES:
        return _json({"error": f"unknown mode {mode!r}: {'|'.join(MODES)}"}, 400)
    fault: dict[str, Any] = {"mode": mode}
    for field, low, high in (("exitCode", 0, 255), ("polls", 0, 10 ** 6), ("count", 1, 10 ** 6)):
        if field in body:
            try:
                value = int(body[field])
            except (TypeError, ValueError):
                return _json({"error": f"{field} must be an integer, not {body[field]!r}"}, 400)
            if not low <= value <= high:
                return _json({"error": f"{field} must be between {low} and {high}, not {value}"}, 400)
            fault[field] = value
    for field in ("container", "reason", "stoppedReason"):
        if body.get(field):
            fault[field] = str(body[field])
    if mode == "exit":
        fault.setdefault("exitCode", DEFAULT_FAIL_EXIT)
    with _LOCK:
        known = _known_containers(family)
        if fault.get("container") and known is not None and fault["container"] not in known:
            return _json({"error": f"family {family} has no container {fault['container']!r}: "
                                   f"{'|'.join(sorted(known))}"}, 400)
        ARMED[family] = fault
    return _json({"armed": family, **fault})


def _stats() -> list[dict]:
    rows = []
    with _LOCK:
        for arn, task in JOB_TASKS.items():
            job = task._convoy_job
            rows.append({"cluster": task.cluster_name, "taskArn": arn, "family": job["family"],
                         "taskDefinitionArn": task.task_definition_arn, "startedBy": task.started_by or None,
                         "clientToken": job["clientToken"], "group": task.group, "lastStatus": task.last_status,
                         "desiredStatus": task.desired_status, "stopCode": task.stop_code,
                         "stoppedReason": task.stopped_reason, "mode": job["mode"], "describes": job["describes"],
                         "containers": {c["name"]: c.get("exitCode") for c in task.containers}})
    return rows


def handle_control(path: str, method: str, body: dict) -> Optional[Response]:
    """The answer to a control request of this simulator, or None: not one of ours (for /_fault/reset: ours is
    done, moto_server's own reset must run too)."""
    if path == "/_stats/jobs" and method == "GET":
        return _json(_stats())
    if method != "POST":
        return None
    if path == "/_fault/job":
        return _arm(body)
    if path == "/_fault/job/clear":
        with _LOCK:
            if body.get("family"):
                cleared = [body["family"]] if ARMED.pop(body["family"], None) is not None else []
            else:
                cleared = sorted(ARMED)
                ARMED.clear()
        return _json({"cleared": cleared})
    if path == "/_fault/job/defaults":
        with _LOCK:
            if "polls" in body:
                try:
                    DEFAULTS["polls"] = max(0, int(body["polls"]))
                except (TypeError, ValueError):
                    return _json({"error": f"polls must be an integer, not {body['polls']!r}"}, 400)
            return _json(dict(DEFAULTS))
    if path == "/_fault/reset":
        reset()
    return None


def reset() -> None:
    with _LOCK:
        ARMED.clear()
        DEFAULTS.update(polls=DEFAULT_POLLS)


def forget() -> None:
    """A moto reset: its tasks are gone, and so are their tokens."""
    with _LOCK:
        JOB_TASKS.clear()
        TOKENS.clear()


# ---------------------------------------------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------------------------------------------


def install(lock: Any = None) -> None:
    """Patches moto. Idempotent."""
    global _LOCK, _INSTALLED
    if lock is not None:
        _LOCK = lock
    if _INSTALLED:
        return
    _INSTALLED = True
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_resource_requirements)
    NetworkInterface.private_dns_name = _PrivateDnsName()
    EC2ContainerServiceResponse.run_task = _run_task
    EC2ContainerServiceResponse.describe_tasks = _describe_tasks
    EC2ContainerServiceResponse.stop_task = _stop_task
    EC2ContainerServiceResponse.list_tasks = _list_tasks
