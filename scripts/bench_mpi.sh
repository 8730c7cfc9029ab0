#!/usr/bin/env bash
# Training throughput of one process against `mpirun -np N` (docs/TRAINING.md, "Scale-out over MPI"): the default
# simulated world trained with each world size in turn, for ROUNDS alternated rounds (1, 2, 1, 2, …) so that load
# from other jobs falls on every size alike; one matrix-product thread per rank. Prints each run's rows/s (the
# training loop's, as `train` prints it: global rows over the loop's wall time) and the median per size. Needs a
# release funnel-train (FUNNEL_TRAIN, default .build/release/funnel-train) and mpirun.
# usage: scripts/bench_mpi.sh [ROUNDS (3)] [WORLD SIZES… (1 2)]
set -euo pipefail
cd "$(dirname "$0")/.."
B="${FUNNEL_TRAIN:-.build/release/funnel-train}"
rounds="${1:-3}"
shift || true
sizes=("${@:-1 2}")
read -r -a sizes <<<"${sizes[*]}"
world="$(mktemp -d /tmp/funnel-mpi-bench.XXXXXX)"
trap 'rm -rf "$world"' EXIT
"$B" simulate -o "$world" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
declare -A figures
for round in $(seq "$rounds"); do
    for size in "${sizes[@]}"; do
        launch=()
        ((size > 1)) && launch=(mpirun -np "$size" --oversubscribe)
        line="$("${launch[@]}" "$B" train --data "$world/train.csv" --schema "$world/schema.json" \
            --state "$world/model.ftrain" --threads 1 | grep '^trained ')"
        rate="$(sed -E 's/.* ([0-9]+) rows\/s.*/\1/' <<<"$line")"
        echo "round $round, np $size: $line (load $(cut -d' ' -f1 /proc/loadavg))"
        figures[$size]+="$rate "
    done
done
for size in "${sizes[@]}"; do
    median="$(tr ' ' '\n' <<<"${figures[$size]}" | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')"
    echo "np $size: median $median rows/s over $rounds runs (${figures[$size]% })"
done
