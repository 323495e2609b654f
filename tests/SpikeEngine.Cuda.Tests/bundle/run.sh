#!/usr/bin/env bash
# GPU check bundle runner (tests/SpikeEngine.Cuda.Tests/bundle/run.sh, copied to gpu-bundle/run.sh by `build.ps1 gpu-bundle`).
# Runs the self-contained SpikeEngine.Cuda.Tests (no .NET needed) against the CUDA libraries of
# the machine's pip NVIDIA wheels, and writes OUTDIR/cuda-tests.log and OUTDIR/summary.json.
# Kernel benchmarks (LIF per time step vs copy bandwidth, training-step throughput and peak memory)
# run as tests and write OUTDIR/kernel-bench.json and OUTDIR/train-bench.json; the bundled `spike`
# command adds OUTDIR/spike-bench-neuron.json and OUTDIR/spike-bench-step.json (`spike bench
# neuron|step --device cuda`). --no-bench skips the benchmarks, --bench runs only them.
# Usage: run.sh [--bench|--no-bench] [OUTDIR]   (default: ./results)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode=all
case "${1:-}" in
    --bench) mode=bench; shift ;;
    --no-bench) mode=tests; shift ;;
esac
out="${1:-$here/results}"
mkdir -p "$out"
filter=()
if [ "$mode" != tests ]; then export SPIKEENGINE_BENCH_OUT="$out"; fi
if [ "$mode" = bench ]; then filter=(--filter-class '*KernelBenchmarkRun'); fi

# site-packages/nvidia/*/lib of the Python environments here (PyTorch's CUDA libraries).
prefixes=("${VIRTUAL_ENV:-}" "${CONDA_PREFIX:-}" /opt/*/.venv /opt/conda /usr/local /usr "$HOME/.local")
if command -v python3 >/dev/null 2>&1; then
    prefixes+=("$(dirname "$(dirname "$(command -v python3)")")")
fi
dirs=""
for p in "${prefixes[@]}"; do
    [ -n "$p" ] || continue
    for d in "$p"/lib/python3*/site-packages/nvidia/*/lib; do
        [ -d "$d" ] && case ":$dirs:" in *":$d:"*) ;; *) dirs="${dirs:+$dirs:}$d" ;; esac
    done
done
export SPIKEENGINE_CUDA_LIB_DIRS="${SPIKEENGINE_CUDA_LIB_DIRS:+$SPIKEENGINE_CUDA_LIB_DIRS:}$dirs"
export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SPIKEENGINE_KERNEL_CACHE="${SPIKEENGINE_KERNEL_CACHE:-${TMPDIR:-/tmp}/spikeengine-kernels}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_gcServer=0

log="$out/cuda-tests.log"
{
    echo "== host: $(uname -srm)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    echo "== SPIKEENGINE_CUDA_LIB_DIRS=$SPIKEENGINE_CUDA_LIB_DIRS"
} >"$log" 2>&1
start=$(date +%s)
"$here/bin/SpikeEngine.Cuda.Tests" --progress off --output detailed "${filter[@]}" >>"$log" 2>&1
code=$?
end=$(date +%s)

# The bundled CLI: the per-time-step neuron benchmark and a training step on the device.
if [ "$mode" != tests ] && [ -x "$here/spike/spike" ]; then
    "$here/spike/spike" bench neuron --device cuda --T 4 --neurons 4194304 --json \
        >"$out/spike-bench-neuron.json" 2>>"$log" || echo "spike bench neuron failed (exit $?)" >>"$log"
    "$here/spike/spike" bench step --device cuda --model sew-resnet18 --T 4 --batch 32 --input 3x32x32 \
        --num-classes 10 --steps 5 --json >"$out/spike-bench-step.json" 2>>"$log" || echo "spike bench step failed (exit $?)" >>"$log"
fi

num() { grep -E "^\s*$1:\s*[0-9]+" "$log" | tail -n 1 | grep -oE '[0-9]+' | tail -n 1; }
device="$(grep -m1 -oE 'device 0: .*' "$log" | sed 's/"/\\"/g')"
{
    printf '{\n'
    printf '  "exit_code": %d,\n' "$code"
    printf '  "total": %s,\n' "$(num total || echo 0)"
    printf '  "passed": %s,\n' "$(num succeeded || echo 0)"
    printf '  "failed": %s,\n' "$(num failed || echo 0)"
    printf '  "skipped": %s,\n' "$(num skipped || echo 0)"
    printf '  "seconds": %d,\n' "$((end - start))"
    printf '  "device": "%s",\n' "${device:-none}"
    printf '  "log": "cuda-tests.log"\n'
    printf '}\n'
} >"$out/summary.json"
cat "$out/summary.json"
for f in kernel-bench.json train-bench.json spike-bench-neuron.json spike-bench-step.json; do [ -s "$out/$f" ] && cat "$out/$f"; done
grep -E '^\s*bench: ' "$log" | head -n 40
tail -n 8 "$log"
exit "$code"
