#!/usr/bin/env bash
# Builds the OCI image of a connector: FROM scratch, with car (release, static Swift stdlib), the
# shared libraries it links (found with ldd), CA certificates, /etc/passwd with user 1001, the
# definition at /opt/car/connector.yaml and its CP4S configurations (car package).
#
#   scripts/build-image.sh CONNECTOR [--tag T] [--version V] [--image NAME] [--archive FILE]
#
# CONNECTOR names connectors/CONNECTOR.yaml. --tag is the image tag and its `version` label
# (default: the connector's version), --version the connector release, its `release` label
# (default: the connector's version). --archive also writes `podman save --format oci-archive`.
# CAR_BINARY=path uses a built binary instead of running the release build.
# The last line printed is the image reference.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 CONNECTOR [--tag T] [--version V] [--image NAME] [--archive FILE]" >&2; exit 2; }
[ $# -ge 1 ] || usage
connector=$1; shift
tag="" version="" image="" archive=""
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=${2:?}; shift 2 ;;
    --version) version=${2:?}; shift 2 ;;
    --image) image=${2:?}; shift 2 ;;
    --archive) archive=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
definition=connectors/$connector.yaml
[ -f "$definition" ] || { echo "no connector '$connector' (no $definition)" >&2; exit 2; }
command -v podman >/dev/null || { echo "podman is missing (apt-get install -y podman runc)" >&2; exit 1; }

start=$(date +%s.%N)
if [ -n "${CAR_BINARY:-}" ]; then
  car=$CAR_BINARY
else
  swift build -c release --static-swift-stdlib >&2
  car=.build/release/car
fi
name=$(sed -n 's/^  name: *//p' "$definition" | head -n1)
connector_version=$(sed -n 's/^  version: *//p' "$definition" | head -n1)
tag=${tag:-$connector_version}
version=${version:-$connector_version}
image=${image:-localhost/isc-car-connector-$name:$tag}

build=${BUILD_DIR:-.build/images}/$connector
rm -rf "$build"
"$car" package "$definition" --out "$build" --tag "$tag" --release "$version" --image "$image" >&2

# The root filesystem: car, what it links, and what those need at run time.
root=$build/rootfs
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/opt/car"
chmod 1777 "$root/tmp"
cp "$car" "$root/usr/local/bin/car"
strip "$root/usr/local/bin/car" 2>/dev/null || true
libs=$(ldd "$car" | awk '/=> \// {print $3} /^\s*\/[^ ]+ \(/ {print $1}' | sort -u)
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# The loader by the name the binary asks for (the PT_INTERP path), as well as where ldd found it.
interp=$(readelf -l "$car" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [ -n "$interp" ] && [ ! -e "$root$interp" ]; then
  mkdir -p "$root$(dirname "$interp")"
  cp -L "$interp" "$root$interp"
fi
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ncar:x:1001:1001:car:/tmp:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\ncar:x:1001:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"

# podman on this kind of machine: runc, and ulimits within the host's limits (scripts/lib/podman.sh).
conf_dir=$(mktemp -d)
trap 'rm -rf "$conf_dir"' EXIT
. scripts/lib/podman.sh
write_containers_conf "$conf_dir/containers.conf"
export CONTAINERS_CONF=$conf_dir/containers.conf

build_start=$(date +%s.%N)
podman build --pull=never -f "$build/Containerfile" -t "$image" "$build" >&2
build_end=$(date +%s.%N)
if [ -n "$archive" ]; then
  rm -f "$archive"
  podman save --format oci-archive -o "$archive" "$image" >&2
fi
size=$(podman image inspect --format '{{.Size}}' "$image")
printf 'image %s: %s bytes (%s MB), podman build %.1f s, total %.1f s\n' "$image" "$size" \
  "$(awk -v s="$size" 'BEGIN {printf "%.1f", s / 1e6}')" \
  "$(awk -v a="$build_start" -v b="$build_end" 'BEGIN {print b - a}')" \
  "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')" >&2
echo "$image"
