#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of fuzz/ (Swift's -sanitize=fuzzer,address).
#
#   scripts/fuzz.sh TARGET SECONDS    one target for that long: definition, expression, jsonpath,
#                                     json, xml or mapping
#   scripts/fuzz.sh all SECONDS       each target in turn, SECONDS each
#   scripts/fuzz.sh build [TARGET]    only build (all targets without one)
#
# The targets build into .build-fuzz (release, with testability; CAR_FUZZ=1 declares them in
# Package.swift, so that `swift build` and `swift test` never see them). A run reads the seeds
# in fuzz/corpus/TARGET and keeps what it finds in .build-fuzz/corpus/TARGET; a crash (or a
# failed invariant) is written to .build-fuzz/artifacts/TARGET/ and makes the script fail. It
# prints executions, coverage (cov: edges, ft: features) and the corpus size of each run.
# Reproduce a crash: .build-fuzz/release/FuzzTARGET FILE (for example FuzzJSON crash-...).
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS="-jobs=2").
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(definition expression jsonpath json xml mapping)

product() {
  case "$1" in
    definition) echo FuzzDefinition ;; expression) echo FuzzExpression ;; jsonpath) echo FuzzJSONPath ;;
    json) echo FuzzJSON ;; xml) echo FuzzXML ;; mapping) echo FuzzMapping ;;
    *) echo "unknown target '$1' (one of: ${targets[*]}, all)" >&2; exit 2 ;;
  esac
}

# The longest input per target: a definition file, an expression, a query, a response body,
# an XML document, a record.
max_len() {
  case "$1" in
    definition) echo 20000 ;; expression) echo 512 ;; jsonpath) echo 256 ;;
    json) echo 8192 ;; xml) echo 4096 ;; mapping) echo 2048 ;;
  esac
}

build() {
  local p
  p=$(product "$1")
  echo "== build $p (.build-fuzz) =="
  CAR_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product "$p" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld 2>&1 \
    | grep -v '^\[[0-9]*/[0-9]*\]' || true
  [ -x ".build-fuzz/release/$p" ] || { echo "the build of $p failed" >&2; exit 1; }
}

run() {
  local target=$1 seconds=$2 p work artifacts log status
  p=$(product "$target")
  work=.build-fuzz/corpus/$target
  artifacts=.build-fuzz/artifacts/$target
  log=.build-fuzz/logs/$target.log
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  local dict=()
  [ -f "fuzz/dict/$target.dict" ] && dict=(-dict="fuzz/dict/$target.dict")
  echo "== fuzz $target for $seconds s (max_len $(max_len "$target"); log $log) =="
  status=0
  # The Swift runtime's backtracer would run inside the sanitizer's crash handling. No leak
  # checks: pointers packed in enum payloads (spare bits) make LeakSanitizer report live objects.
  export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
  # New inputs go to the first directory (the working corpus); the seeds are only read.
  ".build-fuzz/release/$p" "$work" "fuzz/corpus/$target" -max_total_time="$seconds" -max_len="$(max_len "$target")" \
    -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} \
    >"$log" 2>&1 || status=$?
  local final executions files bytes
  final=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$work" -type f | wc -l)
  bytes=$(du -sb "$work" | cut -f1)
  local rate
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  echo "$target: ${executions:-?} executions (${rate:-?}/s); final: ${final:-none}; working corpus $files files, $bytes bytes"
  if [ "$status" != 0 ]; then
    echo "$target: the fuzzer stopped with status $status: a crash or a failed invariant" >&2
    grep -E 'invariant failed|ERROR: |SUMMARY: |Fatal error|Test unit written' "$log" | head -20 >&2 || true
    echo "reproduce: SWIFT_BACKTRACE=enable=no .build-fuzz/release/$p $(ls -t "$artifacts" | head -1 | sed "s|^|$artifacts/|")" >&2
    return 1
  fi
}

[ $# -ge 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
case "$1" in
  build)
    if [ $# -ge 2 ]; then build "$2"; else for t in "${targets[@]}"; do build "$t"; done; fi ;;
  all)
    [ $# -eq 2 ] || { echo "usage: scripts/fuzz.sh all SECONDS" >&2; exit 2; }
    for t in "${targets[@]}"; do build "$t"; done
    failed=()
    for t in "${targets[@]}"; do run "$t" "$2" || failed+=("$t"); done
    if [ ${#failed[@]} -gt 0 ]; then echo "failed: ${failed[*]}" >&2; exit 1; fi ;;
  *)
    [ $# -eq 2 ] || { echo "usage: scripts/fuzz.sh TARGET SECONDS" >&2; exit 2; }
    product "$1" >/dev/null
    build "$1"
    run "$1" "$2" ;;
esac
