#!/usr/bin/env bash
# Global model versus one model per series, and the cost of a large panel (issue 13):
#
#   scripts/watchlist_benchmark.sh [OUT]        (default OUT: /tmp/watchlist-benchmark)
#
# 1. accuracy: a 5-fold walk-forward backtest of the 14 tickers of
#    ../shared/data/MULTI_big_tech_stock_prices.csv, global against per-series models
#    (--compare-local), default flags (normal head) → OUT/backtest.json;
# 2. training cost: one global `train` on all 14, and one `train` per ticker
#    → OUT/train_global.json, OUT/train_<TICKER>.json (seconds, peak memory);
# 3. a synthetic panel of 500 series × 5,000 days from the repo's generator
#    (examples/make_panel.rs): two full epochs, and two epochs of --windows-per-epoch 100000
#    → OUT/panel_full.json, OUT/panel_sampled.json.
# scripts/watchlist_table.py OUT prints the README's tables. Run from the repository root on an
# otherwise idle machine: the timings are wall clock.
set -euo pipefail
OUT=${1:-/tmp/watchlist-benchmark}
STEPS=${STEPS:-backtest train panel}
DATA=../shared/data/MULTI_big_tech_stock_prices.csv
mkdir -p "$OUT"
cargo build --release --quiet --bin forecast --example make_panel
BIN=target/release/forecast
TICKERS="AAPL ADBE AMZN CRM CSCO GOOGL IBM INTC META MSFT NFLX NVDA ORCL TSLA"
if [[ " $STEPS " == *" backtest "* ]]; then
    "$BIN" backtest --csv "$DATA" --tickers all --folds 5 --compare-local --format json -q > "$OUT/backtest.json"
fi
if [[ " $STEPS " == *" train "* ]]; then
    "$BIN" train --csv "$DATA" --tickers all --out "$OUT/global.safetensors" --format json -q > "$OUT/train_global.json"
    for t in $TICKERS; do
        "$BIN" train --csv "$DATA" --ticker "$t" --out "$OUT/$t.safetensors" --format json -q > "$OUT/train_$t.json"
    done
fi
if [[ " $STEPS " == *" panel "* ]]; then
    target/release/examples/make_panel --series 500 --days 5000 --out "$OUT/panel"
    "$BIN" train --csv "$OUT/panel/*.csv" --epochs 2 --patience 5 --out "$OUT/panel_full.safetensors" \
        --format json -q > "$OUT/panel_full.json"
    "$BIN" train --csv "$OUT/panel/*.csv" --epochs 2 --patience 5 --windows-per-epoch 100000 \
        --out "$OUT/panel_sampled.safetensors" --format json -q > "$OUT/panel_sampled.json"
fi
echo "wrote $OUT"
