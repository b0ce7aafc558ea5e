#!/usr/bin/env bash
# Deploys a connector image to CP4S: the equivalent of IBM's deployment/deploy.sh for car images.
# Backs up the current Connector resource, applies the new one (car package writes it), and
# writes a script that restores the backup.
#
#   scripts/deploy.sh CONNECTOR IMAGE VERSION [NAMESPACE]
#
# CONNECTOR names connectors/CONNECTOR.yaml; IMAGE is the full reference the cluster pulls
# (REGISTRY/PATH/isc-car-connector-NAME:TAG); VERSION the connector release (the Connector's
# spec.version). Everything goes to backup/TIMESTAMP/ (BACKUP_DIR to choose another folder):
#   car-NAME.yaml       the Connector as it was (absent when there was none)
#   car-NAME-NEW.yaml   the Connector applied
#   _restore.sh         deletes the new Connector and applies the old one
# KUBECTL names the kubectl (or oc) to use (default kubectl); CAR the car binary (default
# .build/release/car, else .build/debug/car).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

[ $# -ge 3 ] || { echo "usage: $0 CONNECTOR IMAGE VERSION [NAMESPACE]" >&2; exit 2; }
connector=$1 image=$2 version=$3 namespace=${4:-}
kubectl=${KUBECTL:-kubectl}
command -v "$kubectl" >/dev/null || { echo "Error: $kubectl could not be found (set KUBECTL)" >&2; exit 1; }
car=${CAR:-}
if [ -z "$car" ]; then
  if [ -x "$repo/.build/release/car" ]; then car=$repo/.build/release/car; else car=$repo/.build/debug/car; fi
fi
definition=$repo/connectors/$connector.yaml
[ -f "$definition" ] || { echo "Error: no connector '$connector' ($definition)" >&2; exit 2; }
name=$(sed -n 's/^  name: *//p' "$definition" | head -n1)
resource=car-$name
ns=()
[ -n "$namespace" ] && ns=(-n "$namespace")

backup=${BACKUP_DIR:-backup/$(date '+%Y%m%d%H%M%S')}
mkdir -p "$backup"
new=$backup/$resource-NEW.yaml
package=$(mktemp -d)
trap 'rm -rf "$package"' EXIT
"$car" package "$definition" --out "$package" --image "$image" --release "$version" > /dev/null
cp "$package/manifests/connector.yaml" "$new"

echo "Deploying connector CR $resource${namespace:+ in $namespace}"
if "$kubectl" get connector "$resource" "${ns[@]}" -o yaml > "$backup/$resource.yaml"; then
  echo "The current $resource is saved in '$backup/$resource.yaml'"
  restore_apply="$kubectl apply ${ns[*]} -f $resource.yaml"
else
  rm -f "$backup/$resource.yaml"
  echo "There is no current $resource; the restore script only deletes the new one"
  restore_apply=""
fi
cat > "$backup/_restore.sh" <<RESTORE
#!/usr/bin/env bash
set -euo pipefail
cd "\$(dirname "\$0")"
$kubectl delete connector $resource ${ns[*]}
$restore_apply
RESTORE
chmod u+x "$backup/_restore.sh"

echo "CR is written to '$new', applying it"
"$kubectl" apply "${ns[@]}" -f "$new" --force
echo "Done!"
echo "Roll back with: $backup/_restore.sh"
