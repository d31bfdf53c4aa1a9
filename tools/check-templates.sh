#!/usr/bin/env bash
# Static checks of the SAM template and the release state machine (`make check-templates`):
#   sam validate --lint; cfn-lint on the template AND on its offline SAM transform (cfn-lint no longer
#   transforms SAM itself); checkov on both (0 failed; skips only in .checkov.yaml, each with a reason);
#   DefinitionUri placeholders <-> DefinitionSubstitutions; asl-validator + statelint on the rendered ASL;
#   negative controls: copies with a dangling Next, a dangling Catch target in a Map and an unreachable
#   state must each be rejected by each validator, so a silent checker cannot pass; and
#   the ASL's data flow on moto's Step Functions engine with scripted functions (tools/test_asl_flow.py).
#
#   tools/check-templates.sh [DIR]     # DIR holds template.yaml + statemachine/ (default: the repo root)
# Tools come from tools/install-checkers.sh (.tools/). Output goes to $OUT (default build/check-templates).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(cd "${1:-$ROOT}" && pwd)
TOOLS="$ROOT/.tools"
OUT=${OUT:-$ROOT/build/check-templates}
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
SAM_PY="$TOOLS/sam/bin/python"
NODE_BIN="$TOOLS/node_modules/.bin"
for tool in "$TOOLS/sam/bin/sam" "$TOOLS/sam/bin/cfn-lint" "$TOOLS/checkov/bin/checkov" "$NODE_BIN/asl-validator" "$NODE_BIN/statelint"; do
  [ -x "$tool" ] || { echo "check-templates: $tool missing: run tools/install-checkers.sh" >&2; exit 2; }
done
rm -rf "$OUT" && mkdir -p "$OUT"
cd "$DIR"

step() { printf -- '--- %s\n' "$*"; }

step "sam validate --lint"
"$TOOLS/sam/bin/sam" validate --lint -t template.yaml

step "cfn-lint template.yaml"
"$TOOLS/sam/bin/cfn-lint" -t template.yaml

step "offline SAM transform + cfn-lint (sees generated resources and the inlined ASL)"
"$SAM_PY" "$ROOT/tools/sam_offline_transform.py" template.yaml > "$OUT/template.cfn.json"
# cfn-lint's state machine schema (E3601) takes no InputPath/OutputPath on a Succeed state, which the ASL
# (states-language.net) and Step Functions accept and asl-validator and statelint check below: that finding,
# and only it, is set aside (named in the output); any other finding fails the check.
cfn_lint_rc=0
"$TOOLS/sam/bin/cfn-lint" -t "$OUT/template.cfn.json" -f json > "$OUT/template.cfn.lint.json" || cfn_lint_rc=$?
"$SAM_PY" - "$OUT/template.cfn.json" "$OUT/template.cfn.lint.json" "$cfn_lint_rc" <<'PY'
import json, sys
template_path, findings_path, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
template = json.load(open(template_path))
try:
    findings = json.load(open(findings_path))
except ValueError:
    sys.exit(f"cfn-lint exited {rc} without its findings:\n{open(findings_path).read()}")
if rc & 1 or (rc and not findings):
    sys.exit(f"cfn-lint exited {rc}: {findings}")
def at(path):
    node = template
    for key in path:
        node = node[key]
    return node
def set_aside(f):
    path = f["Location"]["Path"]
    field = path[-1] if path else None
    return (f["Rule"]["Id"] == "E3601" and field in ("InputPath", "OutputPath")
            and f["Message"] == f"Additional properties are not allowed ('{field}' was unexpected)"
            and isinstance(parent := at(path[:-1]), dict) and parent.get("Type") == "Succeed")
for f in findings:
    where = f"{f['Filename']}:{f['Location']['Start']['LineNumber']}:{f['Location']['Start']['ColumnNumber']}"
    note = " (set aside: Succeed state)" if set_aside(f) else ""
    print(f"{f['Rule']['Id']} {f['Message']}{note}\n{where} {'.'.join(map(str, f['Location']['Path']))}")
if [f for f in findings if not set_aside(f)]:
    sys.exit(1)
PY

step "checkov skips: only in .checkov.yaml, each with its reason beside it"
"$SAM_PY" - "$ROOT/.checkov.yaml" template.yaml <<'PY'
import re, sys
import yaml
from samtranslator.yaml_helper import yaml_parse
config_path, template_path = sys.argv[1], sys.argv[2]
config_text = open(config_path).read()
skips = (yaml.safe_load(config_text) or {}).get("skip-check") or []
reasons = dict(re.findall(r"^\s*-\s*([A-Za-z0-9_]+)\s*#(.*)$", config_text, re.M))
bad = [f"{config_path}: skip {check} has no reason (a comment beside it)"
       for check in skips if len(reasons.get(str(check), "").strip()) < 10]
template_text = open(template_path).read()
bad += [f"{template_path}: {name} skips checkov checks in its Metadata: skips belong in .checkov.yaml"
        for name, res in yaml_parse(template_text)["Resources"].items()
        if (res.get("Metadata") or {}).get("checkov")]
if re.search(r"checkov:skip", template_text):
    bad.append(f"{template_path}: a checkov:skip comment: skips belong in .checkov.yaml")
if bad:
    sys.exit("\n".join(bad))
PY

step "checkov template.yaml and the transformed template (settings and skips: .checkov.yaml)"
for t in template.yaml "$OUT/template.cfn.json"; do
  "$TOOLS/checkov/bin/checkov" --config-file "$ROOT/.checkov.yaml" -f "$t"
done

step "DefinitionUri placeholders <-> DefinitionSubstitutions"
"$SAM_PY" "$ROOT/tools/asl_check.py" template.yaml "$OUT/asl" > "$OUT/asl.list"

asl_validator() { # FILE
  "$NODE_BIN/asl-validator" --json-path "$1"
}
statelint_asl() { # FILE
  # statelint 1.30 predates MaxConcurrencyPath and the Distributed Map's fields (valid ASL for Map states,
  # which asl-validator reads in the original): it reads a copy where each MaxConcurrencyPath is
  # swapped for a literal MaxConcurrency and the fields it refuses (Label, ItemReader, ItemBatcher,
  # ResultWriter, ToleratedFailureCount/Percentage and their *Path forms) are dropped, everything else
  # unchanged (ProcessorConfig.ExecutionType it reads).
  local copy="${1%.json}.statelint.json"
  "$SAM_PY" - "$1" "$copy" <<'PY' || return 1
import json, sys
UNREADABLE = ("Label", "ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailureCount",
              "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath")
def swap(node):
    if isinstance(node, dict):
        if "MaxConcurrencyPath" in node:
            del node["MaxConcurrencyPath"]
            node["MaxConcurrency"] = 10
        if node.get("Type") == "Map":
            for field in UNREADABLE:
                node.pop(field, None)
        for v in node.values():
            swap(v)
    elif isinstance(node, list):
        for v in node:
            swap(v)
d = json.load(open(sys.argv[1]))
swap(d)
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
  "$NODE_BIN/statelint" "$copy"
}
validate_asl() { # FILE: both validators; they check targets, reachability, fields and Retry/Catch order
  asl_validator "$1" && statelint_asl "$1"
}
while read -r asl; do
  step "asl-validator + statelint ${asl#"$OUT"/}"
  validate_asl "$asl"
done < "$OUT/asl.list"

step "negative controls: each validator rejects a dangling Next, a dangling Catch target in a Map, an unreachable state"
# The Rust contract test (crates/release-core/tests/asl_contract.rs) leaves these generic rules to the
# validators, so each validator must prove on its own that it still enforces them.
"$SAM_PY" - "$(head -n1 "$OUT/asl.list")" "$OUT/negative" > "$OUT/negative.list" <<'PY'
import json, sys
source, prefix = sys.argv[1], sys.argv[2]
def dangling_next(d):
    d["States"][d["StartAt"]]["Next"] = "NoSuchState"
    return "NoSuchState"
def dangling_catch_in_map(d):
    inner = next(s["ItemProcessor"] for s in d["States"].values() if "ItemProcessor" in s)
    task = next(s for s in inner["States"].values() if s.get("Catch"))
    task["Catch"][0]["Next"] = "NoSuchCatchTarget"
    return "NoSuchCatchTarget"
def unreachable_state(d):
    d["States"]["OrphanState"] = {"Type": "Succeed"}
    return "OrphanState"
for change in (dangling_next, dangling_catch_in_map, unreachable_state):
    d = json.load(open(source))
    needle = change(d)
    path = f"{prefix}-{change.__name__}.asl.json"
    json.dump(d, open(path, "w"))
    print(path, needle)
PY
while read -r broken needle; do
  for validator in asl_validator statelint_asl; do
    log="${broken%.asl.json}.$validator.log"
    if "$validator" "$broken" > "$log" 2>&1 || ! grep -q "$needle" "$log"; then
      cat "$log" >&2
      echo "check-templates: $validator did not reject ${broken##*/} naming $needle" >&2
      exit 1
    fi
  done
done < "$OUT/negative.list"

step "ASL data flow on moto's Step Functions engine (tools/test_asl_flow.py)"
MOTO_PY="$TOOLS/venv/bin/python" # the local stack's venv: moto + pytest, pinned in local/requirements.txt
[ -x "$MOTO_PY" ] || { echo "check-templates: $MOTO_PY missing: run local/install.sh" >&2; exit 2; }
(cd "$ROOT" && PYTHONPATH=local "$MOTO_PY" -m pytest -q -p no:cacheprovider tools/test_asl_flow.py)

echo "check-templates: all checks passed"
