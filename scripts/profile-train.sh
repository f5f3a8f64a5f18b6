#!/usr/bin/env bash
# Where `forecast train` spends its time: records a CPU profile of a training run with call stacks
# (perf, DWARF unwinding; the release profile keeps line tables for it) and prints the share of
# samples per part of the step (scripts/profile_categories.py): the LSTM recurrence forward and
# backward, the other GEMMs, validation, Adam and clipping, memory, thread hand-offs.
#
# Usage: scripts/profile-train.sh [FORECAST_BIN] [CSV] [EPOCHS]
#   defaults: target/release/forecast, ../shared/data/AAPL_kaggle-huge_aapl.us.txt (or
#   data/sample.csv without ../shared), 4 epochs.
# Needs perf (Debian: apt-get install linux-perf; run as root or with perf_event_paranoid ≤ 1) and
# Python 3. Takes about a minute. The README's profile breakdowns come from it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/forecast}
CSV=${2:-../shared/data/AAPL_kaggle-huge_aapl.us.txt}
[ -f "$CSV" ] || CSV=data/sample.csv
EPOCHS=${3:-4}
command -v perf >/dev/null || { echo "profile-train: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "profile-train: no binary at $BIN (cargo build --release)" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
perf record --quiet --call-graph dwarf,16384 -F 250 -o "$OUT/perf.data" \
  "$BIN" train --csv "$CSV" --out "$OUT/model.safetensors" --epochs "$EPOCHS" --patience 100000 --seed 1 \
  --quiet >/dev/null
echo "$BIN train --csv $CSV --epochs $EPOCHS:"
perf script --no-inline -i "$OUT/perf.data" 2>/dev/null | python3 scripts/profile_categories.py
