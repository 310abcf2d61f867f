#!/usr/bin/env bash
# Install the benchmark peer engines, pinned (requirements/bench*.txt). Idempotent:
# a second run only checks. Needs the main .venv (scripts/setup.sh).
#   1. .venv: requirements/bench.txt, after a dry run proves that it installs no torch
#      (nor any CUDA library) and changes no package pinned by requirements/base.txt
#   2. build/venv-tflite: tflite-runtime 2.14 with numpy<2 (requirements/bench-tflite.txt)
# An engine that fails to install here is not fatal: the benchmark shows its row with
# the reason. Set BENCH_SKIP_TFLITE=1 to skip step 2.
set -uo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bench-install] %s\n' "$*"; }
[ -x .venv/bin/python ] || bash scripts/setup.sh || exit 1
status=0

stamp=.venv/.pconv-bench-requirements
want=$(cat requirements/base.txt requirements/bench.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "checking requirements/bench.txt with a dry run"
  report=$(mktemp)
  if ! .venv/bin/python -m pip install -q --dry-run --report "$report" -r requirements/bench.txt; then
    log "pip could not resolve requirements/bench.txt"; exit 1
  fi
  if ! .venv/bin/python - "$report" requirements/base.txt <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
base = {}
for line in open(sys.argv[2]):
    line = line.split("#")[0].strip()
    if "==" in line:
        name, ver = line.split("==")
        base[re.sub(r"[-_.]+", "-", name).lower()] = ver
bad = []
for item in report.get("install", []):
    name = re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower()
    ver = item["metadata"]["version"]
    if name == "torch" or name.startswith("nvidia-") or name == "triton":
        bad.append(f"{name} {ver} (never let an engine pull torch or CUDA)")
    elif name in base and base[name] != ver:
        bad.append(f"{name} {ver} (base.txt pins {base[name]})")
if bad:
    print("[bench-install] refusing: the install would change " + ", ".join(bad))
    sys.exit(1)
PY
  then rm -f "$report"; exit 1; fi
  rm -f "$report"
  log "installing the pinned engines into .venv"
  if .venv/bin/python -m pip install -q -r requirements/bench.txt; then
    echo "$want" > "$stamp"
  else
    log "some engines failed to install (their rows will say so)"; status=1
  fi
fi

if [ "${BENCH_SKIP_TFLITE:-0}" != 1 ]; then
  TV=build/venv-tflite
  tstamp=$TV/.pconv-bench-tflite
  twant=$(sha256sum requirements/bench-tflite.txt | cut -d' ' -f1)
  if [ "$(cat "$tstamp" 2>/dev/null)" != "$twant" ]; then
    PY=${PYTHON:-python3.11}
    command -v "$PY" >/dev/null || PY=python3
    log "creating $TV (tflite-runtime needs numpy<2)"
    mkdir -p build
    [ -x $TV/bin/python ] || "$PY" -m venv $TV
    if $TV/bin/python -m pip install -q -r requirements/bench-tflite.txt; then
      echo "$twant" > "$tstamp"
    else
      log "tflite-runtime failed to install (its row will say so)"; status=1
    fi
  fi
fi
log "ready"
exit $status
