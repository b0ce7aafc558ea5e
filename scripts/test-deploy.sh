#!/usr/bin/env bash
# Tests scripts/deploy.sh with a fake kubectl that logs its calls and serves a current Connector.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy test FAILED: $*" >&2; exit 1; }

cat > "$work/kubectl" <<'FAKE'
#!/usr/bin/env bash
# A fake kubectl: logs each call; `get connector` answers $FAKE_DIR/current.yaml when it exists.
echo "$*" >> "$FAKE_DIR/calls"
case "$1" in
  get) [ -f "$FAKE_DIR/current.yaml" ] || { echo 'Error from server (NotFound): connectors "x" not found' >&2; exit 1; }
       cat "$FAKE_DIR/current.yaml" ;;
  apply) file=""; while [ $# -gt 0 ]; do [ "$1" = -f ] && file=$2; shift; done
         cp "$file" "$FAKE_DIR/applied.yaml"; echo "connector.connector.isc.ibm.com/x configured" ;;
  delete) echo "connector.connector.isc.ibm.com/x deleted" ;;
esac
FAKE
chmod +x "$work/kubectl"
export FAKE_DIR=$work KUBECTL=$work/kubectl
printf 'apiVersion: connector.isc.ibm.com/v1\nkind: Connector\nmetadata:\n  name: car-reference\nspec:\n  type: "CAR"\n  version: "0.9.0"\n  creator: "IBM"\n  image: "old/isc-car-connector-reference:0.9.0"\n' > "$work/current.yaml"

# An update: the old Connector is saved, the new one applied, the restore script puts it back.
BACKUP_DIR=$work/backup scripts/deploy.sh reference registry.example:5000/cp4s/isc-car-connector-reference:1.0.0 1.0.0 cp4s
cmp -s "$work/current.yaml" "$work/backup/car-reference.yaml" || fail "the current Connector is not backed up"
cmp -s "$work/applied.yaml" "$work/backup/car-reference-NEW.yaml" || fail "the applied Connector is not the one written"
grep -q 'image: "registry.example:5000/cp4s/isc-car-connector-reference:1.0.0"' "$work/applied.yaml" || fail "wrong image"
grep -q 'version: "1.0.0"' "$work/applied.yaml" || fail "wrong version"
scripts/validate-manifests.sh "$work/applied.yaml" > /dev/null || fail "the applied Connector is not valid"
[ "$(cat "$work/calls")" = "get connector car-reference -n cp4s -o yaml
apply -n cp4s -f $work/backup/car-reference-NEW.yaml --force" ] || fail "unexpected calls: $(cat "$work/calls")"
: > "$work/calls"
"$work/backup/_restore.sh" > /dev/null
[ "$(cat "$work/calls")" = "delete connector car-reference -n cp4s
apply -n cp4s -f car-reference.yaml" ] || fail "unexpected restore calls: $(cat "$work/calls")"
cmp -s "$work/current.yaml" "$work/applied.yaml" || fail "the restore did not apply the old Connector"

# A first install: nothing to back up, the restore script only deletes.
rm -f "$work/current.yaml" "$work/calls"
BACKUP_DIR=$work/first scripts/deploy.sh reference isc-car-connector-reference:1.0.0 1.0.0 > /dev/null 2>&1
[ ! -e "$work/first/car-reference.yaml" ] || fail "an empty backup was written"
: > "$work/calls"
"$work/first/_restore.sh" > /dev/null
[ "$(cat "$work/calls")" = "delete connector car-reference" ] || fail "unexpected restore calls: $(cat "$work/calls")"
echo "deploy test passed"
