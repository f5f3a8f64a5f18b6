#!/usr/bin/env bash
# Builds forecast with CUDA support on a machine without a GPU, the NVIDIA driver or a CUDA install
# (CI, a laptop), and checks that the one binary serves both kinds of machine: it loads the driver
# and the CUDA libraries only when a GPU is asked for, so here, with none of them, `--device auto`
# trains and predicts on the CPU quietly and `--device cuda` fails with exit code 8 in one line.
#
# Why the build is not plain `cargo build --features cuda`: candle-core 0.11 asks for cudarc's
# `dynamic-linking` (libcuda.so.1, libcublas, libcurand, libnvrtc linked at load time, so the binary
# does not even start without them), and cudarc 0.19.10's build.rs panics when `dynamic-loading`
# is also enabled (build.rs:93-94). So this script builds
#   - with `--features cuda,cudarc/dynamic-loading`, against a copy of cudarc whose build.rs lets
#     dynamic-loading win (the panic and the link lines dropped, two edits; `--config
#     patch.crates-io.cudarc.path=…`), from a copy of the source tree in target/cuda-src so that
#     the patch never touches the checkout's Cargo.lock;
#   - with cudart (which candle-kernels' build.rs links unconditionally, for its MoE kernels)
#     taken from the toolkit's static libcudart_static.a, which itself loads the driver at run time.
#
# Needs: python3 with venv and pip (and network access to PyPI, the first time), gcc, git.
#   nvcc, the CUDA headers, cudart, cuBLAS, cuRAND, NVRTC: NVIDIA's CUDA wheels on PyPI, in
#   target/cuda-venv, copied to one root in target/cuda-root (reused when present); or an installed
#   toolkit: FORECAST_CUDA_ROOT=/usr/local/cuda.
#   FORECAST_CUDA_VERSION (default 13.4, the newest cudarc 0.19.10 knows): the wheels' version.
#   candle's kernels are PTX that the driver compiles at run time, so the binary needs a driver of
#   at least this CUDA version (nvidia-smi's "CUDA Version"): for a driver of the r580 family
#   (CUDA 13.0) build with FORECAST_CUDA_VERSION=13.0. Another version than 13.4 gets its own
#   target/cuda-venv-V, target/cuda-root-V and target/cuda-V (so nothing stale is reused).
#   The GPU architecture (normally read from nvidia-smi): CUDA_COMPUTE_CAP, default 80.
# Takes ~2.5 GB of disk (target/cuda-venv, target/cuda-root, target/cuda) and, from scratch, about
# 25 minutes on 2 cores (most of it nvcc compiling candle's kernels), ~2 minutes when only forecast
# changed. Prints PASS/FAIL lines; exits 1 when a check fails.
#
#   scripts/check-cuda-build.sh                build, then check the binary without CUDA libraries
#   scripts/check-cuda-build.sh --build-only   build only
#   scripts/check-cuda-build.sh --cargo ARGS…  any cargo command the same way, e.g.
#                                              `--cargo test --release --test golden` (gpu-check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CUDA_VERSION=${FORECAST_CUDA_VERSION:-13.4}
[ "$CUDA_VERSION" = 13.4 ] && suffix= || suffix=-$CUDA_VERSION
VENV=${FORECAST_CUDA_VENV:-$ROOT/target/cuda-venv$suffix}
CUDA=${FORECAST_CUDA_ROOT:-$ROOT/target/cuda-root$suffix}
TARGET=$ROOT/target/cuda$suffix
SRC=$ROOT/target/cuda-src
BIN=$TARGET/release/forecast
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-80}
MODE=check
CARGO_ARGS=(build --release)
case "${1:-}" in
  "") ;;
  --build-only) MODE=build ;;
  --cargo)
    MODE=cargo
    shift
    CARGO_ARGS=("$@")
    [ "${#CARGO_ARGS[@]}" -gt 0 ] || { echo "usage: $0 --cargo SUBCOMMAND [ARGS…]" >&2; exit 2; }
    ;;
  *) echo "usage: $0 [--build-only | --cargo SUBCOMMAND [ARGS…]]" >&2; exit 2 ;;
esac

if [ -z "${FORECAST_CUDA_ROOT:-}" ]; then
  V=$CUDA_VERSION
  REQS=("nvidia-cuda-nvcc==$V.*" "nvidia-nvvm==$V.*" "nvidia-cuda-crt==$V.*"
    "nvidia-cuda-runtime==$V.*" "nvidia-cuda-nvrtc==$V.*"
    'nvidia-cuda-cccl>=13,<14' 'nvidia-cublas>=13,<14' 'nvidia-curand')
  if [ "$(cat "$VENV/.forecast-reqs" 2>/dev/null)" != "${REQS[*]}" ]; then
    echo "== installing nvcc and the CUDA libraries from PyPI into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQS[@]}"
    echo "${REQS[*]}" > "$VENV/.forecast-reqs"
    rm -f "$CUDA/.forecast-assembled"
  fi
  if [ ! -e "$CUDA/.forecast-assembled" ]; then
    echo "== assembling a CUDA root in $CUDA"
    NV=$("$VENV/bin/python" -c 'import nvidia; print(list(nvidia.__path__)[0])')
    rm -rf "$CUDA" && mkdir -p "$CUDA"
    cp -r "$NV/cu13/." "$CUDA/"
    # Unversioned names (libcublas.so → libcublas.so.13, …); lib64 as most tools expect.
    for lib in "$CUDA"/lib/lib*.so.*; do
      base=${lib%%.so.*}.so
      [ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
    done
    ln -sfn lib "$CUDA/lib64"
    touch "$CUDA/.forecast-assembled"
  fi
fi
[ -x "$CUDA/bin/nvcc" ] || { echo "FAIL: no nvcc in $CUDA/bin (FORECAST_CUDA_ROOT)" >&2; exit 1; }
CUDART_STATIC=$(ls "$CUDA"/lib64/libcudart_static.a "$CUDA"/lib/libcudart_static.a \
  "$CUDA"/targets/*/lib/libcudart_static.a 2>/dev/null | head -1 || true)
[ -n "$CUDART_STATIC" ] || { echo "FAIL: no libcudart_static.a under $CUDA" >&2; exit 1; }

echo "== cudarc with dynamic loading, in target/cuda-patch"
CUDARC=$(cargo metadata --format-version 1 --features cuda | python3 -c '
import json, sys, os
meta = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in meta["packages"] if p["name"] == "cudarc"))')
PATCHED=$ROOT/target/cuda-patch/$(basename "$CUDARC")
# Made once: a fresh copy's new file times would make cargo rebuild cudarc and all above it.
if [ ! -e "$PATCHED/.forecast-patched" ]; then
  rm -rf "$PATCHED" && mkdir -p "$(dirname "$PATCHED")" && cp -rp "$CUDARC" "$PATCHED"
  python3 - "$PATCHED/build.rs" <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
edits = [
    # Feature unification gives candle's dynamic-linking and our dynamic-loading: loading wins.
    ('    #[cfg(all(feature = "dynamic-loading", feature = "dynamic-linking"))]\n'
     '    panic!("Both `dynamic-loading` and `dynamic-linking` features are active, this is a bug");\n', ''),
    ('    #[cfg(feature = "dynamic-linking")]\n    dynamic_linking(major, minor);\n',
     '    #[cfg(all(feature = "dynamic-linking", not(feature = "dynamic-loading")))]\n'
     '    dynamic_linking(major, minor);\n'),
]
for old, new in edits:
    if text.count(old) != 1:
        sys.exit(f"FAIL: {path} is not the build.rs this script knows how to patch (cudarc 0.19.10)")
    text = text.replace(old, new)
open(path, "w").write(text)
EOF
  touch "$PATCHED/.forecast-patched"
fi

echo "== the source tree, copied to $SRC"
rm -rf "$SRC" && mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$SRC"

echo "== cargo ${CARGO_ARGS[0]} --features cuda,cudarc/dynamic-loading ${CARGO_ARGS[*]:1} (into $TARGET)"
# -lcudart finds this linker script first, and with it the static cudart.
mkdir -p "$ROOT/target/cuda-link"
echo "INPUT($CUDART_STATIC -ldl -lpthread -lrt)" > "$ROOT/target/cuda-link/libcudart.so"
export CUDA_PATH="$CUDA" CUDA_ROOT="$CUDA" CUDA_HOME="$CUDA" CUDA_TOOLKIT_ROOT_DIR="$CUDA"
export PATH="$CUDA/bin:$PATH" LIBRARY_PATH="$ROOT/target/cuda-link"
"$CUDA/bin/nvcc" --version | tail -1
started=$(date +%s)
# The features go right after the subcommand, before any `--` of `cargo test … -- ARGS`.
(cd "$SRC" && CARGO_TARGET_DIR="$TARGET" cargo "${CARGO_ARGS[0]}" --features cuda,cudarc/dynamic-loading \
  --config "patch.crates-io.cudarc.path=\"$PATCHED\"" "${CARGO_ARGS[@]:1}")
echo "== cargo ${CARGO_ARGS[0]} done in $(($(date +%s) - started)) s"
[ "$MODE" = check ] || exit 0

# ---- the checks: the binary with no CUDA library anywhere it could find one ----------------------
failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
clean_env=(env -u LD_LIBRARY_PATH -u CUDA_PATH -u CUDA_ROOT -u CUDA_HOME -u CUDA_TOOLKIT_ROOT_DIR
  -u LIBRARY_PATH PATH=/usr/local/bin:/usr/bin:/bin)
if /sbin/ldconfig -p 2>/dev/null | grep -qE 'lib(cuda|cublas|cudart)\.so'; then
  echo "SKIP: this machine has CUDA libraries on its loader path (ldconfig -p), so the checks of a"
  echo "      machine without them cannot run here; scripts/gpu-check.sh is the check for this one"
  exit 0
fi
echo "== ldd $BIN"
deps=$("${clean_env[@]}" ldd "$BIN")
echo "$deps" | sed 's/^/   /'
if grep -qE 'lib(cuda|cudart|cublas|cublasLt|curand|nvrtc)\.so|not found' <<<"$deps"; then
  fail "the binary needs a CUDA library (or a missing one) at load time"
else
  pass "ldd: no libcuda, libcudart, libcublas, libcurand or libnvrtc; every library found"
fi

WORK=$(mktemp -d -t forecast-nocuda.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# stderr without the paths in it (which may well say "cuda"), for the checks that it is quiet
quiet_stderr() { sed -e "s#$WORK##g" -e "s#$ROOT##g" "$WORK/$1.err"; }
run() { # run NAME EXPECTED-EXIT ARGS…: the binary in the clean environment; stdout/stderr kept
  local name=$1 want=$2 rc=0
  shift 2
  local t0
  t0=$(date +%s.%N)
  "${clean_env[@]}" "$BIN" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
  secs=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')")
  if [ "$rc" != "$want" ]; then
    fail "$name: exit $rc (expected $want) after $secs s; stderr:"
    sed 's/^/   /' "$WORK/$name.err"
    return 1
  fi
}
if run version 0 --version; then pass "the binary starts: $(cat "$WORK/version.out")"; fi
if run train 0 train --csv data/sample.csv --out "$WORK/model.safetensors" --epochs 1 --device auto \
  && [ -s "$WORK/model.safetensors" ]; then
  if quiet_stderr train | grep -qiE 'cuda|gpu|panick|warn'; then
    fail "train --device auto: mentions CUDA, a warning or a panic on stderr:"
    sed 's/^/   /' "$WORK/train.err"
  else
    pass "train --epochs 1 --device auto: model written, on the CPU, quietly ($secs s)"
  fi
fi
if run predict 0 predict --model "$WORK/model.safetensors" --csv data/sample.csv --device auto --format csv; then
  rows=$(($(wc -l < "$WORK/predict.out") - 1))
  if [ "$rows" -ge 1 ] && ! quiet_stderr predict | grep -qiE 'cuda|gpu|panick|warn'; then
    pass "predict --device auto: $rows forecast row(s) on the CPU ($secs s)"
  else
    fail "predict --device auto: $rows rows; stderr: $(cat "$WORK/predict.err")"
  fi
fi
for device in cuda cuda:1; do
  if run "device-$device" 8 predict --model "$WORK/model.safetensors" --csv data/sample.csv --device "$device"; then
    lines=$(wc -l < "$WORK/device-$device.err")
    if [ "$lines" = 1 ] && grep -q 'libcuda.so.1' "$WORK/device-$device.err"; then
      pass "--device $device: exit 8, one line: $(cat "$WORK/device-$device.err")"
    else
      fail "--device $device: exit 8 but $lines line(s) on stderr (expected one naming libcuda.so.1):"
      sed 's/^/   /' "$WORK/device-$device.err"
    fi
  fi
done
# The toolkit's libraries without the driver (a login node): still the CPU, still one line.
if LD_LIBRARY_PATH="$CUDA/lib" "$BIN" predict --model "$WORK/model.safetensors" --csv data/sample.csv \
  --device cuda > "$WORK/toolkit.out" 2> "$WORK/toolkit.err"; then
  fail "--device cuda with cuBLAS but no driver: exit 0"
else
  rc=$?
  if [ "$rc" = 8 ] && [ "$(wc -l < "$WORK/toolkit.err")" = 1 ]; then
    pass "--device cuda with the CUDA libraries but no driver: exit 8, one line"
  else
    fail "--device cuda with the CUDA libraries but no driver: exit $rc: $(cat "$WORK/toolkit.err")"
  fi
fi

if [ "$failed" -gt 0 ]; then
  echo "check-cuda-build: $failed check(s) FAILED"
  exit 1
fi
echo "check-cuda-build: all checks passed"
