#!/usr/bin/env bash
# The deployment smoke test: the reference connector's image, run with podman on the host network
# as CP4S runs it (environment variables, /etc/secrets with JWE tokens and the key), against
# `car sim reference` and `car sim car` on 127.0.0.1.
#
#   scripts/smoke-image.sh            builds the image (scripts/build-image.sh reference)
#   IMAGE=ref scripts/smoke-image.sh  uses a built image
#
# Checks: the first run exits 0 and the CAR simulator holds the graph a run of the same binary on
# the host gives; a second run is incremental; a run with a wrong key exits 2 and prints no secret.
# Needs podman, runc, python3 with jwcrypto. Prints timings.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
fail() { echo "smoke test FAILED: $*" >&2; exit 1; }

if [ -z "${IMAGE:-}" ]; then
  IMAGE=$(scripts/build-image.sh reference --tag smoke | tail -n1)
fi
car=${CAR_BINARY:-.build/release/car}
[ -x "$car" ] || swift build -c release --static-swift-stdlib
echo "image: $IMAGE (ready after $(elapsed "$t0") s)"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The secrets: values no log line may show.
ref_password="ref-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
car_password="car-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

# Simulators on 127.0.0.1, any free port; the first line they print names it.
start_sim() { # LOG ARGS...
  local log=$1; shift
  "$car" sim "$@" > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    grep -q ' on http://127.0.0.1:' "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$log" >&2
  fail "simulator $* did not start"
}
url_of() { sed -n 's/.* on \(http:\/\/127\.0\.0\.1:[0-9]*[^ ]*\) .*/\1/p' "$1" | head -n1; }
start_sim "$work/ref.log" reference --port 0 --assets 50 --password "$ref_password"
start_sim "$work/car.log" car --port 0 --database-ready --password "$car_password"
start_sim "$work/car-host.log" car --port 0 --database-ready --password "$car_password"
ref_url=$(url_of "$work/ref.log")
car_url=$(url_of "$work/car.log")
host_car_url=$(url_of "$work/car-host.log")
echo "reference datasource $ref_url, CAR simulator $car_url"

# /etc/secrets as CP4S mounts it: JWE tokens (RSA-OAEP-256, A256GCM) and the key; a second key
# for the wrong-key run.
mkdir -p "$work/secrets/.jwk" "$work/wrong/.jwk"
REF_PASSWORD=$ref_password CAR_PASSWORD=$car_password OUT=$work python3 - <<'EOF'
import os
from jwcrypto import jwe, jwk
from jwcrypto.common import json_encode

out = os.environ["OUT"]
key, other = jwk.JWK.generate(kty="RSA", size=2048), jwk.JWK.generate(kty="RSA", size=2048)
for directory, k in (("secrets", key), ("wrong", other)):
    with open(os.path.join(out, directory, ".jwk", "key.jwk"), "w") as f:
        f.write(k.export_private())
for name, value in (("CONFIGURATION_AUTH_PASSWORD", os.environ["REF_PASSWORD"]),
                    ("CAR_SERVICE_PASSWORD", os.environ["CAR_PASSWORD"])):
    token = jwe.JWE(value.encode(), json_encode({"alg": "RSA-OAEP-256", "enc": "A256GCM"}))
    token.add_recipient(key.public())
    for directory in ("secrets", "wrong"):
        with open(os.path.join(out, directory, name), "w") as f:
            f.write(token.serialize(compact=True))
EOF
chmod -R a+rX "$work/secrets" "$work/wrong"

# The container as CP4S runs it: the framework's variables, the secrets mounted.
. scripts/lib/podman.sh
write_containers_conf "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
run_container() { # SECRETS_DIR LOG
  podman run --rm --network host \
    -e CAR_SERVICE_URL="$car_url" -e CAR_SERVICE_KEY=car-key -e CONNECTION_NAME=smoke \
    -e CONNECTOR_NAME=reference -e CONNECTOR_VERSION=1.0.0 \
    -e CONFIGURATION_AUTH_URL="$ref_url" -e CONFIGURATION_AUTH_USERNAME=admin \
    -v "$1:/etc/secrets:ro" "$IMAGE" > "$2" 2>&1
}
no_secret_in() { # LOG
  if grep -F -e "$ref_password" -e "$car_password" "$1" >/dev/null; then fail "a secret value is in $1"; fi
}
run_and_check() { # LOG WHAT EXPECTED_IMPORT: the container exits 0, makes that import, prints no secret
  local code=0
  run_container "$work/secrets" "$1" || code=$?
  tail -n 3 "$1"
  [ "$code" = 0 ] || { cat "$1" >&2; fail "the $2 run exited $code"; }
  grep -q "$3" "$1" || fail "the $2 run is not a $3"
  no_secret_in "$1"
}

t=$(date +%s.%N)
run_and_check "$work/run1.log" first "full import"
echo "first run (full import): exit 0 in $(elapsed "$t") s"

# The same binary on the host, into its own CAR simulator: the graphs must be the same.
CONFIGURATION_AUTH_PASSWORD=$ref_password CAR_SERVICE_PASSWORD=$car_password \
  "$car" run connectors/reference.yaml -car-service-url "$host_car_url" -car-service-key car-key \
  -source smoke --url "$ref_url" > "$work/host.log" 2>&1 || { cat "$work/host.log" >&2; fail "the host run failed"; }
curl -sf "${car_url%/api/car/v2}/admin/graph" > "$work/graph.json"
curl -sf "${host_car_url%/api/car/v2}/admin/graph" > "$work/graph-host.json"
python3 - "$work/graph.json" "$work/graph-host.json" <<'EOF' || fail "the CAR simulator's graph is not the full graph"
import json, sys
# The report's id and time differ between two runs; everything else must not.
def without_times(v):
    if isinstance(v, dict):
        return {k: without_times(x) for k, x in v.items() if k not in ("report", "timestamp")}
    return [without_times(x) for x in v] if isinstance(v, list) else v
got, want = (without_times(json.load(open(p))["sources"].get("smoke")) for p in sys.argv[1:3])
def differences(a, b, path=""):
    if type(a) is not type(b) or not isinstance(a, (dict, list)):
        return [] if a == b else [f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
diff = differences(got, want) if got else ["no source 'smoke' in the container run's graph"]
if diff:
    sys.exit("graphs differ (container != host):\n  " + "\n  ".join(diff[:10]))
counts = {k: len(v) for k, v in got["vertices"].items()}
edges = sum(len(v) for v in got.get("edges", {}).values())
if counts.get("asset") != 50:
    sys.exit(f"expected 50 assets, found {counts.get('asset')}")
print(f"graph: {sum(counts.values())} vertices ({counts['asset']} assets), {edges} edges, as the host run's")
EOF

# A change in the datasource for the incremental import to carry.
"$car" sim edit "$ref_url" update assets 9 '{"name": "asset-9-renamed"}' > /dev/null
t=$(date +%s.%N)
run_and_check "$work/run2.log" second "incremental import"
curl -sf "${car_url%/api/car/v2}/admin/graph" | python3 -c '
import json, sys
assets = json.load(sys.stdin)["sources"]["smoke"]["vertices"]["asset"]
names = [a.get("name") for a in assets if a.get("external_id") == "9"]
sys.exit(0 if names == ["asset-9-renamed"] else f"asset 9 is {names} after the incremental import")' \
  || fail "the incremental import did not carry the change"
echo "second run (incremental import): exit 0 in $(elapsed "$t") s"

t=$(date +%s.%N)
code=0; run_container "$work/wrong" "$work/run3.log" || code=$?
cat "$work/run3.log"
[ "$code" = 2 ] || fail "the run with a wrong key exited $code, not 2"
no_secret_in "$work/run3.log"
echo "run with a wrong key: exit 2, no secret printed, in $(elapsed "$t") s"

echo "smoke test passed in $(elapsed "$t0") s"
