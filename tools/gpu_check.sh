#!/usr/bin/env bash
# One prepared GPU check for an air-gapped GPU node (issue 15, item 5).
#
#   tools/gpu_wheels.sh                 # once, on a machine with network: fills .gpu-wheels/ (< 60 MB)
#   tools/gpu_check.sh OUTDIR           # on the GPU node: at most 8 minutes on one H100 / H200
#   tools/gpu_check.sh OUTDIR --tiny    # the same steps on the CPU at tiny sizes (the test suite runs this)
#
# Needs only a python3 (3.11+) with torch, torchvision, timm, typer, rich, scikit-learn, matplotlib,
# safetensors, pytest and numpy: no network, no pip install, no uv. The workspace's src folders go on
# PYTHONPATH with generated package metadata (entry points, console scripts) and the wheels in .gpu-wheels/
# are unpacked into a temporary site folder (tools/gpu_site.py). Every step runs under its own timeout and
# failures do not stop the others (tools/gpu_check.py); OUTDIR gets one JSON file per step + summary.json.
# PYTHON=/path/to/python3 picks the interpreter; GPU_CHECK_TIMEOUT caps the whole run (seconds).
set -u

if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: tools/gpu_check.sh OUTDIR [--tiny]" >&2
    exit 2
fi
OUT=$1
shift
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=$(command -v "${PYTHON:-python3}") || { echo "Error: ${PYTHON:-python3} not found" >&2; exit 2; }
TINY=0
for arg in "$@"; do [ "$arg" = "--tiny" ] && TINY=1; done
if [ "$TINY" = 1 ]; then LIMIT=${GPU_CHECK_TIMEOUT:-1000}; else LIMIT=${GPU_CHECK_TIMEOUT:-475}; fi

mkdir -p "$OUT" || { echo "Error: cannot create $OUT" >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
SITE=$(mktemp -d "${TMPDIR:-/tmp}/unlearnkit-gpu-site.XXXXXX")
trap 'rm -rf "$SITE"' EXIT
export PYTHONUNBUFFERED=1
export UNLEARNKIT_GPU_SITE_REPORT="$SITE/site-report.json"

echo "[gpu-check] python: $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])'))"
if EXPORTS=$("$PY" "$ROOT/tools/gpu_site.py" "$SITE" --wheels "$ROOT/.gpu-wheels" \
        --report "$UNLEARNKIT_GPU_SITE_REPORT"); then
    eval "$EXPORTS"
    echo "[gpu-check] workspace on PYTHONPATH, site $SITE"
else
    echo "[gpu-check] WARNING: tools/gpu_site.py failed; the setup step will show what is missing" >&2
fi

cd "$ROOT"
timeout --kill-after=15 "$LIMIT" "$PY" "$ROOT/tools/gpu_check.py" "$OUT" "$@" --python "$PY"
rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "[gpu-check] the whole check ran past ${LIMIT} s and was stopped; the step files in $OUT stay" >&2
fi
exit "$rc"
