#!/usr/bin/env bash
# Training figures from a machine with an accelerator, which need have neither TensorFlow nor Node.js:
# only Python with JAX for its accelerator, the keras wheel (plus numpy and matplotlib), this project's
# source and the four MNIST IDX files (.gz is fine).
#
#   scripts/gpu-bench.sh MNIST_DIR [OUT_DIR]
#
# 1. `python -m benchmarks --only gpu`: the quick and best presets, three seeds each, cold then warm
#    compilation cache (figures in OUT_DIR/benchmarks.json and .md);
# 2. the quick preset under mixed_float16 for the same seeds, to weigh half precision's speed against
#    its accuracy (float32 is the default);
# 3. one line per run: preset, precision, seed, test accuracy, compile seconds, steady images/s.
# KERAS_BACKEND picks the backend (default jax); PYTHON the interpreter (default python3); SMOKE=1
# runs everything on 1,024 images (seconds on a CPU: proves the script works).
set -euo pipefail
data_dir=${1:?usage: scripts/gpu-bench.sh MNIST_DIR [OUT_DIR]}
out=${2:-gpu-bench}
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
export MNIST_DIR=$data_dir
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$python" - <<'PY'
import importlib.util, os, sys
backend = os.environ["KERAS_BACKEND"]
missing = [name for name in ("numpy", "keras", "matplotlib", backend) if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"error: missing Python packages: {', '.join(missing)}; pip install them (wheels) first")
PY
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

smoke=()
tiny=()
if [[ ${SMOKE:-0} == 1 ]]; then
  smoke=(--smoke)
  tiny=(--epochs 2 --train-limit 1024 --batch-size 128)
  seeds=(42)
else
  seeds=(42 43 44)
fi

"$python" -m benchmarks "${smoke[@]}" --only gpu --out "$out"

for seed in "${seeds[@]}"; do
  echo "quick preset, mixed_float16, seed $seed"
  "$python" -m train --preset quick --seed "$seed" --precision mixed_float16 "${tiny[@]}" \
    --out "$out/mixed_float16-$seed" \
    | grep -E "^(device|test accuracy|compiling)"
done

"$python" - "$out" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
runs = [json.loads(p.read_text()) for p in sorted(out.glob("mixed_float16-*/metrics.json"))]
rows = json.loads((out / "benchmarks.json").read_text())["sections"]["gpu"]["rows"]
for row in rows:
    print(f"{row['preset']} float32: test accuracy median {row['test_accuracy']:.2%} {row['test_accuracy_by_seed']}, "
          f"{row['steady_images_per_s']:,.0f} images/s, start to model.keras {row['wall_to_model_cold_s']} s cold, "
          f"{row['wall_to_model_warm_s']} s warm")
if runs:
    print(f"quick mixed_float16: test accuracy median {statistics.median(r['test_accuracy'] for r in runs):.2%} "
          f"{[r['test_accuracy'] for r in runs]}, "
          f"{statistics.median(r['steady_images_per_s'] for r in runs):,.0f} images/s")
PY
