#!/usr/bin/env bash
# PConv set-up: everything `make demo` and `make test` need, from a fresh
# Debian 12 + Python 3.11 machine. Idempotent; a second run only checks.
#   1. Debian packages: host OpenMP, AArch64 cross compiler, qemu-user
#   2. arm64 libomp, unpacked into build/aarch64-sysroot (it cannot be
#      co-installed with the host's libomp through multiarch)
#   3. .venv with the exact pins of requirements/base.txt
#   4. the C++ build (CMake + Ninja in build/) against the pinned MLIR wheels
#   5. the pconv package (editable) and the tools linked into .venv/bin
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
log() { printf '[setup] %s\n' "$*"; }

# 1. Debian packages.
missing=()
for pkg in libomp-dev gcc-aarch64-linux-gnu qemu-user; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# 2. arm64 OpenMP runtime.
SYSROOT=build/aarch64-sysroot
if [ ! -f "$SYSROOT/usr/lib/llvm-14/lib/libomp.so.5" ]; then
  log "fetching the arm64 OpenMP runtime (libomp5-14:arm64)"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -q
  fi
  tmp=$(mktemp -d)
  chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -q libomp5-14:arm64)
  mkdir -p "$SYSROOT"
  dpkg-deb -x "$tmp"/libomp5-14_*_arm64.deb "$SYSROOT"
  rm -rf "$tmp"
fi

# 3. Python environment with exact pins (torch comes from the local wheel).
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.pconv-requirements
want=$(sha256sum requirements/base.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing pinned Python packages"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements/base.txt
  echo "$want" > "$stamp"
fi

# 4. C++ build.
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -f build/build.ninja ]; then
  log "configuring the C++ build"
  .venv/bin/cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_MAKE_PROGRAM="$ROOT/.venv/bin/ninja" \
    -DMLIR_DIR="$SITE/mlir/lib/cmake/mlir" \
    -DLLVM_DIR="$SITE/llvm/lib/cmake/llvm" >/dev/null
fi
.venv/bin/ninja -C build | tail -n 1

# 5. The pconv package and tools in .venv.
for t in pconv-opt pconv-translate; do
  ln -sf "$ROOT/build/bin/$t" ".venv/bin/$t"
done
# (Re)install when pconv is missing or predates its console script / entry points.
if ! .venv/bin/python -c 'import pconv' 2>/dev/null || [ ! -x .venv/bin/pconv ]; then
  log "installing the pconv package (editable)"
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
fi
log "ready"
