#!/bin/bash
# Submit a sharded backtest: the backtest.sbatch job array, then backtest-merge.sbatch to run after
# every task of it succeeded (afterok; if one fails, Slurm cancels the merge). Prints the job ids:
#
#   array_job=<id>
#   merge_job=<id>
#
# Usage (from the folder the relative paths are relative to; the jobs run there):
#   COMPARE_LOCAL=1 EXTRA='--folds 4 --epochs 30' deploy/slurm/submit-backtest.sh [--array=0-3] \
#       [sbatch options...]
#
# Environment: as in backtest.sbatch (FORECAST, PRICES, COMPARE_LOCAL, EXTRA, THREADS); OUT
# defaults here to backtest/<date and time>, so that runs are kept apart; the merged result is
# $OUT/backtest.json.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OUT=${OUT:-backtest/$(date +%Y%m%d-%H%M%S)}

# shellcheck source=sbatch-args.sh
source "$here/sbatch-args.sh"
split_sbatch_args "$@"

mkdir -p "$OUT/logs"
array_job=$(sbatch --parsable "${array[@]}" --output="$OUT/logs/%x-%A_%a.out" "${common[@]}" \
    "$here/backtest.sbatch")
array_job=${array_job%%;*}
merge_job=$(sbatch --parsable --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
    --output="$OUT/logs/%x-%j.out" "${common[@]}" "$here/backtest-merge.sbatch")
merge_job=${merge_job%%;*}

echo "array_job=$array_job"
echo "merge_job=$merge_job"
echo "shard records and logs in $OUT" >&2
