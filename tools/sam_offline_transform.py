#!/usr/bin/env python3
"""Offline SAM -> CloudFormation transform, so cfn-lint (which no longer runs the SAM translator) and checkov
see the generated resources, with the DefinitionUri ASL inlined as a Definition object.

usage: sam_offline_transform.py template.yaml > template.cfn.json
Runs with the aws-sam-translator that aws-sam-cli installs; no credentials, no AWS calls. Parameters with
no default get a placeholder value (the translator resolves intrinsics it can)."""
import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator needs a region, not credentials
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.parser import parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

path = sys.argv[1]
base = os.path.dirname(os.path.abspath(path))
with open(path) as f:
    template = yaml_parse(f.read())
for name, resource in template.get("Resources", {}).items():
    props = resource.setdefault("Properties", {})
    if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri", "."), str):
        props["CodeUri"] = "s3://offline-bucket/%s.zip" % name
    if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
        with open(os.path.join(base, props.pop("DefinitionUri"))) as f:
            props["Definition"] = json.load(f)

out = Translator(managed_policy_map=None, sam_parser=parser.Parser()).translate(
    sam_template=template,
    parameter_values={},
    get_managed_policy_map=lambda: get_bundled_managed_policy_map("aws"),
)

# SAM renders Definition as DefinitionString {Fn::Join: ["\n", lines]}; turn it back into an object so cfn-lint's
# E3601 (ASL schema) and checkov can inspect it.
for resource in out["Resources"].values():
    if resource["Type"] != "AWS::StepFunctions::StateMachine":
        continue
    ds = resource["Properties"].get("DefinitionString")
    if isinstance(ds, dict) and "Fn::Join" in ds and all(isinstance(x, str) for x in ds["Fn::Join"][1]):
        resource["Properties"]["Definition"] = json.loads(ds["Fn::Join"][0].join(ds["Fn::Join"][1]))
        del resource["Properties"]["DefinitionString"]
json.dump(out, sys.stdout, indent=1)
print()
