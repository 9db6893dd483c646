#!/usr/bin/env bash
# Runs Warden's fuzz targets (cargo fuzz on the nightly toolchain) and prints
# one line per target: executions, seconds, executions per second, crashes.
#
#   scripts/fuzz.sh                     every target, 10,000,000 executions each
#   scripts/fuzz.sh --runs 100000 json  one target, 100,000 executions
#   scripts/fuzz.sh --seconds 10        every target for 10 s (the CI smoke)
#   scripts/fuzz.sh --runs 10000000 --seconds 600   whichever comes first
#   scripts/fuzz.sh --asan json         with AddressSanitizer (about 10x slower;
#                                       Warden's own code has no unsafe)
#
# Each run starts from the small seed corpus in fuzz/seeds/<target> (kept in
# the repository) and grows a working corpus in a temporary directory, so the
# repository's corpora stay small. A crash leaves its input in
# fuzz/artifacts/<target>/, is named in the output, and makes the script exit 1;
# `cargo +nightly fuzz run <target> <file>` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10000000
seconds=""
sanitizer=(-s none)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --asan) sanitizer=(-s address); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(ocsf ecs eve windows_json json evtx xml syslog cef leef zeek hec sigma llm_output config)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is not installed (rustup toolchain install nightly)" >&2
  exit 3
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

features=()
for t in "${targets[@]}"; do
  [ "$t" = config ] && features=(--features engine)
done
echo "== building ${#targets[@]} fuzz target(s)"
for t in "${targets[@]}"; do
  cargo +nightly fuzz build "${sanitizer[@]}" "${features[@]}" "$t" 2>&1 | grep -E "^(error|warning: unused)" -A5 || true
done

limit=(-runs="$runs")
[ -n "$seconds" ] && limit+=(-max_total_time="$seconds")
failed=0
printf '%-12s %14s %9s %12s  %s\n' TARGET EXECUTIONS SECONDS "EXEC/S" RESULT
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  mkdir -p "$work/corpus"
  log="$work/log"
  max_len=8192
  [ "$t" = evtx ] && max_len=70000
  mkdir -p "fuzz/artifacts/$t"
  start=$(date +%s.%N)
  if cargo +nightly fuzz run "${sanitizer[@]}" "${features[@]}" "$t" "$work/corpus" "fuzz/seeds/$t" -- \
      "${limit[@]}" -max_len="$max_len" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 >"$log" 2>&1; then
    result="no crash"
    crashed=0
  else
    result="CRASH: $(grep -o "fuzz/artifacts/$t/[^ ]*" "$log" | tail -1 || true)"
    crashed=1
    failed=1
  fi
  end=$(date +%s.%N)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  execs=${execs:-0}
  awk -v t="$t" -v n="$execs" -v a="$start" -v b="$end" -v r="$result" \
    'BEGIN { s = b - a; printf "%-12s %14d %9.1f %12.0f  %s\n", t, n, s, n / s, r }'
  [ "$crashed" = 1 ] && tail -40 "$log" | sed 's/^/    /'
  rm -rf "$work"
done
exit "$failed"
