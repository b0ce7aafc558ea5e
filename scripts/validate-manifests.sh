#!/usr/bin/env bash
# Validates deployment manifests offline: the built-in kinds (CronJob, Secret, ...) with
# kubernetes-validate --strict, where a missing schema counts as a failure; the CP4S Connector
# resource against schemas/connector-resource.schema.json with python jsonschema.
#
#   scripts/validate-manifests.sh FILE...     (pip install kubernetes-validate jsonschema pyyaml)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
status=0
for f in "$@"; do
  kind=$(sed -n 's/^kind: *//p' "$f" | head -n1)
  if [ "$kind" = Connector ]; then
    if python3 - "$root/schemas/connector-resource.schema.json" "$f" <<'PY'
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
errors = list(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(open(sys.argv[2]))))
for e in errors:
    print(f"FAIL {sys.argv[2]}: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}")
sys.exit(1 if errors else 0)
PY
    then echo "INFO $f passed for resource connector against schemas/connector-resource.schema.json"; else status=1; fi
  else
    out=$(kubernetes-validate --strict "$f" 2>&1) || status=1
    echo "$out"
    # A built-in kind without a schema is not validated at all: a failure here.
    if grep -qi "couldn't find schema" <<<"$out"; then echo "FAIL $f: no schema for kind $kind" >&2; status=1; fi
  fi
done
exit $status
