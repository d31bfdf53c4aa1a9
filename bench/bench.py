"""Fleet-scale figures of a release on the local stack (real ASL on moto's engine, real functions).

    PYTHONPATH=local python bench/bench.py [--sizes 10,100,500] [--clusters 5] [--rules 2] [--steps 3] [--poll 2]
                                           [--rate-scale 10] [--no-buckets] [--skip noop,failure] [--json out.json]

Needs a running stack (bench/run.sh starts one). For each N it seeds N services spread over `--clusters`
clusters (each its own task-definition family) plus `--rules` scheduled rules with two ECS targets each,
arms the simulator so every rollout needs `--steps` DescribeServices, turns on ECS-like token buckets (rates
x `--rate-scale`), releases every service and rule to a new image and prints, from GetExecutionHistory and the
simulator's counters: history events, state transitions, the largest state payload, ECS/EventBridge calls by
operation (throttled answers apart), RegisterTaskDefinition calls, the orchestration wall time and the release
records the execution left in S3 (count, total, largest object). Each run also prints the price of its transitions,
the API-rate lower bound of its wall time (bench/bounds.py) and wall / bound, and the throttled share of ECS calls. Then a no-op release of 10 services, and the
delay from the simulator failing a rollout to RollbackRelease being entered.

Figures only: nothing here asserts a target (docs/performance.md states them next to the numbers).
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

from bounds import lower_bound_seconds, transitions_cost_usd
from convoy_local import release as runner
from convoy_local import render, seed
from convoy_local.control import ACCOUNT, REGION, Moto, endpoint_from_env

MOTO = Moto(endpoint_from_env())
IMAGE_REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
PAYLOAD_LIMIT = 256 * 1024
STATE_MACHINE = "convoy-bench-release"


# ---------------------------------------------------------------------------------------------------------------
# The world: N services over several clusters, a few rules with ECS targets, everything on 1.0.0
# ---------------------------------------------------------------------------------------------------------------


def service_name(i: int) -> str:
    return f"svc-{i:03d}"


def image(name: str, version: str) -> str:
    return f"{IMAGE_REPO}/{name}:{version}"


def seed_fleet(n: int, clusters: int, rules: int) -> dict:
    net = seed.start_world(MOTO)
    ecs, events = MOTO.client("ecs"), MOTO.client("events")
    cluster_names = [f"bench-{c}" for c in range(clusters)]
    for cluster in cluster_names:
        ecs.create_cluster(clusterName=cluster)

    def register(family: str, container: str) -> str:
        return ecs.register_task_definition(
            family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
            containerDefinitions=[{"name": container, "image": image(container, "1.0.0"), "essential": True,
                                   "portMappings": [{"containerPort": 8080, "protocol": "tcp"}]}],
        )["taskDefinition"]["taskDefinitionArn"]

    services = []
    for i in range(n):
        cluster, name = cluster_names[i % clusters], service_name(i)
        seed.create_rolled_out_service(MOTO, ecs, net, cluster, name, register(f"bench-{name}", name), 2)
        services.append((cluster, name))
    rule_names = []
    for r in range(rules):
        rule, container = f"bench-rule-{r}", f"job-{r}"
        arn = register(f"bench-{container}", container)
        events.put_rule(Name=rule, ScheduleExpression="rate(1 hour)", State="ENABLED")
        targets = [{"Id": f"{rule}-{t}", "Arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster_names[0]}",
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/bench-events",
                    "EcsParameters": {"TaskDefinitionArn": arn, "TaskCount": 1, "LaunchType": "FARGATE",
                                      "NetworkConfiguration": seed.target_network(net)}}
                   for t in range(2)]
        events.put_targets(Rule=rule, Targets=targets)
        rule_names.append((rule, container))
    return {"services": services, "rules": rule_names}


def chunks(n: int, waves: int) -> list[range]:
    """Services 0..n cut into `waves` consecutive runs of (nearly) equal length, in order."""
    size, extra = divmod(n, waves)
    out, start = [], 0
    for k in range(waves):
        end = start + size + (1 if k < extra else 0)
        out.append(range(start, end))
        start = end
    return out


def release_input(world: dict, release_id: str, version: str, poll: int, concurrency: int, waves: int = 1) -> dict:
    """The release of every service and rule of `world`; with `waves` > 1 the services are cut into that many
    consecutive runs, each depending on the first service of the run before it (the rules stay in the first)."""
    release = {
        "release": {"id": release_id, "source": "bench"},
        "settings": {"rollback": "all", "maxConcurrency": concurrency, "pollIntervalSeconds": poll,
                     "keepRevisions": 0, "allowLatest": False},
        "services": [{"cluster": cluster, "service": name, "images": {"containers": {name: image(name, version)}},
                      "timeoutSeconds": 1800} for cluster, name in world["services"]],
        "tasks": [{"rule": rule, "eventBus": "default", "images": {"containers": {container: image(container, version)}}}
                  for rule, container in world["rules"]],
    }
    services = release["services"]
    for previous, run in zip(chunks(len(services), waves), chunks(len(services), waves)[1:]):
        first = services[previous[0]]
        for i in run:
            services[i]["dependsOn"] = [f"{first['cluster']}/{first['service']}"]
    return release


# ---------------------------------------------------------------------------------------------------------------
# One measured release
# ---------------------------------------------------------------------------------------------------------------


def payloads(event: dict):
    """(bytes, where) of every input/output/parameters text an event carries."""
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict):
            for field in ("input", "output", "parameters"):
                if isinstance(details.get(field), str):
                    where = f"{event['type']} {details.get('name', '')}".strip()
                    yield len(details[field].encode()), f"{where} .{field}"


def records(execution_arn: str) -> dict:
    """Objects the execution wrote under its records prefix, releases/<release id>/<execution name>/."""
    s3 = MOTO.client("s3")
    bucket, marker = seed.records_bucket(), f"/{execution_arn.rsplit(':', 1)[-1]}/"
    sizes, prefix = {}, "releases/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="releases/"):
        for o in page.get("Contents", []):
            if marker in o["Key"]:
                prefix, name = o["Key"].split(marker, 1)
                prefix += marker
                sizes[name] = o["Size"]
    largest = max(sizes.items(), key=lambda kv: kv[1], default=("-", 0))
    return {"bucket": bucket, "prefix": prefix, "objects": len(sizes), "bytes": sum(sizes.values()),
            "largest": {"bytes": largest[1], "key": largest[0]}}


def children(rec: dict) -> dict:
    """The wave's children, from the batch summaries deploy-batch writes (moto keeps no child history): batches,
    deploy-batch calls, the child events and transitions they make on AWS (a child's history: 4 events plus 7 per
    call; transitions: 2 per call plus its end), and the throttled answers the batches saw themselves."""
    s3, bucket, prefix = MOTO.client("s3"), rec["bucket"], rec["prefix"]
    out = {"batches": 0, "calls": 0, "events": 0, "transitions": 0, "throttledSeen": 0}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}waves/"):
        for o in page.get("Contents", []):
            if not o["Key"].endswith("/summary.json"):
                continue
            summary = json.loads(s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
            calls = summary.get("invocations", 0)
            out["batches"] += 1
            out["calls"] += calls
            out["events"] += 4 + 7 * calls
            out["transitions"] += 2 * calls + 1
            out["throttledSeen"] += summary.get("calls", {}).get("throttled", 0)
    return out


# Above this the release is started by reference, as `convoy deploy` does (decide::release_ref::INLINE_MAX_BYTES).
INLINE_MAX_BYTES = 32 * 1024


def execution_input(release: dict) -> dict:
    """The release itself, or, above INLINE_MAX_BYTES, a reference to it written where `convoy deploy --bucket`
    writes it: inputs/<release id>/<sha256 of the rendered release>.json in the records bucket."""
    rendered = json.dumps(release)
    if len(rendered.encode()) <= INLINE_MAX_BYTES:
        return release
    release_id = release["release"]["id"]
    key = f"inputs/{release_id}/{hashlib.sha256(rendered.encode()).hexdigest()}.json"
    MOTO.client("s3").put_object(Bucket=seed.records_bucket(), Key=key, Body=rendered.encode())
    return {"releaseRef": f"s3://{seed.records_bucket()}/{key}", "release": {"id": release_id}}


def measure(sfn, definition: dict, release: dict, timeout: float) -> dict:
    # After seeding: a moto reset forgets state machines too.
    machine = runner.ensure_state_machine(sfn, definition, STATE_MACHINE)
    MOTO.post("/_stats/reset")
    result = runner.start_and_wait(sfn, machine, execution_input(release), timeout=timeout, poll=0.5)
    events = runner.history(sfn, result["executionArn"])
    calls = MOTO.get("/_stats/calls")
    throttled = MOTO.get("/_stats/throttled")
    rollouts = MOTO.get("/_stats/rollouts")
    largest = max((p for e in events for p in payloads(e)), default=(0, "-"))
    report = result["report"] or {}  # every item: convoy_local.release reads the full report when the output omits some
    outcomes: dict[str, int] = {}
    for item in report.get("items", []):
        outcomes[item["outcome"]] = outcomes.get(item["outcome"], 0) + 1
    stamps = [e["timestamp"].timestamp() for e in events]
    return {
        "status": result["status"],
        "error": result["error"],
        "outcomes": outcomes,
        "historyEvents": len(events),
        "stateTransitions": sum(1 for e in events if e["type"].endswith("StateEntered")),
        "lambdaInvocations": sum(1 for e in events if e["type"] == "LambdaFunctionScheduled"),
        "largestPayload": {"bytes": largest[0], "where": largest[1]},
        "calls": {k: v for k, v in calls.items() if k.startswith(("ecs.", "events."))},
        "throttled": throttled,
        "registerTaskDefinition": calls.get("ecs.RegisterTaskDefinition", 0),
        "orchestrationSeconds": round(max(stamps) - min(stamps), 2) if stamps else None,
        "clientSeconds": result["seconds"],
        "records": (rec := records(result["executionArn"])),
        "children": children(rec),
        "events": events,
        "rollouts": rollouts,
    }


def per_changed_item(m: dict, changed: int) -> float:
    """ECS calls per changed item (service or rule target), leaving out the batched polls (DescribeServices) and
    failure diagnosis; throttled answers are not calls ECS served."""
    polls = {"ecs.DescribeServices", "ecs.ListTasks", "ecs.DescribeTasks"}
    total = sum(v for k, v in m["calls"].items() if k.startswith("ecs.") and k not in polls)
    accepted = total - sum(v for k, v in m["throttled"].items() if k not in polls)
    return round(accepted / changed, 2) if changed else 0.0


def fleet(sfn, definition, args, n: int) -> dict:
    world = seed_fleet(n, min(args.clusters, n), args.rules)
    MOTO.post("/_fault/ecs/defaults", {"steps": args.steps})
    if not args.no_buckets:
        MOTO.post("/_fault/buckets", {"rateScale": args.rate_scale})
    release = release_input(world, f"bench-{n}-{int(time.time())}", "1.1.0", args.poll, args.concurrency,
                            args.waves)
    m = measure(sfn, definition, release, args.timeout)
    MOTO.post("/_fault/buckets", {"enabled": False})
    m["n"] = n
    m["waves"] = args.waves
    m["perWave"] = [len(run) + (2 * args.rules if k == 0 else 0) for k, run in enumerate(chunks(n, args.waves))]
    m["perChangedItem"] = per_changed_item(m, n + 2 * args.rules)
    add_bounds(m, args)
    return m


def accepted(m: dict, operation: str) -> int:
    return m["calls"].get(operation, 0) - m["throttled"].get(operation, 0)


def add_bounds(m: dict, args) -> None:
    """Cost of the transitions, the run's API-rate lower bound (from the calls ECS accepted), wall / bound and the
    throttled share of ECS calls."""
    scale = 1e9 if args.no_buckets else args.rate_scale  # no buckets: only the rollout's polls bind
    m["costUsd"] = transitions_cost_usd(m["stateTransitions"] + m["children"]["transitions"])
    m["rateScale"] = None if args.no_buckets else args.rate_scale
    if m.get("waves", 1) > 1:
        # Waves run one after another, each draining its own calls (from at most a full burst) and awaiting its
        # rollouts before the next starts: the sum of the waves' bounds. Every item is one registration and one
        # update (a rule target: a registration and a PutTargets, not an UpdateService).
        rules = 2 * args.rules
        m["lowerBoundSeconds"] = round(sum(
            lower_bound_seconds(items, items - (rules if k == 0 else 0), scale, args.steps, args.poll)
            for k, items in enumerate(m["perWave"])), 2)
    else:
        m["lowerBoundSeconds"] = round(lower_bound_seconds(
            accepted(m, "ecs.RegisterTaskDefinition"), accepted(m, "ecs.UpdateService"), scale, args.steps,
            args.poll), 2)
    wall = m["orchestrationSeconds"]
    m["wallOverBound"] = round(wall / m["lowerBoundSeconds"], 2) if wall and m["lowerBoundSeconds"] else None
    ecs_calls = sum(v for k, v in m["calls"].items() if k.startswith("ecs."))
    ecs_throttled = sum(v for k, v in m["throttled"].items() if k.startswith("ecs."))
    m["ecsCalls"], m["ecsThrottled"] = ecs_calls, ecs_throttled
    m["throttledPercent"] = round(100 * ecs_throttled / ecs_calls, 1) if ecs_calls else 0.0


def noop(sfn, definition, args) -> dict:
    world = seed_fleet(10, min(args.clusters, 10), 0)
    MOTO.post("/_fault/ecs/defaults", {"steps": args.steps})
    m = measure(sfn, definition, release_input(world, f"bench-noop-{int(time.time())}", "1.0.0", args.poll,
                                            args.concurrency), args.timeout)
    m["n"] = 10
    return m


def failure(sfn, definition, args) -> dict:
    """One of 10 services fails its rollout: how long after the simulator marked it FAILED is rollback entered."""
    world = seed_fleet(10, min(args.clusters, 10), 0)
    MOTO.post("/_fault/ecs/defaults", {"steps": args.steps})
    cluster, name = world["services"][3]
    MOTO.post("/_fault/ecs/arm", {"cluster": cluster, "service": name, "mode": "fail"})
    m = measure(sfn, definition, release_input(world, f"bench-fail-{int(time.time())}", "1.1.0", args.poll,
                                            args.concurrency), args.timeout)
    failed_at = next((r["at"] for r in m["rollouts"] if r["state"] == "FAILED"), None)
    entered = next((e["timestamp"].timestamp() for e in m["events"] if e["type"] == "TaskStateEntered"
                    and e.get("stateEnteredEventDetails", {}).get("name") == "RollbackRelease"), None)
    m["n"] = 10
    m["failureToRollbackSeconds"] = round(entered - failed_at, 2) if failed_at and entered else None
    return m


# ---------------------------------------------------------------------------------------------------------------


def kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def print_fleet(rows: list[dict]) -> None:
    print("\n== release of N services (every rollout needs k DescribeServices; ECS-like token buckets)")
    header = ["N", "waves", "status", "items", "parent history events", "batches (calls)", "transitions (parent+children)",
              "cost $", "largest payload B",
              "wall s", "lower bound s", "wall/bound", "Register calls", "ECS calls/changed item",
              "throttled (% of ECS calls)"]
    table = [header]
    for m in rows:
        table.append([m["n"], m.get("waves", 1), m["status"], " ".join(f"{k}={v}" for k, v in sorted(m["outcomes"].items())),
                      m["historyEvents"], f"{m['children']['batches']} ({m['children']['calls']})",
                      f"{m['stateTransitions']}+{m['children']['transitions']}", f"{m['costUsd']:.4f}",
                      m["largestPayload"]["bytes"], m["orchestrationSeconds"], m["lowerBoundSeconds"],
                      m["wallOverBound"], m["registerTaskDefinition"], m["perChangedItem"],
                      f"{m['ecsThrottled']} ({m['throttledPercent']} %)"])
    print(runner.table([[str(c) for c in r] for r in table]))
    for m in rows:
        print(f"\nN={m['n']}: largest payload {m['largestPayload']['bytes']} B at {m['largestPayload']['where']}"
              f"{'  (OVER 256 KiB)' if m['largestPayload']['bytes'] >= PAYLOAD_LIMIT else ''}")
        print("  calls:     " + ", ".join(f"{k}={v}" for k, v in m["calls"].items()))
        print(f"  bound:     {m['lowerBoundSeconds']} s for {accepted(m, 'ecs.RegisterTaskDefinition')} registrations and "
              f"{accepted(m, 'ecs.UpdateService')} updates at rate scale {m.get('rateScale', '-')}, wall/bound "
              f"{m['wallOverBound']}; {m['stateTransitions']} transitions = ${m['costUsd']:.4f} per release")
        r = m["records"]
        print(f"  records:   {r['objects']} objects, {kib(r['bytes'])} in s3://{r['bucket']}/{r['prefix']}, "
              f"largest {kib(r['largest']['bytes'])} ({r['largest']['key']})")
        c = m["children"]
        print(f"  children:  {c['batches']} batches, {c['calls']} deploy-batch calls, ≈ {c['events']} child history "
              f"events on AWS; the batches saw {c['throttledSeen']} throttled answers")
        if m["throttled"]:
            print("  throttled: " + ", ".join(f"{k}={v}" for k, v in m["throttled"].items()))
        if m["status"] != "SUCCEEDED":
            print(f"  error: {m['error']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10,100,500")
    ap.add_argument("--clusters", type=int, default=5)
    ap.add_argument("--rules", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="DescribeServices a rollout needs to finish")
    ap.add_argument("--poll", type=int, default=2, help="settings.pollIntervalSeconds")
    ap.add_argument("--concurrency", type=int, default=10, help="settings.maxConcurrency")
    ap.add_argument("--waves", type=int, default=1,
                    help="cut the services into this many waves with dependsOn (each on the one before)")
    ap.add_argument("--rate-scale", type=float, default=10, help="token bucket refill rates x this")
    ap.add_argument("--no-buckets", action="store_true")
    ap.add_argument("--skip", default="", help="comma list of: fleet, noop, failure")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--json", type=Path, help="also write every figure here")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    sfn = MOTO.client("stepfunctions")
    definition = render.render(max_wait=1)
    figures: dict = {"settings": {k: v for k, v in vars(args).items() if k != "json"}}
    # Warm-up: `cargo lambda watch` builds and starts each function on its first invoke; not measured.
    print("bench: warm-up release ...", file=sys.stderr, flush=True)
    warm = seed_fleet(2, 1, 1)
    measure(sfn, definition, release_input(warm, f"bench-warm-{int(time.time())}", "1.1.0", 1, 10), args.timeout)
    if "fleet" not in skip:
        rows = []
        for n in (int(s) for s in args.sizes.split(",") if s):
            print(f"bench: release of {n} services ...", file=sys.stderr, flush=True)
            rows.append(fleet(sfn, definition, args, n))
            print_fleet(rows[-1:])
        figures["fleet"] = rows
        if len(rows) > 1:
            print_fleet(rows)
    if "noop" not in skip:
        print("bench: no-op release of 10 services ...", file=sys.stderr, flush=True)
        m = noop(sfn, definition, args)
        figures["noop"] = m
        print(f"\n== no-op release, N=10: {m['status']}, {m['orchestrationSeconds']} s of orchestration, "
              f"{m['registerTaskDefinition']} RegisterTaskDefinition, {m['historyEvents']} history events, "
              f"items {m['outcomes']}")
    if "failure" not in skip:
        print("bench: one failing rollout among 10 ...", file=sys.stderr, flush=True)
        m = failure(sfn, definition, args)
        figures["failure"] = m
        print(f"\n== failure -> rollback, N=10: simulator marked the rollout FAILED, RollbackRelease entered "
              f"{m['failureToRollbackSeconds']} s later (poll interval {args.poll} s); release {m['status']}, "
              f"items {m['outcomes']}")
    if args.json:
        def strip(m):
            return {k: v for k, v in m.items() if k not in ("events",)} if isinstance(m, dict) else m
        out = {k: ([strip(r) for r in v] if isinstance(v, list) else strip(v)) for k, v in figures.items()}
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
