#!/usr/bin/env python3
"""Side-by-side, whole-process timing of `forecast` against the PyTorch seed model.

Runs, alternately and several times each, on the same CSV and machine:
  train:   forecast train --epochs E --patience E --val-fraction 0.2 --distribution none
           (no early stop; 80 % trains; the seed's squared-error head)
           vs ../shared/bench/torch_seed_model.py CSV returns E         (the seed model, 80 % trains)
  predict: forecast predict --csv CSV  vs  ../shared/bench/torch_predict.py CSV
and prints the medians (and all runs) of the wall-clock time of each whole process, plus the
training samples/s each reports. Only the standard library is needed here; PyTorch lives in its own
virtual environment (see ../shared/bench/README.md):

    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy safetensors
    cargo build --release
    python3 scripts/compare_torch.py ../shared/data/AAPL_kaggle-huge_aapl.us.txt
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd):
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}")
    return seconds, out.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--runs", type=int, default=5, help="runs of each side (alternating)")
    p.add_argument("--predict-runs", type=int, default=10)
    p.add_argument("--python", default="/tmp/torch-venv/bin/python", help="a Python with torch")
    p.add_argument("--forecast", default=os.path.join(ROOT, "target/release/forecast"))
    p.add_argument("--bench-dir", default=os.path.join(ROOT, "../shared/bench"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()

    model = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    ours = [args.forecast, "train", "--csv", args.csv, "--out", model, "--epochs", str(args.epochs),
            "--patience", str(args.epochs), "--val-fraction", "0.2", "--threads", str(args.threads),
            # The seed model's head: a point trained by squared error on the five price features.
            "--distribution", "none",
            "--format", "json", "--quiet"]
    theirs = [args.python, os.path.join(args.bench_dir, "torch_seed_model.py"), args.csv, "returns", str(args.epochs)]
    env_threads = {"OMP_NUM_THREADS": str(args.threads)}
    os.environ.update(env_threads)

    train = {"forecast": [], "pytorch": []}
    rates = {"forecast": [], "pytorch": []}
    for _ in range(args.runs):
        s, out = timed(ours)
        report = json.loads(out)
        train["forecast"].append(s)
        rates["forecast"].append(report["train_windows"] / report["seconds_per_epoch"])
        s, out = timed(theirs)
        train["pytorch"].append(s)
        rate = [w for w in out.split() if w.startswith("samples_per_s=")]
        rates["pytorch"].append(float(rate[0].split("=")[1]))

    predict = {"forecast": [], "pytorch": []}
    ours_p = [args.forecast, "predict", "--model", model, "--csv", args.csv, "--threads", str(args.threads)]
    theirs_p = [args.python, os.path.join(args.bench_dir, "torch_predict.py"), args.csv]
    for _ in range(args.predict_runs):
        predict["forecast"].append(timed(ours_p)[0])
        predict["pytorch"].append(timed(theirs_p)[0])

    med = {k: {side: statistics.median(v) for side, v in d.items()} for k, d in
           {"train_s": train, "samples_per_s": rates, "predict_s": predict}.items()}
    print(f"{os.path.basename(args.csv)}: {args.epochs} epochs, {args.threads} threads, "
          f"{args.runs} train runs and {args.predict_runs} predict runs of each, alternating; medians")
    print(f"{'':24}{'forecast':>12}{'pytorch':>12}{'ratio':>9}")
    print(f"{'train, whole process (s)':24}{med['train_s']['forecast']:>12.2f}{med['train_s']['pytorch']:>12.2f}"
          f"{med['train_s']['pytorch'] / med['train_s']['forecast']:>8.2f}x")
    print(f"{'training samples/s':24}{med['samples_per_s']['forecast']:>12.0f}{med['samples_per_s']['pytorch']:>12.0f}"
          f"{med['samples_per_s']['forecast'] / med['samples_per_s']['pytorch']:>8.2f}x")
    print(f"{'predict, whole process (s)':24}{med['predict_s']['forecast']:>12.4f}{med['predict_s']['pytorch']:>12.3f}"
          f"{med['predict_s']['pytorch'] / med['predict_s']['forecast']:>8.1f}x")
    print(json.dumps({"medians": med, "runs": {"train_s": train, "samples_per_s": rates, "predict_s": predict}}))


if __name__ == "__main__":
    main()
