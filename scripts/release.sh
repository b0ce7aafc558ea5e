#!/usr/bin/env bash
# Builds a release of car as PUBLISH.md describes, checks it, and publishes it.
#
#   scripts/release.sh VERSION [--dry-run] [--no-git-tag] [--registry HOST:PORT[/PATH]] [--insecure-registry]
#
# Writes dist/VERSION/:
#   car-VERSION-linux-ARCH.tar.gz          bin/car (release, static Swift stdlib), connectors/,
#                                          schemas/, docs/, README.md, CHANGELOG.md, LICENSE if present
#   isc-car-connector-NAME-VERSION.oci.tar the image of each connector (podman save --format oci-archive)
#   SHA256SUMS                             of the files above
# then checks the archive: its file list, and that its bin/car runs `car validate` on the shipped
# connectors and prints VERSION for --version.
# Without --dry-run: VERSION must be car's version (Sources/CarDefinition/Version.swift); the commit
# is tagged vVERSION (annotated, the CHANGELOG.md section of VERSION as its message; the work tree
# must be clean and the section must exist; --no-git-tag leaves git alone), and with --registry each image is copied there with
# skopeo as NAME:VERSION and NAME:MAJOR.MINOR (--insecure-registry: plain HTTP / no TLS check).
# --dry-run builds and checks everything and tags and pushes nothing.
# CAR_BINARY=path uses a built binary instead of running the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 VERSION [--dry-run] [--no-git-tag] [--registry HOST:PORT[/PATH]] [--insecure-registry]" >&2; exit 2; }
[ $# -ge 1 ] || usage
version=$1; shift
dry_run="" git_tag=yes registry="" tls=true
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry_run=yes; shift ;;
    --no-git-tag) git_tag=""; shift ;;
    --registry) registry=${2:?}; shift 2 ;;
    --insecure-registry) tls=false; shift ;;
    *) usage ;;
  esac
done
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] || { echo "VERSION must be X.Y.Z, found '$version'" >&2; exit 2; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
step() { printf '\n-- %s\n' "$*"; }
fail() { echo "release FAILED: $*" >&2; exit 1; }

current=$(sed -n 's/.*current = "\([^"]*\)".*/\1/p' Sources/CarDefinition/Version.swift)
if [ -z "$dry_run" ]; then
  [ "$version" = "$current" ] || fail "VERSION $version is not car's version $current (Sources/CarDefinition/Version.swift)"
  if [ -n "$git_tag" ]; then
    grep -q "^## \[$version\]" CHANGELOG.md || fail "CHANGELOG.md has no section '## [$version]' (the tag's message)"
    [ -z "$(git status --porcelain)" ] || fail "the work tree has changes; commit them first"
    ! git rev-parse -q --verify "refs/tags/v$version" >/dev/null || fail "tag v$version exists"
  fi
elif [ "$version" != "$current" ]; then
  echo "note: VERSION $version is not car's version $current; a real release would refuse it"
fi

step "binary"
if [ -n "${CAR_BINARY:-}" ]; then
  car=$CAR_BINARY
else
  swift build -c release --static-swift-stdlib
  car=.build/release/car
fi
arch=$(uname -m)
dist=dist/$version
rm -rf "$dist"
mkdir -p "$dist"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
name=car-$version-linux-$arch
mkdir -p "$stage/$name/bin" "$stage/$name/schemas"
cp "$car" "$stage/$name/bin/car"
strip "$stage/$name/bin/car" 2>/dev/null || true
cp -R connectors docs "$stage/$name/"
cp schemas/*.json "$stage/$name/schemas/"
cp README.md CHANGELOG.md "$stage/$name/"
[ -f LICENSE ] && cp LICENSE "$stage/$name/"
step "archive $dist/$name.tar.gz"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$(git log -1 --format=%ct)" \
  -czf "$dist/$name.tar.gz" "$name"

step "images"
for definition in connectors/*.yaml; do
  connector=$(basename "$definition" .yaml)
  cname=$(sed -n 's/^  name: *//p' "$definition" | head -n1)
  archive=$dist/isc-car-connector-$cname-$version.oci.tar
  CAR_BINARY=$car BUILD_DIR=$stage/images scripts/build-image.sh "$connector" --tag "$version" \
    --image "localhost/isc-car-connector-$cname:$version" --archive "$archive" | tail -n1
done

step "SHA256SUMS"
(cd "$dist" && sha256sum -- *.tar.gz *.oci.tar > SHA256SUMS && cat SHA256SUMS && sha256sum --quiet -c SHA256SUMS)

step "check the archive"
check=$stage/check
mkdir -p "$check"
tar -C "$check" -xzf "$dist/$name.tar.gz"
listing=$(tar -tzf "$dist/$name.tar.gz")
for entry in bin/car README.md CHANGELOG.md schemas/connector.schema.json schemas/connector-resource.schema.json \
             docs/definition-format.md $(ls connectors/*.yaml); do
  grep -qx "$name/$entry" <<<"$listing" || fail "the archive has no $entry"
done
[ "$("$check/$name/bin/car" --version)" = "$current" ] || fail "bin/car --version is not $current"
if [ "$current" != "$version" ] && [ -z "$dry_run" ]; then fail "bin/car is version $current"; fi
(cd "$check/$name" && ./bin/car validate connectors/*.yaml) || fail "bin/car validate fails on the shipped connectors"
echo "archive: $(wc -l <<<"$listing") entries, bin/car $current validates the shipped connectors"

if [ -n "$dry_run" ]; then
  step "dry run: no tag, no push"
  for archive in "$dist"/*.oci.tar; do
    image=$(basename "$archive" "-$version.oci.tar")
    echo "would push $archive as ${registry:-REGISTRY}/$image:$version and :${version%.*}"
  done
else
  if [ -n "$registry" ]; then
    command -v skopeo >/dev/null || fail "skopeo is missing (apt-get install -y skopeo)"
    for archive in "$dist"/*.oci.tar; do
      image=$(basename "$archive" "-$version.oci.tar")
      minor=$(cut -d. -f1,2 <<<"$version")
      for tag in "$version" "$minor"; do
        step "push $registry/$image:$tag"
        echo "+ skopeo copy --dest-tls-verify=$tls oci-archive:$archive docker://$registry/$image:$tag"
        skopeo copy --dest-tls-verify="$tls" "oci-archive:$archive" "docker://$registry/$image:$tag"
      done
    done
  fi
  if [ -n "$git_tag" ]; then
    step "tag v$version"
    notes=$(awk -v v="## [$version]" 'index($0, v) == 1 {on = 1; next} on && /^## \[/ {exit} on {print}' CHANGELOG.md)
    git tag -a "v$version" -m "car $version" -m "$notes"
    echo "tagged v$version; push it with: git push origin HEAD v$version"
  fi
fi
step "release $version in $dist ($(elapsed "$t0") s)"
ls -l "$dist"
