#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU: builds forecast with CUDA support (the one
# binary of scripts/check-cuda-build.sh, which loads the driver and CUDA libraries at run time),
# then on the GPU
#   1. runs the PyTorch golden cases (tests/golden.rs, FORECAST_GOLDEN_DEVICE=cuda: the tensor-op
#      LSTM, forward and every gradient);
#   2. trains a model with --device cuda on a real file (../shared/data/AAPL_kaggle-huge_aapl.us.txt,
#      or data/sample.csv without ../shared) and on the CPU, and predicts with each model on both
#      devices: the same model must forecast the same numbers on the GPU as on the CPU;
#   3. runs `forecast bench` on the CPU and with --device cuda;
# and prints a short report: pass/fail and seconds per step, seconds per epoch and bench samples/s,
# CPU beside GPU. Exits 1 when a step fails, and at once (one line) without a GPU and driver.
#
# Needs: an NVIDIA GPU and driver (nvidia-smi); a CUDA toolkit no newer than the driver's CUDA
# version (candle's kernels are PTX, compiled by the driver): nvcc on PATH or in /usr/local/cuda
# (FORECAST_CUDA_ROOT=DIR picks one), else NVIDIA's CUDA 13.x wheels from PyPI of the driver's
# version, as check-cuda-build.sh installs them (network access, ~2.5 GB); Rust with the crates
# (or network access), gcc, git, python3.
# Or, where nothing can be built (no Rust, no network): FORECAST_GPU_CHECK_BIN=a forecast binary
# built by check-cuda-build.sh elsewhere with FORECAST_CUDA_VERSION no newer than the driver's, and
# FORECAST_GPU_CHECK_GOLDEN=its golden test binary (`scripts/check-cuda-build.sh --cargo test
# --release --test golden --no-run` prints it; it reads tests/golden/nll from the path it was built
# at); the CUDA libraries must then be on the loader path (LD_LIBRARY_PATH).
# Takes: the build (from scratch ~4-6 minutes on 16 cores; seconds when target/cuda is current),
# then ~1-2 minutes of checks; everything stops at FORECAST_GPU_CHECK_LIMIT_S (default 480 s).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export RUST_BACKTRACE=0
LIMIT=${FORECAST_GPU_CHECK_LIMIT_S:-480}
T0=$(date +%s)
OUT=${FORECAST_GPU_CHECK_DIR:-$ROOT/target/gpu-check}

# ---- 0. a GPU, or stop here ------------------------------------------------------------------
gpus=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null || true)
if [ -z "$gpus" ]; then
  echo "gpu-check: FAIL: no NVIDIA GPU/driver found (nvidia-smi is missing or lists no GPU)" >&2
  exit 1
fi
gpu=$(head -1 <<<"$gpus")
driver_cuda=$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1 || true)
cap=$(cut -d, -f2 <<<"$gpu" | tr -d ' .')
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-$cap}
driver_version=$(grep -oE '[0-9]+\.[0-9]+' <<<"$driver_cuda" || true)
if [ -z "${FORECAST_CUDA_ROOT:-}" ]; then
  nvcc=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
  [ -n "$nvcc" ] && FORECAST_CUDA_ROOT=$(dirname "$(dirname "$(readlink -f "$nvcc")")") && export FORECAST_CUDA_ROOT
fi
if [ -n "${FORECAST_CUDA_ROOT:-}" ]; then
  # An installed toolkit: its version names check-cuda-build.sh's target folder.
  FORECAST_CUDA_VERSION=$("$FORECAST_CUDA_ROOT/bin/nvcc" --version 2>/dev/null | grep -oE 'release [0-9]+\.[0-9]+' \
    | cut -d' ' -f2 || true)
  toolkit="$FORECAST_CUDA_ROOT (CUDA ${FORECAST_CUDA_VERSION:-?})"
else
  # Wheels of the driver's CUDA version (at most 13.4, the newest cudarc 0.19.10 knows).
  FORECAST_CUDA_VERSION=${FORECAST_CUDA_VERSION:-$(python3 -c "
v = tuple(int(x) for x in '${driver_version:-13.4}'.split('.'))
print('%d.%d' % min(v, (13, 4)) if v >= (13, 0) else '')")}
  if [ -z "$FORECAST_CUDA_VERSION" ]; then
    echo "gpu-check: FAIL: the driver supports $driver_cuda; the CUDA wheels start at 13.0: install a CUDA toolkit of the driver's version and set FORECAST_CUDA_ROOT" >&2
    exit 1
  fi
  toolkit="CUDA $FORECAST_CUDA_VERSION wheels from PyPI"
fi
export FORECAST_CUDA_VERSION
[ "$FORECAST_CUDA_VERSION" = 13.4 ] && suffix= || suffix=-$FORECAST_CUDA_VERSION
CUDA=${FORECAST_CUDA_ROOT:-$ROOT/target/cuda-root$suffix}
BIN=${FORECAST_GPU_CHECK_BIN:-$ROOT/target/cuda$suffix/release/forecast}
GOLDEN=${FORECAST_GPU_CHECK_GOLDEN:-}
[ -n "${FORECAST_GPU_CHECK_BIN:-}" ] && toolkit="prebuilt $BIN"
# cuBLAS, cuRAND and NVRTC are loaded at run time from the library path.
export LD_LIBRARY_PATH="$CUDA/lib64:$CUDA/lib:$CUDA/targets/x86_64-linux/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
rm -rf "$OUT" && mkdir -p "$OUT"
echo "gpu-check: $gpu ($driver_cuda); toolkit: $toolkit; CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP"

# ---- helpers: each step timed, bounded by what is left of LIMIT, and recorded ---------------
report=()
failed=0
secs=0
left() { echo $((LIMIT - ($(date +%s) - T0))); }
# step NAME CMD…: runs CMD with its output in $OUT/NAME.log; PASS/FAIL with the seconds taken.
step() {
  local name=$1 rc=0 t0 budget
  shift
  budget=$(left)
  if [ "$budget" -le 5 ]; then
    report+=("$(printf 'FAIL  %-26s not run: the %s s limit was reached' "$name" "$LIMIT")")
    failed=$((failed + 1))
    return 1
  fi
  t0=$(date +%s.%N)
  timeout "$budget" "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  secs=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
  if [ "$rc" = 0 ]; then
    report+=("$(printf 'PASS  %-26s %6s s' "$name" "$secs")")
    echo "PASS: $name ($secs s)"
  else
    [ "$rc" = 124 ] && why="killed at the time limit" || why="exit $rc"
    report+=("$(printf 'FAIL  %-26s %6s s  %s; log: %s' "$name" "$secs" "$why" "$OUT/$name.log")")
    echo "FAIL: $name ($why after $secs s); the log's end:"
    tail -15 "$OUT/$name.log" | sed 's/^/   /'
    failed=$((failed + 1))
    return 1
  fi
}
note() { report+=("      $*"); }
finish() {
  echo
  echo "== gpu-check report: $gpu ($driver_cuda), toolkit $toolkit, $(($(date +%s) - T0)) s in all"
  printf '%s\n' "${report[@]}"
  if [ "$failed" -gt 0 ]; then
    echo "gpu-check: $failed step(s) FAILED"
    exit 1
  fi
  echo "gpu-check: all steps passed"
  exit 0
}

# ---- 1. build, and the golden cases on the GPU ----------------------------------------------
if [ -z "${FORECAST_GPU_CHECK_BIN:-}" ]; then
  step build scripts/check-cuda-build.sh --build-only || finish
  FORECAST_GOLDEN_DEVICE=cuda step golden-cuda \
    scripts/check-cuda-build.sh --cargo test --release --test golden -- --nocapture --test-threads 1 || true
elif [ -n "$GOLDEN" ]; then
  FORECAST_GOLDEN_DEVICE=cuda FORECAST_GOLDEN_DIR=$ROOT/tests/golden step golden-cuda \
    "$GOLDEN" --nocapture --test-threads 1 || true
else
  report+=("FAIL  golden-cuda                not run: FORECAST_GPU_CHECK_GOLDEN names no test binary")
  failed=$((failed + 1))
fi
if [ -s "$OUT/golden-cuda.log" ]; then
  on=$(grep -o 'golden cases on [A-Za-z]*' "$OUT/golden-cuda.log" | sort -u | sed 's/golden cases on //' | paste -sd, - || true)
  note "golden: $(grep -c 'quantities match PyTorch' "$OUT/golden-cuda.log" || true) case(s) matched on" \
    "${on:-no GPU}; $(grep -o 'test result: .*' "$OUT/golden-cuda.log" | head -1)"
  grep -m1 "FORECAST_GOLDEN_DEVICE=" "$OUT/golden-cuda.log" > "$OUT/golden-why.txt" || true
  while IFS= read -r line; do note "golden: $line"; done < "$OUT/golden-why.txt"
fi

# ---- 2. train and predict on a real file, GPU and CPU ----------------------------------------
CSV=$ROOT/../shared/data/AAPL_kaggle-huge_aapl.us.txt
[ -f "$CSV" ] || CSV=$ROOT/data/sample.csv
EPOCHS=${FORECAST_GPU_CHECK_EPOCHS:-5}
note "data: $CSV ($(($(wc -l < "$CSV") - 1)) rows), $EPOCHS epochs"
for device in cuda cpu; do
  step "train-$device" "$BIN" train --csv "$CSV" --out "$OUT/model-$device.safetensors" \
    --epochs "$EPOCHS" --patience "$EPOCHS" --device "$device" || continue
  note "train-$device: $(grep -oE '[0-9.]+s per epoch on [0-9]+ thread\(s\)' "$OUT/train-$device.log" || true)"
done
for model in cuda cpu; do
  [ -s "$OUT/model-$model.safetensors" ] || continue
  for device in cuda cpu; do
    # shellcheck disable=SC2016 # the inner script's own arguments
    step "predict-$model-model-on-$device" bash -c '"$1" predict --model "$2" --device "$3" --format csv > "$4"' _ \
      "$BIN" "$OUT/model-$model.safetensors" "$device" "$OUT/forecast-$model-on-$device.csv" || true
  done
  # The same model, the same data: the same forecast on either device (f32 arithmetic apart).
  if [ -s "$OUT/forecast-$model-on-cuda.csv" ] && [ -s "$OUT/forecast-$model-on-cpu.csv" ]; then
    step "same-forecast-$model-model" python3 - "$OUT/forecast-$model-on-cuda.csv" "$OUT/forecast-$model-on-cpu.csv" <<'EOF' || true
import csv, sys
gpu, cpu = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
assert len(gpu) == len(cpu) > 0, f"{len(gpu)} rows on the GPU, {len(cpu)} on the CPU"
worst = 0.0
for g, c in zip(gpu, cpu):
    assert (g["date"], g["step"]) == (c["date"], c["step"]), (g, c)
    for col in ("close", "lower", "upper", "sigma"):
        a, b = float(g[col]), float(c[col])
        worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
print(f"{len(gpu)} rows; largest relative difference GPU vs CPU: {worst:.2e}")
assert worst < 1e-4, f"GPU and CPU forecasts differ by {worst:.2e} (relative) > 1e-4"
EOF
    note "same-forecast-$model-model: $(tail -1 "$OUT/same-forecast-$model-model.log")"
  fi
done

# ---- 3. bench, CPU beside GPU -----------------------------------------------------------------
BENCH=(bench --case 30x64 --case 30x128 --samples 2048 --repeats 3 --format json)
step bench-cpu "$BIN" "${BENCH[@]}" --device cpu || true
step bench-cuda "$BIN" "${BENCH[@]}" --path tensor --device cuda || true
python3 - "$OUT" <<'EOF' > "$OUT/bench-table.txt" || true
import json, sys, re
rows = {}
for device in ("cpu", "cuda"):
    text = open(f"{sys.argv[1]}/bench-{device}.log").read()
    try:
        report = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        continue
    ran_on = report.get("device") or ("cpu" if device == "cpu" else "the CPU: bench ignores --device")
    for r in report["results"]:
        case = f'{r["case"]["seq_len"]}x{r["case"]["hidden"]}'
        rows.setdefault(case, []).append(
            f'{device}: {r["path"]} {r["train_samples_per_s"]:.0f} samples/s, {r["infer_latency_us"]:.0f} µs/window '
            f'[{ran_on}, {report["threads"]} thread(s)]')
for case, cells in rows.items():
    print(f"bench {case}: " + "; ".join(cells))
EOF
while IFS= read -r line; do note "$line"; done < "$OUT/bench-table.txt"
if grep -q '"results"' "$OUT/bench-cuda.log" 2>/dev/null && ! grep -q '"device"' "$OUT/bench-cuda.log"; then
  note "NOTE: forecast bench ignores --device (src/bench.rs runs on Device::Cpu): its 'cuda' rows are the CPU"
fi

finish
