#!/usr/bin/env bash
# Pushes a release's images to a local registry (Debian's docker-registry on 127.0.0.1, storage
# in a temporary folder) with scripts/release.sh, and pulls them back with skopeo.
#
#   scripts/test-registry-push.sh [VERSION]     (default: car's version; no git tag is made)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-$(sed -n 's/.*current = "\([^"]*\)".*/\1/p' Sources/CarDefinition/Version.swift)}
command -v docker-registry >/dev/null || { echo "docker-registry is missing (apt-get install -y docker-registry)" >&2; exit 1; }
work=$(mktemp -d)
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/storage
http:
  addr: 127.0.0.1:$port
CONF
docker-registry serve "$work/config.yml" > "$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/v2/" >/dev/null || { cat "$work/registry.log" >&2; exit 1; }
echo "registry on 127.0.0.1:$port (storage $work/storage)"

set -x
scripts/release.sh "$version" --no-git-tag --registry "127.0.0.1:$port" --insecure-registry
curl -s "http://127.0.0.1:$port/v2/_catalog"
curl -s "http://127.0.0.1:$port/v2/isc-car-connector-reference/tags/list"
skopeo inspect --tls-verify=false "docker://127.0.0.1:$port/isc-car-connector-reference:$version"
skopeo copy --src-tls-verify=false "docker://127.0.0.1:$port/isc-car-connector-reference:${version%.*}" "oci-archive:$work/pulled.oci.tar"
set +x
# The pulled image is the pushed one: the same manifest digest.
pushed=$(skopeo inspect --format '{{.Digest}}' "oci-archive:dist/$version/isc-car-connector-reference-$version.oci.tar")
pulled=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$work/pulled.oci.tar")
remote=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/isc-car-connector-reference:$version")
echo "digests: archive $pushed, registry $remote, pulled back $pulled"
[ "$pulled" = "$remote" ] && [ "$pushed" = "$remote" ] || { echo "the digests differ" >&2; exit 1; }
echo "push and pull back passed"
