#!/usr/bin/env python3
"""Loads a `forecast` model file into PyTorch, as the README shows, and checks that PyTorch gives
the same next-day forecast, scale and degrees of freedom as `forecast predict`.

    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy safetensors
    cargo build --release
    target/release/forecast train --csv data/sample.csv --out /tmp/m.safetensors
    /tmp/torch-venv/bin/python scripts/pytorch_load_check.py /tmp/m.safetensors data/sample.csv

The input window is rebuilt here from the cleaned series (`forecast inspect --format csv`) with the
feature formulas of the README, so this also checks that the README describes them exactly. Exits
0 when close and sigma agree to 1e-5 (relative) and prints both.
"""
import csv
import io
import json
import math
import os
import subprocess
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "forecast")


# --- The README's PyTorch example, verbatim -------------------------------------------------
class DistributionalPredictor(nn.Module):
    """forecast's network: an LSTM, and on its last step a location head `fc`, with a
    distributional head also `scale` (and `df` for student-t). σ is multiplied by the window's
    base scale b: the EWMA volatility on its last day (feature `log_ewma_vol`), in target units."""

    def __init__(self, input_size, hidden_size, num_layers, horizon, distribution):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, horizon)
        if distribution != "none":
            self.scale = nn.Linear(hidden_size, horizon)
        if distribution == "student-t":
            self.df = nn.Linear(hidden_size, horizon)

    def forward(self, x, base=1.0):  # x: (batch, seq, features), scaled; base: (batch, 1)
        out, _ = self.lstm(x)
        last = out[:, -1, :]
        mu = self.fc(last)
        sigma = base * (F.softplus(self.scale(last)) + 1e-3) if hasattr(self, "scale") else None
        nu = 2 + F.softplus(self.df(last)) if hasattr(self, "df") else None
        return mu, sigma, nu
# ---------------------------------------------------------------------------------------------


def features(rows, names):
    """The README's feature formulas, row d (d ≥ 1) from days d − 1 and d."""
    lam, start = 0.94, 20
    out, v, p = [], 0.0, 0.0
    for d in range(1, len(rows)):
        prev, day = rows[d - 1], rows[d]
        r = math.log(day["close"] / prev["close"])
        rng = math.log(day["high"] / day["low"]) ** 2 / (4 * math.log(2))
        i = d - 1
        v = (v * i + r * r) / (i + 1) if i < start else lam * v + (1 - lam) * r * r
        p = (p * i + rng) / (i + 1) if i < start else lam * p + (1 - lam) * rng
        values = {
            "log_open_prev_close": math.log(day["open"] / prev["close"]),
            "log_high_prev_close": math.log(day["high"] / prev["close"]),
            "log_low_prev_close": math.log(day["low"] / prev["close"]),
            "log_close_prev_close": r,
            "log_volume_change": math.log((day.get("volume", 0) + 1) / (prev.get("volume", 0) + 1)),
            "log_ewma_vol": 0.5 * math.log(max(v, 1e-12)),
            "log_ewma_range": 0.5 * math.log(max(p, 1e-12)),
        }
        out.append([values[n] for n in names])
    return out


def main():
    model_path, csv_path = sys.argv[1], sys.argv[2]
    with safe_open(model_path, "pt") as f:
        meta = f.metadata()
    config = json.loads(meta["model"])
    names, scaler, seq_len = json.loads(meta["features"]), json.loads(meta["scaler"]), int(meta["seq_len"])
    distribution = config.get("distribution", "none")

    model = DistributionalPredictor(config["input_size"], config["hidden_size"], config["num_layers"], config["horizon"], distribution)
    model.load_state_dict(load_file(model_path))  # strict: every tensor named and shaped as PyTorch's
    model.eval()

    text = subprocess.run([BIN, "inspect", "--csv", csv_path, "--format", "csv"], check=True, capture_output=True, text=True).stdout
    rows = [{k: float(v) for k, v in r.items() if k != "date"} for r in csv.DictReader(io.StringIO(text))]
    feats = features(rows, names)[-seq_len:]
    scaled = [[(x - m) / s for x, m, s in zip(row, scaler["mean"], scaler["std"])] for row in feats]
    x = torch.tensor([scaled], dtype=torch.float32)
    base = 1.0
    if "log_ewma_vol" in names:
        base = math.exp(feats[-1][names.index("log_ewma_vol")]) / scaler["target_std"]
    with torch.no_grad():
        mu, sigma, nu = model(x, torch.tensor([[base]]))
    r = mu[0, 0].item() * scaler["target_std"] + scaler["target_mean"]
    close = rows[-1]["close"] * math.exp(r)

    ours = json.loads(subprocess.run([BIN, "predict", "--model", model_path, "--csv", csv_path, "--format", "json", "--quiet"], check=True, capture_output=True, text=True).stdout)
    step = ours["forecasts"][0]
    print(f"close  pytorch {close:.10f}  forecast {step['close']:.10f}")
    ok = abs(close - step["close"]) <= 1e-5 * step["close"]
    if sigma is not None:
        s = sigma[0, 0].item() * scaler["target_std"]
        print(f"sigma  pytorch {s:.10f}  forecast {step['sigma']:.10f}")
        ok &= abs(s - step["sigma"]) <= 1e-5 * step["sigma"]
    if nu is not None:
        print(f"df     pytorch {nu[0, 0].item():.6f}  forecast {step['df']:.6f}")
        ok &= abs(nu[0, 0].item() - step["df"]) <= 1e-4 * step["df"]
    print("agree" if ok else "DISAGREE")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
