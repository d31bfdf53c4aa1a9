"""Render the release state machine from the SAM template into a definition moto can execute.

    python local/render_sfn.py [--template template.yaml] [--state-machine ReleaseStateMachine]
                               [--max-wait SECONDS] [-o out.json]
    python local/render_sfn.py --functions       # the function binaries, one a line (what the stack builds)
    (or, with PYTHONPATH=local: python -m convoy_local.render ...)

The one renderer of the local definition: the local stack, tests/e2e, the benchmark, the Rust stack test (through
local/render_sfn.py) and the ASL flow test (tools/test_asl_flow.py) all run what `render()` returns.

Each DefinitionSubstitutions value (`!GetAtt Fn.Arn`, `!Ref Fn`, `!Sub ...`) naming a function becomes
arn:aws:lambda:<region>:<account>:function:<binary>, where <binary> is the function's
Metadata.BuildProperties.Binary: the name `cargo lambda watch` serves it under (the shim strips the ARN).
`--max-wait N` caps every Wait state and every Retry interval/MaxDelay at N seconds, for fast test runs
(moto's engine has no wait overrides). Intrinsics written inline in `Definition:` are not resolved: the
template keeps ARNs in DefinitionSubstitutions.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

from cfnlint.decode import decode

from convoy_local.control import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
STATE_MACHINE = "ReleaseStateMachine"


def binary(resource: dict, logical_id: str) -> str:
    """The name `cargo lambda watch` serves a function under: its Metadata.BuildProperties.Binary."""
    build = (resource.get("Metadata") or {}).get("BuildProperties") or {}
    return build.get("Binary", logical_id)


class Renderer:
    def __init__(self, resources: dict, region: str, account: str):
        self.resources, self.region, self.account = resources, region, account

    def function_arn(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise SystemExit(f"render: DefinitionSubstitutions names unknown resource {logical_id}")
        if resource.get("Type") != "AWS::Serverless::Function":
            raise SystemExit(f"render: {logical_id} is a {resource.get('Type')}, not a function")
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{binary(resource, logical_id)}"

    def resolve(self, value) -> str:
        if isinstance(value, str):
            return value
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            logical_id = target[0] if isinstance(target, list) else target.split(".")[0]
            return self.function_arn(logical_id)
        if "Ref" in value:
            ref = value["Ref"]
            pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                      "AWS::StackName": "convoy-local"}
            if ref in pseudo:
                return pseudo[ref]
            return self.function_arn(ref).split(":")[-1]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: self.resolve({"Fn::GetAtt": m[1].split(".")} if "." in m[1] else {"Ref": m[1]}),
                text,
            )
        raise SystemExit(f"render: unsupported substitution value {value}")


def cap_waits(states: dict, max_wait: int) -> None:
    for state in states.values():
        if state.get("Type") == "Wait" and "Seconds" in state:
            state["Seconds"] = min(state["Seconds"], max_wait)
        for retry in state.get("Retry", []):
            retry["IntervalSeconds"] = max(1, min(retry.get("IntervalSeconds", 1), max_wait))
            if "MaxDelaySeconds" in retry:
                retry["MaxDelaySeconds"] = max(1, min(retry["MaxDelaySeconds"], max_wait))
        for sub in (state.get("Iterator"), state.get("ItemProcessor"), *state.get("Branches", [])):
            if sub:
                cap_waits(sub["States"], max_wait)


def resources_of(template: Path) -> dict:
    doc, problems = decode(str(template))
    if problems:
        raise SystemExit(f"render: {template}: {problems}")
    return doc["Resources"]


def function_binaries(template: Path = TEMPLATE) -> list[str]:
    """Every function's binary, in template order: what the local stack builds and serves."""
    return [binary(r, k) for k, r in resources_of(template).items() if r.get("Type") == "AWS::Serverless::Function"]


def render(template: Path = TEMPLATE, state_machine: str = STATE_MACHINE, max_wait=None, region=REGION,
           account=ACCOUNT) -> dict:
    resources = resources_of(template)
    if state_machine not in resources:
        machines = [k for k, v in resources.items() if v.get("Type") == "AWS::Serverless::StateMachine"]
        raise SystemExit(f"render: no {state_machine} in {template} (state machines: {machines})")
    props = resources[state_machine]["Properties"]
    if "DefinitionUri" in props:
        text = (template.parent / props["DefinitionUri"]).read_text()
    else:
        text = json.dumps(props["Definition"])
    renderer = Renderer(resources, region, account)
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + key + "}", renderer.resolve(value))
    left = sorted(set(re.findall(r"\$\{[A-Za-z0-9_]+\}", text)))
    if left:
        raise SystemExit(f"render: unresolved substitutions {left}")
    definition = json.loads(text)
    if max_wait is not None:
        cap_waits(definition["States"], max_wait)
    return definition


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--template", type=Path, default=TEMPLATE)
    ap.add_argument("--state-machine", default=STATE_MACHINE)
    ap.add_argument("--max-wait", type=int)
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--functions", action="store_true", help="list the function binaries instead, one a line")
    args = ap.parse_args()
    if args.functions:
        print("\n".join(function_binaries(args.template)))
        return
    definition = render(args.template, args.state_machine, args.max_wait,
                        os.environ.get("AWS_REGION", REGION), os.environ.get("ACCOUNT_ID", ACCOUNT))
    text = json.dumps(definition, indent=2) + "\n"
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
