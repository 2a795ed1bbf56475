#!/usr/bin/env bash
# Fill .gpu-wheels/ (git-ignored) with the wheels tools/gpu_check.sh needs on an air-gapped GPU node whose
# python3 has torch, torchvision, timm, typer, rich, scikit-learn, matplotlib, safetensors, pytest, numpy.
# Run on any machine with network (needs python3 with pip); versions come from uv.lock so the node runs what
# the tests ran. Binary wheels (regex, PyYAML) are fetched for CPython 3.11-3.13 on x86_64 and aarch64 Linux;
# tools/gpu_site.py unpacks only those that fit the node's interpreter and are not installed there already.
#   tools/gpu_wheels.sh [DEST]      (default: .gpu-wheels next to this repo's pyproject.toml)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:-$ROOT/.gpu-wheels}
PY=${PYTHON:-python3}
mkdir -p "$DEST"

# what the node lacks: open_clip_torch and its needs (ftfy, wcwidth, regex), webdataset and its needs
# (braceexpand, PyYAML), tqdm as a safety net
PURE="open-clip-torch ftfy webdataset braceexpand tqdm"
BINARY="regex pyyaml wcwidth"  # wcwidth ships abi3 binary wheels

pin() {  # name -> name==version from uv.lock (bare name if absent)
    "$PY" - "$ROOT/uv.lock" "$1" <<'PYEOF'
import re, sys, tomllib
lock = tomllib.loads(open(sys.argv[1]).read()) if sys.version_info >= (3, 11) else {}
want = re.sub(r"[-_.]+", "-", sys.argv[2]).lower()
for p in lock.get("package", []):
    if re.sub(r"[-_.]+", "-", p["name"]).lower() == want:
        print(f"{sys.argv[2]}=={p['version']}")
        break
else:
    print(sys.argv[2])
PYEOF
}

for name in $PURE; do
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$DEST" "$(pin "$name")"
done
for name in $BINARY; do
    spec=$(pin "$name")
    for pyver in 3.11 3.12 3.13; do
        for arch in x86_64 aarch64; do
            "$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$DEST" --implementation cp \
                --python-version "$pyver" --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" \
                --platform "manylinux_2_28_$arch" "$spec" || echo "note: no $spec wheel for cp$pyver $arch" >&2
        done
    done
done
ls -1 "$DEST"
size=$(du -sm "$DEST" | cut -f1)
echo "$DEST: $(ls "$DEST" | wc -l) wheels, ${size} MB (limit 60 MB)"
if [ "$size" -ge 60 ]; then echo "Error: $DEST is over 60 MB" >&2; exit 1; fi
