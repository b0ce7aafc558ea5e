#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and ThreadSanitizer, each in a build directory of
# its own (the normal .build is not touched). Timing-sensitive tests have generous bounds for
# the slowdown. Leak reports of the definition format's static shapes are suppressed, with the
# reason, in scripts/lsan.supp.
#
#   scripts/sanitizers.sh [address|thread|all]     (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
status=0
if [ "$which" = address ] || [ "$which" = all ]; then
  echo "== swift test --sanitize=address"
  LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0" \
    swift test --sanitize=address --scratch-path .build-asan || status=1
fi
if [ "$which" = thread ] || [ "$which" = all ]; then
  echo "== swift test --sanitize=thread"
  TSAN_OPTIONS="halt_on_error=1" swift test --sanitize=thread --scratch-path .build-tsan || status=1
fi
exit $status
