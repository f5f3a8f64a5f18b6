#!/usr/bin/env bash
# Checks that `cargo build --release --features cuda` compiles and links on a machine without a
# GPU or a CUDA installation (CI, a laptop).
#
# What a CUDA build needs, and where it comes from here:
#   nvcc, the CUDA headers, cuBLAS, cuRAND and NVRTC  NVIDIA's CUDA 13 wheels on PyPI (they share
#                                                    one nvidia/cu13 root; the cu12 nvcc wheels
#                                                    ship ptxas but no nvcc), copied to
#                                                    target/cuda-root
#   libcuda.so (comes only with the NVIDIA driver)   a link-time stub built from the driver
#                                                    symbols cudarc declares (like the toolkit's
#                                                    own lib64/stubs); the real driver replaces it
#                                                    at run time on a GPU machine
#   the GPU architecture (normally read from nvidia-smi)  CUDA_COMPUTE_CAP, default 80
# The toolkit is pinned to 13.4: the newest CUDA the cudarc that candle 0.11 uses knows.
#
# The build goes to target/cuda so that it does not disturb the CPU build. Takes ~2 GB of disk
# and several minutes. On a machine with the CUDA toolkit and a driver, plain
# `cargo build --release --features cuda` is all you need.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${FORECAST_CUDA_VENV:-$ROOT/target/cuda-venv}
CUDA=${FORECAST_CUDA_ROOT:-$ROOT/target/cuda-root}
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-80}

echo "== installing nvcc and the CUDA libraries from PyPI into $VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  'nvidia-cuda-nvcc==13.4.*' 'nvidia-nvvm==13.4.*' 'nvidia-cuda-crt==13.4.*' \
  'nvidia-cuda-runtime==13.4.*' 'nvidia-cuda-nvrtc==13.4.*' \
  'nvidia-cuda-cccl>=13,<14' 'nvidia-cublas>=13,<14' 'nvidia-curand'
NV=$("$VENV/bin/python" -c 'import nvidia; print(list(nvidia.__path__)[0])')

echo "== assembling a CUDA root in $CUDA"
rm -rf "$CUDA" && mkdir -p "$CUDA"
cp -r "$NV/cu13/." "$CUDA/"
# Unversioned names for the linker (libcublas.so → libcublas.so.12, …); lib64 as cudarc expects.
for lib in "$CUDA"/lib/lib*.so.*; do
  base=${lib%%.so.*}.so
  [ -e "$base" ] || ln -s "$(basename "$lib")" "$base"
done
ln -sfn lib "$CUDA/lib64"

echo "== building a libcuda.so link stub from cudarc's driver symbols"
cargo fetch --quiet
CUDARC=$(cargo metadata --format-version 1 --features cuda | "$VENV/bin/python" -c '
import json, sys, os
meta = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in meta["packages"] if p["name"] == "cudarc"))')
mkdir -p "$CUDA/lib/stubs"
grep -rhoE '\bfn cu[A-Za-z0-9_]+' "$CUDARC/src/driver" | sed 's/^fn //' | sort -u \
  | awk '{ print "void " $1 "(void) {}" }' > "$CUDA/lib/stubs/libcuda_stub.c"
echo "   $(wc -l < "$CUDA/lib/stubs/libcuda_stub.c") symbols"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$CUDA/lib/stubs/libcuda.so" "$CUDA/lib/stubs/libcuda_stub.c"
ln -sf libcuda.so "$CUDA/lib/stubs/libcuda.so.1"

echo "== cargo build --release --features cuda"
export CUDA_PATH="$CUDA" CUDA_ROOT="$CUDA" CUDA_TOOLKIT_ROOT_DIR="$CUDA"
export PATH="$CUDA/bin:$PATH"
export LIBRARY_PATH="$CUDA/lib:$CUDA/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
export RUSTFLAGS="${RUSTFLAGS:-} -L native=$CUDA/lib -L native=$CUDA/lib/stubs"
nvcc --version | tail -1
cargo build --release --features cuda --target-dir target/cuda
echo "== built target/cuda/release/forecast with CUDA support"
LD_LIBRARY_PATH="$CUDA/lib:$CUDA/lib/stubs" target/cuda/release/forecast --version
