"""Run a release on the local stack's Step Functions engine and show what happened.

    PYTHONPATH=local python -m convoy_local.release examples/deployment.yaml  # `convoy render`s the manifest
    PYTHONPATH=local python -m convoy_local.release --input release.json      # an already rendered release
        [--definition sm.json] [--max-wait N] [--endpoint URL] [--timeout S] [--history] [--json]

Creates (or updates) the state machine `convoy-local-release` from the rendered template, starts an execution
with the release, polls it, prints the report (one row per item: outcome, old -> new revision, reason) and the
state of the services and rule targets afterwards. Exit 0 when the execution SUCCEEDED, 1 otherwise.
The execution output (or Fail cause) is a bounded report that may omit items; the full one it names in S3
(`fullReport`) is read from moto and shown instead.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from convoy_local import render
from convoy_local.control import ACCOUNT, client, endpoint_from_env

ROOT = Path(__file__).resolve().parents[2]
STATE_MACHINE = "convoy-local-release"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/convoy-local-release"


def render_manifest(manifest: Path, convoy: Path) -> dict:
    if not convoy.exists():
        raise SystemExit(f"release: no {convoy}: build it with `cargo build -p convoy`")
    done = subprocess.run([str(convoy), "render", str(manifest)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"release: `convoy render {manifest}` failed:\n{done.stderr}")
    return json.loads(done.stdout)


def ensure_state_machine(sfn, definition: dict, name: str = STATE_MACHINE) -> str:
    text = json.dumps(definition)
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == name:
            sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=text)
            return machine["stateMachineArn"]
    return sfn.create_state_machine(name=name, definition=text, roleArn=ROLE, type="STANDARD")["stateMachineArn"]


def read_full_report(s3, uri: str) -> dict:
    """The report FinishRelease wrote to s3://bucket/key: the bounded one's shape, with every item."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception as exc:
        raise RuntimeError(f"release: the report names its full version {uri}, which cannot be read: {exc}") \
            from exc


def start_and_wait(sfn, machine_arn: str, release: dict, timeout: float = 300, poll: float = 0.25) -> dict:
    """Starts an execution and waits for its end: {status, seconds, output, error, cause, report, executionArn}.
    `report` is the full report: read from S3 when the execution's own (bounded) one names it in `fullReport`."""
    name = f"{release.get('release', {}).get('id', 'release')}-{int(time.time() * 1000)}"[:80]
    started = time.time()
    execution = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(release))["executionArn"]
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        if time.time() - started > timeout:
            sfn.stop_execution(executionArn=execution, error="LocalTimeout", cause=f"no result after {timeout} s")
            described = sfn.describe_execution(executionArn=execution)
            break
        time.sleep(poll)
    output = json.loads(described["output"]) if described.get("output") else None
    cause = described.get("cause")
    report = output if isinstance(output, dict) and "items" in output else None
    if report is None and cause:
        try:
            parsed = json.loads(cause)
            report = parsed if isinstance(parsed, dict) and "items" in parsed else None
        except ValueError:
            pass
    if report and report.get("fullReport"):
        report = read_full_report(client("s3", sfn.meta.endpoint_url), report["fullReport"])
    return {"executionArn": execution, "status": described["status"], "seconds": round(time.time() - started, 2),
            "output": output, "error": described.get("error"), "cause": cause, "report": report}


def history(sfn, execution_arn: str) -> list[dict]:
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                         **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def short(arn) -> str:
    return (arn or "-").rsplit("/", 1)[-1]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def format_report(report: dict) -> str:
    rows = [["ITEM", "KIND", "OUTCOME", "REVISION", "REASON"]]
    for item in report.get("items", []):
        old, new, final = (short(item.get(k)) for k in ("previousTaskDefinition", "newTaskDefinition",
                                                         "finalTaskDefinition"))
        revision = f"{old} -> {new}" if item.get("newTaskDefinition") else old
        if final not in (old, new) or (item.get("newTaskDefinition") and final == old):
            revision += f" (now {final})"
        reason = item.get("reason") or ""
        if item.get("stoppedReasons"):
            reason = f"{reason} [tasks: {'; '.join(item['stoppedReasons'])}]".strip()
        rows.append([item.get("id", "?"), item.get("kind", ""), item.get("outcome", ""), revision, reason])
    problems = "".join(f"\n  problem: {p}" for p in report.get("problems", []))
    return f"release {report.get('releaseId')}: {report.get('outcome')}{problems}\n" + table(rows)


def world_state(endpoint: str, release: dict) -> str:
    """Services and rule targets named by the release, as AWS (moto) sees them now."""
    ecs, events = client("ecs", endpoint), client("events", endpoint)
    rows = [["ITEM", "TASK DEFINITION", "DEPLOYMENTS", "IMAGES"]]
    by_cluster: dict[str, list[str]] = {}
    for service in release.get("services", []):
        by_cluster.setdefault(service["cluster"], []).append(service["service"])
    images_of: dict[str, str] = {}

    def images(arn: str) -> str:
        if arn not in images_of:
            try:
                td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
                images_of[arn] = ", ".join(f"{c['name']}={c['image'].rsplit('/', 1)[-1]}"
                                           for c in td["containerDefinitions"])
            except Exception as exc:  # noqa: BLE001 - shown, not handled
                images_of[arn] = f"? ({exc.__class__.__name__})"
        return images_of[arn]

    for cluster, names in by_cluster.items():
        for i in range(0, len(names), 10):
            answer = ecs.describe_services(cluster=cluster, services=names[i:i + 10])
            for svc in answer["services"]:
                deployments = " ".join(f"{d['status']}:{short(d['taskDefinition'])}:{d.get('rolloutState', '?')}"
                                       for d in svc["deployments"])
                rows.append([f"{cluster}/{svc['serviceName']}", short(svc["taskDefinition"]), deployments,
                             images(svc["taskDefinition"])])
            for failure in answer["failures"]:
                rows.append([f"{cluster}/{short(failure['arn'])}", "-", failure.get("reason", ""), ""])
    for task in release.get("tasks", []):
        bus = task.get("eventBus", "default")
        try:
            targets = events.list_targets_by_rule(Rule=task["rule"], EventBusName=bus)["Targets"]
        except Exception as exc:  # noqa: BLE001 - a missing rule is part of what is shown
            rows.append([f"{bus}/{task['rule']}", "-", exc.__class__.__name__, ""])
            continue
        for target in targets:
            arn = (target.get("EcsParameters") or {}).get("TaskDefinitionArn")
            if arn:
                rows.append([f"{bus}/{task['rule']}#{target['Id']}", short(arn), "", images(arn)])
    return table(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("manifest", nargs="?", type=Path)
    ap.add_argument("--input", type=Path, help="a rendered release (JSON) instead of a manifest")
    ap.add_argument("--definition", type=Path, help="rendered definition (default: render template.yaml now)")
    ap.add_argument("--max-wait", type=int, default=None)
    ap.add_argument("--endpoint", default=endpoint_from_env())
    ap.add_argument("--convoy", type=Path, default=ROOT / "target/debug/convoy")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--history", action="store_true", help="print the execution history")
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = ap.parse_args()
    if bool(args.manifest) == bool(args.input):
        ap.error("give a manifest or --input, not both")
    release = json.loads(args.input.read_text()) if args.input else render_manifest(args.manifest, args.convoy)
    definition = (json.loads(args.definition.read_text()) if args.definition
                  else render.render(max_wait=args.max_wait))
    sfn = client("stepfunctions", args.endpoint)
    machine = ensure_state_machine(sfn, definition)
    result = start_and_wait(sfn, machine, release, timeout=args.timeout)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        sys.exit(0 if result["status"] == "SUCCEEDED" else 1)
    if args.history:
        for event in history(sfn, result["executionArn"]):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            print(f'{event["timestamp"]:%H:%M:%S.%f} {event["type"]} {details.get("name", "")} '
                  f'{details.get("error", "")}'.rstrip(), file=sys.stderr)
    print(f"\nexecution {result['status']} in {result['seconds']} s")
    if result["report"]:
        print(format_report(result["report"]))
    elif result["status"] != "SUCCEEDED":
        print(f"error: {result['error']}\ncause: {result['cause']}")
    print("\nafterwards:")
    print(world_state(args.endpoint, release))
    sys.exit(0 if result["status"] == "SUCCEEDED" else 1)


if __name__ == "__main__":
    main()
