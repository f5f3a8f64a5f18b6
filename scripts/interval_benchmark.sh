#!/usr/bin/env bash
# The interval measurement of the README: walk-forward backtests (5 folds, last 20 %, default
# sizes, levels 0.8 and 0.95) of data/sample.csv and seven real files from ../shared/data, for
# each --distribution given, then one table of the model and every interval baseline.
#
#   scripts/interval_benchmark.sh OUT_DIR [DISTRIBUTION ...]     (default: student-t normal)
#
# Each backtest's JSON is kept in OUT_DIR; scripts/interval_table.py OUT_DIR prints the table.
set -euo pipefail
out=${1:?usage: scripts/interval_benchmark.sh OUT_DIR [DISTRIBUTION ...]}
shift
distributions=("${@:-student-t}")
[ $# -eq 0 ] && distributions=(student-t normal)
root=$(cd "$(dirname "$0")/.." && pwd)
shared="$root/../shared/data"
bin="${FORECAST_BIN:-$root/target/release/forecast}"
mkdir -p "$out"
# name|file|extra flags
files=(
  "sample|$root/data/sample.csv|"
  "AAPL|$shared/AAPL_kaggle-huge_aapl.us.txt|"
  "MSFT|$shared/MSFT_alphavantage_daily.csv|"
  "NVDA|$shared/NVDA_stooq_en.csv|"
  "JPM|$shared/JPM_yahoo_asset-col_mdy.csv|--price-column adjusted"
  "XOM|$shared/XOM_kaggle-sp500-5yr.csv|"
  "SAN.MC|$shared/SAN.MC_yahoo_dmy.csv|--price-column adjusted"
  "LTC|$shared/LTC-USD_yahoo_nulls.csv|--price-column adjusted"
)
for d in "${distributions[@]}"; do
  for entry in "${files[@]}"; do
    IFS='|' read -r name file flags <<<"$entry"
    target="$out/${name}_${d}.json"
    [ -s "$target" ] && continue
    # shellcheck disable=SC2086
    "$bin" backtest --csv "$file" $flags --distribution "$d" --level 0.8,0.95 --folds 5 \
      --format json --quiet ${THREADS:+--threads $THREADS} >"$target.tmp"
    mv "$target.tmp" "$target"
    echo "$name $d done" >&2
  done
done
