#!/usr/bin/env bash
# Training throughput against the thread count (docs/TRAINING.md, "Threads") or the MPI world size ("Scale-out over
# MPI"): the default simulated world trained with each count in turn, for ROUNDS alternated rounds (1, 2, 1, 2, …)
# so that load from other jobs falls on every count alike. `threads` runs `train --threads N`; `ranks` runs
# `mpirun -np N … train --threads 1` (one process, without mpirun, for N = 1). Prints each run's rows/s (the training
# loop's, as `train` prints it) and the median per count. Needs a release funnel-train (FUNNEL_TRAIN, default
# .build/release/funnel-train), and mpirun for `ranks`.
# usage: scripts/bench_scaling.sh threads|ranks [ROUNDS (3)] [COUNTS… (1 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${FUNNEL_TRAIN:-.build/release/funnel-train}"
mode="${1:?usage: scripts/bench_scaling.sh threads|ranks [ROUNDS] [COUNTS…]}"
[[ "$mode" == threads || "$mode" == ranks ]] || { echo "bench_scaling: threads or ranks, not $mode" >&2; exit 2; }
rounds="${2:-3}"
shift $(($# < 2 ? $# : 2))
counts=("${@:-1 2}")
read -r -a counts <<<"${counts[*]}"
world="$(mktemp -d /tmp/funnel-scaling.XXXXXX)"
trap 'rm -rf "$world"' EXIT
"$B" simulate -o "$world" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
declare -A figures
for round in $(seq "$rounds"); do
    for count in "${counts[@]}"; do
        launch=() threads=$count
        if [[ $mode == ranks ]]; then
            threads=1
            ((count > 1)) && launch=(mpirun -np "$count" --oversubscribe)
        fi
        line="$("${launch[@]}" "$B" train --data "$world/train.csv" --schema "$world/schema.json" \
            --state "$world/model.ftrain" --threads "$threads" | grep '^trained ')"
        rate="$(sed -E 's/.* ([0-9]+) rows\/s.*/\1/' <<<"$line")"
        echo "round $round, $mode $count: $line (load $(cut -d' ' -f1 /proc/loadavg))"
        figures[$count]+="$rate "
    done
done
for count in "${counts[@]}"; do
    median="$(tr ' ' '\n' <<<"${figures[$count]}" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')"
    echo "$mode $count: median $median rows/s over $rounds runs (${figures[$count]% })"
done
