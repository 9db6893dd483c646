#!/bin/sh
# Warden's privacy stage and Microsoft Presidio (pattern recognisers only) on
# the same labelled lines, in one run: per-kind scorecards and lines/s, and
# the ratio. Needs a release build and Presidio in a virtual environment:
#   cargo build --release -p warden
#   python3 -m venv /tmp/presidio && /tmp/presidio/bin/pip install presidio-analyzer
#   scripts/privacy-bench.sh [LINES] [SEED]
set -eu
lines=${1:-2000}
seed=${2:-7}
py=${PRESIDIO_PYTHON:-/tmp/presidio/bin/python}
here=$(cd "$(dirname "$0")/.." && pwd)
warden=${WARDEN:-$here/target/release/warden}
corpus=$(mktemp /tmp/pii-corpus.XXXXXX.jsonl)
trap 'rm -f "$corpus" "$corpus.w" "$corpus.p"' EXIT
"$warden" dev pii-score --seed "$seed" --lines "$lines" --out "$corpus" | tee "$corpus.w"
echo
"$py" "$here/scripts/presidio-score.py" "$corpus" | tee "$corpus.p"
w=$(sed -n 's/^lines\/s: recognise \([0-9]*\), tokenise \([0-9]*\).*/\2/p' "$corpus.w")
r=$(sed -n 's/^lines\/s: recognise \([0-9]*\),.*/\1/p' "$corpus.w")
p=$(sed -n 's/^lines\/s: \([0-9]*\)$/\1/p' "$corpus.p")
echo
echo "Warden tokenising / Presidio: $(echo "$w $p" | awk '{printf "%.0f", $1/$2}')x; Warden recognising / Presidio: $(echo "$r $p" | awk '{printf "%.0f", $1/$2}')x"
