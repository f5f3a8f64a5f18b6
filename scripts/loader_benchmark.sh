#!/usr/bin/env bash
# CSV loader throughput and memory on a large file (issue 15):
#
#   scripts/loader_benchmark.sh [BIN ...]      (default BIN: target/release/forecast)
#
# Writes a random walk (pulled towards 100) of ROWS daily rows (default 1,000,000; Date,Open,High,Low,Close,Volume,
# consecutive calendar days from 1200-01-01) to /tmp/loader-benchmark-ROWS.csv with a Python 3
# stdlib generator (kept between runs), then runs `BIN inspect --csv FILE` RUNS times (default 5)
# for each BIN given (name a saved binary too for a before/after comparison). `inspect` reads the
# file end to end through the loader (the series and its report) and trains nothing. Prints, per
# BIN, the median wall time, the file's size over it in MB/s (MB = 10^6 bytes), and the median
# peak resident memory (`/usr/bin/time -v`). Run from the repository root on an otherwise idle
# machine; it takes well under two minutes.
set -euo pipefail
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
FILE=/tmp/loader-benchmark-$ROWS.csv
if [[ $# -eq 0 ]]; then
    cargo build --release --quiet --bin forecast
    set -- target/release/forecast
fi

if [[ ! -s $FILE ]]; then
    python3 - "$ROWS" "$FILE" <<'PY'
import datetime, math, random, sys

rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(15)
day = datetime.date(1200, 1, 1)
one = datetime.timedelta(days=1)
close = 100.0
with open(path, "w") as out:
    out.write("Date,Open,High,Low,Close,Volume\n")
    for _ in range(rows):
        open_ = close * (1 + rng.gauss(0, 0.002))
        # A slight pull towards 100 keeps a million days of prices in a usual range.
        close = open_ * (1 + rng.gauss(0.001 * math.log(100 / open_), 0.01))
        high = max(open_, close) * (1 + abs(rng.gauss(0, 0.004)))
        low = min(open_, close) * (1 - abs(rng.gauss(0, 0.004)))
        volume = rng.randint(100_000, 50_000_000)
        out.write(f"{day.isoformat()},{open_:.4f},{high:.4f},{low:.4f},{close:.4f},{volume}\n")
        day += one
PY
fi
BYTES=$(stat -c %s "$FILE")
echo "file   $FILE  ($ROWS rows, $BYTES bytes)"

# One run: "<wall seconds> <peak KiB>" from GNU time's report.
measure() {
    local report
    report=$(/usr/bin/time -v "$1" inspect --csv "$FILE" 2>&1 >/dev/null) || {
        echo "$1 inspect failed:" >&2
        echo "$report" >&2
        exit 1
    }
    awk '/Elapsed \(wall clock\)/ { n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
         /Maximum resident set size/ { kib = $NF }
         END { print s, kib }' <<<"$report"
}

median() {
    sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for bin in "$@"; do
    measure "$bin" >/dev/null # warm-up: the file in the page cache
    walls=() peaks=()
    for _ in $(seq "$RUNS"); do
        read -r wall peak < <(measure "$bin")
        walls+=("$wall") peaks+=("$peak")
    done
    wall=$(printf '%s\n' "${walls[@]}" | median)
    peak=$(printf '%s\n' "${peaks[@]}" | median)
    awk -v bin="$bin" -v wall="$wall" -v peak="$peak" -v bytes="$BYTES" -v runs="$RUNS" 'BEGIN {
        printf "%-40s %7.3f s  %7.1f MB/s  peak %7.1f MiB  (median of %d)\n",
            bin, wall, bytes / 1e6 / wall, peak / 1024, runs }'
done
