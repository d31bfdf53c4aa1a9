"""moto server with an ECS rollout simulator, fault injection and call counters, in one process.

    python local/moto_server.py [--port 5000] [--host 127.0.0.1] [--sfn-engine] [--exit-with-parent] [--quiet]
    (or, with PYTHONPATH=local: python -m convoy_local.moto_server ...)

Serves the normal moto API. `--port 0` picks a free port. Once listening, prints exactly one line to stdout:
    convoy-moto listening on http://127.0.0.1:PORT

It patches moto internals (EC2ContainerServiceBackend.update_service / describe_services, the ECS Task model),
so it refuses to start on any moto but the pinned one (convoy_local/moto_pin.py, local/requirements.txt).

Why: moto never rolls an ECS deployment forward (UpdateService keeps the old task definition IN_PROGRESS for
ever) and has no way to make one fail, so the release's wait/verdict/rollback paths could not run locally.

ECS rollout simulator
  UpdateService with a new task definition, or with forceNewDeployment, creates a new PRIMARY deployment
  (rolloutState IN_PROGRESS, runningCount 0); the previous deployments become ACTIVE. Every DescribeServices
  that includes the service advances its rollout by one step; after `steps` (default 2) it is COMPLETED,
  running == desired, and the old deployments are drained. The service's taskDefinition is always the ARN.

Endpoints (JSON in, JSON out)
  POST /_fault/ecs/arm      {cluster, service, mode: ok|fail|stuck|rollback, failedTasks?, steps?, reason?}
        Arms the NEXT rollout of that service (consumed by the UpdateService that starts it, so a later
        rollback of the same service rolls out normally).
        fail:     the deployment ends FAILED with the circuit-breaker reason, failedTasks (default 3) and as
                  many STOPPED tasks (startedBy = deployment id, stoppedReason = reason).
        rollback: like fail, then the circuit breaker rolls back: a new PRIMARY deployment on the previous
                  task definition (which becomes the service's again) completes after `steps` more describes.
        stuck:    stays IN_PROGRESS for ever.
        ok:       completes, after `steps` describes.
  POST /_fault/ecs/service  {cluster, service, runningCount?, pendingCount?, desiredCount?, failedTasks?,
                             rolloutState?, rolloutStateReason?, syncDeploymentTaskDefinition?}
        Sets fields of the service and of its PRIMARY deployment directly.
  POST /_fault/throttle     {operation, count, match?}  the next `count` calls of `operation` ("RegisterTaskDefinition"
                             for any service, or "ecs.RegisterTaskDefinition") answer ThrottlingException.
  POST /_fault/error        {operation, count, match?, code?, message?, status?}  the next `count` calls of
                             `operation` whose body contains `match` answer that error (default ClientException,
                             HTTP 400), e.g. to fail one service's UpdateService.
  POST /_fault/ecs/defaults {steps}  describes every unarmed rollout needs before it completes (default 2).
  POST /_fault/buckets      {enabled?, rateScale?, burstScale?}  ECS-like token buckets per account (task definition
                             modify 20 burst + 1/s, service modify 50 + 5/s, service read 100 + 20/s; rates and
                             bursts multiplied by the scales): a call finding its bucket empty answers
                             ThrottlingException, as ECS does. Off by default.
  POST /_fault/reset        clears armed faults, throttles, errors, buckets and default steps (POST /moto-api/reset
                             clears moto's state).
  POST /_seed/network       -> {vpcId, subnetIds, securityGroupId}; seeded once, re-seeded after a moto reset.
  GET  /_stats/calls        -> {"ecs.RegisterTaskDefinition": 3, ...} every request received (throttled ones too)
  GET  /_stats/throttled    -> {"ecs.RegisterTaskDefinition": 7, ...} calls answered by an empty bucket
  GET  /_stats/rollouts     -> [{cluster, service, deploymentId, state: COMPLETED|FAILED, at: unix seconds}, ...]
                             when the simulator moved each rollout to a terminal state
  POST /_stats/reset        zeroes the counters and forgets the rollout records.
"""

import argparse
import copy
import io
import json
import os
import re
import sys
import threading
import time
from typing import Any, Optional

from convoy_local.control import ACCOUNT, REGION
from convoy_local.moto_pin import require_pinned_moto
from convoy_local.serve import serve_until_interrupted

require_pinned_moto()  # before the internals below are imported and patched

from moto.core.config import default_user_config  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.ec2.models import ec2_backends  # noqa: E402
from moto.ecs.models import EC2ContainerServiceBackend, Task  # noqa: E402
from moto.ecs.responses import EC2ContainerServiceResponse  # noqa: E402
from moto.moto_api import state_manager  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

DEFAULT_STEPS = 2
CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
DEFAULT_STOPPED_REASON = "Essential container in task exited"

LOCK = threading.RLock()
ARMED: dict[str, dict[str, Any]] = {}  # "cluster:service" -> fault for the next rollout
# Armed error answers, first match wins: {operation, count (calls left), match (body substring), code, message, status}
ERRORS: list[dict[str, Any]] = []
CALLS: dict[str, int] = {}  # "ecs.RegisterTaskDefinition" -> requests received
THROTTLED: dict[str, int] = {}  # "ecs.RegisterTaskDefinition" -> requests answered by an empty bucket
ROLLOUTS: list[dict[str, Any]] = []  # terminal rollout transitions, in order: {cluster, service, ..., at}
SIM = {"steps": DEFAULT_STEPS}  # describes an unarmed rollout needs
NETWORK: dict[str, Any] = {}
# S3 applies a conditional write (If-None-Match / If-Match) atomically; moto checks, then writes, so two
# concurrent requests could both pass the check. Conditional writes go through here one at a time.
CONDITIONAL_WRITES = threading.Lock()

# ---------------------------------------------------------------------------------------------------------------
# ECS rollout simulator
# ---------------------------------------------------------------------------------------------------------------

_orig_update_service = EC2ContainerServiceBackend.update_service
_orig_describe_services = EC2ContainerServiceBackend.describe_services


def _public(deployment: dict) -> dict:
    return {k: v for k, v in deployment.items() if not k.startswith("_")}


def _new_deployment(svc, template: dict, task_definition: str, fault: dict) -> dict:
    now = utcnow()
    deployment = copy.deepcopy(_public(template))
    deployment.update(
        {
            "id": f"ecs-svc/{mock_random.randint(0, 32 ** 12)}",
            "status": "PRIMARY",
            "taskDefinition": task_definition,
            "desiredCount": svc.desired_count,
            "runningCount": 0,
            "pendingCount": svc.desired_count,
            "failedTasks": 0,
            "rolloutState": "IN_PROGRESS",
            "createdAt": now,
            "updatedAt": now,
            "_sim_step": 0,
            "_sim_fault": fault,
        }
    )
    deployment["rolloutStateReason"] = f"ECS deployment {deployment['id']} in progress."
    return deployment


def _update_service(self, props):
    cluster = (props.get("cluster") or "default").split("/")[-1]
    name = (props.get("service") or "").split("/")[-1]
    before = self.services.get(f"{cluster}:{name}")
    old_td = before.task_definition if before else None
    force = bool(props.get("force_new_deployment"))
    svc = _orig_update_service(self, props)
    # moto stores whatever string the caller passed ("web:3", "web"); ECS answers with the full ARN
    if svc.task_definition:
        svc.task_definition = self.describe_task_definition(svc.task_definition).arn
    if svc.deployments and (svc.task_definition != old_td or force):
        with LOCK:
            fault = ARMED.pop(f"{svc.cluster_name}:{svc.name}", {"mode": "ok"})
            for d in svc.deployments:
                d["status"] = "ACTIVE"
            new = _new_deployment(svc, svc.deployments[0], svc.task_definition, fault)
            new["_sim_previous"] = {"taskDefinition": old_td, "id": svc.deployments[0]["id"]}
            svc.deployments.insert(0, new)
            # moto's update_service sets running = desired when scaling; a rollout has not started anything yet
            svc.pending_count = svc.desired_count
    return svc


def _stop_failed_tasks(backend, svc, deployment: dict, count: int, reason: str) -> None:
    """Record the tasks the circuit breaker counted, as ECS does: STOPPED, startedBy = the deployment id."""
    try:
        cluster = backend._get_cluster(svc.cluster_name)
        # A bridge-mode copy of the task definition: moto's awsvpc Task creation wants a working ENI model
        # (it fails on NetworkInterface.private_dns_name), and a stopped task needs no network anyway.
        task_definition = copy.copy(backend.describe_task_definition(deployment["taskDefinition"]))
        task_definition.network_mode = "bridge"
        backend.tasks.setdefault(cluster.name, {})
        for _ in range(count):
            task = Task(
                cluster,
                task_definition,
                None,
                None,
                backend=backend,
                group=f"service:{svc.name}",
                launch_type=svc.launch_type or "FARGATE",
                started_by=deployment["id"],
            )
            task.last_status = "STOPPED"
            task.desired_status = "STOPPED"
            task.stopped_reason = reason
            backend.tasks[cluster.name][task.task_arn] = task
    except Exception as exc:  # the verdict still has the deployment's own reason; say why tasks are missing
        print(f"moto_server: could not record stopped tasks for {svc.name}: {exc!r}", file=sys.stderr)


def _complete(svc, deployment: dict) -> None:
    deployment.update(
        {
            "rolloutState": "COMPLETED",
            "runningCount": svc.desired_count,
            "pendingCount": 0,
            "desiredCount": svc.desired_count,
            "updatedAt": utcnow(),
            "rolloutStateReason": f"ECS deployment {deployment['id']} completed.",
        }
    )
    deployment.pop("_sim_step", None)
    svc.deployments[:] = [deployment]
    svc.running_count, svc.pending_count = svc.desired_count, 0


def _advance(backend, svc) -> None:
    if not svc.deployments:
        return
    deployment = svc.deployments[0]
    if deployment.get("rolloutState") != "IN_PROGRESS" or "_sim_step" not in deployment:
        return
    fault = deployment.get("_sim_fault") or {"mode": "ok"}
    mode = fault.get("mode", "ok")
    deployment["_sim_step"] += 1
    if mode == "stuck" or deployment["_sim_step"] < int(fault.get("steps", SIM["steps"])):
        deployment["pendingCount"] = svc.desired_count
        return
    if mode == "ok":
        _complete(svc, deployment)
        _record_rollout(svc, deployment, "COMPLETED")
        return
    # fail / rollback: the circuit breaker trips
    failed = int(fault.get("failedTasks", 3))
    deployment.pop("_sim_step", None)
    deployment.update(
        {
            "rolloutState": "FAILED",
            "failedTasks": failed,
            "runningCount": 0,
            "pendingCount": 0,
            "updatedAt": utcnow(),
            "rolloutStateReason": fault.get("rolloutStateReason", CIRCUIT_BREAKER_REASON),
        }
    )
    _record_rollout(svc, deployment, "FAILED")
    _stop_failed_tasks(backend, svc, deployment, failed, fault.get("reason", DEFAULT_STOPPED_REASON))
    svc.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": utcnow(),
                          "message": f"(service {svc.name}) (deployment {deployment['id']}) deployment failed: "
                                     "tasks failed to start."})
    previous = deployment.get("_sim_previous") or {}
    if mode == "rollback" and previous.get("taskDefinition"):
        deployment["status"] = "ACTIVE"
        deployment["rolloutStateReason"] = (
            f"ECS deployment circuit breaker: rolling back to deploymentId {previous['id']}."
        )
        svc.task_definition = previous["taskDefinition"]
        back = _new_deployment(svc, deployment, previous["taskDefinition"], {"mode": "ok", **_steps(fault)})
        svc.deployments.insert(0, back)


def _record_rollout(svc, deployment: dict, state: str) -> None:
    # The wall-clock moment a poller could first see the outcome: benchmarks compare it with the history.
    ROLLOUTS.append({"cluster": svc.cluster_name, "service": svc.name, "deploymentId": deployment["id"],
                     "state": state, "at": time.time()})


def _steps(fault: dict) -> dict:
    return {"steps": fault["steps"]} if "steps" in fault else {}


def _describe_services(self, cluster_str, names):
    result, failures = _orig_describe_services(self, cluster_str, names)
    with LOCK:
        for svc in result:
            _advance(self, svc)
    return result, failures


# ECS answers every service with its deploymentConfiguration (maximumPercent 200 and minimumHealthyPercent 100
# unless CreateService said otherwise); moto keeps it only once an UpdateService sets it.
DEFAULT_DEPLOYMENT_CONFIGURATION = {"maximumPercent": 200, "minimumHealthyPercent": 100}
_orig_create_service_response = EC2ContainerServiceResponse.create_service


def _create_service_response(self):
    result = _orig_create_service_response(self)
    cluster = (self._get_param("cluster") or "default").split("/")[-1]
    svc = self.ecs_backend.services.get(f"{cluster}:{self._get_param('serviceName')}")
    if svc is not None:
        svc.deployment_configuration = {**DEFAULT_DEPLOYMENT_CONFIGURATION,
                                        **(self._get_param("deploymentConfiguration") or {})}
    return result


EC2ContainerServiceResponse.create_service = _create_service_response
EC2ContainerServiceBackend.update_service = _update_service
EC2ContainerServiceBackend.describe_services = _describe_services

# ---------------------------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------------------------


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def _ecs(body: dict) -> EC2ContainerServiceBackend:
    from moto.ecs.models import ecs_backends

    return ecs_backends[body.get("account", ACCOUNT)][body.get("region", REGION)]


def _arm(body: dict) -> Response:
    mode = body.get("mode", "ok")
    if mode not in ("ok", "fail", "stuck", "rollback"):
        return _json({"error": f"unknown mode {mode!r}: ok|fail|stuck|rollback"}, 400)
    if not body.get("service"):
        return _json({"error": "service is required"}, 400)
    key = f'{body.get("cluster", "default")}:{body["service"]}'
    fault = {k: body[k] for k in ("mode", "failedTasks", "steps", "reason", "rolloutStateReason") if k in body}
    fault["mode"] = mode
    with LOCK:
        ARMED[key] = fault
    return _json({"armed": key, **fault})


def _set_service(body: dict) -> Response:
    key = f'{body.get("cluster", "default")}:{body.get("service")}'
    svc = _ecs(body).services.get(key)
    if svc is None:
        return _json({"error": f"no service {key}"}, 404)
    with LOCK:
        for field, attr in (("runningCount", "running_count"), ("pendingCount", "pending_count"),
                            ("desiredCount", "desired_count")):
            if field in body:
                setattr(svc, attr, body[field])
        if svc.deployments:
            deployment = svc.deployments[0]
            if body.get("syncDeploymentTaskDefinition"):
                deployment["taskDefinition"] = svc.task_definition
            for field in ("runningCount", "pendingCount", "desiredCount", "failedTasks", "rolloutState",
                          "rolloutStateReason"):
                if field in body:
                    deployment[field] = body[field]
            if body.get("rolloutState") in ("COMPLETED", "FAILED"):
                deployment.pop("_sim_step", None)
        return _json({"service": svc.name, "taskDefinition": svc.task_definition,
                      "runningCount": svc.running_count, "deployments": [_public(d) for d in svc.deployments]})


def _arm_error(body: dict, code: str, message: str) -> Response:
    operation = body.get("operation")
    if not operation:
        return _json({"error": "operation is required"}, 400)
    rule = {"operation": operation, "count": int(body.get("count", 1)), "match": body.get("match", ""),
            "code": body.get("code", code), "message": body.get("message", message),
            "status": int(body.get("status", 400))}
    with LOCK:
        ERRORS.append(rule)
    return _json(rule)


def _seed_network(body: dict) -> Response:
    ec2 = ec2_backends[body.get("account", ACCOUNT)][body.get("region", REGION)]
    with LOCK:
        if NETWORK and NETWORK["vpcId"] in ec2.vpcs:
            return _json(NETWORK)
        vpc = ec2.create_vpc(cidr_block="10.42.0.0/16")
        subnets = [
            ec2.create_subnet(vpc_id=vpc.id, cidr_block=f"10.42.{i}.0/24", availability_zone=f"{REGION}{az}")
            for i, az in ((1, "a"), (2, "b"))
        ]
        group = ec2.create_security_group(name="convoy-local", description="convoy local stack", vpc_id=vpc.id)
        NETWORK.clear()
        NETWORK.update({"vpcId": vpc.id, "subnetIds": [s.id for s in subnets], "securityGroupId": group.id})
        return _json(NETWORK)


# ECS request throttling (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html):
# one bucket per category per account, shared by every action of the category.
ECS_BUCKETS = {
    "task-definition-modify": (20, 1.0, ("RegisterTaskDefinition", "DeregisterTaskDefinition")),
    "service-modify": (50, 5.0, ("CreateService", "UpdateService", "DeleteService")),
    "service-read": (100, 20.0, ("DescribeServices", "ListServices")),
}


class TokenBucket:
    def __init__(self, burst: float, rate: float):
        self.burst, self.rate, self.tokens, self.stamp = burst, rate, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


BUCKETS: dict[str, TokenBucket] = {}  # ECS operation -> its category's bucket (shared objects); empty = off


def _configure_buckets(body: dict) -> Response:
    rate_scale, burst_scale = float(body.get("rateScale", 1)), float(body.get("burstScale", 1))
    with LOCK:
        BUCKETS.clear()
        if body.get("enabled", True):
            for burst, rate, operations in ECS_BUCKETS.values():
                bucket = TokenBucket(max(1.0, burst * burst_scale), rate * rate_scale)
                for operation in operations:
                    BUCKETS[operation] = bucket
        config = {category: {"burst": max(1.0, burst * burst_scale), "perSecond": rate * rate_scale}
                  for category, (burst, rate, _) in ECS_BUCKETS.items()}
    return _json({"enabled": bool(BUCKETS), "buckets": config if BUCKETS else {}})


def _bucket_refuses(service: str, operation: str) -> bool:
    with LOCK:
        bucket = BUCKETS.get(operation) if service == "ecs" else None
        if bucket is None or bucket.take():
            return False
        THROTTLED[f"{service}.{operation}"] = THROTTLED.get(f"{service}.{operation}", 0) + 1
        return True


def handle_control(req: Request) -> Response:
    try:
        body = json.loads(req.get_data() or b"{}")
    except json.JSONDecodeError as exc:
        return _json({"error": f"body is not JSON: {exc}"}, 400)
    path, method = req.path.rstrip("/"), req.method
    if path == "/_stats/calls" and method == "GET":
        with LOCK:
            return _json(dict(sorted(CALLS.items())))
    if path == "/_stats/throttled" and method == "GET":
        with LOCK:
            return _json(dict(sorted(THROTTLED.items())))
    if path == "/_stats/rollouts" and method == "GET":
        with LOCK:
            return _json(list(ROLLOUTS))
    if method != "POST":
        return _json({"error": f"{method} {path}: use POST"}, 405)
    if path == "/_stats/reset":
        with LOCK:
            CALLS.clear()
            THROTTLED.clear()
            ROLLOUTS.clear()
        return _json({"ok": True})
    if path == "/_fault/reset":
        with LOCK:
            ARMED.clear()
            ERRORS.clear()
            BUCKETS.clear()
            SIM["steps"] = DEFAULT_STEPS
        return _json({"ok": True})
    if path == "/_fault/ecs/defaults":
        if "steps" in body:
            with LOCK:
                SIM["steps"] = max(1, int(body["steps"]))
        return _json(dict(SIM))
    if path == "/_fault/buckets":
        return _configure_buckets(body)
    if path == "/_fault/ecs/arm":
        return _arm(body)
    if path == "/_fault/ecs/service":
        return _set_service(body)
    if path == "/_fault/throttle":
        return _arm_error(body, "ThrottlingException", "Rate exceeded")
    if path == "/_fault/error":
        return _arm_error(body, "ClientException", "injected by the local stack")
    if path == "/_seed/network":
        return _seed_network(body)
    return _json({"error": f"unknown endpoint {path}"}, 404)


# ---------------------------------------------------------------------------------------------------------------
# Request accounting and throttling in front of moto
# ---------------------------------------------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


def operation_of(environ: dict, body: bytes) -> Optional[tuple[str, str]]:
    """(signing service, operation) of an AWS API request: JSON protocols name it in X-Amz-Target, query
    protocols (EC2, IAM) in Action."""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = scope.group(1) if scope else None
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service or target.split(".")[0], target.split(".")[-1]
    match = re.search(rb"(?:^|&)Action=([A-Za-z0-9]+)", body) or re.search(
        r"(?:^|&)Action=([A-Za-z0-9]+)", environ.get("QUERY_STRING", "")
    )
    if match and service:
        action = match.group(1)
        return service, action.decode() if isinstance(action, bytes) else action
    return None


def _take_error(service: str, operation: str, body: bytes) -> Optional[dict]:
    with LOCK:
        for rule in ERRORS:
            if (rule["count"] > 0 and rule["operation"] in (operation, f"{service}.{operation}")
                    and rule["match"].encode() in body):
                rule["count"] -= 1
                return rule
    return None


def _error_answer(start_response, rule: dict):
    """An AWS JSON-protocol error (ECS, EventBridge, Step Functions)."""
    body = json.dumps({"__type": rule["code"], "message": rule["message"]}).encode()
    reason = {400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}.get(rule["status"], "Error")
    start_response(f"{rule['status']} {reason}", [("Content-Type", "application/x-amz-json-1.1"),
                                                 ("x-amzn-ErrorType", rule["code"]),
                                                 ("Content-Length", str(len(body)))])
    return [body]


moto_app = DomainDispatcherApplication(create_backend_app)


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith(("/_fault/", "/_seed/", "/_stats/")):
        return handle_control(Request(environ))(environ, start_response)
    if path.startswith("/moto-api"):
        return moto_app(environ, start_response)
    # Buffer the body: the operation may be named in it (query protocol), and moto must still read it.
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    op = operation_of(environ, body)
    if op:
        service, operation = op
        with LOCK:
            CALLS[f"{service}.{operation}"] = CALLS.get(f"{service}.{operation}", 0) + 1
        rule = _take_error(service, operation, body)
        if rule:
            return _error_answer(start_response, rule)
        if _bucket_refuses(service, operation):
            return _error_answer(start_response, {"code": "ThrottlingException", "message": "Rate exceeded",
                                                  "status": 400})
    if environ.get("REQUEST_METHOD") in ("PUT", "DELETE") and (
        "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ
    ):
        with CONDITIONAL_WRITES:
            return moto_app(environ, start_response)
    return moto_app(environ, start_response)


def _exit_with_parent() -> None:
    # Polls the parent process (not PR_SET_PDEATHSIG: that fires when the spawning *thread* ends, and a test
    # harness spawns from short-lived test threads).
    parent = os.getppid()
    if parent == 1:  # already re-parented to init: the parent died before we got here
        os._exit(0)

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    ap.add_argument("--sfn-engine", action="store_true", help="run Step Functions executions (moto's engine)")
    ap.add_argument("--exit-with-parent", action="store_true", help="exit when the parent process dies")
    ap.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = ap.parse_args()
    if args.exit_with_parent:
        _exit_with_parent()
    if args.sfn_engine:
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
    # Tasks started by RunTask stay RUNNING (moto otherwise moves them one state per DescribeTasks).
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10 ** 9})
    if args.quiet:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(args.host, args.port, app, threaded=True)
    port = server.server_port
    # moto's Step Functions engine sends its AWS calls (Lambda Invoke included) to localhost:$MOTO_PORT;
    # the local stack points that at the Lambda shim, anything else defaults to this server.
    os.environ.setdefault("MOTO_PORT", str(port))
    serve_until_interrupted(server, f"convoy-moto listening on http://{args.host}:{port}")


if __name__ == "__main__":
    main()
