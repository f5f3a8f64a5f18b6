#!/usr/bin/env python3
"""Prints the README's watchlist tables from the files scripts/watchlist_benchmark.sh wrote.

    python3 scripts/watchlist_table.py OUT

Skill is 1 − RMSE / naive RMSE at step 1. "vs const." and "vs GARCH" are how much lower the
interval score is (at the first level) than the constant band's and GARCH(1,1)-t's on the same days:
positive is better.
"""
import glob
import json
import os
import sys


def level_score(intervals, method):
    for m in intervals[0]["methods"]:
        if m["method"] == method:
            return m["levels"][0]["interval_score"], m["levels"][0]["coverage"]
    return None, None


def row(name, days, part):
    model, coverage = level_score(part["intervals"], "model")
    const, _ = level_score(part["intervals"], "constant")
    garch, _ = level_score(part["intervals"], "garch-t")
    gain = lambda base: "-" if base is None or model is None else f"{100 * (1 - model / base):+.1f} %"
    return [f"{100 * part['summary']['skill']:+.2f} %", gain(const), gain(garch), f"{100 * coverage:.1f} %"]


def accuracy(out):
    path = os.path.join(out, "backtest.json")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    b = json.load(open(path))
    local = b.get("local") or {}
    local_series = {s["id"]: s for s in local.get("series", [])}
    level = b["levels"][0]
    print(f"Step 1, {len(b['folds'])} folds; interval score at level {level}; skill = 1 − RMSE / naive RMSE\n")
    print("| series | test days | global: skill | vs const. | vs GARCH | coverage | per-series: skill | vs const. | vs GARCH | coverage |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in b["series"]:
        g = row(s["id"], s["days"], s)
        l = row(s["id"], s["days"], local_series[s["id"]]) if s["id"] in local_series else ["-"] * 4
        print(f"| {s['id']} | {s['days']} | " + " | ".join(g + l) + " |")
    days = sum(s["days"] for s in b["series"])
    g = row("pooled", days, b)
    l = row("pooled", days, local) if local else ["-"] * 4
    print(f"| **pooled** (% of last close) | {days} | " + " | ".join(g + l) + " |")
    beats = lambda part: sum(1 for s in part if s["summary"]["skill"] > 0)
    print(f"\nseries with skill > 0: global {beats(b['series'])} of {len(b['series'])}, "
          f"per-series {beats(local.get('series', []))} of {len(local.get('series', []))}")


def cost(out):
    g = os.path.join(out, "train_global.json")
    if not os.path.exists(g):
        return
    g = json.load(open(g))
    local = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "train_*.json"))) if not p.endswith("global.json")]
    print("\n| training | models | seconds | epochs run | peak memory |")
    print("|---|---|---|---|---|")
    print(f"| global | 1 | {g['seconds']:.0f} | {g['epochs_run']} | {g['peak_memory_mb']:.0f} MiB |")
    if local:
        seconds = sum(r["seconds"] for r in local)
        epochs = sum(r["epochs_run"] for r in local)
        peak = max(r["peak_memory_mb"] for r in local)
        print(f"| per series | {len(local)} | {seconds:.0f} (sum) | {epochs} (sum) | {peak:.0f} MiB (largest) |")


def panel(out):
    rows = []
    for name, what in [("panel_full.json", "every window"), ("panel_sampled.json", "--windows-per-epoch 100000")]:
        p = os.path.join(out, name)
        if os.path.exists(p) and os.path.getsize(p) > 0:
            rows.append((what, json.load(open(p))))
    if not rows:
        return
    print("\n| 500 × 5,000 panel | train windows | seconds per epoch | whole run (load, 2 epochs, validation) | peak memory |")
    print("|---|---|---|---|---|")
    for what, r in rows:
        print(f"| {what} | {r['train_windows']} | {r['seconds_per_epoch']:.1f} | {r['seconds']:.0f} s | {r['peak_memory_mb']:.0f} MiB |")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/watchlist-benchmark"
    accuracy(out)
    cost(out)
    panel(out)
