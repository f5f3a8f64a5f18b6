#!/usr/bin/env python3
"""Whole-process timing of `forecast predict` (issue 15), one build or two side by side.

    python3 scripts/predict_benchmark.py BIN [BIN_B] [--csv FILE] [--model M] [--runs N]

Runs `BIN predict --model M --csv FILE` RUNS times (default 40) after 3 warm-up runs, and with a
second binary BIN_B alternates them (A B A B ...), so that both see the same machine. Each run is
timed from just before the process is started to just after it is reaped (its start-up, loading
and exit included); its peak resident memory is the kernel's own figure for the finished child
(wait4's ru_maxrss). Prints the median, minimum and maximum wall time and the median peak of
each binary, and with BIN_B the median of the pair-by-pair ratios A/B. Without --model a model is
trained on FILE first (one epoch, default sizes) with BIN into a temporary folder. FILE defaults
to ../shared/data/AAPL_kaggle-huge_aapl.us.txt (8,146 rows), else data/sample.csv. Standard
library only; run it from the repository root on an otherwise idle machine.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def default_csv():
    shared = "../shared/data/AAPL_kaggle-huge_aapl.us.txt"
    return shared if os.path.exists(shared) else "data/sample.csv"


def run_once(argv):
    """Wall seconds and peak resident MiB of one run of argv (its output thrown away)."""
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=null, stderr=null)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"predict_benchmark: {' '.join(argv)} exited with {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def summary(name, walls, peaks):
    ms = sorted(w * 1e3 for w in walls)
    print(
        f"{name:<40} wall median {statistics.median(ms):6.2f} ms  (min {ms[0]:.2f}, max {ms[-1]:.2f})"
        f"  peak {statistics.median(peaks):6.1f} MiB  ({len(ms)} runs)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binaries", nargs="+", metavar="BIN", help="one forecast binary, or two to compare")
    parser.add_argument("--csv", default=None, help="price file (default: AAPL from ../shared, else data/sample.csv)")
    parser.add_argument("--model", default=None, help="model file (default: trained here for one epoch)")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if len(args.binaries) > 2:
        parser.error("at most two binaries")
    csv = args.csv or default_csv()
    with tempfile.TemporaryDirectory() as scratch:
        model = args.model or os.path.join(scratch, "model.safetensors")
        if args.model is None:
            subprocess.run(
                [args.binaries[0], "train", "--csv", csv, "--epochs", "1", "--out", model, "-q"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        commands = [[b, "predict", "--model", model, "--csv", csv] for b in args.binaries]
        for _ in range(args.warmup):
            for argv in commands:
                run_once(argv)
        results = [([], []) for _ in commands]
        for _ in range(args.runs):
            for argv, (walls, peaks) in zip(commands, results):
                wall, peak = run_once(argv)
                walls.append(wall)
                peaks.append(peak)
    print(f"predict --csv {csv}: {args.runs} runs each" + (", alternating" if len(commands) > 1 else ""))
    for name, (walls, peaks) in zip(args.binaries, results):
        summary(name, walls, peaks)
    if len(commands) == 2:
        ratios = sorted(a / b for a, b in zip(results[0][0], results[1][0]))
        print(
            f"ratio A/B (pair by pair): median {statistics.median(ratios):.3f}"
            f"  (min {ratios[0]:.3f}, max {ratios[-1]:.3f})"
        )


if __name__ == "__main__":
    main()
