#!/usr/bin/env bash
# Side-by-side training-step benchmark: the TorchSharp peer (benchmarks/peers/TorchSharpPeer) and
# our `spike bench step`, back to back, for each model; prints both figures and the images/s ratio
# (ours / peer). Restores and builds the peer only here (it is not in SpikeEngine.sln; CI and the
# README's test command never download TorchSharp). See docs/benchmarks.md.
#
#   benchmarks/peers/compare.sh [--steps S] [--warmup W] [--models "sew-resnet18 danet-pre-resnet18"]
#                               [--batch 32] [--T 4] [--no-build] [--peer-only] [--ours-only]
#                               [--peer-arg ARG]... [--no-tcmalloc] [--sparse "default off"]
#                               [--rounds R]
#
# --rounds R repeats the whole comparison R times, peer and ours alternating within each round
# (the machine's speed drifts over minutes on a shared VM: each round's ratios come from runs
# seconds apart), and ends with each ratio's median and range over the rounds.
#
# Each model's peer runs once; ours runs once per --sparse mode: "default" (the event-driven
# convolution chosen by measurement), "off" (dense convolutions only), or any other value of
# SPIKEENGINE_SPARSE_CONV. The summary gives each run's images/s, process CPU ms per step and peak
# RSS, and each of ours against the peer by images/s and by CPU time (peer CPU / ours).
#
# The peer runs with as many libtorch threads as cores and, where Debian's
# libtcmalloc-minimal4 is installed, with tcmalloc preloaded (libtorch's own recommendation for
# CPU training; glibc malloc maps and unmaps the large activation buffers every step). Both sides
# report process CPU time per step beside wall time: on a busy machine it is the steadier figure.
# Both run with OMP_WAIT_POLICY=PASSIVE unless it is set (the engine's own default for oneDNN's
# OpenMP threads): spinning OpenMP workers burn the time slices of an oversubscribed machine.
# SPIKE overrides how `spike` is run (default: build src/SpikeEngine.Cli in Release and run its
# spike.dll), e.g. SPIKE="dotnet /path/to/spike.dll". Needs python3 (JSON and the ELF patch).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

steps=5
warmup=1
batch=32
timesteps=4
models="sew-resnet18 danet-pre-resnet18"
sparse_modes="default off"
rounds=1
build=1
tcmalloc=1
run_peer=1
run_ours=1
peer_extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --T) timesteps="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --sparse) sparse_modes="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --peer-only) run_ours=0; shift ;;
    --ours-only) run_peer=0; shift ;;
    --peer-arg) peer_extra+=("$2"); shift 2 ;;
    --no-tcmalloc) tcmalloc=0; shift ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

# The machine's default OpenBLAS settings (OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE) pin AVX2
# kernels; both runs go without them.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
echo "compare.sh: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for both runs"

peer_dir="benchmarks/peers/TorchSharpPeer"
peer_dll="$peer_dir/bin/Release/net10.0/linux-x64/TorchSharpPeer.dll"
spike_dll="src/SpikeEngine.Cli/bin/Release/net10.0/spike.dll"

if [[ $build -eq 1 ]]; then
    if [[ $run_peer -eq 1 ]]; then
        echo "compare.sh: restoring and building the peer (TorchSharp-cpu 0.107.0, ~600 MiB on first restore)"
        dotnet build "$peer_dir" -c Release --nologo -v quiet
    fi
    if [[ $run_ours -eq 1 && -z "${SPIKE:-}" ]]; then
        echo "compare.sh: building src/SpikeEngine.Cli (Release)"
        dotnet build src/SpikeEngine.Cli -c Release --nologo -v quiet
    fi
fi
if [[ $run_peer -eq 1 ]]; then
    # The build's AfterBuild target already did this; repeat it for --no-build on an older output.
    python3 "$peer_dir/weaken-glibcxx.py" "$(dirname "$peer_dll")/libLibTorchSharp.so" >/dev/null
fi
read -r -a spike_cmd <<<"${SPIKE:-dotnet $spike_dll}"
if [[ $run_ours -eq 1 ]] && ! "${spike_cmd[@]}" bench step --help >/dev/null 2>&1; then
    echo "compare.sh: '${spike_cmd[*]} bench step' is not available in this build; running the peer only" >&2
    run_ours=0
fi

common=(--T "$timesteps" --batch "$batch" --input 3x32x32 --stem cifar --num-classes 10 --device cpu --steps "$steps")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
echo "compare.sh: OMP_WAIT_POLICY=$OMP_WAIT_POLICY for both runs"
peer_env=()
if [[ $tcmalloc -eq 1 ]]; then
    # awk reads to the end: exiting early could kill ldconfig with SIGPIPE, which pipefail and
    # set -e turn into a silent exit of this script.
    lib="$(ldconfig -p | awk '/libtcmalloc_minimal\.so\.4 / && !found {print $NF; found = 1}')"
    if [[ -n "$lib" ]]; then
        peer_env=(LD_PRELOAD="$lib")
        echo "compare.sh: peer runs with LD_PRELOAD=$lib"
    else
        echo "compare.sh: libtcmalloc_minimal.so.4 not found (apt-get install libtcmalloc-minimal4); peer runs on glibc malloc"
    fi
fi

field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

echo "compare.sh: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
summary=()
ratios="$tmp/ratios.tsv"
: >"$ratios"
mib() { python3 -c "print(round($1 / 2**20))"; }
for round in $(seq 1 "$rounds"); do
[[ $rounds -gt 1 ]] && summary+=("-- round $round of $rounds (load average $(cut -d' ' -f1-3 /proc/loadavg))")
for model in $models; do
    peer_ips=""
    peer_cpu=""
    if [[ $run_peer -eq 1 ]]; then
        echo "== peer: TorchSharpPeer --model $model ${common[*]} --warmup $warmup ${peer_extra[*]}"
        env "${peer_env[@]}" dotnet "$peer_dll" --model "$model" "${common[@]}" --warmup "$warmup" \
            --threads "$(nproc)" "${peer_extra[@]}" --json >"$tmp/peer.json"
        cat "$tmp/peer.json"
        peer_ips="$(field "$tmp/peer.json" images_per_s)"
        peer_cpu="$(field "$tmp/peer.json" median_cpu_ms)"
        summary+=("$model peer: $peer_ips images/s, $peer_cpu CPU ms/step, peak RSS $(mib "$(field "$tmp/peer.json" peak_rss_bytes)") MiB")
    fi
    if [[ $run_ours -eq 1 ]]; then
        for mode in $sparse_modes; do
            # "default" leaves SPIKEENGINE_SPARSE_CONV as the caller set it (unset: measured choice).
            mode_env=()
            [[ "$mode" != default ]] && mode_env=(SPIKEENGINE_SPARSE_CONV="$mode")
            echo "== ours ($mode): ${mode_env[*]} spike bench step --model $model ${common[*]} --profile"
            env "${mode_env[@]}" "${spike_cmd[@]}" bench step --model "$model" "${common[@]}" --profile --json >"$tmp/ours.json"
            cat "$tmp/ours.json"
            ours_ips="$(field "$tmp/ours.json" images_per_s)"
            ours_cpu="$(python3 -c "print(round(1000 * $(field "$tmp/ours.json" cpu_s_per_step), 1))")"
            line="$model ours ($mode): $ours_ips images/s, $ours_cpu CPU ms/step, peak RSS $(mib "$(field "$tmp/ours.json" peak_rss_bytes)") MiB"
            if [[ -n "$peer_ips" ]]; then
                by_ips="$(python3 -c "print(f'{$ours_ips / $peer_ips:.2f}')")"
                by_cpu="$(python3 -c "print(f'{$peer_cpu / $ours_cpu:.2f}')")"
                line+="; ours/peer $by_ips by images/s, $by_cpu by CPU time"
                printf '%s\t%s\t%s\t%s\n' "$model" "$mode" "$by_ips" "$by_cpu" >>"$ratios"
            fi
            summary+=("$line")
        done
    fi
done
done
echo "== summary (T=$timesteps, batch $batch, 3x32x32, cifar stem, 10 classes, $steps steps; load average $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${summary[@]}"
if [[ $rounds -gt 1 && -s "$ratios" ]]; then
    echo "== ours/peer over $rounds rounds: median (min-max), by images/s and by CPU time"
    python3 - "$ratios" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    model, mode, ips, cpu = line.split("\t")
    rows.setdefault((model, mode), []).append((float(ips), float(cpu)))
for (model, mode), v in rows.items():
    ips = [a for a, _ in v]
    cpu = [b for _, b in v]
    print(f"{model} ours ({mode}): {statistics.median(ips):.2f} ({min(ips):.2f}-{max(ips):.2f}) by images/s, "
          f"{statistics.median(cpu):.2f} ({min(cpu):.2f}-{max(cpu):.2f}) by CPU time, {len(v)} rounds")
PY
fi
