#!/usr/bin/env bash
# Tries the car-validate hook of .pre-commit-hooks.yaml (pre-commit try-repo on this repository's
# HEAD) in a scratch connector repository: a valid definition passes, an invalid one fails.
#   CAR=path (default .build/debug/car) is put on PATH as car.   (pip install pre-commit)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
car=$(cd "$(dirname "${CAR:-$repo/.build/debug/car}")" && pwd)/$(basename "${CAR:-car}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/connectors"
ln -s "$car" "$work/bin/car"
cp "$repo/connectors/reference.yaml" "$work/connectors/"
cp "$repo/Tests/CarEngineTests/Fixtures/invalid/cp4s-configuration.yaml" "$work/connectors/bad.yaml"
cd "$work"
git init -q && git add connectors
export PATH=$work/bin:$PATH PRE_COMMIT_HOME=$work/.cache
pre-commit try-repo "$repo" car-validate --files connectors/reference.yaml > good.log 2>&1 \
  || { cat good.log >&2; echo "the hook fails on a valid definition" >&2; exit 1; }
if pre-commit try-repo "$repo" car-validate --files connectors/reference.yaml connectors/bad.yaml > bad.log 2>&1; then
  cat bad.log >&2; echo "the hook passes an invalid definition" >&2; exit 1
fi
grep -q "connectors/bad.yaml:6:23: error" bad.log || { cat bad.log >&2; echo "no located diagnostic" >&2; exit 1; }
echo "pre-commit hook test passed (valid passes, invalid fails with file:line:col)"
