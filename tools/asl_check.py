#!/usr/bin/env python3
"""Cross-checks each AWS::Serverless::StateMachine's DefinitionUri file against its DefinitionSubstitutions, then
writes a placeholder-free copy for the ASL validators (asl-validator, statelint), which reject `${...}`.

usage: asl_check.py template.yaml OUTDIR   -> prints OUTDIR/<Resource>.asl.json paths; exit 1 on any error
A placeholder without a substitution and a substitution no placeholder uses are both errors: the first
deploys a literal `${Name}`, the second is a renamed or dead reference."""
import json
import os
import re
import sys

from samtranslator.yaml_helper import yaml_parse  # understands !Ref/!GetAtt/!Sub tags

template_path, outdir = sys.argv[1], sys.argv[2]
base = os.path.dirname(os.path.abspath(template_path))
with open(template_path) as f:
    template = yaml_parse(f.read())
os.makedirs(outdir, exist_ok=True)
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
errors = 0
machines = 0


def dummy(match):
    key = match.group(1)
    if key.endswith("FunctionArn"):
        return "arn:aws:lambda:us-east-1:123456789012:function:" + key[: -len("Arn")]
    return "dummy-" + key


for name, resource in template.get("Resources", {}).items():
    if resource.get("Type") != "AWS::Serverless::StateMachine":
        continue
    props = resource.get("Properties", {})
    uri = props.get("DefinitionUri")
    if not isinstance(uri, str):
        continue
    machines += 1
    with open(os.path.join(base, uri)) as f:
        text = f.read()
    substitutions = set(props.get("DefinitionSubstitutions") or {})
    used = set(PLACEHOLDER.findall(text))
    for missing in sorted(used - substitutions):
        print(f"ERROR {name}: {uri} uses ${{{missing}}} but DefinitionSubstitutions has no such key", file=sys.stderr)
        errors += 1
    for unused in sorted(substitutions - used):
        print(f"ERROR {name}: DefinitionSubstitutions key {unused} is not used in {uri}", file=sys.stderr)
        errors += 1
    try:
        definition = json.loads(PLACEHOLDER.sub(dummy, text))
    except json.JSONDecodeError as e:
        print(f"ERROR {name}: {uri} is not valid JSON: {e}", file=sys.stderr)
        errors += 1
        continue
    out = os.path.join(outdir, f"{name}.asl.json")
    with open(out, "w") as f:
        json.dump(definition, f, indent=1)
    print(out)
if machines == 0:
    print(f"ERROR {template_path}: no AWS::Serverless::StateMachine with a DefinitionUri", file=sys.stderr)
    errors += 1
sys.exit(1 if errors else 0)
