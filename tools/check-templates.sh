#!/usr/bin/env bash
# Static checks of the SAM template and the release state machine (`make check-templates`):
#   sam validate --lint; cfn-lint on the template AND on its offline SAM transform (cfn-lint no longer
#   transforms SAM itself); checkov on both (0 failed; skips only in .checkov.yaml, each with a reason);
#   DefinitionUri placeholders <-> DefinitionSubstitutions; asl-validator + statelint on the rendered ASL;
#   a negative control: a copy with a dangling Next must be rejected, so a silent checker cannot pass; and
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
"$TOOLS/sam/bin/cfn-lint" -t "$OUT/template.cfn.json"

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

validate_asl() { # FILE: both validators; statelint also checks Retry order and reachability
  "$NODE_BIN/asl-validator" --json-path "$1" || return 1
  # statelint 1.30 predates MaxConcurrencyPath (valid ASL for Map states): it reads a copy where each
  # MaxConcurrencyPath is swapped for a literal MaxConcurrency, everything else unchanged.
  local copy="${1%.json}.statelint.json"
  "$SAM_PY" - "$1" "$copy" <<'PY' || return 1
import json, sys
def swap(node):
    if isinstance(node, dict):
        if "MaxConcurrencyPath" in node:
            del node["MaxConcurrencyPath"]
            node["MaxConcurrency"] = 10
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
while read -r asl; do
  step "asl-validator + statelint ${asl#"$OUT"/}"
  validate_asl "$asl"
done < "$OUT/asl.list"

step "negative control: a dangling Next must be rejected"
broken="$OUT/negative-control.asl.json"
"$SAM_PY" - "$(head -n1 "$OUT/asl.list")" "$broken" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["States"][d["StartAt"]]["Next"] = "NoSuchState"
json.dump(d, open(sys.argv[2], "w"))
PY
if validate_asl "$broken" > "$OUT/negative-control.log" 2>&1; then
  echo "check-templates: the ASL validators accepted a definition with a dangling Next" >&2
  exit 1
fi
grep -q "NoSuchState" "$OUT/negative-control.log" || { cat "$OUT/negative-control.log" >&2; exit 1; }

step "ASL data flow on moto's Step Functions engine (tools/test_asl_flow.py)"
MOTO_PY="$TOOLS/venv/bin/python" # the local stack's venv: moto + pytest, pinned in local/requirements.txt
[ -x "$MOTO_PY" ] || { echo "check-templates: $MOTO_PY missing: run local/install.sh" >&2; exit 2; }
(cd "$ROOT" && PYTHONPATH=local "$MOTO_PY" -m pytest -q -p no:cacheprovider tools/test_asl_flow.py)

echo "check-templates: all checks passed"
