#!/bin/bash
# Sourced by submit-nightly.sh and submit-backtest.sh: split_sbatch_args ARGS... sets `array` to
# the job array's range (--array=0-7, --array 0-7 or -a 0-7) and `common` to every other sbatch
# option, given to both the array and its merge job.
split_sbatch_args() {
    array=()
    common=()
    while (($#)); do
        case $1 in
        --array=*) array=("$1") ;;
        --array | -a)
            array=("--array=${2:?$1 needs a value}")
            shift
            ;;
        *) common+=("$1") ;;
        esac
        shift
    done
}
