#!/usr/bin/env bash
# IBM's Python reference connector against `car`, side by side: both import from IBM's own
# reference datasource server (the Django REST Framework app of IBM/cp4s-car-connectors) into
# `car sim car`, measured with /usr/bin/time (CPU = user + sys of the connector process).
#
#   scripts/bench-python.sh                   2,000 assets: full imports; then some assets renamed
#                                             or linked to a vulnerability, incremental imports;
#                                             then some deleted, incremental imports again
#   ROUNDS=3 CAR=/path/to/car scripts/bench-python.sh
#
# Environment: ASSETS (2000); ROUNDS (1; a round is a Python and a car import, under sources of
# their own, py-R and car-R, in the one CAR simulator, so repeats need no reset); CHANGES
# (ASSETS/100 assets renamed, a third as many linked to a vulnerability, half as many deleted; 0
# skips the incremental imports); CAR (.build/release/car); IBM_CONNECTORS (/tmp/conn, cloned
# when absent); SCRATCH (/tmp/car-bench-python: the venv, a copy of IBM's reference connector
# and server, which writes its sqlite db there, and the logs). It prints per run the exit code,
# wall and CPU seconds, peak RSS and the Django server's and CAR simulator's CPU, the vertex and
# active-edge counts per collection of each source, and the CPU ratio python / car per mode.
# Everything listens on 127.0.0.1 and is stopped on exit. Nothing of IBM's is copied into this
# repository. Exit 1 when an import failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ASSETS=${ASSETS:-2000}
ROUNDS=${ROUNDS:-1}
CHANGES=${CHANGES:-$((ASSETS / 100 > 0 ? ASSETS / 100 : 1))}
CAR=$(realpath "${CAR:-$ROOT/.build/release/car}")
IBM_CONNECTORS=${IBM_CONNECTORS:-/tmp/conn}
SCRATCH=${SCRATCH:-/tmp/car-bench-python}
# Versions that run IBM's server (written for Django 3) and connector on Python 3.11.
PINS=(Django==4.2.30 djangorestframework==3.15.2 django-filter==24.3
      car-connector-framework==4.0.1 urllib3==1.26.18 requests==2.34.2)

[[ -x $CAR ]] || { echo "no car binary at $CAR (swift build -c release, or set CAR)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 2; }
if [[ ! -d $IBM_CONNECTORS/connectors/reference_connector ]]; then
  src=https://github.com/IBM/cp4s-car-connectors
  [[ -d /work/.mirror/IBM+cp4s-car-connectors/repo ]] && src=/work/.mirror/IBM+cp4s-car-connectors/repo
  git clone -q "$src" "$IBM_CONNECTORS"
fi
mkdir -p "$SCRATCH"
VENV=$SCRATCH/venv
if [[ ! -f $VENV/.pins || $(cat "$VENV/.pins") != "${PINS[*]}" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" >"$VENV/.pins"
fi
PY=$VENV/bin/python
# A fresh copy of IBM's reference connector and server: the server writes its sqlite db there.
REF=$SCRATCH/reference_connector
rm -rf "$REF" "$SCRATCH/logs" "$SCRATCH/export" "$SCRATCH/car-state" && mkdir -p "$SCRATCH/logs"
cp -r "$IBM_CONNECTORS/connectors/reference_connector" "$REF"
rm -f "$REF/server/db.sqlite3"
LOGS=$SCRATCH/logs

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
manage() { (cd "$REF/server" && "$PY" manage.py "$@"); }

# IBM's server: its change-log signal handlers (assets/change_log.py) are imported by nothing,
# so every process that writes imports them, as the populate and the changes below do.
echo "populating IBM's reference server with $ASSETS assets ..."
manage migrate -v 0 >"$LOGS/migrate.log" 2>&1
manage shell >"$LOGS/populate.log" 2>&1 <<EOF
import assets.change_log
from django.contrib.auth.models import User
from django.db import transaction
from assets.models import AssetModelSize
User.objects.create_superuser('admin', 'admin@example.com', 'admin')
with transaction.atomic():
    AssetModelSize(size=$ASSETS).save()
EOF
DS_PORT=$(free_port)
(cd "$REF/server" && exec "$PY" manage.py runserver --noreload "127.0.0.1:$DS_PORT") >"$LOGS/django.log" 2>&1 &
DS_PID=$!; pids+=("$DS_PID")
CAR_PORT=$(free_port)
"$CAR" sim car --port "$CAR_PORT" --database-ready >"$LOGS/car-sim.log" 2>&1 &
SIM_PID=$!; pids+=("$SIM_PID")
wait_port "$DS_PORT"; wait_port "$CAR_PORT"
DS=http://127.0.0.1:$DS_PORT
export CAR_SERVICE_URL=http://127.0.0.1:$CAR_PORT/api/car/v2 CAR_SERVICE_KEY=car-key CAR_SERVICE_PASSWORD=car-password
export CONFIGURATION_AUTH_URL=$DS CONFIGURATION_AUTH_USERNAME=admin CONFIGURATION_AUTH_PASSWORD=admin

rows=()
# measure CONNECTOR MODE SOURCE: one import, its figures appended to rows.
measure() {
  local who=$1 mode=$2 src=$3 log=$LOGS/$3-$2.log ds0 sim0 rc=0
  ds0=$(cpu_of "$DS_PID"); sim0=$(cpu_of "$SIM_PID")
  if [[ $who == python ]]; then
    (cd "$REF" && /usr/bin/time -f '%e %U %S %M' -o "$log.time" "$PY" app.py -source "$src" \
      -export-data-dir "$SCRATCH/export/$src") >"$log" 2>&1 || rc=$?
  else
    local flag=--full; [[ $mode == incr-* ]] && flag=--incremental
    /usr/bin/time -f '%e %U %S %M' -o "$log.time" "$CAR" run connectors/reference.yaml "$flag" -source "$src" \
      --log-format json --state-dir "$SCRATCH/car-state" --export-data-dir "$SCRATCH/export/$src" >"$log" 2>&1 || rc=$?
  fi
  read -r wall user sys rss < <(tail -n 1 "$log.time")
  rows+=("$who $mode $src $rc $wall $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }') \
$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }') \
$(awk -v a="$ds0" -v b="$(cpu_of "$DS_PID")" 'BEGIN { printf "%.2f", b - a }') \
$(awk -v a="$sim0" -v b="$(cpu_of "$SIM_PID")" 'BEGIN { printf "%.2f", b - a }')")
  [[ $rc == 0 ]] || { echo "$who $mode ($src) exited $rc; the end of $log:" >&2; tail -n 5 "$log" >&2; }
}

# compare SOURCES...: vertices and active edges per collection of each source; a collection whose
# counts differ between the sources is marked.
compare() {
  curl -sf "http://127.0.0.1:$CAR_PORT/admin/graph" >"$LOGS/graph.json"
  "$PY" - "$LOGS/graph.json" "$@" <<'EOF'
import json, sys
sources, names = json.load(open(sys.argv[1]))["sources"], sys.argv[2:]
def counts(name):
    g = sources.get(name, {"vertices": {}, "edges": {}})
    c = {"vertex " + k: len(v) for k, v in g["vertices"].items()}
    c.update({"edge " + k: sum(1 for e in v if e.get("active", True)) for k, v in g["edges"].items()})
    return c
c = {n: counts(n) for n in names}
keys = sorted(set().union(*c.values()))
diff = [k for k in keys if len({c[n].get(k, 0) for n in names}) > 1]
print(f"  {'collection':32}" + "".join(f"{n:>8}" for n in names))
for k in keys:
    print(f"  {k:32}" + "".join(f"{c[n].get(k, 0):>8}" for n in names) + ("   <- differs" if k in diff else ""))
print(f"  {len(diff)} of {len(keys)} collections differ" if diff else "  the same counts in every collection")
EOF
}

sources=()
for r in $(seq "$ROUNDS"); do
  echo "round $r: full imports ..."
  measure python full "py-$r"
  measure car full "car-$r"
  sources+=("py-$r" "car-$r")
done
echo; echo "after the full imports (python, car):"; compare "${sources[@]}"

# change KIND: updates (CHANGES assets renamed, a third as many linked to one more vulnerability)
# or deletions (CHANGES/2 assets, with their addresses and host names), logged by IBM's
# change_log.py.
change() {
  manage shell >>"$LOGS/changes.log" 2>&1 <<EOF
import assets.change_log
from assets.models import Asset, Vulnerability
pks = sorted(Asset.objects.values_list('pk', flat=True)); n = len(pks)
v = Vulnerability.objects.order_by('pk').first()
if '$1' == 'updates':
    for i in range($CHANGES):
        a = Asset.objects.get(pk=pks[(i * 97) % n]); a.name = 'renamed-%d' % i; a.save()
        if i % 3 == 0: Asset.objects.get(pk=pks[(i * 389 + 3) % n]).vulnerabilities.add(v)
else:
    for pk in sorted({pks[(i * 193 + 7) % n] for i in range($CHANGES // 2)}): Asset.objects.get(pk=pk).delete()
EOF
}

if (( CHANGES > 0 )); then
  for kind in updates deletions; do
    if [[ $kind == updates ]]; then what="$CHANGES assets renamed, $(((CHANGES + 2) / 3)) linked to a vulnerability"
    else what="$((CHANGES / 2)) assets deleted"; fi
    echo; echo "changes: $what"
    change "$kind"
    for r in $(seq "$ROUNDS"); do
      echo "round $r: incremental imports after the $kind ..."
      measure python "incr-${kind:0:3}" "py-$r"
      measure car "incr-${kind:0:3}" "car-$r"
    done
    echo; echo "after the incremental imports (python, car):"; compare "${sources[@]}"
  done
fi

echo
echo "IBM's Python reference connector (car-connector-framework 4.0.1) and car $("$CAR" --version 2>/dev/null | head -n 1),"
echo "$ASSETS assets, IBM's Django server at $DS, car sim car at :$CAR_PORT; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-12s %-6s %4s %8s %7s %8s %11s %12s\n' connector mode source exit "wall s" "CPU s" "peak MB" "django CPU" "car-sim CPU"
for row in "${rows[@]}"; do
  # shellcheck disable=SC2086
  printf '%-8s %-12s %-6s %4s %8s %7s %8s %11s %12s\n' $row
done
echo
printf '%s\n' "${rows[@]}" | awk '
  { cpu[$2, $1] += $6; n[$2, $1]++ }
  END { split("full incr-upd incr-del", modes, " ")
        for (i = 1; i <= 3; i++) { m = modes[i]; if (!n[m, "python"] || !n[m, "car"]) continue
          py = cpu[m, "python"] / n[m, "python"]; c = cpu[m, "car"] / n[m, "car"]
          printf "CPU ratio, %-8s python %.2f s / car %.2f s = %.1fx (means of %d)\n", m ":", py, c, py / c, n[m, "python"] } }'
echo "logs: $LOGS"
awk '$4 != 0 { bad = 1 } END { exit bad }' < <(printf '%s\n' "${rows[@]}")
