#!/usr/bin/env python3
"""The steady-state training comparison of ../shared/bench/steady_state.py — `forecast train`
(early stopping off) against the seed's PyTorch model (../shared/bench/torch_seed_model.py) on the
same Kaggle-layout CSV, alternating, ROUNDS times — at any sequence length and hidden size, and
optionally with a second forecast binary (say, an older build) in the same rounds.

    python3 scripts/steady_state.py target/release/forecast /tmp/torch-venv/bin/python \\
        ../shared/data/AAPL_kaggle-huge_aapl.us.txt --epochs 20 --rounds 3 [--seq-len 60] \\
        [--hidden 128] [--also /tmp/forecast-old]

At seq 30 and hidden 64 the PyTorch side is torch_seed_model.py itself; at other sizes it is a
copy of it with `seq = 30` and `StockPredictor(5, 64)` replaced (the script stops if either is not
found). Samples/s inside the training loop: forecast's `train_windows × epochs_run / (seconds_per_epoch
× epochs_run)` (its epochs include scoring the validation span), PyTorch's printed samples_per_s.
Prints every round and the medians, and the ratios forecast / PyTorch (loop) and PyTorch / forecast
(whole process). Beside them, forecast's rate without its validation pass (`seconds_per_epoch −
validation_seconds_per_epoch`), like for like with PyTorch's loop, which scores nothing.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def torch_script(bench_dir, seq, hidden, tmp):
    source = open(os.path.join(bench_dir, "torch_seed_model.py")).read()
    if (seq, hidden) == (30, 64):
        return os.path.join(bench_dir, "torch_seed_model.py")
    for old, new in (("seq = 30\n", f"seq = {seq}\n"), ("StockPredictor(5, 64)", f"StockPredictor(5, {hidden})")):
        if old not in source:
            sys.exit(f"torch_seed_model.py has no {old.strip()!r} to resize")
        source = source.replace(old, new)
    path = os.path.join(tmp, f"torch_seed_model_{seq}x{hidden}.py")
    open(path, "w").write(source)
    return path


def run_forecast(binary, csv, args, out):
    cmd = [binary, "train", "--csv", csv, "--out", out, "--epochs", str(args.epochs), "--patience", "100000",
           "--seq-len", str(args.seq_len), "--hidden", str(args.hidden), "--layers", "2", "--batch-size", "64",
           "--seed", "1", "--format", "json", "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{binary} failed: {done.stderr[-400:]}")
    report = json.loads(done.stdout)
    loop = report["seconds_per_epoch"] - report.get("validation_seconds_per_epoch", 0.0)
    return report["train_windows"] / report["seconds_per_epoch"], wall, report["train_windows"] / loop


def run_torch(python, script, csv, epochs):
    started = time.perf_counter()
    done = subprocess.run([python, script, csv, "returns", str(epochs)], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"torch failed: {done.stderr[-400:]}")
    return float(re.search(r"samples_per_s=(\d+)", done.stdout).group(1)), wall


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("forecast")
    p.add_argument("python", help="a Python with torch (../shared/bench/README.md)")
    p.add_argument("csv")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seq-len", type=int, default=30)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--also", help="a second forecast binary, run in the same rounds")
    p.add_argument("--bench-dir", default=os.path.join(HERE, "../../shared/bench"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = torch_script(args.bench_dir, args.seq_len, args.hidden, tmp)
        sides = [("forecast", args.forecast)] + ([("also", args.also)] if args.also else [])
        rows = {name: [] for name, _ in sides}
        rows["torch"] = []
        bare_rates = {name: [] for name, _ in sides}
        for r in range(args.rounds):
            line = []
            for name, binary in sides:
                sps, wall, bare = run_forecast(binary, args.csv, args, os.path.join(tmp, "model.safetensors"))
                rows[name].append((sps, wall))
                bare_rates[name].append(bare)
                line.append(f"{name} {sps:,.0f} samples/s ({bare:,.0f} without validation; {wall:.1f} s whole)")
            sps, wall = run_torch(args.python, script, args.csv, args.epochs)
            rows["torch"].append((sps, wall))
            line.append(f"torch {sps:,.0f} samples/s ({wall:.1f} s whole)")
            print(f"round {r + 1}: " + ", ".join(line), flush=True)
    med = {name: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for name, v in rows.items()}
    print(f"seq {args.seq_len}, hidden {args.hidden}, {args.epochs} epochs, medians of {args.rounds} rounds:")
    for name, (sps, wall) in med.items():
        print(f"  {name:9} {sps:8,.0f} samples/s  {wall:6.1f} s whole process")
    for name, _ in sides:
        bare = statistics.median(bare_rates[name])
        print(f"  {name}: loop {med[name][0] / med['torch'][0]:.2f}x PyTorch's samples/s, "
              f"whole process {med['torch'][1] / med[name][1]:.2f}x faster; without its validation pass, "
              f"which PyTorch's loop does not run, {bare:,.0f} samples/s = {bare / med['torch'][0]:.2f}x")


if __name__ == "__main__":
    main()
