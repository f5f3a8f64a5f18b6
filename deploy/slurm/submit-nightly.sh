#!/bin/bash
# Submit the nightly run of a watchlist: the nightly.sbatch job array (each task trains its share
# when due, then forecasts it), then nightly-merge.sbatch to run after every task succeeded
# (afterok; if one fails, Slurm cancels the merge). Prints the job ids:
#
#   array_job=<id>
#   merge_job=<id>
#
# Usage (from the folder the relative paths are relative to; the jobs run there):
#   deploy/slurm/submit-nightly.sh [--array=0-7] [other sbatch options for both jobs...]
#
# Environment: as in nightly.sbatch and nightly-merge.sbatch (FORECAST, PRICES, MODELS, EXTRA,
# PREDICT_EXTRA, THREADS, TRAIN_WEEKDAY, FORCE_TRAIN, LEDGER); OUT defaults here to out/<today>, so
# that each night's parts and job logs ($OUT/logs) are kept apart. Whether tonight is training day
# is decided here, once (a task starting after midnight still agrees): the tasks get FORCE_TRAIN=1
# or TRAIN_WEEKDAY=never; a task whose share lacks a model trains it either way. From cron, e.g.:
#   30 22 * * 1-5  cd /data/forecast && PRICES='prices/*.csv' deploy/slurm/submit-nightly.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OUT=${OUT:-out/$(date +%F)}
TRAIN_WEEKDAY=${TRAIN_WEEKDAY:-Sunday}
FORCE_TRAIN=${FORCE_TRAIN:-0}

# shellcheck source=sbatch-args.sh
source "$here/sbatch-args.sh"
split_sbatch_args "$@"

want=${TRAIN_WEEKDAY,,}
[[ $want == 0 ]] && want=7
today=$(LC_ALL=C date +%A)
today=${today,,}
train=(FORCE_TRAIN=0 TRAIN_WEEKDAY=never)
case ${FORCE_TRAIN,,} in 1 | yes | true) train=(FORCE_TRAIN=1) ;; esac
if [[ $want == "$(date +%u)" || $want == "$today" || $want == "${today:0:3}" ]]; then
    train=(FORCE_TRAIN=1)
fi
echo "submit-nightly: ${train[*]}" >&2

mkdir -p "$OUT/logs"
array_job=$(env "${train[@]}" sbatch --parsable "${array[@]}" --output="$OUT/logs/%x-%A_%a.out" \
    "${common[@]}" "$here/nightly.sbatch")
array_job=${array_job%%;*}
merge_job=$(sbatch --parsable --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
    --output="$OUT/logs/%x-%j.out" "${common[@]}" "$here/nightly-merge.sbatch")
merge_job=${merge_job%%;*}

echo "array_job=$array_job"
echo "merge_job=$merge_job"
echo "submit-nightly: parts and logs in $OUT" >&2
